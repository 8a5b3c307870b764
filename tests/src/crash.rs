//! A fan-out process killed with SIGKILL in the middle of an alert, then Lambda's retry of the
//! same stream record on a fresh process: the scenario of `tests/it/reliability/crash.rs`, and of the soak
//! (`tests/soak.rs`, `make soak`) at a larger scale.
//!
//! Where the kill lands is chosen exactly: the process sends (to an [`Outbound`] emulator)
//! through a [`FaultProxy`] that lets a given number of sends through and holds the next ones
//! ([`FaultProxy::limit_sends`]), so the test knows which messages left before the kill, and
//! the held ones never reach the emulator.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use infra::faults::FaultProxy;
use infra::outbox::Outbox;
use infra::relay::DrainReport;
use serde_json::Value;
use vigie::adapters::DynamoStore;
use vigie::domain::{AlertId, Member};
use vigie::ports::{Feed, Ledger};

use crate::Stack;
use crate::lambda::Function;
use crate::outbound::Outbound;

/// How long the first process may take to send what the kill waits for.
const SENDS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a settlement may take to show in the ledger once its sends are answered.
const SETTLE_GRACE: Duration = Duration::from_millis(500);

/// Where the kill lands.
#[derive(Clone, Copy, Debug)]
pub enum KillAt {
    /// At the first moment, once at least `n` messages have left, when every message that left
    /// is settled in the ledger. The retry must then send every other message, and none again.
    Settled { after_at_least: u64 },
    /// As soon as `n` messages have left, whatever the ledger holds: those not settled yet are
    /// the window `docs/event-flow.md` describes, which the retry sends again (it cannot know
    /// they left).
    AfterSends(u64),
}

/// Messages sent, by `sms:<number>` or `email:<address>`.
pub type Sends = BTreeMap<String, usize>;

/// What the emulator sent, by recipient and channel.
pub fn sends(outbox: &Outbox) -> Sends {
    let mut sends = Sends::new();
    for sms in &outbox.sms {
        *sends.entry(format!("sms:{}", sms.to)).or_default() += 1;
    }
    for email in &outbox.emails {
        for to in &email.to {
            *sends.entry(format!("email:{}", to.to_lowercase())).or_default() += 1;
        }
    }
    sends
}

fn total(sends: &Sends) -> usize {
    sends.values().sum()
}

/// What `after` holds beyond `before`.
fn since(before: &Sends, after: Sends) -> Sends {
    after
        .into_iter()
        .filter_map(|(k, n)| {
            let n = n - before.get(&k).copied().unwrap_or(0);
            (n > 0).then_some((k, n))
        })
        .collect()
}

/// What a crash and its retry did.
#[derive(Debug)]
pub struct Crash {
    pub alert: AlertId,
    /// What had left when the process was killed (only this alert's messages).
    pub before_kill: Sends,
    /// Of those, how many the ledger held as sent (settled) at the kill.
    pub settled_before_kill: u32,
    /// Everything this alert sent once the retry was done.
    pub after_retry: Sends,
    /// From the first invocation to the kill.
    pub ran_for: Duration,
    /// The retry: a fresh process, fed by the relay.
    pub retry_took: Duration,
    /// What the relay did for the retry.
    pub relay: DrainReport,
    /// The outbound emulator's outbox once the retry was done.
    pub outbox: Outbox,
}

impl Crash {
    /// Messages that had left but were not settled when the process died.
    pub fn unsettled_before_kill(&self) -> usize {
        total(&self.before_kill) - self.settled_before_kill as usize
    }

    /// Recipients (by channel) who got a message more than once.
    pub fn sent_twice(&self) -> Vec<&str> {
        self.after_retry.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k.as_str()).collect()
    }

    /// Checks the outcome against what the ledger promises: every neighbour of `sender`'s
    /// community (`neighbours`) reached once by SMS and once by email, the sender told once,
    /// the alert's counts right; the only messages sent twice are messages that had left but
    /// were not settled when the process died. Returns how many were sent twice.
    pub async fn check(&self, stack: &Stack, sender: &Member, neighbours: &[&Member]) -> usize {
        let expected: usize = 2 * neighbours.len() + 1;
        assert!(self.before_kill.values().all(|n| *n == 1), "twice before the kill: {:?}", self.before_kill);
        let before = total(&self.before_kill);
        assert!(
            before > 0 && before < expected,
            "the kill must land mid-way: {before} of {expected} messages had left"
        );
        check_reached(&self.after_retry, &self.outbox, sender, neighbours);
        let twice = self.sent_twice();
        for key in &twice {
            assert!(self.before_kill.contains_key(*key), "{key} sent twice but had not left before the kill");
        }
        assert_eq!(
            twice.len(),
            self.unsettled_before_kill(),
            "sent again: exactly the messages that had left but were not settled at the kill"
        );
        check_counts(stack.store(), self.alert, neighbours.len()).await;
        twice.len()
    }
}

/// Checks who an alert of `sender` reached (`sent`, from `outbox`): exactly the `neighbours`
/// by SMS and by email, and the sender told by SMS how many were reached; nobody thrice.
pub fn check_reached(sent: &Sends, outbox: &Outbox, sender: &Member, neighbours: &[&Member]) {
    let mut wanted: Vec<String> = neighbours
        .iter()
        .flat_map(|m| {
            [
                format!("sms:{}", m.phone.as_ref().expect("a number")),
                format!("email:{}", m.email.as_ref().expect("an address").as_str().to_lowercase()),
            ]
        })
        .collect();
    let sender_number = sender.phone.as_ref().expect("the sender's number").as_str();
    wanted.push(format!("sms:{sender_number}"));
    wanted.sort();
    let got: Vec<&String> = sent.keys().collect();
    assert_eq!(got.len(), wanted.len(), "how many were reached");
    assert!(got.iter().zip(&wanted).all(|(g, w)| *g == w), "exactly the neighbours and the sender");
    assert!(sent.values().all(|n| *n <= 2), "nobody thrice");
    let n = neighbours.len().to_string();
    assert!(outbox.sms_to(sender_number).any(|s| s.body.contains(&n)), "the sender is told {n} were reached");
}

/// Checks the counts the fan-out wrote on the alert: `n` neighbours reached by SMS and by
/// email, nothing failed or pending, the fan-out marked done.
pub async fn check_counts(store: &DynamoStore, alert: AlertId, n: usize) {
    let report = store.alert_report(alert).await.expect("alert readable").expect("the alert is stored");
    let counts = report.counts.expect("counts written on the alert");
    let n = n as u32;
    assert_eq!(
        (counts.recipients, counts.sms_sent, counts.email_sent, counts.pending),
        (n, n, n, 0),
        "{counts:?}"
    );
    assert_eq!((counts.sms_failed, counts.email_failed), (0, 0));
    assert!(report.fanout_done_at.is_some(), "the fan-out is marked done");
}

/// Runs the stream record of `alert` on the fan-out `binary`, its sends going to `outbound`
/// through a proxy that holds them, kills the process (SIGKILL) where `kill` says, then has the
/// relay deliver the alerts stream to a fresh process, as Lambda retries the record: the same
/// record first, then any hand-over, until nothing is left.
pub async fn kill_mid_fan_out_and_retry(
    stack: &Stack,
    outbound: &Outbound,
    binary: &Path,
    alert: AlertId,
    kill: KillAt,
) -> Crash {
    let id = alert.to_string();
    let event = stack
        .fan_out_events()
        .await
        .into_iter()
        .find(|e| e.to_string().contains(&id))
        .expect("the alert's stream record");
    let already = sends(&outbound.outbox().await);
    let proxy = FaultProxy::start(&outbound.moto.endpoint, 0.0, 1).await.expect("proxy");
    let first_limit = match kill {
        KillAt::Settled { after_at_least: n } | KillAt::AfterSends(n) => n,
    };
    proxy.limit_sends(first_limit);
    let mut first = stack.start_function(binary, "fan-out", &stack.moto.endpoint, &proxy.endpoint).await;
    let started = Instant::now();
    let invocation = first.invoke_in_background(event);

    match kill {
        KillAt::AfterSends(n) => {
            wait_for_sends(&proxy, n, &mut first, &invocation).await;
            // Let whatever the process does with these answers reach the ledger.
            tokio::time::sleep(SETTLE_GRACE).await;
        }
        KillAt::Settled { after_at_least } => {
            let mut limit = after_at_least;
            loop {
                wait_for_sends(&proxy, limit, &mut first, &invocation).await;
                if settled_reaches(stack, alert, limit).await {
                    break;
                }
                limit += 1;
                proxy.limit_sends(limit);
            }
        }
    }
    assert!(!invocation.is_finished(), "the invocation was still running when killed");
    let ran_for = started.elapsed();
    first.process.kill().expect("SIGKILL");
    invocation.abort();
    // Anything the process had on the wire reaches the emulator now or never.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_kill = since(&already, sends(&outbound.outbox().await));
    assert_eq!(
        total(&before_kill) as u64,
        proxy.stats.sends_forwarded.load(Ordering::SeqCst),
        "what left is what the proxy let through"
    );
    let settled = stack.store().tally(alert, vigie::model::Wave::Alert).await.expect("tally");
    drop(proxy);

    // Lambda's retry: the same record, to a fresh process sending directly.
    let retried = Instant::now();
    let second = stack.start_function(binary, "fan-out", &stack.moto.endpoint, &outbound.moto.endpoint).await;
    let mut relay = stack.relay_to(&second).await;
    let mut report = DrainReport::default();
    for _ in 0..20 {
        let drained = relay.drain().await.expect("stream read");
        assert_eq!(drained.sent_to_on_failure, 0, "nothing given up: {drained:?}");
        let seen = drained.records_seen;
        report.records_seen += drained.records_seen;
        report.delivered += drained.delivered;
        report.invocations += drained.invocations;
        report.retries += drained.retries;
        if seen == 0 {
            break;
        }
    }
    assert!(report.delivered > 0, "the record was delivered again: {report:?}");
    let retry_took = retried.elapsed();
    let outbox = outbound.outbox().await;
    Crash {
        alert,
        before_kill,
        settled_before_kill: settled.sms_sent + settled.email_sent,
        after_retry: since(&already, sends(&outbox)),
        outbox,
        ran_for,
        retry_took,
        relay: report,
    }
}

/// Waits until `n` sends went through the proxy and were answered.
async fn wait_for_sends(
    proxy: &FaultProxy,
    n: u64,
    function: &mut Function,
    invocation: &tokio::task::JoinHandle<Result<Value, infra::relay::InvokeError>>,
) {
    let deadline = Instant::now() + SENDS_TIMEOUT;
    while proxy.stats.sends_forwarded.load(Ordering::SeqCst) < n {
        assert!(
            !invocation.is_finished(),
            "the fan-out finished before {n} messages left: nothing to kill mid-way"
        );
        if let Some(status) = function.process.exited() {
            panic!("the fan-out process ended ({status}): {}", function.process.log_tail(5));
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages left in {SENDS_TIMEOUT:?}: {}",
            proxy.stats.sends_forwarded.load(Ordering::SeqCst),
            function.process.log_tail(5)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the ledger holds `n` deliveries of `alert` as sent, within [`SETTLE_GRACE`].
async fn settled_reaches(stack: &Stack, alert: AlertId, n: u64) -> bool {
    let deadline = Instant::now() + SETTLE_GRACE;
    loop {
        let counts = stack.store().tally(alert, vigie::model::Wave::Alert).await.expect("tally");
        let sent = u64::from(counts.sms_sent + counts.email_sent);
        assert!(sent <= n, "more settled ({sent}) than sent ({n})");
        if sent == n {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
