//! The signed-in member's own profile and settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigie::app::erasure::{self, CodeSent, Erased, MyData};
use vigie::app::phone::{self, ConfirmProblem, SendProblem};
use vigie::app::settings::{Invalid, Problem};
use vigie::domain::{Member, PhoneNumber};

use super::{ApiError, CommunityJson, double_option, not_null};
use crate::app::AppState;
use crate::cookies::{Cookies, SetCookie};
use crate::guard::{CsrfHeader, CsrfJson};
use crate::pages::members::DeliveryProblemJson;
use crate::pages::settings::Values;
use crate::session::{SESSION_COOKIE, Signed};

/// The signed-in member, as they see themselves.
#[derive(Debug, Serialize)]
pub struct MeJson {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A number typed as the member's, in E.164, waiting for the code texted to it
    /// (`POST /api/me/phone`): until then `phone` is the number alerts go to.
    pub phone_pending: Option<String>,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    /// No SMS between 22:00 and 07:00 (the community's time), but for fires, dangers and the police.
    pub quiet_hours: bool,
    pub role: &'static str,
    pub communities: Vec<CommunityJson>,
    /// Why email alerts failed or were turned off (a hard bounce, a complaint), if they did.
    pub email_problem: Option<DeliveryProblemJson>,
    /// Why texts to the number fail, if they do.
    pub sms_problem: Option<DeliveryProblemJson>,
    /// The anti-CSRF token to send in `X-CSRF-Token`.
    pub csrf: String,
}

impl MeJson {
    fn of(member: &Member, pending: Option<&PhoneNumber>, signed: &Signed) -> Self {
        Self {
            id: member.id.to_string(),
            first_name: member.first_name.to_string(),
            last_name: member.last_name.to_string(),
            email: member.email.as_ref().map(ToString::to_string),
            phone: member.phone.as_ref().map(ToString::to_string),
            phone_pending: pending.map(ToString::to_string),
            hide_phone: member.hide_phone,
            sms_alerts: member.sms_alerts,
            email_alerts: member.email_alerts,
            quiet_hours: member.quiet_hours,
            role: member.role.as_str(),
            communities: signed
                .communities
                .iter()
                .map(|c| CommunityJson { id: c.id.to_string(), name: c.name.clone(), town: c.town.clone() })
                .collect(),
            email_problem: member.email_problem.as_ref().map(DeliveryProblemJson::of),
            sms_problem: member.sms_problem.as_ref().map(DeliveryProblemJson::of),
            csrf: signed.session.csrf.clone(),
        }
    }

    /// `member` as they see themselves, with the number they wait to confirm, if any.
    async fn load(state: &AppState, member: &Member, signed: &Signed) -> Result<Self, ApiError> {
        let pending = phone::pending(state.store(), member).await.map_err(|e| ApiError::Web(e.into()))?;
        Ok(Self::of(member, pending.as_ref().map(|p| &p.phone), signed))
    }
}

/// `GET /api/me`.
pub(super) async fn get_me(State(state): State<AppState>, signed: Signed) -> Result<Json<MeJson>, ApiError> {
    MeJson::load(&state, &signed.member, &signed).await.map(Json)
}

/// `PATCH /api/me`: the fields given change, the others stay. `phone: null` removes the number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MePatchJson {
    #[serde(default, deserialize_with = "not_null")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub hide_phone: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub sms_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub email_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub quiet_hours: Option<bool>,
}

pub(super) async fn patch_me(
    State(state): State<AppState>,
    signed: Signed,
    CsrfJson(body): CsrfJson<MePatchJson>,
) -> Result<Json<MeJson>, ApiError> {
    let current = Values::of(&signed.member);
    let values = Values {
        first_name: body.first_name.unwrap_or(current.first_name),
        // The member's own number, in E.164 (the form shows it in the French way).
        phone: match body.phone {
            Some(phone) => phone.unwrap_or_default(),
            None => signed.member.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
        },
        hide_phone: body.hide_phone.unwrap_or(current.hide_phone),
        sms_alerts: body.sms_alerts.unwrap_or(current.sms_alerts),
        email_alerts: body.email_alerts.unwrap_or(current.email_alerts),
        quiet_hours: body.quiet_hours.unwrap_or(current.quiet_hours),
    };
    match values.save(&state, &signed.member).await {
        Ok(saved) => MeJson::load(&state, &saved.member, &signed).await.map(Json),
        Err(Problem::Invalid(invalid)) => {
            let code = invalid.first().map_or("invalid", |first| invalid_code(*first));
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, code))
        }
        Err(Problem::Code(problem)) => Err(code_not_sent(problem)),
        Err(err) => Err(ApiError::Web(err.into())),
    }
}

/// `POST /api/me/phone`: the code texted to the number waiting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneCodeJson {
    pub code: String,
}

pub(super) async fn confirm_phone(
    State(state): State<AppState>,
    signed: Signed,
    CsrfJson(body): CsrfJson<PhoneCodeJson>,
) -> Result<Json<MeJson>, ApiError> {
    match phone::confirm(state.store(), &signed.member, &body.code).await {
        Ok(member) => MeJson::load(&state, &member, &signed).await.map(Json),
        Err(ConfirmProblem::Wrong { .. }) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"))
        }
        Err(ConfirmProblem::Gone) => Err(ApiError::Problem(StatusCode::GONE, "code_gone")),
        Err(ConfirmProblem::Store(err)) => Err(ApiError::Web(err.into())),
    }
}

/// `POST /api/me/phone/resend`: a new code for the number waiting.
pub(super) async fn resend_code(
    State(state): State<AppState>,
    signed: Signed,
    _: CsrfHeader,
) -> Result<Json<MeJson>, ApiError> {
    phone::resend_code(state.store(), state.texter(), &signed.member).await.map_err(code_not_sent)?;
    MeJson::load(&state, &signed.member, &signed).await.map(Json)
}

/// `DELETE /api/me/phone/pending`: forgets the number waiting; `phone` stays as it is.
pub(super) async fn cancel_phone(
    State(state): State<AppState>,
    signed: Signed,
    _: CsrfHeader,
) -> Result<Json<MeJson>, ApiError> {
    phone::cancel(state.store(), &signed.member).await.map_err(|e| ApiError::Web(e.into()))?;
    Ok(Json(MeJson::of(&signed.member, None, &signed)))
}

/// Why no code went out, as the API says it (`docs/openapi.yaml`).
fn code_not_sent(problem: SendProblem) -> ApiError {
    match problem {
        SendProblem::TooMany => ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "too_many_codes"),
        SendProblem::NothingPending => ApiError::Problem(StatusCode::CONFLICT, "no_pending_phone"),
        // As any failure for now: the client tries again.
        SendProblem::NotSent(_) => ApiError::Problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        SendProblem::Store(err) => ApiError::Web(err.into()),
    }
}

/// The stable code of what is wrong with the settings (`docs/openapi.yaml`).
fn invalid_code(invalid: Invalid) -> &'static str {
    match invalid {
        Invalid::FirstName => "invalid_first_name",
        Invalid::FirstNameNotAllowed => "first_name_not_allowed",
        Invalid::Phone => "invalid_phone",
        Invalid::PhoneCountry => "phone_country_not_allowed",
        Invalid::ContactNeeded => "contact_needed",
    }
}

/// `GET /api/me/data`: everything vigie holds about the member ("Mes données").
pub(super) async fn my_data(State(state): State<AppState>, signed: Signed) -> Result<Json<MyData>, ApiError> {
    let config = state.config();
    let data = erasure::my_data(state.store(), &signed.member, &config.data_controller, config.retention)
        .await
        .map_err(|e| ApiError::Web(e.into()))?;
    Ok(Json(data))
}

#[derive(Debug, Serialize)]
pub struct ErasureCodeJson {
    /// `email`, or `sms` for a member without an address.
    pub sent_by: &'static str,
}

/// Why an erasure was not done, or its code not sent, as the API says it.
pub(super) fn erasure_problem(problem: erasure::Problem) -> ApiError {
    use erasure::Problem;
    match problem {
        Problem::TooMany => ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "too_many_codes"),
        Problem::Unreachable => ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "unreachable"),
        Problem::NotSent(_) => ApiError::Problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Problem::Wrong { .. } => ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"),
        Problem::Gone => ApiError::Problem(StatusCode::GONE, "code_gone"),
        other => ApiError::Web(other.into()),
    }
}

/// `POST /api/me/erasure`: a code that confirms the erasure of the member's account.
pub(super) async fn request_erasure(
    State(state): State<AppState>,
    signed: Signed,
    _: CsrfHeader,
) -> Result<(StatusCode, Json<ErasureCodeJson>), ApiError> {
    let from = &state.config().sender_email;
    let sent = erasure::send_code(state.store(), state.mailer(), state.texter(), from, &signed.member)
        .await
        .map_err(erasure_problem)?;
    let sent_by = match sent {
        CodeSent::Email => "email",
        CodeSent::Sms => "sms",
    };
    Ok((StatusCode::ACCEPTED, Json(ErasureCodeJson { sent_by })))
}

/// `POST /api/me/erasure/confirm`: the code sent; the right one erases the account, and the
/// session with it (its cookie is forgotten).
pub(super) async fn confirm_erasure(
    State(state): State<AppState>,
    signed: Signed,
    CsrfJson(body): CsrfJson<PhoneCodeJson>,
) -> Result<Response, ApiError> {
    let erased: Erased =
        erasure::confirm(state.store(), &signed.member, &body.code).await.map_err(erasure_problem)?;
    let cookies = Cookies::new(state.site(), &[SetCookie::clear_secret(SESSION_COOKIE)]);
    Ok((cookies, Json(erased)).into_response())
}
