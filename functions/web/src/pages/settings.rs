//! My settings: first name, mobile number, who sees it, and how alerts reach me.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use vigie::app::settings::{self, Changes, Invalid, Problem};
use vigie::domain::Member;

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{FormData, Query};
use crate::guard::CsrfForm;
use crate::i18n::Lang;
use crate::render::{self, Chrome, Ctx, Section, delivery_notes, phone_display};
use crate::session::Signed;

pub fn routes() -> Router<AppState> {
    Router::new().route("/settings", get(show).post(save))
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

    /// The changes these values make, as the use case reads them.
    pub fn changes(&self) -> Changes {
        Changes {
            first_name: self.first_name.clone(),
            phone: self.phone.clone(),
            hide_phone: self.hide_phone,
            sms_alerts: self.sms_alerts,
            email_alerts: self.email_alerts,
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

fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    signed: &Signed,
    values: Values,
    problems: Problems,
    saved: bool,
) -> SettingsPage {
    SettingsPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().settings.title, Section::Settings, Some(signed)),
        csrf: signed.session.csrf.clone(),
        values,
        email: signed.member.email.as_ref().map(ToString::to_string),
        problems,
        saved,
        delivery_notes: delivery_notes(ctx.lang, &signed.home_time_zone(), &signed.member, true),
    }
}

/// `GET /settings`.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let values = Values::of(&signed.member);
    render::ok(&settings_page(&state, &ctx, &signed, values, Problems::default(), query.checked("saved")))
}

/// `POST /settings`: saves the member's profile (every membership follows; a new number is
/// claimed, the old one released).
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let values = Values::from_form(&form);
    let (status, problems) =
        match settings::save(state.store(), &signed.member, &values.changes(), &state.config().sms_countries)
            .await
        {
            Ok(_) => return Ok(render::see_other(&state, "/settings?saved=1")),
            Err(Problem::Invalid(invalid)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Problems::of(&invalid, ctx.lang))
            }
            Err(Problem::PhoneTaken) => {
                let problems =
                    Problems { phone: Some(ctx.lang.t().member.phone_taken), ..Problems::default() };
                (StatusCode::CONFLICT, problems)
            }
            Err(err) => return Err(err.into()),
        };
    render::page(status, &settings_page(&state, &ctx, &signed, values, problems, false))
}
