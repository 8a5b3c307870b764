//! Fan-out of one alert: members are read page by page, each delivery is claimed in the ledger
//! before it is sent and settled after, so a replayed stream record or a crashed invocation
//! resumes without sending anything twice.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, instrument, warn};
use vigie::compose::{self, AlertEmail};
use vigie::config::Config;
use vigie::domain::{self, AlertId, AlertSource, Member, MemberId, PoliceCalled};
use vigie::model::{
    Alert, Channel, Claim, ClaimHolder, Cursor, DeliveryCounts, DeliveryState, Outcome, Recipient, Task, Wave,
};
use vigie::pace::{PaceError, Pacer, Priority, Rates};
use vigie::ports::{
    AlertLog, Ledger, Mailer, MemberLookup, OptOuts, OptedOut, Roster, SendError, StoreError, Texter,
};

/// Why an SMS to a number on the account's SMS opt-out list is recorded as failed, unsent: SNS
/// would accept it and deliver nothing.
pub const OPTED_OUT_AT_AWS: &str =
    "number on the account's SMS opt-out list (AWS delivers nothing to it): the member can text START";

/// Why the all clear's SMS to a member in their quiet hours is recorded as failed, unsent.
pub const QUIET_FOLLOW_UP: &str = "quiet hours: the all clear is not texted at night";

/// Outcomes are written back to the ledger in batches of this size, as they come.
const SETTLE_BATCH: usize = 25;
/// Settlement batches written at the same time. With the queue of outcomes (one batch), this
/// bounds what a killed process leaves unsettled: the sends in flight and about 4 batches.
const SETTLERS: usize = 2;
/// Extra attempts at a store call of the fan-out, after the SDK's own retries (about 3 s in all).
const STORE_ATTEMPTS: u32 = 5;
/// How many times deliveries held by an ended invocation are waited for, in one invocation.
const BUSY_ROUNDS: usize = 1;

/// What the handler needs. The rates are the account's sending quotas, shared with every other
/// process that sends (`Rates::shared`); the clock says whether it is night for quiet hours
/// (epoch ms; the system's, or a fixed one in tests).
pub struct FanOut<S, T, M> {
    pub store: S,
    pub texter: T,
    pub mailer: M,
    pub config: Config,
    pub rates: Rates,
    pub clock: Clock,
}

/// The time now, in epoch ms.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

impl<S, T, M> FanOut<S, T, M> {
    pub fn new(store: S, texter: T, mailer: M, config: Config, rates: Rates) -> Self {
        let clock: Clock = std::sync::Arc::new(vigie::adapters::now_ms);
        Self { store, texter, mailer, config, rates, clock }
    }

    /// The same, telling the time by `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a claim is held: `CLAIM_LEASE_SECONDS`, or longer when the send rates are so low
    /// that the deliveries claimed ahead (about two pages) could not all be sent within it —
    /// twice the time two full pages take at those rates (`sms_parts` a message).
    pub fn lease(&self, sms_parts: u32) -> Duration {
        let per_member = |rate: u32, units: u32| {
            if rate == 0 { 0.0 } else { f64::from(units) / f64::from(rate) }
        };
        let member_seconds = per_member(self.config.sms_parts_per_second, sms_parts.max(1))
            + per_member(self.config.emails_per_second, 1);
        let two_pages = 2.0 * f64::from(self.config.fanout_page_size.max(1)) * member_seconds;
        self.config.claim_lease.max(Duration::from_secs_f64(2.0 * two_pages))
    }
}

/// Where a fan-out invocation starts: an alert's first member, or where the previous chunk
/// handed over.
#[derive(Clone, Debug, PartialEq)]
pub struct Work {
    pub alert: AlertId,
    /// The alert itself, or its all clear.
    pub wave: Wave,
    pub after: Option<Cursor>,
}

/// What an invocation is allowed: until when it may run, and who holds its claims.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// When Lambda stops it (`None`: no limit, an in-process call).
    pub deadline: Option<SystemTime>,
    /// Its claims' holder: its retries of a claim take their own claims back at once.
    pub holder: ClaimHolder,
}

impl Invocation {
    /// No deadline, a holder of its own.
    pub fn unbounded() -> Self {
        Self { deadline: None, holder: ClaimHolder::new() }
    }

    /// The invocation Lambda describes in `context` (its deadline, its request id).
    pub fn of(context: &lambda_runtime::Context) -> Self {
        let deadline = vigie::pace::invocation_deadline(context.deadline);
        Self { deadline, holder: ClaimHolder::invocation(&context.request_id) }
    }
}

/// How far one invocation got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Every member reached (or failed for good), the sender told, the counts written.
    Done(DeliveryCounts),
    /// This chunk is done; a cursor item hands the rest to the next invocation.
    HandedOver,
}

/// Why an alert's fan-out did not finish.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some deliveries failed for now or are held by another invocation: retry the record.
    #[error("{pending} deliveries still pending")]
    Incomplete { pending: u32 },
}

impl FanOutError {
    pub fn is_retryable(&self) -> bool {
        match self {
            FanOutError::Store(err) => err.is_retryable(),
            FanOutError::Incomplete { .. } => true,
        }
    }
}

/// Everything the fan-out functions need from the store.
pub trait Store: MemberLookup + Roster + Ledger + AlertLog + Sync {}
impl<S: MemberLookup + Roster + Ledger + AlertLog + Sync> Store for S {}

/// Handles a batch of stream records, in order, and reports the first one that must be retried:
/// Lambda retries from there, and the records after it come again (idempotently).
pub async fn handle<S, T, M>(
    deps: &FanOut<S, T, M>,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let invocation = Invocation::of(&event.context);
    let mut response = DynamoDbEventResponse::default();
    for record in &event.payload.records {
        let work = match work_of(record) {
            Ok(Some(work)) => work,
            Ok(None) => continue,
            Err(reason) => {
                error!(event_id = %record.event_id, %reason, "malformed stream record dropped");
                continue;
            }
        };
        match run(deps, &work, &invocation).await {
            Ok(Some(Progress::Done(counts))) => info!(alert = %work.alert, ?counts, "alert fanned out"),
            Ok(Some(Progress::HandedOver)) => info!(alert = %work.alert, "chunk done, handed over"),
            Ok(None) => {
                warn!(alert = %work.alert, "stream record of an alert not stored, or with nothing to send: skipped")
            }
            Err(err) if err.is_retryable() => {
                warn!(alert = %work.alert, error = %err, "fan-out incomplete, record to be retried");
                // Lambda retries from the first failed record; the ones after it are still done
                // now (their retry changes nothing), so a record that never succeeds cannot hold
                // back the alerts behind it in its batch.
                if response.batch_item_failures.is_empty() {
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = Some(
                        record.change.sequence_number.clone().unwrap_or_else(|| record.event_id.clone()),
                    );
                    response.batch_item_failures.push(failure);
                }
            }
            Err(err) => error!(alert = %work.alert, error = %err, "fan-out abandoned: cannot succeed"),
        }
    }
    Ok(response)
}

/// Runs [`handle`] on a stream event given as JSON, in the invocation `context` (its deadline
/// and request id), and answers with the JSON Lambda would send back, as an in-process stand-in
/// for the Lambda runtime (the stream relay of the local stack, the tests, the benchmark). An
/// error names the runtime's error type and says why.
pub async fn handle_json<S, T, M>(
    deps: &FanOut<S, T, M>,
    event: serde_json::Value,
    context: lambda_runtime::Context,
) -> Result<serde_json::Value, (&'static str, String)>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let event: Event =
        serde_json::from_value(event).map_err(|e| ("Runtime.UnmarshalError", e.to_string()))?;
    let response =
        handle(deps, LambdaEvent::new(event, context)).await.map_err(|e| ("Handler", e.to_string()))?;
    serde_json::to_value(response).map_err(|e| ("Runtime.MarshalError", e.to_string()))
}

/// The stream items that start work: a new alert, its all clear's start, or a chunk's hand-over.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StreamItem {
    Alert {
        alert_id: AlertId,
    },
    FanoutCursor {
        alert_id: AlertId,
        after: String,
    },
    FollowUp {
        alert_id: AlertId,
    },
    FollowUpCursor {
        alert_id: AlertId,
        after: String,
    },
    Morning {
        alert_id: AlertId,
    },
    MorningCursor {
        alert_id: AlertId,
        after: String,
    },
    #[serde(other)]
    Other,
}

/// The work a stream record announces, if it is the insertion of an alert or of a cursor.
fn work_of(record: &EventRecord) -> Result<Option<Work>, String> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let item: StreamItem =
        serde_dynamo::from_item(record.change.new_image.clone()).map_err(|e| e.to_string())?;
    let work = |alert, wave, after: Option<String>| Some(Work { alert, wave, after: after.map(Cursor) });
    Ok(match item {
        StreamItem::Alert { alert_id } => work(alert_id, Wave::Alert, None),
        StreamItem::FanoutCursor { alert_id, after } => work(alert_id, Wave::Alert, Some(after)),
        StreamItem::FollowUp { alert_id } => work(alert_id, Wave::FollowUp, None),
        StreamItem::FollowUpCursor { alert_id, after } => work(alert_id, Wave::FollowUp, Some(after)),
        StreamItem::Morning { alert_id } => work(alert_id, Wave::Morning, None),
        StreamItem::MorningCursor { alert_id, after } => work(alert_id, Wave::Morning, Some(after)),
        StreamItem::Other => None,
    })
}

/// Runs one piece of work on the stored alert (the authority: a record for an alert that is not,
/// or no longer, stored fans out nothing; the emulator even streams puts of cancelled
/// transactions). `None` when there is no such alert.
pub async fn run<S, T, M>(
    deps: &FanOut<S, T, M>,
    work: &Work,
    invocation: &Invocation,
) -> Result<Option<Progress>, FanOutError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let Some(alert) = persist("alert", || deps.store.alert(work.alert)).await? else {
        return Ok(None);
    };
    if work.wave == Wave::FollowUp && alert.closed.is_none() {
        // Not closed: the start of its all clear was a cancelled transaction's (the emulator's).
        return Ok(None);
    }
    if work.wave == Wave::Morning && alert.closed.is_some() {
        info!(alert = %alert.alert_id, "closed before the morning: its SMS held for the night stay unsent");
        return Ok(None);
    }
    fan_out_within(deps, &alert, work.wave, work.after.clone(), invocation).await.map(Some)
}

/// [`fan_out_within`] an invocation without a deadline.
pub async fn fan_out<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    after: Option<Cursor>,
) -> Result<Progress, FanOutError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    fan_out_within(deps, alert, Wave::Alert, after, &Invocation::unbounded()).await
}

/// Delivers one alert to its community (or, its `wave` [`Wave::FollowUp`], its all clear to the
/// neighbours it reached), from `after` on, at most a chunk of members; then either hands the
/// rest over to the next invocation, or, at the end, tells the sender how many neighbours were
/// reached (the all clear's closer was answered when they closed it).
///
/// Three loops run side by side so that the sends never wait for the ledger: one reads the
/// members page by page and claims their deliveries (a page ahead of the sends), one sends what
/// was claimed with bounded concurrency, one records the outcomes in batches. Bounded queues
/// between them keep memory flat and claims at most about two pages ahead of their sending.
///
/// The chunk ends early, and hands over, when the invocation's remaining time would not cover
/// more members at the rate its sends get ([`Schedule`]): no invocation runs into its timeout
/// because the quota is low or shared.
#[instrument(skip_all, fields(alert = %alert.alert_id, community = %alert.community_id))]
pub async fn fan_out_within<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    wave: Wave,
    after: Option<Cursor>,
    invocation: &Invocation,
) -> Result<Progress, FanOutError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let max_segments = deps.config.sms_max_segments;
    let sms = match (wave, &alert.closed) {
        (Wave::FollowUp, Some(closure)) => compose::follow_up_sms(alert, closure, max_segments),
        _ => compose::alert_sms(
            &alert.sender_first_name,
            alert.source,
            alert.category,
            &alert.text,
            max_segments,
        ),
    };
    let sms_parts = domain::count_segments(&sms).segments as u32;
    let night = night_of(deps, alert).await?;
    let schedule = Schedule::new(deps, invocation, priority_of(alert), sms_parts, night);
    // One read of AWS's own opt-out list per chunk: an SMS to a number on it would be accepted and
    // never delivered, so it is recorded as failed instead of sent. If the list cannot be read,
    // the SMS go out as before (an alert is not held back for it).
    let opted_out = deps.texter.opted_out().await.unwrap_or_else(|error| {
        warn!(%error, "the account's SMS opt-out list could not be read: sending without it");
        OptedOut::default()
    });
    // A queue per channel, each holding a page's deliveries (the reader claims the next page
    // while this one is sent), and a sender per channel: each channel keeps to its own quota
    // without waiting behind the other's.
    let page_jobs = deps.config.fanout_page_size.max(1) as usize;
    let (sms_tx, sms_rx) = mpsc::channel(page_jobs);
    let (email_tx, email_rx) = mpsc::channel(page_jobs);
    let (outcomes_tx, outcomes_rx) = mpsc::channel(SETTLE_BATCH);
    let queues = Queues { sms: sms_tx, email: email_tx };
    let (walked, released_sms, released_email, settled) = tokio::join!(
        claim_chunk(deps, alert, wave, after, &schedule, queues),
        send_claimed(deps, alert, (&sms, &opted_out), &schedule, sms_rx, outcomes_tx.clone()),
        send_claimed(deps, alert, (&sms, &opted_out), &schedule, email_rx, outcomes_tx),
        settle_outcomes(deps, outcomes_rx),
    );
    settled?;
    let walked = walked?;
    let unfinished = released_sms || released_email || walked.left_busy;
    if let Some(next) = walked.next {
        if unfinished {
            return Err(FanOutError::Incomplete { pending: 1 });
        }
        // The rest goes to a fresh invocation: no invocation runs long, whatever the community.
        persist("hand-over", || deps.store.hand_over(alert.alert_id, wave, &next)).await?;
        return Ok(Progress::HandedOver);
    }
    let counts = persist("tally", || deps.store.tally(alert.alert_id, wave)).await?;
    if wave == Wave::Alert && counts.sms_held > 0 {
        // The morning job starts the alert's morning pass at 07:00 (`wake_up`); at once when the
        // night ended while the alert was still going out (chunks held in the night, the last
        // one by day). The morning pass itself notes none: what it leaves held (a member who
        // unticked SMS since) stays so.
        let until = night.unwrap_or_else(|| (deps.clock)());
        persist("wake", || deps.store.wake_at(alert.alert_id, until)).await?;
    }
    // The morning's and the all clear's passes end with their counts (nobody to confirm to).
    if wave != Wave::Alert {
        let (id, done) = (alert.alert_id, !unfinished && counts.pending == 0);
        if wave == Wave::Morning {
            persist("counts", || deps.store.record_counts(id, &counts, done)).await?;
        } else {
            persist("counts", || deps.store.record_follow_up_counts(id, &counts, done)).await?;
        }
        return if done {
            Ok(Progress::Done(counts))
        } else {
            Err(FanOutError::Incomplete { pending: counts.pending.max(1) })
        };
    }
    if unfinished || counts.pending > 0 {
        persist("counts", || deps.store.record_counts(alert.alert_id, &counts, false)).await?;
        return Err(FanOutError::Incomplete { pending: counts.pending.max(1) });
    }
    confirm_to_sender(deps, alert, &counts, &schedule).await?;
    persist("counts", || deps.store.record_counts(alert.alert_id, &counts, true)).await?;
    Ok(Progress::Done(counts))
}

/// A delivery to make, and to whom.
type Job = (Task, Recipient);

/// The senders' queues, one per channel.
struct Queues {
    sms: mpsc::Sender<Job>,
    email: mpsc::Sender<Job>,
}

impl Queues {
    /// Queues a job for its channel's sender; false when that sender has stopped.
    async fn send(&self, job: Job) -> bool {
        let queue = if job.0.channel() == Some(Channel::Sms) { &self.sms } else { &self.email };
        queue.send(job).await.is_ok()
    }
}

/// When the night ends in the alert's community, if it is night there now and the alert is not
/// one that wakes everyone (`domain::quiet`).
async fn night_of<S: Store, T, M>(deps: &FanOut<S, T, M>, alert: &Alert) -> Result<Option<i64>, FanOutError> {
    if domain::quiet::wakes_everyone(alert.source, alert.category) {
        return Ok(None);
    }
    let community = persist("community", || deps.store.community(&alert.community_id)).await?;
    let zone = community.map(|c| c.time_zone).unwrap_or_default();
    Ok(domain::quiet::night_ends(&zone, (deps.clock)()))
}

/// The morning job, run every few minutes (a schedule): starts the morning pass of each alert
/// whose night is over, if it is still open, so the SMS held for quiet hours go out. Once per
/// alert and night, however often it runs: how many passes it started.
pub async fn wake_up<S: Store, T, M>(deps: &FanOut<S, T, M>) -> Result<usize, StoreError> {
    let now = (deps.clock)();
    let mut started = 0;
    for (alert, at) in persist("wakes", || deps.store.due_wakes(now)).await? {
        match persist("alert", || deps.store.alert(alert)).await? {
            Some(stored) if stored.closed.is_none() => {
                persist("morning", || deps.store.start_morning(alert, at)).await?;
                started += 1;
            }
            _ => info!(%alert, "closed or gone by the morning: its SMS held for the night stay unsent"),
        }
        persist("wake", || deps.store.drop_wake(alert, at)).await?;
    }
    Ok(started)
}

/// What the function is invoked with: a batch of the alerts table's stream, or the morning
/// schedule's event (`{"vigie": "wake_up"}`, the template's `Input`).
pub async fn handle_any<S, T, M>(
    deps: &FanOut<S, T, M>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let (payload, context) = event.into_parts();
    if payload.get("vigie").and_then(serde_json::Value::as_str) == Some("wake_up") {
        let started = wake_up(deps).await?;
        info!(started, "morning passes started");
        return Ok(serde_json::json!({ "started": started }));
    }
    let stream: Event = serde_json::from_value(payload)?;
    let response = handle(deps, LambdaEvent::new(stream, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// Whose alert goes first when the quota is the limit: the police's.
fn priority_of(alert: &Alert) -> Priority {
    if alert.source == AlertSource::Police { Priority::Urgent } else { Priority::Ordinary }
}

/// Until a send rate has been measured this long, the quota stands in for it.
const MEASURE_AFTER: Duration = Duration::from_secs(2);
/// What an invocation keeps after its last send, as a share of its time and within bounds: the
/// settlements, then the hand-over or the tally, the sender's confirmation and the counts.
const MARGIN_SHARE: u32 = 10;
const MARGIN_MIN: Duration = Duration::from_secs(1);
const MARGIN_MAX: Duration = Duration::from_secs(30);

/// One chunk's sends against its invocation's deadline: how many units are claimed and not yet
/// sent on each channel, and the rate the sends really get (the quota is shared with the other
/// invocations and the replies, and a police alert goes first), so the reader claims only the
/// members the remaining time covers.
struct Schedule {
    invocation: Invocation,
    priority: Priority,
    /// The last moment a send may start.
    last_send: Option<Instant>,
    sms: Meter,
    email: Meter,
    /// SMS parts of one alert SMS.
    sms_parts: u32,
    /// When the night ends, if it is night in the community and the alert is not one that
    /// wakes everyone: members with quiet hours get no SMS until then.
    night: Option<i64>,
    /// Sends on their way to SNS or SES, both channels together (`FANOUT_CONCURRENCY`): what a
    /// killed process can leave unsettled.
    in_flight: tokio::sync::Semaphore,
}

/// One channel's units in a chunk.
struct Meter {
    per_second: u32,
    queued: AtomicU64,
    sent: AtomicU64,
    first_send: OnceLock<Instant>,
}

impl Meter {
    fn new(pacer: &Pacer) -> Self {
        Self {
            per_second: pacer.per_second(),
            queued: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            first_send: OnceLock::new(),
        }
    }

    /// Units per second this chunk gets: measured once sends have gone on long enough, the quota
    /// before (never more than the quota).
    fn rate(&self, now: Instant) -> f64 {
        let quota = f64::from(self.per_second);
        let sent = self.sent.load(Ordering::Relaxed) as f64;
        match self.first_send.get() {
            Some(first) if now.saturating_duration_since(*first) >= MEASURE_AFTER && sent > 0.0 => {
                (sent / now.saturating_duration_since(*first).as_secs_f64()).min(quota)
            }
            _ => quota,
        }
    }

    /// How many members of `units` each the channel can still send in `remaining`, after what
    /// is claimed already; `None` without a quota.
    fn members_fitting(&self, now: Instant, remaining: Duration, units: u32) -> Option<usize> {
        if self.per_second == 0 {
            return None;
        }
        let pending = self.queued.load(Ordering::Relaxed).saturating_sub(self.sent.load(Ordering::Relaxed));
        let capacity = self.rate(now) * remaining.as_secs_f64() - pending as f64;
        Some((capacity.max(0.0) / f64::from(units.max(1))).floor() as usize)
    }
}

impl Schedule {
    fn new<S, T, M>(
        deps: &FanOut<S, T, M>,
        invocation: &Invocation,
        priority: Priority,
        sms_parts: u32,
        night: Option<i64>,
    ) -> Self {
        let last_send = invocation.deadline.map(|deadline| {
            let remaining = deadline.duration_since(SystemTime::now()).unwrap_or_default();
            let margin = (remaining / MARGIN_SHARE).clamp(MARGIN_MIN, MARGIN_MAX);
            Instant::now() + remaining.saturating_sub(margin)
        });
        Self {
            invocation: invocation.clone(),
            priority,
            last_send,
            sms: Meter::new(&deps.rates.sms),
            email: Meter::new(&deps.rates.email),
            sms_parts,
            night,
            in_flight: tokio::sync::Semaphore::new(deps.config.fanout_concurrency.max(1)),
        }
    }

    fn meter(&self, channel: Channel) -> (&Meter, u32) {
        match channel {
            Channel::Sms => (&self.sms, self.sms_parts),
            Channel::Email => (&self.email, 1),
        }
    }

    /// How many more members the time left covers, both channels at their rates (`None`: no
    /// deadline or no quota).
    fn members_fitting(&self) -> Option<usize> {
        let now = Instant::now();
        let remaining = self.last_send?.saturating_duration_since(now);
        let sms = self.sms.members_fitting(now, remaining, self.sms_parts);
        let email = self.email.members_fitting(now, remaining, 1);
        match (sms, email) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (one, other) => one.or(other),
        }
    }

    /// Whether there is time to wait `wait` and still send.
    fn can_wait(&self, wait: Duration) -> bool {
        self.last_send.is_none_or(|last| Instant::now() + wait < last)
    }

    fn queued(&self, channel: Channel) {
        let (meter, units) = self.meter(channel);
        meter.queued.fetch_add(u64::from(units), Ordering::Relaxed);
    }

    fn sending(&self, channel: Channel) {
        self.meter(channel).0.first_send.get_or_init(Instant::now);
    }

    fn sent(&self, channel: Channel) {
        let (meter, units) = self.meter(channel);
        meter.sent.fetch_add(u64::from(units), Ordering::Relaxed);
    }

    /// Waits for the slot of `units` on `pacer`, no later than the last moment to send, then
    /// for room among the sends in flight.
    async fn slot(&self, pacer: &Pacer, units: u32) -> Result<tokio::sync::SemaphorePermit<'_>, SendError> {
        pacer.take(units, self.priority, self.last_send).await.map_err(|err| match err {
            PaceError::TooLate => {
                SendError::Transient("no send slot before the invocation's deadline".into())
            }
            PaceError::Unavailable(err) => SendError::Transient(err.to_string()),
        })?;
        self.in_flight.acquire().await.map_err(|_| SendError::Transient("the invocation is ending".into()))
    }
}

/// How far the reader got in a chunk.
struct Walked {
    /// Where the next chunk starts, if members remain after this one.
    next: Option<Cursor>,
    /// Some deliveries were still held by an ended invocation after waiting out its lease.
    left_busy: bool,
}

/// Reads a chunk of members page by page from `after`, claims their deliveries and queues the
/// acquired ones for sending, as long as the invocation's time covers them. Deliveries held by
/// another invocation are claimed again at the end, once its lease has run out.
async fn claim_chunk<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    wave: Wave,
    after: Option<Cursor>,
    schedule: &Schedule,
    jobs: Queues,
) -> Result<Walked, FanOutError>
where
    S: Store,
{
    let lease = deps.lease(schedule.sms_parts);
    let mut after = after;
    let mut members = 0;
    let mut busy = Vec::new();
    let next = loop {
        let mut limit = deps.config.fanout_page_size.max(1) as usize;
        if let Some(fitting) = schedule.members_fitting() {
            if fitting == 0 && members > 0 {
                // What is claimed already fills the time left: the next invocation goes on.
                info!(members, "the invocation's time is taken: handing over early");
                break after;
            }
            // At least one member an invocation, so every invocation moves the alert on.
            limit = limit.min(fitting.max(1));
        }
        let (page_jobs, read, next) = match wave {
            Wave::Alert => community_page(deps, alert, after.clone(), limit).await?,
            Wave::Morning | Wave::FollowUp => reached_page(deps, alert, wave, after.clone(), limit).await?,
        };
        members += read;
        busy.extend(claim_and_queue(deps, page_jobs, lease, schedule, &jobs).await?);
        after = next;
        match &after {
            None => break None,
            Some(next) if members >= deps.config.fanout_chunk_members => break Some(next.clone()),
            Some(_) => {}
        }
    };
    for _ in 0..BUSY_ROUNDS {
        let wait = lease + Duration::from_millis(100);
        if busy.is_empty() || !schedule.can_wait(wait) {
            break;
        }
        // Held by an invocation that has ended (a record is handled by one invocation at a time,
        // so the holder is a crashed or timed-out one, or a duplicate): once its lease runs out,
        // they're ours.
        tokio::time::sleep(wait).await;
        busy = claim_and_queue(deps, busy, lease, schedule, &jobs).await?;
    }
    Ok(Walked { next, left_busy: !busy.is_empty() })
}

/// The deliveries of the alert to a page of its community's members, how many members were read,
/// and where the next page starts.
async fn community_page<S: Store, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    after: Option<Cursor>,
    limit: usize,
) -> Result<(Vec<Job>, usize, Option<Cursor>), FanOutError> {
    let page =
        persist("roster page", || deps.store.members_page(&alert.community_id, after.clone(), limit as i32))
            .await?;
    let read = page.items.len();
    let mut jobs = Vec::with_capacity(read * 2);
    for recipient in page.items.into_iter().filter(|r| r.member_id != alert.sender_id) {
        let task = |channel| Task::Delivery { alert: alert.alert_id, member: recipient.member_id, channel };
        // A number outside the countries (stored before the rule) gets no SMS; email still.
        // An alert past its SMS budget goes by email only (`app::budget`).
        if alert.sms_withheld.is_none() && recipient.texted_in(&deps.config.sms_countries).is_some() {
            jobs.push((task(Channel::Sms), recipient.clone()));
        }
        if recipient.email_target().is_some() {
            jobs.push((task(Channel::Email), recipient));
        }
    }
    Ok((jobs, read, page.next))
}

/// The deliveries of `wave` to a page of the alert's neighbours: for the all clear, those the
/// alert reached, by the channels that reached them; for the morning, those whose SMS was held
/// for the night. Only to those still members of the community who still take that channel (who
/// unticked SMS since gets no SMS), with the address or number they have now.
async fn reached_page<S: Store, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    wave: Wave,
    after: Option<Cursor>,
    limit: usize,
) -> Result<(Vec<Job>, usize, Option<Cursor>), FanOutError> {
    let state = if wave == Wave::Morning { DeliveryState::Held } else { DeliveryState::Sent };
    let page =
        persist("deliveries", || deps.store.deliveries(alert.alert_id, state, after.clone(), limit as i32))
            .await?;
    let ids: Vec<MemberId> = page.items.iter().map(|(member, _)| *member).collect();
    let members =
        if ids.is_empty() { Vec::new() } else { persist("members", || deps.store.members(&ids)).await? };
    let members: HashMap<MemberId, Recipient> = members
        .iter()
        .filter(|m| m.belongs_to(&alert.community_id))
        .map(|m| (m.id, Recipient::of(m)))
        .collect();
    let jobs = page
        .items
        .iter()
        .filter_map(|(member, channel)| {
            let recipient = members.get(member)?;
            let takes = match channel {
                Channel::Sms => recipient.texted_in(&deps.config.sms_countries).is_some(),
                Channel::Email => recipient.email_target().is_some(),
            };
            takes.then(|| (Task::to_neighbour(wave, alert.alert_id, *member, *channel), recipient.clone()))
        })
        .collect();
    Ok((jobs, page.items.len(), page.next))
}

/// Claims `pending` and queues the acquired ones; returns those held by another invocation.
async fn claim_and_queue<S, T, M>(
    deps: &FanOut<S, T, M>,
    pending: Vec<Job>,
    lease: Duration,
    schedule: &Schedule,
    jobs: &Queues,
) -> Result<Vec<Job>, FanOutError>
where
    S: Store,
{
    if pending.is_empty() {
        return Ok(pending);
    }
    let tasks: Vec<Task> = pending.iter().map(|(task, _)| task.clone()).collect();
    // A claim retried after a lost answer finds its own claims taken by its own holder: they are
    // acquired again at once, and nothing is sent twice (the sends come after the claim).
    let holder = &schedule.invocation.holder;
    let claims = persist("claim", || deps.store.claim(&tasks, lease, holder)).await?;
    let mut busy = Vec::new();
    for (job, claim) in pending.into_iter().zip(claims) {
        match claim {
            Claim::Acquired => {
                if let Some(channel) = job.0.channel() {
                    schedule.queued(channel);
                }
                if !jobs.send(job).await {
                    // The senders stopped (their outcomes can no longer be recorded): what is
                    // claimed and not sent goes back to the next attempt when the lease ends.
                    return Err(FanOutError::Incomplete { pending: 1 });
                }
            }
            Claim::Busy => busy.push(job),
            Claim::Done => {}
        }
    }
    Ok(busy)
}

/// Sends what was claimed on one channel, with bounded concurrency, and passes each outcome on
/// to be recorded. True when some failed for now (released for a retry).
async fn send_claimed<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    sms: (&str, &OptedOut),
    schedule: &Schedule,
    jobs: mpsc::Receiver<Job>,
    outcomes: mpsc::Sender<(Task, Outcome)>,
) -> bool
where
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let mut released = false;
    let mut sends = receive(jobs)
        .map(|(task, recipient)| async move {
            let outcome = send(deps, alert, sms, schedule, &task, &recipient).await;
            (task, outcome)
        })
        .buffer_unordered(deps.config.fanout_concurrency.max(1));
    while let Some((task, outcome)) = sends.next().await {
        released |= matches!(outcome, Outcome::Released { .. });
        if outcomes.send((task, outcome)).await.is_err() {
            // Outcomes can no longer be recorded: stop sending (the record is retried).
            error!("settlements stopped: no more sends in this invocation");
            return true;
        }
    }
    released
}

/// Records outcomes in batches as they come, several batches at a time.
async fn settle_outcomes<S, T, M>(
    deps: &FanOut<S, T, M>,
    outcomes: mpsc::Receiver<(Task, Outcome)>,
) -> Result<(), StoreError>
where
    S: Store,
{
    let mut batches = receive(outcomes)
        .chunks(SETTLE_BATCH)
        .map(|batch| async move { settle(deps, &batch).await })
        .buffer_unordered(SETTLERS);
    while let Some(settled) = batches.next().await {
        settled?;
    }
    Ok(())
}

/// A queue's receiving end as a stream.
fn receive<T>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> + Unpin {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Records outcomes, trying harder than for any other write: the messages have left, and a lost
/// settlement would let a later retry send them again once the claims' lease runs out.
async fn settle<S: Store, T, M>(
    deps: &FanOut<S, T, M>,
    outcomes: &[(Task, Outcome)],
) -> Result<(), StoreError> {
    persist("settlement", || deps.store.settle(outcomes)).await
}

/// Runs a store call again on a passing failure (throttled, unavailable), a few times beyond the
/// SDK's own attempts (about 3 s in all): one failed read or claim would otherwise fail the whole
/// chunk, and every retry of the record walks it again.
async fn persist<T, F, Fut>(what: &'static str, mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(err) if err.is_retryable() && attempt < STORE_ATTEMPTS => {
                warn!(error = %err, attempt, what, "store call failed, trying again");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Sends one delivery, in its slot of the quota, and says how it ended.
async fn send<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    (sms, opted_out): (&str, &OptedOut),
    schedule: &Schedule,
    task: &Task,
    recipient: &Recipient,
) -> Outcome
where
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let neighbour = match task {
        Task::Delivery { channel, .. } => Some((Wave::Alert, *channel)),
        Task::FollowUp { channel, .. } => Some((Wave::FollowUp, *channel)),
        _ => None,
    };
    // Quiet hours: a night's SMS waits for the morning (the all clear's is not sent at all:
    // by morning the news is old, and an email tells it).
    if let (Some(until), Some((wave, Channel::Sms))) = (schedule.night, neighbour)
        && recipient.quiet_hours
    {
        schedule.sent(Channel::Sms);
        return match wave {
            Wave::FollowUp => Outcome::Failed { error: QUIET_FOLLOW_UP.into() },
            _ => Outcome::Held { until },
        };
    }
    let result = match neighbour {
        Some((_, Channel::Sms)) => match recipient.sms_target() {
            Some(phone) if opted_out.contains(phone) => Err(SendError::Permanent(OPTED_OUT_AT_AWS.into())),
            Some(phone) => {
                schedule.sending(Channel::Sms);
                let sent = match schedule.slot(&deps.rates.sms, schedule.sms_parts).await {
                    Ok(_in_flight) => deps.texter.send_sms(phone, sms).await,
                    Err(late) => Err(late),
                };
                schedule.sent(Channel::Sms);
                sent
            }
            None => Err(SendError::Permanent("no number".into())),
        },
        Some((wave, Channel::Email)) => match recipient.email_target() {
            Some(email) => {
                let unsubscribe_url = format!(
                    "{}/unsubscribe/{}/{}",
                    deps.config.public_base_url,
                    recipient.member_id,
                    recipient.unsubscribe_token.as_str()
                );
                let email_of_alert = AlertEmail {
                    from: &deps.config.sender_email,
                    to: email,
                    recipient_first_name: &recipient.first_name,
                    sender_first_name: &alert.sender_first_name,
                    source: alert.source,
                    category: alert.category,
                    community_name: &alert.community_name,
                    text: &alert.text,
                    created_at_ms: alert.created_at,
                    unsubscribe_url: &unsubscribe_url,
                    message_id_domain: deps.config.sender_email.domain(),
                };
                let mime = match (wave, &alert.closed) {
                    (Wave::FollowUp, Some(closure)) => {
                        compose::follow_up_email(&email_of_alert, alert, closure)
                    }
                    _ => compose::alert_email(&email_of_alert),
                };
                schedule.sending(Channel::Email);
                let sent = match schedule.slot(&deps.rates.email, 1).await {
                    Ok(_in_flight) => deps.mailer.send_raw(email, mime).await,
                    Err(late) => Err(late),
                };
                schedule.sent(Channel::Email);
                sent
            }
            None => Err(SendError::Permanent("no address".into())),
        },
        None => Err(SendError::Permanent("not a delivery".into())),
    };
    outcome(result, recipient.member_id)
}

/// What a send's result means for the ledger: sent, failed for good, or free for a retry.
fn outcome(result: Result<String, SendError>, member: MemberId) -> Outcome {
    match result {
        Ok(message_id) => Outcome::Sent { message_id },
        Err(SendError::Permanent(error)) => {
            warn!(%member, %error, "delivery rejected, recorded as failed");
            Outcome::Failed { error }
        }
        Err(SendError::Transient(error)) => {
            warn!(%member, %error, "delivery failed for now");
            Outcome::Released { error }
        }
    }
}

/// Tells the sender how many neighbours were reached: by SMS if they have a number in the allowed
/// countries, else by email.
async fn confirm_to_sender<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    counts: &DeliveryCounts,
    schedule: &Schedule,
) -> Result<(), FanOutError>
where
    S: Store,
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    let Some(sender) = persist("sender", || deps.store.member(alert.sender_id)).await? else {
        warn!(sender = %alert.sender_id, "sender no longer registered: no confirmation");
        return Ok(());
    };
    let texted = sender.phone.as_ref().filter(|phone| deps.config.sms_countries.allows(phone));
    let channel = match (texted, &sender.email) {
        (Some(_), _) => Channel::Sms,
        (None, Some(_)) => Channel::Email,
        (None, None) => return Ok(()),
    };
    let task = Task::SenderConfirmation { alert: alert.alert_id, sender: sender.id, channel };
    let holder = &schedule.invocation.holder;
    let claimed =
        persist("claim", || deps.store.claim(std::slice::from_ref(&task), deps.config.claim_lease, holder))
            .await?;
    match claimed.first() {
        Some(Claim::Acquired) => {}
        Some(Claim::Done) => return Ok(()),
        _ => return Err(FanOutError::Incomplete { pending: 1 }),
    }
    let mut text = domain::sender_confirmation(
        counts.recipients as usize,
        counts.sms_sent as usize,
        counts.email_sent as usize,
    );
    if let Some(why) = alert.sms_withheld {
        text = format!("{text} {}", domain::sms_withheld_note(why));
    }
    // Has anyone called 17? A reply `17` marks the alert (`app::alerts::police_called`).
    let told = matches!(alert.police_called, Some(PoliceCalled::Yes | PoliceCalled::NotNeeded));
    if channel == Channel::Sms && alert.source != AlertSource::Police && !told {
        let config = &deps.config;
        let replies_work = config.sms_alert_sender.as_str() == config.sms_shared_number.as_str();
        let shared = (!replies_work).then(|| config.sms_shared_number.as_str());
        text = format!("{text} {}", domain::texts::police_prompt(shared));
    }
    let outcome = outcome(send_confirmation(deps, &sender, channel, &text, schedule).await, sender.id);
    let released = matches!(outcome, Outcome::Released { .. });
    settle(deps, &[(task, outcome)]).await?;
    if released { Err(FanOutError::Incomplete { pending: 1 }) } else { Ok(()) }
}

async fn send_confirmation<S, T, M>(
    deps: &FanOut<S, T, M>,
    sender: &Member,
    channel: Channel,
    text: &str,
    schedule: &Schedule,
) -> Result<String, SendError>
where
    T: Texter + OptOuts + Sync,
    M: Mailer + Sync,
{
    match (channel, &sender.phone, &sender.email) {
        (Channel::Sms, Some(phone), _) => {
            let _in_flight =
                schedule.slot(&deps.rates.sms, domain::count_segments(text).segments as u32).await?;
            deps.texter.send_sms(phone, text).await
        }
        (Channel::Email, _, Some(email)) => {
            let mime = compose::sender_confirmation_email(
                &deps.config.sender_email,
                email,
                &sender.first_name,
                text,
            );
            let _in_flight = schedule.slot(&deps.rates.email, 1).await?;
            deps.mailer.send_raw(email, mime).await
        }
        _ => Err(SendError::Permanent("no way to reach the sender".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fan_out_with(tweak: impl FnOnce(&mut Config)) -> FanOut<(), (), ()> {
        let mut config = Config::from_lookup(|name| {
            Some(
                match name {
                    "MEMBERS_TABLE" | "ALERTS_TABLE" | "LEDGER_TABLE" => "t",
                    "SMS_SHARED_NUMBER" => "38123",
                    "SENDER_EMAIL" => "alertes@vigie.example.org",
                    "PUBLIC_BASE_URL" => "https://vigie.example.org",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .expect("configuration");
        tweak(&mut config);
        FanOut::new((), (), (), config, Rates::unlimited())
    }

    #[test]
    fn the_lease_outlasts_the_sends_claimed_ahead() {
        // At the default quotas two pages go out well within the configured lease.
        let default = fan_out_with(|_| {});
        assert_eq!(default.lease(1), default.config.claim_lease);
        // A sandbox's 1 email a second: two pages of 100 take 200 s, the lease twice that.
        let sandbox = fan_out_with(|c| c.emails_per_second = 1);
        assert!(sandbox.lease(1) >= Duration::from_secs(400), "{:?}", sandbox.lease(1));
        // Long SMS count each of their parts.
        let slow_sms = fan_out_with(|c| {
            c.sms_parts_per_second = 1;
            c.emails_per_second = 0;
        });
        assert!(slow_sms.lease(3) >= 3 * slow_sms.lease(1) - Duration::from_secs(1));
        // No quota: the configured lease.
        let unpaced = fan_out_with(|c| {
            c.sms_parts_per_second = 0;
            c.emails_per_second = 0;
        });
        assert_eq!(unpaced.lease(3), unpaced.config.claim_lease);
    }
}
