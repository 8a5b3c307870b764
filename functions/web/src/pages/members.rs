//! The neighbours: the members of my community, a page at a time. A number appears only where
//! its owner did not hide it; addresses never do. Police choose one of their communities.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use vigie::domain::{Community, DeliveryProblem, PhoneNumber, ProblemKind, Role};
use vigie::model::{Cursor, Recipient};
use vigie::ports::Roster;

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::{Query, query_pair};
use crate::i18n::Lang;
use crate::local_time;
use crate::render::{self, Chrome, Ctx, Section, phone_display};
use crate::session::Signed;

/// Members per page.
pub const PAGE_SIZE: i32 = 50;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new().route("/members", get(page::<B>))
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
    pub fn of(recipient: &Recipient, viewer: &Signed, lang: Lang) -> Self {
        let you = recipient.member_id == viewer.member.id;
        // Built without the number at all when it is hidden: it cannot leak from here.
        let phone: Option<&PhoneNumber> = recipient.phone.as_ref().filter(|_| you || !recipient.hide_phone);
        // The referent looks after their community's members: they are told what fails.
        let told = you || viewer.is_referent();
        let problem = |p: &Option<DeliveryProblem>| p.as_ref().filter(|_| told).map(DeliveryProblemJson::of);
        Self {
            id: recipient.member_id.to_string(),
            first_name: recipient.first_name.to_string(),
            last_initial: recipient.last_name.as_ref().and_then(|l| initial(l.as_str())),
            role: recipient.role.as_str(),
            phone: phone.map(ToString::to_string),
            you,
            email_problem: problem(&recipient.email_problem),
            sms_problem: problem(&recipient.sms_problem),
            phone_display: phone.map(phone_display),
            badge: role_badge(recipient.role, lang),
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

/// `Lefèvre` → `L.`
pub fn initial(last_name: &str) -> Option<String> {
    last_name.chars().find(|c| c.is_alphabetic()).map(|c| format!("{}.", c.to_uppercase()))
}

/// The badge of a role worth a badge.
pub fn role_badge(role: Role, lang: Lang) -> Option<&'static str> {
    let t = lang.t();
    match role {
        Role::Resident => None,
        Role::Referent => Some(t.role_referent),
        Role::Police => Some(t.role_police),
    }
}

/// The community of the signed-in member that `id` names, or their first one.
pub fn chosen_community<'a>(signed: &'a Signed, id: Option<&str>) -> Result<&'a Community, WebError> {
    match id.filter(|c| !c.is_empty()) {
        Some(id) => signed.community(id).ok_or(WebError::NotFound),
        None => signed.communities.first().ok_or(WebError::NotFound),
    }
}

/// One page of a community's neighbours, as `viewer` may see them.
pub struct Neighbours {
    pub community: Community,
    pub neighbours: Vec<Neighbour>,
    pub next: Option<Cursor>,
}

/// The page and the API read the neighbours here (and only here).
pub async fn neighbours<B: Backend>(
    state: &AppState<B>,
    signed: &Signed,
    lang: Lang,
    community: Option<&str>,
    after: Option<&str>,
) -> Result<Neighbours, WebError> {
    let community = chosen_community(signed, community)?.clone();
    let after = after.filter(|a| !a.is_empty()).map(|a| Cursor(a.to_owned()));
    let page = state.store().members_page(&community.id, after, PAGE_SIZE).await?;
    let neighbours = page.items.iter().map(|r| Neighbour::of(r, signed, lang)).collect();
    let next = page.next.filter(|_| !page.items.is_empty());
    Ok(Neighbours { community, neighbours, next })
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
async fn page<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let site = state.site();
    let t = ctx.lang.t();
    let chosen = query.get("c").filter(|c| !c.is_empty());
    let after = query.get("after");
    let found = neighbours(&state, &signed, ctx.lang, chosen, after).await?;
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
        chrome: Chrome::new(&state, &ctx, t.neighbours_title, Section::Neighbours, Some(&signed)),
        community: found.community.name.clone(),
        filters,
        more_href: found.next.as_ref().map(|n| with(chosen, Some(&n.0))),
        first_href: after.filter(|a| !a.is_empty()).map(|_| with(chosen, None)),
        neighbours: found.neighbours,
    };
    render::ok(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials() {
        assert_eq!(initial("Lefèvre").as_deref(), Some("L."));
        assert_eq!(initial("élan").as_deref(), Some("É."));
        assert_eq!(initial("  d'Arc").as_deref(), Some("D."));
        assert_eq!(initial("--"), None);
    }
}
