//! Who is asking: the session cookie, the signed-in member, and the anti-CSRF checks.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use tracing::debug;
use vigie::adapters::now_ms;
use vigie::domain::{Community, CommunityId, Member, Role, TimeZoneId};
use vigie::model::{Session, TokenHash};
use vigie::ports::{MemberLookup, Sessions};

use crate::app::{AppState, Backend};
use crate::cookies::{self, SetCookie, is_token, random_token, same_secret};
use crate::error::WebError;

/// The cookie of a signed-in browser: a random secret, stored only as its hash.
pub const SESSION_COOKIE: &str = "vigie_session";
/// The double-submit cookie of the forms shown to anonymous visitors.
pub const CSRF_COOKIE: &str = "vigie_csrf";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A signed-in member, as every page behind sign-in gets them (freshly read from the store).
#[derive(Clone, Debug)]
pub struct Signed {
    pub member: Member,
    /// Their communities, in the member's order (those that exist).
    pub communities: Vec<Community>,
    pub session: Session,
    pub hash: TokenHash,
}

impl Signed {
    pub fn is_police(&self) -> bool {
        self.member.role == Role::Police
    }

    pub fn is_referent(&self) -> bool {
        self.member.role == Role::Referent
    }

    /// Checks the anti-CSRF field of a state-changing form against the session's.
    pub fn check_csrf(&self, field: Option<&str>) -> Result<(), WebError> {
        match field {
            Some(value) if same_secret(value, &self.session.csrf) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }

    /// The community of theirs with this id.
    pub fn community(&self, id: &str) -> Option<&Community> {
        self.communities.iter().find(|c| c.id.as_str() == id)
    }

    /// The time zone the times of one of their communities are shown in (their own zone for
    /// a community not theirs).
    pub fn time_zone(&self, community: &CommunityId) -> TimeZoneId {
        self.community(community.as_str()).map_or_else(|| self.home_time_zone(), |c| c.time_zone.clone())
    }

    /// The zone of their first community (`Europe/Paris` if none): their settings' times.
    pub fn home_time_zone(&self) -> TimeZoneId {
        self.communities.first().map(|c| c.time_zone.clone()).unwrap_or_default()
    }
}

/// Pages behind sign-in take `Signed`: without a valid session they answer "signed out"
/// (a redirect to the sign-in page, or 401 for the API).
impl<B: Backend> FromRequestParts<AppState<B>> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<B>) -> Result<Self, Self::Rejection> {
        MaybeSigned::from_request_parts(parts, state).await?.0.ok_or(WebError::SignedOut)
    }
}

/// For pages anyone may see, that change when one is signed in.
#[derive(Clone)]
pub struct MaybeSigned(pub Option<Signed>);

/// The session is read once per request, however many extractors ask for it (a handler's
/// [`Signed`], and the guards of [`crate::guard`]): the first keeps it in the request.
impl<B: Backend> FromRequestParts<AppState<B>> for MaybeSigned {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<B>) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<MaybeSigned>() {
            return Ok(known.clone());
        }
        let found = MaybeSigned(signed_in(&parts.headers, state).await?);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

/// The member behind the request's session cookie: `None` when there is none, or it is
/// forged, unknown or expired, or its member is gone.
pub async fn signed_in<B: Backend>(
    headers: &HeaderMap,
    state: &AppState<B>,
) -> Result<Option<Signed>, WebError> {
    let Some(token) = cookies::get(headers, SESSION_COOKIE).filter(|t| is_token(t)) else {
        return Ok(None);
    };
    let hash = TokenHash::of(token);
    let Some(session) = state.store().session(&hash).await? else {
        debug!("unknown or expired session");
        return Ok(None);
    };
    if session.expires_at_ms <= now_ms() {
        return Ok(None);
    }
    let Some(member) = state.store().member(session.member_id).await? else {
        return Ok(None);
    };
    let mut communities = Vec::with_capacity(member.communities.len());
    for id in &member.communities {
        if let Some(community) = state.store().community(id).await? {
            communities.push(community);
        }
    }
    Ok(Some(Signed { member, communities, session, hash }))
}

/// Starts a session for `member`: stored as the hash of a fresh secret, which goes in the cookie.
/// Returns the cookie and the stored hash.
pub async fn start<B: Backend>(
    state: &AppState<B>,
    member: &Member,
) -> Result<(SetCookie, TokenHash), WebError> {
    let token = random_token();
    let session = Session {
        member_id: member.id,
        csrf: random_token(),
        expires_at_ms: now_ms() + SESSION_TTL.as_millis() as i64,
    };
    let hash = TokenHash::of(&token);
    state.store().put_session(&hash, &session).await?;
    Ok((SetCookie::new(SESSION_COOKIE, token, Some(SESSION_TTL.as_secs())), hash))
}

/// The double-submit token of an anonymous form: the browser's `vigie_csrf` cookie, or a new
/// one to set.
pub fn anonymous_csrf(headers: &HeaderMap) -> (String, Option<SetCookie>) {
    match cookies::get(headers, CSRF_COOKIE).filter(|t| is_token(t)) {
        Some(token) => (token.to_owned(), None),
        None => {
            let token = random_token();
            let cookie = SetCookie::new(CSRF_COOKIE, token.clone(), None);
            (token, Some(cookie))
        }
    }
}

/// Checks an anonymous form's field against the `vigie_csrf` cookie.
pub fn check_anonymous_csrf(headers: &HeaderMap, field: Option<&str>) -> Result<(), WebError> {
    match (cookies::get(headers, CSRF_COOKIE), field) {
        (Some(cookie), Some(field)) if is_token(cookie) && same_secret(cookie, field) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}
