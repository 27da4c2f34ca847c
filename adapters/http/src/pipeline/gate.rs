//! The authentication gate, before routing as in the Flask API: how much
//! authentication each of the adapter's routes asks for, what the request
//! presents, and the refusals (401, 403, 429, 5xx) with their security
//! events. The domain's [`Gate`] decides.

use poem::http::Method;
use poem::{IntoResponse, Request, Response};
use std::net::IpAddr;

use domain::{AccessRules, Actor, Authentication, Gate, GateDecision, Presented, Registration};

use super::client::client_info;
use super::credentials::presented;
use super::public::{PublicPaths, same_path};
use crate::error::ApiError;

/// The route anyone may call under `REGISTRATION=open` (with `POST`).
const REGISTRATION_PATH: &str = "/api/v1/users";

/// The gate as the HTTP service applies it.
pub(super) struct Admission {
    gate: Gate,
    public: PublicPaths,
    /// Whether anyone may register (`REGISTRATION=open`).
    open_registration: bool,
    /// The session cookie's name (`SESSION_NAME`).
    session_name: String,
}

impl Admission {
    /// `gate` over the standard public paths, with registration open to
    /// anyone when `access` says so.
    pub(super) fn new(gate: Gate, access: AccessRules, session_name: String) -> Self {
        Self {
            gate,
            public: PublicPaths::standard(),
            open_registration: access.registration == Registration::Open,
            session_name,
        }
    }

    /// Whether the active policy takes HTTP Basic credentials.
    pub(super) fn accepts_basic(&self) -> bool {
        self.gate.accepts_basic()
    }

    /// How much authentication the `method` request for `path` asks for.
    fn authentication(&self, method: &Method, path: &str) -> Authentication {
        if self.public.contains(path) {
            Authentication::Skipped
        } else if self.open_registration
            && method == Method::POST
            && same_path(path, REGISTRATION_PATH)
        {
            Authentication::Optional
        } else {
            Authentication::Required
        }
    }

    /// Who is calling `req` (whose id is `request_id`) from `ip`, as the
    /// actor the routes hand the use cases, or the refusal.
    pub(super) async fn admit(
        &self,
        req: &Request,
        ip: Option<IpAddr>,
        request_id: &str,
    ) -> Result<Actor, Response> {
        let authentication = self.authentication(req.method(), req.uri().path());
        let presented = match authentication {
            // Not looked at: no need to read it.
            Authentication::Skipped => Presented::default(),
            Authentication::Optional | Authentication::Required => {
                presented(req, &self.session_name, self.accepts_basic())
            }
        };
        let client = client_info(req, ip, request_id);
        let refusal = match self.gate.check(authentication, &presented, client).await {
            Ok(GateDecision::Pass(caller)) => return Ok(Actor::of_request(caller)),
            Ok(GateDecision::Unauthorized) => ApiError::unauthorized(),
            // Failed and throttled password checks are audited by the core.
            Ok(GateDecision::Forbidden) => ApiError::forbidden(),
            Ok(GateDecision::TooManyAttempts(wait)) => ApiError::too_many_attempts(wait),
            Err(failure) => ApiError::from(failure),
        };
        Err(refusal.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(registration: Registration) -> Admission {
        let access = AccessRules {
            registration,
            ..AccessRules::default()
        };
        Admission::new(Gate::new(None), access, "sid".into())
    }

    #[test]
    fn public_paths_skip_authentication_whatever_the_method() {
        let admission = admission(Registration::Closed);
        for method in [Method::GET, Method::POST] {
            assert_eq!(
                admission.authentication(&method, "/api/v1/status"),
                Authentication::Skipped
            );
        }
        assert_eq!(
            admission.authentication(&Method::GET, "/nowhere"),
            Authentication::Required
        );
    }

    #[test]
    fn only_posting_a_user_is_open_to_anyone_and_only_under_open_registration() {
        let open = admission(Registration::Open);
        assert_eq!(
            open.authentication(&Method::POST, "/api/v1/users"),
            Authentication::Optional
        );
        assert_eq!(
            open.authentication(&Method::POST, "/api/v1/users/"),
            Authentication::Optional
        );
        assert_eq!(
            open.authentication(&Method::GET, "/api/v1/users"),
            Authentication::Required
        );
        let closed = admission(Registration::Closed);
        assert_eq!(
            closed.authentication(&Method::POST, "/api/v1/users"),
            Authentication::Required
        );
    }
}
