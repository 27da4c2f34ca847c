//! The first user from the configuration (`BOOTSTRAP_EMAIL`,
//! `BOOTSTRAP_PASSWORD_FILE`), created by the server at start as an
//! operator would, and the secret file it reads.

use domain::{Actor, NewUser, UseCases};

use crate::config::ServeArgs;
use crate::storage::StartError;

/// The first line of a secret file (a trailing newline is not part of
/// the secret).
///
/// # Errors
/// A message naming the file and why it cannot be used (never its
/// content).
pub fn read_secret_file(path: &std::path::Path) -> Result<String, StartError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        StartError::Bootstrap(format!("BOOTSTRAP_PASSWORD_FILE {}: {e}", path.display()))
    })?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(StartError::Bootstrap(format!(
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
/// [`StartError::Bootstrap`] when the file cannot be read or the
/// user breaks the API's rules.
pub async fn bootstrap_user(args: &ServeArgs, use_cases: &UseCases) -> Result<(), StartError> {
    let (Some(email), Some(file)) = (&args.bootstrap_email, &args.bootstrap_password_file) else {
        return Ok(());
    };
    let operator = Actor::operator();
    if let Some(user) = use_cases
        .users
        .find_user(&operator, email)
        .await
        .map_err(|e| StartError::Bootstrap(format!("cannot look BOOTSTRAP_EMAIL up: {e}")))?
    {
        let unreachable = |e: domain::Failure| {
            StartError::Bootstrap(format!("cannot look administrators up: {e}"))
        };
        if !user.is_admin
            && !use_cases
                .admin
                .has_admin(&operator)
                .await
                .map_err(unreachable)?
        {
            use_cases
                .admin
                .set_admin(&operator, &user.id, true)
                .await
                .map_err(|e| {
                    StartError::Bootstrap(format!(
                        "cannot make the bootstrap user an administrator: {e}"
                    ))
                })?;
            return Ok(());
        }
        tracing::info!(user_id = %user.id, "bootstrap user already exists; left unchanged");
        return Ok(());
    }
    let password = read_secret_file(file)?;
    let new = NewUser::parse(Some(email.clone()), Some(password), None, None)
        .map_err(|e| StartError::Bootstrap(format!("BOOTSTRAP_EMAIL: {e}")))?
        .administrator();
    match use_cases.users.create_user(&operator, new).await {
        Ok(_) | Err(domain::CreateUserError::DuplicateEmail) => Ok(()),
        Err(error) => Err(StartError::Bootstrap(format!(
            "cannot create the bootstrap user: {error}"
        ))),
    }
}
