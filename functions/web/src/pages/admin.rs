//! The referent's pages: the members of their community (add, remove) and the requests to
//! join it (approve, refuse). Only the referent of the community may use them.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tracing::{info, instrument};
use vigie::domain::{
    Community, CommunityId, Email, FirstName, LastName, Member, MemberId, PhoneNumber, Role, UnsubscribeToken,
};
use vigie::model::{Cursor, JoinRequest};
use vigie::ports::{MemberLookup, Membership, RegisterError, Registry, Roster};

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::{Form, FormData, Query, Segments, query_pair};
use crate::i18n::Lang;
use crate::local_time;
use crate::pages::members::{PAGE_SIZE, role_badge};
use crate::render::{self, Chrome, Ctx, Section, delivery_notes, phone_display};
use crate::session::Signed;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new()
        .route("/admin", get(show::<B>))
        .route("/admin/members/new", get(new_form::<B>))
        .route("/admin/members", post(add::<B>))
        .route("/admin/members/{id}/remove", post(remove::<B>))
        .route("/admin/join/{id}/approve", post(approve::<B>))
        .route("/admin/join/{id}/refuse", post(refuse::<B>))
}

/// The community a referent manages; anyone else is refused.
pub fn managed(signed: &Signed) -> Result<&Community, WebError> {
    if !signed.is_referent() {
        return Err(WebError::Forbidden);
    }
    signed.communities.first().ok_or(WebError::Forbidden)
}

/// A new member as typed in the form (or sent to the API).
#[derive(Clone, Debug, Default)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    pub hide_phone: bool,
}

impl NewMember {
    fn blank() -> Self {
        Self { sms_alerts: true, email_alerts: true, ..Self::default() }
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            first_name: form.text("first_name").chars().take(200).collect(),
            last_name: form.text("last_name").chars().take(200).collect(),
            email: form.text("email").chars().take(Email::MAX_LEN + 10).collect(),
            phone: form.text("phone").chars().take(64).collect(),
            sms_alerts: form.checked("sms_alerts"),
            email_alerts: form.checked("email_alerts"),
            hide_phone: form.checked("hide_phone"),
        }
    }
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
}

/// Why a member was not added.
#[derive(Debug)]
pub enum AddError {
    /// The form is incomplete or wrong: `code` says how, for the API.
    Invalid {
        problems: Problems,
        code: &'static str,
    },
    /// The number or the address already belongs to a member.
    Taken {
        problems: Problems,
        code: &'static str,
    },
    Web(WebError),
}

impl From<WebError> for AddError {
    fn from(err: WebError) -> Self {
        AddError::Web(err)
    }
}

/// Checks a new member of `communities` (a resident): names, and a number or an address.
pub fn check_new_member(
    values: &NewMember,
    communities: Vec<CommunityId>,
    lang: Lang,
) -> Result<Member, AddError> {
    let t = lang.t();
    let mut problems = Problems::default();
    let mut code = None;
    let mut fail = |slot: &mut Option<&'static str>, message: &'static str, c: &'static str| {
        *slot = Some(message);
        code.get_or_insert(c);
    };
    let first_name = FirstName::parse(&values.first_name).ok();
    if first_name.is_none() {
        fail(&mut problems.first_name, t.invalid_first_name, "invalid_first_name");
    }
    let last_name = LastName::parse(&values.last_name).ok();
    if last_name.is_none() {
        fail(&mut problems.last_name, t.invalid_last_name, "invalid_last_name");
    }
    let email = match values.email.trim() {
        "" => Some(None),
        raw => Email::parse(raw).ok().map(Some),
    };
    if email.is_none() {
        fail(&mut problems.email, t.invalid_email, "invalid_email");
    }
    let phone = match values.phone.trim() {
        "" => Some(None),
        raw => PhoneNumber::parse(raw).ok().map(Some),
    };
    if phone.is_none() {
        fail(&mut problems.phone, t.invalid_phone, "invalid_phone");
    }
    if let (Some(None), Some(None)) = (&email, &phone) {
        fail(&mut problems.phone, t.contact_required, "contact_required");
    }
    match (first_name, last_name, email, phone) {
        (Some(first_name), Some(last_name), Some(email), Some(phone)) if problems.is_empty() => Ok(Member {
            id: MemberId::new(),
            communities,
            first_name,
            last_name,
            email,
            phone,
            hide_phone: values.hide_phone,
            sms_alerts: values.sms_alerts,
            email_alerts: values.email_alerts,
            role: Role::Resident,
            unsubscribe_token: UnsubscribeToken::generate(),
            email_problem: None,
            sms_problem: None,
        }),
        _ => Err(AddError::Invalid { problems, code: code.unwrap_or("invalid") }),
    }
}

/// Registers a member; a taken number or address is said field by field.
pub async fn register<B: Backend>(state: &AppState<B>, member: &Member, lang: Lang) -> Result<(), AddError> {
    let t = lang.t();
    match state.store().register(member).await {
        Ok(()) => Ok(()),
        Err(RegisterError::PhoneTaken) => Err(AddError::Taken {
            problems: Problems { phone: Some(t.phone_taken), ..Problems::default() },
            code: "phone_taken",
        }),
        Err(RegisterError::EmailTaken) => Err(AddError::Taken {
            problems: Problems { email: Some(t.email_taken), ..Problems::default() },
            code: "email_taken",
        }),
        Err(err) => Err(AddError::Web(err.into())),
    }
}

/// The page and the API add a member here.
#[instrument(skip_all, fields(referent = %signed.member.id))]
pub async fn add_member<B: Backend>(
    state: &AppState<B>,
    signed: &Signed,
    values: &NewMember,
    lang: Lang,
) -> Result<Member, AddError> {
    let community = managed(signed)?;
    let member = check_new_member(values, vec![community.id.clone()], lang)?;
    register(state, &member, lang).await?;
    info!(member = %member.id, community = %community.id, "member added by the referent");
    Ok(member)
}

/// The page and the API remove a member here: one of the referent's community, not
/// themselves, not the police (who belong to several communities).
#[instrument(skip_all, fields(referent = %signed.member.id))]
pub async fn remove_member<B: Backend>(
    state: &AppState<B>,
    signed: &Signed,
    id: &str,
) -> Result<(), WebError> {
    let community = managed(signed)?;
    let id: MemberId = id.parse().map_err(|_| WebError::NotFound)?;
    let member = state.store().member(id).await?.ok_or(WebError::NotFound)?;
    if !member.belongs_to(&community.id) {
        return Err(WebError::NotFound);
    }
    if member.id == signed.member.id || member.role == Role::Police {
        return Err(WebError::Forbidden);
    }
    state.store().remove_member(&member).await?;
    info!(member = %member.id, community = %community.id, "member removed by the referent");
    Ok(())
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
}

async fn admin_page<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    signed: &Signed,
    after: Option<&str>,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<AdminPage, WebError> {
    let community = managed(signed)?;
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
                channels.push(t.sms_alerts_label);
            }
            if r.email_target().is_some() {
                channels.push(t.email_alerts_label);
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
                phone: r.phone.as_ref().filter(|_| !r.hide_phone).map(phone_display),
                channels: if channels.is_empty() {
                    t.receives_nothing.to_owned()
                } else {
                    channels.join(", ")
                },
                problems: delivery_notes(lang, &community.time_zone, r, false),
                removable: r.member_id != signed.member.id && r.role != Role::Police,
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
    let site = state.site();
    let next = page.next.filter(|_| !page.items.is_empty());
    Ok(AdminPage {
        chrome: Chrome::new(state, ctx, t.admin_title, Section::Admin, Some(signed)),
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
async fn show<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let notice = match query.get("done") {
        Some("added") => Some(t.admin_added),
        Some("removed") => Some(t.admin_removed),
        Some("approved") => Some(t.admin_approved),
        Some("refused") => Some(t.admin_refused),
        _ => None,
    };
    render::ok(&admin_page(&state, &ctx, &signed, query.get("after"), notice, None).await?)
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

fn new_member_page<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    signed: &Signed,
    community: &Community,
    values: NewMember,
    problems: Problems,
) -> NewMemberPage {
    NewMemberPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().member_add_title, Section::Admin, Some(signed)),
        csrf: signed.session.csrf.clone(),
        community: community.name.clone(),
        values,
        problems,
    }
}

/// `GET /admin/members/new`: the form.
async fn new_form<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
) -> Result<Response, WebError> {
    let community = managed(&signed)?;
    render::ok(&new_member_page(&state, &ctx, &signed, community, NewMember::blank(), Problems::default()))
}

/// `POST /admin/members`: adds the member; the form comes back as typed when something is wrong.
async fn add<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    let community = managed(&signed)?;
    signed.check_csrf(form.csrf())?;
    let values = NewMember::from_form(&form);
    let (status, problems) = match add_member(&state, &signed, &values, ctx.lang).await {
        Ok(_) => return Ok(render::see_other(&state, "/admin?done=added")),
        Err(AddError::Invalid { problems, .. }) => (StatusCode::UNPROCESSABLE_ENTITY, problems),
        Err(AddError::Taken { problems, .. }) => (StatusCode::CONFLICT, problems),
        Err(AddError::Web(err)) => return Err(err),
    };
    render::page(status, &new_member_page(&state, &ctx, &signed, community, values, problems))
}

/// `POST /admin/members/{id}/remove`.
async fn remove<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    Segments(id): Segments<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    managed(&signed)?;
    signed.check_csrf(form.csrf())?;
    remove_member(&state, &signed, &id).await?;
    Ok(render::see_other(&state, "/admin?done=removed"))
}

/// `POST /admin/join/{id}/approve`: the request becomes a member (a resident, alerts on for
/// each contact given), who can then sign in with their address. Taken once; if the number or
/// address is already a member's, the request is put back and the referent told.
async fn approve<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    let community = managed(&signed)?;
    signed.check_csrf(form.csrf())?;
    let id: MemberId = id.parse().map_err(|_| WebError::NotFound)?;
    let request = state.store().take_join_request(&community.id, id).await?.ok_or(WebError::NotFound)?;
    let member = Member {
        id: MemberId::new(),
        communities: vec![community.id.clone()],
        first_name: request.first_name.clone(),
        last_name: request.last_name.clone(),
        email: request.email.clone(),
        phone: request.phone.clone(),
        hide_phone: false,
        sms_alerts: true,
        email_alerts: true,
        role: Role::Resident,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
    };
    match register(&state, &member, ctx.lang).await {
        Ok(()) => {
            info!(member = %member.id, community = %community.id, "join request approved");
            Ok(render::see_other(&state, "/admin?done=approved"))
        }
        Err(AddError::Taken { .. }) => {
            state.store().add_join_request(&request).await?;
            let t = ctx.lang.t();
            let page = admin_page(&state, &ctx, &signed, None, None, Some(t.admin_request_taken)).await?;
            render::page(StatusCode::CONFLICT, &page)
        }
        Err(AddError::Invalid { .. }) => {
            state.store().add_join_request(&request).await?;
            Err(WebError::Internal("a join request without contact".into()))
        }
        Err(AddError::Web(err)) => {
            state.store().add_join_request(&request).await?;
            Err(err)
        }
    }
}

/// `POST /admin/join/{id}/refuse`.
async fn refuse<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    Segments(id): Segments<String>,
    Form(form): Form,
) -> Result<Response, WebError> {
    let community = managed(&signed)?;
    signed.check_csrf(form.csrf())?;
    let id: MemberId = id.parse().map_err(|_| WebError::NotFound)?;
    state.store().take_join_request(&community.id, id).await?.ok_or(WebError::NotFound)?;
    info!(community = %community.id, "join request refused");
    Ok(render::see_other(&state, "/admin?done=refused"))
}
