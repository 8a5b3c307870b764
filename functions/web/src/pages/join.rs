//! Asking to join a community: choose the town, then the community, say who you are. The
//! community's referent approves or refuses on their page. Nothing here tells whether an
//! address or a number is already a member's.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vigie::app::join::{self, Problem};
use vigie::domain::Community;
use vigie::ports::Membership;

use crate::app::AppState;
use crate::cookies::Cookies;
use crate::error::WebError;
use crate::forms::{FormData, Query};
use crate::guard::{AnonymousForm, ClientAddress};
use crate::pages::admin::{NewMember, Problems};
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::anonymous_csrf;

pub fn routes() -> Router<AppState> {
    Router::new().route("/join", get(form).post(send))
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

#[allow(clippy::too_many_arguments)]
async fn join_page(
    state: &AppState,
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
async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query,
) -> Result<Response, WebError> {
    let (csrf, cookie) = anonymous_csrf(&headers, state.site());
    let town = join::town(state.store(), query.text("town")).await?;
    let values = NewMember { sms_alerts: true, email_alerts: true, ..NewMember::default() };
    let page = join_page(&state, &ctx, csrf, town, None, values, Problems::default(), None).await?;
    Ok((Cookies::new(state.site(), cookie.as_slice()), render::ok(&page)?).into_response())
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
async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientAddress(from): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let csrf = form.csrf().unwrap_or_default().to_owned();
    let town = join::town(state.store(), form.text("town")).await?;
    let values = values_of(&form);
    let chosen = form.get("community").filter(|c| !c.is_empty());
    let ask = join::Ask {
        town: town.as_deref(),
        community: chosen,
        member: &values,
        from: from.as_ref(),
        per_ip_per_hour: state.config().join_requests_per_ip_per_hour,
        countries: &state.config().sms_countries,
    };
    match join::ask(state.store(), ask).await {
        Ok(_) => {}
        Err(Problem::Invalid { member, no_community }) => {
            let problems = Problems::of(&member, ctx.lang);
            let community_problem = no_community.then_some(t.join.choose_community);
            let page =
                join_page(&state, &ctx, csrf, town, chosen, values, problems, community_problem).await?;
            return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(Problem::FromAddressLimited) => {
            return render::too_many(&state, &ctx, t.common.limited_network_body);
        }
        Err(Problem::Limited) => return render::too_many(&state, &ctx, t.join.limited_body),
        Err(Problem::Store(err)) => return Err(err.into()),
    }
    let page = MessagePage {
        chrome: Chrome::new(&state, &ctx, t.join.sent_title, Section::Other, None),
        heading: t.join.sent_title.to_owned(),
        body: t.join.sent_body.to_owned(),
        link_href: state.site().href("/signin"),
        link_label: t.common.back_home,
    };
    render::ok(&page)
}
