//! What one inbound SMS does. Every path is idempotent: the same `inboundMessageId` delivered
//! again changes nothing and texts nobody twice.

use std::time::Duration;

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use tracing::{info, instrument, warn};
use vigie::adapters::now_ms;
use vigie::app::{alerts, members};
use vigie::config::Config;
use vigie::domain::{
    self, AlertId, Inbound as Kind, Language, Member, OriginationIdentity, PhoneNumber, SharedNumber,
};
use vigie::model::{Budget, Claim, ClaimHolder, InboundMessageId, Outcome, Task};
use vigie::pace::{Pacer, Priority};
use vigie::ports::{
    AlertLog, Feed, Ledger, Limits, MemberLookup, Membership, Offers, OptOuts, Roster, SendError, Settings,
    SmsSpend, StoreError, Texter,
};

/// Everything the inbound function needs from the store.
pub trait Store:
    MemberLookup + Settings + AlertLog + Ledger + Limits + Feed + Roster + SmsSpend + Membership + Offers + Sync
{
}
impl<S> Store for S where
    S: MemberLookup
        + Settings
        + AlertLog
        + Ledger
        + Limits
        + Feed
        + Roster
        + SmsSpend
        + Membership
        + Offers
        + Sync
{
}

/// A short reply counts as an acknowledgement of an alert received this recently.
pub const ACK_WINDOW: Duration = Duration::from_secs(30 * 60);
/// An unknown number gets at most one answer in this window.
pub const UNKNOWN_REPLY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// What the handler needs. `texter` sends from the shared number (every SMS this function sends
/// is a reply to the message it handles), and reads the account's SMS opt-out list. `sms_rate`
/// is the shared number's quota, shared with every other process (`Rates::replies`): replies
/// wait for their slot like every other text.
pub struct Inbound<S, T> {
    pub store: S,
    pub texter: T,
    pub config: Config,
    pub sms_rate: Pacer,
}

/// A reply waits for its slot at most until this long before the invocation's deadline (the
/// settlement comes after it); past it the reply is released and the event retried later.
const REPLY_MARGIN: Duration = Duration::from_secs(5);
/// How long a reply may wait for its slot when the invocation has no deadline.
const REPLY_PATIENCE: Duration = Duration::from_secs(20);

/// A failure worth retrying: the whole event is retried by Lambda, and nothing is done twice.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reply not sent: {0}")]
    Reply(SendError),
    #[error("reply still being sent by another invocation")]
    ReplyBusy,
    #[error("the account's SMS opt-out list could not be read or changed: {0}")]
    OptOutList(SendError),
}

tokio::task_local! {
    /// The invocation being handled (set by [`handle`]; a call outside it gets its own).
    static INVOCATION: Invocation;
}

/// What an invocation may do: send its reply until `reply_until`, as its claims' `holder`.
#[derive(Clone)]
struct Invocation {
    reply_until: tokio::time::Instant,
    holder: ClaimHolder,
}

impl Invocation {
    fn of(context: &lambda_runtime::Context) -> Self {
        let left = match vigie::pace::invocation_deadline(context.deadline) {
            None => REPLY_PATIENCE + REPLY_MARGIN,
            Some(deadline) => deadline.duration_since(std::time::SystemTime::now()).unwrap_or_default(),
        };
        Self {
            reply_until: tokio::time::Instant::now() + left.saturating_sub(REPLY_MARGIN),
            holder: ClaimHolder::invocation(&context.request_id),
        }
    }
}

/// The JSON that AWS End User Messaging SMS publishes to SNS for a two-way inbound message: only
/// the fields read here must be right. `destinationNumber` must be the shared number; read as any
/// JSON value so that a missing or wrong-typed one is reported as such, not as malformed. The
/// others (`messageKeyword`, `previousPublishedMessageId`) route nothing, so their type or
/// absence never drops an SMS.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundSms {
    origination_number: String,
    #[serde(default)]
    destination_number: serde_json::Value,
    #[serde(default)]
    message_body: String,
    inbound_message_id: String,
}

impl From<InboundError> for lambda_runtime::Diagnostic {
    fn from(err: InboundError) -> Self {
        let error_type = match &err {
            InboundError::Store(_) => "StoreUnavailable",
            InboundError::Reply(_) => "ReplyNotSent",
            InboundError::ReplyBusy => "ReplyBusy",
            InboundError::OptOutList(_) => "OptOutListUnavailable",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: err.to_string() }
    }
}

/// What became of one inbound message (the function's response, and what the logs say).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    /// Not a message we can act on; logged and dropped (retrying would not help).
    Dropped(&'static str),
    /// Alerts recorded (one per community; police may have several).
    Alerted(Vec<AlertId>),
    /// The message was applied before: nothing done again.
    Duplicate,
    SmsOff,
    SmsOn,
    /// START, but the number stays on the account's SMS opt-out list (AWS takes a number off it
    /// once every 30 days): nothing can reach it by SMS, so no reply is sent; logged for on-call.
    StillOptedOut,
    /// Began with STOP or START and went on: neither applied nor broadcast; the sender is asked.
    KeywordFirst,
    Help,
    Empty,
    TooLong,
    NoCommunity,
    /// Counted as an acknowledgement of that alert.
    Acknowledged(AlertId),
    /// More alerts than `ALERTS_PER_HOUR` in the hour: refused, the sender is told.
    RateLimited,
    /// A short reply ("merci") to the confirmation of the sender's own alert: nothing to do.
    ReplyToOwnAlert(AlertId),
    /// From a number no member has; `answered` is false when it was answered in the last 24 h,
    /// or when the caps on replies to unknown numbers (per hour, per range) are reached.
    Unknown {
        answered: bool,
    },
    /// OUI (or START) from a number a referent added: its owner agreed, alerts reach it now.
    InvitationAccepted,
    /// OUI from a member a referent of another community invited: they belong to it too.
    JoinedCommunity,
    /// `17` from the author of this alert, confirmed to them by SMS in the last 30 minutes: it
    /// says the police were called.
    PoliceCalled(AlertId),
    /// `17` with no alert of the sender's to mark: told so, nothing raised.
    NoAlertToMark,
    /// `FIN` from the author of an alert of the last 24 hours: it is closed.
    Closed,
    /// `NUIT` (true) or `JOUR` (false): quiet hours turned on or off.
    QuietHours(bool),
    /// `FIN` with nothing to close (no recent alert, closed already, a note too long): told so,
    /// nothing raised.
    NothingToClose,
    /// Something else than OUI or STOP from a number a referent added: told how to say yes,
    /// nothing raised.
    NotYetConfirmed,
    /// Read, never answered nor acted on (see [`Ignored`]).
    Ignored(Ignored),
    /// Handled as said, but the reply was not sent: the member's replies of the day are spent
    /// (`MEMBER_REPLIES_PER_DAY`).
    Unanswered(Box<Handled>),
}

/// Why an inbound SMS was ignored: no reply, nothing stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignored {
    /// From a number outside the countries vigie texts (`SMS_COUNTRIES`), a member's (stored
    /// before the rule) or not.
    OutsideCountries,
    /// It repeats one of the texts vigie sends ([`domain::repeats_our_text`]): an auto-responder
    /// or a phone echoing what it got.
    OurText,
}

/// Handles an SNS event: each record is one inbound SMS.
pub async fn handle<S, T>(
    deps: &Inbound<S, T>,
    event: LambdaEvent<SnsEvent>,
) -> Result<Vec<Handled>, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    let invocation = Invocation::of(&event.context);
    INVOCATION
        .scope(invocation, async {
            let mut handled = Vec::with_capacity(event.payload.records.len());
            for record in &event.payload.records {
                handled.push(handle_message(deps, &record.sns.message).await?);
            }
            Ok(handled)
        })
        .await
}

/// An inbound SMS as read from the SNS `Message`: a valid message id, a valid sender number,
/// and the body as texted (not yet classified nor cleaned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedInbound {
    pub inbound: InboundMessageId,
    pub from: PhoneNumber,
    pub body: String,
}

/// Why an SNS `Message` is not an SMS we can act on: retrying could never help, so it is logged
/// and dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Not JSON, or not the two-way SMS payload (a field read here missing or of the wrong type).
    Malformed { category: serde_json::error::Category, line: usize, bytes: usize },
    /// `inboundMessageId` empty, too long, or not printable ASCII.
    InvalidInboundId,
    /// `destinationNumber` missing, or not a string.
    NoDestination { inbound: InboundMessageId },
    /// `destinationNumber` is not the shared number (another number of the account, or a
    /// message that was never for this stack).
    WrongDestination { inbound: InboundMessageId, chars: usize },
    /// `originationNumber` is one of the service's own identities (the shared number, the alert
    /// sender): answering it would loop.
    OwnIdentity { inbound: InboundMessageId },
    /// `originationNumber` is not a phone number.
    InvalidNumber { inbound: InboundMessageId, chars: usize },
}

impl DropReason {
    /// The reason as [`Handled::Dropped`] reports it.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed message",
            Self::InvalidInboundId => "invalid inbound message id",
            Self::NoDestination { .. } => "no destination number",
            Self::WrongDestination { .. } => "not sent to the shared number",
            Self::OwnIdentity { .. } => "from our own identity",
            Self::InvalidNumber { .. } => "invalid origination number",
        }
    }
}

/// Reads the JSON string SNS carries for one inbound SMS to `shared`; a message from `shared` or
/// from `alert_sender` is our own. Pure: no I/O, no logging.
pub fn parse_inbound(
    message: &str,
    shared: &SharedNumber,
    alert_sender: &OriginationIdentity,
) -> Result<ParsedInbound, DropReason> {
    let sms: InboundSms = serde_json::from_str(message).map_err(|err| DropReason::Malformed {
        category: err.classify(),
        line: err.line(),
        bytes: message.len(),
    })?;
    let inbound =
        InboundMessageId::parse(&sms.inbound_message_id).map_err(|_| DropReason::InvalidInboundId)?;
    let Some(destination) = sms.destination_number.as_str() else {
        return Err(DropReason::NoDestination { inbound });
    };
    if !shared.matches(destination) {
        return Err(DropReason::WrongDestination { inbound, chars: destination.chars().count() });
    }
    if shared.matches(&sms.origination_number) || alert_sender.matches(&sms.origination_number) {
        return Err(DropReason::OwnIdentity { inbound });
    }
    let Ok(from) = PhoneNumber::parse(&sms.origination_number) else {
        return Err(DropReason::InvalidNumber { inbound, chars: sms.origination_number.chars().count() });
    };
    Ok(ParsedInbound { inbound, from, body: sms.message_body })
}

/// Handles one inbound SMS, given as the JSON string SNS carries.
#[instrument(skip_all)]
pub async fn handle_message<S, T>(deps: &Inbound<S, T>, message: &str) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    let config = &deps.config;
    let ParsedInbound { inbound, from, body } = match parse_inbound(
        message,
        &config.sms_shared_number,
        &config.sms_alert_sender,
    ) {
        Ok(parsed) => parsed,
        Err(reason) => {
            match &reason {
                DropReason::Malformed { category, line, bytes } => {
                    warn!(error = ?category, line, bytes, "malformed inbound SMS dropped");
                }
                DropReason::InvalidInboundId => {
                    warn!("inbound SMS without a valid inboundMessageId dropped");
                }
                DropReason::NoDestination { inbound } => {
                    warn!(%inbound, "inbound SMS without a destinationNumber string dropped");
                }
                DropReason::WrongDestination { inbound, chars } => {
                    // Only its length: it may be anything, a resident's number included.
                    warn!(%inbound, chars, shared = %deps.config.sms_shared_number, "inbound SMS to another number dropped");
                }
                DropReason::OwnIdentity { inbound } => {
                    warn!(%inbound, "inbound SMS from our own identity dropped (a loop)");
                }
                DropReason::InvalidNumber { inbound, chars } => {
                    warn!(%inbound, chars, "inbound SMS from an invalid number dropped");
                }
            }
            return Ok(Handled::Dropped(reason.as_str()));
        }
    };
    // Nothing goes back to a number outside the countries, nor to a machine repeating us.
    let handled = if !config.sms_countries.allows(&from) {
        Handled::Ignored(Ignored::OutsideCountries)
    } else if domain::repeats_our_text(&body) {
        Handled::Ignored(Ignored::OurText)
    } else {
        handle_sms(deps, &inbound, &from, &body).await?
    };
    info!(%inbound, from = %from.masked(), outcome = ?handled, "inbound SMS handled");
    Ok(handled)
}

async fn handle_sms<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    body: &str,
) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    let Some(member) = deps.store.member_by_phone(from).await? else {
        // The text of a stranger's message is not kept anywhere.
        let mut answered = deps.store.may_answer_unknown(from, inbound, UNKNOWN_REPLY_WINDOW).await?;
        if answered {
            let signup = format!("{}/", deps.config.public_base_url);
            let caps = deps.config.reply_caps;
            let caps = [
                Budget::unknown_replies(caps.unknown_per_hour),
                Budget::unknown_range_replies(from, caps.unknown_per_range_per_hour),
            ];
            let reply = domain::unknown_sender_reply(&signup);
            answered = reply_paced(deps, inbound, from, &reply, Priority::Ordinary, &caps).await?;
        }
        return Ok(Handled::Unknown { answered });
    };
    if member.invited() {
        return invited(deps, inbound, from, &member, body).await;
    }
    // OUI to a referent's invitation to a second community (`docs/consent.md`).
    if domain::says_yes(body)
        && let Some(offer) =
            members::join_offered(&deps.store, &member, members::Answer::Sms(inbound)).await?
    {
        info!(%inbound, member = %member.id, community = %offer.community, "second community joined");
        let reply = domain::texts::second_community_joined_reply(&offer.community_name);
        return reply_with(deps, inbound, from, reply, Handled::JoinedCommunity).await;
    }
    // FIN: the author's all clear; never an alert of its own.
    if let Some(note) = domain::fin_note(body) {
        let (reply, handled) = match alerts::close_by_sms(&deps.store, &member, note, inbound).await {
            Ok(Some(closure)) => {
                info!(%inbound, ending = closure.ending.as_str(), "alert closed by FIN");
                (domain::texts::closed_reply(), Handled::Closed)
            }
            Ok(None) => (domain::texts::nothing_to_close_reply(), Handled::NothingToClose),
            Err(alerts::CloseProblem::AlreadyClosed) => {
                (domain::texts::already_closed_reply(), Handled::NothingToClose)
            }
            Err(alerts::CloseProblem::NoteTooLong { max, .. }) => {
                (domain::texts::close_note_too_long_reply(max), Handled::NothingToClose)
            }
            Err(alerts::CloseProblem::Store(err)) => return Err(err.into()),
            // Their own alert, found by their own confirmation: they may close it.
            Err(
                err @ (alerts::CloseProblem::NotFound
                | alerts::CloseProblem::Forbidden
                | alerts::CloseProblem::NoteRequired),
            ) => {
                warn!(%inbound, error = %err, "FIN not applied");
                (domain::texts::nothing_to_close_reply(), Handled::NothingToClose)
            }
        };
        return reply_with(deps, inbound, from, reply, handled).await;
    }
    // NUIT / JOUR: quiet hours, for members who only use SMS; never an alert.
    if let Some(on) = domain::quiet_hours_asked(body) {
        deps.store.set_quiet_hours(&member, on, inbound).await?;
        info!(%inbound, member = %member.id, on, "quiet hours set");
        let reply = if on { domain::texts::quiet_on_reply() } else { domain::texts::quiet_off_reply() };
        return reply_with(deps, inbound, from, reply, Handled::QuietHours(on)).await;
    }
    // 17: the author told the police; never an alert of its own.
    if domain::says_police_called(body) {
        let reply = match alerts::police_called(&deps.store, &member, now_ms()).await? {
            Some(alert) => {
                info!(%inbound, %alert, "alert marked: police called");
                (domain::texts::police_called_reply(), Handled::PoliceCalled(alert))
            }
            None => (domain::texts::police_called_no_alert_reply(), Handled::NoAlertToMark),
        };
        return reply_with(deps, inbound, from, reply.0, reply.1).await;
    }
    match domain::classify(body) {
        Kind::Empty => reply_with(deps, inbound, from, domain::empty_reply(), Handled::Empty).await,
        Kind::Help(language) => {
            reply_with(deps, inbound, from, domain::help_reply(language), Handled::Help).await
        }
        Kind::Stop(language) => stop(deps, inbound, from, &member, language).await,
        Kind::Start(language) => {
            deps.store.set_sms_alerts(&member, true, inbound).await?;
            start(deps, inbound, from, language).await
        }
        Kind::KeywordFirst(keyword, language) => {
            let written = domain::first_keyword(body).unwrap_or("STOP");
            let reply = domain::keyword_first_reply(written, keyword, language);
            reply_with(deps, inbound, from, reply, Handled::KeywordFirst).await
        }
        kind @ (Kind::Ack | Kind::Message) => {
            let since = now_ms() - ACK_WINDOW.as_millis() as i64;
            let Some(last) = deps.store.last_sms_alert(member.id, since).await? else {
                // Nothing received lately: then it is a message like any other.
                return raise_alerts(deps, inbound, from, &member, body).await;
            };
            let alert = deps.store.alert(last).await?;
            // A "merci" to the confirmation of one's own alert is not an acknowledgement.
            let own = alert.as_ref().is_some_and(|a| a.sender_id == member.id);
            match (kind, alert) {
                (Kind::Ack, _) if own => Ok(Handled::ReplyToOwnAlert(last)),
                (Kind::Ack, _) => {
                    deps.store.acknowledge(last, member.id).await?;
                    Ok(Handled::Acknowledged(last))
                }
                // A phone that echoes the alert it just got would raise it again, to everyone.
                (_, Some(alert)) if !own && repeats_alert(deps, &alert, body) => {
                    Ok(Handled::Ignored(Ignored::OurText))
                }
                _ => raise_alerts(deps, inbound, from, &member, body).await,
            }
        }
    }
}

/// A message from a number a referent added, before its owner said yes: OUI (or START) takes
/// the invitation, STOP refuses it (SMS alerts off, as any STOP), anything else is answered with
/// how to say yes, and raises nothing.
async fn invited<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    member: &Member,
    body: &str,
) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    match domain::classify(body) {
        Kind::Stop(language) => stop(deps, inbound, from, member, language).await,
        Kind::Start(_) => accept(deps, inbound, from, member).await,
        _ if domain::says_yes(body) => accept(deps, inbound, from, member).await,
        _ => {
            let reply = domain::texts::invitation_pending_reply();
            reply_with(deps, inbound, from, reply, Handled::NotYetConfirmed).await
        }
    }
}

/// STOP, whoever sends it (a member, an invited number): SMS alerts off, once per inbound
/// message, and the answer carriers require.
async fn stop<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    member: &Member,
    language: Language,
) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    deps.store.set_sms_alerts(member, false, inbound).await?;
    reply_with(deps, inbound, from, domain::stop_reply(language), Handled::SmsOff).await
}

async fn accept<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    member: &Member,
) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    deps.store.accept_invitation(member, inbound).await?;
    info!(%inbound, member = %member.id, "invitation accepted");
    // A STOP to the invitation may have put the number on the account's opt-out list.
    if !opted_back_in(deps, inbound, from).await? {
        return Ok(Handled::StillOptedOut);
    }
    let reply = domain::texts::invitation_accepted_reply();
    reply_with(deps, inbound, from, reply, Handled::InvitationAccepted).await
}

/// Whether `body` repeats the SMS `alert` was sent as ([`vigie::compose::alert_sms`]).
fn repeats_alert<S, T>(deps: &Inbound<S, T>, alert: &vigie::model::Alert, body: &str) -> bool {
    let sms = vigie::compose::alert_sms(
        &alert.sender_first_name,
        alert.source,
        alert.category,
        &alert.text,
        deps.config.sms_max_segments,
    );
    domain::texts::repeats(body, &sms)
}

/// Brings a number back after START: vigie's own setting is on; if the number is also on the
/// account's SMS opt-out list (a STOP AWS handled before self-managed opt-outs, or a number opted
/// out by hand), it is taken off it first, or SNS would accept the reply and every alert and
/// deliver none of them.
async fn start<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    language: Language,
) -> Result<Handled, InboundError>
where
    S: Ledger + Limits + Sync,
    T: Texter + OptOuts + Sync,
{
    if !opted_back_in(deps, inbound, from).await? {
        return Ok(Handled::StillOptedOut);
    }
    reply_with(deps, inbound, from, domain::start_reply(language), Handled::SmsOn).await
}

/// Takes `from` off the account's SMS opt-out list if it is on it: false when it must stay there.
async fn opted_back_in<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
) -> Result<bool, InboundError>
where
    T: Texter + OptOuts + Sync,
{
    let opted_out = deps.texter.opted_out().await.map_err(InboundError::OptOutList)?;
    if opted_out.contains(from) {
        match deps.texter.opt_in(from).await {
            Ok(()) => {
                info!(%inbound, from = %from.masked(), "number taken off the account's SMS opt-out list")
            }
            Err(SendError::Permanent(error)) => {
                warn!(
                    %inbound, from = %from.masked(), %error,
                    "START: the number stays on the account's SMS opt-out list (AWS opts a number in once \
                     every 30 days); no SMS can reach it until it is removed"
                );
                return Ok(false);
            }
            Err(err @ SendError::Transient(_)) => return Err(InboundError::OptOutList(err)),
        }
    }
    Ok(true)
}

/// Raises the sender's alert ([`alerts::raise`], as the page and the API do) and tells them
/// what was wrong, if anything was.
async fn raise_alerts<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    from: &PhoneNumber,
    member: &Member,
    body: &str,
) -> Result<Handled, InboundError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
{
    let draft = alerts::Draft { sender: member, text: body, via: alerts::Via::Sms, submission: inbound };
    let (reply, handled) = match alerts::raise(&deps.store, alerts::Rules::of(&deps.config), draft).await {
        Ok(alerts::Raised::Now { ids, .. }) => return Ok(Handled::Alerted(ids)),
        Ok(alerts::Raised::AlreadyBefore(_)) => return Ok(Handled::Duplicate),
        Err(alerts::Problem::Store(err)) => return Err(err.into()),
        Err(alerts::Problem::RateLimited { .. }) => (domain::rate_limited_reply(), Handled::RateLimited),
        Err(alerts::Problem::Invalid(invalid)) => match invalid.first() {
            Some(alerts::Invalid::TextTooLong { max, .. }) => {
                (domain::too_long_reply(*max), Handled::TooLong)
            }
            Some(alerts::Invalid::NoCommunity) => (domain::no_community_reply(), Handled::NoCommunity),
            _ => (domain::empty_reply(), Handled::Empty),
        },
    };
    reply_with(deps, inbound, from, reply, handled).await
}

async fn reply_with<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    to: &PhoneNumber,
    body: String,
    handled: Handled,
) -> Result<Handled, InboundError>
where
    S: Ledger + Limits + Sync,
    T: Texter + Sync,
{
    // The answer to a STOP goes before the ordinary texts waiting for the quota.
    let priority = if handled == Handled::SmsOff { Priority::Urgent } else { Priority::Ordinary };
    let caps = [Budget::member_replies(to, deps.config.reply_caps.member_per_day)];
    if reply_paced(deps, inbound, to, &body, priority, &caps).await? {
        Ok(handled)
    } else {
        Ok(Handled::Unanswered(Box::new(handled)))
    }
}

/// Sends the one reply an inbound message may get, if `caps` all have room (counted once per
/// inbound message, whatever the retries): false when they had not, and nothing was sent. The
/// reply is claimed first, so a retry never sends it twice, and waits for its slot of the shared
/// number's quota: a reply that would wait past the invocation's time is released (not sent) and
/// the event fails, for Lambda to retry it later.
async fn reply_paced<S, T>(
    deps: &Inbound<S, T>,
    inbound: &InboundMessageId,
    to: &PhoneNumber,
    body: &str,
    priority: Priority,
    caps: &[Budget],
) -> Result<bool, InboundError>
where
    S: Ledger + Limits + Sync,
    T: Texter + Sync,
{
    if !deps.store.spend_once(&format!("reply#{inbound}"), caps).await? {
        let capped: Vec<&str> =
            caps.iter().map(|cap| cap.key.split('#').next().unwrap_or_default()).collect();
        warn!(%inbound, to = %to.masked(), ?capped, "reply not sent: a cap on replies is reached");
        return Ok(false);
    }
    let invocation =
        INVOCATION.try_with(Invocation::clone).unwrap_or_else(|_| Invocation::of(&Default::default()));
    let task = Task::Reply { inbound: inbound.clone() };
    let claim =
        deps.store.claim(std::slice::from_ref(&task), deps.config.claim_lease, &invocation.holder).await?;
    match claim.first() {
        Some(Claim::Acquired) => {}
        Some(Claim::Done) => return Ok(true),
        _ => return Err(InboundError::ReplyBusy),
    }
    let parts = domain::count_segments(body).segments as u32;
    let sent = match deps.sms_rate.take(parts, priority, Some(invocation.reply_until)).await {
        Ok(()) => deps.texter.send_sms(to, body).await,
        Err(late) => Err(SendError::Transient(late.to_string())),
    };
    let (outcome, result) = match sent {
        Ok(message_id) => (Outcome::Sent { message_id }, Ok(())),
        Err(SendError::Permanent(error)) => {
            warn!(%inbound, to = %to.masked(), %error, "reply rejected");
            (Outcome::Failed { error }, Ok(()))
        }
        Err(err @ SendError::Transient(_)) => {
            (Outcome::Released { error: err.to_string() }, Err(InboundError::Reply(err)))
        }
    };
    deps.store.settle(&[(task, outcome)]).await?;
    result.map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> SharedNumber {
        SharedNumber::parse("38123").unwrap()
    }

    #[test]
    fn parses_the_two_way_payload() {
        let message = r#"{"originationNumber":"+33639980001","destinationNumber":"38123",
            "messageKeyword":"KEYWORD_123456789012","messageBody":"Rôdeur rue des Lilas",
            "inboundMessageId":"in-1","previousPublishedMessageId":""}"#;
        let parsed = parse_inbound(message, &shared(), &shared().identity()).unwrap();
        assert_eq!(parsed.inbound.as_str(), "in-1");
        assert_eq!(parsed.from.as_str(), "+33639980001");
        assert_eq!(parsed.body, "Rôdeur rue des Lilas");
        // No body at all is an empty message, not a malformed one.
        let parsed = parse_inbound(
            r#"{"originationNumber":"0639980001","destinationNumber":"+38123","inboundMessageId":"x"}"#,
            &shared(),
            &shared().identity(),
        )
        .unwrap();
        assert_eq!(parsed.body, "");
        // The fields that route nothing may be of any type.
        for keyword in ["7", "null", r#"{"n":1}"#, "[]", "true"] {
            let message = format!(
                r#"{{"originationNumber":"+33639980001","destinationNumber":"38123",
                "messageKeyword":{keyword},"previousPublishedMessageId":{keyword},
                "messageBody":"Rôdeur","inboundMessageId":"in-2"}}"#
            );
            let parsed = parse_inbound(&message, &shared(), &shared().identity()).unwrap();
            assert_eq!((parsed.inbound.as_str(), parsed.body.as_str()), ("in-2", "Rôdeur"), "{message}");
        }
    }

    #[test]
    fn only_messages_to_the_shared_number_are_handled() {
        let to = |destination: &str| {
            format!(
                r#"{{"originationNumber":"+33639980001","destinationNumber":{destination},"messageBody":"Rôdeur","inboundMessageId":"in-3"}}"#
            )
        };
        for destination in [r#""38123""#, r#""+38123""#] {
            assert!(
                parse_inbound(&to(destination), &shared(), &shared().identity()).is_ok(),
                "{destination}"
            );
        }
        for (destination, reason) in [
            (r#""38124""#, "not sent to the shared number"),
            (r#""+33639980000""#, "not sent to the shared number"),
            (r#""""#, "not sent to the shared number"),
            ("38123", "no destination number"),
            ("null", "no destination number"),
            (r#"{"n":1}"#, "no destination number"),
            ("[]", "no destination number"),
        ] {
            let err = parse_inbound(&to(destination), &shared(), &shared().identity()).unwrap_err();
            assert_eq!(err.as_str(), reason, "{destination}");
        }
        let missing = r#"{"originationNumber":"+33639980001","messageBody":"x","inboundMessageId":"in-4"}"#;
        assert_eq!(
            parse_inbound(missing, &shared(), &shared().identity()).unwrap_err().as_str(),
            "no destination number"
        );
        // A long code is compared in E.164.
        let long = SharedNumber::parse("+33939000000").unwrap();
        assert!(parse_inbound(&to(r#""+33939000000""#), &long, &long.identity()).is_ok());
        assert!(parse_inbound(&to(r#""38123""#), &long, &long.identity()).is_err());
    }

    #[test]
    fn our_own_identities_are_never_answered() {
        let from = |origination: &str| {
            format!(
                r#"{{"originationNumber":"{origination}","destinationNumber":"38123","messageBody":"STOP","inboundMessageId":"in-5"}}"#
            )
        };
        let sender = OriginationIdentity::parse("+33939000001").unwrap();
        for own in ["38123", "+38123", "+33939000001"] {
            let err = parse_inbound(&from(own), &shared(), &sender).unwrap_err();
            assert_eq!(err.as_str(), "from our own identity", "{own}");
        }
        assert!(parse_inbound(&from("+33939000002"), &shared(), &sender).is_ok());
        // A sender ID cannot text: nothing is taken for it.
        let id = OriginationIdentity::parse("BELLERIVE").unwrap();
        assert!(parse_inbound(&from("+33639980001"), &shared(), &id).is_ok());
        assert_eq!(
            parse_inbound(&from("BELLERIVE"), &shared(), &id).unwrap_err().as_str(),
            "invalid origination number"
        );
    }

    #[test]
    fn drops_what_can_never_be_handled() {
        for (message, reason) in [
            ("", "malformed message"),
            ("not json", "malformed message"),
            ("[]", "malformed message"),
            ("null", "malformed message"),
            (r#"{"inboundMessageId":"x","messageBody":"hi"}"#, "malformed message"),
            (r#"{"originationNumber":"+33639980001","messageBody":"hi"}"#, "malformed message"),
            (r#"{"originationNumber":33639980001,"inboundMessageId":"x"}"#, "malformed message"),
            (
                r#"{"originationNumber":"+33639980001","inboundMessageId":"x","messageBody":7}"#,
                "malformed message",
            ),
            (
                r#"{"originationNumber":"+33639980001","inboundMessageId":"a b"}"#,
                "invalid inbound message id",
            ),
            (r#"{"originationNumber":"+33639980001","inboundMessageId":""}"#, "invalid inbound message id"),
            (
                r#"{"originationNumber":"abc","destinationNumber":"38123","inboundMessageId":"x"}"#,
                "invalid origination number",
            ),
            (
                r#"{"originationNumber":"+","destinationNumber":"38123","inboundMessageId":"x"}"#,
                "invalid origination number",
            ),
        ] {
            let err = parse_inbound(message, &shared(), &shared().identity()).unwrap_err();
            assert_eq!(err.as_str(), reason, "{message}");
        }
        let long_id =
            format!(r#"{{"originationNumber":"+33639980001","inboundMessageId":"{}"}}"#, "i".repeat(129));
        assert_eq!(
            parse_inbound(&long_id, &shared(), &shared().identity()),
            Err(DropReason::InvalidInboundId)
        );
    }
}
