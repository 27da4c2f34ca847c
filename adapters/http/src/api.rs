//! The routes of the Flask API, under `/api/v1`.

use poem::web::cookie::{Cookie, SameSite};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use std::sync::Arc;
use std::time::Duration;

use domain::service::NewUser;
use domain::{Password, SessionToken, User};

use crate::dto::{
    ChangePasswordRequest, CreateUserRequest, EmptyBody, EndedBody, ErrorBody, LoginForm,
    SessionBody, StatsBody, StatusBody, UpdateUserRequest, UserBody,
};
use crate::error::ApiError;
use crate::extract::{Caller, Client, FormBody, JsonBody};
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

/// The API's operations.
pub struct Api {
    services: Services,
    settings: HttpSettings,
}

impl Api {
    pub fn new(services: Services, settings: HttpSettings) -> Self {
        Self { services, settings }
    }

    fn session_cookie(&self, token: &SessionToken) -> String {
        let mut cookie = Cookie::new_with_str(self.settings.session_name.clone(), token.expose());
        self.finish_cookie(&mut cookie);
        if let Some(seconds) = self.services.auth.lifetime().seconds() {
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

    /// The current user of a session route: sessions only exist under the
    /// session `AUTH_TYPE`s, so under the others these routes are absent
    /// (404), as login is.
    fn session_user(&self, caller: &Caller) -> ApiResult<Arc<User>> {
        if !self.services.auth_type.uses_sessions() {
            return Err(ApiError::not_found());
        }
        caller.0.user.clone().ok_or_else(ApiError::not_found)
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
    /// Whether the service is up.
    #[oai(path = "/status", method = "get", tag = "Tag::Index")]
    async fn status(&self) -> ApiResult<Ok200<StatusBody>> {
        ok(StatusBody {
            status: "OK".into(),
        })
    }

    /// How many users exist.
    #[oai(path = "/stats", method = "get", tag = "Tag::Index")]
    async fn stats(&self, _caller: Caller) -> ApiResult<Ok200<StatsBody>> {
        ok(StatsBody {
            users: self.services.users.count().await?,
        })
    }

    /// Always answers 401 (a target for clients' error handling).
    #[oai(path = "/unauthorized", method = "get", tag = "Tag::Index")]
    async fn unauthorized(&self) -> UnauthorizedOnly {
        UnauthorizedOnly::Unauthorized(Json(ErrorBody::new("Unauthorized")))
    }

    /// Always answers 403 (a target for clients' error handling).
    #[oai(path = "/forbidden", method = "get", tag = "Tag::Index")]
    async fn forbidden(&self) -> ForbiddenOnly {
        ForbiddenOnly::Forbidden(Json(ErrorBody::new("Forbidden")))
    }

    /// Every user.
    #[oai(path = "/users", method = "get", tag = "Tag::Users")]
    async fn list_users(&self, _caller: Caller) -> ApiResult<Ok200<Vec<UserBody>>> {
        let users = self.services.users.list().await?;
        ok(users.iter().map(UserBody::from).collect())
    }

    /// One user by id, or the current user for the id `me`.
    #[oai(path = "/users/:user_id", method = "get", tag = "Tag::Users")]
    async fn get_user(&self, caller: Caller, user_id: Path<String>) -> ApiResult<Ok200<UserBody>> {
        if user_id.0 == "me" {
            let user = caller.0.user.ok_or_else(ApiError::not_found)?;
            return ok(UserBody::from(user.as_ref()));
        }
        let user = self
            .services
            .users
            .get(&user_id.0)
            .await?
            .ok_or_else(ApiError::not_found)?;
        ok(UserBody::from(&user))
    }

    /// Creates a user.
    #[oai(path = "/users", method = "post", tag = "Tag::Users")]
    async fn create_user(
        &self,
        _caller: Caller,
        body: JsonBody<CreateUserRequest>,
    ) -> ApiResult<Created> {
        let JsonBody::Parsed(body) = body else {
            return Err(ApiError::bad_request("Wrong format"));
        };
        let new = NewUser {
            email: body.email,
            password: body.password.and_then(Password::parse),
            first_name: body.first_name,
            last_name: body.last_name,
        };
        let user = self.services.users.create(new).await?;
        Ok(Created::Created(Json(UserBody::from(&user))))
    }

    /// Changes a user's names (only `first_name` and `last_name` apply).
    #[oai(path = "/users/:user_id", method = "put", tag = "Tag::Users")]
    async fn update_user(
        &self,
        _caller: Caller,
        user_id: Path<String>,
        body: JsonBody<UpdateUserRequest>,
    ) -> ApiResult<Ok200<UserBody>> {
        // The Flask API looked the user up before reading the body: an
        // unknown id is 404 whatever the body; only a bad body needs the
        // extra look-up to tell the two apart.
        let JsonBody::Parsed(body) = body else {
            return Err(match self.services.users.get(&user_id.0).await? {
                Some(_) => ApiError::bad_request("Wrong format"),
                None => ApiError::not_found(),
            });
        };
        let user = self
            .services
            .users
            .update_names(&user_id.0, body.first_name, body.last_name)
            .await?;
        ok(UserBody::from(&user.ok_or_else(ApiError::not_found)?))
    }

    /// Deletes a user and ends their sessions.
    #[oai(path = "/users/:user_id", method = "delete", tag = "Tag::Users")]
    async fn delete_user(
        &self,
        _caller: Caller,
        user_id: Path<String>,
    ) -> ApiResult<Ok200<EmptyBody>> {
        if self.services.users.delete(&user_id.0).await? {
            ok(EmptyBody::default())
        } else {
            Err(ApiError::not_found())
        }
    }

    /// Logs in with the form fields `email` and `password`; sets the session
    /// cookie. Only under the session `AUTH_TYPE`s (404 otherwise).
    #[oai(path = "/auth_session/login", method = "post", tag = "Tag::Session")]
    async fn login(&self, form: FormBody<LoginForm>, client: Client) -> ApiResult<LoggedIn> {
        if !self.services.auth_type.uses_sessions() {
            return Err(ApiError::not_found());
        }
        let FormBody(form) = form;
        // The token comes from the domain, never from the request's cookie:
        // a login cannot adopt a session an attacker planted (fixation).
        let (user, token) = self
            .services
            .auth
            .login(form.email.as_deref(), form.password.as_deref(), &client.0)
            .await?;
        Ok(LoggedIn::Ok(
            Json(UserBody::from(&user)),
            self.session_cookie(&token),
        ))
    }

    /// Ends the session of the request's cookie.
    #[oai(path = "/auth_session/logout", method = "delete", tag = "Tag::Session")]
    async fn logout(&self, caller: Caller) -> ApiResult<LoggedOut> {
        if !self.services.auth_type.uses_sessions() {
            return Err(ApiError::not_found());
        }
        let token = caller.0.session_token.ok_or_else(ApiError::not_found)?;
        if self.services.auth.logout(&token).await? {
            Ok(LoggedOut::Ok(
                Json(EmptyBody::default()),
                self.expired_cookie(),
            ))
        } else {
            Err(ApiError::not_found())
        }
    }

    /// The current user's live sessions, oldest first. Only under the
    /// session `AUTH_TYPE`s (404 otherwise).
    #[oai(path = "/auth_session/sessions", method = "get", tag = "Tag::Session")]
    async fn list_sessions(&self, caller: Caller) -> ApiResult<Ok200<Vec<SessionBody>>> {
        let user = self.session_user(&caller)?;
        let current = caller.0.session_token.as_ref().map(SessionToken::key);
        let sessions = self.services.auth.sessions_of(&user.id).await?;
        ok(sessions
            .iter()
            .map(|session| SessionBody::new(session, current.as_ref()))
            .collect())
    }

    /// Ends all of the current user's sessions, or all but the request's own
    /// with `keep_current=true`. When the request's own session ends, the
    /// answer also expires its cookie.
    #[oai(
        path = "/auth_session/sessions",
        method = "delete",
        tag = "Tag::Session"
    )]
    async fn end_sessions(
        &self,
        caller: Caller,
        /// Keep the session of the request's own cookie.
        keep_current: Query<Option<bool>>,
    ) -> ApiResult<SessionsEnded<EndedBody>> {
        let user = self.session_user(&caller)?;
        let token = caller.0.session_token.as_ref();
        let keep = token.filter(|_| keep_current.0.unwrap_or(false));
        let ended = self.services.auth.end_sessions(&user.id, keep).await?;
        let cookie = (keep.is_none() && token.is_some()).then(|| self.expired_cookie());
        Ok(SessionsEnded::Ok(Json(EndedBody { ended }), cookie))
    }

    /// Ends one of the current user's sessions by its handle; another
    /// user's handle is unknown here (404). Ending the request's own session
    /// also expires its cookie.
    #[oai(
        path = "/auth_session/sessions/:handle",
        method = "delete",
        tag = "Tag::Session"
    )]
    async fn end_session(
        &self,
        caller: Caller,
        /// The session's handle, as `GET /auth_session/sessions` lists it.
        handle: Path<String>,
    ) -> ApiResult<SessionsEnded<EmptyBody>> {
        let user = self.session_user(&caller)?;
        let ended = self.services.auth.end_session(&user.id, &handle.0).await?;
        let ended = ended.ok_or_else(ApiError::not_found)?;
        let was_current = caller
            .0
            .session_token
            .as_ref()
            .is_some_and(|t| t.key() == ended.key);
        let cookie = was_current.then(|| self.expired_cookie());
        Ok(SessionsEnded::Ok(Json(EmptyBody::default()), cookie))
    }

    /// Changes the current user's password after checking the current one,
    /// and ends their other sessions (the request's own stays). Under
    /// `AUTH_TYPE=none` there is no current user (404).
    #[oai(path = "/users/me/password", method = "put", tag = "Tag::Users")]
    async fn change_password(
        &self,
        caller: Caller,
        body: JsonBody<ChangePasswordRequest>,
    ) -> ApiResult<Ok200<UserBody>> {
        let Caller(context) = caller;
        let user = context.user.ok_or_else(ApiError::not_found)?;
        let JsonBody::Parsed(body) = body else {
            return Err(ApiError::bad_request("Wrong format"));
        };
        // Under basic_auth a cookie is no session of this request: every
        // session of the user ends.
        let keep = context
            .session_token
            .as_ref()
            .filter(|_| self.services.auth_type.uses_sessions());
        let changed = self
            .services
            .auth
            .change_password(
                &user,
                body.current_password.as_deref(),
                body.new_password.as_deref(),
                keep,
                context.client.address.as_deref(),
            )
            .await?;
        ok(UserBody::from(&changed))
    }
}
