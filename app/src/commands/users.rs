//! `session-auth user …`: create, list, show, delete, set a password,
//! grant and revoke the administrator right. Each command reads what it
//! needs from the operator (a password, a confirmation), then has its
//! [`Operation`] carried out where the data is ([`Route`]); the functions
//! below carry one out over the use cases.

use domain::{Actor, NewUser, Password, SetAdminError, UseCases};

use crate::commands::prompt::{confirm, read_password};
use crate::commands::{CommandError, Operation, Route, find_user, timestamp};
use crate::config::{
    CreateUserArgs, DeleteUserArgs, ServeArgs, SetPasswordArgs, StorageArgs, StorageKind,
    UserRefArgs,
};

/// The defaults of the server's settings with this storage: what a
/// command that reads only the storage settings runs under.
fn with_storage(storage: StorageArgs) -> ServeArgs {
    ServeArgs {
        storage,
        ..ServeArgs::defaults()
    }
}

/// `session-auth user create`: adds a user and returns its id.
///
/// # Errors
/// [`CommandError`] saying what went wrong.
pub async fn create_user(args: CreateUserArgs) -> Result<String, CommandError> {
    let settings = args.settings.0;
    // Check what can be checked before asking for a password.
    let route = Route::open(&settings).await?;
    if settings.storage.storage == StorageKind::Memory {
        eprintln!(
            "session-auth: warning: STORAGE=memory: the user is lost when this command exits (use BOOTSTRAP_EMAIL to seed a memory server)"
        );
    }
    let password = read_password(&args.password)?;
    let outcome = route
        .perform(Operation::CreateUser {
            email: args.email,
            first_name: args.first_name,
            last_name: args.last_name,
            admin: args.admin,
            password,
        })
        .await;
    route.finish(true).await;
    outcome
}

/// `session-auth user list`: one line per user, tab-separated: id, email,
/// first name, last name, created, administrator (`yes` or `no`).
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn list_users(args: StorageArgs) -> Result<String, CommandError> {
    Route::run(&with_storage(args), Operation::ListUsers).await
}

/// `session-auth user show EMAIL|ID`.
///
/// # Errors
/// [`CommandError::NoSuchUser`], or a storage failure.
pub async fn show_user(args: UserRefArgs) -> Result<String, CommandError> {
    Route::run(
        &with_storage(args.storage),
        Operation::ShowUser { user: args.user },
    )
    .await
}

/// `session-auth user grant-admin EMAIL|ID` (`grant` true) and `user
/// revoke-admin EMAIL|ID` (false).
///
/// # Errors
/// [`CommandError::NoSuchUser`], [`CommandError::SetAdmin`] for the last
/// administrator, or a storage failure.
pub async fn set_admin(args: UserRefArgs, grant: bool) -> Result<String, CommandError> {
    Route::run(
        &with_storage(args.storage),
        Operation::SetAdmin {
            user: args.user,
            grant,
        },
    )
    .await
}

/// `session-auth user delete EMAIL|ID`: shows the user and asks for
/// confirmation on the terminal, unless `--yes`.
///
/// # Errors
/// [`CommandError::NotConfirmed`] when the operator declines or there is
/// no terminal to ask on; [`CommandError::NoSuchUser`], or a storage
/// failure.
pub async fn delete_user(args: DeleteUserArgs) -> Result<String, CommandError> {
    let route = Route::open(&with_storage(args.user.storage)).await?;
    let outcome = async {
        if !args.yes {
            let user = route
                .perform(Operation::ShowUser {
                    user: args.user.user.clone(),
                })
                .await?;
            confirm(&format!(
                "{}\nDelete this user and end their sessions? [y/N] ",
                user.trim_end()
            ))?;
        }
        route
            .perform(Operation::DeleteUser {
                user: args.user.user,
            })
            .await
    }
    .await;
    route.finish(true).await;
    outcome
}

/// `session-auth user set-password EMAIL|ID`.
///
/// # Errors
/// [`CommandError`] saying what was wrong.
pub async fn set_password(args: SetPasswordArgs) -> Result<String, CommandError> {
    let route = Route::open(&args.settings.0).await?;
    let outcome = async {
        // An unknown user is said before the password is asked.
        route
            .perform(Operation::ShowUser {
                user: args.user.clone(),
            })
            .await?;
        let password = read_password(&args.password)?;
        route
            .perform(Operation::SetPassword {
                user: args.user,
                password,
            })
            .await
    }
    .await;
    route.finish(true).await;
    outcome
}

/// What `user create` asks for.
pub(crate) struct NewAccount {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub admin: bool,
    pub password: String,
}

/// Creates the user; its id.
pub(crate) async fn create(
    use_cases: &UseCases,
    account: NewAccount,
) -> Result<String, CommandError> {
    let mut new = NewUser::parse(
        Some(account.email),
        Some(account.password),
        account.first_name,
        account.last_name,
    )?;
    if account.admin {
        new = new.administrator();
    }
    let user = use_cases.users.create_user(&Actor::operator(), new).await?;
    Ok(user.id.to_string())
}

/// Every user, one tab-separated line each, under a header.
pub(crate) async fn list(use_cases: &UseCases) -> Result<String, CommandError> {
    let mut out = String::from("id\temail\tfirst_name\tlast_name\tcreated_at\tadmin\n");
    for user in use_cases.users.list_users(&Actor::operator()).await? {
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

/// One user, a field a line.
pub(crate) async fn show(use_cases: &UseCases, key: &str) -> Result<String, CommandError> {
    let user = find_user(use_cases, key).await?;
    let sessions = use_cases
        .sessions
        .sessions(&Actor::operator(), &user.id)
        .await?
        .len();
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

/// Grants or revokes the administrator right.
pub(crate) async fn change_admin(
    use_cases: &UseCases,
    key: &str,
    grant: bool,
) -> Result<String, CommandError> {
    let user = find_user(use_cases, key).await?;
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
    let user = match use_cases
        .admin
        .set_admin(&Actor::operator(), &user.id, grant)
        .await
    {
        Ok(user) => user,
        Err(SetAdminError::NoSuchUser) => return Err(CommandError::NoSuchUser(key.to_owned())),
        Err(error) => return Err(error.into()),
    };
    Ok(format!(
        "{} ({}) {} an administrator",
        user.email.as_str(),
        user.id,
        if grant { "is now" } else { "is no longer" }
    ))
}

/// Deletes the user and their sessions.
pub(crate) async fn delete(use_cases: &UseCases, key: &str) -> Result<String, CommandError> {
    let operator = Actor::operator();
    let user = find_user(use_cases, key).await?;
    match use_cases.users.delete_user(&operator, &user.id).await {
        Ok(()) => {}
        Err(domain::DeleteUserError::Failure(failure)) => return Err(failure.into()),
        Err(_) => return Err(CommandError::NoSuchUser(key.to_owned())),
    }
    // The operator may delete anyone; under ACCESS_POLICY=owner the API
    // then has no administrator until one is granted.
    let note = if user.is_admin && !use_cases.admin.has_admin(&operator).await? {
        "\nnote: no administrator is left; make one with `session-auth user grant-admin`"
    } else {
        ""
    };
    Ok(format!(
        "deleted {} ({}) and their sessions{note}",
        user.email.as_str(),
        user.id
    ))
}

/// Sets the password without the current one and ends the user's
/// sessions.
pub(crate) async fn reset_password(
    use_cases: &UseCases,
    key: &str,
    password: String,
) -> Result<String, CommandError> {
    let user = find_user(use_cases, key).await?;
    let password = Password::parse(password)
        .ok_or_else(|| CommandError::Password("password missing".into()))?;
    let (user, ended) = use_cases
        .passwords
        .set_password(&Actor::operator(), &user.id, &password)
        .await?;
    Ok(format!(
        "password of {} changed; {ended} session(s) ended",
        user.email.as_str()
    ))
}
