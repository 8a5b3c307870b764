//! The records that flow between the handlers and the ports: alerts, deliveries, pages.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::{
    AlertId, AlertSource, AlertText, Category, CommunityId, Consequence, DeliveryProblem, Email, Ending,
    FirstName, LastName, Member, MemberId, PhoneNumber, PoliceCalled, ReceiptStatus, Role, SmsWithheld,
    UnsubscribeToken,
};

/// An alert raised in one community.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: AlertId,
    pub community_id: CommunityId,
    pub community_name: String,
    pub sender_id: MemberId,
    pub sender_first_name: FirstName,
    pub source: AlertSource,
    pub text: AlertText,
    pub created_at: i64,
    /// The key that makes recording this alert idempotent: the inbound SMS id, or the id of the
    /// web form submission (`web-<ulid>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_message_id: Option<InboundMessageId>,
    /// Chosen on the web form; texted alerts have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// The SMS parts this alert was counted for, against its community's month and the
    /// service's day ([`crate::app::budget`]): parts of its SMS x neighbours texted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sms_parts: u32,
    /// Why it goes without SMS (by email and in the feed only), if it does. Alerts recorded
    /// before budgets have none: SMS as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_withheld: Option<SmsWithheld>,
    /// Whether the author says the police (17) were told: on the page's form, or by a reply `17`
    /// to the confirmation of an alert texted in. Police alerts have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub police_called: Option<PoliceCalled>,
    /// The all clear, once someone closed it ([`crate::app::alerts::close`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closure>,
    /// Taken out of the feed by a referent ([`crate::app::moderation::withdraw`]): only its
    /// author and the community's referents still see it, marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// Who took an alert out of the feed, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub reason: AlertText,
    pub by: MemberId,
    pub by_first_name: FirstName,
    /// Epoch ms.
    pub at: i64,
}

/// How and by whom an alert was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub ending: Ending,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<AlertText>,
    pub by: MemberId,
    pub by_first_name: FirstName,
    /// What vigie says of them (`police municipale`, the author, a referent), from their role.
    pub by_role: Role,
    /// Epoch ms.
    pub at: i64,
    /// The inbound SMS (`FIN`) that closed it, if one did: that message again finds it closed
    /// by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<InboundMessageId>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A counter of SMS parts ([`crate::app::budget`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpendKey {
    /// A community's parts in a month of its time zone (`2026-12`).
    Month { community: CommunityId, month: String },
    /// The service's parts in a day, UTC (`2026-12-03`).
    Day(String),
}

/// Parts to add to a counter, all or none with the alerts they are for: with `up_to`, only if
/// the counter then holds at most that many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub key: SpendKey,
    pub parts: u32,
    pub up_to: Option<u32>,
}

/// An alert with its delivery report, as the feed and the detail page show it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertReport {
    pub alert: Alert,
    /// Written by the fan-out as it goes; `None` before it starts.
    pub counts: Option<DeliveryCounts>,
    /// Neighbours who acknowledged the alert ("ok", "merci"...).
    pub acks: u32,
    /// When the fan-out finished (epoch ms).
    pub fanout_done_at: Option<i64>,
    /// What the all clear's fan-out sent ([`Wave::FollowUp`]), once it started.
    pub follow_up: Option<FollowUpReport>,
    /// How many members flagged it, for each reason ([`crate::domain::FlagReason::ALL`]'s order).
    pub flags: [u32; 3],
}

/// The all clear's delivery report: its counts, and whether every delivery was settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpReport {
    pub counts: DeliveryCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
}

/// A fixed-window rate limit: at most `limit` uses of `key` in each `window`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub limit: u32,
    pub window: Duration,
}

/// The window of [`Budget::alerts`].
pub const ALERT_WINDOW: Duration = Duration::from_secs(3600);

impl Budget {
    /// The alerts a member raises, by SMS and on the web alike: `per_hour` an hour.
    pub fn alerts(member: MemberId, per_hour: u32) -> Self {
        Self { key: format!("alert#{member}"), limit: per_hour, window: ALERT_WINDOW }
    }

    /// The replies `inbound-sms` sends to a number no member has, for the whole service.
    pub fn unknown_replies(per_hour: u32) -> Self {
        Self { key: "reply-unknown".into(), limit: per_hour, window: HOUR }
    }

    /// The replies to the unknown numbers of `phone`'s range ([`PhoneNumber::range`]).
    pub fn unknown_range_replies(phone: &PhoneNumber, per_hour: u32) -> Self {
        Self { key: format!("reply-unknown#{}", phone.range()), limit: per_hour, window: HOUR }
    }

    /// The replies to one member's number.
    pub fn member_replies(phone: &PhoneNumber, per_day: u32) -> Self {
        Self { key: format!("reply-member#{phone}"), limit: per_day, window: DAY }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// What recording alerts within a [`Budget`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now, and counted once against the budget.
    Now,
    /// This message was recorded before: nothing recorded or counted again.
    AlreadyBefore,
    /// The budget was spent: nothing recorded or counted.
    OverBudget,
    /// A counter of SMS parts changed since it was read (another alert was counted), and one of
    /// the [`Charge`]s no longer fits: nothing recorded or counted; plan again.
    Raced,
}

/// The SHA-256 (hex) of a secret token: sign-in links and sessions are stored only as this.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a secret as received (from a link or a cookie).
    pub fn of(secret: &str) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(secret.as_bytes());
        Self(crate::secret::hex(digest))
    }

    /// A hash as the store keeps it.
    pub(crate) fn stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// A number a member typed as theirs, waiting for the code texted to it
/// ([`crate::app::phone`]): until the code comes back, the member's number is the one before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPhone {
    pub phone: PhoneNumber,
    /// The hash of the code texted; `None` when the number was another member's: its owner was
    /// told, no code went out, and none matches.
    pub code: Option<TokenHash>,
    /// Codes typed so far.
    pub tries: u32,
    /// Epoch ms after which no code is taken.
    pub until_ms: i64,
}

/// A referent's invitation to a member who already holds the number or address they typed
/// (`docs/consent.md`): the holder may join the referent's community too, or let it pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub holder: MemberId,
    pub community: CommunityId,
    pub community_name: String,
    /// The first name of the referent who typed it.
    pub referent: String,
    /// The row on the referent's page that stands for the holder ([`Member::stands_for`]).
    pub placeholder: MemberId,
    /// Epoch ms after which it can no longer be taken.
    pub until_ms: i64,
    /// Taken: `page`, or the id of the inbound SMS that said OUI (a retry of the same message
    /// finds it again and does nothing more). Kept until `until_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<String>,
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub member_id: MemberId,
    /// The anti-CSRF token every state-changing form of this session must carry.
    pub csrf: String,
    /// Epoch ms after which the session is over.
    pub expires_at_ms: i64,
}

/// A person's request to join a community, waiting for a referent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// A ULID, also the request's key.
    pub request_id: MemberId,
    pub community_id: CommunityId,
    pub first_name: FirstName,
    pub last_name: LastName,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    pub created_at: i64,
}

/// The identifier AWS End User Messaging gives an inbound SMS; the key of its idempotency.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InboundMessageId(String);

impl InboundMessageId {
    /// Printable ASCII without spaces, 1 to 128 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInboundMessageId> {
        let ok = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(Self(raw.to_owned())) } else { Err(InvalidInboundMessageId) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InboundMessageId {
    type Error = InvalidInboundMessageId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<InboundMessageId> for String {
    fn from(value: InboundMessageId) -> Self {
        value.0
    }
}

impl std::fmt::Display for InboundMessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("inbound message id must be 1 to 128 printable ASCII characters")]
pub struct InvalidInboundMessageId;

/// A member as the fan-out sees them: one row of a community's roster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub member_id: MemberId,
    pub first_name: FirstName,
    /// Older membership items may lack it.
    #[serde(default)]
    pub last_name: Option<LastName>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    /// The member hid their number from the other members: it is for the fan-out only.
    #[serde(default)]
    pub hide_phone: bool,
    /// The number's owner agreed to texts ([`Member::phone_confirmed`]).
    #[serde(default = "crate::domain::confirmed")]
    pub phone_confirmed: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    /// No SMS at night ([`Member::quiet_hours`]).
    #[serde(default)]
    pub quiet_hours: bool,
    pub role: Role,
    pub unsubscribe_token: UnsubscribeToken,
    /// The member's delivery problems, for their referent's page (copies of the profile's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_problem: Option<DeliveryProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_problem: Option<DeliveryProblem>,
    /// An invitation to the member who holds this number or address ([`Member::stands_for`]):
    /// never texted (its number is not confirmed) nor emailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands_for: Option<MemberId>,
}

impl Recipient {
    /// The roster row of `member` (the same in each of their communities).
    pub fn of(member: &Member) -> Self {
        Self {
            member_id: member.id,
            first_name: member.first_name.clone(),
            last_name: Some(member.last_name.clone()),
            email: member.email.clone(),
            phone: member.phone.clone(),
            hide_phone: member.hide_phone,
            phone_confirmed: member.phone_confirmed,
            sms_alerts: member.sms_alerts,
            email_alerts: member.email_alerts,
            quiet_hours: member.quiet_hours,
            role: member.role,
            unsubscribe_token: member.unsubscribe_token.clone(),
            email_problem: member.email_problem.clone(),
            sms_problem: member.sms_problem.clone(),
            stands_for: member.stands_for,
        }
    }

    /// The number to text, if the member gave one, its owner agreed, and SMS alerts are on.
    pub fn sms_target(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref().filter(|_| self.sms_alerts && self.phone_confirmed)
    }

    /// The number the fan-out texts: [`Self::sms_target`], in one of the `countries` vigie
    /// texts.
    pub fn texted_in(&self, countries: &crate::domain::AllowedCountries) -> Option<&PhoneNumber> {
        self.sms_target().filter(|phone| countries.allows(phone))
    }

    /// The address to email, if the member gave one and left email alerts on.
    pub fn email_target(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_alerts && self.stands_for.is_none())
    }
}

/// How an alert or a reply reaches someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// The channel named `raw` ([`Channel::as_str`]).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Something sent at most once, reserved in the ledger before it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// An alert to one neighbour on one channel.
    Delivery { alert: AlertId, member: MemberId, channel: Channel },
    /// The all clear of an alert to a neighbour it reached on that channel
    /// ([`Wave::FollowUp`]).
    FollowUp { alert: AlertId, member: MemberId, channel: Channel },
    /// The "your alert reached N neighbours" message to the sender.
    SenderConfirmation { alert: AlertId, sender: MemberId, channel: Channel },
    /// The SMS answer to an inbound message (keyword confirmation, help, unknown sender...).
    Reply { inbound: InboundMessageId },
}

impl Task {
    /// The task of `wave` for one neighbour on one channel.
    pub fn to_neighbour(wave: Wave, alert: AlertId, member: MemberId, channel: Channel) -> Self {
        match wave {
            Wave::Alert | Wave::Morning => Task::Delivery { alert, member, channel },
            Wave::FollowUp => Task::FollowUp { alert, member, channel },
        }
    }

    /// The channel it goes by (`None`: an SMS reply, the only channel replies have).
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Task::Delivery { channel, .. }
            | Task::FollowUp { channel, .. }
            | Task::SenderConfirmation { channel, .. } => Some(*channel),
            Task::Reply { .. } => None,
        }
    }
}

/// The messages of one alert to its neighbours: the alert itself, to its community's members;
/// at 07:00, its SMS held for the night ([`Outcome::Held`]) if it is still open; then, once it
/// is closed, its all clear, to exactly those the alert reached, by the channels that reached
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wave {
    Alert,
    /// The alert's SMS held for the night: the same tasks as [`Wave::Alert`]'s.
    Morning,
    FollowUp,
}

/// Where a delivery of the ledger stands, as [`crate::ports::Ledger::deliveries`] asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Sent,
    /// Held for the member's quiet hours ([`Outcome::Held`]).
    Held,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Sent => "sent",
            DeliveryState::Held => "held",
        }
    }
}

/// What a claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send now.
    Acquired,
    /// Sent or failed for good before: nothing to do.
    Done,
    /// Claimed by another invocation whose lease has not run out: try again later.
    Busy,
}

/// Who holds a claim: one invocation of a function. A claim already held by the same holder is
/// taken back at once, so an invocation that retries a claim whose answer was lost finds its
/// tasks its own again, not busy until their lease runs out. Another invocation, even of the
/// same event, has another holder: two invocations never both hold a task (see
/// `docs/event-flow.md`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClaimHolder(String);

impl ClaimHolder {
    /// A holder of its own (a fresh ULID).
    pub fn new() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// The holder of an invocation: its Lambda request id (unique to each invocation, retries
    /// included), or a fresh one when there is none (an in-process call).
    pub fn invocation(request_id: &str) -> Self {
        if request_id.is_empty() || request_id.len() > 128 {
            Self::new()
        } else {
            Self(request_id.to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClaimHolder {
    fn default() -> Self {
        Self::new()
    }
}

/// How a claimed task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        message_id: String,
    },
    /// Can never succeed (an invalid number, a rejected address): recorded, never retried.
    Failed {
        error: String,
    },
    /// Failed for now (throttled, unavailable): free to be claimed again at once.
    Released {
        error: String,
    },
    /// An SMS not sent for the member's quiet hours: the alert's morning pass ([`Wave::Morning`])
    /// claims it at `until` (epoch ms, 07:00 local), and sends it if the alert is still open.
    Held {
        until: i64,
    },
}

/// An alert's delivery report. The fan-out tallies what it sent from the ledger (`*_sent`,
/// `*_failed`, `*_unsettled`, `recipients`, `pending`); the receipts count what became of it
/// (`*_delivered`, `*_undelivered`), one by one as they come, on the same alert.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Accepted by SNS / SES.
    pub sms_sent: u32,
    /// Refused at sending, for good (an invalid number, a rejected address).
    pub sms_failed: u32,
    pub email_sent: u32,
    pub email_failed: u32,
    /// Neighbours reached by at least one channel.
    pub recipients: u32,
    /// Deliveries claimed or released but not yet settled.
    pub pending: u32,
    /// The same, per channel.
    #[serde(default)]
    pub sms_unsettled: u32,
    #[serde(default)]
    pub email_unsettled: u32,
    /// Sent, and the receipt says it reached the phone / the mailbox.
    #[serde(default)]
    pub sms_delivered: u32,
    #[serde(default)]
    pub email_delivered: u32,
    /// Sent, and the receipt says it never will (a carrier's failure, a hard bounce).
    #[serde(default)]
    pub sms_undelivered: u32,
    #[serde(default)]
    pub email_undelivered: u32,
    /// SMS held for the members' quiet hours, not sent (yet: at 07:00 if the alert is open).
    #[serde(default)]
    pub sms_held: u32,
}

/// What became of an alert's deliveries on one channel, as the report shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelReport {
    /// Accepted by the provider.
    pub sent: u32,
    /// Reached the phone or the mailbox.
    pub delivered: u32,
    /// Refused at sending, or failed after (the receipt said so).
    pub failed: u32,
    /// Sent without a receipt yet, or not sent yet.
    pub pending: u32,
}

impl DeliveryCounts {
    /// The report of one channel: delivered, failed, pending add up to what was to be sent.
    pub fn channel(&self, channel: Channel) -> ChannelReport {
        let (sent, failed, unsettled, delivered, undelivered) = match channel {
            Channel::Sms => {
                (self.sms_sent, self.sms_failed, self.sms_unsettled, self.sms_delivered, self.sms_undelivered)
            }
            Channel::Email => (
                self.email_sent,
                self.email_failed,
                self.email_unsettled,
                self.email_delivered,
                self.email_undelivered,
            ),
        };
        // Receipts are counted as they come, the sends when the fan-out tallies: a receipt may be
        // counted before the tally that includes its send is written.
        let delivered = delivered.min(sent);
        let undelivered = undelivered.min(sent - delivered);
        ChannelReport {
            sent,
            delivered,
            failed: failed + undelivered,
            pending: sent - delivered - undelivered + unsettled,
        }
    }
}

/// One receipt from SES or SNS: what became of one message sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's id of the message (what `SendEmail` or `Publish` answered).
    pub message_id: String,
    pub channel: Channel,
    /// What the provider calls it (`Bounce`, `Delivery`, `SUCCESS`...), for the logs.
    pub event: &'static str,
    /// When the message was sent (epoch ms), as the provider recorded it.
    pub sent_at: i64,
    /// When this happened (epoch ms).
    pub at: i64,
    /// `None` when there is nothing to record on the delivery (a soft bounce, a delay...).
    pub status: Option<ReceiptStatus>,
    /// What the member's settings must learn from it.
    pub consequences: Vec<Consequence>,
}

impl Receipt {
    /// A receipt of `message_id` sent at `sent_at`, saying nothing yet.
    pub fn of(message_id: String, channel: Channel, sent_at: i64) -> Self {
        Self { message_id, channel, event: "", sent_at, at: sent_at, status: None, consequences: Vec::new() }
    }
}

/// What recording a receipt on its delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptRecorded {
    /// Recorded now, and counted on the alert.
    Now,
    /// Recorded before, or overtaken by a failure (which a later "delivered" never undoes).
    AlreadyBefore,
    /// The delivery was settled with another message (sent again after a crash): not this one's.
    NotThisMessage,
}

/// What a member's settings learnt from a receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberNoted {
    /// Noted now; `stopped`: that channel's alerts are now off.
    Now { member: MemberId, stopped: bool },
    /// Noted before (the same receipt again).
    AlreadyBefore,
    /// No member has that address or number (any more).
    NoSuchMember,
}

/// One page of a paged query and where the next one starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// An opaque position in a paged query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(pub String);

/// Whether a write that must happen once did happen now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Now,
    AlreadyBefore,
}

/// What a ledger record about a member is ([`crate::ports::MemberRecords`]): what "Mes données"
/// lists and the erasure deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An alert sent to them (`D#`).
    AlertDelivery,
    /// An all clear sent to them (`F#`).
    AllClearDelivery,
    /// The operator's or mail server's receipt of one of those (`R#`).
    Receipt,
    /// The confirmation of an alert they raised (`SENDER#`).
    SenderConfirmation,
    Acknowledgement,
    Flag,
    Session,
    SigninLink,
    /// A number they typed, waiting for its code.
    PendingPhone,
    /// A referent's invitation to another community.
    Invitation,
    /// A counter of their uses of a rate limit.
    RateLimit,
    /// The code of their own erasure request.
    ErasureCode,
    Other,
}

/// One ledger record about a member, as "Mes données" shows it: what it is, about which alert,
/// on which channel, in which state, when, and any reason stored with it (a flag's, a receipt's).
/// Secrets (session and CSRF tokens, codes) are never in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    pub kind: RecordKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<AlertId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Epoch ms: sent, received, typed or made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Epoch seconds when the TTL purges it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// One alert counted in its community's month when it is recorded: what stays of it once the
/// retention purged it ([`crate::ports::AlertLog::record_inbound_alerts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertTally {
    pub community: CommunityId,
    /// In the community's time zone (`2026-12`).
    pub month: String,
    pub source: AlertSource,
    pub category: Option<Category>,
}

/// A community's alerts of a month, as they were counted when raised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthCounts {
    /// `2026-12`.
    pub month: String,
    pub alerts: u32,
    pub sms: u32,
    pub web: u32,
    pub police: u32,
}
