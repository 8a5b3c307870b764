//! My settings: first name, mobile number, who sees it, and how alerts reach me.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use vigie::app::members::{self, Answer};
use vigie::app::phone::{self, ConfirmProblem, SendProblem};
use vigie::app::settings::{self, Changes, Invalid, Problem};
use vigie::domain::{CommunityId, Member};

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{FormData, Query, Segments};
use crate::guard::CsrfForm;
use crate::i18n::Lang;
use crate::render::{self, Chrome, Ctx, Section, delivery_notes, phone_display};
use crate::session::Signed;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show).post(save))
        .route("/settings/phone", post(confirm))
        .route("/settings/phone/resend", post(resend))
        .route("/settings/phone/cancel", post(cancel))
        .route("/settings/offers/{community}/join", post(join_offered))
        .route("/settings/offers/{community}/decline", post(decline_offered))
}

/// The form as shown: the member's values, or what was typed when something was wrong.
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub first_name: String,
    pub phone: String,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    pub quiet_hours: bool,
}

impl Values {
    pub fn of(member: &Member) -> Self {
        Self {
            first_name: member.first_name.to_string(),
            phone: member.phone.as_ref().map(phone_display).unwrap_or_default(),
            hide_phone: member.hide_phone,
            sms_alerts: member.sms_alerts,
            email_alerts: member.email_alerts,
            quiet_hours: member.quiet_hours,
        }
    }

    /// The changes these values make, as the use case reads them.
    pub fn changes(&self) -> Changes {
        Changes {
            first_name: self.first_name.clone(),
            phone: self.phone.clone(),
            hide_phone: self.hide_phone,
            sms_alerts: self.sms_alerts,
            email_alerts: self.email_alerts,
            quiet_hours: self.quiet_hours,
        }
    }

    /// Saves these values as `member`'s settings ([`settings::save`]: a new number gets its
    /// code), for the page and the API alike.
    pub async fn save(&self, state: &AppState, member: &Member) -> Result<settings::Saved, Problem> {
        let countries = &state.config().sms_countries;
        settings::save(state.store(), state.texter(), member, &self.changes(), countries).await
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            first_name: form.text("first_name").chars().take(200).collect(),
            phone: form.text("phone").chars().take(64).collect(),
            hide_phone: form.checked("hide_phone"),
            sms_alerts: form.checked("sms_alerts"),
            email_alerts: form.checked("email_alerts"),
            quiet_hours: form.checked("quiet_hours"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub first_name: Option<&'static str>,
    pub phone: Option<&'static str>,
    /// What is wrong with the code typed, or with asking for one.
    pub code: Option<String>,
}

impl Problems {
    /// What [`settings::save`] found, said field by field in `lang`.
    fn of(invalid: &[Invalid], lang: Lang) -> Self {
        let t = lang.t();
        let mut problems = Self::default();
        for problem in invalid {
            match problem {
                Invalid::FirstName => problems.first_name = Some(t.member.invalid_first_name),
                Invalid::FirstNameNotAllowed => problems.first_name = Some(t.member.first_name_not_allowed),
                Invalid::Phone => problems.phone = Some(t.member.invalid_phone),
                Invalid::PhoneCountry => problems.phone = Some(t.member.phone_country_not_allowed),
                Invalid::ContactNeeded => problems.phone = Some(t.settings.contact_needed),
            }
        }
        problems
    }
}

/// Why no code went out, and the answer's status; a store that failed is the frame's error page.
fn code_not_sent(problem: SendProblem, lang: Lang) -> Result<(StatusCode, &'static str), WebError> {
    let t = lang.t();
    Ok(match problem {
        SendProblem::TooMany => (StatusCode::TOO_MANY_REQUESTS, t.settings.too_many_codes),
        SendProblem::NothingPending => (StatusCode::CONFLICT, t.settings.code_gone),
        // The form stays as typed, with the words of the "unavailable" page.
        SendProblem::NotSent(_) => (StatusCode::SERVICE_UNAVAILABLE, t.settings.code_not_sent),
        SendProblem::Store(err) => return Err(err.into()),
    })
}

/// What the page says after a redirect (`?saved=1`...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Notice {
    #[default]
    None,
    Saved,
    CodeSent,
    Confirmed,
    Cancelled,
    Joined,
    Declined,
    OfferGone,
}

impl Notice {
    fn of(query: &crate::forms::FormData) -> Self {
        [
            ("saved", Self::Saved),
            ("code", Self::CodeSent),
            ("confirmed", Self::Confirmed),
            ("cancelled", Self::Cancelled),
            ("joined", Self::Joined),
            ("declined", Self::Declined),
            ("offer_gone", Self::OfferGone),
        ]
        .into_iter()
        .find_map(|(name, notice)| query.checked(name).then_some(notice))
        .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    csrf: String,
    values: Values,
    email: Option<String>,
    problems: Problems,
    /// The sentence of a redirect's notice, if any.
    notice: Option<String>,
    /// The number waiting for its code, as the member typed it.
    pending: Option<String>,
    /// What the receipts said of the member's address and number, in sentences.
    delivery_notes: Vec<String>,
    /// Invitations to other communities: (community id, the sentence).
    offers: Vec<(String, String)>,
}

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    signed: &Signed,
    values: Values,
    problems: Problems,
    notice: Notice,
) -> Result<SettingsPage, WebError> {
    let t = ctx.lang.t();
    let pending =
        phone::pending(state.store(), &signed.member).await?.map(|pending| phone_display(&pending.phone));
    let notice = match notice {
        Notice::None => None,
        Notice::Saved => Some(t.settings.saved.to_owned()),
        Notice::CodeSent => pending.as_deref().map(|phone| ctx.lang.code_sent(phone)),
        Notice::Confirmed => Some(t.settings.confirmed.to_owned()),
        Notice::Cancelled => Some(t.settings.cancelled.to_owned()),
        Notice::Joined => Some(t.settings.offer_joined.to_owned()),
        Notice::Declined => Some(t.settings.offer_declined.to_owned()),
        Notice::OfferGone => Some(t.settings.offer_gone.to_owned()),
    };
    let offers = members::offers(state.store(), &signed.member)
        .await?
        .iter()
        .map(|o| (o.community.to_string(), ctx.lang.offer(&o.referent, &o.community_name)))
        .collect();
    Ok(SettingsPage {
        chrome: Chrome::new(state, ctx, t.settings.title, Section::Settings, Some(signed)),
        csrf: signed.session.csrf.clone(),
        values,
        email: signed.member.email.as_ref().map(ToString::to_string),
        problems,
        notice,
        pending,
        delivery_notes: delivery_notes(ctx.lang, &signed.home_time_zone(), &signed.member, true),
        offers,
    })
}

/// `GET /settings`.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let values = Values::of(&signed.member);
    render::ok(&settings_page(&state, &ctx, &signed, values, Problems::default(), Notice::of(&query)).await?)
}

/// `POST /settings`: saves the member's profile (every membership follows). A new number gets
/// a code and waits for it; removing the number releases it.
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let values = Values::from_form(&form);
    let (status, problems) = match values.save(&state, &signed.member).await {
        Ok(saved) if saved.code_sent_to.is_some() => {
            return Ok(render::see_other(&state, "/settings?code=1"));
        }
        Ok(_) => return Ok(render::see_other(&state, "/settings?saved=1")),
        Err(Problem::Invalid(invalid)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Problems::of(&invalid, ctx.lang))
        }
        Err(Problem::Code(problem)) => {
            let (status, message) = code_not_sent(problem, ctx.lang)?;
            (status, Problems { phone: Some(message), ..Problems::default() })
        }
        Err(err) => return Err(err.into()),
    };
    render::page(status, &settings_page(&state, &ctx, &signed, values, problems, Notice::None).await?)
}

/// `POST /settings/phone`: the code typed for the number waiting.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let typed: String = form.text("code").chars().take(32).collect();
    let (status, message) = match phone::confirm(state.store(), &signed.member, &typed).await {
        Ok(_) => return Ok(render::see_other(&state, "/settings?confirmed=1")),
        Err(ConfirmProblem::Wrong { tries_left }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, ctx.lang.wrong_code(tries_left))
        }
        Err(ConfirmProblem::Gone) => (StatusCode::GONE, ctx.lang.t().settings.code_gone.to_owned()),
        Err(ConfirmProblem::Store(err)) => return Err(err.into()),
    };
    let problems = Problems { code: Some(message), ..Problems::default() };
    let values = Values::of(&signed.member);
    render::page(status, &settings_page(&state, &ctx, &signed, values, problems, Notice::None).await?)
}

/// `POST /settings/phone/resend`: a new code for the number waiting.
async fn resend(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let (status, problems) = match phone::resend_code(state.store(), state.texter(), &signed.member).await {
        Ok(_) => return Ok(render::see_other(&state, "/settings?code=1")),
        Err(problem) => {
            let (status, message) = code_not_sent(problem, ctx.lang)?;
            (status, Problems { code: Some(message.to_owned()), ..Problems::default() })
        }
    };
    let values = Values::of(&signed.member);
    render::page(status, &settings_page(&state, &ctx, &signed, values, problems, Notice::None).await?)
}

/// `POST /settings/phone/cancel`: forgets the number waiting; the member's number stays.
async fn cancel(
    State(state): State<AppState>,
    signed: Signed,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    phone::cancel(state.store(), &signed.member).await?;
    Ok(render::see_other(&state, "/settings?cancelled=1"))
}

/// A community's id in the path: a malformed one is an invitation that does not exist.
fn offered(community: &str) -> Result<CommunityId, WebError> {
    CommunityId::parse(community).map_err(|_| WebError::NotFound)
}

/// `POST /settings/offers/{community}/join`: the member belongs to that community too
/// ([`members::join_offered`]).
async fn join_offered(
    State(state): State<AppState>,
    signed: Signed,
    Segments(community): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let community = offered(&community)?;
    let joined = members::join_offered(state.store(), &signed.member, Answer::Page(&community)).await?;
    Ok(render::see_other(
        &state,
        if joined.is_some() { "/settings?joined=1" } else { "/settings?offer_gone=1" },
    ))
}

/// `POST /settings/offers/{community}/decline`.
async fn decline_offered(
    State(state): State<AppState>,
    signed: Signed,
    Segments(community): Segments<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let community = offered(&community)?;
    members::decline_offered(state.store(), &signed.member, &community).await?;
    Ok(render::see_other(&state, "/settings?declined=1"))
}
