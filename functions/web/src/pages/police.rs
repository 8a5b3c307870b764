//! The police's page: the alerts of their town's communities that nobody said they reported
//! to 17 ("le réflexe, c'est le 17"; the known failure of alert groups is that everyone assumes
//! someone else called).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use vigie::adapters::now_ms;
use vigie::app::feed;

use crate::app::AppState;
use crate::error::WebError;
use crate::guard::Police;
use crate::pages::alerts::AlertView;
use crate::render::{self, Chrome, Ctx, Section};

pub fn routes() -> Router<AppState> {
    Router::new().route("/police", get(show))
}

#[derive(Template)]
#[template(path = "police.html")]
struct PoliceListPage {
    chrome: Chrome,
    show_community: bool,
    alerts: Vec<AlertView>,
}

/// `GET /police`: the last 48 hours' alerts of the officer's communities whose author did not
/// say the police were told ([`feed::unreported`]).
async fn show(State(state): State<AppState>, ctx: Ctx, Police(signed): Police) -> Result<Response, WebError> {
    let since = now_ms() - feed::UNREPORTED_SINCE.as_millis() as i64;
    let reports = feed::unreported(state.store(), &signed.communities, since).await?;
    let alerts = reports
        .iter()
        .map(|r| AlertView::new(&state, ctx.lang, &signed.time_zone(&r.alert.community_id), r))
        .collect();
    render::ok(&PoliceListPage {
        chrome: Chrome::new(&state, &ctx, ctx.lang.t().police.title, Section::Police, Some(&signed)),
        show_community: signed.communities.len() > 1,
        alerts,
    })
}
