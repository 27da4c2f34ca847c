//! Who is acting on a use case: a signed-in user (with the session that
//! signed them in, when one did), an operator at the command line, or an
//! anonymous client; with where the request came from. Every inbound port
//! takes an [`Actor`] and decides access from it. The gate's answer, a
//! [`Caller`], is the raw material of a request's actor.

use std::fmt;

use crate::session::{ClientInfo, Session};
use crate::user::User;

/// Who is calling, as the gate worked it out: everything a route may need
/// to know about the caller, so no route reads a credential itself.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The current user; none on routes that skip authentication and when
    /// authentication is off.
    pub user: Option<User>,
    /// The session that authenticated the request; set only by the session
    /// policies, so a cookie sent under `basic_auth` is no session here.
    pub session: Option<Session>,
    /// The client's address and `User-Agent`.
    pub client: ClientInfo,
}

/// Whom an action is done by.
#[derive(Clone, Debug, Default)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per request and shared behind an Arc; a box would add an allocation to every request"
)]
pub enum Principal {
    /// Nobody signed in: an excluded route, `AUTH_TYPE=none`, or a
    /// registration.
    #[default]
    Anonymous,
    /// A signed-in user.
    User {
        /// Who.
        user: User,
        /// The session that authenticated the request; set only by the
        /// session policies (a Basic-authenticated request has none).
        session: Option<Session>,
    },
    /// An operator at the command line (or the service acting for its
    /// operator: the bootstrap user, the sweeper, the metrics): may do
    /// everything, and is audited as `operator`.
    Operator,
}

/// An action's author and its context, as the audit trail records it.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// The client's address, `User-Agent` and request id, when the action
    /// came over the network.
    pub client: ClientInfo,
}

impl Actor {
    /// An operator at the command line.
    pub fn operator() -> Self {
        Self {
            principal: Principal::Operator,
            ..Self::default()
        }
    }

    /// The actor of a request, from what the gate resolved.
    pub fn of_request(caller: Caller) -> Self {
        let Caller {
            user,
            session,
            client,
        } = caller;
        let principal = match user {
            Some(user) => Principal::User { user, session },
            None => Principal::Anonymous,
        };
        Self { principal, client }
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User { user, .. } => Some(user),
            Principal::Anonymous | Principal::Operator => None,
        }
    }

    /// The session that authenticated the request, if any.
    pub fn session(&self) -> Option<&Session> {
        match &self.principal {
            Principal::User { session, .. } => session.as_ref(),
            Principal::Anonymous | Principal::Operator => None,
        }
    }

    /// Whether this is an operator.
    pub fn is_operator(&self) -> bool {
        matches!(self.principal, Principal::Operator)
    }

    /// The client's address, when known.
    pub fn address(&self) -> Option<&str> {
        self.client.address.as_deref()
    }

    /// The id of the request that carried the action, when known.
    pub fn request_id(&self) -> Option<&str> {
        self.client.request_id.as_deref()
    }

    /// How the audit trail names this actor: `user:<id>`, `operator` or
    /// `anonymous`.
    pub fn label(&self) -> ActorLabel<'_> {
        ActorLabel(self)
    }
}

/// [`Actor::label`]: displays as `user:<id>`, `operator` or `anonymous`.
#[derive(Clone, Copy)]
pub struct ActorLabel<'a>(&'a Actor);

impl fmt::Display for ActorLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.principal {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::User { user, .. } => write!(f, "user:{}", user.id),
            Principal::Operator => f.write_str("operator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordHash;
    use crate::user::{Email, UserId};

    #[test]
    fn labels_name_the_user_the_operator_or_nobody() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let user = User {
            id: UserId::generate(),
            email: Email::parse("bob@x.io").unwrap(),
            password_hash: PasswordHash::Unusable,
            first_name: None,
            last_name: None,
            created_at: at,
            updated_at: at,
            is_admin: false,
        };
        let id = user.id;
        let signed_in = Actor::of_request(Caller {
            user: Some(user),
            ..Caller::default()
        });
        assert_eq!(signed_in.label().to_string(), format!("user:{id}"));
        assert_eq!(Actor::operator().label().to_string(), "operator");
        assert_eq!(Actor::default().label().to_string(), "anonymous");
    }
}
