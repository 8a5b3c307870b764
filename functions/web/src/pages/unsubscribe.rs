//! One-click unsubscribe (RFC 8058): the link in every alert email's `List-Unsubscribe`
//! header. No cookie and no anti-CSRF token: the member's own secret token in the link is the
//! authentication, and a wrong one is just "not found".

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use tracing::info;
use vigie::domain::{Member, MemberId};
use vigie::ports::{MemberLookup, Membership};

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::Segments;
use crate::render::{self, Chrome, Ctx, MessagePage, Section};

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{member}/{token}", get(confirm_page).post(unsubscribe))
}

/// The member the link is for, if its token is theirs.
async fn member_of_link(state: &AppState, member: &str, token: &str) -> Result<Member, WebError> {
    let id: MemberId = member.parse().map_err(|_| WebError::NotFound)?;
    let member = state.store().member(id).await?.ok_or(WebError::NotFound)?;
    if member.unsubscribe_token.matches(token) { Ok(member) } else { Err(WebError::NotFound) }
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct ConfirmPage {
    chrome: Chrome,
    action: String,
}

/// `GET`: a page with the button (fetching the link changes nothing).
async fn confirm_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Segments((member, token)): Segments<(String, String)>,
) -> Result<Response, WebError> {
    member_of_link(&state, &member, &token).await?;
    let page = ConfirmPage {
        chrome: Chrome::new(&state, &ctx, ctx.lang.t().unsubscribe.title, Section::Other, None),
        action: state.site().href(&format!("/unsubscribe/{member}/{token}")),
    };
    render::ok(&page)
}

/// `POST` (body `List-Unsubscribe=One-Click`, from a mail client or the button): email alerts off.
async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Segments((member, token)): Segments<(String, String)>,
) -> Result<Response, WebError> {
    let previous = member_of_link(&state, &member, &token).await?;
    if previous.email_alerts {
        let updated = Member { email_alerts: false, ..previous.clone() };
        state.store().update_member(&previous, &updated).await?;
        info!(member = %previous.id, "email alerts turned off by the unsubscribe link");
    }
    let t = ctx.lang.t();
    let page = MessagePage {
        chrome: Chrome::new(&state, &ctx, t.unsubscribe.done_title, Section::Other, None),
        heading: t.unsubscribe.done_title.to_owned(),
        body: t.unsubscribe.done_body.to_owned(),
        link_href: state.site().href("/settings"),
        link_label: t.frame.nav_settings,
    };
    render::ok(&page)
}
