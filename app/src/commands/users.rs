//! `session-auth user …`: create, list, show, delete, set a password,
//! grant and revoke the administrator right.

use domain::{Actor, NewUser, Password, SetAdminError};

use crate::commands::prompt::read_password;
use crate::commands::{
    CommandError, changing, find_user, open_for_command, operator_use_cases, timestamp,
};
use crate::config::{
    CreateUserArgs, ServeArgs, SetPasswordArgs, StorageArgs, StorageKind, UserRefArgs,
};

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
        let use_cases = operator_use_cases(&settings, &storage);
        let mut new = NewUser::parse(
            Some(args.email),
            Some(password),
            args.first_name,
            args.last_name,
        )?;
        if args.admin {
            new = new.administrator();
        }
        let user = use_cases.users.create_user(&Actor::operator(), new).await?;
        Ok(user.id.to_string())
    })
    .await
}

/// `session-auth user list`: one line per user, tab-separated: id, email,
/// first name, last name, created, administrator (`yes` or `no`).
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn list_users(args: StorageArgs) -> Result<String, CommandError> {
    let storage = open_for_command(&args).await?;
    let use_cases = operator_use_cases(&ServeArgs::defaults(), &storage);
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

/// `session-auth user show EMAIL|ID`.
///
/// # Errors
/// [`CommandError::NoSuchUser`], or a storage failure.
pub async fn show_user(args: UserRefArgs) -> Result<String, CommandError> {
    let storage = open_for_command(&args.storage).await?;
    let use_cases = operator_use_cases(&ServeArgs::defaults(), &storage);
    let user = find_user(&use_cases, &args.user).await?;
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

/// `session-auth user grant-admin EMAIL|ID` (`grant` true) and `user
/// revoke-admin EMAIL|ID` (false).
///
/// # Errors
/// [`CommandError::NoSuchUser`], [`CommandError::SetAdmin`] for the last
/// administrator, or a storage failure.
pub async fn set_admin(args: UserRefArgs, grant: bool) -> Result<String, CommandError> {
    let storage = open_for_command(&args.storage).await?;
    changing(storage, |storage| async move {
        let use_cases = operator_use_cases(&ServeArgs::defaults(), &storage);
        let user = find_user(&use_cases, &args.user).await?;
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
            Err(SetAdminError::NoSuchUser) => return Err(CommandError::NoSuchUser(args.user)),
            Err(error) => return Err(error.into()),
        };
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
        let use_cases = operator_use_cases(&ServeArgs::defaults(), &storage);
        let operator = Actor::operator();
        let user = find_user(&use_cases, &args.user).await?;
        match use_cases.users.delete_user(&operator, &user.id).await {
            Ok(()) => {}
            Err(domain::DeleteUserError::Failure(failure)) => return Err(failure.into()),
            Err(_) => return Err(CommandError::NoSuchUser(args.user)),
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
        let use_cases = operator_use_cases(&settings, &storage);
        let user = find_user(&use_cases, &args.user).await?;
        let password = read_password(&args.password)?;
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
    })
    .await
}
