//! One send rate, shared: the account's quotas (the SMS message parts per second of an
//! origination identity, the emails per second of SES) are timelines of slots that every process
//! reserves from, a block at a time, and hands out locally, slot by slot, to its concurrent sends.
//!
//! - A timeline's state is two instants ([`RateState`]): the next free slot (the "theoretical
//!   arrival time" of GCRA) and until when an urgent sender holds ordinary ones back. In AWS it is
//!   one item of the ledger table per quota, reserved with a conditional `UpdateItem`
//!   ([`crate::ports::RateLedger`]); [`LocalTimeline`] keeps it in the process (tests, and the old
//!   per-process pacing).
//! - [`SlotRequest::decide`] is the whole rule: a block starts at the next free slot but never
//!   before now (a pacer that starts late never catches up: no burst), so the blocks of all
//!   processes are disjoint and together keep to the rate.
//! - Priority: an ordinary sender reserves only blocks that start within [`ORDINARY_HORIZON`] of
//!   now and none while an urgent sender holds the timeline; an urgent one (a police alert, the
//!   answer to a STOP) reserves up to [`URGENT_HORIZON`] ahead, so it finds a slot within about a
//!   second whatever the ordinary senders have reserved, and while it keeps sending it holds them
//!   back for [`URGENT_HOLD`] after each of its blocks.
//! - [`Pacer`] is one process's reserver: one reservation at a time (a block sized by the sends
//!   waiting, at most [`BLOCK`] of quota), slots handed out in order, each send sleeping until its
//!   own slot. Its cost is one conditional write per block: a few writes a second in all.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::config::Config;
use crate::domain::{Email, OriginationIdentity, PhoneNumber};
use crate::ports::{Mailer, RateLedger, SendError, StoreError, Texter};

/// The deadline Lambda gave an invocation (`deadline_ms`, milliseconds since the epoch, as
/// `lambda_runtime::Context::deadline`), if it is one: `None` when it is 0 or already past when
/// the invocation starts. Lambda's own deadline is always ahead; `cargo lambda watch` (`make
/// run`) sends 600,000 ms since the epoch, a date in 1970, which would leave no time to send at
/// all.
pub fn invocation_deadline(deadline_ms: u64) -> Option<SystemTime> {
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    (deadline_ms > 0 && deadline > SystemTime::now()).then_some(deadline)
}

/// The most quota one reservation takes (at least the units of the message that asks).
pub const BLOCK: Duration = Duration::from_millis(500);
/// An ordinary sender reserves only blocks starting this close to now.
pub const ORDINARY_HORIZON: Duration = Duration::from_secs(1);
/// An urgent sender may reserve blocks starting this far ahead (behind the ordinary ones).
pub const URGENT_HORIZON: Duration = Duration::from_secs(3);
/// An urgent sender that keeps sending holds ordinary ones back this long after each block.
pub const URGENT_HOLD: Duration = Duration::from_secs(1);

fn micros(d: Duration) -> i64 {
    d.as_micros().min(i64::MAX as u128) as i64
}

/// Who goes first when the quota is the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Priority {
    /// Residents' alerts, their confirmations, most replies, sign-in emails.
    Ordinary,
    /// Police alerts (and their confirmation), answers to STOP.
    Urgent,
}

impl Priority {
    fn index(self) -> usize {
        match self {
            Priority::Ordinary => 0,
            Priority::Urgent => 1,
        }
    }
}

/// A quota's timeline, in microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateState {
    /// The first slot no one has reserved.
    pub next_us: i64,
    /// Ordinary senders reserve nothing before this (an urgent sender is at work).
    pub urgent_until_us: i64,
}

/// A reservation of `units` consecutive slots of `per_unit_us` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRequest {
    pub units: u32,
    pub per_unit_us: i64,
    pub now_us: i64,
    pub priority: Priority,
    /// For an urgent request: how long after its block ordinary senders wait (0: they wait for
    /// nothing, the block is just put ahead of theirs).
    pub hold_us: i64,
    /// The timeline as the requester last saw it (it only moves forward), if it saw it.
    pub known: Option<RateState>,
}

/// What the timeline answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotAnswer {
    /// The block starts at `start_us`; `state` is the timeline after it.
    Granted { start_us: i64, state: RateState },
    /// Nothing for this requester before `retry_at_us`; `state` is the timeline now.
    Later { retry_at_us: i64, state: RateState },
}

impl SlotRequest {
    /// How far ahead of now this requester's block may start.
    pub fn horizon_us(&self) -> i64 {
        micros(match self.priority {
            Priority::Ordinary => ORDINARY_HORIZON,
            Priority::Urgent => URGENT_HORIZON,
        })
    }

    /// The rule of the shared rate, applied to the timeline `state`: pure, the same for the
    /// DynamoDB item and the in-process timeline.
    pub fn decide(&self, state: RateState) -> SlotAnswer {
        let now = self.now_us;
        if self.priority == Priority::Ordinary && state.urgent_until_us > now {
            return SlotAnswer::Later { retry_at_us: state.urgent_until_us, state };
        }
        // Never before now: slots nobody used are gone, not saved up for a burst.
        let start = state.next_us.max(now);
        let horizon = self.horizon_us();
        if start > now + horizon {
            return SlotAnswer::Later { retry_at_us: start - horizon, state };
        }
        let end = start + i64::from(self.units.max(1)) * self.per_unit_us;
        let urgent_until_us = match self.priority {
            Priority::Urgent if self.hold_us > 0 => state.urgent_until_us.max(end + self.hold_us),
            _ => state.urgent_until_us,
        };
        SlotAnswer::Granted { start_us: start, state: RateState { next_us: end, urgent_until_us } }
    }
}

/// Where a pacer reserves its blocks.
pub trait Timeline: Send + Sync {
    fn reserve(&self, request: SlotRequest) -> BoxFuture<'_, Result<SlotAnswer, StoreError>>;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A timeline kept in this process only: each process paces itself alone (what every function
/// did before the shared rate), or a test's shared timeline.
#[derive(Debug, Default)]
pub struct LocalTimeline(std::sync::Mutex<RateState>);

impl Timeline for LocalTimeline {
    fn reserve(&self, request: SlotRequest) -> BoxFuture<'_, Result<SlotAnswer, StoreError>> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let answer = request.decide(*state);
        if let SlotAnswer::Granted { state: next, .. } = answer {
            *state = next;
        }
        Box::pin(std::future::ready(Ok(answer)))
    }
}

impl<T: Timeline + ?Sized> Timeline for Arc<T> {
    fn reserve(&self, request: SlotRequest) -> BoxFuture<'_, Result<SlotAnswer, StoreError>> {
        (**self).reserve(request)
    }
}

/// A quota's timeline in the store, shared by every process.
struct Stored<L> {
    ledger: L,
    key: String,
}

impl<L: RateLedger + Send + Sync> Timeline for Stored<L> {
    fn reserve(&self, request: SlotRequest) -> BoxFuture<'_, Result<SlotAnswer, StoreError>> {
        Box::pin(self.ledger.reserve_slots(&self.key, request))
    }
}

/// The clock timelines are read with: the system's in production, tokio's (pausable) in the
/// unit tests.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    System,
    /// Microseconds since `origin` on tokio's clock.
    Tokio {
        origin: Instant,
    },
}

impl Clock {
    pub fn now_us(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map(micros).unwrap_or_default(),
            Clock::Tokio { origin } => micros(Instant::now() - *origin),
        }
    }

    /// The local instant of a time on this clock (now, if it is past).
    pub fn instant_at(&self, at_us: i64) -> Instant {
        let now = Instant::now();
        let ahead = at_us - self.now_us();
        if ahead <= 0 { now } else { now + Duration::from_micros(ahead as u64) }
    }
}

/// Why a send got no slot.
#[derive(Debug, thiserror::Error)]
pub enum PaceError {
    /// Its slot would come after the time it was given.
    #[error("no send slot before the deadline")]
    TooLate,
    #[error("send rate unavailable: {0}")]
    Unavailable(#[from] StoreError),
}

/// One process's share of a quota: reserves blocks of the timeline and gives each send its slot.
/// Cheap to clone (the clones share the reservations).
#[derive(Clone)]
pub struct Pacer {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("per_second", &self.per_second()).finish()
    }
}

struct Inner {
    per_second: u32,
    per_unit_us: i64,
    block_units: u32,
    timeline: Box<dyn Timeline>,
    clock: Clock,
    /// Held while a reservation is made: one reserver per process.
    local: tokio::sync::Mutex<Local>,
    /// Units asked for by the sends inside [`Pacer::take`]: the size of the next block.
    waiting: AtomicU32,
}

#[derive(Default)]
struct Local {
    /// Reserved blocks, in time order.
    blocks: VecDeque<Block>,
    known: Option<RateState>,
    /// No reservation before this, by priority: the timeline said so.
    retry_at: [i64; 2],
    /// When this pacer last reserved for an urgent send.
    last_urgent_us: Option<i64>,
}

#[derive(Debug)]
struct Block {
    next_us: i64,
    end_us: i64,
}

impl Pacer {
    /// No limit at all.
    pub fn unlimited() -> Self {
        Self { inner: None }
    }

    /// `per_second` units a second on `timeline` (0: no limit).
    pub fn new(per_second: u32, timeline: impl Timeline + 'static, clock: Clock) -> Self {
        if per_second == 0 {
            return Self::unlimited();
        }
        let per_unit_us = 1_000_000u32.div_ceil(per_second) as i64;
        let block_units = ((u128::from(per_second) * BLOCK.as_millis()) / 1000).max(1) as u32;
        Self {
            inner: Some(Arc::new(Inner {
                per_second,
                per_unit_us,
                block_units,
                timeline: Box::new(timeline),
                clock,
                local: tokio::sync::Mutex::new(Local::default()),
                waiting: AtomicU32::new(0),
            })),
        }
    }

    /// `per_second` units a second on the timeline `key` of the store, shared with every process.
    pub fn shared<L: RateLedger + Send + Sync + 'static>(
        ledger: L,
        key: impl Into<String>,
        per_second: u32,
    ) -> Self {
        Self::new(per_second, Stored { ledger, key: key.into() }, Clock::System)
    }

    /// `per_second` units a second for this process alone.
    pub fn per_process(per_second: u32) -> Self {
        Self::new(per_second, LocalTimeline::default(), Clock::System)
    }

    /// The quota, 0 for none.
    pub fn per_second(&self) -> u32 {
        self.inner.as_ref().map_or(0, |i| i.per_second)
    }

    /// Waits for the slot of a message of `units` parts. With `not_after`, gives up (before
    /// using a slot when it can tell) if the slot would come later than that.
    pub async fn take(
        &self,
        units: u32,
        priority: Priority,
        not_after: Option<Instant>,
    ) -> Result<(), PaceError> {
        let Some(inner) = &self.inner else { return Ok(()) };
        let units = units.max(1);
        inner.waiting.fetch_add(units, Ordering::SeqCst);
        let slot = inner.slot(units, priority, not_after).await;
        if let Ok(at) = slot {
            tokio::time::sleep_until(at).await;
        }
        inner.waiting.fetch_sub(units, Ordering::SeqCst);
        slot.map(|_| ())
    }
}

impl Inner {
    async fn slot(
        &self,
        units: u32,
        priority: Priority,
        not_after: Option<Instant>,
    ) -> Result<Instant, PaceError> {
        let need = i64::from(units) * self.per_unit_us;
        let late = |at: Instant| not_after.is_some_and(|limit| at > limit);
        loop {
            let mut local = self.local.lock().await;
            let now = self.clock.now_us();
            // Slots that went by unused are gone.
            local.blocks.retain(|b| b.next_us.max(now) + self.per_unit_us <= b.end_us);
            if let Some(block) = local.blocks.iter_mut().find(|b| b.next_us.max(now) + need <= b.end_us) {
                let start = block.next_us.max(now);
                let at = self.clock.instant_at(start);
                if late(at) {
                    return Err(PaceError::TooLate);
                }
                block.next_us = start + need;
                return Ok(at);
            }
            let retry_at = local.retry_at[priority.index()];
            // The timeline only moves forward: what was last seen of it is a lower bound.
            let earliest = retry_at.max(local.known.map_or(now, |k| {
                let held = if priority == Priority::Ordinary { k.urgent_until_us } else { 0 };
                k.next_us.max(held).max(now)
            }));
            if late(self.clock.instant_at(earliest)) {
                return Err(PaceError::TooLate);
            }
            if retry_at > now {
                drop(local);
                tokio::time::sleep_until(self.clock.instant_at(retry_at)).await;
                continue;
            }
            // A block for the sends waiting now, whole messages only.
            let wanted = self.waiting.load(Ordering::SeqCst).clamp(units, self.block_units.max(units));
            let block_units = wanted.div_ceil(units) * units;
            let continuing = local.last_urgent_us.is_some_and(|t| now - t <= micros(URGENT_HOLD));
            let request = SlotRequest {
                units: block_units,
                per_unit_us: self.per_unit_us,
                now_us: now,
                priority,
                hold_us: if priority == Priority::Urgent && continuing { micros(URGENT_HOLD) } else { 0 },
                known: local.known,
            };
            match self.timeline.reserve(request).await? {
                SlotAnswer::Granted { start_us, state } => {
                    local.known = Some(state);
                    let end_us = start_us + i64::from(block_units) * self.per_unit_us;
                    local.blocks.push_back(Block { next_us: start_us, end_us });
                    if priority == Priority::Urgent {
                        local.last_urgent_us = Some(now);
                    }
                }
                SlotAnswer::Later { retry_at_us, state } => {
                    local.known = Some(state);
                    local.retry_at[priority.index()] = retry_at_us.max(now + 1);
                }
            }
        }
    }
}

/// The name of the SMS timeline of an origination identity: its quota is its own.
pub fn sms_timeline(origination: &OriginationIdentity) -> String {
    format!("sms#{}", origination.as_str())
}

/// The name of the email timeline: SES's sending rate is the account's, in this region.
pub const EMAIL_TIMELINE: &str = "email";

/// The two quotas the fan-out sends under.
#[derive(Clone, Debug)]
pub struct Rates {
    /// SMS message parts per second of the alert sender (`SMS_ALERT_SENDER`).
    pub sms: Pacer,
    /// Emails per second of the account.
    pub email: Pacer,
}

impl Rates {
    /// The account's quotas of `config`, shared with every process through the store.
    pub fn shared<L: RateLedger + Clone + Send + Sync + 'static>(ledger: &L, config: &Config) -> Self {
        Self {
            sms: Pacer::shared(
                ledger.clone(),
                sms_timeline(&config.sms_alert_sender),
                config.sms_parts_per_second,
            ),
            email: Pacer::shared(ledger.clone(), EMAIL_TIMELINE, config.emails_per_second),
        }
    }

    /// The shared number's SMS quota, which replies to inbound messages come from (the alert
    /// sender's own timeline when the alert sender is the shared number).
    pub fn replies<L: RateLedger + Clone + Send + Sync + 'static>(ledger: &L, config: &Config) -> Pacer {
        Pacer::shared(
            ledger.clone(),
            sms_timeline(&config.sms_shared_number.identity()),
            config.sms_parts_per_second,
        )
    }

    /// The quotas of `config` for this process alone: each process keeps to the whole quota
    /// by itself, so several together exceed it (kept to show what the shared rate prevents).
    pub fn per_process(config: &Config) -> Self {
        Self {
            sms: Pacer::per_process(config.sms_parts_per_second),
            email: Pacer::per_process(config.emails_per_second),
        }
    }

    pub fn unlimited() -> Self {
        Self { sms: Pacer::unlimited(), email: Pacer::unlimited() }
    }
}

/// A mailer whose every email waits for its slot of the email quota (ordinary priority), at most
/// `patience`: past it the email fails for now rather than keeping its caller waiting.
#[derive(Clone, Debug)]
pub struct PacedMailer<M> {
    mailer: M,
    pacer: Pacer,
    patience: Duration,
}

impl<M> PacedMailer<M> {
    pub fn new(mailer: M, pacer: Pacer, patience: Duration) -> Self {
        Self { mailer, pacer, patience }
    }
}

impl<M: Mailer + Sync> Mailer for PacedMailer<M> {
    async fn send_raw(&self, to: &Email, mime: Vec<u8>) -> Result<String, SendError> {
        let not_after = Instant::now() + self.patience;
        self.pacer
            .take(1, Priority::Ordinary, Some(not_after))
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        self.mailer.send_raw(to, mime).await
    }
}

/// A texter whose every SMS waits for its slots of an SMS quota (one per part, ordinary
/// priority), at most `patience`: past it the SMS fails for now rather than keeping its caller
/// waiting.
#[derive(Clone, Debug)]
pub struct PacedTexter<T> {
    texter: T,
    pacer: Pacer,
    patience: Duration,
}

impl<T> PacedTexter<T> {
    pub fn new(texter: T, pacer: Pacer, patience: Duration) -> Self {
        Self { texter, pacer, patience }
    }
}

impl<T: Texter + Sync> Texter for PacedTexter<T> {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SendError> {
        let not_after = Instant::now() + self.patience;
        let parts = crate::domain::count_segments(body).segments as u32;
        self.pacer
            .take(parts, Priority::Ordinary, Some(not_after))
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        self.texter.send_sms(to, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pacers of several "processes" on one timeline, on the paused clock.
    fn pacers(per_second: u32, n: usize) -> (Vec<Pacer>, Instant) {
        let origin = Instant::now();
        let timeline = Arc::new(LocalTimeline::default());
        let pacers =
            (0..n).map(|_| Pacer::new(per_second, timeline.clone(), Clock::Tokio { origin })).collect();
        (pacers, origin)
    }

    /// Sends `count` messages of `units` through `pacer`, `concurrency` at a time, and returns the
    /// time of each send since `origin`.
    async fn send(
        pacer: Pacer,
        origin: Instant,
        count: usize,
        units: u32,
        priority: Priority,
        concurrency: usize,
    ) -> Vec<Duration> {
        use futures::StreamExt;
        futures::stream::iter(0..count)
            .map(|_| {
                let pacer = pacer.clone();
                async move {
                    pacer.take(units, priority, None).await.unwrap();
                    Instant::now() - origin
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await
    }

    /// The most units sent in any window of `window` starting at a send.
    fn busiest(times: &[(Duration, u32)], window: Duration) -> u32 {
        times
            .iter()
            .map(|(start, _)| {
                times.iter().filter(|(t, _)| *t >= *start && *t < *start + window).map(|(_, u)| u).sum()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_senders_of_one_process_keep_to_the_rate() {
        let (pacers, origin) = pacers(10, 1);
        let mut times = send(pacers[0].clone(), origin, 20, 1, Priority::Ordinary, 16).await;
        times.sort();
        // 20 units at 10 a second: one every 100 ms from the start, none earlier.
        for (i, t) in times.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(100 * i as u64), "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn two_processes_share_one_rate_without_a_burst() {
        let (pacers, origin) = pacers(20, 2);
        let (a, b) = tokio::join!(
            send(pacers[0].clone(), origin, 100, 1, Priority::Ordinary, 16),
            send(pacers[1].clone(), origin, 100, 1, Priority::Ordinary, 16),
        );
        let all: Vec<(Duration, u32)> = a.iter().chain(&b).map(|t| (*t, 1)).collect();
        // 200 units at 20 a second: 10 s of quota, used in full by the two together...
        // (each process may leave at most one block unused at its end).
        let last = all.iter().map(|(t, _)| *t).max().unwrap();
        assert!(last >= Duration::from_millis(9_950), "{last:?}");
        assert!(last <= Duration::from_millis(9_950) + BLOCK, "{last:?}");
        // ...and never more than the quota in any second.
        assert_eq!(busiest(&all, Duration::from_secs(1)), 20);
        // Both sent all along, not one after the other (the shares need not be equal: on the
        // paused clock the first process polled wins every tie).
        let first_half = |times: &[Duration]| times.iter().filter(|t| **t < Duration::from_secs(5)).count();
        assert!(first_half(&a) >= 25 && first_half(&b) >= 25, "{} {}", first_half(&a), first_half(&b));
    }

    #[tokio::test(start_paused = true)]
    async fn each_process_alone_would_send_twice_the_quota() {
        // The per-process pacing that the shared rate replaces: two processes, each at the full rate.
        let origin = Instant::now();
        let alone = || Pacer::new(20, LocalTimeline::default(), Clock::Tokio { origin });
        let (a, b) = tokio::join!(
            send(alone(), origin, 40, 1, Priority::Ordinary, 16),
            send(alone(), origin, 40, 1, Priority::Ordinary, 16),
        );
        let all: Vec<(Duration, u32)> = a.iter().chain(&b).map(|t| (*t, 1)).collect();
        assert_eq!(busiest(&all, Duration::from_secs(1)), 40);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_sender_never_catches_up() {
        let (pacers, origin) = pacers(10, 1);
        let pacer = &pacers[0];
        pacer.take(1, Priority::Ordinary, None).await.unwrap();
        // Idle for 5 s: the 50 slots that went by are not saved up.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut times = send(pacer.clone(), origin, 10, 1, Priority::Ordinary, 10).await;
        times.sort();
        assert_eq!(times[0], Duration::from_secs(5));
        assert_eq!(times[9], Duration::from_millis(5_900), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn long_messages_take_all_their_parts_and_zero_is_unlimited() {
        let (pacers, origin) = pacers(4, 1);
        pacers[0].take(3, Priority::Ordinary, None).await.unwrap();
        pacers[0].take(1, Priority::Ordinary, None).await.unwrap();
        assert_eq!(Instant::now() - origin, Duration::from_millis(750));
        let free = Pacer::new(0, LocalTimeline::default(), Clock::Tokio { origin });
        free.take(100, Priority::Ordinary, None).await.unwrap();
        assert_eq!(Instant::now() - origin, Duration::from_millis(750));
        assert_eq!((pacers[0].per_second(), free.per_second()), (4, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn urgent_sends_go_before_the_ordinary_ones_still_waiting() {
        let (pacers, origin) = pacers(10, 2);
        let ordinary = tokio::spawn(send(pacers[0].clone(), origin, 100, 1, Priority::Ordinary, 16));
        // A police alert 3 s into an ordinary alert of 100 texts (10 s of quota).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let urgent = send(pacers[1].clone(), origin, 30, 1, Priority::Urgent, 16).await;
        let ordinary = ordinary.await.unwrap();
        let last_urgent = *urgent.iter().max().unwrap();
        // The urgent texts waited at most for what the ordinary sender had reserved (its horizon
        // and a block), then went out at the full rate: 30 in 3 s.
        let first_urgent = *urgent.iter().min().unwrap();
        assert!(first_urgent <= Duration::from_millis(3_000) + ORDINARY_HORIZON + BLOCK, "{first_urgent:?}");
        assert!(last_urgent <= first_urgent + Duration::from_millis(3_100), "{last_urgent:?}");
        // No ordinary text left while urgent ones were waiting (bar the one ordinary block that
        // was already reserved when the first urgent one asked).
        let ordinary_during =
            ordinary.iter().filter(|t| **t > first_urgent + BLOCK && **t < last_urgent).count();
        assert_eq!(ordinary_during, 0, "{ordinary:?}");
        // The ordinary alert finishes afterwards, everyone once: 130 units in 13 s, and at most
        // the hold after the last urgent block lost.
        assert_eq!(ordinary.len(), 100);
        let end = *ordinary.iter().max().unwrap();
        assert!(end > last_urgent && end <= Duration::from_millis(14_000) + URGENT_HOLD, "{end:?}");
        let all: Vec<(Duration, u32)> = ordinary.iter().chain(&urgent).map(|t| (*t, 1)).collect();
        assert!(busiest(&all, Duration::from_secs(1)) <= 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_one_off_urgent_reply_does_not_hold_the_ordinary_sends_back() {
        let (pacers, origin) = pacers(10, 2);
        let ordinary = tokio::spawn(send(pacers[0].clone(), origin, 50, 1, Priority::Ordinary, 16));
        tokio::time::sleep(Duration::from_secs(2)).await;
        pacers[1].take(1, Priority::Urgent, None).await.unwrap();
        let reply = Instant::now() - origin;
        assert!(reply <= Duration::from_millis(2_000) + ORDINARY_HORIZON + BLOCK, "{reply:?}");
        let ordinary = ordinary.await.unwrap();
        // 51 units at 10 a second: the reply cost its own slot and no idle second.
        let end = *ordinary.iter().max().unwrap();
        assert!(end <= Duration::from_millis(5_200), "{end:?}");
    }

    #[test]
    fn only_a_deadline_ahead_is_one() {
        assert_eq!(invocation_deadline(0), None);
        // What cargo lambda watch sends.
        assert_eq!(invocation_deadline(600_000), None);
        let ahead = SystemTime::now() + Duration::from_secs(900);
        let ms = ahead.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = invocation_deadline(ms).expect("a deadline 15 minutes ahead");
        assert!(deadline.duration_since(SystemTime::now()).unwrap() > Duration::from_secs(890));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_refused_without_being_used() {
        let (pacers, origin) = pacers(2, 1);
        let pacer = &pacers[0];
        for _ in 0..4 {
            pacer.take(1, Priority::Ordinary, None).await.unwrap();
        }
        assert_eq!(Instant::now() - origin, Duration::from_millis(1_500));
        // The next slot is at 2 s: not before 1.9 s.
        let limit = origin + Duration::from_millis(1_900);
        assert!(matches!(pacer.take(1, Priority::Ordinary, Some(limit)).await, Err(PaceError::TooLate)));
        pacer.take(1, Priority::Ordinary, Some(origin + Duration::from_secs(2))).await.unwrap();
        assert_eq!(Instant::now() - origin, Duration::from_secs(2));
    }

    #[test]
    fn the_rule() {
        let at = |now_us, priority, state| {
            SlotRequest { units: 10, per_unit_us: 100_000, now_us, priority, hold_us: 1_000_000, known: None }
                .decide(state)
        };
        let idle = RateState { next_us: 0, urgent_until_us: 0 };
        // A free timeline: the block starts now.
        assert_eq!(
            at(5_000_000, Priority::Ordinary, idle),
            SlotAnswer::Granted {
                start_us: 5_000_000,
                state: RateState { next_us: 6_000_000, urgent_until_us: 0 }
            }
        );
        // Reserved 0.8 s ahead: the next block starts there.
        let busy = RateState { next_us: 5_800_000, urgent_until_us: 0 };
        assert!(matches!(
            at(5_000_000, Priority::Ordinary, busy),
            SlotAnswer::Granted { start_us: 5_800_000, .. }
        ));
        // 1.5 s ahead: too far for an ordinary sender (retry when it is 1 s ahead), not for an urgent one.
        let far = RateState { next_us: 6_500_000, urgent_until_us: 0 };
        assert_eq!(
            at(5_000_000, Priority::Ordinary, far),
            SlotAnswer::Later { retry_at_us: 5_500_000, state: far }
        );
        assert_eq!(
            at(5_000_000, Priority::Urgent, far),
            SlotAnswer::Granted {
                start_us: 6_500_000,
                state: RateState { next_us: 7_500_000, urgent_until_us: 8_500_000 }
            }
        );
        // An urgent sender holds the timeline: ordinary ones wait for it.
        let held = RateState { next_us: 0, urgent_until_us: 5_200_000 };
        assert_eq!(
            at(5_000_000, Priority::Ordinary, held),
            SlotAnswer::Later { retry_at_us: 5_200_000, state: held }
        );
    }
}
