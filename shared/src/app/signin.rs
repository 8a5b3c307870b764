//! Signing in without a password: a one-time link by email opens a session.
//!
//! What holds whatever the door: a link works once and for [`LINK_TTL`]; one address gets at
//! most [`LINKS_PER_HOUR`] links, one network at most `SIGNIN_LINKS_PER_IP_PER_HOUR` requests
//! (whatever the addresses); nothing the caller sees tells whether an address is a
//! member's (the outcome of [`request_link`] is for the logs); links and sessions are stored
//! only as the hash of their secret.

use std::time::Duration;

use tracing::{debug, info, instrument, warn};

use crate::adapters::now_ms;
use crate::compose;
use crate::domain::{Community, CommunityId, Email, Member, Role, SourceIp, TimeZoneId};
use crate::model::{Session, TokenHash};
use crate::ports::{Limits, Mailer, MemberLookup, SendError, Sessions, StoreError};
use crate::secret::{is_token, random_token, same_secret};

/// How long a sign-in link works.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// Sign-in links one address may ask for per hour.
pub const LINKS_PER_HOUR: u32 = 5;
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

/// What became of a request for a link. Never told to the visitor, who reads the same answer
/// whatever it is: only logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRequest {
    Sent,
    /// More than [`LINKS_PER_HOUR`] for this address: nothing sent.
    RateLimited,
    /// More requests from this network this hour than [`LinkAsk::per_ip_per_hour`], whatever
    /// the addresses: nothing sent, nothing looked up. The one outcome the visitor is told (it
    /// says nothing of the address).
    FromNetworkLimited,
    /// No member has this address: nothing sent.
    NoSuchMember,
}

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not a link vigie could have made.
    #[error("not a sign-in link")]
    Malformed,
    /// Unknown, used or expired, or its member is gone.
    #[error("sign-in link unknown, used or expired")]
    Gone,
    #[error("sign-in email not sent: {0}")]
    NotSent(SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request for a sign-in link.
#[derive(Clone, Copy, Debug)]
pub struct LinkAsk<'a> {
    /// The service's From address.
    pub sender: &'a Email,
    /// The address typed.
    pub email: &'a Email,
    /// Where the request came from (the connection's address), when known.
    pub from: Option<&'a SourceIp>,
    /// Requests one network may send an hour (`SIGNIN_LINKS_PER_IP_PER_HOUR`).
    pub per_ip_per_hour: u32,
}

/// Emails a sign-in link to `email` if it is a member's, the address has links left this hour
/// and its network requests left. `link_url` makes the link's address from its secret.
#[instrument(skip_all, fields(email = %ask.email.masked()))]
pub async fn request_link<S, M>(
    store: &S,
    mailer: &M,
    ask: LinkAsk<'_>,
    link_url: impl FnOnce(&str) -> String,
) -> Result<LinkRequest, Problem>
where
    S: Limits + MemberLookup + Sessions + Sync,
    M: Mailer + Sync,
{
    let LinkAsk { sender, email, from, per_ip_per_hour } = ask;
    // First, and whatever the address: one network spraying addresses is stopped before any is
    // looked up (a mail bomb of many members, or a probe of which addresses are).
    if !store.within_limit(&super::network_limit_key("signin", from), per_ip_per_hour, HOUR).await? {
        let from = from.map_or_else(|| "unknown".to_owned(), SourceIp::masked);
        warn!(%from, per_hour = per_ip_per_hour, "sign-in links rate-limited for this network");
        return Ok(LinkRequest::FromNetworkLimited);
    }
    // Keyed by a hash: the limits table never holds an address.
    let key = format!("signin#{}", TokenHash::of(email.as_str()).as_str());
    if !store.within_limit(&key, LINKS_PER_HOUR, HOUR).await? {
        warn!("sign-in links rate-limited for this address");
        return Ok(LinkRequest::RateLimited);
    }
    let Some(member) = store.member_by_email(email).await? else {
        info!("sign-in link asked for an address no member has");
        return Ok(LinkRequest::NoSuchMember);
    };
    let token = random_token();
    store.put_signin_link(&TokenHash::of(&token), member.id, LINK_TTL).await?;
    let minutes = (LINK_TTL.as_secs() / 60) as u32;
    let mime = compose::signin_email(sender, email, &member.first_name, &link_url(&token), minutes);
    let message_id = mailer.send_raw(email, mime).await.map_err(Problem::NotSent)?;
    info!(member = %member.id, %message_id, "sign-in link sent");
    Ok(LinkRequest::Sent)
}

/// A session just opened: `token` is the browser's secret, of which only `hash` is stored.
#[derive(Debug)]
pub struct Opened {
    pub member: Member,
    pub token: String,
    pub hash: TokenHash,
}

/// Uses a sign-in link up and opens a session; `previous`, the session this browser had (say
/// another member's), ends.
///
/// The session is stored before the link is spent: if anything fails in between, the same
/// link still works when tried again. A link used twice at the same moment opens one session.
pub async fn use_link<S: Sessions + MemberLookup + Sync>(
    store: &S,
    token: &str,
    previous: Option<&str>,
) -> Result<Opened, Problem> {
    if !is_token(token) {
        return Err(Problem::Malformed);
    }
    let link = TokenHash::of(token);
    let Some(member_id) = store.signin_link_member(&link).await? else {
        info!("sign-in link unknown, used or expired");
        return Err(Problem::Gone);
    };
    let Some(member) = store.member(member_id).await? else {
        return Err(Problem::Gone);
    };
    if let Some(previous) = previous.filter(|t| is_token(t)) {
        store.end_session(&TokenHash::of(previous)).await?;
    }
    let token = random_token();
    let session = Session {
        member_id: member.id,
        csrf: random_token(),
        expires_at_ms: now_ms() + SESSION_TTL.as_millis() as i64,
    };
    let hash = TokenHash::of(&token);
    store.put_session(&hash, &session).await?;
    if store.take_signin_link(&link).await?.is_none() {
        store.end_session(&hash).await?;
        info!("sign-in link used meanwhile");
        return Err(Problem::Gone);
    }
    info!(member = %member.id, "signed in");
    Ok(Opened { member, token, hash })
}

/// The member behind a session's secret, with their communities.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub member: Member,
    /// Their communities, in the member's order (those that exist).
    pub communities: Vec<Community>,
    pub session: Session,
    pub hash: TokenHash,
}

impl SignedIn {
    pub fn is_police(&self) -> bool {
        self.member.role == Role::Police
    }

    pub fn is_referent(&self) -> bool {
        self.member.role == Role::Referent
    }

    /// A town hall's account (its town is `member.town`).
    pub fn is_town_hall(&self) -> bool {
        self.member.role == Role::Mairie
    }

    /// Whether `field` carries the session's anti-CSRF secret (compared in constant time).
    pub fn csrf_matches(&self, field: Option<&str>) -> bool {
        field.is_some_and(|value| same_secret(value, &self.session.csrf))
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

/// The session of `token`: `None` when it is forged, unknown or expired, or its member is gone.
pub async fn session<S: Sessions + MemberLookup + Sync>(
    store: &S,
    token: &str,
) -> Result<Option<SignedIn>, StoreError> {
    if !is_token(token) {
        return Ok(None);
    }
    let hash = TokenHash::of(token);
    let Some(session) = store.session(&hash).await? else {
        debug!("unknown or expired session");
        return Ok(None);
    };
    if session.expires_at_ms <= now_ms() {
        return Ok(None);
    }
    let Some(member) = store.member(session.member_id).await? else {
        return Ok(None);
    };
    let mut communities = Vec::with_capacity(member.communities.len());
    for id in &member.communities {
        if let Some(community) = store.community(id).await? {
            communities.push(community);
        }
    }
    Ok(Some(SignedIn { member, communities, session, hash }))
}

/// Ends a session.
pub async fn sign_out<S: Sessions + Sync>(store: &S, signed: &SignedIn) -> Result<(), StoreError> {
    store.end_session(&signed.hash).await?;
    info!(member = %signed.member.id, "signed out");
    Ok(())
}
