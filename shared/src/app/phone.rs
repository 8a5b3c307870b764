//! A number is a member's only once its owner says so: a new number typed on the page or in the
//! API gets a 6-digit code by SMS, and becomes the member's number (the one alerts go to) only
//! when that code is typed back, within [`CODE_TTL`] and [`MAX_TRIES`] tries. Until then the
//! member's number is the one before, if any.
//!
//! "Taken" is never told to the person who typed a number: a number another member holds gets,
//! instead of a code, a text telling its owner that someone typed it, and no code typed matches.
//! The visitor reads the same answer either way ("a code was sent"). Codes are limited per
//! member ([`CODES_PER_MEMBER_PER_HOUR`]) and per number ([`CODES_PER_NUMBER_PER_DAY`], whoever
//! asks), so nobody can make vigie text a stranger more than a few times.

use std::time::Duration;

use tracing::{info, instrument, warn};

use crate::adapters::now_ms;
use crate::domain::{Member, MemberId, PhoneNumber, texts};
use crate::model::{PendingPhone, TokenHash};
use crate::ports::{
    Limits, MemberLookup, Membership, PhoneCodes, RegisterError, SendError, StoreError, Texter,
};
use crate::secret::same_secret;

/// How long a code works.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Codes typed before a code is spent.
pub const MAX_TRIES: u32 = 3;
/// Codes one member may ask for in an hour, whatever the numbers.
pub const CODES_PER_MEMBER_PER_HOUR: u32 = 3;
/// Texts one number may get in a day for codes typed on the page, whoever typed it.
pub const CODES_PER_NUMBER_PER_DAY: u32 = 5;
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Why no code went out.
#[derive(Debug, thiserror::Error)]
pub enum SendProblem {
    /// More codes than [`CODES_PER_MEMBER_PER_HOUR`] or [`CODES_PER_NUMBER_PER_DAY`]: nothing sent.
    #[error("too many confirmation codes asked for")]
    TooMany,
    /// No number waits for a code (a resend without a number typed, or after its time).
    #[error("no number waits for a code")]
    NothingPending,
    #[error("confirmation code not sent: {0}")]
    NotSent(SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a typed code did not confirm the number.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmProblem {
    /// Not the code sent; `tries_left` more may be typed.
    #[error("wrong code, {tries_left} tries left")]
    Wrong { tries_left: u32 },
    /// No number waits, its time is over, or its tries are spent: a new code is needed.
    #[error("no number waits for this code")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegisterError> for ConfirmProblem {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Store(err) => Self::Store(err),
            // Another member confirmed the number in the meantime (or the member is gone).
            _ => Self::Gone,
        }
    }
}

/// The hash a code is kept as: salted with the member, so one table row tells nothing of another.
#[must_use]
pub fn code_hash(member: MemberId, code: &str) -> TokenHash {
    TokenHash::of(&format!("{member}:{code}"))
}

/// A fresh 6-digit code from the thread-local CSPRNG.
pub(crate) fn new_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// Texts a code to `phone` for `member` (or, when another member holds `phone`, tells that
/// member instead) and keeps `phone` as waiting for it, in place of any number before.
#[instrument(skip_all, fields(member = %member.id, to = %phone.masked()))]
pub async fn send_code<S, T>(
    store: &S,
    texter: &T,
    member: &Member,
    phone: &PhoneNumber,
) -> Result<(), SendProblem>
where
    S: Limits + MemberLookup + PhoneCodes + Sync,
    T: Texter + Sync,
{
    if !store
        .within_limit(&format!("phonecode-member#{}", member.id), CODES_PER_MEMBER_PER_HOUR, HOUR)
        .await?
    {
        warn!("confirmation codes rate-limited for this member");
        return Err(SendProblem::TooMany);
    }
    // Keyed by a hash: the limits never hold a number.
    let number_key = format!("phonecode-number#{}", TokenHash::of(phone.as_str()).as_str());
    if !store.within_limit(&number_key, CODES_PER_NUMBER_PER_DAY, DAY).await? {
        warn!("confirmation codes rate-limited for this number");
        return Err(SendProblem::TooMany);
    }
    let until_ms = now_ms() + CODE_TTL.as_millis() as i64;
    let owner = store.member_by_phone(phone).await?.filter(|owner| owner.id != member.id);
    let (code, body) = match owner {
        Some(owner) => {
            info!(owner = %owner.id, "number typed is another member's: its owner is told, no code sent");
            (None, texts::phone_claimed_sms())
        }
        None => {
            let code = new_code();
            let body = texts::phone_code_sms(&code, CODE_TTL.as_secs() / 60);
            (Some(code_hash(member.id, &code)), body)
        }
    };
    // Kept before it is sent: a code that arrives always finds its number waiting.
    store
        .put_pending_phone(member.id, &PendingPhone { phone: phone.clone(), code, tries: 0, until_ms })
        .await?;
    texter.send_sms(phone, &body).await.map_err(SendProblem::NotSent)?;
    info!("confirmation code sent");
    Ok(())
}

/// Sends a new code to the number waiting for one (the limits of [`send_code`] apply).
pub async fn resend_code<S, T>(store: &S, texter: &T, member: &Member) -> Result<PhoneNumber, SendProblem>
where
    S: Limits + MemberLookup + PhoneCodes + Sync,
    T: Texter + Sync,
{
    let Some(pending) = store.pending_phone(member.id).await? else {
        return Err(SendProblem::NothingPending);
    };
    send_code(store, texter, member, &pending.phone).await?;
    Ok(pending.phone)
}

/// The number `member` waits to confirm, if any.
pub async fn pending<S: PhoneCodes + Sync>(
    store: &S,
    member: &Member,
) -> Result<Option<PendingPhone>, StoreError> {
    store.pending_phone(member.id).await
}

/// Takes the code `typed` for the number waiting: when it is the code sent, the number becomes
/// the member's (claimed, the old one released). Answers the member as saved.
///
/// A wrong code counts a try; the right one is taken only while fewer than [`MAX_TRIES`] wrong
/// ones were counted (both atomically, so guesses sent at once do no better). The right code
/// typed again after a failure for now (the store unavailable) is taken again: a retry does not
/// spend a try.
#[instrument(skip_all, fields(member = %member.id))]
pub async fn confirm<S>(store: &S, member: &Member, typed: &str) -> Result<Member, ConfirmProblem>
where
    S: Membership + PhoneCodes + Sync,
{
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(pending) = store.pending_phone(member.id).await? else {
        return Err(ConfirmProblem::Gone);
    };
    let hash = code_hash(member.id, &typed);
    let right = pending.code.as_ref().is_some_and(|code| same_secret(code.as_str(), hash.as_str()));
    if !right || !store.accept_pending_phone(member.id, &hash, MAX_TRIES).await? {
        let Some(counted) = store.count_wrong_code(member.id, MAX_TRIES).await? else {
            return Err(ConfirmProblem::Gone);
        };
        let tries_left = MAX_TRIES.saturating_sub(counted.tries);
        warn!(tries_left, "wrong confirmation code");
        return Err(if tries_left == 0 {
            ConfirmProblem::Gone
        } else {
            ConfirmProblem::Wrong { tries_left }
        });
    }
    let updated = Member { phone: Some(pending.phone.clone()), phone_confirmed: true, ..member.clone() }
        .settling_problems(member);
    if &updated != member {
        store.update_member(member, &updated).await?;
    }
    store.drop_pending_phone(member.id).await?;
    info!(to = %pending.phone.masked(), "number confirmed");
    Ok(updated)
}

/// Forgets the number waiting for a code (the member's number stays as it is).
pub async fn cancel<S: PhoneCodes + Sync>(store: &S, member: &Member) -> Result<(), StoreError> {
    store.drop_pending_phone(member.id).await
}
