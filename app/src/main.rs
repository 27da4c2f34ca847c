//! The `session-auth` binary.

use clap::Parser;
use std::process::ExitCode;

use app::config::{Cli, Command, UserCommand};
use app::run;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::User(UserCommand::Create(args))) => {
            run::init_logging("warn", app::config::LogFormat::Text);
            match run::create_user(args).await {
                Ok(id) => {
                    println!("{id}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Some(Command::Migrate(args)) => {
            run::init_logging("warn", app::config::LogFormat::Text);
            match run::migrate(args).await {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Some(Command::Import(args)) => {
            run::init_logging("warn", app::config::LogFormat::Text);
            match run::import_flask(args).await {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
    }
}

async fn serve(args: app::config::ServeArgs) -> ExitCode {
    run::init_logging(&args.log_level, args.log_format);
    match run::serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("session-auth: error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}
