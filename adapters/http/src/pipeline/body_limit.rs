//! The request body limit: a larger body is answered `413` before the gate
//! and before any route reads it; a body within it is read here, whole,
//! so that an early answer (the gate's `401`, a `503` while the database
//! is away) leaves nothing unread on a kept-alive connection. With part of
//! a body unread the server must close the connection after answering,
//! and a client that sent its next request on it meanwhile loses it.

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

    /// Refuses a body over the limit before anything reads it, and reads
    /// one within it, handing it on as read. A declared length is trusted
    /// (the server enforces it): over the limit, the `413` goes out with
    /// `Connection: close` and the body unread. A body without one is read
    /// at most one byte past the limit.
    pub(super) async fn apply(&self, req: &mut Request) -> Result<(), Response> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let limit = u64::try_from(self.0).unwrap_or(u64::MAX);
        match declared {
            Some(length) if length > limit => {
                return Err(ApiError::payload_too_large()
                    .into_response()
                    .with_header(header::CONNECTION, "close")
                    .into_response());
            }
            Some(0) => return Ok(()),
            _ => {}
        }
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        let expected = declared.map_or(0, |length| usize::try_from(length).unwrap_or(0));
        let mut read = Vec::with_capacity(expected);
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
