//! Moderation: any member flags an alert of their community once (unfounded, offensive, personal
//! data); the community's referent sees the flags and may withdraw the alert with a reason. A
//! withdrawn alert leaves the feed (its author and the community's referents still see it,
//! marked), its author is told by SMS or email, and the referent may send a one-line correction
//! to the alert's recipients: the alert's all clear ([`super::alerts::close`], the follow-up
//! path), with the correction as its note.

use tracing::{info, instrument, warn};

use super::alerts::{self, CloseProblem};
use super::members::Messengers;
use crate::adapters::now_ms;
use crate::compose;
use crate::domain::{self, AlertId, AlertText, Community, DomainError, Ending, FlagReason, Member, Role};
use crate::model::{Alert, AlertReport, Applied, Recipient, Withdrawal};
use crate::ports::{AlertLog, Feed, Mailer, MemberLookup, StoreError, Texter};

/// The longest reason of a withdrawal, in characters once cleaned as an alert is.
pub const REASON_MAX_CHARS: usize = 200;

/// Why a flag was not counted.
#[derive(Debug, thiserror::Error)]
pub enum FlagProblem {
    /// No such alert in the member's communities (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// One's own alert: its author closes it instead.
    #[error("one's own alert")]
    OwnAlert,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts `member`'s flag of alert `id`, once per member whatever the reason.
#[instrument(skip_all, fields(member = %member.id, alert = %id))]
pub async fn flag<S>(
    store: &S,
    member: &Member,
    id: AlertId,
    reason: FlagReason,
) -> Result<Applied, FlagProblem>
where
    S: AlertLog + Sync,
{
    let alert = store.alert(id).await?.ok_or(FlagProblem::NotFound)?;
    if !member.belongs_to(&alert.community_id) || !visible_to(member, &alert) {
        return Err(FlagProblem::NotFound);
    }
    if alert.sender_id == member.id {
        return Err(FlagProblem::OwnAlert);
    }
    let applied = store.flag(id, member.id, reason).await?;
    info!(reason = reason.as_str(), now = applied == Applied::Now, "alert flagged");
    Ok(applied)
}

/// Who may withdraw an alert: a referent of its community.
#[must_use]
pub fn may_withdraw(member: &Member, alert: &Alert) -> bool {
    member.role == Role::Referent && member.belongs_to(&alert.community_id)
}

/// Whether `reader` (a member of the alert's community) sees the alert: anyone, until it is
/// withdrawn; then its author and the community's referents only.
#[must_use]
pub fn visible_to(reader: &Member, alert: &Alert) -> bool {
    alert.withdrawn.is_none() || reader.id == alert.sender_id || may_withdraw(reader, alert)
}

/// Why an alert was not withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawProblem {
    #[error("not found")]
    NotFound,
    /// Not a referent of the alert's community.
    #[error("not allowed")]
    Forbidden,
    #[error("withdrawn already")]
    AlreadyWithdrawn,
    /// The author is told why: a reason is needed.
    #[error("a reason is needed")]
    ReasonRequired,
    /// The reason, or the correction, is longer than [`REASON_MAX_CHARS`].
    #[error("too long: {actual} characters, at most {max}")]
    TooLong { max: usize, actual: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of the correction asked with a withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Correction {
    /// None was asked.
    None,
    /// The alert is closed with it as its all clear: it goes to the alert's recipients.
    Sent,
    /// The alert was closed already (its all clear went): the correction was not sent.
    AlreadyClosed,
}

/// A withdrawal done.
#[derive(Clone, Debug)]
pub struct Withdrawn {
    pub withdrawal: Withdrawal,
    pub correction: Correction,
    /// The author was told (by SMS, else by email); false when nothing reaches them or the
    /// message failed (logged).
    pub author_told: bool,
}

/// A text as typed, checked as a reason or a correction: `None` when empty.
fn one_line(raw: &str) -> Result<Option<AlertText>, WithdrawProblem> {
    match AlertText::parse(raw) {
        Ok(text) if text.as_str().chars().count() > REASON_MAX_CHARS => {
            Err(WithdrawProblem::TooLong { max: REASON_MAX_CHARS, actual: text.as_str().chars().count() })
        }
        Ok(text) => Ok(Some(text)),
        Err(DomainError::AlertTooLong { actual, .. }) => {
            Err(WithdrawProblem::TooLong { max: REASON_MAX_CHARS, actual })
        }
        Err(_) => Ok(None),
    }
}

/// Withdraws alert `id` for `referent` ([`may_withdraw`]) with `reason`; tells its author; and
/// with a `correction` (empty for none), closes it with the correction as its all clear, which
/// goes to the alert's recipients by the channels that reached them. Once: a second withdrawal
/// is refused.
#[instrument(skip_all, fields(member = %referent.id, alert = %id))]
pub async fn withdraw<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    referent: &Member,
    id: AlertId,
    reason: &str,
    correction: &str,
) -> Result<Withdrawn, WithdrawProblem>
where
    S: AlertLog + MemberLookup + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let alert = store.alert(id).await?.ok_or(WithdrawProblem::NotFound)?;
    if !referent.belongs_to(&alert.community_id) {
        return Err(WithdrawProblem::NotFound);
    }
    if !may_withdraw(referent, &alert) {
        return Err(WithdrawProblem::Forbidden);
    }
    let reason = one_line(reason)?.ok_or(WithdrawProblem::ReasonRequired)?;
    let correction_text = one_line(correction)?;
    let withdrawal =
        Withdrawal { reason, by: referent.id, by_first_name: referent.first_name.clone(), at: now_ms() };
    if alert.withdrawn.is_some() || !store.withdraw(id, &withdrawal).await? {
        return Err(WithdrawProblem::AlreadyWithdrawn);
    }
    info!("alert withdrawn");
    let author_told = tell_author(store, messengers, &alert, &withdrawal).await;
    let correction = match correction_text {
        None => Correction::None,
        Some(text) => match alerts::close(store, referent, id, Ending::Other, text.as_str(), None).await {
            Ok(_) => Correction::Sent,
            Err(CloseProblem::AlreadyClosed) => Correction::AlreadyClosed,
            Err(CloseProblem::Store(err)) => return Err(err.into()),
            Err(other) => {
                warn!(error = %other, "the correction was not sent");
                Correction::AlreadyClosed
            }
        },
    };
    Ok(Withdrawn { withdrawal, correction, author_told })
}

/// Tells the author their alert was withdrawn, and why: by SMS if they take texts, else by
/// email. Best effort: a failure is logged, the withdrawal stands.
async fn tell_author<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    alert: &Alert,
    withdrawal: &Withdrawal,
) -> bool
where
    S: MemberLookup + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let author = match store.member(alert.sender_id).await {
        Ok(Some(author)) => author,
        Ok(None) => return false,
        Err(error) => {
            warn!(%error, "the author could not be read: not told of the withdrawal");
            return false;
        }
    };
    let text = domain::texts::withdrawn_notice(
        withdrawal.by_first_name.as_str(),
        &alert.community_name,
        alert.text.as_str(),
        withdrawal.reason.as_str(),
    );
    let recipient = Recipient::of(&author);
    let sent = match (recipient.texted_in(messengers.countries), recipient.email_target()) {
        (Some(phone), _) => {
            let sms = domain::fit_segments(&domain::normalise_gsm7(&text), 3);
            messengers.texter.send_sms(phone, &sms).await
        }
        (None, Some(email)) => {
            let mime = compose::withdrawn_email(messengers.from, email, &author.first_name, &text);
            messengers.mailer.send_raw(email, mime).await
        }
        (None, None) => return false,
    };
    match sent {
        Ok(_) => true,
        Err(error) => {
            warn!(%error, "the author was not told of the withdrawal");
            false
        }
    }
}

/// Alerts of `community` still in its feed that members flagged, newest first, from its newest
/// alerts (a few pages): what its referent's page lists.
pub async fn flagged<S: Feed + Sync>(
    store: &S,
    community: &Community,
) -> Result<Vec<AlertReport>, StoreError> {
    const PAGES: usize = 3;
    let mut found = Vec::new();
    let mut after = None;
    for _ in 0..PAGES {
        let page = store.community_alerts(&community.id, after, super::feed::PAGE_SIZE).await?;
        found.extend(
            page.items.into_iter().filter(|r| r.alert.withdrawn.is_none() && r.flags.iter().any(|n| *n > 0)),
        );
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    Ok(found)
}
