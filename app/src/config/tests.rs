//! The configuration's unit tests: parsing, defaults, the security
//! profile, and the README's table of settings against clap's.

use clap::{Args, Parser};

use domain::{AccessPolicy, AuthType, Registration};

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("session-auth").chain(args.iter().copied()))
}

#[test]
fn defaults_are_the_documented_ones() {
    let cli = parse(&["serve"]).unwrap();
    let Some(Command::Serve(serve)) = cli.command else {
        panic!("expected serve")
    };
    // Environment variables of the test process could change defaults;
    // the ones below are not set by the test runner.
    assert_eq!(serve.auth_type, AuthType::SessionDbAuth);
    assert_eq!(serve.session_duration, 86_400);
    assert_eq!(serve.session_name, "_my_session_id");
    assert_eq!(serve.api_port, 5000);
    assert_eq!(serve.security_profile, SecurityProfile::Compatible);
    let settings = serve.settings();
    assert!(!settings.cookie_secure);
    assert_eq!(settings.login_errors, domain::LoginErrors::Compatible);
    assert_eq!(settings.passwords.min_length, 1);
    assert_eq!(settings.password_policy, PasswordPolicy::Length);
    assert_eq!(serve.storage.storage, StorageKind::File);
    assert_eq!(settings.access.policy, AccessPolicy::Open);
    assert_eq!(serve.registration, Registration::Closed);
}

#[test]
fn access_settings_accept_only_their_values() {
    let cli = parse(&[
        "serve",
        "--access-policy",
        "owner",
        "--registration",
        "open",
    ])
    .unwrap();
    let Some(Command::Serve(serve)) = cli.command else {
        panic!("expected serve")
    };
    assert_eq!(serve.access_policy, Some(AccessPolicy::Owner));
    assert_eq!(serve.registration, Registration::Open);
    let error = parse(&["serve", "--access-policy", "admins"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("open, owner"), "{error}");
    assert!(parse(&["serve", "--registration", "yes"]).is_err());
}

/// The README's configuration table, as (variable, flag, default) rows:
/// the default is the first `code` span of its column, `None` for `—`.
fn readme_settings() -> Vec<(String, String, Option<String>)> {
    // The repository root's README, one folder above this crate's.
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    readme
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = |cell: &str| cell.split('`').nth(1).map(str::to_owned);
            let variable = code(cells.get(1)?)?;
            let flag = code(cells.get(2)?)?;
            if !flag.starts_with("--") {
                return None;
            }
            let default = cells.get(3)?;
            let default = if default.starts_with('—') {
                None
            } else {
                code(default)
            };
            Some((variable, flag, default))
        })
        .collect()
}

#[test]
fn the_readme_table_lists_every_setting_with_its_flag_and_default() {
    let command = ServeArgs::augment_args(clap::Command::new("serve"));
    let from_clap: Vec<(String, String, Option<String>)> = command
        .get_arguments()
        .filter_map(|arg| {
            let variable = arg.get_env()?.to_str()?.to_owned();
            let flag = format!("--{}", arg.get_long()?);
            let default = arg
                .get_default_values()
                .first()
                .and_then(|v| v.to_str())
                .map(str::to_owned);
            Some((variable, flag, default))
        })
        .collect();
    let mut in_readme = readme_settings();
    let mut from_clap_sorted = from_clap.clone();
    in_readme.sort();
    from_clap_sorted.sort();
    assert_eq!(
        in_readme, from_clap_sorted,
        "README configuration table vs clap"
    );
    assert!(from_clap.len() >= 20, "the table was not found");
}

fn serve_settings(args: &[&str]) -> crate::Settings {
    let cli = parse(&[&["serve"], args].concat()).unwrap();
    let Some(Command::Serve(serve)) = cli.command else {
        panic!("expected serve")
    };
    serve.settings()
}

#[test]
fn the_strict_profile_sets_every_security_default_at_once() {
    let strict = serve_settings(&["--security-profile", "strict"]);
    assert!(strict.cookie_secure);
    assert_eq!(strict.login_errors, domain::LoginErrors::Generic);
    assert_eq!(strict.passwords.min_length, 12);
    assert_eq!(strict.password_policy, PasswordPolicy::Strong);
    assert_eq!(strict.access.policy, AccessPolicy::Owner);
}

#[test]
fn an_explicit_setting_wins_over_the_profile_either_way() {
    let strict = serve_settings(&[
        "--security-profile",
        "strict",
        "--cookie-secure",
        "false",
        "--login-errors",
        "compatible",
        "--password-min-length",
        "8",
        "--password-policy",
        "length",
        "--access-policy",
        "open",
    ]);
    assert_eq!(strict.access.policy, AccessPolicy::Open);
    assert!(!strict.cookie_secure);
    assert_eq!(strict.login_errors, domain::LoginErrors::Compatible);
    assert_eq!(strict.passwords.min_length, 8);
    assert_eq!(strict.password_policy, PasswordPolicy::Length);
    let compatible = serve_settings(&["--login-errors", "generic", "--password-policy", "strong"]);
    assert_eq!(compatible.login_errors, domain::LoginErrors::Generic);
    assert_eq!(compatible.password_policy, PasswordPolicy::Strong);
    assert!(!compatible.cookie_secure);
    assert_eq!(compatible.passwords.min_length, 1);
    let owner = serve_settings(&["--access-policy", "owner"]);
    assert_eq!(owner.access.policy, AccessPolicy::Owner);
}

#[test]
fn unknown_profile_or_policy_names_are_refused() {
    assert!(parse(&["serve", "--security-profile", "paranoid"]).is_err());
    assert!(parse(&["serve", "--password-policy", "zxcvbn"]).is_err());
    assert!(parse(&["serve", "--login-errors", "vague"]).is_err());
}

#[test]
fn unknown_auth_type_is_refused_with_the_accepted_values() {
    let error = parse(&["serve", "--auth-type", "sessions"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("session_db_auth"), "{error}");
}

#[test]
fn unparsable_session_duration_is_refused() {
    assert!(parse(&["serve", "--session-duration", "ten"]).is_err());
    assert!(parse(&["serve", "--session-duration", "-1"]).is_ok());
}

#[test]
fn durations_too_long_for_time_arithmetic_are_refused() {
    for flag in ["--session-duration", "--session-idle-timeout"] {
        for huge in ["9000000000000000", "9223372036854775807"] {
            let error = parse(&["serve", flag, huge]).unwrap_err().to_string();
            assert!(error.contains(flag), "{error}");
        }
        assert!(parse(&["serve", flag, &MAX_DURATION_SECONDS.to_string()]).is_ok());
    }
}

#[test]
fn cookie_names_with_separators_are_refused() {
    assert!(parse(&["serve", "--session-name", "a b"]).is_err());
    assert!(parse(&["serve", "--session-name", "a;b"]).is_err());
    assert!(parse(&["serve", "--session-name", "_sid"]).is_ok());
}

#[test]
fn no_subcommand_means_serve_with_top_level_flags() {
    let cli = parse(&["--api-port", "8080"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(cli.serve.api_port, 8080);
}
