//! Request extractors that keep the Flask API's answers to bad input:
//! a body that is not what a route expects is reported by the route itself
//! ("Wrong format", "email missing"), never by a framework error page.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSecurityScheme, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use std::sync::Arc;

use domain::Actor;

/// A JSON body: `Parsed` when the request is `application/json` (or
/// `+json`) and its body deserializes into `T`, `Malformed` otherwise.
pub enum JsonBody<T> {
    /// The body as `T`.
    Parsed(T),
    /// Not JSON, not the right shape, or not JSON at all.
    Malformed,
}

/// The request's media type without parameters, lowercase; empty when the
/// request has no `Content-Type`.
pub(crate) fn media_type(request: &Request) -> String {
    request
        .content_type()
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(crate) fn is_json(media_type: &str) -> bool {
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// A required request body of `content_type` with `T`'s schema, as the
/// OpenAPI document declares it.
pub(crate) fn required_body<T: Type>(content_types: &[&'static str]) -> Option<MetaRequest> {
    Some(MetaRequest {
        description: None,
        content: content_types
            .iter()
            .map(|&content_type| MetaMediaType {
                content_type,
                schema: T::schema_ref(),
            })
            .collect(),
        required: true,
    })
}

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        required_body::<T>(&["application/json"])
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if !is_json(&media_type(request)) {
            return Ok(Self::Malformed);
        }
        let bytes = body.take()?.into_bytes().await?;
        // Only a JSON object is a request of this API: serde would also
        // read a struct from an array of its fields (`[null, null]`).
        let is_object = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if !is_object {
            return Ok(Self::Malformed);
        }
        Ok(serde_json::from_slice(&bytes).map_or(Self::Malformed, Self::Parsed))
    }
}

/// A form body (`application/x-www-form-urlencoded` or
/// `multipart/form-data`), as Flask's `request.form` read it: any other
/// body reads as an empty form.
pub struct FormBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Default + Send> ApiExtractor<'a> for FormBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        required_body::<T>(&["application/x-www-form-urlencoded"])
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        read_form(request, body).await.map(Self)
    }
}

/// A body of a JSON object, a URL-encoded form or a multipart form, read
/// into `T`; anything else (or a body of none of these shapes) reads as
/// `T::default()`, whose fields are then missing.
pub struct FormOrJson<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Default + Send> ApiExtractor<'a> for FormOrJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        required_body::<T>(&["application/json", "application/x-www-form-urlencoded"])
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let essence = media_type(request);
        if is_json(&essence) {
            let bytes = body.take()?.into_bytes().await?;
            return Ok(Self(serde_json::from_slice(&bytes).unwrap_or_default()));
        }
        read_form(request, body).await.map(Self)
    }
}

/// The body as Flask's `request.form` read it: a URL-encoded or multipart
/// form; any other body (or a form that does not read as `T`) is
/// `T::default()`.
pub(crate) async fn read_form<T: DeserializeOwned + Default>(
    request: &Request,
    body: &mut RequestBody,
) -> poem::Result<T> {
    let essence = media_type(request);
    if essence == "application/x-www-form-urlencoded" {
        let bytes = body.take()?.into_bytes().await?;
        return Ok(serde_urlencoded::from_bytes(&bytes).unwrap_or_default());
    }
    if essence == "multipart/form-data" {
        return Ok(read_multipart(request, body).await.unwrap_or_default());
    }
    Ok(T::default())
}

pub(crate) async fn read_multipart<T: DeserializeOwned>(
    request: &Request,
    body: &mut RequestBody,
) -> Option<T> {
    let mut multipart = <poem::web::Multipart as poem::FromRequest>::from_request(request, body)
        .await
        .ok()?;
    let mut fields = serde_json::Map::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        // Files are not form fields; Flask's request.form skipped them too.
        if field.file_name().is_some() {
            continue;
        }
        let value = field.text().await.ok()?;
        fields
            .entry(name)
            .or_insert(serde_json::Value::String(value));
    }
    serde_json::from_value(serde_json::Value::Object(fields)).ok()
}

/// Name of the cookie security scheme in the OpenAPI document.
pub const COOKIE_SCHEME: &str = "session_cookie";
/// Name of the Basic security scheme in the OpenAPI document.
pub const BASIC_SCHEME: &str = "basic_auth";
/// Stands for the configured cookie name in the generated document; the
/// served document has the real name in its place.
pub const COOKIE_NAME_PLACEHOLDER: &str = "__SESSION_NAME__";

/// The actor of a route outside the gate (login), which must not declare
/// security: anonymous, with only the client's address, `User-Agent` and
/// request id known.
pub struct Client(pub Arc<Actor>);

impl<'a> poem::FromRequest<'a> for Client {
    async fn from_request(request: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(actor_of(request)))
    }
}

/// The [`Actor`] the gate stored in the request's extensions (an anonymous
/// one if, against the pipeline's order, there is none).
fn actor_of(request: &Request) -> Arc<Actor> {
    request
        .extensions()
        .get::<Arc<Actor>>()
        .cloned()
        .unwrap_or_default()
}

/// The actor as the gate resolved them. Taking this extractor declares the
/// route's security (session cookie or HTTP Basic) in the OpenAPI document.
pub struct Guarded(pub Arc<Actor>);

impl<'a> ApiExtractor<'a> for Guarded {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            COOKIE_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The session cookie set by POST /auth_session/login (AUTH_TYPE session_auth, session_exp_auth, session_db_auth).",
                ),
                name: Some(COOKIE_NAME_PLACEHOLDER),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            BASIC_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some("HTTP Basic with email and password (AUTH_TYPE basic_auth)."),
                name: None,
                key_in: None,
                scheme: Some("basic"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![COOKIE_SCHEME, BASIC_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(actor_of(request)))
    }
}
