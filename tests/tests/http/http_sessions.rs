//! Cookie sessions through the real router: `POST /auth_session/login`,
//! `DELETE /auth_session/logout`, the session cookie's attributes,
//! `SESSION_NAME`, `SESSION_DURATION` with a fake clock, and which sessions
//! survive a restart (`docs/contract.md`, Part A, and Part B's cookie
//! attributes, #b4-cookie, and token storage, #b3-tokens).

use serde_json::{Value, json};

use integration_tests::http_harness::{
    Account, Backend, DEFAULT_SESSION_DURATION, EXPIRING, Reply, SESSION_TYPES, START, Service,
    SetCookie, temp_dir, user_json,
};
use integration_tests::http_tests;
use integration_tests::wire::{LOGIN, LOGOUT, ME, forbidden};

async fn with_alice(backend: Backend, auth_type: &str) -> (Service, Account) {
    let service = Service::start(backend, auth_type).await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    (service, alice)
}

async fn login_form(service: &Service, fields: &[(&str, &str)]) -> Reply {
    service.post(LOGIN).form(fields).send().await
}

/// The attributes every session cookie carries.
#[track_caller]
fn assert_session_cookie_basics(cookie: &SetCookie, name: &str) {
    assert_eq!(cookie.name, name, "{}", cookie.raw);
    assert!(!cookie.value.is_empty(), "{}", cookie.raw);
    assert_eq!(cookie.attribute("Path"), Some("/"), "{}", cookie.raw);
    assert!(cookie.has_flag("HttpOnly"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("SameSite"), Some("Lax"), "{}", cookie.raw);
}

http_tests! {
    // ---------------------------------------------------------------- login

    /// Missing or empty `email` → `400 {"error": "email missing"}` (checked
    /// before the password).
    async fn login_without_email_is_400(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, _alice) = with_alice(backend, name).await;
            for fields in [
                &[("password", "alice-pw")][..],
                &[("email", ""), ("password", "alice-pw")][..],
                &[][..],
                &[("email", "")][..],
            ] {
                let reply = login_form(&service, fields).await;
                reply.assert(400, json!({"error": "email missing"}));
                assert!(reply.headers.get("set-cookie").is_none(), "{name}");
            }
        }
    }

    /// Missing or empty `password` → `400 {"error": "password missing"}`.
    async fn login_without_password_is_400(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice) = with_alice(backend, name).await;
            for fields in [
                &[("email", alice.email.as_str())][..],
                &[("email", alice.email.as_str()), ("password", "")][..],
            ] {
                let reply = login_form(&service, fields).await;
                reply.assert(400, json!({"error": "password missing"}));
                assert!(reply.headers.get("set-cookie").is_none(), "{name}");
            }
        }
    }

    /// No user with that email → `404 {"error": "no user found for this email"}`.
    async fn login_with_an_unknown_email_is_404(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, _alice) = with_alice(backend, name).await;
            for email in ["bob@example.com", "alice@example.org", "alice"] {
                let reply = login_form(&service, &[("email", email), ("password", "alice-pw")]).await;
                reply.assert(404, json!({"error": "no user found for this email"}));
                assert!(reply.headers.get("set-cookie").is_none(), "{name}");
            }
            // Emails ignore the case of ASCII letters (issue 12).
            let reply = login_form(&service, &[("email", "ALICE@example.com"), ("password", "alice-pw")]).await;
            reply.assert_status(200);
        }
    }

    /// A wrong password → `401 {"error": "wrong password"}`.
    async fn login_with_a_wrong_password_is_401(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice) = with_alice(backend, name).await;
            for password in ["wrong", "alice-pW", " alice-pw"] {
                let reply = login_form(&service, &[("email", &alice.email), ("password", password)]).await;
                reply.assert(401, json!({"error": "wrong password"}));
                assert!(reply.headers.get("set-cookie").is_none(), "{name}");
            }
        }
    }

    /// The login form is read as Flask's `request.form` read it: a JSON body
    /// carries no form fields.
    async fn login_with_a_json_body_reads_no_fields(backend: Backend) {
        let (service, alice) = with_alice(backend, "session_db_auth").await;
        service
            .post(LOGIN)
            .json(&json!({"email": alice.email, "password": alice.password}))
            .send()
            .await
            .assert(400, json!({"error": "email missing"}));
    }

    /// `multipart/form-data` is a form too.
    async fn login_accepts_a_multipart_form(backend: Backend) {
        let (service, alice) = with_alice(backend, "session_db_auth").await;
        let boundary = "XyZzY";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{}\r\n\
             --{boundary}--\r\n",
            alice.email, alice.password
        );
        let reply = service
            .post(LOGIN)
            .body(&format!("multipart/form-data; boundary={boundary}"), body)
            .send()
            .await;
        reply.assert(200, user_json(&alice, START));
        let token = reply.set_cookie().value;
        service.get(ME).cookie(&token).send().await.assert(200, user_json(&alice, START));
    }

    /// Success → `200 <user>` and `Set-Cookie: <SESSION_NAME>=<token>; Path=/`
    /// with `HttpOnly`, `SameSite=Lax`, no `Secure` by default, and
    /// `Max-Age` equal to `SESSION_DURATION` where sessions expire.
    async fn login_sets_the_session_cookie(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice) = with_alice(backend, name).await;
            for suffix in ["", "/"] {
                let reply = service
                    .post(&format!("{LOGIN}{suffix}"))
                    .form(&[("email", &alice.email), ("password", &alice.password)])
                    .send()
                    .await;
                reply.assert(200, user_json(&alice, START));
                let cookie = reply.set_cookie();
                assert_session_cookie_basics(&cookie, "_my_session_id");
                assert!(!cookie.has_flag("Secure"), "{name}: {}", cookie.raw);
                let expected_max_age = EXPIRING.contains(&name).then(|| DEFAULT_SESSION_DURATION.to_string());
                assert_eq!(
                    cookie.attribute("Max-Age").map(str::to_owned),
                    expected_max_age,
                    "{name}: {}",
                    cookie.raw
                );
                assert!(cookie.attribute("Expires").is_none() || EXPIRING.contains(&name), "{name}: {}", cookie.raw);
                service.get(ME).cookie(&cookie.value).send().await.assert(200, user_json(&alice, START));
            }
        }
    }

    /// `COOKIE_SECURE` adds `Secure`.
    async fn login_cookie_is_secure_when_cookie_secure_is_set(backend: Backend) {
        for name in SESSION_TYPES {
            let service = Service::builder(backend).auth_type(name).cookie_secure(true).start().await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let reply = login_form(&service, &[("email", &alice.email), ("password", &alice.password)]).await;
            reply.assert_status(200);
            let cookie = reply.set_cookie();
            assert_session_cookie_basics(&cookie, "_my_session_id");
            assert!(cookie.has_flag("Secure"), "{name}: {}", cookie.raw);
        }
    }

    /// `SESSION_DURATION` 0 (or negative) means sessions never expire: no
    /// `Max-Age`.
    async fn login_cookie_has_no_max_age_when_sessions_never_expire(backend: Backend) {
        for name in EXPIRING {
            for duration in [0, -5] {
                let service = Service::builder(backend).auth_type(name).session_duration(duration).start().await;
                let alice = service.create_user("alice@example.com", "alice-pw").await;
                let reply = login_form(&service, &[("email", &alice.email), ("password", &alice.password)]).await;
                reply.assert_status(200);
                let cookie = reply.set_cookie();
                assert_session_cookie_basics(&cookie, "_my_session_id");
                assert_eq!(cookie.attribute("Max-Age"), None, "{name} {duration}: {}", cookie.raw);
            }
        }
    }

    /// `Max-Age` follows `SESSION_DURATION`.
    async fn login_cookie_max_age_is_the_session_duration(backend: Backend) {
        for name in EXPIRING {
            let service = Service::builder(backend).auth_type(name).session_duration(90).start().await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let reply = login_form(&service, &[("email", &alice.email), ("password", &alice.password)]).await;
            assert_eq!(reply.set_cookie().attribute("Max-Age"), Some("90"), "{name}");
        }
    }

    /// A custom `SESSION_NAME` names the cookie that is set and the cookie
    /// that is read; the default name then means nothing.
    async fn custom_session_name_is_used_to_set_and_to_read_the_cookie(backend: Backend) {
        for name in SESSION_TYPES {
            let service = Service::builder(backend).auth_type(name).session_name("sid").start().await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let reply = login_form(&service, &[("email", &alice.email), ("password", &alice.password)]).await;
            reply.assert_status(200);
            let cookie = reply.set_cookie();
            assert_session_cookie_basics(&cookie, "sid");
            let token = cookie.value;
            service
                .get(ME)
                .header("Cookie", &format!("sid={token}"))
                .send()
                .await
                .assert(200, user_json(&alice, START));
            service
                .get(ME)
                .header("Cookie", &format!("theme=dark; sid={token}; lang=en"))
                .send()
                .await
                .assert(200, user_json(&alice, START));
            service
                .get(ME)
                .header("Cookie", &format!("_my_session_id={token}"))
                .send()
                .await
                .assert(401, json!({"error": "Unauthorized"}));
            let logout = service.delete(LOGOUT).header("Cookie", &format!("sid={token}")).send().await;
            logout.assert(200, json!({}));
            assert_eq!(logout.set_cookie().name, "sid");
        }
    }

    /// Each login creates a new session; a user may hold many at once.
    async fn each_login_creates_a_new_session(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice) = with_alice(backend, name).await;
            let first = service.login(&alice).await;
            let second = service.login(&alice).await;
            assert_ne!(first, second, "{name}");
            for token in [&first, &second] {
                service.get(ME).cookie(token).send().await.assert(200, user_json(&alice, START));
            }
            service.delete(LOGOUT).cookie(&first).send().await.assert(200, json!({}));
            service.get(ME).cookie(&first).send().await.assert(403, forbidden());
            service.get(ME).cookie(&second).send().await.assert(200, user_json(&alice, START));
        }
    }

    /// Session tokens are long random strings, not guessable ids.
    async fn session_tokens_carry_at_least_128_bits(backend: Backend) {
        let (service, alice) = with_alice(backend, "session_db_auth").await;
        let token = service.login(&alice).await;
        // 128 bits are 22 base64 characters or 32 hex digits at least.
        assert!(token.len() >= 22, "{token}");
        assert_ne!(token, alice.id);
    }

    // --------------------------------------------------------------- logout

    /// Logout is not excluded: without a cookie → 401.
    async fn logout_without_a_cookie_is_401(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, _alice) = with_alice(backend, name).await;
            for suffix in ["", "/"] {
                service
                    .delete(&format!("{LOGOUT}{suffix}"))
                    .send()
                    .await
                    .assert(401, json!({"error": "Unauthorized"}));
            }
        }
    }

    /// An unknown cookie → 403, from the gate.
    async fn logout_with_an_unknown_cookie_is_403(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, _alice) = with_alice(backend, name).await;
            service.delete(LOGOUT).cookie("nope").send().await.assert(403, forbidden());
        }
    }

    /// Logout → `200 {}`, a cookie that expires the old one, and the
    /// session no longer resolves.
    async fn logout_ends_the_session_and_expires_the_cookie(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice) = with_alice(backend, name).await;
            for suffix in ["", "/"] {
                let token = service.login(&alice).await;
                let reply = service.delete(&format!("{LOGOUT}{suffix}")).cookie(&token).send().await;
                reply.assert(200, json!({}));
                let cookie = reply.set_cookie();
                assert_eq!(cookie.name, "_my_session_id", "{}", cookie.raw);
                assert_eq!(cookie.attribute("Max-Age"), Some("0"), "{}", cookie.raw);
                assert_eq!(cookie.attribute("Path"), Some("/"), "{}", cookie.raw);
                service.get(ME).cookie(&token).send().await.assert(403, forbidden());
                service.delete(LOGOUT).cookie(&token).send().await.assert(403, forbidden());
            }
        }
    }

    /// Under `basic_auth` there is no session to destroy: the gate lets a
    /// valid Basic request through, and the route answers 404.
    async fn logout_under_basic_auth_is_404(backend: Backend) {
        let (service, alice) = with_alice(backend, "basic_auth").await;
        service
            .delete(LOGOUT)
            .basic(&alice.email, &alice.password)
            .send()
            .await
            .assert(404, json!({"error": "Not found"}));
    }

    // --------------------------------------------------------------- expiry

    /// A session is valid up to and including `SESSION_DURATION` seconds
    /// after the login, and refused one second later.
    async fn session_is_valid_at_exactly_session_duration_and_forbidden_one_second_later(backend: Backend) {
        for name in EXPIRING {
            let service = Service::builder(backend).auth_type(name).session_duration(60).start().await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let token = service.login(&alice).await;
            service.clock.advance(60);
            service.get(ME).cookie(&token).send().await.assert(200, user_json(&alice, START));
            service.clock.advance(1);
            service.get(ME).cookie(&token).send().await.assert(403, forbidden());
            service.delete(LOGOUT).cookie(&token).send().await.assert(403, forbidden());
            // A new login works again.
            let fresh = service.login(&alice).await;
            service.get(ME).cookie(&fresh).send().await.assert(200, user_json(&alice, START));
        }
    }

    /// `SESSION_DURATION` 0 or negative: sessions never expire.
    async fn session_duration_zero_or_negative_never_expires(backend: Backend) {
        for name in EXPIRING {
            for duration in [0, -1] {
                let service = Service::builder(backend).auth_type(name).session_duration(duration).start().await;
                let alice = service.create_user("alice@example.com", "alice-pw").await;
                let token = service.login(&alice).await;
                service.clock.advance(10 * 365 * 24 * 3600);
                service.get(ME).cookie(&token).send().await.assert(200, user_json(&alice, START));
            }
        }
    }

    /// `session_auth` sessions never expire, whatever `SESSION_DURATION` says.
    async fn session_auth_sessions_never_expire(backend: Backend) {
        let service = Service::builder(backend).auth_type("session_auth").session_duration(60).start().await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        let token = service.login(&alice).await;
        service.clock.advance(61);
        service.get(ME).cookie(&token).send().await.assert(200, user_json(&alice, START));
        service.clock.advance(10 * 365 * 24 * 3600);
        service.get(ME).cookie(&token).send().await.assert(200, user_json(&alice, START));
    }
}

// -------------------------------------------------------- file storage only

/// Part B: storage keeps only a digest of each token. The cookie's token
/// appears in no file of the data directory; its SHA-256 does.
#[tokio::test]
async fn session_token_is_never_stored_in_the_data_files() {
    let (service, alice) = with_alice(Backend::File, "session_db_auth").await;
    let token = service.login(&alice).await;
    let digest = domain::SessionKey::digest_of(&token);
    let files = service.data_files();
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&token),
            "{} holds the session token",
            path.display()
        );
    }
    let sessions: Value = serde_json::from_str(&service.read_file(".db_UserSession.json"))
        .unwrap_or_else(|e| panic!("sessions file: {e}"));
    let records = sessions.as_object().cloned().unwrap_or_default();
    assert_eq!(records.len(), 1, "{sessions}");
    let (key, record) = records
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_default();
    assert_eq!(record["id"], json!(key), "{sessions}");
    assert_eq!(record["user_id"], json!(alice.id), "{sessions}");
    assert_eq!(record["session_id"], json!(digest.as_str()), "{sessions}");
    assert_eq!(record["created_at"], json!(START), "{sessions}");
    let keys: Vec<&str> = record
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut keys = keys;
    keys.sort_unstable();
    // The Flask API's five keys, then this service's activity fields (the
    // Flask API ignored keys it did not know).
    assert_eq!(
        keys,
        [
            "client_address",
            "created_at",
            "id",
            "last_used_at",
            "session_id",
            "updated_at",
            "user_agent",
            "user_id"
        ]
    );
}

/// `session_db_auth` keeps sessions in the storage: they survive a restart,
/// expiry still counts from the login, and a logout removes them there.
#[tokio::test]
async fn session_db_auth_sessions_survive_a_restart() {
    let service = Service::builder(Backend::File)
        .auth_type("session_db_auth")
        .session_duration(60)
        .start()
        .await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    let kept = service.login(&alice).await;
    let ended = service.login(&alice).await;
    service
        .delete(LOGOUT)
        .cookie(&ended)
        .send()
        .await
        .assert(200, json!({}));

    let service = service.restart().await;
    service
        .get(ME)
        .cookie(&kept)
        .send()
        .await
        .assert(200, user_json(&alice, START));
    service
        .get(ME)
        .cookie(&ended)
        .send()
        .await
        .assert(403, forbidden());
    service.clock.advance(61);
    service
        .get(ME)
        .cookie(&kept)
        .send()
        .await
        .assert(403, forbidden());
}

/// `session_auth` and `session_exp_auth` keep sessions in process memory,
/// even over the file storage: a restart ends them (users stay).
#[tokio::test]
async fn in_memory_sessions_do_not_survive_a_restart() {
    for name in ["session_auth", "session_exp_auth"] {
        let (service, alice) = with_alice(Backend::File, name).await;
        let token = service.login(&alice).await;
        service
            .get(ME)
            .cookie(&token)
            .send()
            .await
            .assert(200, user_json(&alice, START));
        let sessions_file = service.data_dir().join(".db_UserSession.json");
        if let Ok(text) = std::fs::read_to_string(&sessions_file) {
            let value: Value = serde_json::from_str(&text).unwrap_or_default();
            assert_eq!(value, json!({}), "{name} wrote a session to the storage");
        }
        let service = service.restart().await;
        service
            .get(ME)
            .cookie(&token)
            .send()
            .await
            .assert(403, forbidden());
        let again = service.login(&alice).await;
        service
            .get(ME)
            .cookie(&again)
            .send()
            .await
            .assert(200, user_json(&alice, START));
    }
}

/// A restart of a data directory whose sessions all expired still starts,
/// and a login there works.
#[tokio::test]
async fn restart_on_a_directory_with_expired_sessions_starts() {
    let dir = temp_dir();
    let service = Service::builder(Backend::File)
        .auth_type("session_db_auth")
        .session_duration(1)
        .data_dir(dir)
        .start()
        .await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    let token = service.login(&alice).await;
    service.clock.advance(3600);
    let service = service.restart().await;
    service
        .get(ME)
        .cookie(&token)
        .send()
        .await
        .assert(403, forbidden());
    let fresh = service.login(&alice).await;
    service
        .get(ME)
        .cookie(&fresh)
        .send()
        .await
        .assert_status(200);
}
