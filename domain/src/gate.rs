//! The authentication gate that runs before every route, and the
//! [`Caller`] it hands to the route.
//!
//! The adapter that serves the routes says how much authentication each
//! one asks for ([`Authentication`]) and reads what the request presents
//! ([`Presented`]); the gate decides who is calling, or why no one may.

use std::sync::Arc;

use chrono::Duration;

use crate::actor::Caller;
use crate::credentials::Presented;
use crate::error::Failure;
use crate::policy::{AuthPolicy, Identity};
use crate::session::ClientInfo;

/// How much authentication a route asks for, as the adapter serving it
/// declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// None: anyone passes as an anonymous caller, and what the request
    /// presents is not looked at (the service status, the login itself,
    /// the API's documentation).
    Skipped,
    /// Anyone may call (registration under `REGISTRATION=open`).
    /// Credentials that identify someone make them the caller; credentials
    /// that identify no one (a stale cookie) make an anonymous caller
    /// rather than a refusal.
    Optional,
    /// Only an identified caller passes.
    Required,
}

/// What the gate decided for a request.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per request and consumed at once; a box would add an allocation to every request"
)]
pub enum GateDecision {
    /// The route runs, for this caller.
    Pass(Caller),
    /// Nothing presented where authentication is required: 401.
    Unauthorized,
    /// Credentials that resolve no user: 403.
    Forbidden,
    /// Too many failed password checks: 429, retry after this long.
    TooManyAttempts(Duration),
}

/// The gate: the active policy (none when `AUTH_TYPE` is `none`).
#[derive(Clone)]
pub struct Gate {
    policy: Option<Arc<dyn AuthPolicy>>,
}

impl Gate {
    /// A gate applying `policy`; `None` lets every request through as an
    /// anonymous caller.
    pub fn new(policy: Option<Arc<dyn AuthPolicy>>) -> Self {
        Self { policy }
    }

    /// Whether the active policy identifies callers by an email and a
    /// password sent with each request (`basic_auth`), so that a refusal
    /// for want of credentials should invite them.
    pub fn accepts_basic(&self) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|policy| policy.accepts_basic())
    }

    /// Decides whether a request for a route asking for `authentication`,
    /// presenting `presented` from `client`, may reach its route, and as
    /// whom.
    ///
    /// # Errors
    /// Only infrastructure failures of the policy.
    pub async fn check(
        &self,
        authentication: Authentication,
        presented: &Presented<'_>,
        client: ClientInfo,
    ) -> Result<GateDecision, Failure> {
        let anonymous = |client| {
            Ok(GateDecision::Pass(Caller {
                user: None,
                session: None,
                client,
            }))
        };
        let Some(policy) = &self.policy else {
            return anonymous(client);
        };
        let open_to_anyone = match authentication {
            Authentication::Skipped => return anonymous(client),
            Authentication::Optional => true,
            Authentication::Required => false,
        };
        if presented.is_empty() {
            return if open_to_anyone {
                anonymous(client)
            } else {
                Ok(GateDecision::Unauthorized)
            };
        }
        Ok(match policy.identify(presented, &client).await? {
            Identity::User { user, session } => GateDecision::Pass(Caller {
                user: Some(user),
                session,
                client,
            }),
            Identity::Nobody if open_to_anyone => return anonymous(client),
            Identity::Nobody => GateDecision::Forbidden,
            Identity::Throttled(wait) => GateDecision::TooManyAttempts(wait),
        })
    }
}
