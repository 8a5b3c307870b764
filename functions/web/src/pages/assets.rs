//! The health check and the static files (served by the function itself: one small stylesheet,
//! one small script for progressive enhancements, an icon).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");
const ICON_SVG: &str = include_str!("../../static/icon.svg");

/// Static files may be cached a while; pages never are.
const STATIC_CACHE: &str = "public, max-age=3600";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/static/app.css", get(|| file("text/css; charset=utf-8", APP_CSS)))
        .route("/static/app.js", get(|| file("text/javascript; charset=utf-8", APP_JS)))
        .route("/static/icon.svg", get(|| file("image/svg+xml", ICON_SVG)))
}

async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, STATIC_CACHE)], body)
}
