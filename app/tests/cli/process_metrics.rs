//! `/metrics` as docs/operating.md describes it: the standard `process_*`
//! families from the prometheus crate's collector, and `live_sessions` on
//! every storage in the tree (PostgreSQL counts them with one query).

use crate::support::{Server, data_dir};

/// The metric family names of a scrape.
fn families(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn metrics_carry_the_process_families_and_live_sessions_on_file_storage() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("METRICS", "true")]);
    let scrape = server.get("/metrics", &[]);
    assert_eq!(scrape.status, 200, "{}", scrape.body);
    let names = families(&scrape.body);
    for expected in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "session_auth_live_sessions",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    server.stop();
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn postgresql_counts_live_sessions_as_the_docs_say() {
    let db = integration_tests::sql_database::TestDatabase::postgres_empty().await;
    let url = db.url.clone();
    let dir = data_dir();
    let path = dir.path().to_owned();
    let body = tokio::task::spawn_blocking(move || {
        let server = Server::start(
            &path,
            &[
                ("STORAGE", "postgres"),
                ("DATABASE_URL", &url),
                ("METRICS", "true"),
            ],
        );
        let scrape = server.get("/metrics", &[]);
        server.stop();
        scrape.body
    })
    .await
    .unwrap();
    let names = families(&body);
    assert!(
        names.iter().any(|n| n == "process_cpu_seconds_total"),
        "{names:?}"
    );
    assert!(
        body.lines()
            .any(|line| line == "session_auth_live_sessions 0"),
        "{body}"
    );
}
