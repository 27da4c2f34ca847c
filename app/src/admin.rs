//! The operator commands on users, sessions and the configuration. They
//! call the same use cases as the API, with the same rules and messages
//! (`NewUser::parse`, the configured `PasswordRules`).
//!
//! With file storage a running server holds the data folder's lock: these
//! commands then refuse with a message saying to stop the server or to make
//! the change through the API, and change nothing.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use adapter_seaorm::SchemaState;
use domain::{AuthType, NewUser, Session, User, UserService};

use crate::config::{
    CreateUserArgs, PasswordInput, ServeArgs, SessionsListArgs, SessionsRevokeArgs,
    SetPasswordArgs, StorageArgs, StorageKind, UserRefArgs,
};
use crate::run::CommandError;
use crate::{Infrastructure, Settings, Storage, connect_sql, open_storage, services};

/// Opens the storage for an operator command, turning the file storage's
/// lock into advice.
///
/// # Errors
/// [`CommandError::InUse`] when a server holds the data folder, or why the
/// storage could not be opened.
pub async fn open_for_command(args: &StorageArgs) -> Result<Storage, CommandError> {
    match open_storage(args).await {
        Ok(storage) => Ok(storage),
        Err(crate::StartError::File(locked @ adapter_file::OpenError::Locked { .. })) => {
            Err(CommandError::InUse(locked.to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

/// The services an operator command uses: sessions in the storage (those
/// of `session_db_auth`, the one policy whose sessions outlive a server).
fn command_services(settings: &ServeArgs, storage: &Storage) -> adapter_http::Services {
    let settings = Settings {
        auth_type: AuthType::SessionDbAuth,
        ..settings.settings()
    };
    services(&settings, storage, &Infrastructure::real())
}

/// The password of `user create` and `user set-password`: from standard
/// input with `--password-stdin`, else asked twice on the terminal without
/// echo.
///
/// # Errors
/// [`CommandError::Password`] when there is no terminal to ask on, the two
/// entries differ, or the input cannot be read.
pub fn read_password(input: &PasswordInput) -> Result<String, CommandError> {
    let unreadable = |e: std::io::Error| CommandError::Password(format!("cannot read it: {e}"));
    if input.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(unreadable)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok(line.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::Password(
            "no terminal to ask it on; pipe it with --password-stdin".into(),
        ));
    }
    let first = rpassword::prompt_password("Password: ").map_err(unreadable)?;
    let second = rpassword::prompt_password("Password (again): ").map_err(unreadable)?;
    if first != second {
        return Err(CommandError::Password(
            "the two entries differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

/// `session-auth user create`: adds a user and returns its id.
///
/// # Errors
/// [`CommandError`] saying what went wrong.
pub async fn create_user(args: CreateUserArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    // Check what can be checked before asking for a password.
    let storage = open_for_command(&settings.storage).await?;
    if settings.storage.storage == StorageKind::Memory {
        eprintln!(
            "session-auth: warning: STORAGE=memory: the user is lost when this command exits (use BOOTSTRAP_EMAIL to seed a memory server)"
        );
    }
    let password = read_password(&args.password)?;
    changing(storage, |storage| async move {
        let users = command_services(&settings, &storage).users;
        let mut new = NewUser::parse(
            Some(args.email),
            Some(password),
            args.first_name,
            args.last_name,
        )?;
        if args.admin {
            new = new.administrator();
        }
        let user = users.create(new).await?;
        Ok(user.id.to_string())
    })
    .await
}

/// Runs a command that changes the storage, then closes the storage
/// whatever the outcome, so a file store leaves plain Flask files behind
/// (its journal compacted) as the server does at shutdown.
async fn changing<T, Fut>(
    storage: Storage,
    command: impl FnOnce(Storage) -> Fut,
) -> Result<T, CommandError>
where
    Fut: std::future::Future<Output = Result<T, CommandError>>,
{
    let outcome = command(storage.clone()).await;
    storage.close().await;
    outcome
}

async fn find_user(users: &UserService, key: &str) -> Result<User, CommandError> {
    users
        .find(key)
        .await?
        .ok_or_else(|| CommandError::NoSuchUser(key.to_owned()))
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `session-auth user list`: one line per user, tab-separated: id, email,
/// first name, last name, created, administrator (`yes` or `no`).
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn list_users(args: StorageArgs) -> Result<String, CommandError> {
    let storage = open_for_command(&args).await?;
    let users = command_services(&ServeArgs::defaults(), &storage).users;
    let mut out = String::from("id\temail\tfirst_name\tlast_name\tcreated_at\tadmin\n");
    for user in users.list().await? {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            user.id,
            user.email.as_str(),
            user.first_name.as_deref().unwrap_or(""),
            user.last_name.as_deref().unwrap_or(""),
            timestamp(user.created_at),
            yes_no(user.is_admin)
        ));
    }
    Ok(out)
}

/// `session-auth user show EMAIL|ID`.
///
/// # Errors
/// [`CommandError::NoSuchUser`], or a storage failure.
pub async fn show_user(args: UserRefArgs) -> Result<String, CommandError> {
    let storage = open_for_command(&args.storage).await?;
    let services = command_services(&ServeArgs::defaults(), &storage);
    let user = find_user(&services.users, &args.user).await?;
    let sessions = services.auth.sessions_of(&user.id).await?.len();
    Ok(format!(
        "id          {}\nemail       {}\nfirst_name  {}\nlast_name   {}\ncreated_at  {}\nupdated_at  {}\nadmin       {}\nsessions    {}\n",
        user.id,
        user.email.as_str(),
        user.first_name.as_deref().unwrap_or("-"),
        user.last_name.as_deref().unwrap_or("-"),
        timestamp(user.created_at),
        timestamp(user.updated_at),
        yes_no(user.is_admin),
        sessions
    ))
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// `session-auth user grant-admin EMAIL|ID` (`grant` true) and `user
/// revoke-admin EMAIL|ID` (false).
///
/// # Errors
/// [`CommandError::NoSuchUser`], [`CommandError::SetAdmin`] for the last
/// administrator, or a storage failure.
pub async fn set_admin(args: UserRefArgs, grant: bool) -> Result<String, CommandError> {
    let storage = open_for_command(&args.storage).await?;
    changing(storage, |storage| async move {
        let users = command_services(&ServeArgs::defaults(), &storage).users;
        let user = find_user(&users, &args.user).await?;
        if user.is_admin == grant {
            return Ok(format!(
                "{} ({}) {}; nothing changed",
                user.email.as_str(),
                user.id,
                if grant {
                    "is an administrator already"
                } else {
                    "is not an administrator"
                }
            ));
        }
        let user = match users.set_admin(&user.id, grant).await {
            Ok(user) => user,
            Err(domain::SetAdminError::NoSuchUser) => {
                return Err(CommandError::NoSuchUser(args.user));
            }
            Err(error) => return Err(error.into()),
        };
        tracing::info!(
            target: adapter_http::SECURITY_TARGET,
            event = if grant { "admin_granted" } else { "admin_revoked" },
            user_id = %user.id,
            via = "cli",
            "security event"
        );
        Ok(format!(
            "{} ({}) {} an administrator",
            user.email.as_str(),
            user.id,
            if grant { "is now" } else { "is no longer" }
        ))
    })
    .await
}

/// `session-auth user delete EMAIL|ID`.
///
/// # Errors
/// [`CommandError::NoSuchUser`], or a storage failure.
pub async fn delete_user(args: UserRefArgs) -> Result<String, CommandError> {
    let storage = open_for_command(&args.storage).await?;
    changing(storage, |storage| async move {
        let users = command_services(&ServeArgs::defaults(), &storage).users;
        let user = find_user(&users, &args.user).await?;
        if !users.delete(&user.id).await? {
            return Err(CommandError::NoSuchUser(args.user));
        }
        // The operator may delete anyone; under ACCESS_POLICY=owner the API
        // then has no administrator until one is granted.
        let note = if user.is_admin && !users.has_admin().await? {
            "\nnote: no administrator is left; make one with `session-auth user grant-admin`"
        } else {
            ""
        };
        Ok(format!(
            "deleted {} ({}) and their sessions{note}",
            user.email.as_str(),
            user.id
        ))
    })
    .await
}

/// `session-auth user set-password EMAIL|ID`.
///
/// # Errors
/// [`CommandError`] saying what was wrong.
pub async fn set_password(args: SetPasswordArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    let storage = open_for_command(&settings.storage).await?;
    changing(storage, |storage| async move {
        let users = command_services(&settings, &storage).users;
        let user = find_user(&users, &args.user).await?;
        let password = read_password(&args.password)?;
        let password = domain::Password::parse(password)
            .ok_or_else(|| CommandError::Password("password missing".into()))?;
        let (user, ended) = users.set_password(&user.id, &password).await?;
        Ok(format!(
            "password of {} changed; {ended} session(s) ended",
            user.email.as_str()
        ))
    })
    .await
}

fn session_line(email: &str, session: &Session) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\n",
        email,
        session.id,
        timestamp(session.created_at),
        timestamp(session.last_used_at),
        session.client_address.as_deref().unwrap_or("-"),
        session.user_agent.as_deref().unwrap_or("-"),
    )
}

/// `session-auth sessions list [--user EMAIL|ID]`: live sessions,
/// tab-separated: user, handle, created, last used, address, agent.
///
/// # Errors
/// [`CommandError`] when the user is unknown or the storage fails.
pub async fn list_sessions(args: SessionsListArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    let storage = open_for_command(&settings.storage).await?;
    let services = command_services(&settings, &storage);
    let users = match &args.user {
        Some(key) => vec![find_user(&services.users, key).await?],
        None => services.users.list().await?,
    };
    let mut out = String::from("user\thandle\tcreated_at\tlast_used_at\tclient\tuser_agent\n");
    for user in users {
        for session in services.auth.sessions_of(&user.id).await? {
            out.push_str(&session_line(user.email.as_str(), &session));
        }
    }
    Ok(out)
}

/// `session-auth sessions revoke --user EMAIL|ID`.
///
/// # Errors
/// [`CommandError`] when the user is unknown or the storage fails.
pub async fn revoke_sessions(args: SessionsRevokeArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    let storage = open_for_command(&settings.storage).await?;
    changing(storage, |storage| async move {
        let services = command_services(&settings, &storage);
        let user = find_user(&services.users, &args.user).await?;
        let ended = services.auth.end_sessions(&user.id, None).await?;
        Ok(format!(
            "ended {ended} session(s) of {}",
            user.email.as_str()
        ))
    })
    .await
}

/// `session-auth config check`: every setting was already validated by
/// the parser; this reaches the storage (read-only: no lock taken, no
/// migration applied) and reads the bootstrap password file.
///
/// # Errors
/// [`CommandError::Config`] naming the problem.
pub async fn check_config(args: ServeArgs) -> Result<String, CommandError> {
    let mut report = vec![format!(
        "settings: ok (AUTH_TYPE={}, STORAGE={}, ACCESS_POLICY={}, REGISTRATION={})",
        args.auth_type,
        format!("{:?}", args.storage.storage).to_lowercase(),
        args.settings().access.policy,
        args.registration
    )];
    match args.storage.storage {
        StorageKind::Memory => report.push("storage: memory (nothing to reach)".into()),
        StorageKind::File => {
            let records = adapter_file::read_flask_records(&args.storage.data_dir)
                .map_err(|e| CommandError::Config(format!("DATA_DIR: {e}")))?;
            drop(records);
            report.push(format!(
                "storage: the files in {} read correctly",
                args.storage.data_dir.display()
            ));
        }
        StorageKind::Postgres | StorageKind::Sqlite => {
            let store = connect_sql(&args.storage, 0)
                .await
                .map_err(|e| CommandError::Config(format!("DATABASE_URL: {e}")))?;
            let state = store
                .schema_state()
                .await
                .map_err(|e| CommandError::Config(format!("database schema: {e}")))?;
            report.push(match state {
                SchemaState::Current => "storage: database reached; schema up to date".into(),
                SchemaState::Pending(pending) if args.storage.auto_migrate => format!(
                    "storage: database reached; serve will apply {}",
                    pending.join(", ")
                ),
                SchemaState::Pending(pending) => {
                    return Err(CommandError::Config(format!(
                        "database schema is behind ({}) and AUTO_MIGRATE=false: run `session-auth migrate`",
                        pending.join(", ")
                    )));
                }
            });
        }
    }
    if let Some(file) = &args.bootstrap_password_file {
        read_secret_file(file).map_err(|e| CommandError::Config(e.to_string()))?;
        report.push("bootstrap: password file readable".into());
    }
    report.push("configuration ok".into());
    Ok(report.join("\n"))
}

/// The first line of a secret file (a trailing newline is not part of
/// the secret).
///
/// # Errors
/// A message naming the file and why it cannot be used (never its
/// content).
pub fn read_secret_file(path: &std::path::Path) -> Result<String, crate::StartError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        crate::StartError::Bootstrap(format!("BOOTSTRAP_PASSWORD_FILE {}: {e}", path.display()))
    })?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(crate::StartError::Bootstrap(format!(
            "BOOTSTRAP_PASSWORD_FILE {} is empty",
            path.display()
        )));
    }
    Ok(line)
}

/// Creates the first user, an administrator, from `BOOTSTRAP_EMAIL` and
/// `BOOTSTRAP_PASSWORD_FILE` when no user has that email; idempotent (an
/// existing user is left as it is, password included, except that it is
/// made an administrator when no user is one: a deployment from before
/// administrators existed gets its first). The password never reaches a
/// log line.
///
/// # Errors
/// [`crate::StartError::Bootstrap`] when the file cannot be read or the
/// user breaks the API's rules.
pub async fn bootstrap_user(
    args: &ServeArgs,
    users: &Arc<UserService>,
) -> Result<(), crate::StartError> {
    let (Some(email), Some(file)) = (&args.bootstrap_email, &args.bootstrap_password_file) else {
        return Ok(());
    };
    if let Some(user) = users
        .find(email)
        .await
        .map_err(|e| crate::StartError::Bootstrap(format!("cannot look BOOTSTRAP_EMAIL up: {e}")))?
    {
        let unreachable = |e: domain::Failure| {
            crate::StartError::Bootstrap(format!("cannot look administrators up: {e}"))
        };
        if !user.is_admin && !users.has_admin().await.map_err(unreachable)? {
            users.set_admin(&user.id, true).await.map_err(|e| {
                crate::StartError::Bootstrap(format!(
                    "cannot make the bootstrap user an administrator: {e}"
                ))
            })?;
            tracing::info!(
                target: adapter_http::SECURITY_TARGET,
                event = "admin_granted",
                user_id = %user.id,
                via = "bootstrap",
                "security event"
            );
            return Ok(());
        }
        tracing::info!(user_id = %user.id, "bootstrap user already exists; left unchanged");
        return Ok(());
    }
    let password = read_secret_file(file)?;
    let new = NewUser::parse(Some(email.clone()), Some(password), None, None)
        .map_err(|e| crate::StartError::Bootstrap(format!("BOOTSTRAP_EMAIL: {e}")))?
        .administrator();
    match users.create(new).await {
        Ok(user) => {
            tracing::info!(
                target: adapter_http::SECURITY_TARGET,
                event = "user_created",
                user_id = %user.id,
                is_admin = true,
                via = "bootstrap",
                "security event"
            );
            Ok(())
        }
        Err(domain::CreateUserError::DuplicateEmail) => Ok(()),
        Err(error) => Err(crate::StartError::Bootstrap(format!(
            "cannot create the bootstrap user: {error}"
        ))),
    }
}

/// Writes a completion script for `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<String, CommandError> {
    let mut command = crate::config::Cli::definition();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "session-auth", &mut out);
    out.flush()
        .map_err(|e| CommandError::Output(e.to_string()))?;
    Ok(String::new())
}
