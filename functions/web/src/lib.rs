//! vigie's web function: the residents' pages (sign-in by emailed link, the feed, raising an
//! alert, an alert's delivery report, my settings, one-click unsubscribe) and a small JSON
//! API, as one axum router.
//!
//! `main.rs` runs [`router`] on Lambda; tests and local tools serve the very same router with
//! [`serve`].
//!
//! - [`app`]: the state, the backend (store and mailer), the router that every area joins;
//! - [`frame`]: what every request goes through (base path, language, error pages, headers);
//! - [`pages`]: one module per area of the site, each with its `routes()`; [`api`]: `/api/`;
//! - [`session`]: the signed-in member and the anti-CSRF checks; [`guard`]: the extractors that
//!   check them before a handler changes anything; [`i18n`]: every string.

pub mod api;
pub mod app;
pub mod cookies;
pub mod error;
pub mod forms;
pub mod frame;
pub mod guard;
pub mod i18n;
pub mod local_time;
pub mod pages;
pub mod render;
pub mod session;

pub use app::{AppState, SIGNIN_EMAIL_PATIENCE, Site, WebMailer, router};

/// Serves the router on `listener` (tests and local tools; Lambda uses `main.rs`).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
