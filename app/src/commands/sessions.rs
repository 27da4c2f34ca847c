//! `session-auth sessions …`: list, revoke (all of a user's, or one by
//! its handle) and prune sessions, each an [`Operation`] carried out where
//! the data is ([`Route`]); the functions below carry one out over the use
//! cases.

use domain::{Actor, Session, SessionId, UseCases};

use crate::commands::{CommandError, Operation, Route, find_user, timestamp};
use crate::config::{SessionSettings, SessionsListArgs, SessionsRevokeArgs};

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
    Route::run(
        &args.settings.0,
        Operation::ListSessions { user: args.user },
    )
    .await
}

/// `session-auth sessions revoke --user EMAIL|ID` (every session of the
/// user) or `--handle HANDLE` (that one session, of `--user` when given).
///
/// # Errors
/// [`CommandError`] when the user or the session is unknown or the storage
/// fails.
pub async fn revoke_sessions(args: SessionsRevokeArgs) -> Result<String, CommandError> {
    let operation = match (args.handle, args.user) {
        (Some(handle), user) => Operation::RevokeSession { handle, user },
        (None, Some(user)) => Operation::RevokeSessions { user },
        // clap requires one of them.
        (None, None) => return Err(CommandError::NoSuchSession),
    };
    Route::run(&args.settings.0, operation).await
}

/// `session-auth sessions prune`: the sweeper's work, once.
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn prune_sessions(args: SessionSettings) -> Result<String, CommandError> {
    Route::run(&args.0, Operation::PruneSessions).await
}

/// The live sessions of one user, or of every user.
pub(crate) async fn list(use_cases: &UseCases, key: Option<&str>) -> Result<String, CommandError> {
    let operator = Actor::operator();
    let users = match key {
        Some(key) => vec![find_user(use_cases, key).await?],
        None => use_cases.users.list_users(&operator).await?,
    };
    let mut out = String::from("user\thandle\tcreated_at\tlast_used_at\tclient\tuser_agent\n");
    for user in users {
        for session in use_cases.sessions.sessions(&operator, &user.id).await? {
            out.push_str(&session_line(user.email.as_str(), &session));
        }
    }
    Ok(out)
}

/// Ends every session of a user.
pub(crate) async fn revoke_all(use_cases: &UseCases, key: &str) -> Result<String, CommandError> {
    let user = find_user(use_cases, key).await?;
    let ended = use_cases
        .sessions
        .end_sessions(&Actor::operator(), &user.id, false)
        .await?;
    Ok(format!(
        "ended {ended} session(s) of {}",
        user.email.as_str()
    ))
}

/// Ends the session with this handle: of the user named, or of whichever
/// user has it (each user's sessions are looked at in turn).
pub(crate) async fn revoke_one(
    use_cases: &UseCases,
    handle: &str,
    key: Option<&str>,
) -> Result<String, CommandError> {
    let operator = Actor::operator();
    let id = SessionId::parse(handle.trim())
        .ok_or_else(|| CommandError::NoSuchHandle(handle.to_owned()))?;
    let users = match key {
        Some(key) => vec![find_user(use_cases, key).await?],
        None => use_cases.users.list_users(&operator).await?,
    };
    for user in users {
        let holds = use_cases
            .sessions
            .sessions(&operator, &user.id)
            .await?
            .iter()
            .any(|session| session.id == id);
        if !holds {
            continue;
        }
        return match use_cases
            .sessions
            .end_session(&operator, &user.id, id)
            .await
        {
            Ok(session) => Ok(format!(
                "ended session {} of {} (created {}, last used {})",
                session.id,
                user.email.as_str(),
                timestamp(session.created_at),
                timestamp(session.last_used_at)
            )),
            // Ended meanwhile (a logout, the sweeper).
            Err(domain::SessionError::NotFound) => {
                Err(CommandError::NoSuchHandle(handle.to_owned()))
            }
            Err(error) => Err(error.into()),
        };
    }
    Err(CommandError::NoSuchHandle(handle.to_owned()))
}

/// Removes expired and idle sessions (and failed-login records too old to
/// count); says how many sessions.
pub(crate) async fn prune(use_cases: &UseCases) -> Result<String, CommandError> {
    let removed = use_cases.housekeeping.prune_expired().await?;
    Ok(format!("removed {removed} expired session(s)"))
}
