//! The feed: the alerts of the member's community, newest first, a page at a time. Police
//! see every community of theirs, together or one at a time.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use vigie::app::feed;
use vigie::model::Cursor;

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{Query, query_pair};
use crate::pages::alerts::AlertView;
use crate::render::{self, Chrome, Ctx, Section};
use crate::session::Signed;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(show))
}

/// A link of the community filter (police).
#[derive(Clone, Debug)]
struct Filter {
    href: String,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "feed.html")]
struct FeedPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    filters: Vec<Filter>,
    show_community: bool,
    alerts: Vec<AlertView>,
    older_href: Option<String>,
    newest_href: Option<String>,
    raise_href: String,
}

/// `GET /`: `?c=<community>` narrows a police officer's feed to one community, `?after=` is
/// the cursor of the next page.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    if let Some(desk) = render::desk_of_town_hall(&state, &signed) {
        return Ok(desk);
    }
    let site = state.site();
    let lang = ctx.lang;
    let t = lang.t();
    let filter = query.get("c").filter(|c| !c.is_empty());
    let after = query.get("after").filter(|a| !a.is_empty()).map(|a| Cursor(a.to_owned()));
    let (reports, next) =
        feed::page(state.store(), &signed.member, &signed.communities, filter, after.clone()).await?;
    let filter_query = |c: Option<&str>| c.map(|c| query_pair("c", c)).unwrap_or_default();
    let with_query = |parts: &[String]| {
        let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() { site.href("/") } else { site.href(&format!("/?{}", parts.join("&"))) }
    };
    // An empty page after a cursor needs no "older" link.
    let older_href = next
        .filter(|_| !reports.is_empty())
        .map(|cursor| with_query(&[filter_query(filter), query_pair("after", &cursor.0)]));
    let newest_href = after.map(|_| with_query(&[filter_query(filter)]));
    let filters = if signed.communities.len() > 1 {
        let mut filters = vec![Filter {
            href: site.href("/"),
            label: t.feed.all_communities.to_owned(),
            current: filter.is_none(),
        }];
        filters.extend(signed.communities.iter().map(|c| Filter {
            href: with_query(&[filter_query(Some(c.id.as_str()))]),
            label: c.name.clone(),
            current: filter == Some(c.id.as_str()),
        }));
        filters
    } else {
        Vec::new()
    };
    let page = FeedPage {
        chrome: Chrome::new(&state, &ctx, t.feed.title, Section::Feed, Some(&signed)),
        notice: (query.get("notice") == Some("duplicate")).then_some(t.alerts.detail_already_recorded),
        filters,
        show_community: signed.communities.len() > 1,
        alerts: reports
            .iter()
            .map(|r| AlertView::new(&state, lang, &signed.time_zone(&r.alert.community_id), r))
            .collect(),
        older_href,
        newest_href,
        raise_href: site.href("/alerts/new"),
    };
    render::ok(&page)
}
