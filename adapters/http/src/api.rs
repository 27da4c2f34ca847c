//! The routes of the Flask API, under `/api/v1`.

use poem::web::cookie::{Cookie, SameSite};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use std::time::Duration;

use domain::{Actor, NewUser, PasswordChange, SessionId, SessionToken, User, UserChange, UserId};

use crate::dto::{
    ChangePasswordRequest, CreateUserRequest, EmptyBody, EndedBody, ErrorBody, LoginForm,
    SessionBody, StatsBody, StatusBody, UpdateUserRequest, UserBody,
};
use crate::error::ApiError;
use crate::extract::{Client, FormBody, Guarded, JsonBody};
use crate::{HttpSettings, Services};

#[derive(Tags)]
enum Tag {
    /// Service health and counts.
    Index,
    /// User management.
    Users,
    /// Cookie sessions.
    Session,
}

type ApiResult<T> = Result<T, ApiError>;

/// `200` with a JSON body.
#[derive(ApiResponse)]
pub enum Ok200<T: poem_openapi::types::ToJSON> {
    /// Success.
    #[oai(status = 200)]
    Ok(Json<T>),
}

/// `201` with the created user.
#[derive(ApiResponse)]
pub enum Created {
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

/// `200` with the user and the session cookie.
#[derive(ApiResponse)]
pub enum LoggedIn {
    /// Logged in: the session cookie is set.
    #[oai(status = 200)]
    Ok(Json<UserBody>, #[oai(header = "Set-Cookie")] String),
}

/// `200 {}` with a cookie that expires the ended session's.
#[derive(ApiResponse)]
pub enum LoggedOut {
    /// The session was destroyed.
    #[oai(status = 200)]
    Ok(Json<EmptyBody>, #[oai(header = "Set-Cookie")] String),
}

/// `200` with a JSON body and, when the request's own session was among
/// those ended, a cookie that expires it.
#[derive(ApiResponse)]
pub enum SessionsEnded<T: poem_openapi::types::ToJSON> {
    /// The sessions ended.
    #[oai(status = 200)]
    Ok(
        Json<T>,
        /// `<SESSION_NAME>=; Max-Age=0`, only when the request's own session
        /// ended.
        #[oai(header = "Set-Cookie")]
        Option<String>,
    ),
}

/// `401 {"error": "Unauthorized"}`, the answer of `/unauthorized`.
#[derive(ApiResponse)]
pub enum UnauthorizedOnly {
    /// Always.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
}

/// `403 {"error": "Forbidden"}`, the answer of `/forbidden`.
#[derive(ApiResponse)]
pub enum ForbiddenOnly {
    /// Always.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
}

fn ok<T: poem_openapi::types::ToJSON>(body: T) -> ApiResult<Ok200<T>> {
    Ok(Ok200::Ok(Json(body)))
}

/// A user id from the path; text that is no id names no user (404).
fn user_id(path: &str) -> ApiResult<UserId> {
    UserId::parse(path).ok_or_else(ApiError::not_found)
}

/// The API's operations.
pub struct Api {
    services: Services,
    settings: HttpSettings,
    /// Whether users show their administrator flag (`ACCESS_POLICY=owner`).
    shows_admin_flag: bool,
}

/// The signed-in user's id (404 under `AUTH_TYPE=none`, where there is none).
fn own_id(actor: &Actor) -> ApiResult<UserId> {
    actor
        .user()
        .map(|user| user.id)
        .ok_or_else(ApiError::not_found)
}

impl Api {
    pub fn new(services: Services, settings: HttpSettings) -> Self {
        let shows_admin_flag = services.use_cases.users.access().shows_admin_flag();
        Self {
            services,
            settings,
            shows_admin_flag,
        }
    }

    fn session_cookie(&self, token: &SessionToken) -> String {
        let mut cookie = Cookie::new_with_str(self.settings.session_name.clone(), token.expose());
        self.finish_cookie(&mut cookie);
        if let Some(seconds) = self.services.use_cases.sign_in.session_lifetime().seconds() {
            cookie.set_max_age(Duration::from_secs(seconds.unsigned_abs()));
        }
        cookie.to_string()
    }

    fn expired_cookie(&self) -> String {
        let mut cookie = Cookie::new_with_str(self.settings.session_name.clone(), "");
        self.finish_cookie(&mut cookie);
        cookie.set_max_age(Duration::ZERO);
        cookie.to_string()
    }

    /// `user` as the API shows users (with the administrator flag only
    /// under `ACCESS_POLICY=owner`).
    fn user_body(&self, user: &User) -> UserBody {
        UserBody::new(user, self.shows_admin_flag)
    }

    fn finish_cookie(&self, cookie: &mut Cookie) {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        if self.settings.cookie_secure {
            cookie.set_secure(true);
        }
    }
}

#[OpenApi(prefix_path = "/api/v1")]
impl Api {
    /// Service status
    ///
    /// Answers `{"status": "OK"}` while the process runs. Needs no
    /// credentials.
    #[oai(path = "/status", method = "get", tag = "Tag::Index")]
    async fn status(&self) -> ApiResult<Ok200<StatusBody>> {
        ok(StatusBody {
            status: "OK".into(),
        })
    }

    /// Count users
    ///
    /// How many users exist.
    #[oai(path = "/stats", method = "get", tag = "Tag::Index")]
    async fn stats(&self, Guarded(actor): Guarded) -> ApiResult<Ok200<StatsBody>> {
        ok(StatsBody {
            users: self.services.use_cases.users.count_users(&actor).await?,
        })
    }

    /// Always 401
    ///
    /// Always answers 401, a target for testing a client's error handling.
    /// Needs no credentials.
    #[oai(path = "/unauthorized", method = "get", tag = "Tag::Index")]
    async fn unauthorized(&self) -> UnauthorizedOnly {
        UnauthorizedOnly::Unauthorized(Json(ErrorBody::new("Unauthorized")))
    }

    /// Always 403
    ///
    /// Always answers 403, a target for testing a client's error handling.
    /// Needs no credentials.
    #[oai(path = "/forbidden", method = "get", tag = "Tag::Index")]
    async fn forbidden(&self) -> ForbiddenOnly {
        ForbiddenOnly::Forbidden(Json(ErrorBody::new("Forbidden")))
    }

    /// List users
    ///
    /// Every user, in creation order.
    #[oai(path = "/users", method = "get", tag = "Tag::Users")]
    async fn list_users(&self, Guarded(actor): Guarded) -> ApiResult<Ok200<Vec<UserBody>>> {
        let users = self.services.use_cases.users.list_users(&actor).await?;
        ok(users.iter().map(|user| self.user_body(user)).collect())
    }

    /// Get a user
    ///
    /// One user by id; the id `me` names the current user.
    #[oai(path = "/users/:user_id", method = "get", tag = "Tag::Users")]
    async fn get_user(
        &self,
        Guarded(actor): Guarded,
        user_id: Path<String>,
    ) -> ApiResult<Ok200<UserBody>> {
        if user_id.0 == "me" {
            let user = actor.user().ok_or_else(ApiError::not_found)?;
            return ok(self.user_body(user));
        }
        let user = self
            .services
            .use_cases
            .users
            .user(&actor, &self::user_id(&user_id.0)?)
            .await?
            .ok_or_else(ApiError::not_found)?;
        ok(self.user_body(&user))
    }

    /// Create a user
    ///
    /// Creates a user from a JSON body; `email` and `password` are required,
    /// the email must be unused and the password within the configured
    /// length limits.
    #[oai(path = "/users", method = "post", tag = "Tag::Users")]
    async fn create_user(
        &self,
        Guarded(actor): Guarded,
        body: JsonBody<CreateUserRequest>,
    ) -> ApiResult<Created> {
        let JsonBody::Parsed(body) = body else {
            return Err(ApiError::wrong_format());
        };
        let new = NewUser::try_from(body)?;
        let user = self
            .services
            .use_cases
            .users
            .create_user(&actor, new)
            .await?;
        Ok(Created::Created(Json(self.user_body(&user))))
    }

    /// Rename a user
    ///
    /// Changes `first_name` and/or `last_name`; other fields are ignored, an
    /// absent or null name is left as it is.
    #[oai(path = "/users/:user_id", method = "put", tag = "Tag::Users")]
    async fn update_user(
        &self,
        Guarded(actor): Guarded,
        user_id: Path<String>,
        body: JsonBody<UpdateUserRequest>,
    ) -> ApiResult<Ok200<UserBody>> {
        let users = &self.services.use_cases.users;
        let id = self::user_id(&user_id.0)?;
        // The Flask API looked the user up before reading the body: an
        // unknown id is 404 whatever the body; only a bad body needs the
        // extra look-up to tell the two apart.
        let change = match body {
            JsonBody::Parsed(body) => UserChange::try_from(body).map_err(ApiError::from),
            JsonBody::Malformed => Err(ApiError::wrong_format()),
        };
        let change = match change {
            Ok(change) => change,
            Err(bad_body) => {
                return Err(match users.user(&actor, &id).await? {
                    Some(_) => bad_body,
                    None => ApiError::not_found(),
                });
            }
        };
        let user = users.update_user(&actor, &id, &change).await?;
        ok(self.user_body(&user))
    }

    /// Delete a user
    ///
    /// Deletes a user and ends all of their sessions.
    #[oai(path = "/users/:user_id", method = "delete", tag = "Tag::Users")]
    async fn delete_user(
        &self,
        Guarded(actor): Guarded,
        user_id: Path<String>,
    ) -> ApiResult<Ok200<EmptyBody>> {
        let id = self::user_id(&user_id.0)?;
        self.services
            .use_cases
            .users
            .delete_user(&actor, &id)
            .await?;
        ok(EmptyBody::default())
    }

    /// Log in
    ///
    /// Checks the email and password (form fields) and answers the user
    /// with a `Set-Cookie` header holding a new session. In Swagger UI,
    /// "Try it out" here logs the page in: the browser keeps the cookie and
    /// sends it with the other operations. Only under the session policies
    /// (404 otherwise).
    #[oai(path = "/auth_session/login", method = "post", tag = "Tag::Session")]
    async fn login(
        &self,
        FormBody(form): FormBody<LoginForm>,
        Client(actor): Client,
    ) -> ApiResult<LoggedIn> {
        // The token comes from the domain, never from the request's cookie:
        // a login cannot adopt a session an attacker planted (fixation).
        let signed_in = self
            .services
            .use_cases
            .sign_in
            .login(&actor, form.email.as_deref(), form.password.as_deref())
            .await?;
        Ok(LoggedIn::Ok(
            Json(self.user_body(&signed_in.user)),
            self.session_cookie(&signed_in.token),
        ))
    }

    /// Log out
    ///
    /// Ends the session of the request's cookie and expires the cookie.
    #[oai(path = "/auth_session/logout", method = "delete", tag = "Tag::Session")]
    async fn logout(&self, Guarded(actor): Guarded) -> ApiResult<LoggedOut> {
        self.services.use_cases.sessions.logout(&actor).await?;
        Ok(LoggedOut::Ok(
            Json(EmptyBody::default()),
            self.expired_cookie(),
        ))
    }

    /// List my sessions
    ///
    /// The current user's live sessions, oldest first; `current` marks the
    /// request's own. Only under the session policies (404 otherwise).
    #[oai(path = "/auth_session/sessions", method = "get", tag = "Tag::Session")]
    async fn list_sessions(&self, Guarded(actor): Guarded) -> ApiResult<Ok200<Vec<SessionBody>>> {
        let sessions = self
            .services
            .use_cases
            .sessions
            .sessions(&actor, &own_id(&actor)?)
            .await?;
        let current = actor.session().map(|session| &session.key);
        ok(sessions
            .iter()
            .map(|session| SessionBody::new(session, current))
            .collect())
    }

    /// End my sessions
    ///
    /// Ends all of the current user's sessions, or all but the request's own
    /// with `keep_current=true`; when the request's own session ends, its
    /// cookie is expired too.
    #[oai(
        path = "/auth_session/sessions",
        method = "delete",
        tag = "Tag::Session"
    )]
    async fn end_sessions(
        &self,
        Guarded(actor): Guarded,
        /// Keep the session of the request's own cookie.
        keep_current: Query<Option<bool>>,
    ) -> ApiResult<SessionsEnded<EndedBody>> {
        let keep = keep_current.0.unwrap_or(false);
        let ended = self
            .services
            .use_cases
            .sessions
            .end_sessions(&actor, &own_id(&actor)?, keep)
            .await?;
        let cookie = (!keep).then(|| self.expired_cookie());
        Ok(SessionsEnded::Ok(Json(EndedBody { ended }), cookie))
    }

    /// End one of my sessions
    ///
    /// Ends one of the current user's sessions by the handle
    /// `GET /auth_session/sessions` lists; another user's handle is unknown
    /// here (404). Ending the request's own session also expires its cookie.
    #[oai(
        path = "/auth_session/sessions/:handle",
        method = "delete",
        tag = "Tag::Session"
    )]
    async fn end_session(
        &self,
        Guarded(actor): Guarded,
        /// The session's handle, as `GET /auth_session/sessions` lists it.
        handle: Path<String>,
    ) -> ApiResult<SessionsEnded<EmptyBody>> {
        let user = own_id(&actor)?;
        let handle = SessionId::parse(&handle.0).ok_or_else(ApiError::not_found)?;
        let ended = self
            .services
            .use_cases
            .sessions
            .end_session(&actor, &user, handle)
            .await?;
        let own = actor
            .session()
            .is_some_and(|current| current.key == ended.key);
        let cookie = own.then(|| self.expired_cookie());
        Ok(SessionsEnded::Ok(Json(EmptyBody::default()), cookie))
    }

    /// Change my password
    ///
    /// Checks `current_password`, sets `new_password` (within the configured
    /// length limits) and ends the user's other sessions (the request's own
    /// stays). Under `AUTH_TYPE=none` there is no current user (404).
    #[oai(path = "/users/me/password", method = "put", tag = "Tag::Users")]
    async fn change_password(
        &self,
        Guarded(actor): Guarded,
        body: JsonBody<ChangePasswordRequest>,
    ) -> ApiResult<Ok200<UserBody>> {
        own_id(&actor)?;
        let JsonBody::Parsed(body) = body else {
            return Err(ApiError::wrong_format());
        };
        let change = PasswordChange::try_from(body)?;
        let changed = self
            .services
            .use_cases
            .passwords
            .change_password(&actor, change)
            .await?;
        ok(self.user_body(&changed))
    }
}
