//! Asking to join a community: choose the town, then the community, say who you are. The
//! community's referent approves or refuses on their page. Nothing here tells whether an
//! address or a number is already a member's.

use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use lambda_http::request::RequestContext;
use tracing::{info, warn};
use vigie::adapters::now_ms;
use vigie::app::members::check_new_member;
use vigie::domain::{Community, MemberId, SourceIp};
use vigie::model::{JoinRequest, TokenHash};
use vigie::ports::{Limits, Membership};

use crate::app::{AppState, Backend};
use crate::cookies::Cookies;
use crate::error::WebError;
use crate::forms::{FormData, Query};
use crate::guard::AnonymousForm;
use crate::pages::admin::{NewMember, Problems};
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::anonymous_csrf;

/// Requests one address or number may send a day.
pub const REQUESTS_PER_CONTACT: u32 = 3;
/// Requests one community may receive a day.
pub const REQUESTS_PER_COMMUNITY: u32 = 50;
const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new().route("/join", get(form::<B>).post(send::<B>))
}

#[derive(Clone, Debug)]
struct Choice {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    chrome: Chrome,
    csrf: String,
    towns: Vec<Choice>,
    /// The town chosen, once it is.
    town: Option<String>,
    communities: Vec<Choice>,
    values: NewMember,
    problems: Problems,
    community_problem: Option<&'static str>,
}

impl JoinPage {
    fn has_problems(&self) -> bool {
        !self.problems.is_empty() || self.community_problem.is_some()
    }
}

/// The town of the list that `raw` names (ignoring case and spaces).
async fn known_town<B: Backend>(state: &AppState<B>, raw: &str) -> Result<Option<String>, WebError> {
    let wanted = raw.trim().to_lowercase();
    if wanted.is_empty() {
        return Ok(None);
    }
    Ok(state.store().towns().await?.into_iter().find(|t| t.trim().to_lowercase() == wanted))
}

#[allow(clippy::too_many_arguments)]
async fn join_page<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    csrf: String,
    town: Option<String>,
    chosen: Option<&str>,
    values: NewMember,
    problems: Problems,
    community_problem: Option<&'static str>,
) -> Result<JoinPage, WebError> {
    let towns = state.store().towns().await?;
    // One town only: it is chosen already.
    let town = town.or_else(|| (towns.len() == 1).then(|| towns[0].clone()));
    let communities: Vec<Community> = match &town {
        Some(town) => state.store().communities_of_town(town).await?,
        None => Vec::new(),
    };
    let single = communities.len() == 1;
    Ok(JoinPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().join.title, Section::Other, None),
        csrf,
        towns: towns
            .iter()
            .map(|t| Choice { value: t.clone(), label: t.clone(), checked: town.as_deref() == Some(t) })
            .collect(),
        communities: communities
            .iter()
            .map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                checked: single || chosen == Some(c.id.as_str()),
            })
            .collect(),
        town,
        values,
        problems,
        community_problem,
    })
}

/// `GET /join`, then `GET /join?town=…`.
async fn form<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query,
) -> Result<Response, WebError> {
    let (csrf, cookie) = anonymous_csrf(&headers);
    let town = known_town(&state, query.text("town")).await?;
    let values = NewMember { sms_alerts: true, email_alerts: true, ..NewMember::default() };
    let page = join_page(&state, &ctx, csrf, town, None, values, Problems::default(), None).await?;
    Ok((Cookies::new(state.site(), cookie.as_slice()), render::ok(&page)?).into_response())
}

/// The address a request came from: `requestContext.http.sourceIp`, which API Gateway takes
/// from the connection itself. Never a header such as `X-Forwarded-For`, which the client
/// writes (API Gateway only appends to it). `None` off API Gateway (a local `axum::serve`).
fn source_ip(context: Option<&RequestContext>) -> Option<SourceIp> {
    match context? {
        RequestContext::ApiGatewayV2(context) => SourceIp::parse(context.http.source_ip.as_deref()?).ok(),
        _ => None,
    }
}

/// The rate-limit key of the join requests from `ip` (hashed: the limits never hold an
/// address). Requests whose address is unknown share one budget.
fn ip_limit_key(ip: Option<&SourceIp>) -> String {
    match ip {
        Some(ip) => format!("join-ip#{}", TokenHash::of(&ip.network()).as_str()),
        None => "join-ip#unknown".to_owned(),
    }
}

fn values_of(form: &FormData) -> NewMember {
    NewMember {
        first_name: form.text("first_name").chars().take(200).collect(),
        last_name: form.text("last_name").chars().take(200).collect(),
        email: form.text("email").chars().take(300).collect(),
        phone: form.text("phone").chars().take(64).collect(),
        sms_alerts: true,
        email_alerts: true,
        hide_phone: false,
    }
}

/// `POST /join`: stores the request for the referent; the answer is the same whoever asks.
async fn send<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    context: Option<Extension<RequestContext>>,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let csrf = form.csrf().unwrap_or_default().to_owned();
    let town = known_town(&state, form.text("town")).await?;
    let values = values_of(&form);
    let chosen = form.get("community").filter(|c| !c.is_empty());
    let community = match (&town, chosen) {
        (Some(town), Some(id)) => {
            state.store().communities_of_town(town).await?.into_iter().find(|c| c.id.as_str() == id)
        }
        _ => None,
    };
    let community_missing = community.is_none();
    let ids = community.iter().map(|c| c.id.clone()).collect();
    let (member, community) = match (check_new_member(&values, ids), community) {
        (Ok(member), Some(community)) => (member, community),
        (result, _) => {
            let problems = result.err().map(|invalid| Problems::of(&invalid, ctx.lang)).unwrap_or_default();
            let community_problem = community_missing.then_some(t.join.choose_community);
            let page =
                join_page(&state, &ctx, csrf, town, chosen, values, problems, community_problem).await?;
            return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // Limited per source address first, so that one address cannot spend the budgets of
    // others; then per contact (hashed: the limits never hold an address) and per community.
    let limits = state.store();
    let ip = source_ip(context.as_ref().map(|Extension(context)| context));
    let per_hour = state.config().join_requests_per_ip_per_hour;
    if !limits.within_limit(&ip_limit_key(ip.as_ref()), per_hour, HOUR).await? {
        let from = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.masked());
        warn!(community = %community.id, %from, per_hour, "join request refused: too many from this address");
        return limited(&state, &ctx, t.join.limited_ip_body);
    }
    let contact =
        member.email.as_ref().map(ToString::to_string).or(member.phone.as_ref().map(ToString::to_string));
    let contact_key = format!("join#{}", TokenHash::of(&contact.unwrap_or_default()).as_str());
    let community_key = format!("join-community#{}", community.id);
    if !limits.within_limit(&contact_key, REQUESTS_PER_CONTACT, DAY).await?
        || !limits.within_limit(&community_key, REQUESTS_PER_COMMUNITY, DAY).await?
    {
        warn!(community = %community.id, "join request refused: rate limit");
        return limited(&state, &ctx, t.join.limited_body);
    }
    let request = JoinRequest {
        request_id: MemberId::new(),
        community_id: community.id.clone(),
        first_name: member.first_name,
        last_name: member.last_name,
        email: member.email,
        phone: member.phone,
        created_at: now_ms(),
    };
    state.store().add_join_request(&request).await?;
    info!(community = %community.id, request = %request.request_id, "join request received");
    let page = MessagePage {
        chrome: Chrome::new(&state, &ctx, t.join.sent_title, Section::Other, None),
        heading: t.join.sent_title.to_owned(),
        body: t.join.sent_body.to_owned(),
        link_href: state.site().href("/signin"),
        link_label: t.common.back_home,
    };
    render::ok(&page)
}

/// The answer to a refused request: `body` says why.
fn limited<B: Backend>(state: &AppState<B>, ctx: &Ctx, body: &str) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let page = MessagePage {
        chrome: Chrome::new(state, ctx, t.join.limited_title, Section::Other, None),
        heading: t.join.limited_title.to_owned(),
        body: body.to_owned(),
        link_href: state.site().href("/signin"),
        link_label: t.common.back_home,
    };
    render::page(StatusCode::TOO_MANY_REQUESTS, &page)
}
