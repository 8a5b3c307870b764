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
use crate::render::{self, Chrome, Ctx, Section, phone_display};
use crate::session::Signed;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new().route("/settings", get(show::<B>).post(save::<B>))
}

/// The form as shown: the member's values, or what was typed when something was wrong.
#[derive(Clone, Debug, Default)]
struct Values {
    first_name: String,
    phone: String,
    hide_phone: bool,
    sms_alerts: bool,
    email_alerts: bool,
}

impl Values {
    fn of(member: &Member) -> Self {
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
struct Problems {
    first_name: Option<&'static str>,
    phone: Option<&'static str>,
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
    let t = ctx.lang.t();
    let values = Values::from_form(&form);
    let mut problems = Problems::default();
    let first_name =
        FirstName::parse(&values.first_name).map_err(|_| problems.first_name = Some(t.invalid_first_name));
    let phone = match values.phone.trim() {
        "" => Ok(None),
        raw => PhoneNumber::parse(raw).map(Some).map_err(|_| problems.phone = Some(t.invalid_phone)),
    };
    if let Ok(None) = phone
        && signed.member.email.is_none()
    {
        problems.phone = Some(t.contact_needed);
    }
    let (Ok(first_name), Ok(phone), true) = (first_name, phone, problems.is_empty()) else {
        let page = settings_page(&state, &ctx, &signed, values, problems, false);
        return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let previous = &signed.member;
    let updated = Member {
        first_name,
        phone,
        hide_phone: values.hide_phone,
        sms_alerts: values.sms_alerts,
        email_alerts: values.email_alerts,
        ..previous.clone()
    };
    if &updated != previous {
        match state.store().update_member(previous, &updated).await {
            Ok(()) => info!(member = %updated.id, "settings saved"),
            Err(RegisterError::PhoneTaken) => {
                problems.phone = Some(t.phone_taken);
                let page = settings_page(&state, &ctx, &signed, values, problems, false);
                return render::page(StatusCode::CONFLICT, &page);
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(render::see_other(&state, "/settings?saved=1"))
}
