//! Compiles the PostgreSQL tests in only when `TEST_DATABASE_URL` names a
//! database: without one they do not exist (rather than pass without
//! running), and with one they fail if it cannot be reached. Left out,
//! they are said to be: one line in cargo's output (from this crate only,
//! though `app` shares this script), so a green run is not mistaken for a
//! run of everything.

fn main() {
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    } else if std::env::var("CARGO_PKG_NAME").is_ok_and(|name| name == "integration-tests") {
        println!(
            "cargo::warning=PostgreSQL tests skipped: TEST_DATABASE_URL is not set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace)"
        );
    }
}
