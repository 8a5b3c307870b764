//! The JSON API under `/api/`. Errors answer `{"error": "<code>"}` with the status (see
//! [`crate::render::error_response`]); signed out is 401.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use vigie::domain::{AlertText, Encoding};

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::Query;
use crate::pages::alerts::{preview, source_of};
use crate::render::Ctx;
use crate::session::Signed;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new().route("/api/sms-preview", get(sms_preview::<B>))
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
    let category = query.get("category").and_then(|c| c.parse().ok());
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
