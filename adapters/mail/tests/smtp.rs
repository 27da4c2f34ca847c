//! The mail adapter against a real SMTP server (Python's aiosmtpd, started
//! on loopback by each test), a server that refuses, one that never
//! answers, and the folder outbox: what arrives is read as delivered.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adapter_mail::{
    Delivery, Outbox, OutboxCounts, OutboxSettings, SmtpSecurity, SmtpSettings, Templates,
};
use domain::{Email, Mail, Mailer, RecoveryToken};

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("the test's own setup works");
    listener
        .local_addr()
        .expect("the test's own setup works")
        .port()
}

/// The aiosmtpd sink of `smtp_sink.py`, stopped when dropped.
struct Sink {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl Sink {
    fn start(mode: &str) -> Self {
        let folder = tempfile::tempdir().expect("the test's own setup works");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(folder.path())
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd runs the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("the test's own setup works"))
            .read_line(&mut line)
            .expect("the test's own setup works");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            port,
            folder,
        }
    }

    fn messages(&self) -> Vec<String> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .expect("the test's own setup works")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        found.sort();
        found
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("the test's own setup works"))
            .collect()
    }

    fn recipients_tried(&self) -> usize {
        std::fs::read_to_string(self.folder.path().join("rcpt.log"))
            .map(|log| log.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn templates() -> Templates {
    Templates {
        from: "Accounts <accounts@example.com>"
            .parse()
            .expect("the test's own setup works"),
        link_base: "https://app.example.com".into(),
    }
}

fn smtp(port: u16, timeout: Duration) -> Delivery {
    Delivery::smtp(&SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        timeout,
    })
    .expect("the test's own setup works")
}

fn settings(retries: u32) -> OutboxSettings {
    OutboxSettings {
        queue_size: 8,
        retries,
        retry_delay: Duration::from_millis(20),
    }
}

fn reset_mail(token: &RecoveryToken) -> Mail {
    Mail::PasswordReset {
        to: Email::parse("bob@example.com").expect("the test's own setup works"),
        token: token.clone(),
        valid_for: chrono::Duration::minutes(30),
    }
}

/// Waits (at most 30 s) until the outbox's counts satisfy `done`.
async fn settled(outbox: &Outbox, done: impl Fn(OutboxCounts) -> bool) -> OutboxCounts {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = outbox.counts();
        if done(counts) || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_reset_mail_arrives_with_its_headers_both_parts_and_the_link() {
    let sink = Sink::start("accept");
    let outbox = Outbox::start(
        templates(),
        smtp(sink.port, Duration::from_secs(10)),
        settings(0),
    );
    let token = RecoveryToken::from_random_bytes([42; 32]);
    outbox.send(reset_mail(&token)).unwrap();
    let counts = settled(&outbox, |c| c.delivered == 1).await;
    assert_eq!(counts.delivered, 1, "{counts:?}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    let link = format!(
        "https://app.example.com/reset_password?token={}",
        token.expose()
    );
    for expected in [
        "From: Accounts <accounts@example.com>",
        "To: bob@example.com",
        "Subject: Reset your password",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
        &link,
        &format!("<a href=\"{link}\">"),
    ] {
        assert!(message.contains(expected), "{expected} missing:\n{message}");
    }
    // The link is in both parts.
    assert_eq!(message.matches(&link).count(), 3, "{message}");
}

#[tokio::test]
async fn a_refusing_server_is_retried_then_given_up_and_send_never_waits() {
    let sink = Sink::start("refuse");
    let outbox = Outbox::start(
        templates(),
        smtp(sink.port, Duration::from_secs(10)),
        settings(2),
    );
    let token = RecoveryToken::from_random_bytes([1; 32]);
    outbox.send(reset_mail(&token)).unwrap();
    let counts = settled(&outbox, |c| c.failed == 1).await;
    assert_eq!(
        counts,
        OutboxCounts {
            delivered: 0,
            failed: 1,
            dropped: 0
        }
    );
    assert_eq!(sink.recipients_tried(), 3, "the first try and two retries");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_the_queue_moves_on() {
    // Accepts connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            connections.push(stream);
        }
    });
    let outbox = Outbox::start(
        templates(),
        smtp(port, Duration::from_millis(300)),
        settings(0),
    );
    for seed in 0..2 {
        outbox
            .send(reset_mail(&RecoveryToken::from_random_bytes([seed; 32])))
            .unwrap();
    }
    let counts = settled(&outbox, |c| c.failed == 2).await;
    assert_eq!(counts.failed, 2, "{counts:?}");
    held.abort();
}

#[tokio::test]
async fn a_full_queue_drops_the_message_at_once() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let outbox = Outbox::start(
        templates(),
        smtp(port, Duration::from_secs(30)),
        OutboxSettings {
            queue_size: 1,
            ..settings(0)
        },
    );
    let token = RecoveryToken::from_random_bytes([5; 32]);
    // One in delivery (hanging), one queued, the rest refused.
    let results: Vec<bool> = (0..4)
        .map(|_| outbox.send(reset_mail(&token)).is_ok())
        .collect();
    assert!(results[0]);
    assert!(results.iter().any(|ok| !ok), "{results:?}");
    assert!(outbox.counts().dropped >= 1);
    drop(silent);
}

#[tokio::test]
async fn the_folder_outbox_writes_each_message_as_a_file() {
    let folder = tempfile::tempdir().unwrap();
    let outbox = Outbox::start(templates(), Delivery::folder(folder.path()), settings(0));
    let token = RecoveryToken::from_random_bytes([7; 32]);
    outbox.send(reset_mail(&token)).unwrap();
    outbox.send(reset_mail(&token)).unwrap();
    let counts = settled(&outbox, |c| c.delivered == 2).await;
    assert_eq!(counts.delivered, 2);
    let files: Vec<PathBuf> = std::fs::read_dir(folder.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let message = std::fs::read_to_string(&files[0]).unwrap();
    assert!(message.contains("To: bob@example.com"));
    assert!(message.contains(token.expose()));
}
