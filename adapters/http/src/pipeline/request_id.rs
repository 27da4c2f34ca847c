//! The request id: the client's `X-Request-Id` when it is sane, a new UUID
//! otherwise. Every line logged while answering carries it (the `request`
//! span), the access line names it and the answer echoes it.

use poem::http::header::{HeaderName, HeaderValue};
use poem::{Request, Response};
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The header that carries the id, both ways.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One request's id, kept as the header value the answer echoes.
pub(super) struct RequestId(HeaderValue);

impl RequestId {
    /// The id of `req`: the client's when it is 1 to 128 visible ASCII
    /// characters from a conservative set (so it cannot forge log fields),
    /// a new UUID otherwise.
    pub(super) fn of(req: &Request) -> Self {
        match req.headers().get(&X_REQUEST_ID) {
            Some(given) if given.to_str().is_ok_and(is_sane_request_id) => Self(given.clone()),
            _ => Self(new_id()),
        }
    }

    /// The id as text.
    pub(super) fn as_str(&self) -> &str {
        // Both kinds are visible ASCII, which always reads as text.
        self.0.to_str().unwrap_or_default()
    }

    /// The span every line logged while answering runs in.
    pub(super) fn span(&self) -> tracing::Span {
        tracing::info_span!("request", request_id = %self.as_str())
    }

    /// Echoes the id in the answer's `X-Request-Id`.
    pub(super) fn echo(self, response: &mut Response) {
        response.headers_mut().insert(X_REQUEST_ID, self.0);
    }
}

fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// A new version-4 UUID. Request ids need to be unique and not to reveal
/// how many requests came before, not to be secret: a keyed hash (the
/// standard library's SipHash, keyed once per process from the system's
/// randomness) of a counter gives both without a system call per request.
fn new_id() -> HeaderValue {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let keys = KEYS.get_or_init(RandomState::new);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let bits = (u128::from(keys.hash_one((n, 0_u8))) << 64) | u128::from(keys.hash_one((n, 1_u8)));
    let uuid = uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid();
    let mut text = [0_u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut text))
        // Hex digits and hyphens are always a valid header value.
        .unwrap_or(HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(is_sane_request_id("abc-123_x.y:z"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("a\"b"));
        assert!(!is_sane_request_id(&"x".repeat(129)));
    }

    #[test]
    fn new_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| new_id().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let uuid = uuid::Uuid::try_parse(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
        }
    }

    #[test]
    fn a_sane_client_id_is_kept_and_an_insane_one_replaced() {
        let req = Request::builder()
            .header("x-request-id", "trace-42")
            .finish();
        assert_eq!(RequestId::of(&req).as_str(), "trace-42");
        let req = Request::builder().header("x-request-id", "bad id").finish();
        assert!(uuid::Uuid::try_parse(RequestId::of(&req).as_str()).is_ok());
    }
}
