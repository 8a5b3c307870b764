//! Narrow ports: one capability each. Handlers ask only for what they use; the DynamoDB, SNS
//! and SES adapters in [`crate::adapters`] implement them.

use std::future::Future;
use std::time::Duration;

use crate::domain::FlagReason;
use crate::domain::{
    AlertId, Community, CommunityId, DeliveryProblem, Email, Member, MemberId, PhoneNumber, ReceiptStatus,
};
use crate::model::{
    Alert, AlertReport, Applied, Budget, Channel, Charge, Claim, ClaimHolder, Closure, Cursor,
    DeliveryCounts, InboundMessageId, JoinRequest, MemberNoted, Offer, Outcome, Page, PendingPhone,
    ReceiptRecorded, Recipient, Recorded, Session, SpendKey, Task, TokenHash, Wave,
};
use crate::model::{AlertTally, DeliveryState, MonthCounts, Record, Withdrawal};
use crate::pace::{SlotAnswer, SlotRequest};

/// A failure of the store. Every variant but `Corrupt` is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{operation} failed: {message}")]
    Unavailable { operation: &'static str, message: String },
    #[error("stored {what} is unreadable: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, StoreError::Corrupt { .. })
    }
}

/// Why registering a member was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("this phone number already belongs to a member")]
    PhoneTaken,
    #[error("this email address already belongs to a member")]
    EmailTaken,
    #[error("unknown community")]
    UnknownCommunity,
    #[error("this member already exists")]
    AlreadyExists,
    #[error("this member is no longer registered")]
    UnknownMember,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Will never succeed (invalid number, rejected address).
    #[error("rejected: {0}")]
    Permanent(String),
    /// May succeed later (throttled, service unavailable).
    #[error("failed for now: {0}")]
    Transient(String),
}

/// Finding members.
pub trait MemberLookup {
    fn member_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> impl Future<Output = Result<Option<Member>, StoreError>> + Send;
    fn member_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<Member>, StoreError>> + Send;
    fn member(&self, id: MemberId) -> impl Future<Output = Result<Option<Member>, StoreError>> + Send;
    /// The members of these ids who are still registered, in no particular order (keyed reads,
    /// 100 a call).
    fn members(&self, ids: &[MemberId]) -> impl Future<Output = Result<Vec<Member>, StoreError>> + Send;
    fn community(
        &self,
        id: &CommunityId,
    ) -> impl Future<Output = Result<Option<Community>, StoreError>> + Send;
}

/// Reading a community's members, one page at a time.
pub trait Roster {
    fn members_page(
        &self,
        community: &CommunityId,
        after: Option<Cursor>,
        limit: i32,
    ) -> impl Future<Output = Result<Page<Recipient>, StoreError>> + Send;
}

/// Adding communities and members.
pub trait Registry {
    fn put_community(&self, community: &Community) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Which of these numbers and addresses already belong to a member (keyed reads, 100 a call).
    fn taken(
        &self,
        phones: &[&PhoneNumber],
        emails: &[&Email],
    ) -> impl Future<Output = Result<(Vec<PhoneNumber>, Vec<Email>), StoreError>> + Send;
    /// Registers a member; their phone number and email must not belong to anyone else.
    fn register(&self, member: &Member) -> impl Future<Output = Result<(), RegisterError>> + Send;
}

/// A member's own settings.
pub trait Settings {
    /// Turns SMS alerts on or off, once per inbound message.
    fn set_sms_alerts(
        &self,
        member: &Member,
        on: bool,
        inbound: &InboundMessageId,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
    /// Turns quiet hours on or off ([`Member::quiet_hours`]), once per inbound message.
    fn set_quiet_hours(
        &self,
        member: &Member,
        on: bool,
        inbound: &InboundMessageId,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
    /// Takes the owner's yes to an invited number: confirmed, SMS alerts on, once per inbound
    /// message.
    fn accept_invitation(
        &self,
        member: &Member,
        inbound: &InboundMessageId,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

/// The alerts themselves.
pub trait AlertLog {
    /// Records the alerts an inbound message raised, all or none, once per message; with a
    /// `budget`, counts them as one use of it in the same transaction: when the budget is spent
    /// nothing is recorded nor counted, and a message recorded before is neither recorded nor
    /// counted again. The `charges` (SMS parts) are added in the same transaction; one that no
    /// longer fits records nothing ([`Recorded::Raced`]). The `tallies` count the alerts in
    /// their community's month, in the same transaction (what outlives the retention).
    fn record_inbound_alerts(
        &self,
        inbound: &InboundMessageId,
        alerts: &[Alert],
        budget: Option<&Budget>,
        charges: &[Charge],
        tallies: &[AlertTally],
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
    fn alert(&self, id: AlertId) -> impl Future<Output = Result<Option<Alert>, StoreError>> + Send;
    /// Stores the delivery report tallied from the ledger; `done`, the fan-out is over: an alert
    /// closed by then has its all clear started ([`AlertLog::close_alert`]).
    fn record_counts(
        &self,
        id: AlertId,
        counts: &DeliveryCounts,
        done: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores the all clear's delivery report ([`Wave::FollowUp`]).
    fn record_follow_up_counts(
        &self,
        id: AlertId,
        counts: &DeliveryCounts,
        done: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Hands the rest of an alert's fan-out (of `wave`) to a fresh invocation: a cursor item
    /// whose stream record starts it (written once, however often this is called).
    fn hand_over(
        &self,
        id: AlertId,
        wave: Wave,
        after: &Cursor,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Starts the alert's morning pass ([`crate::model::Wave::Morning`]) due at `at`: an item
    /// whose stream record starts it (written once, however often this is called).
    fn start_morning(&self, id: AlertId, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The alert says the police were called ([`crate::domain::PoliceCalled::Yes`]).
    fn mark_police_called(&self, id: AlertId) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Closes the alert with `closure`, if it is not closed yet: false when it was (or is gone).
    /// Its all clear goes to the neighbours it reached once its fan-out is over: at once if it
    /// is, else when it ends ([`AlertLog::record_counts`]).
    fn close_alert(
        &self,
        id: AlertId,
        closure: &Closure,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts one flag per member, for `reason` (`flags_<reason>` on the alert).
    fn flag(
        &self,
        id: AlertId,
        member: MemberId,
        reason: FlagReason,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
    /// Takes the alert out of the feed, if it is not yet: false when it was (or is gone).
    fn withdraw(
        &self,
        id: AlertId,
        withdrawal: &Withdrawal,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts one acknowledgement per member.
    fn acknowledge(
        &self,
        id: AlertId,
        member: MemberId,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

/// The ledger of what was sent, so nothing is sent twice.
pub trait Ledger {
    /// Reserves each task for `lease` to `holder` (its claims of before are its own again at
    /// once); the answers are in the order of `tasks`.
    fn claim(
        &self,
        tasks: &[Task],
        lease: Duration,
        holder: &ClaimHolder,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send;
    /// Records how claimed tasks ended.
    fn settle(&self, outcomes: &[(Task, Outcome)]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The delivery report of one wave of an alert's messages.
    fn tally(
        &self,
        alert: AlertId,
        wave: Wave,
    ) -> impl Future<Output = Result<DeliveryCounts, StoreError>> + Send;
    /// The neighbours whose delivery of the alert is in `state` (sent: those it reached; held:
    /// those whose SMS waits for the morning), and by which channel, in pages of at most `limit`
    /// deliveries read, from `after`.
    fn deliveries(
        &self,
        alert: AlertId,
        state: DeliveryState,
        after: Option<Cursor>,
        limit: i32,
    ) -> impl Future<Output = Result<Page<(MemberId, Channel)>, StoreError>> + Send;
    /// The newest alert this member received by SMS since `since_ms`.
    fn last_sms_alert(
        &self,
        member: MemberId,
        since_ms: i64,
    ) -> impl Future<Output = Result<Option<AlertId>, StoreError>> + Send;
    /// The newest alert of `author` whose confirmation they got by SMS after `since_ms` (epoch ms).
    fn last_confirmed_alert(
        &self,
        author: MemberId,
        since_ms: i64,
    ) -> impl Future<Output = Result<Option<AlertId>, StoreError>> + Send;
    /// Notes that `alert` has SMS held for the night until `at` (epoch ms), once.
    fn wake_at(&self, alert: AlertId, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The alerts whose night is over at `now` (epoch ms) and not started yet, with the `at`
    /// they were noted for (at most two days back).
    fn due_wakes(&self, now: i64) -> impl Future<Output = Result<Vec<(AlertId, i64)>, StoreError>> + Send;
    /// Forgets a wake-up, once its morning pass is started or not wanted.
    fn drop_wake(&self, alert: AlertId, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// True when an unknown number may be answered now: at most once per `window` per number
    /// (a retry of the same inbound message is answered again, so it is never lost).
    fn may_answer_unknown(
        &self,
        phone: &PhoneNumber,
        inbound: &InboundMessageId,
        window: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The account's send quotas as timelines shared by every process (see [`crate::pace`]).
pub trait RateLedger {
    /// Applies [`SlotRequest::decide`] to the timeline `key` atomically: the block granted is
    /// nobody else's, whatever other processes reserve at the same time.
    fn reserve_slots(
        &self,
        key: &str,
        request: SlotRequest,
    ) -> impl Future<Output = Result<SlotAnswer, StoreError>> + Send;
}

/// What became of the messages sent: receipts, and what they teach about members' channels.
pub trait Receipts {
    /// The ledger task a provider's message id was settled with, if it was.
    fn sent_with(&self, message_id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// Records the receipt of a neighbour's delivery sent as `message_id`, and counts it on the
    /// alert, once: the same receipt again changes nothing, a failure overtakes a delivery, and a
    /// delivery never overtakes a failure.
    fn record_receipt(
        &self,
        alert: AlertId,
        member: MemberId,
        channel: Channel,
        message_id: &str,
        status: &ReceiptStatus,
        at: i64,
    ) -> impl Future<Output = Result<ReceiptRecorded, StoreError>> + Send;
    /// Turns email alerts off for the member who has `address`, noting why.
    fn stop_email(
        &self,
        address: &Email,
        problem: &DeliveryProblem,
    ) -> impl Future<Output = Result<MemberNoted, StoreError>> + Send;
    /// Counts one permanent SMS failure (of message `message_id`, once) on the member who has
    /// `phone`; their SMS alerts stop at `SMS_FAILURES_BEFORE_STOP`.
    fn note_sms_failure(
        &self,
        phone: &PhoneNumber,
        message_id: &str,
        detail: &str,
        at: i64,
    ) -> impl Future<Output = Result<MemberNoted, StoreError>> + Send;
}

/// Sign-in links and sessions, stored only as hashes of their secrets.
pub trait Sessions {
    /// Stores a one-time sign-in link for `member`, valid for `ttl`.
    fn put_signin_link(
        &self,
        hash: &TokenHash,
        member: MemberId,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The member of a sign-in link still usable (neither used nor expired), without using it
    /// up: a sign-in stores its session first and spends the link last, so a failure in between
    /// leaves the link usable for a retry.
    fn signin_link_member(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<MemberId>, StoreError>> + Send;
    /// Uses up a sign-in link: its member the first time, `None` if unknown, used or expired.
    fn take_signin_link(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<MemberId>, StoreError>> + Send;
    fn put_session(
        &self,
        hash: &TokenHash,
        session: &Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The session, `None` if unknown or expired.
    fn session(&self, hash: &TokenHash) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;
    fn end_session(&self, hash: &TokenHash) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Numbers waiting for the code texted to them ([`crate::app::phone`]), one per member.
pub trait PhoneCodes {
    /// Stores `pending` as `member`'s number waiting for its code, in place of any before it.
    fn put_pending_phone(
        &self,
        member: MemberId,
        pending: &PendingPhone,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The number `member` waits to confirm; `None` when there is none or its time is over.
    fn pending_phone(
        &self,
        member: MemberId,
    ) -> impl Future<Output = Result<Option<PendingPhone>, StoreError>> + Send;
    /// Counts one wrong code against the pending number, if it has time and fewer than
    /// `max_tries` tries: the pending number as it is after, `None` when no try was left.
    fn count_wrong_code(
        &self,
        member: MemberId,
        max_tries: u32,
    ) -> impl Future<Output = Result<Option<PendingPhone>, StoreError>> + Send;
    /// Marks the pending number as confirmed by the right `code`, if it is still the code kept,
    /// with time and fewer than `max_tries` wrong tries (or if it was marked so before: a retry).
    /// False when it was not.
    fn accept_pending_phone(
        &self,
        member: MemberId,
        code: &TokenHash,
        max_tries: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn drop_pending_phone(&self, member: MemberId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The alerts counted per community and month when they were raised, which outlive the
/// retention purge.
pub trait AlertStats {
    /// `community`'s last `months` months that counted alerts, newest first.
    fn alert_months(
        &self,
        community: &CommunityId,
        months: i32,
    ) -> impl Future<Output = Result<Vec<MonthCounts>, StoreError>> + Send;
}

/// What vigie keeps about a member beyond their profile and memberships, found and erased
/// ([`crate::app::erasure`]): the ledger's records that name them (index `ByMember`), the
/// alerts they raised, closed or withdrew, and the code that confirms their erasure.
pub trait MemberRecords {
    /// Every ledger record that names `member`, read whole.
    fn records_of(&self, member: MemberId) -> impl Future<Output = Result<Vec<Record>, StoreError>> + Send;
    /// The alerts `member` raised, closed or withdrew (a scan of the alerts table, which holds
    /// only the retention's alerts: erasures are rare, and no index is paid for at every alert).
    fn alerts_touching(
        &self,
        member: MemberId,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// Puts "un voisin" ([`MemberId::ERASED`]) in `member`'s place on `alert`: author, closer,
    /// withdrawer. The text stays.
    fn anonymise(
        &self,
        alert: AlertId,
        member: MemberId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes every ledger record that names `member`, and the reply throttle of `phone`;
    /// how many went.
    fn forget_records(
        &self,
        member: MemberId,
        phone: Option<&PhoneNumber>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Keeps `code` as the one that confirms `member`'s erasure until `until_ms`, in place of
    /// any before.
    fn put_erasure_code(
        &self,
        member: MemberId,
        code: &TokenHash,
        until_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes the right `code` while it has time and fewer than `max_tries` wrong tries (or it
    /// was taken before: a retry). False when it was not.
    fn accept_erasure_code(
        &self,
        member: MemberId,
        code: &TokenHash,
        max_tries: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts one wrong code, if the code kept has time and tries left: the tries counted
    /// after, `None` when none was left (or there is no code).
    fn count_wrong_erasure_code(
        &self,
        member: MemberId,
        max_tries: u32,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;
}

/// The referents' invitations to members who already hold the number or address typed
/// ([`Offer`]): one per holder and community, the newest kept.
pub trait Offers {
    fn put_offer(&self, offer: &Offer) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The holder's offers still open, newest first.
    fn offers(&self, holder: MemberId) -> impl Future<Output = Result<Vec<Offer>, StoreError>> + Send;
    fn drop_offer(
        &self,
        holder: MemberId,
        community: &CommunityId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Fixed-window rate limits.
pub trait Limits {
    /// Counts one use of `key`; false when that makes more than `limit` in the current `window`.
    fn within_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Counts one use of each of `budgets`, all or none, once for `once` (what spends them, an
    /// inbound message's reply): true when every one had room. The same `once` again answers as
    /// the first time did and counts nothing, so a retried message never spends twice.
    fn spend_once(
        &self,
        once: &str,
        budgets: &[Budget],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The counters of SMS parts ([`crate::app::budget`]), added to by
/// [`AlertLog::record_inbound_alerts`].
pub trait SmsSpend {
    /// What each counter holds (0 for one never counted), in the order of `keys`.
    fn sms_spent(&self, keys: &[SpendKey]) -> impl Future<Output = Result<Vec<u32>, StoreError>> + Send;
    /// A community's months that were counted, newest first, at most `months`: (`2026-12`,
    /// parts).
    fn community_months(
        &self,
        community: &CommunityId,
        months: i32,
    ) -> impl Future<Output = Result<Vec<(String, u32)>, StoreError>> + Send;
}

/// Reading alerts with their delivery reports.
pub trait Feed {
    /// A community's alerts, newest first.
    fn community_alerts(
        &self,
        community: &CommunityId,
        after: Option<Cursor>,
        limit: i32,
    ) -> impl Future<Output = Result<Page<AlertReport>, StoreError>> + Send;
    fn alert_report(
        &self,
        id: AlertId,
    ) -> impl Future<Output = Result<Option<AlertReport>, StoreError>> + Send;
}

/// Managing members, communities and join requests.
pub trait Membership {
    /// Replaces a member's profile (same id): their memberships follow, and a new phone number or
    /// email is claimed (the old one released) in the same transaction.
    fn update_member(
        &self,
        previous: &Member,
        updated: &Member,
    ) -> impl Future<Output = Result<(), RegisterError>> + Send;
    /// Removes a member, their memberships and the claims on their number and address.
    fn remove_member(&self, member: &Member) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates a community whose id no community has yet: `false` (nothing written) when one
    /// has.
    fn add_community(&self, community: &Community) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The towns that have communities, sorted.
    fn towns(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The communities of a town, sorted by name.
    fn communities_of_town(
        &self,
        town: &str,
    ) -> impl Future<Output = Result<Vec<Community>, StoreError>> + Send;
    fn add_join_request(&self, request: &JoinRequest) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn join_requests(
        &self,
        community: &CommunityId,
    ) -> impl Future<Output = Result<Vec<JoinRequest>, StoreError>> + Send;
    /// Removes a join request (approved or refused) and returns it, once.
    fn take_join_request(
        &self,
        community: &CommunityId,
        id: MemberId,
    ) -> impl Future<Output = Result<Option<JoinRequest>, StoreError>> + Send;
}

/// Sending an SMS from one origination identity (the shared number, or the alert sender).
pub trait Texter {
    fn send_sms(
        &self,
        to: &PhoneNumber,
        body: &str,
    ) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// Sending an email built as raw MIME.
pub trait Mailer {
    fn send_raw(&self, to: &Email, mime: Vec<u8>) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// The numbers on the account's SMS opt-out list (AWS's own, apart from a member's `sms_alerts`).
/// SNS accepts a `Publish` to such a number and delivers nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptedOut(std::collections::HashSet<String>);

impl OptedOut {
    pub fn new(numbers: std::collections::HashSet<String>) -> Self {
        Self(numbers)
    }

    #[must_use]
    pub fn contains(&self, phone: &PhoneNumber) -> bool {
        self.0.contains(phone.as_str())
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The account's SMS opt-out list (SNS `ListPhoneNumbersOptedOut`, `OptInPhoneNumber`).
pub trait OptOuts {
    /// Every number on the list.
    fn opted_out(&self) -> impl Future<Output = Result<OptedOut, SendError>> + Send;
    /// Takes a number off the list. AWS allows it once every 30 days per number: a refusal is
    /// [`SendError::Permanent`].
    fn opt_in(&self, phone: &PhoneNumber) -> impl Future<Output = Result<(), SendError>> + Send;
}
