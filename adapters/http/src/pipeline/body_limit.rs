//! The request body limit: a larger body is answered `413` before the gate
//! and before any route reads it.

use poem::http::header;
use poem::{IntoResponse, Request, Response};
use tokio::io::AsyncReadExt;

use crate::error::ApiError;

/// The largest request body accepted, in bytes.
pub(super) struct BodyLimit(usize);

impl BodyLimit {
    /// A limit of `bytes`.
    pub(super) fn new(bytes: usize) -> Self {
        Self(bytes)
    }

    /// Refuses a body over the limit before anything reads it. A declared
    /// length is trusted (the server enforces it); a body without one is
    /// read here, at most one byte past the limit, and handed on as read.
    pub(super) async fn apply(&self, req: &mut Request) -> Result<(), Response> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let limit = u64::try_from(self.0).unwrap_or(u64::MAX);
        if let Some(length) = declared {
            return if length > limit {
                Err(ApiError::payload_too_large().into_response())
            } else {
                Ok(())
            };
        }
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        let mut read = Vec::new();
        let outcome = body
            .into_async_read()
            .take(limit.saturating_add(1))
            .read_to_end(&mut read)
            .await;
        match outcome {
            Err(error) => {
                tracing::debug!(error = %error, "could not read a request body");
                Err(ApiError::bad_request("Bad request").into_response())
            }
            Ok(_) if read.len() > self.0 => Err(ApiError::payload_too_large().into_response()),
            Ok(_) => {
                req.set_body(read);
                Ok(())
            }
        }
    }
}
