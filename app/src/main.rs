//! The `session-auth` binary.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use session_auth::StartError;
use session_auth::commands::{CommandError, config_check, maintenance, sessions, users};
use session_auth::config::{Cli, Command, ConfigCommand, LogFormat, SessionsCommand, UserCommand};
use session_auth::serve;

/// What an operator command logs: warnings, and the security events of
/// the changes it makes.
const COMMAND_LOG_LEVEL: &str = "warn,session_auth::security=info";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::parse_from_env_and(std::env::args_os()) {
        Ok(cli) => cli,
        Err(error) => {
            let argv: Vec<_> = std::env::args_os().collect();
            if let Some(bad) = config_check::every_bad_setting(&argv) {
                eprintln!("session-auth: error: {} invalid setting(s):", bad.len());
                for line in bad {
                    eprintln!("  {line}");
                }
                return ExitCode::from(2);
            }
            return refuse(&error);
        }
    };
    let command = match cli.command {
        None => Command::Serve(cli.serve),
        Some(command) => command,
    };
    if let Command::Serve(args) = command {
        serve::init_logging(&args.log_level, args.log_format);
        return report_start(serve::serve(args).await);
    }
    // Operator commands print their result; warnings and the audit trail
    // of what they changed are logged, in LOG_FORMAT.
    let format = std::env::var("LOG_FORMAT")
        .ok()
        .and_then(|format| LogFormat::from_str(&format, true).ok())
        .unwrap_or(LogFormat::Text);
    serve::init_logging(COMMAND_LOG_LEVEL, format);
    match command {
        Command::Serve(_) => ExitCode::SUCCESS,
        Command::User(UserCommand::Create(args)) => report(users::create_user(args).await),
        Command::User(UserCommand::List(args)) => report(users::list_users(args).await),
        Command::User(UserCommand::Show(args)) => report(users::show_user(args).await),
        Command::User(UserCommand::Delete(args)) => report(users::delete_user(args).await),
        Command::User(UserCommand::SetPassword(args)) => report(users::set_password(args).await),
        Command::User(UserCommand::GrantAdmin(args)) => report(users::set_admin(args, true).await),
        Command::User(UserCommand::RevokeAdmin(args)) => {
            report(users::set_admin(args, false).await)
        }
        Command::Migrate(args) => report(maintenance::migrate(args).await),
        Command::Sessions(SessionsCommand::Prune(args)) => {
            report(sessions::prune_sessions(args).await)
        }
        Command::Sessions(SessionsCommand::List(args)) => {
            report(sessions::list_sessions(args).await)
        }
        Command::Sessions(SessionsCommand::Revoke(args)) => {
            report(sessions::revoke_sessions(args).await)
        }
        Command::Config(ConfigCommand::Check(args)) => {
            report(config_check::check_config(args).await)
        }
        Command::Completions { shell } => report(maintenance::completions(shell)),
        Command::Import(args) => report(maintenance::import_flask(args).await),
    }
}

/// Prints clap's refusal; when the bad value came from an environment
/// variable (its flag is not on the command line), the message names the
/// variable rather than the flag.
fn refuse(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let mut message = error.render().to_string();
    if let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg)
        && let Some(flag) = arg.split_whitespace().next()
        && flag.starts_with("--")
    {
        let on_command_line =
            std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        let variable = flag
            .trim_start_matches("--")
            .replace('-', "_")
            .to_uppercase();
        if !on_command_line && std::env::var_os(&variable).is_some() {
            message = message.replace(
                &format!("'{arg}'"),
                &format!("the environment variable {variable}"),
            );
        }
    }
    eprint!("{message}");
    ExitCode::from(2)
}

/// Prints a command's result, or its error with every cause not already
/// said, and gives the exit code. A reader that stops early (`| head`)
/// closes the pipe: that is a normal end, not a failure.
fn report<T: Display>(result: Result<T, CommandError>) -> ExitCode {
    match result {
        Ok(output) => {
            let output = output.to_string();
            if output.is_empty() {
                return ExitCode::SUCCESS;
            }
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{}", output.trim_end()).and_then(|()| out.flush()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("session-auth: error: cannot write the output: {error}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            eprintln!("session-auth: error: {}", error.describe());
            ExitCode::FAILURE
        }
    }
}

/// [`report`] for the server, whose start fails with a [`StartError`].
fn report_start(result: Result<(), StartError>) -> ExitCode {
    report(result.map(|()| "").map_err(CommandError::from))
}
