//! The audit trail's port: every security event the use cases emit, with
//! the [`Actor`] that caused it. The use cases call it; adapters write it
//! (a log line, a table). Nothing here carries a secret: no password, no
//! token, no hash.

use crate::actor::Actor;
use crate::user::UserId;

/// How a password check reached the use cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The login form (`POST /auth_session/login`).
    Form,
    /// An HTTP Basic header.
    Basic,
    /// The current password of a password change.
    PasswordChange,
}

impl Via {
    /// The word the audit trail writes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Basic => "basic",
            Self::PasswordChange => "password_change",
        }
    }
}

/// A security event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditEvent {
    /// A password check succeeded and a session was opened.
    LoginSucceeded {
        /// Who signed in.
        user: UserId,
    },
    /// A password check failed.
    LoginFailed {
        /// Where the credentials came from.
        via: Via,
        /// The email as typed (absent for Basic, whose header is not kept).
        email: Option<String>,
        /// Why, for the operator (`unknown email`, `wrong password`), even
        /// when the client is not told.
        reason: String,
    },
    /// A password check was refused by the brute-force limits.
    LoginThrottled {
        /// Where the credentials came from.
        via: Via,
        /// The email as typed, when known.
        email: Option<String>,
        /// The user, when known (a password change).
        user: Option<UserId>,
    },
    /// A user ended the session of their request.
    Logout {
        /// Whose session.
        user: UserId,
    },
    /// Sessions of a user were ended (by the user, or an operator).
    SessionsRevoked {
        /// Whose sessions.
        user: UserId,
        /// How many ended.
        ended: u64,
    },
    /// A password was changed (by its user with the current one, or set by
    /// an operator).
    PasswordChanged {
        /// Whose password.
        user: UserId,
        /// How many sessions ended with the change.
        sessions_ended: u64,
    },
    /// A password change was refused: the current password was wrong.
    PasswordChangeFailed {
        /// Whose password.
        user: UserId,
    },
    /// A user was created.
    UserCreated {
        /// The new user.
        user: UserId,
        /// Whether as an administrator.
        is_admin: bool,
    },
    /// A registration was refused by the brute-force limits.
    RegistrationThrottled,
    /// A user was deleted, with their sessions.
    UserDeleted {
        /// The user that was.
        user: UserId,
    },
    /// A user was made an administrator.
    UserPromoted {
        /// Who.
        user: UserId,
    },
    /// A user lost the administrator right.
    UserDemoted {
        /// Who.
        user: UserId,
    },
    /// A password reset was asked for (answered alike whether or not the
    /// email names an account; a link is mailed only when it does).
    PasswordResetRequested {
        /// The account the email named, when it named one.
        user: Option<UserId>,
    },
    /// A password-reset request was dropped by its limits (per address,
    /// per email); it was answered as any other.
    PasswordResetThrottled,
    /// A password was set with a reset token, ending every session.
    PasswordReset {
        /// Whose password.
        user: UserId,
        /// How many sessions ended.
        sessions_ended: u64,
    },
    /// A reset token was refused (unknown, used or expired).
    PasswordResetRefused,
    /// An action reserved to administrators was refused.
    AdminRefused {
        /// What was attempted (`create_user`, `count_users`,
        /// `set_admin_flag`, …).
        action: &'static str,
    },
}

impl AuditEvent {
    /// The event's name, as the `event` field of a log line.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::LoginSucceeded { .. } => "login_succeeded",
            Self::LoginFailed { .. } => "login_failed",
            Self::LoginThrottled { .. } => "login_throttled",
            Self::Logout { .. } => "logout",
            Self::SessionsRevoked { .. } => "sessions_revoked",
            Self::PasswordChanged { .. } => "password_changed",
            Self::PasswordChangeFailed { .. } => "password_change_failed",
            Self::UserCreated { .. } => "user_created",
            Self::RegistrationThrottled => "registration_throttled",
            Self::UserDeleted { .. } => "user_deleted",
            Self::UserPromoted { .. } => "user_promoted",
            Self::UserDemoted { .. } => "user_demoted",
            Self::AdminRefused { .. } => "admin_refused",
            Self::PasswordResetRequested { .. } => "password_reset_requested",
            Self::PasswordResetThrottled => "password_reset_throttled",
            Self::PasswordReset { .. } => "password_reset",
            Self::PasswordResetRefused => "password_reset_refused",
        }
    }

    /// The user the event is about, when there is one.
    pub fn subject(&self) -> Option<&UserId> {
        match self {
            Self::LoginSucceeded { user }
            | Self::Logout { user }
            | Self::SessionsRevoked { user, .. }
            | Self::PasswordChanged { user, .. }
            | Self::PasswordChangeFailed { user }
            | Self::UserCreated { user, .. }
            | Self::UserDeleted { user }
            | Self::UserPromoted { user }
            | Self::UserDemoted { user } => Some(user),
            Self::LoginThrottled { user, .. } | Self::PasswordResetRequested { user } => {
                user.as_ref()
            }
            Self::PasswordReset { user, .. } => Some(user),
            Self::PasswordResetThrottled | Self::PasswordResetRefused => None,
            Self::LoginFailed { .. } | Self::RegistrationThrottled | Self::AdminRefused { .. } => {
                None
            }
        }
    }
}

/// Where security events go. Recording never fails the action it
/// describes: an adapter that cannot keep an event reports that itself
/// (a log line, a metric).
pub trait AuditLog: Send + Sync {
    /// Records that `actor` caused `event`.
    fn record(&self, actor: &Actor, event: AuditEvent);
}

/// An audit log that keeps nothing, for tests and tools that need none.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAudit;

impl AuditLog for NoAudit {
    fn record(&self, _: &Actor, _: AuditEvent) {}
}
