//! Rows and domain values: a `users` or `sessions` row read into a
//! [`User`] or [`Session`] (refusing a row no domain value can be), and
//! the columns written for one.

use sea_orm::ActiveValue::{NotSet, Set};

use domain::{Email, PasswordHash, RepositoryError, Session, SessionKey, User, UserId};

use crate::entity::{session, user};
use crate::errors::corrupt;

pub(crate) fn to_user(model: user::Model) -> Result<User, RepositoryError> {
    let email =
        Email::parse(model.email).ok_or_else(|| corrupt("a user row has an empty email"))?;
    let password_hash = match model.password_hash {
        None => PasswordHash::Unusable,
        Some(text) => PasswordHash::parse(&text)
            .map_err(|_| corrupt("a user row has an unrecognised password hash"))?,
    };
    Ok(User {
        id: UserId::from(model.id),
        email,
        password_hash,
        first_name: model.first_name,
        last_name: model.last_name,
        created_at: model.created_at,
        updated_at: model.updated_at,
        is_admin: model.is_admin,
    })
}

pub(crate) fn user_columns(user: &User) -> user::ActiveModel {
    user::ActiveModel {
        seq: NotSet,
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_str().to_owned()),
        password_hash: Set(user.password_hash.as_stored().map(str::to_owned)),
        first_name: Set(user.first_name.clone()),
        last_name: Set(user.last_name.clone()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
        is_admin: Set(user.is_admin),
    }
}

pub(crate) fn to_session(model: session::Model) -> Result<Session, RepositoryError> {
    Ok(Session {
        id: model.id.into(),
        key: SessionKey::parse(&model.token_digest)
            .ok_or_else(|| corrupt("a session row has a malformed key"))?,
        user_id: UserId::from(model.user_id),
        created_at: model.created_at,
        updated_at: model.updated_at,
        // Rows from before activity was recorded were last used, as far
        // as anyone knows, at their login.
        last_used_at: model.last_used_at.unwrap_or(model.created_at),
        client_address: model.client_address,
        user_agent: model.user_agent,
    })
}

pub(crate) fn session_columns(session: &Session) -> session::ActiveModel {
    session::ActiveModel {
        token_digest: Set(session.key.as_str().to_owned()),
        id: Set(session.id.as_uuid()),
        user_id: Set(session.user_id.as_uuid()),
        created_at: Set(session.created_at),
        updated_at: Set(session.updated_at),
        last_used_at: Set(Some(session.last_used_at)),
        client_address: Set(session.client_address.clone()),
        user_agent: Set(session.user_agent.clone()),
    }
}
