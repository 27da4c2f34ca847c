//! The `session-auth` binary.

use clap::Parser;
use std::fmt::Display;
use std::process::ExitCode;

use app::config::{Cli, Command, LogFormat, SessionsCommand, UserCommand};
use app::run;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        None => Command::Serve(cli.serve),
        Some(command) => command,
    };
    if let Command::Serve(args) = command {
        run::init_logging(&args.log_level, args.log_format);
        return report(run::serve(args).await.map(|()| ""));
    }
    // Operator commands print their result; only warnings are logged.
    run::init_logging("warn", LogFormat::Text);
    match command {
        Command::Serve(_) => ExitCode::SUCCESS,
        Command::User(UserCommand::Create(args)) => report(run::create_user(args).await),
        Command::Migrate(args) => report(run::migrate(args).await),
        Command::Sessions(SessionsCommand::Prune(args)) => report(
            run::prune_sessions(args)
                .await
                .map(|removed| format!("removed {removed} expired session(s)")),
        ),
        Command::Import(args) => report(run::import_flask(args).await),
    }
}

/// Prints a command's result, or its error with every cause, and gives the
/// exit code.
fn report<T: Display, E: std::error::Error>(result: Result<T, E>) -> ExitCode {
    match result {
        Ok(output) => {
            let output = output.to_string();
            if !output.is_empty() {
                println!("{}", output.trim_end());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("session-auth: error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
