//! The routes: the API's operations, the OpenAPI document and Swagger UI,
//! with the framework's `404` and `405` in the API's shape and a panic
//! answered `500`.

use poem::endpoint::make_sync;
use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::header;
use poem::http::{Method, StatusCode};
use poem::middleware::{CatchPanic, CatchPanicEndpoint};
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;

use crate::api::Api;
use crate::docs::{AllowedMethods, Documents};
use crate::error::{ApiError, error_response};
use crate::recovery_api::RecoveryApi;
use crate::{DOCS_PATH, OPENAPI_PATH};

/// Every route, behind nothing but the panic catcher.
pub(super) struct Routes {
    routes: CatchPanicEndpoint<Route, ()>,
    allowed: AllowedMethods,
}

impl Routes {
    /// The operations of `service`, and `documents` at their paths.
    pub(super) fn new(
        service: OpenApiService<(Api, RecoveryApi), ()>,
        documents: Documents,
    ) -> Self {
        let Documents {
            spec,
            swagger_html,
            allowed,
        } = documents;
        let spec = bytes::Bytes::from(spec);
        let swagger_html = bytes::Bytes::from(swagger_html);
        let routes = Route::new()
            .at(
                OPENAPI_PATH,
                make_sync(move |_| {
                    Response::builder()
                        .content_type("application/json; charset=utf-8")
                        .body(Body::from_bytes(spec.clone()))
                }),
            )
            .at(
                DOCS_PATH,
                make_sync(move |_| {
                    Response::builder()
                        .content_type("text/html; charset=utf-8")
                        .body(Body::from_bytes(swagger_html.clone()))
                }),
            )
            .nest("/", service)
            .with(CatchPanic::new());
        Self { routes, allowed }
    }

    /// The route's answer to `req` (for `path`).
    pub(super) async fn answer(&self, req: Request, path: &str) -> Response {
        match self.routes.call(req).await {
            Ok(response) => response,
            Err(error) if error.is::<NotFoundError>() => ApiError::not_found().into_response(),
            Err(error) if error.is::<MethodNotAllowedError>() => self.method_not_allowed(path),
            Err(error) => error.into_response(),
        }
    }

    /// `405` with the methods `path` accepts (`404` if none: no route).
    fn method_not_allowed(&self, path: &str) -> Response {
        let allowed = self.allowed.for_path(path);
        if allowed.is_empty() {
            return ApiError::not_found().into_response();
        }
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            .with_header(header::ALLOW, allow)
            .into_response()
    }
}
