//! "Mes données": a member downloads everything vigie holds about them (JSON), and deletes their
//! account with a code sent to them ([`vigie::app::erasure`]).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use vigie::app::erasure::{self, CodeSent, Problem};

use crate::app::AppState;
use crate::cookies::{Cookies, SetCookie};
use crate::error::WebError;
use crate::forms::Query;
use crate::guard::CsrfForm;
use crate::render::{self, Chrome, Ctx, Section};
use crate::session::{MaybeSigned, SESSION_COOKIE, Signed};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my-data", get(show))
        .route("/my-data/download", get(download))
        .route("/my-data/erase", post(send_code))
        .route("/my-data/erase/confirm", post(confirm))
        .route("/my-data/erased", get(erased))
}

#[derive(Template)]
#[template(path = "my_data.html")]
struct MyDataPage {
    chrome: Chrome,
    csrf: String,
    /// The sentence that says where the code went.
    notice: Option<String>,
    error: Option<String>,
    /// A code was sent: the form to type it is shown.
    code_form: bool,
}

fn page(
    state: &AppState,
    ctx: &Ctx,
    signed: &Signed,
    sent: Option<CodeSent>,
    error: Option<String>,
) -> MyDataPage {
    let t = ctx.lang.t();
    MyDataPage {
        chrome: Chrome::new(state, ctx, t.my_data.title, Section::Settings, Some(signed)),
        csrf: signed.session.csrf.clone(),
        notice: sent.map(|sent| {
            match sent {
                CodeSent::Email => t.my_data.code_sent_email,
                CodeSent::Sms => t.my_data.code_sent_sms,
            }
            .to_owned()
        }),
        code_form: sent.is_some() || error.is_some(),
        error,
    }
}

/// `GET /my-data`: `?code=email|sms` after a code was sent.
async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Query(query): Query,
) -> Result<Response, WebError> {
    let sent = match query.get("code") {
        Some("email") => Some(CodeSent::Email),
        Some("sms") => Some(CodeSent::Sms),
        _ => None,
    };
    render::ok(&page(&state, &ctx, &signed, sent, None))
}

/// `GET /my-data/download`: everything vigie holds about the member, as a JSON file.
async fn download(State(state): State<AppState>, signed: Signed) -> Result<Response, WebError> {
    let config = state.config();
    let data =
        erasure::my_data(state.store(), &signed.member, &config.data_controller, config.retention).await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| WebError::Internal(e.to_string()))?;
    let day = &data.generated_at[..10];
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"vigie-mes-donnees-{day}.json\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// What the member reads when no code went out, and the status that says it.
fn not_sent(problem: Problem, ctx: &Ctx) -> Result<(StatusCode, String), WebError> {
    let t = &ctx.lang.t().my_data;
    Ok(match problem {
        Problem::TooMany => (StatusCode::TOO_MANY_REQUESTS, t.too_many.to_owned()),
        Problem::Unreachable => (StatusCode::UNPROCESSABLE_ENTITY, t.unreachable.to_owned()),
        Problem::NotSent(_) => (StatusCode::SERVICE_UNAVAILABLE, t.not_sent.to_owned()),
        Problem::Wrong { tries_left } => (StatusCode::UNPROCESSABLE_ENTITY, ctx.lang.wrong_code(tries_left)),
        Problem::Gone => (StatusCode::GONE, t.code_gone.to_owned()),
        Problem::NotFound => return Err(WebError::NotFound),
        Problem::Forbidden => return Err(WebError::Forbidden),
        Problem::Store(err) => return Err(err.into()),
    })
}

/// `POST /my-data/erase`: a code that confirms the erasure, by email (or SMS without an address).
async fn send_code(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    let from = &state.config().sender_email;
    match erasure::send_code(state.store(), state.mailer(), state.texter(), from, &signed.member).await {
        Ok(CodeSent::Email) => Ok(render::see_other(&state, "/my-data?code=email")),
        Ok(CodeSent::Sms) => Ok(render::see_other(&state, "/my-data?code=sms")),
        Err(problem) => {
            let (status, message) = not_sent(problem, &ctx)?;
            let mut shown = page(&state, &ctx, &signed, None, Some(message));
            shown.code_form = false;
            render::page(status, &shown)
        }
    }
}

/// `POST /my-data/erase/confirm`: the code typed; the right one erases the account and signs out.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let typed: String = form.text("code").chars().take(32).collect();
    match erasure::confirm(state.store(), &signed.member, &typed).await {
        Ok(_) => {
            let cookies = Cookies::new(state.site(), &[SetCookie::clear_secret(SESSION_COOKIE)]);
            Ok((cookies, render::see_other(&state, "/my-data/erased")).into_response())
        }
        Err(problem) => {
            let (status, message) = not_sent(problem, &ctx)?;
            render::page(status, &page(&state, &ctx, &signed, None, Some(message)))
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct ErasedPage {
    chrome: Chrome,
    heading: &'static str,
    body: &'static str,
    link_href: String,
    link_label: &'static str,
}

/// `GET /my-data/erased`: the account is gone (open to anyone: its session is gone too).
async fn erased(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSigned(signed): MaybeSigned,
) -> Result<Response, WebError> {
    let t = &ctx.lang.t().my_data;
    render::ok(&ErasedPage {
        chrome: Chrome::new(&state, &ctx, t.erased_title, Section::Other, signed.as_ref()),
        heading: t.erased_title,
        body: t.erased_text,
        link_href: state.site().href("/"),
        link_label: t.home_link,
    })
}
