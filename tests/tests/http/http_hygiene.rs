//! Issue 12, account hygiene, through the real router on every storage:
//! `LOGIN_ERRORS` (3), new emails validated and every email compared
//! ignoring case (4), `PASSWORD_POLICY` on every route that sets a
//! password (5), and `SECURITY_PROFILE=strict` setting them at once (6).
//! The defaults keep the Flask API's answers (the contract tests prove the
//! rest of Part A).

use serde_json::json;

use domain::AccessPolicy;
use integration_tests::http_harness::{Backend, Service};
use integration_tests::http_tests;
use integration_tests::wire::{LOGIN, PASSWORD, USERS, login_reply};
use session_auth::Settings;
use session_auth::config::{Cli, Command, PasswordPolicy};

/// The settings `session-auth serve` gives for these flags.
fn serve_settings(flags: &[&str]) -> Settings {
    let args = ["session-auth", "serve"].iter().chain(flags);
    match Cli::parse_from_env_and(args).map(|cli| cli.command) {
        Ok(Some(Command::Serve(serve))) => serve.settings(),
        other => panic!("not a serve command line: {other:?}"),
    }
}

/// A service on `backend` with the settings of these flags (the storage
/// and the clock are the harness's).
async fn start_with(backend: Backend, flags: &[&str]) -> Service {
    let chosen = serve_settings(flags);
    Service::builder(backend)
        .with(|settings| {
            settings.login_errors = chosen.login_errors;
            settings.password_policy = chosen.password_policy;
            settings.passwords = chosen.passwords;
            settings.cookie_secure = chosen.cookie_secure;
            settings.access = chosen.access;
        })
        .start()
        .await
}

http_tests! {
    async fn by_default_a_failed_login_says_which_credential_was_wrong(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        service.create_user("bob@hbtn.io", "right password").await;
        assert_eq!(
            login_reply(&service, "nobody@hbtn.io", "right password").await,
            (404, json!({"error": "no user found for this email"}))
        );
        assert_eq!(
            login_reply(&service, "bob@hbtn.io", "wrong").await,
            (401, json!({"error": "wrong password"}))
        );
    }

    async fn generic_login_errors_answer_an_unknown_email_as_a_wrong_password(backend: Backend) {
        let service = start_with(backend, &["--login-errors", "generic"]).await;
        service.create_user("bob@hbtn.io", "right password").await;
        let unknown = login_reply(&service, "nobody@hbtn.io", "right password").await;
        let wrong = login_reply(&service, "bob@hbtn.io", "wrong").await;
        assert_eq!(unknown, wrong);
        assert_eq!(unknown, (401, json!({"error": "wrong email or password"})));
        // Missing fields keep the Flask messages; the right password logs in.
        assert_eq!(
            login_reply(&service, "", "x").await,
            (400, json!({"error": "email missing"}))
        );
        assert_eq!(login_reply(&service, "bob@hbtn.io", "right password").await.0, 200);
    }

    async fn a_new_email_must_look_like_an_address_with_the_flask_messages_for_missing_ones(backend: Backend) {
        let service = Service::start(backend, "none").await;
        service
            .post(USERS)
            .json(&json!({"email": "not-an-email", "password": "pw"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: email must contain an @"}));
        service
            .post(USERS)
            .json(&json!({"email": "bob@@hbtn.io", "password": "pw"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: email must contain exactly one @"}));
        service
            .post(USERS)
            .json(&json!({"email": "", "password": "pw"}))
            .send()
            .await
            .assert(400, json!({"error": "email missing"}));
        service
            .post(USERS)
            .json(&json!({"email": "not-an-email"}))
            .send()
            .await
            .assert(400, json!({"error": "password missing"}));
        service
            .post(USERS)
            .json(&json!({"email": "root@localhost", "password": "pw"}))
            .send()
            .await
            .assert_status(201);
        service.get("/api/v1/stats").send().await.assert(200, json!({"users": 1}));
    }

    async fn emails_ignore_case_for_login_and_for_uniqueness(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        let bob = service.create_user("bob@hbtn.io", "right password").await;
        let reply = service
            .post(LOGIN)
            .form(&[("email", "BOB@Hbtn.IO"), ("password", "right password")])
            .send()
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["id"], json!(bob.id));
        assert_eq!(reply.json()["email"], json!("bob@hbtn.io"), "the stored email");
        let cookie = reply.set_cookie().value;
        service
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "Bob@HBTN.io", "password": "pw"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: email already exists"}));
        service.get("/api/v1/stats").cookie(&cookie).send().await.assert(200, json!({"users": 1}));
    }

    async fn the_strong_policy_refuses_weak_passwords_on_every_route_saying_why(backend: Backend) {
        let service = start_with(backend, &["--password-policy", "strong"]).await;
        let strong = "correct horse battery staple";
        let ann = service.create_user("ann@hbtn.io", strong).await;
        let cookie = service.login(&ann).await;
        let reply = service
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "bob@hbtn.io", "password": "password1"}))
            .send()
            .await;
        reply.assert_status(400);
        let error = reply.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            error.starts_with("Can't create User: password is too weak: scores "),
            "{error}"
        );
        assert!(error.contains("common password"), "{error}");
        assert!(!error.contains("password1"), "the password is never echoed: {error}");
        // Made of the account's own email: weak for this account.
        service
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "annabelle.lee1987@hbtn.io", "password": "annabelle.lee1987"}))
            .send()
            .await
            .assert_status(400);
        service
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "bob@hbtn.io", "password": "annabelle.lee1987"}))
            .send()
            .await
            .assert_status(201);
        let reply = service
            .put(PASSWORD)
            .cookie(&cookie)
            .json(&json!({"current_password": strong, "new_password": "qwerty123"}))
            .send()
            .await;
        reply.assert_status(400);
        let error = reply.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.starts_with("new_password: password is too weak: "), "{error}");
        assert!(!error.contains("qwerty123"), "{error}");
        service
            .put(PASSWORD)
            .cookie(&cookie)
            .json(&json!({"current_password": strong, "new_password": "violet tram under 9 maples"}))
            .send()
            .await
            .assert_status(200);
    }

    async fn the_strict_profile_turns_every_setting_on_and_each_can_be_turned_back(backend: Backend) {
        let strict = start_with(backend, &["--security-profile", "strict"]).await;
        // Strict means ACCESS_POLICY=owner: only an administrator creates
        // users, and a user sees only themselves.
        assert_eq!(strict.settings.access.policy, AccessPolicy::Owner);
        strict.create_admin("bob@hbtn.io", "violet tram under 9 maples").await;
        assert_eq!(
            login_reply(&strict, "nobody@hbtn.io", "x").await,
            (401, json!({"error": "wrong email or password"}))
        );
        let reply = strict
            .post(LOGIN)
            .form(&[("email", "bob@hbtn.io"), ("password", "violet tram under 9 maples")])
            .send()
            .await;
        reply.assert_status(200);
        assert!(reply.set_cookie().has_flag("Secure"));
        let cookie = reply.set_cookie().value;
        strict
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "ann@hbtn.io", "password": "short pw"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: password must be at least 12 characters"}));
        let reply = strict
            .post(USERS)
            .cookie(&cookie)
            .json(&json!({"email": "ann@hbtn.io", "password": "passwordpassword"}))
            .send()
            .await;
        reply.assert_status(400);
        assert!(reply.text().contains("too weak"), "{}", reply.text());
        let ann = strict.create_user("ann@hbtn.io", "violet tram under 9 maples").await;
        let reply = strict
            .post(LOGIN)
            .form(&[("email", "ann@hbtn.io"), ("password", "violet tram under 9 maples")])
            .send()
            .await;
        let ann_cookie = reply.set_cookie().value;
        let listed = strict.get(USERS).cookie(&ann_cookie).send().await;
        listed.assert_status(200);
        assert_eq!(listed.json().as_array().map(Vec::len), Some(1), "{}", listed.text());
        assert_eq!(listed.json()[0]["id"], json!(ann.id));

        let relaxed = start_with(
            backend,
            &["--security-profile", "strict", "--cookie-secure", "false", "--login-errors", "compatible"],
        )
        .await;
        relaxed.create_user("bob@hbtn.io", "violet tram under 9 maples").await;
        assert_eq!(
            login_reply(&relaxed, "nobody@hbtn.io", "x").await,
            (404, json!({"error": "no user found for this email"}))
        );
        let reply = relaxed
            .post(LOGIN)
            .form(&[("email", "bob@hbtn.io"), ("password", "violet tram under 9 maples")])
            .send()
            .await;
        assert!(!reply.set_cookie().has_flag("Secure"));
        assert_eq!(relaxed.settings.password_policy, PasswordPolicy::Strong);
        let open = start_with(backend, &["--security-profile", "strict", "--access-policy", "open"]).await;
        assert_eq!(open.settings.access.policy, AccessPolicy::Open);
    }
}
