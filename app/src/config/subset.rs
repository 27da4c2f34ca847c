//! The part of the server's settings an operator command reads: the
//! others keep clap's defaults, are hidden from its help, and their
//! environment variables are not read.

use clap::{Arg, ArgMatches, Args, FromArgMatches};

use super::settings::ServeArgs;

/// The ids of the storage settings, shown by every command that opens the
/// storage.
const STORAGE_SETTINGS: &[&str] = &[
    "storage",
    "data_dir",
    "database_url",
    "db_pool_size",
    "auto_migrate",
    "admin_socket_timeout",
];

/// The part of [`ServeArgs`] a command reads: the others keep their
/// defaults, are hidden from its help, and their environment variables are
/// not read (a bad value there does not concern this command).
fn only_settings(keep: &'static [&'static str]) -> impl FnMut(Arg) -> Arg {
    let serve: Vec<String> = ServeArgs::augment_args(clap::Command::new("serve"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    move |arg: Arg| {
        let id = arg.get_id().as_str();
        if serve.iter().any(|s| s == id) && !keep.contains(&id) && !STORAGE_SETTINGS.contains(&id) {
            arg.hide(true).env(None::<&'static str>)
        } else {
            arg
        }
    }
}

/// A subset of the server's settings, for an operator command.
macro_rules! settings_subset {
    ($(#[$doc:meta])* $name:ident, $keep:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub ServeArgs);

        impl FromArgMatches for $name {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                ServeArgs::from_arg_matches(matches).map(Self)
            }
            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.0.update_from_arg_matches(matches)
            }
        }

        impl Args for $name {
            fn augment_args(command: clap::Command) -> clap::Command {
                ServeArgs::augment_args(command).mut_args(only_settings($keep))
            }
            fn augment_args_for_update(command: clap::Command) -> clap::Command {
                ServeArgs::augment_args_for_update(command).mut_args(only_settings($keep))
            }
        }
    };
}

settings_subset!(
    /// The storage and the password rules (the user commands).
    UserSettings,
    &["password_min_length", "password_policy", "security_profile"]
);
settings_subset!(
    /// The storage and the session lifetimes (the session commands).
    SessionSettings,
    &["session_duration", "session_idle_timeout"]
);
