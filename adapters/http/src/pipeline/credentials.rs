//! What a request presents to prove who it is, read into the domain's
//! [`Presented`]: the `Authorization` header as HTTP Basic (email and
//! password) and the session cookie.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cookie::Cookie;
use poem::Request;
use poem::http::header;

use domain::{EmailAndPassword, Presented};

/// What `req` presents. The `Authorization` header is read as HTTP Basic
/// only when `read_basic` (the active policy takes it); any other header,
/// or one that is no valid Basic email and password, is presented but
/// unreadable. The session cookie is the one named `session_name`.
pub(super) fn presented<'r>(
    req: &'r Request,
    session_name: &str,
    read_basic: bool,
) -> Presented<'r> {
    let authorization = req.headers().get(header::AUTHORIZATION);
    let basic = authorization
        .filter(|_| read_basic)
        .and_then(|value| value.to_str().ok())
        .and_then(basic_credentials);
    Presented {
        // An unreadable header is still a header: it identifies no one
        // (403), it is not absent (401).
        unreadable: authorization.is_some() && basic.is_none(),
        basic,
        session_token: session_cookie(req, session_name),
    }
}

/// Parses `Basic base64(email:password)`. `None` when the header does not
/// start with `Basic ` (with the space), is not valid base64, does not
/// decode to UTF-8, has no `:`, or has an empty email or password. The
/// password is everything after the first `:`.
fn basic_credentials(header: &str) -> Option<EmailAndPassword> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (email, password) = text.split_once(':')?;
    EmailAndPassword::parse(Some(email), Some(password)).ok()
}

/// The value of the cookie named `name`: the first such cookie of the
/// request's `Cookie` headers (as browsers send the most specific first),
/// without surrounding double quotes. Cookies are split and parsed by the
/// `cookie` crate (poem's), in place: nothing is copied.
fn session_cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .and_then(|cookie| cookie.value_raw())
        .map(|value| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_header_splits_on_the_first_colon() {
        let creds = basic_credentials(&header("bob@x.io:pa:ss:word")).unwrap();
        assert_eq!(creds.email.as_str(), "bob@x.io");
        assert_eq!(creds.password.expose(), "pa:ss:word");
    }

    #[test]
    fn basic_header_without_the_basic_prefix_is_rejected() {
        let encoded = STANDARD.encode("bob@x.io:pw");
        assert!(basic_credentials(&encoded).is_none());
        assert!(basic_credentials(&format!("Basic{encoded}")).is_none());
        assert!(basic_credentials(&format!("Bearer {encoded}")).is_none());
    }

    #[test]
    fn basic_header_with_bad_base64_is_rejected() {
        assert!(basic_credentials("Basic !!!not-base64!!!").is_none());
    }

    #[test]
    fn basic_header_that_is_not_utf8_is_rejected() {
        let encoded = STANDARD.encode([0xff, 0xfe, b':', b'x']);
        assert!(basic_credentials(&format!("Basic {encoded}")).is_none());
    }

    #[test]
    fn basic_header_without_a_colon_is_rejected() {
        assert!(basic_credentials(&header("bob@x.io")).is_none());
    }

    #[test]
    fn basic_header_with_empty_email_or_password_is_rejected() {
        assert!(basic_credentials(&header(":pw")).is_none());
        assert!(basic_credentials(&header("bob@x.io:")).is_none());
    }

    #[test]
    fn basic_credentials_debug_hides_the_password() {
        let creds = basic_credentials(&header("bob@x.io:hunter2")).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    fn with_cookies(values: &[&str]) -> Request {
        let mut builder = Request::builder();
        for value in values {
            builder = builder.header("cookie", *value);
        }
        builder.finish()
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_across_headers() {
        let req = with_cookies(&["theme=dark; sid=abc; lang=en"]);
        assert_eq!(session_cookie(&req, "sid"), Some("abc"));
        let req = with_cookies(&["theme=dark", "sid=abc"]);
        assert_eq!(session_cookie(&req, "sid"), Some("abc"));
        let req = with_cookies(&["session_id=abc; other=def"]);
        assert_eq!(session_cookie(&req, "sid"), None);
    }

    #[test]
    fn the_first_of_duplicate_cookies_wins_and_quotes_go() {
        let req = with_cookies(&["sid=first; sid=second", "sid=third"]);
        assert_eq!(session_cookie(&req, "sid"), Some("first"));
        let req = with_cookies(&["sid=\"quoted\""]);
        assert_eq!(session_cookie(&req, "sid"), Some("quoted"));
    }

    #[test]
    fn an_empty_cookie_is_still_a_cookie_and_odd_pairs_are_skipped() {
        let req = with_cookies(&["sid="]);
        assert_eq!(session_cookie(&req, "sid"), Some(""));
        let req = with_cookies(&["junk; =x;; sid=abc"]);
        assert_eq!(session_cookie(&req, "sid"), Some("abc"));
    }

    #[test]
    fn an_authorization_header_is_presented_even_when_unreadable() {
        let req = Request::builder()
            .header("authorization", header("bob@x.io:pw"))
            .finish();
        let read = presented(&req, "sid", true);
        assert!(read.basic.is_some() && !read.unreadable);
        let ignored = presented(&req, "sid", false);
        assert!(ignored.basic.is_none() && ignored.unreadable);
        let req = Request::builder()
            .header("authorization", "Bearer x")
            .finish();
        assert!(presented(&req, "sid", true).unreadable);
        assert!(presented(&Request::default(), "sid", true).is_empty());
    }
}
