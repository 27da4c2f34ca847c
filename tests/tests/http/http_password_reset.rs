//! Password reset end to end on every storage: the request through the
//! HTTP route, the mail through a real SMTP server (aiosmtpd on loopback),
//! the link's token back through the route; one answer for every email,
//! single-use and expiring tokens, every session ended.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_mail::{Delivery, Outbox, OutboxSettings, SmtpSecurity, SmtpSettings, Templates};
use integration_tests::http_harness::{Backend, Service};
use serde_json::json;
use session_auth::MailSetup;

const RESET: &str = "/api/v1/auth_session/password_reset";

/// `adapters/mail/tests/smtp_sink.py` on a free loopback port, saving
/// what it receives; stopped when dropped.
struct SmtpSink {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> Self {
        let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary folder: {e}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../adapters/mail/tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(folder.path())
            .arg("accept")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 with aiosmtpd must run the SMTP sink: {e}"));
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            port,
            folder,
        }
    }

    /// The messages received so far, oldest first.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u32>().ok())
        });
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits (at most 30 s) until `count` messages have arrived.
    async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service on `backend` mailing through `sink`, and its outbox.
async fn service(backend: Backend, sink: &SmtpSink) -> (Service, Arc<Outbox>) {
    let delivery = Delivery::smtp(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: SmtpSecurity::None,
        credentials: None,
        timeout: Duration::from_secs(10),
    })
    .unwrap_or_else(|e| panic!("SMTP settings: {e}"));
    let outbox = Arc::new(Outbox::start(
        Templates {
            from: "Accounts <accounts@example.com>"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            link_base: "https://app.example.com".into(),
        },
        delivery,
        OutboxSettings {
            queue_size: 16,
            retries: 0,
            retry_delay: Duration::from_millis(10),
        },
    ));
    let service = Service::builder(backend)
        .mail(MailSetup {
            mailer: outbox.clone(),
            rules: domain::RecoveryRules {
                reset_lifetime: chrono::Duration::minutes(30),
                per_address: 20,
                per_account: 5,
                window: chrono::Duration::hours(1),
            },
        })
        .start()
        .await;
    (service, outbox)
}

/// The token of the reset link in `message`.
fn token_in(message: &str) -> String {
    let start = message
        .find("/reset_password?token=")
        .unwrap_or_else(|| panic!("no reset link in:\n{message}"))
        + "/reset_password?token=".len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

integration_tests::http_tests! {
    async fn a_password_is_reset_through_a_mailed_link_once(backend: Backend) {
        let sink = SmtpSink::start();
        let (service, outbox) = service(backend, &sink).await;
        let bob = service.create_user("bob@example.com", "old password").await;
        let phone = service.login(&bob).await;

        let known = service.post(RESET).json(&json!({"email": "bob@example.com"})).send().await;
        let unknown = service.post(RESET).json(&json!({"email": "eve@example.com"})).send().await;
        // One answer for both: status and body.
        known.assert_status(202);
        unknown.assert_status(202);
        assert_eq!(known.json(), unknown.json());

        let messages = sink.wait_for(1).await;
        assert_eq!(messages.len(), 1, "one mail, for the account only");
        let message = &messages[0];
        assert!(message.contains("To: bob@example.com"), "{message}");
        assert!(message.contains("Subject: Reset your password"));
        assert!(message.contains("text/plain") && message.contains("text/html"));
        let token = token_in(message);
        assert_eq!(token.len(), 43, "256 bits, base64url");
        // Nothing else is queued for the unknown email.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(outbox.counts().delivered, 1);
        assert_eq!(sink.messages().len(), 1);

        // A password the rules refuse leaves the token working.
        service
            .post(RESET)
            .form(&[("token", token.as_str()), ("new_password", "")])
            .send()
            .await
            .assert_status(400);
        let reset = service
            .post(RESET)
            .form(&[("token", token.as_str()), ("new_password", "new password")])
            .send()
            .await;
        reset.assert_status(200);
        assert_eq!(reset.json(), json!({}));

        // Every session ended; only the new password opens one.
        service
            .get("/api/v1/users/me")
            .cookie(&phone)
            .send()
            .await
            .assert_status(403);
        let old = service
            .post("/api/v1/auth_session/login")
            .form(&[("email", "bob@example.com"), ("password", "old password")])
            .send()
            .await;
        old.assert_status(401);
        service
            .post("/api/v1/auth_session/login")
            .form(&[("email", "bob@example.com"), ("password", "new password")])
            .send()
            .await
            .assert_status(200);

        // Used: the one documented error.
        let again = service
            .post(RESET)
            .json(&json!({"token": token, "new_password": "third password"}))
            .send()
            .await;
        again.assert_status(400);
        assert_eq!(again.json(), json!({"error": "invalid or expired token"}));
    }

    async fn an_expired_link_gets_the_same_error_as_a_used_one(backend: Backend) {
        let sink = SmtpSink::start();
        let (service, _outbox) = service(backend, &sink).await;
        service.create_user("bob@example.com", "old password").await;
        service
            .post(RESET)
            .form(&[("email", "bob@example.com")])
            .send()
            .await
            .assert_status(202);
        let messages = sink.wait_for(1).await;
        let token = token_in(messages.first().map_or("", String::as_str));
        service.clock.advance(30 * 60);
        let expired = service
            .post(RESET)
            .json(&json!({"token": token, "new_password": "new password"}))
            .send()
            .await;
        expired.assert_status(400);
        assert_eq!(expired.json(), json!({"error": "invalid or expired token"}));
    }
}

#[tokio::test]
async fn without_mail_the_route_is_not_there() {
    let service = Service::builder(Backend::Memory).start().await;
    let reply = service
        .post(RESET)
        .json(&json!({"email": "bob@example.com"}))
        .send()
        .await;
    reply.assert_status(404);
}

#[tokio::test]
async fn the_openapi_document_describes_the_reset() {
    let service = Service::builder(Backend::Memory).start().await;
    let doc = service.get("/api/v1/openapi.json").send().await.json();
    let op = &doc["paths"][RESET]["post"];
    assert_eq!(op["operationId"], "resetPassword", "{op}");
    assert!(op["responses"]["202"].is_object(), "{op}");
    assert!(op["responses"]["200"].is_object(), "{op}");
    assert_eq!(
        op["responses"]["400"]["content"]["application/json"]["example"]["error"],
        "email missing"
    );
    assert!(op.get("security").is_none(), "needs no credentials: {op}");
    assert!(op["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
}
