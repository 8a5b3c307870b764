//! The neighbours: the members of my community, a page at a time. A number appears only where
//! its owner did not hide it; addresses never do. Police choose one of their communities.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use vigie::app::neighbours;
use vigie::domain::{DeliveryProblem, ProblemKind, Role};
use vigie::model::Cursor;

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{Query, query_pair};
use crate::i18n::Lang;
use crate::local_time;
use crate::render::{self, Chrome, Ctx, Section, phone_display};
use crate::session::Signed;

pub fn routes() -> Router<AppState> {
    Router::new().route("/members", get(page))
}

/// A delivery problem on a member's address or number.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryProblemJson {
    /// `hard_bounce`, `complaint` or `sms_undeliverable`.
    pub kind: &'static str,
    /// The provider's words, masked.
    pub detail: String,
    /// RFC 3339, UTC: when it last happened.
    pub at: String,
    /// Messages that failed so.
    pub failures: u32,
    /// vigie turned this channel's alerts off because of it.
    pub alerts_stopped: bool,
}

impl DeliveryProblemJson {
    pub fn of(problem: &DeliveryProblem) -> Self {
        Self {
            kind: match problem.kind {
                ProblemKind::HardBounce => "hard_bounce",
                ProblemKind::Complaint => "complaint",
                ProblemKind::SmsUndeliverable => "sms_undeliverable",
            },
            detail: problem.detail.clone(),
            at: local_time::iso_utc(problem.at),
            failures: problem.failures,
            alerts_stopped: problem.stopped,
        }
    }
}

/// A neighbour as another member may see them: the number only if its owner did not hide it
/// (or it is their own), never the address.
#[derive(Clone, Debug, Serialize)]
pub struct Neighbour {
    pub id: String,
    pub first_name: String,
    /// The initial of the last name (`L.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_initial: Option<String>,
    /// `resident`, `referent` or `police`.
    pub role: &'static str,
    /// E.164; absent when hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// This is the member asking.
    pub you: bool,
    /// A delivery problem on their address, for their referent (and themselves) only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_problem: Option<DeliveryProblemJson>,
    /// A delivery problem on their number, for their referent (and themselves) only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_problem: Option<DeliveryProblemJson>,
    #[serde(skip)]
    pub phone_display: Option<String>,
    #[serde(skip)]
    pub badge: Option<&'static str>,
}

impl Neighbour {
    /// A neighbour as [`neighbours`] lets the viewer see them, for the page and the API.
    pub fn of(seen: &neighbours::Neighbour, lang: Lang) -> Self {
        Self {
            id: seen.id.to_string(),
            first_name: seen.first_name.to_string(),
            last_initial: seen.last_initial.clone(),
            role: seen.role.as_str(),
            phone: seen.phone.as_ref().map(ToString::to_string),
            you: seen.you,
            email_problem: seen.email_problem.as_ref().map(DeliveryProblemJson::of),
            sms_problem: seen.sms_problem.as_ref().map(DeliveryProblemJson::of),
            phone_display: seen.phone.as_ref().map(phone_display),
            badge: role_badge(seen.role, lang),
        }
    }

    /// `Marie L.`
    pub fn name(&self) -> String {
        match &self.last_initial {
            Some(initial) => format!("{} {initial}", self.first_name),
            None => self.first_name.clone(),
        }
    }
}

/// The badge of a role worth a badge.
pub fn role_badge(role: Role, lang: Lang) -> Option<&'static str> {
    let t = lang.t();
    match role {
        Role::Resident => None,
        Role::Referent => Some(t.neighbours.role_referent),
        Role::Police => Some(t.neighbours.role_police),
        Role::Mairie => Some(t.frame.nav_town),
    }
}

/// One page of a community's neighbours, as `signed` may see them: the page and the API read
/// them here.
pub struct Neighbours {
    pub community: vigie::domain::Community,
    pub neighbours: Vec<Neighbour>,
    pub next: Option<Cursor>,
}

pub async fn read_neighbours(
    state: &AppState,
    signed: &Signed,
    lang: Lang,
    community: Option<&str>,
    after: Option<&str>,
) -> Result<Neighbours, WebError> {
    let after = after.map(|a| Cursor(a.to_owned()));
    let found =
        neighbours::page(state.store(), &signed.member, &signed.communities, community, after).await?;
    Ok(Neighbours {
        community: found.community,
        neighbours: found.neighbours.iter().map(|n| Neighbour::of(n, lang)).collect(),
        next: found.next,
    })
}

/// A link of the community filter (police).
#[derive(Clone, Debug)]
struct Filter {
    href: String,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    chrome: Chrome,
    community: String,
    filters: Vec<Filter>,
    neighbours: Vec<Neighbour>,
    more_href: Option<String>,
    first_href: Option<String>,
}

/// `GET /members`: `?c=<community>` (police), `?after=` the cursor of the next page.
async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    if let Some(desk) = render::desk_of_town_hall(&state, &signed) {
        return Ok(desk);
    }
    let site = state.site();
    let t = ctx.lang.t();
    let chosen = query.get("c").filter(|c| !c.is_empty());
    let after = query.get("after");
    let found = read_neighbours(&state, &signed, ctx.lang, chosen, after).await?;
    let with = |c: Option<&str>, after: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(c) = c {
            parts.push(query_pair("c", c));
        }
        if let Some(a) = after {
            parts.push(query_pair("after", a));
        }
        if parts.is_empty() {
            site.href("/members")
        } else {
            site.href(&format!("/members?{}", parts.join("&")))
        }
    };
    let filters = if signed.communities.len() > 1 {
        signed
            .communities
            .iter()
            .map(|c| Filter {
                href: with(Some(c.id.as_str()), None),
                label: c.name.clone(),
                current: c.id == found.community.id,
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = MembersPage {
        chrome: Chrome::new(&state, &ctx, t.neighbours.title, Section::Neighbours, Some(&signed)),
        community: found.community.name.clone(),
        filters,
        more_href: found.next.as_ref().map(|n| with(chosen, Some(&n.0))),
        first_href: after.filter(|a| !a.is_empty()).map(|_| with(chosen, None)),
        neighbours: found.neighbours,
    };
    render::ok(&page)
}
