//! Kill -9 rounds against the real binary on the file storage: writers
//! create and delete users while the server is killed at random moments,
//! with a journal so small that compactions run all the time, so kills
//! land mid-append and mid-compaction. After each restart every
//! acknowledged change is present, every acknowledged delete absent, the
//! Flask files parse and no temporary file is left.

use crate::support;

use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use support::{Server, data_dir};

const ENV: [(&str, &str); 4] = [
    ("AUTH_TYPE", "none"),
    ("JOURNAL_COMPACT_BYTES", "3000"),
    ("JOURNAL_COMPACT_AGE", "1"),
    ("LOG_LEVEL", "warn"),
];

/// One request; `None` when the server is gone (connection refused or
/// reset, no complete answer), which acknowledges nothing.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        support::dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

#[derive(Default)]
struct Acknowledged {
    created: HashSet<String>,
    deleted: HashSet<String>,
    /// Deletes sent but not answered (the kill came first): they may or
    /// may not have happened.
    in_doubt: HashSet<String>,
}

/// Creates users (and deletes every third one it created) until `stop`.
fn writer(
    port: u16,
    name: usize,
    round: usize,
    acked: Arc<Mutex<Acknowledged>>,
    stop: Arc<AtomicBool>,
) {
    let mut mine = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let body = format!(
            r#"{{"email": "w{name}-r{round}-{i}@example.com", "password": "pw", "first_name": "{}"}}"#,
            "x".repeat(i % 50)
        );
        let Some((status, reply)) = request(port, "POST", "/api/v1/users", &body) else {
            return;
        };
        if status != 201 {
            continue;
        }
        let Some(id) = serde_json::from_str::<Value>(&reply)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
        else {
            continue;
        };
        acked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .created
            .insert(id.clone());
        mine.push(id);
        if i % 3 == 0
            && let Some(victim) = mine.pop()
        {
            acked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .in_doubt
                .insert(victim.clone());
            if let Some((200, _)) = request(port, "DELETE", &format!("/api/v1/users/{victim}"), "")
            {
                let mut acked = acked.lock().unwrap_or_else(PoisonError::into_inner);
                acked.in_doubt.remove(&victim);
                acked.deleted.insert(victim);
            }
        }
    }
}

fn temporary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn assert_files_parse(dir: &Path) {
    for name in [".db_User.json", ".db_UserSession.json"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} does not parse after a kill: {e}"));
        }
    }
}

fn verify(server: &Server, acked: &Acknowledged, round: usize) {
    let listed = server.get("/api/v1/users", &[]).json();
    let ids: HashSet<String> = listed
        .as_array()
        .unwrap_or_else(|| panic!("users is not a list: {listed}"))
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    let must_exist = acked
        .created
        .iter()
        .filter(|id| !acked.deleted.contains(*id) && !acked.in_doubt.contains(*id));
    for id in must_exist {
        assert!(
            ids.contains(id),
            "round {round}: acknowledged user {id} is missing"
        );
    }
    for id in &acked.deleted {
        assert!(
            !ids.contains(id),
            "round {round}: acknowledged delete of {id} came back"
        );
    }
}

/// Acknowledged creations a round waits for before its kill.
const PER_ROUND: usize = 10;

fn acked_count(acked: &Mutex<Acknowledged>) -> usize {
    acked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .created
        .len()
}

#[test]
fn kill_9_mid_append_and_mid_compaction_loses_nothing_acknowledged() {
    let dir = data_dir();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let rounds = 8;
    for round in 0..rounds {
        let left_by_the_crash = temporary_files(dir.path());
        let server = Server::start(dir.path(), &ENV);
        // A compaction may already be writing its own temporary file; the
        // ones the crash left must be gone.
        let survivors: Vec<_> = temporary_files(dir.path())
            .into_iter()
            .filter(|name| left_by_the_crash.contains(name))
            .collect();
        assert!(
            survivors.is_empty(),
            "round {round}: temporary files survived the start: {survivors:?} (left by the crash: {left_by_the_crash:?})"
        );
        verify(
            &server,
            &acked.lock().unwrap_or_else(PoisonError::into_inner),
            round,
        );

        let before = acked_count(&acked);
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|name| {
                let (acked, stop) = (acked.clone(), stop.clone());
                let port = server.port;
                std::thread::spawn(move || writer(port, name, round, acked, stop))
            })
            .collect();
        // Kills at varied moments once this round's writers are under way
        // (however slow the machine): some land during an append, some
        // during one of the frequent compactions.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while acked_count(&acked) < before + PER_ROUND {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: no progress"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(137 * round as u64 % 400));
        drop(server); // SIGKILL
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            let _ = writer.join();
        }
        assert_files_parse(dir.path());
    }

    let server = Server::start(dir.path(), &ENV);
    let acked = acked.lock().unwrap_or_else(PoisonError::into_inner);
    verify(&server, &acked, rounds);
    assert!(acked.created.len() >= rounds * PER_ROUND);
    server.stop();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("cannot list: {e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.retain(|n| {
        ![
            ".db_User.json",
            ".db_UserSession.json",
            ".session-auth.lock",
        ]
        .contains(&n.as_str())
    });
    assert!(
        names.is_empty(),
        "a clean shutdown leaves plain Flask files, not {names:?}"
    );
    assert_files_parse(dir.path());
}
