//! The routes of the Flask API, under `/api/v1`.

use poem::web::cookie::{Cookie, SameSite};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use std::time::Duration;

use domain::service::NewUser;
use domain::{Password, SessionToken};

use crate::dto::{
    CreateUserRequest, EmptyBody, ErrorBody, LoginForm, StatsBody, StatusBody, UpdateUserRequest,
    UserBody,
};
use crate::error::ApiError;
use crate::extract::{Caller, FormBody, JsonBody};
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
        // unknown id is 404 whatever the body.
        if self.services.users.get(&user_id.0).await?.is_none() {
            return Err(ApiError::not_found());
        }
        let JsonBody::Parsed(body) = body else {
            return Err(ApiError::bad_request("Wrong format"));
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
    async fn login(&self, form: FormBody<LoginForm>) -> ApiResult<LoggedIn> {
        if !self.services.auth_type.uses_sessions() {
            return Err(ApiError::not_found());
        }
        let FormBody(form) = form;
        let (user, token) = self
            .services
            .auth
            .login(form.email.as_deref(), form.password.as_deref())
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
}
