//! Compiles the PostgreSQL tests in only when `TEST_DATABASE_URL` names a
//! database: without one they do not exist (rather than pass without
//! running), and with one they fail if it cannot be reached. Left out,
//! they are said to be: one line in cargo's output (from this crate only,
//! though `app` shares this script), so a green run is not mistaken for a
//! run of everything.
//!
//! The same for the completion tests of zsh and fish (in `app`): compiled
//! in where the shell is installed (CI installs both), said to be left out
//! where it is not.

fn main() {
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=PATH");
    // A shell installed later (as CI does) changes its folder.
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path).filter(|dir| dir.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    for shell in ["zsh", "fish"] {
        println!("cargo::rustc-check-cfg=cfg({shell}_tests)");
        if on_path(shell) {
            println!("cargo::rustc-cfg={shell}_tests");
        } else if std::env::var("CARGO_PKG_NAME").is_ok_and(|name| name == "session-auth") {
            println!(
                "cargo::warning={shell} completion tests skipped: {shell} is not installed (CI installs it)"
            );
        }
    }
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    } else if std::env::var("CARGO_PKG_NAME").is_ok_and(|name| name == "integration-tests") {
        println!(
            "cargo::warning=PostgreSQL tests skipped: TEST_DATABASE_URL is not set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace)"
        );
    }
}

/// Whether an executable `name` is in one of `PATH`'s folders.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}
