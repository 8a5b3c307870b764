//! The JSON API under `/api/`, for the same signed-in member as the pages (session cookie).
//! Unsafe methods carry the session's anti-CSRF token in `X-CSRF-Token` (the pages give it in
//! `<meta name="csrf-token">`, and `GET /api/me` in `csrf`).
//!
//! Errors answer `{"error": "<code>"}` with the status (see [`crate::render::error_response`]);
//! signed out is 401. Every operation calls the same functions as its page: the rules live
//! once. [`API_ROUTES`] lists them, and `docs/openapi.yaml` describes them (checked by the
//! tests against this list and against real answers).

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use vigie::domain::{AlertId, AlertText, Category, Encoding, Member};
use vigie::model::{AlertReport, Channel, Cursor};
use vigie::ports::Feed;

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::{BodyRefused, Query, Segments, read_body};
use crate::i18n::Lang;
use crate::local_time;
use crate::pages::admin::{AddError, NewMember, add_member, remove_member};
use crate::pages::alerts::{Draft, RaiseError, Raised, parse_submission, preview, raise_alerts, source_of};
use crate::pages::feed::alerts_page;
use crate::pages::members::{DeliveryProblemJson, Neighbour, neighbours};
use crate::pages::settings::{SaveError, Values, save_settings};
use crate::render::Ctx;
use crate::session::Signed;

/// Every operation of the API, `(method, path)`: the router is built from this list.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/sms-preview"),
    ("GET", "/api/alerts"),
    ("POST", "/api/alerts"),
    ("GET", "/api/alerts/{id}"),
    ("GET", "/api/me"),
    ("PATCH", "/api/me"),
    ("GET", "/api/members"),
    ("POST", "/api/members"),
    ("DELETE", "/api/members/{id}"),
];

/// The handler of one operation of [`API_ROUTES`].
fn operation<B: Backend>(method: &str, path: &str) -> MethodRouter<AppState<B>> {
    match (method, path) {
        ("GET", "/api/sms-preview") => get(sms_preview::<B>),
        ("GET", "/api/alerts") => get(list_alerts::<B>),
        ("POST", "/api/alerts") => post(create_alert::<B>),
        ("GET", "/api/alerts/{id}") => get(get_alert::<B>),
        ("GET", "/api/me") => get(get_me::<B>),
        ("PATCH", "/api/me") => patch(patch_me::<B>),
        ("GET", "/api/members") => get(list_members::<B>),
        ("POST", "/api/members") => post(create_member::<B>),
        ("DELETE", "/api/members/{id}") => delete(delete_member::<B>),
        _ => panic!("no handler for {method} {path}"),
    }
}

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    API_ROUTES
        .iter()
        .fold(Router::new(), |router, (method, path)| router.route(path, operation(method, path)))
}

/// The header of the anti-CSRF token of unsafe methods.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn check_csrf(signed: &Signed, headers: &HeaderMap) -> Result<(), WebError> {
    signed.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
}

/// An error of the API: the frame's (`not_found`, `signed_out`...) or a problem with the
/// request that its code names (`phone_taken`, `text_too_long`...).
#[derive(Debug)]
pub enum ApiError {
    Web(WebError),
    Problem(StatusCode, &'static str),
}

impl From<WebError> for ApiError {
    fn from(err: WebError) -> Self {
        ApiError::Web(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Web(err) => err.into_response(),
            ApiError::Problem(status, code) => (status, Json(ErrorJson { error: code })).into_response(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorJson {
    pub error: &'static str,
}

/// A JSON body (`Content-Type: application/json`, UTF-8, at most
/// [`crate::forms::MAX_BODY_BYTES`]) of exactly the type's fields: another media type is 415
/// `unsupported_media_type`, a larger body 413 `body_too_large`, malformed JSON or the wrong
/// fields (unknown, repeated, missing, of another type) 400 `bad_request`.
pub struct JsonBody<T>(pub T);

/// The media type of the API's bodies.
const JSON_TYPE: &str = "application/json";

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state, JSON_TYPE).await.map_err(|refused| match refused {
            BodyRefused::UnsupportedType => {
                ApiError::Problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            BodyRefused::TooLarge => ApiError::Problem(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            BodyRefused::Unreadable => ApiError::Web(refused.into()),
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::Web(WebError::BadRequest("malformed JSON")))
    }
}

/// An optional field that may be absent but not `null` (the document says which may be).
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// What `GET /api/sms-preview?text=…&category=…` answers.
#[derive(Debug, Serialize)]
pub struct SmsPreviewJson {
    /// Characters of the alert text once cleaned, as stored and limited.
    pub chars: usize,
    pub max_chars: usize,
    /// SMS parts the neighbours will receive.
    pub segments: usize,
    pub max_segments: usize,
    /// `gsm7` or `ucs2`.
    pub encoding: &'static str,
    /// The SMS exactly as it will be sent.
    pub sms: String,
    /// The counter's line, in the page's language.
    pub summary: String,
    /// `empty` or `too_long` when the text cannot be sent as it is.
    pub problem: Option<&'static str>,
}

/// The size of the SMS an alert text will become, counted by the same code as the fan-out's.
async fn sms_preview<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Json<SmsPreviewJson>, WebError> {
    // The page sends `category=` before one is chosen; anything else must be one.
    let category = match query.get("category").filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<Category>().map_err(|_| WebError::BadRequest("unknown category"))?),
        None => None,
    };
    let source = source_of(&signed);
    let max_segments = state.config().sms_max_segments;
    let text: String = query.text("text").chars().take(AlertText::MAX_CHARS * 2).collect();
    let p = preview(&signed.member.first_name, source, category, &text, max_segments);
    Ok(Json(SmsPreviewJson {
        chars: p.chars,
        max_chars: AlertText::MAX_CHARS,
        segments: p.segments,
        max_segments,
        encoding: match p.encoding {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        },
        summary: if p.problem == Some("empty") {
            String::new()
        } else {
            ctx.lang.sms_size(p.chars, AlertText::MAX_CHARS, p.segments, p.encoding)
        },
        sms: p.sms,
        problem: p.problem,
    }))
}

/// What became of an alert's deliveries on one channel: `delivered`, `failed` and `pending` add
/// up to what was to be sent.
#[derive(Debug, Serialize)]
pub struct ChannelJson {
    /// Accepted by SNS / SES.
    pub sent: u32,
    /// The carrier or the mail server confirmed the delivery.
    pub delivered: u32,
    /// Refused when sent, or not delivered (the receipt said so).
    pub failed: u32,
    /// Sent without a receipt yet, or not sent yet.
    pub pending: u32,
}

impl ChannelJson {
    fn of(report: vigie::model::ChannelReport) -> Self {
        Self {
            sent: report.sent,
            delivered: report.delivered,
            failed: report.failed,
            pending: report.pending,
        }
    }
}

/// The delivery report of an alert, as the API gives it.
#[derive(Debug, Serialize)]
pub struct DeliveryJson {
    pub recipients: u32,
    pub sms_sent: u32,
    pub sms_failed: u32,
    pub email_sent: u32,
    pub email_failed: u32,
    pub pending: u32,
    pub sms: ChannelJson,
    pub email: ChannelJson,
}

/// An alert with its delivery report.
#[derive(Debug, Serialize)]
pub struct AlertJson {
    pub id: String,
    pub community_id: String,
    pub community_name: String,
    pub sender_first_name: String,
    /// `sms`, `web` or `police`.
    pub source: &'static str,
    /// `None` for a texted alert.
    pub category: Option<&'static str>,
    pub text: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// `None` before the fan-out starts.
    pub delivery: Option<DeliveryJson>,
    pub acks: u32,
    /// RFC 3339, UTC; `None` while sending.
    pub done_at: Option<String>,
}

impl AlertJson {
    fn of(report: &AlertReport) -> Self {
        let alert = &report.alert;
        Self {
            id: alert.alert_id.to_string(),
            community_id: alert.community_id.to_string(),
            community_name: alert.community_name.clone(),
            sender_first_name: alert.sender_first_name.to_string(),
            source: alert.source.as_str(),
            category: alert.category.map(Category::as_str),
            text: alert.text.to_string(),
            created_at: local_time::iso_utc(alert.created_at),
            delivery: report.counts.map(|c| DeliveryJson {
                recipients: c.recipients,
                sms_sent: c.sms_sent,
                sms_failed: c.sms_failed,
                email_sent: c.email_sent,
                email_failed: c.email_failed,
                pending: c.pending,
                sms: ChannelJson::of(c.channel(Channel::Sms)),
                email: ChannelJson::of(c.channel(Channel::Email)),
            }),
            acks: report.acks,
            done_at: report.fanout_done_at.map(local_time::iso_utc),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AlertsJson {
    pub alerts: Vec<AlertJson>,
    /// The `after` of the next page, if there is one.
    pub next: Option<String>,
}

/// `GET /api/alerts?community=&after=`: the feed, as the page reads it.
async fn list_alerts<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    Query(query): Query,
) -> Result<Json<AlertsJson>, WebError> {
    let after = query.get("after").filter(|a| !a.is_empty()).map(|a| Cursor(a.to_owned()));
    let (reports, next) = alerts_page(&state, &signed, query.get("community"), after).await?;
    let next = next.filter(|_| !reports.is_empty()).map(|c| c.0);
    Ok(Json(AlertsJson { alerts: reports.iter().map(AlertJson::of).collect(), next }))
}

/// `GET /api/alerts/{id}`: one alert of the member's communities.
async fn get_alert<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    Segments(id): Segments<String>,
) -> Result<Json<AlertJson>, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let report = state.store().alert_report(id).await?.ok_or(WebError::NotFound)?;
    if !signed.member.belongs_to(&report.alert.community_id) {
        return Err(WebError::NotFound);
    }
    Ok(Json(AlertJson::of(&report)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlertJson {
    pub category: String,
    pub text: String,
    /// Police only: the ids of the communities to alert (all of theirs when absent).
    #[serde(default, deserialize_with = "not_null")]
    pub communities: Option<Vec<String>>,
    /// A ULID the client makes once per alert: sending it again records nothing new.
    pub submission_id: String,
}

#[derive(Debug, Serialize)]
pub struct RaisedJson {
    pub alert_ids: Vec<String>,
    /// True when this submission was recorded before (nothing new was sent).
    pub duplicate: bool,
}

/// `POST /api/alerts`: the same path as the page's confirmation step.
async fn create_alert<B: Backend>(
    State(state): State<AppState<B>>,
    lang: Lang,
    signed: Signed,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewAlertJson>,
) -> Result<Response, ApiError> {
    check_csrf(&signed, &headers)?;
    let submission = parse_submission(&body.submission_id)
        .ok_or(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission_id"))?;
    let communities = match body.communities {
        Some(ids) => ids,
        None => signed.communities.iter().map(|c| c.id.to_string()).collect(),
    };
    let draft = Draft { category: body.category.parse().ok(), text: body.text, communities };
    let ids = |ids: Vec<AlertId>| ids.iter().map(ToString::to_string).collect();
    match raise_alerts(&state, &signed, &draft, &submission, lang).await {
        Ok(Raised::Now(alert_ids)) => {
            Ok((StatusCode::CREATED, Json(RaisedJson { alert_ids: ids(alert_ids), duplicate: false }))
                .into_response())
        }
        Ok(Raised::AlreadyBefore(alert_ids)) => {
            Ok((StatusCode::OK, Json(RaisedJson { alert_ids: ids(alert_ids), duplicate: true }))
                .into_response())
        }
        Err(RaiseError::Invalid(problems)) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, problems.code))
        }
        Err(RaiseError::RateLimited(_)) => {
            Err(ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited"))
        }
        Err(RaiseError::Web(err)) => Err(err.into()),
    }
}

#[derive(Debug, Serialize)]
pub struct CommunityJson {
    pub id: String,
    pub name: String,
    pub town: String,
}

/// The signed-in member, as they see themselves.
#[derive(Debug, Serialize)]
pub struct MeJson {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
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
    fn of(member: &Member, signed: &Signed) -> Self {
        Self {
            id: member.id.to_string(),
            first_name: member.first_name.to_string(),
            last_name: member.last_name.to_string(),
            email: member.email.as_ref().map(ToString::to_string),
            phone: member.phone.as_ref().map(ToString::to_string),
            hide_phone: member.hide_phone,
            sms_alerts: member.sms_alerts,
            email_alerts: member.email_alerts,
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
}

/// `GET /api/me`.
async fn get_me<B: Backend>(State(_): State<AppState<B>>, signed: Signed) -> Json<MeJson> {
    Json(MeJson::of(&signed.member, &signed))
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
}

/// Tells an absent field (`None`) from `null` (`Some(None)`).
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

async fn patch_me<B: Backend>(
    State(state): State<AppState<B>>,
    lang: Lang,
    signed: Signed,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MePatchJson>,
) -> Result<Json<MeJson>, ApiError> {
    check_csrf(&signed, &headers)?;
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
    };
    match save_settings(&state, &signed, &values, lang).await {
        Ok(member) => Ok(Json(MeJson::of(&member, &signed))),
        Err(SaveError::Invalid { code, .. }) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, code))
        }
        Err(SaveError::PhoneTaken { .. }) => Err(ApiError::Problem(StatusCode::CONFLICT, "phone_taken")),
        Err(SaveError::Web(err)) => Err(err.into()),
    }
}

#[derive(Debug, Serialize)]
pub struct MembersJson {
    pub community: CommunityJson,
    pub members: Vec<Neighbour>,
    pub next: Option<String>,
}

/// `GET /api/members?community=&after=`: the neighbours, as the page shows them.
async fn list_members<B: Backend>(
    State(state): State<AppState<B>>,
    lang: Lang,
    signed: Signed,
    Query(query): Query,
) -> Result<Json<MembersJson>, WebError> {
    // A cursor that is not a member's row starts from the first page (the store checks it).
    let after = query.get("after");
    let found = neighbours(&state, &signed, lang, query.get("community"), after).await?;
    Ok(Json(MembersJson {
        community: CommunityJson {
            id: found.community.id.to_string(),
            name: found.community.name.clone(),
            town: found.community.town.clone(),
        },
        members: found.neighbours,
        next: found.next.map(|c| c.0),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMemberJson {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub sms_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub email_alerts: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    pub hide_phone: Option<bool>,
}

/// `POST /api/members` (referent): as the referent's form.
async fn create_member<B: Backend>(
    State(state): State<AppState<B>>,
    lang: Lang,
    signed: Signed,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewMemberJson>,
) -> Result<Response, ApiError> {
    crate::pages::admin::managed(&signed)?;
    check_csrf(&signed, &headers)?;
    let values = NewMember {
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email.unwrap_or_default(),
        phone: body.phone.unwrap_or_default(),
        sms_alerts: body.sms_alerts.unwrap_or(true),
        email_alerts: body.email_alerts.unwrap_or(true),
        hide_phone: body.hide_phone.unwrap_or(false),
    };
    match add_member(&state, &signed, &values, lang).await {
        Ok(member) => {
            let recipient = vigie::model::Recipient { email: None, ..vigie::model::Recipient::of(&member) };
            Ok((StatusCode::CREATED, Json(Neighbour::of(&recipient, &signed, lang))).into_response())
        }
        Err(AddError::Invalid { code, .. }) => Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, code)),
        Err(AddError::Taken { code, .. }) => Err(ApiError::Problem(StatusCode::CONFLICT, code)),
        Err(AddError::Web(err)) => Err(err.into()),
    }
}

/// `DELETE /api/members/{id}` (referent).
async fn delete_member<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    headers: HeaderMap,
    Segments(id): Segments<String>,
) -> Result<StatusCode, WebError> {
    crate::pages::admin::managed(&signed)?;
    check_csrf(&signed, &headers)?;
    remove_member(&state, &signed, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operation_has_a_handler() {
        // Builds the router from the list: a missing handler or a clash panics.
        let _ = routes::<vigie::adapters::Adapters>();
    }
}
