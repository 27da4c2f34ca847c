//! The access log: one line per answered request on
//! [`ACCESS_TARGET`](crate::ACCESS_TARGET), with its id, client, user,
//! method, path, status and duration.

use poem::Request;
use poem::http::{Method, StatusCode, Uri};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use domain::UserId;

use crate::observe::ACCESS_TARGET;

/// What the access line says about a request, taken as it arrives.
pub(super) struct AccessLine {
    started: Instant,
    method: Method,
    /// A clone of the request's URI: it shares the received bytes, where a
    /// copy of the path would allocate.
    uri: Uri,
    client: Option<IpAddr>,
}

impl AccessLine {
    /// Starts the line (and its clock) for `req`, from `client`.
    pub(super) fn begin(req: &Request, client: Option<IpAddr>) -> Self {
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            client,
        }
    }

    /// The request's method.
    pub(super) fn method(&self) -> &Method {
        &self.method
    }

    /// The request's path (slash-stripped).
    pub(super) fn path(&self) -> &str {
        self.uri.path()
    }

    /// How long the request has taken so far.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Logs the line for an answer of `status`, as `request_id`, for
    /// `user` (the one the gate identified, if any), `elapsed` after the
    /// request arrived.
    pub(super) fn log(
        &self,
        status: StatusCode,
        request_id: &str,
        user: Option<UserId>,
        elapsed: Duration,
    ) {
        tracing::info!(
            target: ACCESS_TARGET,
            request_id = %request_id,
            client = self.client.map(tracing::field::display),
            user_id = user.map(tracing::field::display),
            method = %self.method,
            path = %self.path(),
            status = status.as_u16(),
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    }
}
