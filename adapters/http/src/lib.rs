//! The HTTP adapter: the Flask API's routes under `/api/v1` as a
//! poem-openapi service, behind the authentication gate, with CORS, JSON
//! errors, the OpenAPI document and Swagger UI.
//!
//! [`endpoint`] builds the whole thing from the use cases and
//! [`HttpSettings`]; it is the only entry point the composition root needs.

mod api;
mod docs;
mod dto;
mod error;
mod extract;
mod observe;
mod pipeline;
mod recovery_api;
#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod tests;

use domain::{Gate, UseCases};

pub use observe::{ACCESS_TARGET, MetricsExposure, QueueDepth};
pub use pipeline::{MetricsEndpoint, ServiceEndpoint};

/// What the HTTP layer needs from the core: the gate, and the use cases
/// behind their ports in.
#[derive(Clone)]
pub struct Services {
    /// The gate that runs before every route.
    pub gate: Gate,
    /// The use cases the routes call.
    pub use_cases: UseCases,
}

/// HTTP-level settings.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Name of the session cookie (`SESSION_NAME`).
    pub session_name: String,
    /// Whether the session cookie carries `Secure` (`COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// The largest request body accepted, in bytes; a larger one is
    /// answered `413` before the gate.
    pub body_limit: usize,
    /// The longest a request may take, from the pipeline's first step to
    /// its answer, before it is answered `503` (a storage that stopped
    /// answering without an error holds a request until then).
    pub request_timeout: std::time::Duration,
    /// Whether the first `X-Forwarded-For` entry is the client's address
    /// (only behind a proxy that sets it); otherwise the TCP peer is.
    pub trust_forwarded_for: bool,
}

/// The OpenAPI document's path.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Swagger UI's path.
pub const DOCS_PATH: &str = "/api/v1/docs";

/// The complete HTTP service.
pub fn endpoint(services: Services, settings: HttpSettings) -> ServiceEndpoint {
    ServiceEndpoint::new(services, settings)
}
