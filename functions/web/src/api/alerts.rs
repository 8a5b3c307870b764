//! The alerts: the SMS preview, the feed, one alert's report, raising one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigie::app::alerts::{self, CloseProblem, Invalid, PreviewProblem, Problem, Raised, preview};
use vigie::app::feed;
use vigie::app::moderation::{self, FlagProblem, WithdrawProblem};
use vigie::domain::{AlertId, AlertText, Category, Encoding, Ending, FlagReason, PoliceCalled};
use vigie::model::{AlertReport, Applied, Channel, Cursor};

use super::{ApiError, not_null};
use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::guard::CsrfJson;
use crate::local_time;
use crate::pages::alerts::{Draft, parse_submission, source_of};
use crate::render::Ctx;
use crate::session::Signed;

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
    /// Words of the text that name an origin, a nationality or a religion (lower case, no
    /// accents): the page warns, the alert may still be sent.
    pub origin_terms: Vec<String>,
}

/// The size of the SMS an alert text will become, counted by the same code as the fan-out's.
pub(super) async fn sms_preview(
    State(state): State<AppState>,
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
        summary: if p.problem == Some(PreviewProblem::Empty) {
            String::new()
        } else {
            ctx.lang.sms_size(p.chars, AlertText::MAX_CHARS, p.segments, p.encoding)
        },
        sms: p.sms,
        problem: p.problem.map(PreviewProblem::as_str),
        origin_terms: p.origin_terms,
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
    /// SMS held for members' quiet hours, sent at 07:00 if the alert is still open.
    pub sms_held: u32,
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
    /// Why it went without SMS (`monthly_budget`, `daily_ceiling`); `None`: by SMS as usual.
    pub sms_withheld: Option<&'static str>,
    /// Whether the author says the police (17) were told: `yes`, `no`, `not_needed`; `None`: not
    /// said.
    pub police_called: Option<&'static str>,
    /// The all clear, once closed.
    pub closed: Option<ClosedJson>,
    /// Taken out of the feed by a referent (only its author and the referents see it).
    pub withdrawn: Option<WithdrawnJson>,
}

#[derive(Debug, Serialize)]
pub struct WithdrawnJson {
    pub reason: String,
    pub by_first_name: String,
    /// RFC 3339, UTC.
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct ClosedJson {
    /// `resolved`, `false_alarm`, `police_on_site`, `other`.
    pub ending: &'static str,
    pub note: Option<String>,
    pub by_first_name: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// What the all clear's fan-out sent to the alert's recipients; `None` before it starts.
    pub follow_up: Option<FollowUpJson>,
}

/// The all clear's delivery report.
#[derive(Debug, Serialize)]
pub struct FollowUpJson {
    pub recipients: u32,
    pub sms_sent: u32,
    pub sms_failed: u32,
    pub email_sent: u32,
    pub email_failed: u32,
    pub pending: u32,
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
                sms_held: c.sms_held,
                sms: ChannelJson::of(c.channel(Channel::Sms)),
                email: ChannelJson::of(c.channel(Channel::Email)),
            }),
            acks: report.acks,
            done_at: report.fanout_done_at.map(local_time::iso_utc),
            sms_withheld: alert.sms_withheld.map(|why| why.as_str()),
            police_called: alert.police_called.map(PoliceCalled::as_str),
            closed: alert.closed.as_ref().map(|c| ClosedJson {
                ending: c.ending.as_str(),
                note: c.note.as_ref().map(ToString::to_string),
                by_first_name: c.by_first_name.to_string(),
                at: local_time::iso_utc(c.at),
                follow_up: report.follow_up.map(|f| FollowUpJson {
                    recipients: f.counts.recipients,
                    sms_sent: f.counts.sms_sent,
                    sms_failed: f.counts.sms_failed,
                    email_sent: f.counts.email_sent,
                    email_failed: f.counts.email_failed,
                    pending: f.counts.pending,
                    done_at: f.done_at.map(local_time::iso_utc),
                }),
            }),
            withdrawn: alert.withdrawn.as_ref().map(|w| WithdrawnJson {
                reason: w.reason.to_string(),
                by_first_name: w.by_first_name.to_string(),
                at: local_time::iso_utc(w.at),
            }),
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
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query,
) -> Result<Json<AlertsJson>, WebError> {
    let after = query.get("after").filter(|a| !a.is_empty()).map(|a| Cursor(a.to_owned()));
    let (reports, next) =
        feed::page(state.store(), &signed.member, &signed.communities, query.get("community"), after).await?;
    let next = next.filter(|_| !reports.is_empty()).map(|c| c.0);
    Ok(Json(AlertsJson { alerts: reports.iter().map(AlertJson::of).collect(), next }))
}

/// `GET /api/alerts/{id}`: one alert of the member's communities.
pub(super) async fn get_one(
    State(state): State<AppState>,
    signed: Signed,
    Segments(id): Segments<String>,
) -> Result<Json<AlertJson>, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let report = feed::report(state.store(), &signed.member, id).await?;
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
    /// Whether the author told the police (17): `yes`, `no`, `not_needed` (ignored for the police).
    #[serde(default, deserialize_with = "not_null")]
    pub police_called: Option<PoliceCalled>,
}

#[derive(Debug, Serialize)]
pub struct RaisedJson {
    pub alert_ids: Vec<String>,
    /// True when this submission was recorded before (nothing new was sent).
    pub duplicate: bool,
    /// Why the alert goes without SMS (`monthly_budget`, `daily_ceiling`), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_withheld: Option<&'static str>,
}

/// `POST /api/alerts`: the same path as the page's confirmation step.
pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    CsrfJson(body): CsrfJson<NewAlertJson>,
) -> Result<Response, ApiError> {
    let submission = parse_submission(&body.submission_id)
        .ok_or(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission_id"))?;
    let communities = match body.communities {
        Some(ids) => ids,
        None => signed.communities.iter().map(|c| c.id.to_string()).collect(),
    };
    let draft = Draft {
        category: body.category.parse().ok(),
        text: body.text,
        communities,
        police: body.police_called,
    };
    let ids = |ids: Vec<AlertId>| ids.iter().map(ToString::to_string).collect();
    match draft.raise(&state, &signed, &submission).await {
        Ok(Raised::Now { ids: alert_ids, withheld }) => {
            let json = RaisedJson {
                alert_ids: ids(alert_ids),
                duplicate: false,
                sms_withheld: withheld.map(|why| why.as_str()),
            };
            Ok((StatusCode::CREATED, Json(json)).into_response())
        }
        Ok(Raised::AlreadyBefore(alert_ids)) => {
            let json = RaisedJson { alert_ids: ids(alert_ids), duplicate: true, sms_withheld: None };
            Ok((StatusCode::OK, Json(json)).into_response())
        }
        Err(Problem::Invalid(invalid)) => {
            let code = invalid.first().map_or("invalid", |first| invalid_code(*first));
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, code))
        }
        Err(Problem::RateLimited { .. }) => {
            Err(ApiError::Problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited"))
        }
        Err(Problem::Store(err)) => Err(ApiError::Web(err.into())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseJson {
    pub ending: Ending,
    #[serde(default, deserialize_with = "not_null")]
    pub note: Option<String>,
}

/// `POST /api/alerts/{id}/close`: the all clear, as the alert's page sends it; the alert as it
/// is then.
pub(super) async fn close(
    State(state): State<AppState>,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfJson(body): CsrfJson<CloseJson>,
) -> Result<Json<AlertJson>, ApiError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let note = body.note.unwrap_or_default();
    match alerts::close(state.store(), &signed.member, id, body.ending, &note, None).await {
        Ok(_) => {
            let report = feed::report(state.store(), &signed.member, id).await.map_err(WebError::from)?;
            Ok(Json(AlertJson::of(&report)))
        }
        Err(CloseProblem::NoteTooLong { .. }) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "note_too_long"))
        }
        Err(CloseProblem::NoteRequired) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "note_required"))
        }
        Err(CloseProblem::AlreadyClosed) => Err(ApiError::Problem(StatusCode::CONFLICT, "already_closed")),
        Err(CloseProblem::NotFound) => Err(WebError::NotFound.into()),
        Err(CloseProblem::Forbidden) => Err(WebError::Forbidden.into()),
        Err(CloseProblem::Store(err)) => Err(WebError::from(err).into()),
    }
}

/// `POST /api/alerts/{id}/flag`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagJson {
    pub reason: FlagReason,
}

/// `POST /api/alerts/{id}/flag`'s answer.
#[derive(Debug, Serialize)]
pub struct FlaggedJson {
    /// False when the member had flagged it before (nothing counted again).
    pub counted: bool,
}

/// `POST /api/alerts/{id}/flag`: reports the alert to its community's referent, once.
pub(super) async fn flag(
    State(state): State<AppState>,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfJson(body): CsrfJson<FlagJson>,
) -> Result<Json<FlaggedJson>, ApiError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    match moderation::flag(state.store(), &signed.member, id, body.reason).await {
        Ok(applied) => Ok(Json(FlaggedJson { counted: applied == Applied::Now })),
        Err(FlagProblem::OwnAlert) => Err(ApiError::Problem(StatusCode::FORBIDDEN, "own_alert")),
        Err(FlagProblem::NotFound) => Err(WebError::NotFound.into()),
        Err(FlagProblem::Store(err)) => Err(WebError::from(err).into()),
    }
}

/// `POST /api/alerts/{id}/withdraw`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawJson {
    pub reason: String,
    #[serde(default, deserialize_with = "not_null")]
    pub correction: Option<String>,
}

/// `POST /api/alerts/{id}/withdraw`: a referent takes the alert out of the feed (its author is
/// told), with a correction to its recipients if one is given; the alert as it is then.
pub(super) async fn withdraw(
    State(state): State<AppState>,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfJson(body): CsrfJson<WithdrawJson>,
) -> Result<Json<AlertJson>, ApiError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let correction = body.correction.unwrap_or_default();
    let messengers = state.messengers();
    match moderation::withdraw(state.store(), &messengers, &signed.member, id, &body.reason, &correction)
        .await
    {
        Ok(_) => {
            let report = feed::report(state.store(), &signed.member, id).await.map_err(WebError::from)?;
            Ok(Json(AlertJson::of(&report)))
        }
        Err(WithdrawProblem::ReasonRequired) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "reason_required"))
        }
        Err(WithdrawProblem::TooLong { .. }) => {
            Err(ApiError::Problem(StatusCode::UNPROCESSABLE_ENTITY, "too_long"))
        }
        Err(WithdrawProblem::AlreadyWithdrawn) => {
            Err(ApiError::Problem(StatusCode::CONFLICT, "already_withdrawn"))
        }
        Err(WithdrawProblem::NotFound) => Err(WebError::NotFound.into()),
        Err(WithdrawProblem::Forbidden) => Err(WebError::Forbidden.into()),
        Err(WithdrawProblem::Store(err)) => Err(WebError::from(err).into()),
    }
}

/// The stable code of what is wrong with an alert (`docs/openapi.yaml`).
fn invalid_code(invalid: Invalid) -> &'static str {
    match invalid {
        Invalid::NoCategory => "invalid_category",
        Invalid::EmptyText => "text_empty",
        Invalid::TextTooLong { .. } => "text_too_long",
        Invalid::NoCommunity => "invalid_communities",
    }
}
