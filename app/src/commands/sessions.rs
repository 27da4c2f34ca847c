//! `session-auth sessions …`: list, revoke and prune sessions.

use domain::{Actor, Session};

use crate::commands::{
    CommandError, changing, find_user, open_for_command, operator_use_cases, timestamp,
};
use crate::config::{ServeArgs, SessionsListArgs, SessionsRevokeArgs};
use crate::storage::open_storage;
use crate::wiring::{Infrastructure, use_cases};

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
    let use_cases = operator_use_cases(&settings, &storage);
    let operator = Actor::operator();
    let users = match &args.user {
        Some(key) => vec![find_user(&use_cases, key).await?],
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

/// `session-auth sessions revoke --user EMAIL|ID`.
///
/// # Errors
/// [`CommandError`] when the user is unknown or the storage fails.
pub async fn revoke_sessions(args: SessionsRevokeArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    let storage = open_for_command(&settings.storage).await?;
    changing(storage, |storage| async move {
        let use_cases = operator_use_cases(&settings, &storage);
        let user = find_user(&use_cases, &args.user).await?;
        let ended = use_cases
            .sessions
            .end_sessions(&Actor::operator(), &user.id, false)
            .await?;
        Ok(format!(
            "ended {ended} session(s) of {}",
            user.email.as_str()
        ))
    })
    .await
}

/// `session-auth sessions prune`: the sweeper's work, once; how many
/// sessions were removed.
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn prune_sessions(args: ServeArgs) -> Result<u64, CommandError> {
    let storage = open_storage(&args.storage).await?;
    let (use_cases, _) = use_cases(&args.settings(), &storage, &Infrastructure::real());
    let pruned = use_cases.housekeeping.prune_expired().await;
    storage.close().await;
    Ok(pruned?)
}
