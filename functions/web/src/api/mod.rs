//! The JSON API under `/api/`, for the same signed-in member as the pages (session cookie).
//! Unsafe methods carry the session's anti-CSRF token in `X-CSRF-Token` (the pages give it in
//! `<meta name="csrf-token">`, and `GET /api/me` in `csrf`).
//!
//! Errors answer `{"error": "<code>"}` with the status (see [`crate::render::error_response`]);
//! signed out is 401. Every operation calls the same functions as its page: the rules live
//! once. [`API_ROUTES`] lists them, and `docs/openapi.yaml` describes them (checked by the
//! tests against this list and against real answers).

//!
//! One module per area, mirroring `pages/`: [`alerts`] (the SMS preview, the feed, raising),
//! [`me`] (my settings), [`members`] (the neighbours, the referent's care of them), [`town`]
//! (the town hall's communities and referents). Each
//! operation calls the same use case (`vigie::app`) as its page, and maps its problems to the
//! stable codes `docs/openapi.yaml` lists.

mod alerts;
mod me;
mod members;
mod town;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::WebError;

/// Every operation of the API, `(method, path)`: the router is built from this list.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/sms-preview"),
    ("GET", "/api/alerts"),
    ("POST", "/api/alerts"),
    ("GET", "/api/alerts/{id}"),
    ("POST", "/api/alerts/{id}/close"),
    ("POST", "/api/alerts/{id}/flag"),
    ("POST", "/api/alerts/{id}/withdraw"),
    ("GET", "/api/me"),
    ("PATCH", "/api/me"),
    ("POST", "/api/me/phone"),
    ("POST", "/api/me/phone/resend"),
    ("DELETE", "/api/me/phone/pending"),
    ("GET", "/api/me/data"),
    ("POST", "/api/me/erasure"),
    ("POST", "/api/me/erasure/confirm"),
    ("GET", "/api/members"),
    ("POST", "/api/members"),
    ("DELETE", "/api/members/{id}"),
    ("POST", "/api/members/{id}/invite"),
    ("POST", "/api/members/{id}/erasure"),
    ("GET", "/api/town"),
    ("POST", "/api/town/communities"),
    ("GET", "/api/town/communities/{id}"),
    ("PATCH", "/api/town/communities/{id}"),
    ("PUT", "/api/town/communities/{id}/referents/{member}"),
    ("DELETE", "/api/town/communities/{id}/referents/{member}"),
];

/// The handler of one operation of [`API_ROUTES`].
fn operation(method: &str, path: &str) -> MethodRouter<AppState> {
    match (method, path) {
        ("GET", "/api/sms-preview") => get(alerts::sms_preview),
        ("GET", "/api/alerts") => get(alerts::list),
        ("POST", "/api/alerts") => post(alerts::create),
        ("GET", "/api/alerts/{id}") => get(alerts::get_one),
        ("POST", "/api/alerts/{id}/close") => post(alerts::close),
        ("POST", "/api/alerts/{id}/flag") => post(alerts::flag),
        ("POST", "/api/alerts/{id}/withdraw") => post(alerts::withdraw),
        ("GET", "/api/me") => get(me::get_me),
        ("PATCH", "/api/me") => patch(me::patch_me),
        ("POST", "/api/me/phone") => post(me::confirm_phone),
        ("POST", "/api/me/phone/resend") => post(me::resend_code),
        ("DELETE", "/api/me/phone/pending") => delete(me::cancel_phone),
        ("GET", "/api/me/data") => get(me::my_data),
        ("POST", "/api/me/erasure") => post(me::request_erasure),
        ("POST", "/api/me/erasure/confirm") => post(me::confirm_erasure),
        ("GET", "/api/members") => get(members::list),
        ("POST", "/api/members") => post(members::create),
        ("DELETE", "/api/members/{id}") => delete(members::delete),
        ("POST", "/api/members/{id}/invite") => post(members::reinvite),
        ("POST", "/api/members/{id}/erasure") => post(members::erase),
        ("GET", "/api/town") => get(town::get_town),
        ("POST", "/api/town/communities") => post(town::create),
        ("GET", "/api/town/communities/{id}") => get(town::get_community),
        ("PATCH", "/api/town/communities/{id}") => patch(town::rename),
        ("PUT", "/api/town/communities/{id}/referents/{member}") => put(town::appoint),
        ("DELETE", "/api/town/communities/{id}/referents/{member}") => delete(town::dismiss),
        _ => panic!("no handler for {method} {path}"),
    }
}

pub fn routes() -> Router<AppState> {
    API_ROUTES
        .iter()
        .fold(Router::new(), |router, (method, path)| router.route(path, operation(method, path)))
}
/// An error of the API: the frame's (`not_found`, `signed_out`...) or a problem with the
/// request that its code names (`phone_taken`, `text_too_long`...).
#[derive(Debug)]
pub enum ApiError {
    Web(WebError),
    Problem(StatusCode, &'static str),
}

impl From<WebError> for ApiError {
    fn from(err: WebError) -> Self {
        ApiError::Web(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Web(err) => err.into_response(),
            ApiError::Problem(status, code) => (status, Json(ErrorJson { error: code })).into_response(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorJson {
    pub error: &'static str,
}
/// An optional field that may be absent but not `null` (the document says which may be).
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Tells an absent field (`None`) from `null` (`Some(None)`).
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Serialize)]
pub struct CommunityJson {
    pub id: String,
    pub name: String,
    pub town: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operation_has_a_handler() {
        // Builds the router from the list: a missing handler or a clash panics.
        let _ = routes();
    }
}
