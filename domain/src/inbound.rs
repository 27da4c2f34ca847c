//! The ports in: the use cases as the front doors (the HTTP routes, the
//! command line) reach them. Every operation takes the [`Actor`] it is
//! done for and decides access itself, and emits its security events to
//! the [`AuditLog`](crate::audit::AuditLog); a front door only translates
//! its input into domain types and the answer back. The traits are
//! object-safe so a front door holds `Arc<dyn …>` and a test can stand a
//! stub in for the whole core.

use async_trait::async_trait;

use crate::access::AccessRules;
use crate::actor::Actor;
use crate::error::{
    AccessError, ChangePasswordError, CreateUserError, DeleteUserError, Failure, LoginError,
    RequestResetError, ResetPasswordError, SessionError, SetAdminError, SetPasswordError,
    UpdateUserError,
};
use crate::input::{NewUser, PasswordChange, UserChange};
use crate::password::Password;
use crate::session::{Session, SessionId, SessionLifetime, SessionToken};
use crate::user::{User, UserId};

/// A successful sign-in: the user and the token of their new session (to
/// be sent to the client; only its digest is stored).
#[derive(Debug)]
pub struct SignedIn {
    /// Who signed in.
    pub user: User,
    /// The new session's token.
    pub token: SessionToken,
}

/// Signing in with an email and a password.
#[async_trait]
pub trait SignIn: Send + Sync {
    /// Logs in with the login form's fields as sent: checks them in the
    /// Flask API's order (email, then password) and under the brute-force
    /// limits, and opens a new session; the token is always new, never one
    /// the client sent.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong; [`LoginError::NoSessions`]
    /// (before anything else) under a policy without sessions.
    async fn login(
        &self,
        actor: &Actor,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<SignedIn, LoginError>;

    /// How long new sessions last (the cookie's `Max-Age`).
    fn session_lifetime(&self) -> SessionLifetime;

    /// Whether logins open sessions under the active policy (the session
    /// `AUTH_TYPE`s).
    fn opens_sessions(&self) -> bool;
}

/// A user's sessions. A signed-in user manages their own sessions, and only
/// when a session signed them in (the session policies); an operator
/// manages anyone's. Any other user's sessions are unknown to the actor
/// ([`SessionError::NotFound`]).
#[async_trait]
pub trait SessionManagement: Send + Sync {
    /// Ends the session that signed the actor in.
    ///
    /// # Errors
    /// [`SessionError::NotFound`] when there is none (or it had ended).
    async fn logout(&self, actor: &Actor) -> Result<(), SessionError>;

    /// The live sessions of `user`, oldest first.
    ///
    /// # Errors
    /// [`SessionError::NotFound`] when the actor may not see them.
    async fn sessions(&self, actor: &Actor, user: &UserId) -> Result<Vec<Session>, SessionError>;

    /// Ends every session of `user`, or all but the actor's own with
    /// `keep_own`; how many ended.
    ///
    /// # Errors
    /// [`SessionError::NotFound`] when the actor may not see them.
    async fn end_sessions(
        &self,
        actor: &Actor,
        user: &UserId,
        keep_own: bool,
    ) -> Result<u64, SessionError>;

    /// Ends the session of `user` with this handle, and returns it.
    ///
    /// # Errors
    /// [`SessionError::NotFound`] when the actor may not see it, or `user`
    /// has no such session.
    async fn end_session(
        &self,
        actor: &Actor,
        user: &UserId,
        handle: SessionId,
    ) -> Result<Session, SessionError>;
}

/// Passwords: a user's own change, and an operator's reset.
#[async_trait]
pub trait PasswordManagement: Send + Sync {
    /// Changes the actor's own password after checking the current one
    /// (under the brute-force limits), and ends their other sessions (all
    /// of them when no session signed them in).
    ///
    /// # Errors
    /// [`ChangePasswordError`]; [`ChangePasswordError::NoUser`] when nobody
    /// is signed in.
    async fn change_password(
        &self,
        actor: &Actor,
        change: PasswordChange,
    ) -> Result<User, ChangePasswordError>;

    /// Sets `user`'s password without the current one (an operator's
    /// reset) and ends every session of theirs; the user and how many
    /// sessions ended.
    ///
    /// # Errors
    /// [`SetPasswordError`]; [`SetPasswordError::Forbidden`] for anyone
    /// but an operator.
    async fn set_password(
        &self,
        actor: &Actor,
        user: &UserId,
        password: &Password,
    ) -> Result<(User, u64), SetPasswordError>;
}

/// Users, under the access policy (`ACCESS_POLICY`, `REGISTRATION`).
#[async_trait]
pub trait UserManagement: Send + Sync {
    /// The users the actor may see.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn list_users(&self, actor: &Actor) -> Result<Vec<User>, Failure>;

    /// How many users there are, for an actor who may act on every user.
    ///
    /// # Errors
    /// [`AccessError::Forbidden`] for anyone else.
    async fn count_users(&self, actor: &Actor) -> Result<u64, AccessError>;

    /// The user with this id, when the actor may see them (`None` also for
    /// one they may not see).
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn user(&self, actor: &Actor, id: &UserId) -> Result<Option<User>, Failure>;

    /// The user named by `key` (an id, or an email), when the actor may
    /// see them: how an operator names a user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn find_user(&self, actor: &Actor, key: &str) -> Result<Option<User>, Failure>;

    /// Creates a user (a registration for an anonymous actor under
    /// `REGISTRATION=open`).
    ///
    /// # Errors
    /// [`CreateUserError`] saying what was wrong.
    async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User, CreateUserError>;

    /// Changes a user's names and (under `ACCESS_POLICY=owner`, for an
    /// administrator) their administrator flag.
    ///
    /// # Errors
    /// [`UpdateUserError`] saying what was wrong; nothing changes then.
    async fn update_user(
        &self,
        actor: &Actor,
        id: &UserId,
        change: &UserChange,
    ) -> Result<User, UpdateUserError>;

    /// Deletes a user and their sessions.
    ///
    /// # Errors
    /// [`DeleteUserError`] saying what was wrong.
    async fn delete_user(&self, actor: &Actor, id: &UserId) -> Result<(), DeleteUserError>;

    /// Who may do what to which user (`ACCESS_POLICY`, `REGISTRATION`):
    /// for a front door that describes itself (the API's document) and
    /// shows users (with their administrator flag only under `owner`).
    fn access(&self) -> AccessRules;
}

/// The administrator right.
#[async_trait]
pub trait Administration: Send + Sync {
    /// Grants (`true`) or revokes (`false`) the administrator right; the
    /// user as stored afterwards.
    ///
    /// # Errors
    /// [`SetAdminError`]; [`SetAdminError::Forbidden`] for an actor who
    /// may not act on every user.
    async fn set_admin(
        &self,
        actor: &Actor,
        id: &UserId,
        is_admin: bool,
    ) -> Result<User, SetAdminError>;

    /// Whether any user is an administrator.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn has_admin(&self, actor: &Actor) -> Result<bool, Failure>;
}

/// What the service does for itself, with no actor and nothing a client
/// can steer: the readiness probe, the metrics, the sweeper.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Whether the storage answers.
    ///
    /// # Errors
    /// The failure that makes it not ready.
    async fn ping(&self) -> Result<(), Failure>;

    /// How many users there are.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn user_count(&self) -> Result<u64, Failure>;

    /// How many sessions are live, when the session store can count them.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn live_sessions(&self) -> Result<Option<u64>, Failure>;

    /// Removes sessions that can no longer resolve and failures too old to
    /// count; how many sessions.
    ///
    /// # Errors
    /// Only infrastructure failures.
    async fn prune_expired(&self) -> Result<u64, Failure>;
}

/// Self-service password reset by mail: a request mails a single-use link
/// to the account's address; the link's token then sets a new password.
/// Off (every call [`RequestResetError::Disabled`] /
/// [`ResetPasswordError::Disabled`]) unless a mailer is configured.
#[async_trait]
pub trait PasswordRecovery: Send + Sync {
    /// Whether recovery by mail is on.
    fn enabled(&self) -> bool;

    /// Mails a reset link to the account `email` names, if any, within
    /// the per-address and per-email limits. Answers alike whether or not
    /// the email names an account, and whether or not a limit dropped the
    /// request.
    ///
    /// # Errors
    /// [`RequestResetError`]: the email missing, recovery off, or an
    /// infrastructure failure.
    async fn request_reset(
        &self,
        actor: &Actor,
        email: Option<&str>,
    ) -> Result<(), RequestResetError>;

    /// Sets the password of the account a live reset token opens (under
    /// the password rules), uses the token up, and ends every session of
    /// the account.
    ///
    /// # Errors
    /// [`ResetPasswordError`]; [`ResetPasswordError::InvalidToken`] for a
    /// token that is unknown, used or expired.
    async fn reset_password(
        &self,
        actor: &Actor,
        token: Option<&str>,
        new_password: Option<&str>,
    ) -> Result<(), ResetPasswordError>;
}
