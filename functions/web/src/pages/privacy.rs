//! The privacy page: who answers for the members' data, what vigie keeps, for how long, and how
//! to exercise one's rights. Open to anyone, linked from every page and from the join form.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::app::AppState;
use crate::error::WebError;
use crate::render::{self, Chrome, Ctx, Section};
use crate::session::MaybeSigned;

pub fn routes() -> Router<AppState> {
    Router::new().route("/privacy", get(show))
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
    controller: String,
    retention: String,
    rights: String,
}

/// `GET /privacy`.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSigned(signed): MaybeSigned,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let config = state.config();
    let days = config.retention.as_secs() / 86_400;
    render::ok(&PrivacyPage {
        chrome: Chrome::new(&state, &ctx, lang.t().privacy.title, Section::Other, signed.as_ref()),
        controller: lang.privacy_controller(&config.data_controller),
        retention: lang.privacy_retention(days),
        rights: lang.privacy_rights(&config.data_controller),
    })
}
