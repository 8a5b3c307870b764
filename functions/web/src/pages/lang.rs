//! The language switch: remembers the choice in a cookie and goes back to the page.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::cookies::{Cookies, SetCookie};
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::render::see_other;

const ONE_YEAR: u64 = 365 * 24 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new().route("/lang/{code}", get(switch))
}

async fn switch(
    State(state): State<AppState>,
    Segments(code): Segments<String>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&code).ok_or(WebError::NotFound)?;
    let next = local_path(query.text("next"));
    let cookie = SetCookie::new(LANG_COOKIE, lang.code(), Some(ONE_YEAR));
    Ok((Cookies::new(state.site(), &[cookie]), see_other(&state, next)).into_response())
}

/// `next` if it is a path of this site, else the home page (never an open redirect).
fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    if ok { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths() {
        assert_eq!(local_path("/alerts/new?x=1"), "/alerts/new?x=1");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path(""), "/");
        assert_eq!(local_path("/a\r\nb"), "/");
    }
}
