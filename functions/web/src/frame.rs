//! What every request goes through, before and after its page: the base path is taken off,
//! the language chosen, error pages rendered in that language, security headers added.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::info;

use crate::app::{AppState, Site};
use crate::error::{ErrorPage, WebError};
use crate::i18n::Lang;
use crate::render;

/// The Content-Security-Policy of every response: only our own files, no inline script or
/// style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; \
                       frame-ancestors 'none'";

/// Where the request is, with the base path taken off: the page's own path and query, which
/// the language switch links back to.
#[derive(Clone, Debug)]
pub struct Here(pub String);

pub async fn frame(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    strip_base_path(&mut request, &state.site().base_path);
    let lang = Lang::of_request(request.headers());
    let api = request.uri().path().starts_with("/api/");
    let path = request.uri().path().to_owned();
    let here = if method == Method::GET {
        request.uri().path_and_query().map_or_else(|| path.clone(), |p| p.as_str().to_owned())
    } else {
        page_of_form(&path).to_owned()
    };
    request.extensions_mut().insert(lang);
    request.extensions_mut().insert(Here(here));

    let mut response = if changes_state(&method) && from_another_site(request.headers(), state.site()) {
        WebError::CrossOrigin.into_response()
    } else {
        next.run(request).await
    };

    if let Some(page) = response.extensions().get::<ErrorPage>().copied() {
        response = render::error_response(&state, lang, api, response.status(), page);
    } else if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = render::error_response(&state, lang, api, response.status(), ErrorPage::MethodNotAllowed);
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    secure(&mut response, state.site());
    info!(%method, path = %loggable_path(&path), status = response.status().as_u16(),
          ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// The page a form posted to `path` comes from: where the language switch of its answer leads.
fn page_of_form(path: &str) -> &str {
    match path {
        "/alerts" | "/alerts/confirm" => "/alerts/new",
        "/signout" => "/signin",
        "/admin/members" => "/admin/members/new",
        other if other.starts_with("/admin/") => "/admin",
        other => other,
    }
}

/// Takes the base path (`/lambda-url/web`) off the request's path when it carries it:
/// `cargo lambda watch` passes the path without it, a plain server with it.
fn strip_base_path(request: &mut Request, base: &str) {
    if base.is_empty() {
        return;
    }
    let Some(rest) = request.uri().path().strip_prefix(base) else { return };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return;
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    let rebuilt = match request.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    if let Ok(uri) = rebuilt.parse::<Uri>() {
        *request.uri_mut() = uri;
    }
}

/// Whether a request of this method may change something (the rest only read).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser says a page of another site sent the request: its `Origin` is not the
/// site's (`null` included), or `Sec-Fetch-Site` says `cross-site`. A request that says neither
/// (an older browser, a script) is judged by its anti-CSRF token alone, as before.
fn from_another_site(headers: &HeaderMap, site: &Site) -> bool {
    let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null"));
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    origin.is_some_and(|origin| !site.is_own_origin(origin))
        || fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site"))
}

/// How long a browser keeps to https for the site once it has seen it so: a year.
pub const HSTS: &str = "max-age=31536000";

/// The security headers every response carries; pages are never cached unless they say so.
/// Over https, browsers are told to keep to it (`includeSubDomains` is left to the domain's
/// owner: an `execute-api` host's siblings are other people's).
fn secure(response: &mut Response, site: &Site) {
    let headers = response.headers_mut();
    if site.https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A path fit for the logs: the secrets in sign-in and unsubscribe links are cut short.
pub fn loggable_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.len() >= 20 && segment.bytes().all(|b| b.is_ascii_alphanumeric()) && !is_ulid(segment)
            {
                format!("{}…", &segment[..4])
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_ulid(segment: &str) -> bool {
    segment.len() == 26 && segment.parse::<ulid::Ulid>().is_ok()
}

/// No route matched.
pub async fn not_found() -> WebError {
    WebError::NotFound
}

/// An empty response that the frame turns into the error page `page`.
pub fn error_marker(status: StatusCode, page: ErrorPage) -> Response {
    let mut response = (status, Body::empty()).into_response();
    response.extensions_mut().insert(page);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_logs_hide_tokens() {
        let token = "a".repeat(64);
        assert_eq!(loggable_path(&format!("/signin/{token}")), "/signin/aaaa…");
        let id = ulid::Ulid::new().to_string();
        assert_eq!(loggable_path(&format!("/unsubscribe/{id}/{token}")), format!("/unsubscribe/{id}/aaaa…"));
        assert_eq!(loggable_path("/alerts/new"), "/alerts/new");
        assert_eq!(page_of_form("/admin/members"), "/admin/members/new");
        assert_eq!(page_of_form(&format!("/admin/join/{id}/approve")), "/admin");
    }

    #[test]
    fn base_path_is_taken_off() {
        let strip = |uri: &str| {
            let mut request = Request::builder().uri(uri).body(Body::empty()).unwrap();
            strip_base_path(&mut request, "/lambda-url/web");
            request.uri().to_string()
        };
        assert_eq!(strip("/lambda-url/web"), "/");
        assert_eq!(strip("/lambda-url/web/"), "/");
        assert_eq!(strip("/lambda-url/web/signin?x=1"), "/signin?x=1");
        assert_eq!(strip("/signin"), "/signin");
        assert_eq!(strip("/lambda-url/website"), "/lambda-url/website");
    }
}
