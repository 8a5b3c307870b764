//! My settings: first name, mobile number, who sees it, and how alerts reach me.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tracing::info;
use vigie::domain::{FirstName, Member, PhoneNumber};
use vigie::ports::{Membership, RegisterError};

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::{Form, FormData, Query};
use crate::i18n::Lang;
use crate::render::{self, Chrome, Ctx, Section, delivery_notes, phone_display};
use crate::session::Signed;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new().route("/settings", get(show::<B>).post(save::<B>))
}

/// The form as shown: the member's values, or what was typed when something was wrong.
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub first_name: String,
    pub phone: String,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
}

impl Values {
    pub fn of(member: &Member) -> Self {
        Self {
            first_name: member.first_name.to_string(),
            phone: member.phone.as_ref().map(phone_display).unwrap_or_default(),
            hide_phone: member.hide_phone,
            sms_alerts: member.sms_alerts,
            email_alerts: member.email_alerts,
        }
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            first_name: form.text("first_name").chars().take(200).collect(),
            phone: form.text("phone").chars().take(64).collect(),
            hide_phone: form.checked("hide_phone"),
            sms_alerts: form.checked("sms_alerts"),
            email_alerts: form.checked("email_alerts"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub first_name: Option<&'static str>,
    pub phone: Option<&'static str>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.first_name.is_none() && self.phone.is_none()
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
    saved: bool,
    /// What the receipts said of the member's address and number, in sentences.
    delivery_notes: Vec<String>,
}

fn settings_page<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    signed: &Signed,
    values: Values,
    problems: Problems,
    saved: bool,
) -> SettingsPage {
    SettingsPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().settings_title, Section::Settings, Some(signed)),
        csrf: signed.session.csrf.clone(),
        values,
        email: signed.member.email.as_ref().map(ToString::to_string),
        problems,
        saved,
        delivery_notes: delivery_notes(ctx.lang, &signed.home_time_zone(), &signed.member, true),
    }
}

/// `GET /settings`.
async fn show<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let values = Values::of(&signed.member);
    render::ok(&settings_page(&state, &ctx, &signed, values, Problems::default(), query.checked("saved")))
}

/// `POST /settings`: saves the member's profile (every membership follows; a new number is
/// claimed, the old one released).
async fn save<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    signed.check_csrf(form.csrf())?;
    let values = Values::from_form(&form);
    let (status, problems) = match save_settings(&state, &signed, &values, ctx.lang).await {
        Ok(_) => return Ok(render::see_other(&state, "/settings?saved=1")),
        Err(SaveError::Invalid { problems, .. }) => (StatusCode::UNPROCESSABLE_ENTITY, problems),
        Err(SaveError::PhoneTaken { problems }) => (StatusCode::CONFLICT, problems),
        Err(SaveError::Web(err)) => return Err(err),
    };
    render::page(status, &settings_page(&state, &ctx, &signed, values, problems, false))
}

/// Why settings were not saved.
#[derive(Debug)]
pub enum SaveError {
    /// `code` says what is wrong, for the API.
    Invalid {
        problems: Problems,
        code: &'static str,
    },
    PhoneTaken {
        problems: Problems,
    },
    Web(WebError),
}

/// The page and the API save a member's settings here: the profile and every membership
/// follow; a new number is claimed, the old one released. Answers the member as saved.
pub async fn save_settings<B: Backend>(
    state: &AppState<B>,
    signed: &Signed,
    values: &Values,
    lang: Lang,
) -> Result<Member, SaveError> {
    let t = lang.t();
    let mut problems = Problems::default();
    let mut code = None;
    let first_name = FirstName::parse(&values.first_name).map_err(|_| {
        problems.first_name = Some(t.invalid_first_name);
        code.get_or_insert("invalid_first_name");
    });
    let phone = match values.phone.trim() {
        "" => Ok(None),
        raw => PhoneNumber::parse(raw).map(Some).map_err(|_| {
            problems.phone = Some(t.invalid_phone);
            code.get_or_insert("invalid_phone");
        }),
    };
    if let Ok(None) = phone
        && signed.member.email.is_none()
    {
        problems.phone = Some(t.contact_needed);
        code.get_or_insert("contact_needed");
    }
    let (Ok(first_name), Ok(phone), true) = (first_name, phone, problems.is_empty()) else {
        return Err(SaveError::Invalid { problems, code: code.unwrap_or("invalid") });
    };
    let previous = &signed.member;
    let updated = Member {
        first_name,
        phone,
        hide_phone: values.hide_phone,
        sms_alerts: values.sms_alerts,
        email_alerts: values.email_alerts,
        ..previous.clone()
    }
    .settling_problems(previous);
    if &updated != previous {
        match state.store().update_member(previous, &updated).await {
            Ok(()) => info!(member = %updated.id, "settings saved"),
            Err(RegisterError::PhoneTaken) => {
                return Err(SaveError::PhoneTaken {
                    problems: Problems { phone: Some(t.phone_taken), ..Problems::default() },
                });
            }
            Err(err) => return Err(SaveError::Web(err.into())),
        }
    }
    Ok(updated)
}
