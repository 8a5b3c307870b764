//! The town hall's pages (role `mairie`): the communities of its town with their counts, a
//! community created or renamed, and a community's members with its referents appointed and
//! removed. Only a town hall's account may use them, on the communities of its own town.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use vigie::app::town::{self, Person, Problem, Summary};
use vigie::domain::Role;

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::guard::{CsrfForm, TownHall};
use crate::i18n::{Lang, Texts};
use crate::pages::members::role_badge;
use crate::render::{self, Chrome, Ctx, Section, phone_display};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/town", get(show))
        .route("/town/communities", post(create))
        .route("/town/communities/{id}", get(show_community))
        .route("/town/communities/{id}/rename", post(rename))
        .route("/town/communities/{id}/referents/{member}", post(appoint))
        .route("/town/communities/{id}/referents/{member}/remove", post(dismiss))
}

/// A community's line in the town's table.
#[derive(Clone, Debug)]
struct CommunityRow {
    id: String,
    name: String,
    members: u32,
    confirmed: u32,
    invited: u32,
    without: u32,
    referents: String,
}

impl CommunityRow {
    fn of(summary: &Summary, t: &Texts) -> Self {
        let referents: Vec<String> = summary.referents.iter().map(full_name).collect();
        Self {
            id: summary.community.id.to_string(),
            name: summary.community.name.clone(),
            members: summary.members,
            confirmed: summary.confirmed_numbers,
            invited: summary.invited_numbers,
            without: summary.without_number,
            referents: if referents.is_empty() {
                t.town.no_referent.to_owned()
            } else {
                referents.join(", ")
            },
        }
    }
}

fn full_name(person: &Person) -> String {
    match &person.last_name {
        Some(last) => format!("{} {last}", person.first_name),
        None => person.first_name.to_string(),
    }
}

/// What went wrong with a form of the town's pages, said in `lang`.
fn problem_text(problem: &Problem, lang: Lang) -> Option<&'static str> {
    let t = lang.t();
    Some(match problem {
        Problem::InvalidName => t.town.invalid_name,
        Problem::NameTaken => t.town.name_taken,
        Problem::WrongRole(Role::Resident) => t.town.wrong_role_resident,
        Problem::WrongRole(_) => t.town.wrong_role_referent,
        _ => return None,
    })
}

/// The notice of `?done=`.
fn notice(done: Option<&str>, t: &Texts) -> Option<&'static str> {
    match done {
        Some("created") => Some(t.town.created),
        Some("renamed") => Some(t.town.renamed),
        Some("appointed") => Some(t.town.appointed),
        Some("dismissed") => Some(t.town.dismissed),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "town.html")]
struct TownPage {
    chrome: Chrome,
    csrf: String,
    town: String,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    communities: Vec<CommunityRow>,
    /// The name typed in the creation form (when it came back with a problem).
    name: String,
    /// Where the name's form goes (`town_name_form.html`).
    name_action: String,
}

async fn town_page(
    state: &AppState,
    ctx: &Ctx,
    hall: &TownHall,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    name: String,
) -> Result<TownPage, WebError> {
    let t = ctx.lang.t();
    let summaries = town::communities(state.store(), &hall.town).await?;
    Ok(TownPage {
        chrome: Chrome::new(state, ctx, t.town.title, Section::Town, Some(&hall.signed)),
        csrf: hall.signed.session.csrf.clone(),
        town: hall.town.clone(),
        notice,
        error,
        communities: summaries.iter().map(|s| CommunityRow::of(s, t)).collect(),
        name,
        name_action: state.site().href("/town/communities"),
    })
}

/// `GET /town`: the communities of the town; `?done=` says what was just done.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    Query(query): Query,
) -> Result<Response, WebError> {
    let notice = notice(query.get("done"), ctx.lang.t());
    render::ok(&town_page(&state, &ctx, &hall, notice, None, String::new()).await?)
}

/// `POST /town/communities`: a new community of the town; the form comes back with what is
/// wrong.
async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let name: String = form.text("name").chars().take(200).collect();
    match town::create(state.store(), &hall.town, &name).await {
        Ok(community) => {
            Ok(render::see_other(&state, &format!("/town/communities/{}?done=created", community.id)))
        }
        Err(problem) => match problem_text(&problem, ctx.lang) {
            Some(error) => render::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &town_page(&state, &ctx, &hall, None, Some(error), name).await?,
            ),
            None => Err(problem.into()),
        },
    }
}

/// A member of the community as the town hall's page lists them.
#[derive(Clone, Debug)]
struct PersonRow {
    id: String,
    name: String,
    badge: Option<&'static str>,
    /// The number, or "numéro caché" in its place (empty: no number).
    phone: String,
    /// What the member can be reached by, in words.
    reach: String,
    appointable: bool,
    dismissable: bool,
}

impl PersonRow {
    fn of(person: &Person, lang: Lang) -> Self {
        let t = lang.t();
        let mut reach = Vec::new();
        if person.number_confirmed {
            reach.push(t.town.number_confirmed);
        } else if person.number_invited {
            reach.push(t.town.number_invited);
        } else {
            reach.push(t.town.no_number);
        }
        if person.has_email {
            reach.push(t.town.has_email);
        }
        let phone = match (&person.phone, person.number_confirmed || person.number_invited) {
            (Some(phone), _) => phone_display(phone),
            (None, true) => t.town.hidden_number.to_owned(),
            (None, false) => String::new(),
        };
        Self {
            id: person.id.to_string(),
            name: full_name(person),
            badge: role_badge(person.role, lang),
            phone,
            reach: reach.join(", "),
            appointable: person.role == Role::Resident,
            dismissable: person.role == Role::Referent,
        }
    }
}

#[derive(Template)]
#[template(path = "town_community.html")]
struct CommunityPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    row: CommunityRow,
    people: Vec<PersonRow>,
    /// Where the name's form goes (`town_name_form.html`).
    name_action: String,
}

async fn community_page(
    state: &AppState,
    ctx: &Ctx,
    hall: &TownHall,
    id: &str,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<CommunityPage, WebError> {
    let t = ctx.lang.t();
    let (summary, people) = town::community(state.store(), &hall.town, id).await?;
    Ok(CommunityPage {
        chrome: Chrome::new(state, ctx, summary.community.name.clone(), Section::Town, Some(&hall.signed)),
        csrf: hall.signed.session.csrf.clone(),
        id: summary.community.id.to_string(),
        name: summary.community.name.clone(),
        notice,
        error,
        row: CommunityRow::of(&summary, t),
        people: people.iter().map(|p| PersonRow::of(p, ctx.lang)).collect(),
        name_action: state.site().href(&format!("/town/communities/{}/rename", summary.community.id)),
    })
}

/// `GET /town/communities/{id}`: a community of the town, its members and referents.
async fn show_community(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    Segments(id): Segments<String>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let notice = notice(query.get("done"), ctx.lang.t());
    render::ok(&community_page(&state, &ctx, &hall, &id, notice, None).await?)
}

/// The answer to a form of a community's page: back to it with `done`, or the page again with
/// what is wrong.
async fn after_form<T>(
    state: &AppState,
    ctx: &Ctx,
    hall: &TownHall,
    id: &str,
    done: &str,
    outcome: Result<T, Problem>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(_) => Ok(render::see_other(state, &format!("/town/communities/{id}?done={done}"))),
        Err(problem) => match problem_text(&problem, ctx.lang) {
            Some(error) => render::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &community_page(state, ctx, hall, id, None, Some(error)).await?,
            ),
            None => Err(problem.into()),
        },
    }
}

/// `POST /town/communities/{id}/rename`.
async fn rename(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    Segments(id): Segments<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let name: String = form.text("name").chars().take(200).collect();
    let outcome = town::rename(state.store(), &hall.town, &id, &name).await;
    after_form(&state, &ctx, &hall, &id, "renamed", outcome).await
}

/// `POST /town/communities/{id}/referents/{member}`: a resident becomes a referent.
async fn appoint(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    Segments(ids): Segments<(String, String)>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    set_referent(&state, &ctx, &hall, ids, true).await
}

/// `POST /town/communities/{id}/referents/{member}/remove`: a referent becomes a resident again.
async fn dismiss(
    State(state): State<AppState>,
    ctx: Ctx,
    hall: TownHall,
    Segments(ids): Segments<(String, String)>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    set_referent(&state, &ctx, &hall, ids, false).await
}

async fn set_referent(
    state: &AppState,
    ctx: &Ctx,
    hall: &TownHall,
    (id, member): (String, String),
    appoint: bool,
) -> Result<Response, WebError> {
    let outcome = town::set_referent(state.store(), &hall.town, &id, &member, appoint).await;
    let done = if appoint { "appointed" } else { "dismissed" };
    after_form(state, ctx, hall, &id, done, outcome).await
}
