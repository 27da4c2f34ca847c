//! Compiles the PostgreSQL tests in only when `TEST_DATABASE_URL` names a
//! database: without one they do not exist (rather than pass without
//! running), and with one they fail if it cannot be reached.

fn main() {
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
