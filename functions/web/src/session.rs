//! Who is asking: the session cookie, the signed-in member, and the anti-CSRF checks.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use vigie::app::signin::{self, Opened, SESSION_TTL};

use crate::app::{AppState, Site};
use crate::cookies::{self, SetCookie, is_token, random_token, same_secret};
use crate::error::WebError;

/// The cookie of a signed-in browser: a random secret, stored only as its hash.
pub const SESSION_COOKIE: &str = "vigie_session";
/// The double-submit cookie of the forms shown to anonymous visitors.
pub const CSRF_COOKIE: &str = "vigie_csrf";

/// A signed-in member, as every page behind sign-in gets them (freshly read from the store).
pub use vigie::app::signin::SignedIn as Signed;

/// Pages behind sign-in take `Signed`: without a valid session they answer "signed out"
/// (a redirect to the sign-in page, or 401 for the API).
impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        MaybeSigned::from_request_parts(parts, state).await?.0.ok_or(WebError::SignedOut)
    }
}

/// For pages anyone may see, that change when one is signed in.
#[derive(Clone)]
pub struct MaybeSigned(pub Option<Signed>);

/// The session is read once per request, however many extractors ask for it (a handler's
/// [`Signed`], and the guards of [`crate::guard`]): the first keeps it in the request.
impl FromRequestParts<AppState> for MaybeSigned {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<MaybeSigned>() {
            return Ok(known.clone());
        }
        let found = MaybeSigned(signed_in(&parts.headers, state).await?);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

/// The member behind the request's session cookie: `None` when there is none, or it is
/// forged, unknown or expired, or its member is gone.
pub async fn signed_in(headers: &HeaderMap, state: &AppState) -> Result<Option<Signed>, WebError> {
    match cookies::get_secret(headers, state.site(), SESSION_COOKIE) {
        Some(token) => Ok(signin::session(state.store(), token).await?),
        None => Ok(None),
    }
}

/// The session cookie of a session just opened.
pub fn session_cookie(opened: &Opened) -> SetCookie {
    SetCookie::secret(SESSION_COOKIE, opened.token.clone(), Some(SESSION_TTL.as_secs()))
}

/// The double-submit token of an anonymous form: the browser's `vigie_csrf` cookie, or a new
/// one to set.
pub fn anonymous_csrf(headers: &HeaderMap, site: &Site) -> (String, Option<SetCookie>) {
    match cookies::get_secret(headers, site, CSRF_COOKIE).filter(|t| is_token(t)) {
        Some(token) => (token.to_owned(), None),
        None => {
            let token = random_token();
            let cookie = SetCookie::secret(CSRF_COOKIE, token.clone(), None);
            (token, Some(cookie))
        }
    }
}

/// Checks an anonymous form's field against the `vigie_csrf` cookie.
pub fn check_anonymous_csrf(headers: &HeaderMap, site: &Site, field: Option<&str>) -> Result<(), WebError> {
    match (cookies::get_secret(headers, site, CSRF_COOKIE), field) {
        (Some(cookie), Some(field)) if is_token(cookie) && same_secret(cookie, field) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}
