//! Signing in without a password: an emailed one-time link, then a session cookie.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;
use tracing::warn;
use vigie::app::signin::{self, LinkRequest, Problem};
use vigie::domain::{Email, redact};

use crate::app::AppState;
use crate::cookies::{self, Cookies, SetCookie, is_token};
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::guard::{AnonymousForm, ClientAddress, CsrfForm};
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::{MaybeSigned, SESSION_COOKIE, Signed, anonymous_csrf, session_cookie};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(form).post(request_link))
        .route("/signin/{token}", get(link_page).post(use_link))
        .route("/signout", post(sign_out))
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    chrome: Chrome,
    csrf: String,
    email: String,
    error: Option<&'static str>,
    signed_out: bool,
    sms_number: String,
    sms_number_display: String,
}

fn signin_page(
    state: &AppState,
    ctx: &Ctx,
    csrf: String,
    email: String,
    error: Option<&'static str>,
    signed_out: bool,
) -> SigninPage {
    let number = &state.config().sms_shared_number;
    SigninPage {
        chrome: Chrome::new(state, ctx, ctx.lang.t().signin.title, Section::Other, None),
        csrf,
        email,
        error,
        signed_out,
        sms_number: number.to_string(),
        sms_number_display: render::shared_number_display(number),
    }
}

/// `GET /signin`: the form (the home page of anyone not signed in).
async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSigned(signed): MaybeSigned,
    headers: HeaderMap,
    Query(query): Query,
) -> Result<Response, WebError> {
    if signed.is_some() {
        return Ok(render::see_other(&state, "/"));
    }
    let (csrf, cookie) = anonymous_csrf(&headers, state.site());
    let page = signin_page(&state, &ctx, csrf, String::new(), None, query.checked("out"));
    let cookies = Cookies::new(state.site(), cookie.as_slice());
    Ok((cookies, render::ok(&page)?).into_response())
}

/// `POST /signin`: emails a link if the address is a member's. The answer is the same either
/// way, and takes about as long.
async fn request_link(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientAddress(from): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, WebError> {
    let started = Instant::now();
    let Ok(email) = Email::parse(form.text("email")) else {
        let csrf = form.csrf().unwrap_or_default().to_owned();
        let email = form.text("email").chars().take(Email::MAX_LEN).collect();
        let page = signin_page(&state, &ctx, csrf, email, Some(ctx.lang.t().common.invalid_email), false);
        return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let ask = signin::LinkAsk {
        sender: &state.config().sender_email,
        email: &email,
        from: from.as_ref(),
        per_ip_per_hour: state.config().signin_links_per_ip_per_hour,
    };
    let link_url = |token: &str| state.site().url(&format!("/signin/{token}"));
    let limited = match signin::request_link(state.store(), state.mailer(), ask, link_url).await {
        Ok(outcome) => outcome == LinkRequest::FromNetworkLimited,
        Err(err) => {
            // Never told to the visitor: that would say the address is registered.
            warn!(error = %redact(&err.to_string()), "sign-in link not sent");
            false
        }
    };
    tokio::time::sleep_until(started + state.signin_floor()).await;
    let t = ctx.lang.t();
    if limited {
        // Counted before the address is read: it says nothing of it.
        return render::too_many(&state, &ctx, t.common.limited_network_body);
    }
    let page = MessagePage {
        chrome: Chrome::new(&state, &ctx, t.signin.sent_title, Section::Other, None),
        heading: t.signin.sent_title.to_owned(),
        body: format!("{} {}", t.signin.sent_body, t.signin.sent_again),
        link_href: state.site().href("/signin"),
        link_label: t.signin.new_link,
    };
    render::ok(&page)
}

#[derive(Template)]
#[template(path = "signin_link.html")]
struct LinkPage {
    chrome: Chrome,
    action: String,
    csrf: String,
}

/// `GET /signin/{token}`: a button that completes the sign-in. Opening the link uses nothing
/// up, so mail scanners that fetch links do not burn it.
async fn link_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Segments(token): Segments<String>,
) -> Result<Response, WebError> {
    if !is_token(&token) {
        return invalid_link(&state, &ctx, StatusCode::NOT_FOUND);
    }
    let (csrf, cookie) = anonymous_csrf(&headers, state.site());
    let t = ctx.lang.t();
    let page = LinkPage {
        chrome: Chrome::new(&state, &ctx, t.signin.link_title, Section::Other, None),
        action: state.site().href(&format!("/signin/{token}")),
        csrf,
    };
    Ok((Cookies::new(state.site(), cookie.as_slice()), render::ok(&page)?).into_response())
}

/// `POST /signin/{token}`: uses the link up and opens a session.
async fn use_link(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Segments(token): Segments<String>,
    AnonymousForm(_): AnonymousForm,
) -> Result<Response, WebError> {
    let previous = cookies::get_secret(&headers, state.site(), SESSION_COOKIE);
    match signin::use_link(state.store(), &token, previous).await {
        Ok(opened) => {
            let cookies = Cookies::new(state.site(), &[session_cookie(&opened)]);
            Ok((cookies, render::see_other(&state, "/")).into_response())
        }
        Err(Problem::Malformed) => invalid_link(&state, &ctx, StatusCode::NOT_FOUND),
        Err(Problem::Gone) => invalid_link(&state, &ctx, StatusCode::GONE),
        Err(Problem::Store(err)) => Err(err.into()),
        Err(err @ Problem::NotSent(_)) => Err(WebError::Internal(err.to_string())),
    }
}

fn invalid_link(state: &AppState, ctx: &Ctx, status: StatusCode) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let page = MessagePage {
        chrome: Chrome::new(state, ctx, t.signin.link_invalid_title, Section::Other, None),
        heading: t.signin.link_invalid_title.to_owned(),
        body: t.signin.link_invalid_body.to_owned(),
        link_href: state.site().href("/signin"),
        link_label: t.signin.new_link,
    };
    render::page(status, &page)
}

/// `POST /signout`: ends the session and forgets the cookie.
async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    signin::sign_out(state.store(), &signed).await?;
    let cookies = Cookies::new(state.site(), &[SetCookie::clear_secret(SESSION_COOKIE)]);
    Ok((cookies, render::see_other(&state, "/signin?out=1")).into_response())
}
