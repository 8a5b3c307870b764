//! The referent's pages: the members of their community (add, remove) and the requests to
//! join it (approve, refuse). Only the referent of the community may use them.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use vigie::adapters::now_ms;
use vigie::app::budget;
use vigie::app::erasure;
use vigie::app::members::{self, Invalid, Invitation, Problem};
use vigie::app::neighbours::{PAGE_SIZE, visible_phone};
use vigie::domain::{Email, MemberId, Role};
use vigie::model::{Cursor, JoinRequest, MonthCounts};
use vigie::ports::{AlertStats, Membership, Roster};

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{FormData, Query, Segments, query_pair};
use crate::guard::{CsrfForm, Referent};
use crate::i18n::Lang;
use crate::local_time;
use crate::pages::members::role_badge;
use crate::render::{self, Chrome, Ctx, Section, delivery_notes, phone_display};

pub use vigie::app::members::NewMember;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(show))
        .route("/admin/members/new", get(new_form))
        .route("/admin/members", post(add))
        .route("/admin/members/{id}/remove", post(remove))
        .route("/admin/members/{id}/invite", post(reinvite))
        .route("/admin/members/{id}/erase", post(erase))
        .route("/admin/join/{id}/approve", post(approve))
        .route("/admin/join/{id}/refuse", post(refuse))
        .route("/admin/sms-budget", post(set_sms_budget))
}

/// The referent's form, as typed.
fn new_member_of(form: &FormData) -> NewMember {
    NewMember {
        first_name: form.text("first_name").chars().take(200).collect(),
        last_name: form.text("last_name").chars().take(200).collect(),
        email: form.text("email").chars().take(Email::MAX_LEN + 10).collect(),
        phone: form.text("phone").chars().take(64).collect(),
        sms_alerts: form.checked("sms_alerts"),
        email_alerts: form.checked("email_alerts"),
        hide_phone: form.checked("hide_phone"),
    }
}

/// The blank form: alerts on.
fn blank() -> NewMember {
    NewMember { sms_alerts: true, email_alerts: true, ..NewMember::default() }
}

/// What is wrong with a new member, field by field.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub first_name: Option<&'static str>,
    pub last_name: Option<&'static str>,
    pub email: Option<&'static str>,
    pub phone: Option<&'static str>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none() && self.last_name.is_none() && self.email.is_none() && self.phone.is_none()
    }

    /// What [`members::check_new_member`] found, said field by field in `lang`.
    pub fn of(invalid: &[Invalid], lang: Lang) -> Self {
        let t = lang.t();
        let mut problems = Self::default();
        for problem in invalid {
            match problem {
                Invalid::FirstName => problems.first_name = Some(t.member.invalid_first_name),
                Invalid::FirstNameNotAllowed => problems.first_name = Some(t.member.first_name_not_allowed),
                Invalid::LastName => problems.last_name = Some(t.member.invalid_last_name),
                Invalid::Email => problems.email = Some(t.common.invalid_email),
                Invalid::Phone => problems.phone = Some(t.member.invalid_phone),
                Invalid::PhoneCountry => problems.phone = Some(t.member.phone_country_not_allowed),
                Invalid::ContactRequired => problems.phone = Some(t.member.contact_required),
            }
        }
        problems
    }
}

/// A member as their referent sees them: the full name, and the number unless hidden.
#[derive(Clone, Debug)]
struct Row {
    id: String,
    name: String,
    badge: Option<&'static str>,
    phone: Option<String>,
    channels: String,
    /// What fails on their address or number, in sentences.
    problems: Vec<String>,
    removable: bool,
    /// A resident without an address: their referent erases their account when they ask in
    /// person (they have no page of their own to do it).
    erasable: bool,
    /// Invited, not yet answered: the invitation may be sent again.
    reinvitable: bool,
}

#[derive(Clone, Debug)]
struct RequestRow {
    id: String,
    name: String,
    contact: String,
    when: String,
    when_iso: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    csrf: String,
    community: String,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    members: Vec<Row>,
    requests: Vec<RequestRow>,
    more_href: Option<String>,
    first_href: Option<String>,
    /// The community's last months: (month, parts spent, parts left).
    sms_months: Vec<(String, u32, u32)>,
    /// The alerts counted per month, newest first.
    alert_months: Vec<(String, MonthCounts)>,
    /// The community's own monthly budget, as the field shows it (empty: the default).
    sms_budget: String,
    sms_budget_hint: String,
    /// Alerts members flagged, still in the feed: (excerpt, flags, link).
    flagged: Vec<(String, String, String)>,
}

/// Months of SMS spending the referent's page shows.
const SMS_MONTHS_SHOWN: i32 = 12;

async fn admin_page(
    state: &AppState,
    ctx: &Ctx,
    referent: &Referent,
    after: Option<&str>,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<AdminPage, WebError> {
    let (community, signed) = (referent.community(), referent.signed());
    let lang = ctx.lang;
    let t = lang.t();
    let cursor = after.filter(|a| !a.is_empty()).map(|a| Cursor(a.to_owned()));
    let page = state.store().members_page(&community.id, cursor, PAGE_SIZE).await?;
    let members = page
        .items
        .iter()
        .map(|r| {
            let mut channels = Vec::new();
            if r.sms_target().is_some() {
                channels.push(t.member.sms_alerts_label);
            } else if r.phone.is_some() && !r.phone_confirmed {
                channels.push(if r.sms_alerts { t.admin.sms_invited } else { t.admin.sms_refused });
            }
            // As chosen: a row that stands for a holder ([`vigie::domain::Member::stands_for`])
            // reads as any invitation, though nothing is delivered to it.
            if r.email.is_some() && r.email_alerts {
                channels.push(t.member.email_alerts_label);
            }
            let name = match &r.last_name {
                Some(last) => format!("{} {}", r.first_name, last),
                None => r.first_name.to_string(),
            };
            Row {
                id: r.member_id.to_string(),
                name,
                badge: role_badge(r.role, lang),
                // A hidden number stays hidden from the referent too.
                phone: visible_phone(r, None).map(phone_display),
                channels: if channels.is_empty() {
                    t.admin.receives_nothing.to_owned()
                } else {
                    channels.join(", ")
                },
                problems: delivery_notes(lang, &community.time_zone, r, false),
                removable: r.member_id != signed.member.id && r.role != Role::Police,
                erasable: r.member_id != signed.member.id && r.role == Role::Resident && r.email.is_none(),
                reinvitable: r.phone.is_some() && !r.phone_confirmed && r.sms_alerts,
            }
        })
        .collect();
    let requests = state
        .store()
        .join_requests(&community.id)
        .await?
        .iter()
        .map(|r: &JoinRequest| RequestRow {
            id: r.request_id.to_string(),
            name: format!("{} {}", r.first_name, r.last_name),
            contact: [r.email.as_ref().map(ToString::to_string), r.phone.as_ref().map(phone_display)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            when: local_time::format(lang, &community.time_zone, r.created_at),
            when_iso: local_time::iso_utc(r.created_at),
        })
        .collect();
    let budgets = state.config().sms_budgets;
    let months = budget::history(state.store(), community, &budgets, now_ms(), SMS_MONTHS_SHOWN).await?;
    let site = state.site();
    let next = page.next.filter(|_| !page.items.is_empty());
    let flagged = vigie::app::moderation::flagged(state.store(), community)
        .await?
        .into_iter()
        .map(|r| {
            let text: String = r.alert.text.as_str().chars().take(80).collect();
            let flags = lang.flags_line(&r.flags).unwrap_or_default();
            (
                format!("{} : {text}", lang.first_name_of(r.alert.sender_id, &r.alert.sender_first_name)),
                flags,
                site.href(&format!("/alerts/{}", r.alert.alert_id)),
            )
        })
        .collect();
    Ok(AdminPage {
        flagged,
        sms_months: months.iter().map(|m| (lang.month_label(&m.month), m.spent, m.left())).collect(),
        alert_months: state
            .store()
            .alert_months(&community.id, SMS_MONTHS_SHOWN)
            .await?
            .into_iter()
            .map(|m| (lang.month_label(&m.month), m))
            .collect(),
        sms_budget: community.sms_budget.map(|b| b.to_string()).unwrap_or_default(),
        sms_budget_hint: lang.sms_budget_hint(budgets.monthly_parts),
        chrome: Chrome::new(state, ctx, t.admin.title, Section::Admin, Some(signed)),
        csrf: signed.session.csrf.clone(),
        community: community.name.clone(),
        notice,
        error,
        members,
        requests,
        more_href: next.map(|n| site.href(&format!("/admin?{}", query_pair("after", &n.0)))),
        first_href: after.filter(|a| !a.is_empty()).map(|_| site.href("/admin")),
    })
}

/// `GET /admin`: `?done=` says what was just done.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    referent: Referent,
    Query(query): Query,
) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let notice = match query.get("done") {
        Some("added") => Some(t.admin.added),
        Some("invited") => Some(t.admin.invited),
        Some("invitation_not_sent") => Some(t.admin.invitation_not_sent),
        Some("removed") => Some(t.admin.removed),
        Some("erased") => Some(t.admin.erased),
        Some("erase_unconfirmed") => Some(t.admin.erase_unconfirmed),
        Some("approved") => Some(t.admin.approved),
        Some("refused") => Some(t.admin.refused),
        Some("sms_budget") => Some(t.admin.sms_budget_saved),
        _ => None,
    };
    render::ok(&admin_page(&state, &ctx, &referent, query.get("after"), notice, None).await?)
}

#[derive(Template)]
#[template(path = "member_new.html")]
struct NewMemberPage {
    chrome: Chrome,
    csrf: String,
    community: String,
    values: NewMember,
    problems: Problems,
}

fn new_member_page(
    state: &AppState,
    ctx: &Ctx,
    referent: &Referent,
    values: NewMember,
    problems: Problems,
) -> NewMemberPage {
    let signed = referent.signed();
    NewMemberPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().admin.add_title, Section::Admin, Some(signed)),
        csrf: signed.session.csrf.clone(),
        community: referent.community().name.clone(),
        values,
        problems,
    }
}

/// `GET /admin/members/new`: the form.
async fn new_form(State(state): State<AppState>, ctx: Ctx, referent: Referent) -> Result<Response, WebError> {
    render::ok(&new_member_page(&state, &ctx, &referent, blank(), Problems::default()))
}

/// `POST /admin/members`: adds the member; the form comes back as typed when something is wrong.
async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    referent: Referent,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let values = new_member_of(&form);
    let t = ctx.lang.t();
    let (status, problems) = match add_member(&state, &referent, &values).await {
        Ok(added) => return Ok(render::see_other(&state, done(&added.invitation))),
        Err(Problem::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Problems::of(&invalid, ctx.lang))
        }
        Err(Problem::TooManyInvitations) => (
            StatusCode::TOO_MANY_REQUESTS,
            Problems { phone: Some(t.admin.too_many_invitations), ..Problems::default() },
        ),
        Err(err) => return Err(err.into()),
    };
    render::page(status, &new_member_page(&state, &ctx, &referent, values, problems))
}

/// Adds `values` to the referent's community ([`members::add`]: a number gets its invitation),
/// for the page and the API alike.
pub async fn add_member(
    state: &AppState,
    referent: &Referent,
    values: &members::NewMember,
) -> Result<members::Added, Problem> {
    let (community, first_name) = (referent.community(), &referent.signed().member.first_name);
    members::add(
        state.store(),
        &state.messengers(),
        community,
        first_name,
        values,
        &state.config().sms_countries,
    )
    .await
}

/// Where the referent lands once a member is added: what became of the invitation.
fn done(invitation: &Invitation) -> &'static str {
    match invitation {
        Invitation::None => "/admin?done=added",
        Invitation::Sent => "/admin?done=invited",
        Invitation::NotSent(_) => "/admin?done=invitation_not_sent",
    }
}

/// Where the referent lands once a request is approved: the approval said, unless the
/// invitation could not go out.
fn approved(invitation: &Invitation) -> &'static str {
    match invitation {
        Invitation::NotSent(_) => "/admin?done=invitation_not_sent",
        Invitation::None | Invitation::Sent => "/admin?done=approved",
    }
}

/// A member's or a request's id in the path: a malformed one is "not found".
fn member_id(id: &str) -> Result<MemberId, WebError> {
    id.parse().map_err(|_| WebError::NotFound)
}

/// `POST /admin/members/{id}/remove`.
async fn remove(
    State(state): State<AppState>,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let id = member_id(&id)?;
    members::remove(state.store(), referent.community(), referent.signed().member.id, id).await?;
    Ok(render::see_other(&state, "/admin?done=removed"))
}

/// `POST /admin/members/{id}/erase`: the account of a member without an address erased, at
/// their request in person (`asked` ticked; [`erasure::erase_for`]).
async fn erase(
    State(state): State<AppState>,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let id = member_id(&id)?;
    if !form.checked("asked") {
        return Ok(render::see_other(&state, "/admin?done=erase_unconfirmed"));
    }
    erasure::erase_for(state.store(), &referent.signed().member, &referent.community().id, id).await?;
    Ok(render::see_other(&state, "/admin?done=erased"))
}

/// `POST /admin/members/{id}/invite`: the invitation texted again to an invited member.
async fn reinvite(
    State(state): State<AppState>,
    ctx: Ctx,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let id = member_id(&id)?;
    let first_name = &referent.signed().member.first_name;
    match members::reinvite(state.store(), &state.messengers(), referent.community(), first_name, id).await {
        Ok(invitation) => Ok(render::see_other(&state, done(&invitation))),
        Err(Problem::TooManyInvitations) => {
            let error = Some(ctx.lang.t().admin.reinvite_limited);
            let page = admin_page(&state, &ctx, &referent, None, None, error).await?;
            render::page(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /admin/join/{id}/approve`: the request becomes a member; if the number or address is
/// already a member's, the request is put back and the referent told.
async fn approve(
    State(state): State<AppState>,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let id = member_id(&id)?;
    let first_name = &referent.signed().member.first_name;
    match members::approve(state.store(), &state.messengers(), referent.community(), first_name, id).await {
        Ok(added) => Ok(render::see_other(&state, approved(&added.invitation))),
        Err(err) => Err(err.into()),
    }
}

/// `POST /admin/join/{id}/refuse`.
async fn refuse(
    State(state): State<AppState>,
    referent: Referent,
    Segments(id): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let id = member_id(&id)?;
    members::refuse(state.store(), referent.community(), id).await?;
    Ok(render::see_other(&state, "/admin?done=refused"))
}

/// `POST /admin/sms-budget`: the community's own monthly SMS budget (empty: the default).
async fn set_sms_budget(
    State(state): State<AppState>,
    ctx: Ctx,
    referent: Referent,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    match budget::parse_own_budget(form.text("sms_budget")) {
        Ok(parts) => {
            budget::set_own_budget(state.store(), referent.community(), parts).await?;
            Ok(render::see_other(&state, "/admin?done=sms_budget#sms"))
        }
        Err(budget::InvalidBudget) => {
            let error = Some(ctx.lang.t().admin.sms_budget_invalid);
            let page = admin_page(&state, &ctx, &referent, None, None, error).await?;
            render::page(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
