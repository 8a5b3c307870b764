//! A member's rights over their data ("Mes données"): a copy of everything vigie holds about
//! them, and the erasure of their account, confirmed by a code sent to them (by email, or by SMS
//! when they have no address), or done by a referent for an SMS-only member who asks in person.
//!
//! The erasure takes their profile, memberships, number and address claims, every ledger record
//! that names them (deliveries, receipts, acknowledgements, flags, sessions, sign-in links,
//! codes, invitations, rate-limit counters) and the invitations' placeholders; the alerts they
//! raised stay in their neighbours' feed, signed "un voisin" ([`MemberId::ERASED`]), as do the
//! all clears and withdrawals they made. It can be run again: each step finds what is left.

use std::time::Duration;

use serde::Serialize;
use tracing::{info, instrument, warn};

use crate::adapters::now_ms;
use crate::app::phone::new_code;
use crate::compose;
use crate::domain::{
    AlertId, AlertSource, AlertText, Category, Email, Ending, Member, MemberId, PoliceCalled, Role,
    rfc3339_utc, texts,
};
use crate::model::{Record, TokenHash};
use crate::ports::{
    Limits, Mailer, MemberLookup, MemberRecords, Membership, Offers, SendError, StoreError, Texter,
};

/// How long an erasure code works.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes typed before the code is spent.
pub const MAX_TRIES: u32 = 3;
/// Erasure codes a member may ask for in an hour.
pub const CODES_PER_MEMBER_PER_HOUR: u32 = 3;
const HOUR: Duration = Duration::from_secs(3600);

/// Why an erasure was not done, or its code not sent.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// More codes than [`CODES_PER_MEMBER_PER_HOUR`]: nothing sent.
    #[error("too many erasure codes asked for")]
    TooMany,
    /// Neither an address nor a confirmed number to send the code to: a referent does it.
    #[error("no address or confirmed number to send a code to")]
    Unreachable,
    #[error("erasure code not sent: {0}")]
    NotSent(SendError),
    /// Not the code sent; `tries_left` more may be typed.
    #[error("wrong code, {tries_left} tries left")]
    Wrong { tries_left: u32 },
    /// No code waits, its time is over, or its tries are spent: a new code is needed.
    #[error("no erasure code waits")]
    Gone,
    /// No such member in the referent's community.
    #[error("not found")]
    NotFound,
    /// Not a member a referent may erase: themselves, the police, another referent, or a member
    /// with an address (who does it from their own page, with a code).
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the code went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSent {
    Email,
    Sms,
}

/// What an erasure took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Alerts that now say "un voisin" where the member was (author, closer, withdrawer).
    pub alerts_anonymised: usize,
    /// Ledger records deleted.
    pub records_deleted: usize,
    /// Invitations' placeholders removed from other communities' pages.
    pub placeholders_removed: usize,
}

/// Everything vigie holds about a member, as they download it.
#[derive(Clone, Debug, Serialize)]
pub struct MyData {
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// Who answers for the data (the template's `DataController`).
    pub controller: String,
    /// Days alerts and their records are kept after they were raised.
    pub retention_days: u64,
    /// The member's profile as stored (every field but the secret of their unsubscribe links).
    pub profile: serde_json::Value,
    pub communities: Vec<CommunityData>,
    /// The alerts they raised, closed or withdrew, still kept.
    pub alerts: Vec<AlertData>,
    /// The ledger's records that name them.
    pub records: Vec<Record>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CommunityData {
    pub id: String,
    pub name: String,
    pub town: String,
}

/// An alert in "Mes données": what it said and what the member did with it.
#[derive(Clone, Debug, Serialize)]
pub struct AlertData {
    pub alert_id: AlertId,
    pub community: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub text: AlertText,
    pub source: AlertSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub police_called: Option<PoliceCalled>,
    /// What the member was to it: `author`, `closed`, `withdrew`.
    pub you: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending: Option<Ending>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<AlertText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<AlertText>,
}

/// Everything vigie holds about `member`.
#[instrument(skip_all, fields(member = %member.id))]
pub async fn my_data<S>(
    store: &S,
    member: &Member,
    controller: &str,
    retention: Duration,
) -> Result<MyData, StoreError>
where
    S: MemberLookup + MemberRecords + Sync,
{
    let mut profile = serde_json::to_value(member)
        .map_err(|e| StoreError::Corrupt { what: "member", reason: e.to_string() })?;
    if let Some(fields) = profile.as_object_mut() {
        fields.remove("unsubscribe_token");
    }
    let mut communities = Vec::new();
    for id in &member.communities {
        if let Some(c) = store.community(id).await? {
            communities.push(CommunityData { id: c.id.to_string(), name: c.name, town: c.town });
        }
    }
    let alerts = store
        .alerts_touching(member.id)
        .await?
        .into_iter()
        .map(|a| {
            let mut you = Vec::new();
            if a.sender_id == member.id {
                you.push("author");
            }
            if a.closed.as_ref().is_some_and(|c| c.by == member.id) {
                you.push("closed");
            }
            if a.withdrawn.as_ref().is_some_and(|w| w.by == member.id) {
                you.push("withdrew");
            }
            AlertData {
                alert_id: a.alert_id,
                community: a.community_name,
                created_at: rfc3339_utc(a.created_at),
                text: a.text,
                source: a.source,
                category: a.category,
                police_called: a.police_called,
                you,
                ending: a.closed.as_ref().map(|c| c.ending),
                note: a.closed.and_then(|c| c.note),
                withdrawn_reason: a.withdrawn.map(|w| w.reason),
            }
        })
        .collect();
    let records = store.records_of(member.id).await?;
    Ok(MyData {
        generated_at: rfc3339_utc(now_ms()),
        controller: controller.to_owned(),
        retention_days: retention.as_secs() / 86_400,
        profile,
        communities,
        alerts,
        records,
    })
}

/// The hash an erasure code is kept as: salted with the member and the purpose, so it matches
/// no other code.
fn code_hash(member: MemberId, code: &str) -> TokenHash {
    TokenHash::of(&format!("erase:{member}:{code}"))
}

/// Sends `member` a code that confirms their erasure: by email to their address, or by SMS to
/// their confirmed number when they have no address.
#[instrument(skip_all, fields(member = %member.id))]
pub async fn send_code<S, M, T>(
    store: &S,
    mailer: &M,
    texter: &T,
    from: &Email,
    member: &Member,
) -> Result<CodeSent, Problem>
where
    S: Limits + MemberRecords + Sync,
    M: Mailer + Sync,
    T: Texter + Sync,
{
    let phone = member.phone.as_ref().filter(|_| member.phone_confirmed && member.stands_for.is_none());
    if member.email.is_none() && phone.is_none() {
        return Err(Problem::Unreachable);
    }
    if !store
        .within_limit(&format!("erasecode-member#{}", member.id), CODES_PER_MEMBER_PER_HOUR, HOUR)
        .await?
    {
        warn!("erasure codes rate-limited for this member");
        return Err(Problem::TooMany);
    }
    let code = new_code();
    let minutes = CODE_TTL.as_secs() / 60;
    // Kept before it is sent: a code that arrives always finds itself waiting.
    store
        .put_erasure_code(member.id, &code_hash(member.id, &code), now_ms() + CODE_TTL.as_millis() as i64)
        .await?;
    if let Some(email) = &member.email {
        let mime = compose::erasure_code_email(from, email, &member.first_name, &code, minutes);
        mailer.send_raw(email, mime).await.map_err(Problem::NotSent)?;
        info!(to = %email.masked(), "erasure code sent by email");
        return Ok(CodeSent::Email);
    }
    let phone = phone.ok_or(Problem::Unreachable)?;
    texter.send_sms(phone, &texts::erasure_code_sms(&code, minutes)).await.map_err(Problem::NotSent)?;
    info!(to = %phone.masked(), "erasure code sent by SMS");
    Ok(CodeSent::Sms)
}

/// Takes the code `typed` and, when it is the code sent, erases `member`. A wrong code counts a
/// try; the right one typed again after a failure for now (the store unavailable) is taken
/// again, and the erasure goes on from where it stopped.
#[instrument(skip_all, fields(member = %member.id))]
pub async fn confirm<S>(store: &S, member: &Member, typed: &str) -> Result<Erased, Problem>
where
    S: MemberLookup + MemberRecords + Membership + Offers + Sync,
{
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let hash = code_hash(member.id, &typed);
    let well_formed = typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit());
    // The code kept is compared by DynamoDB's condition (`code = :code`), with the tries.
    let right = well_formed && store.accept_erasure_code(member.id, &hash, MAX_TRIES).await?;
    if !right {
        let Some(tries) = store.count_wrong_erasure_code(member.id, MAX_TRIES).await? else {
            return Err(Problem::Gone);
        };
        let tries_left = MAX_TRIES.saturating_sub(tries);
        warn!(tries_left, "wrong erasure code");
        return Err(if tries_left == 0 { Problem::Gone } else { Problem::Wrong { tries_left } });
    }
    Ok(erase(store, member.id).await?)
}

/// A referent erases a member of their `community` who has no address (an SMS-only member who
/// asked in person): not themselves, not the police, not another referent.
#[instrument(skip_all, fields(referent = %referent.id, member = %target))]
pub async fn erase_for<S>(
    store: &S,
    referent: &Member,
    community: &crate::domain::CommunityId,
    target: MemberId,
) -> Result<Erased, Problem>
where
    S: MemberLookup + MemberRecords + Membership + Offers + Sync,
{
    let member = store.member(target).await?.filter(|m| m.belongs_to(community)).ok_or(Problem::NotFound)?;
    if member.id == referent.id || member.role != Role::Resident || member.email.is_some() {
        return Err(Problem::Forbidden);
    }
    let erased = erase(store, member.id).await?;
    info!("member erased by their referent, at their request");
    Ok(erased)
}

/// Erases member `id`: their alerts first (they keep their text, signed "un voisin"), then the
/// invitations' placeholders and every ledger record, the profile and its claims last, so a run
/// cut short leaves the member able to run it again.
async fn erase<S>(store: &S, id: MemberId) -> Result<Erased, StoreError>
where
    S: MemberLookup + MemberRecords + Membership + Offers + Sync,
{
    let mut erased = Erased::default();
    for alert in store.alerts_touching(id).await? {
        store.anonymise(alert.alert_id, id).await?;
        erased.alerts_anonymised += 1;
    }
    let member = store.member(id).await?;
    for offer in store.offers(id).await? {
        if let Some(placeholder) = store.member(offer.placeholder).await?.filter(|p| p.stands_for == Some(id))
        {
            store.remove_member(&placeholder).await?;
            erased.placeholders_removed += 1;
        }
    }
    erased.records_deleted = store.forget_records(id, member.as_ref().and_then(|m| m.phone.as_ref())).await?;
    if let Some(member) = &member {
        store.remove_member(member).await?;
    }
    info!(
        alerts = erased.alerts_anonymised,
        records = erased.records_deleted,
        placeholders = erased.placeholders_removed,
        "member erased"
    );
    Ok(erased)
}
