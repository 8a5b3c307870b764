//! The extractors that make the safe path the only one: a handler that changes state takes a
//! body whose anti-CSRF token is already checked ([`CsrfForm`], [`AnonymousForm`],
//! [`CsrfJson`], or [`CsrfHeader`] for a request without a body), a referent's handler takes
//! [`Referent`] and a town hall's [`TownHall`]. The crate's only readers of a form or a JSON
//! body are private to this module, so a handler cannot read one unchecked;
//! `tests/it/web/web_authz.rs` walks every state-changing route without a token, so a route
//! that forgets its guard fails there.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use serde::de::DeserializeOwned;
use vigie::domain::{Community, SourceIp};

use crate::api::ApiError;
use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{BodyRefused, FORM_TYPE, FormData, read_body};
use crate::session::{Signed, check_anonymous_csrf};

/// An urlencoded form body, not yet checked.
struct Form(FormData);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state, FORM_TYPE).await?;
        FormData::parse(&bytes).map(Form).map_err(WebError::BadRequest)
    }
}

/// The media type of the API's bodies.
const JSON_TYPE: &str = "application/json";

/// A JSON body (`Content-Type: application/json`, UTF-8, at most
/// [`crate::forms::MAX_BODY_BYTES`]) of exactly the type's fields, not yet checked: another
/// media type is 415 `unsupported_media_type`, a larger body 413 `body_too_large`, malformed
/// JSON or the wrong fields (unknown, repeated, missing, of another type) 400 `bad_request`.
struct JsonBody<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state, JSON_TYPE).await.map_err(|refused| match refused {
            BodyRefused::UnsupportedType => {
                ApiError::Problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            BodyRefused::TooLarge => ApiError::Problem(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            BodyRefused::Unreadable => ApiError::Web(refused.into()),
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::Web(WebError::BadRequest("malformed JSON")))
    }
}

/// The header of the anti-CSRF token of the API's unsafe methods.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in member of the request (read once per request: the [`Signed`] extractor keeps
/// it), or "signed out".
async fn signed(parts: &mut Parts, state: &AppState) -> Result<Signed, WebError> {
    Signed::from_request_parts(parts, state).await
}

/// The anti-CSRF secret a state-changing request carries, checked against the session's.
fn check_csrf(signed: &Signed, field: Option<&str>) -> Result<(), WebError> {
    if signed.csrf_matches(field) { Ok(()) } else { Err(WebError::Csrf) }
}

/// A form posted by the signed-in member, its `csrf` field checked against their session's
/// token (after the body is read: a body of the wrong type or size is told first).
pub struct CsrfForm(pub FormData);

impl FromRequest<AppState> for CsrfForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = signed(&mut parts, state).await?;
        let Form(form) = Form::from_request(Request::from_parts(parts, body), state).await?;
        check_csrf(&signed, form.csrf())?;
        Ok(CsrfForm(form))
    }
}

/// A form of a visitor who may be signed out (signing in, asking to join): its `csrf` field
/// checked against the `vigie_csrf` cookie (double submit).
pub struct AnonymousForm(pub FormData);

impl FromRequest<AppState> for AnonymousForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let Form(form) = Form::from_request(request, state).await?;
        check_anonymous_csrf(&headers, state.site(), form.csrf())?;
        Ok(AnonymousForm(form))
    }
}

fn check_header(signed: &Signed, parts: &Parts) -> Result<(), WebError> {
    check_csrf(signed, parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
}

/// A JSON body of the API sent by the signed-in member with their session's token in
/// `X-CSRF-Token` (checked after the body is read, as [`CsrfForm`]).
pub struct CsrfJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = signed(&mut parts, state).await?;
        let headers = parts.clone();
        let JsonBody(value) = JsonBody::from_request(Request::from_parts(parts, body), state).await?;
        check_header(&signed, &headers)?;
        Ok(CsrfJson(value))
    }
}

/// An unsafe request of the API without a body (`DELETE`): the session's token in
/// `X-CSRF-Token`.
pub struct CsrfHeader;

impl FromRequestParts<AppState> for CsrfHeader {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed = signed(parts, state).await?;
        check_header(&signed, parts)?;
        Ok(CsrfHeader)
    }
}

/// The referent of a community, signed in: anyone else is refused ("not allowed").
pub struct Referent {
    signed: Signed,
    community: Community,
}

impl Referent {
    pub fn signed(&self) -> &Signed {
        &self.signed
    }

    /// The community they manage.
    pub fn community(&self) -> &Community {
        &self.community
    }
}

impl FromRequestParts<AppState> for Referent {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed = signed(parts, state).await?;
        if !signed.is_referent() {
            return Err(WebError::Forbidden);
        }
        let community = signed.communities.first().cloned().ok_or(WebError::Forbidden)?;
        Ok(Referent { signed, community })
    }
}

/// A police officer, signed in: anyone else is refused ("not allowed"). Their communities are
/// those of their town.
pub struct Police(pub Signed);

impl FromRequestParts<AppState> for Police {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed = signed(parts, state).await?;
        if !signed.is_police() {
            return Err(WebError::Forbidden);
        }
        Ok(Police(signed))
    }
}

/// A town hall's account (`mairie`), signed in: anyone else is refused ("not allowed"). Its
/// communities are those of its town, read by the use cases of `vigie::app::town`.
pub struct TownHall {
    pub signed: Signed,
    pub town: String,
}

impl FromRequestParts<AppState> for TownHall {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed = signed(parts, state).await?;
        let town = vigie::app::town::town_of(&signed.member).map_err(|_| WebError::Forbidden)?.to_owned();
        Ok(TownHall { signed, town })
    }
}

/// The address a request came from: `requestContext.http.sourceIp`, which API Gateway takes
/// from the connection itself. Never a header such as `X-Forwarded-For`, which the client
/// writes (API Gateway only appends to it). `None` off API Gateway (a local `axum::serve`).
/// For the per-network limits of the anonymous forms (join, sign-in).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<SourceIp>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                context.http.source_ip.as_deref().and_then(|ip| SourceIp::parse(ip).ok())
            }
            _ => None,
        };
        Ok(Self(ip))
    }
}
