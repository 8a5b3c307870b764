//! Signing in without a password: an emailed one-time link, then a session cookie.

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;
use tracing::{info, instrument, warn};
use vigie::compose;
use vigie::domain::{Email, redact};
use vigie::model::TokenHash;
use vigie::ports::{Limits, Mailer, MemberLookup, Sessions};

use crate::app::{AppState, Backend};
use crate::cookies::{self, Cookies, SetCookie, is_token, random_token};
use crate::error::WebError;
use crate::forms::{Query, Segments};
use crate::guard::{AnonymousForm, CsrfForm};
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::{self, MaybeSigned, SESSION_COOKIE, Signed, anonymous_csrf};

/// How long a sign-in link works.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// Sign-in links one address may ask for per hour.
pub const LINKS_PER_HOUR: u32 = 5;
const HOUR: Duration = Duration::from_secs(3600);

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new()
        .route("/signin", get(form::<B>).post(request_link::<B>))
        .route("/signin/{token}", get(link_page::<B>).post(use_link::<B>))
        .route("/signout", post(sign_out::<B>))
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

fn signin_page<B: Backend>(
    state: &AppState<B>,
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
async fn form<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    MaybeSigned(signed): MaybeSigned,
    headers: HeaderMap,
    Query(query): Query,
) -> Result<Response, WebError> {
    if signed.is_some() {
        return Ok(render::see_other(&state, "/"));
    }
    let (csrf, cookie) = anonymous_csrf(&headers);
    let page = signin_page(&state, &ctx, csrf, String::new(), None, query.checked("out"));
    let cookies = Cookies::new(state.site(), cookie.as_slice());
    Ok((cookies, render::ok(&page)?).into_response())
}

/// `POST /signin`: emails a link if the address is a member's. The answer is the same either
/// way, and takes about as long.
async fn request_link<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, WebError> {
    let started = Instant::now();
    let Ok(email) = Email::parse(form.text("email")) else {
        let csrf = form.csrf().unwrap_or_default().to_owned();
        let email = form.text("email").chars().take(Email::MAX_LEN).collect();
        let page = signin_page(&state, &ctx, csrf, email, Some(ctx.lang.t().common.invalid_email), false);
        return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if let Err(err) = send_link(&state, &email).await {
        // Never told to the visitor: that would say the address is registered.
        warn!(error = %redact(&err.to_string()), "sign-in link not sent");
    }
    tokio::time::sleep_until(started + state.signin_floor()).await;
    let t = ctx.lang.t();
    let page = MessagePage {
        chrome: Chrome::new(&state, &ctx, t.signin.sent_title, Section::Other, None),
        heading: t.signin.sent_title.to_owned(),
        body: format!("{} {}", t.signin.sent_body, t.signin.sent_again),
        link_href: state.site().href("/signin"),
        link_label: t.signin.new_link,
    };
    render::ok(&page)
}

#[instrument(skip_all, fields(email = %email.masked()))]
async fn send_link<B: Backend>(state: &AppState<B>, email: &Email) -> Result<(), WebError> {
    // Keyed by a hash: the limits table never holds an address.
    let key = format!("signin#{}", TokenHash::of(email.as_str()).as_str());
    if !state.store().within_limit(&key, LINKS_PER_HOUR, HOUR).await? {
        warn!("sign-in links rate-limited for this address");
        return Ok(());
    }
    let Some(member) = state.store().member_by_email(email).await? else {
        info!("sign-in link asked for an address no member has");
        return Ok(());
    };
    let token = random_token();
    state.store().put_signin_link(&TokenHash::of(&token), member.id, LINK_TTL).await?;
    let link = state.site().url(&format!("/signin/{token}"));
    let minutes = (LINK_TTL.as_secs() / 60) as u32;
    let mime = compose::signin_email(&state.config().sender_email, email, &member.first_name, &link, minutes);
    let message_id = state
        .mailer()
        .send_raw(email, mime)
        .await
        .map_err(|e| WebError::Internal(format!("sign-in email not sent: {e}")))?;
    info!(member = %member.id, %message_id, "sign-in link sent");
    Ok(())
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
async fn link_page<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    headers: HeaderMap,
    Segments(token): Segments<String>,
) -> Result<Response, WebError> {
    if !is_token(&token) {
        return invalid_link(&state, &ctx, StatusCode::NOT_FOUND);
    }
    let (csrf, cookie) = anonymous_csrf(&headers);
    let t = ctx.lang.t();
    let page = LinkPage {
        chrome: Chrome::new(&state, &ctx, t.signin.link_title, Section::Other, None),
        action: state.site().href(&format!("/signin/{token}")),
        csrf,
    };
    Ok((Cookies::new(state.site(), cookie.as_slice()), render::ok(&page)?).into_response())
}

/// `POST /signin/{token}`: uses the link up and opens a session.
async fn use_link<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    headers: HeaderMap,
    Segments(token): Segments<String>,
    AnonymousForm(_): AnonymousForm,
) -> Result<Response, WebError> {
    if !is_token(&token) {
        return invalid_link(&state, &ctx, StatusCode::NOT_FOUND);
    }
    let link = TokenHash::of(&token);
    let Some(member_id) = state.store().signin_link_member(&link).await? else {
        info!("sign-in link unknown, used or expired");
        return invalid_link(&state, &ctx, StatusCode::GONE);
    };
    let Some(member) = state.store().member(member_id).await? else {
        return invalid_link(&state, &ctx, StatusCode::GONE);
    };
    // A session this browser had (another member's, say) ends here.
    if let Some(previous) = cookies::get(&headers, SESSION_COOKIE).filter(|t| is_token(t)) {
        state.store().end_session(&TokenHash::of(previous)).await?;
    }
    // The session is stored before the link is spent: if anything fails in between, the same
    // link still works when tried again. A link used twice at the same moment opens one session.
    let (cookie, session) = session::start(&state, &member).await?;
    if state.store().take_signin_link(&link).await?.is_none() {
        state.store().end_session(&session).await?;
        info!("sign-in link used meanwhile");
        return invalid_link(&state, &ctx, StatusCode::GONE);
    }
    info!(member = %member.id, "signed in");
    Ok((Cookies::new(state.site(), &[cookie]), render::see_other(&state, "/")).into_response())
}

fn invalid_link<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    status: StatusCode,
) -> Result<Response, WebError> {
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
async fn sign_out<B: Backend>(
    State(state): State<AppState<B>>,
    signed: Signed,
    CsrfForm(_): CsrfForm,
) -> Result<Response, WebError> {
    state.store().end_session(&signed.hash).await?;
    info!(member = %signed.member.id, "signed out");
    let cookies = Cookies::new(state.site(), &[SetCookie::clear(SESSION_COOKIE)]);
    Ok((cookies, render::see_other(&state, "/signin?out=1")).into_response())
}
