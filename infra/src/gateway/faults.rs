//! Faults, for tests: a chosen share of DynamoDB, SNS and SES calls fails the way AWS fails them
//! (HTTP 500, 503, throttling, a dropped connection), before they reach the emulator — so a
//! failed call has done nothing, as when AWS refuses it. Everything else (DynamoDB Streams, the
//! emulator's own API) goes through.
//!
//! It can also hold the sends ([`FaultProxy::limit_sends`]): past a number of SNS and SES calls,
//! the next ones wait, unanswered and not forwarded, so a test knows exactly which messages left
//! when it kills the function that sends them.
//!
//! [`Faults`] is a [`Rule`] of the gateway; a [`FaultProxy`] is a handle on it, either with a
//! gateway of its own in front of an upstream ([`FaultProxy::start`]) or installed in an existing
//! gateway after its other rules ([`FaultProxy::attach`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;
use tokio::sync::{Mutex, Notify};

use super::{Answer, Call, Gateway, Rule, RuleFuture, Service, Verdict};

/// What the proxy did, by service.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub forwarded: AtomicU64,
    pub dynamodb_faults: AtomicU64,
    pub sns_faults: AtomicU64,
    pub ses_faults: AtomicU64,
    /// SNS and SES calls forwarded and answered by the emulator: messages that left.
    pub sends_forwarded: AtomicU64,
}

impl FaultStats {
    pub fn injected(&self) -> u64 {
        self.dynamodb_faults.load(Ordering::Relaxed)
            + self.sns_faults.load(Ordering::Relaxed)
            + self.ses_faults.load(Ordering::Relaxed)
    }
}

/// A small deterministic generator (xorshift), so a failing run can be replayed with its seed.
pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn roll(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How many sends may go through ([`FaultProxy::limit_sends`]); the others wait for more.
struct SendGate {
    limit: AtomicU64,
    admitted: AtomicU64,
    raised: Notify,
}

impl SendGate {
    /// Waits until this send may go through, and counts it.
    async fn admit(&self) {
        loop {
            let raised = self.raised.notified();
            let admitted = self.admitted.load(Ordering::SeqCst);
            if admitted < self.limit.load(Ordering::SeqCst) {
                if self
                    .admitted
                    .compare_exchange(admitted, admitted + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            raised.await;
        }
    }
}

/// The fault rule. See the module docs.
pub struct Faults {
    /// The share of calls failed, an `f64` as bits: [`FaultProxy::set_rate`] changes it.
    rate: AtomicU64,
    /// Sends (SNS, SES) whose body holds one of these always fail: a poison no retry cures.
    poison: Vec<Vec<u8>>,
    /// Any call (DynamoDB, SNS, SES) whose body holds this fails, for as long as it is set
    /// ([`FaultProxy::refuse_calls_with`]).
    refused: std::sync::Mutex<Option<Vec<u8>>>,
    dice: Mutex<Dice>,
    stats: Arc<FaultStats>,
    gate: SendGate,
}

impl Faults {
    fn new(rate: f64, seed: u64, poison: &[&str]) -> Faults {
        Faults {
            rate: AtomicU64::new(rate.to_bits()),
            poison: poison.iter().map(|p| p.as_bytes().to_vec()).collect(),
            refused: std::sync::Mutex::new(None),
            dice: Mutex::new(Dice(seed.max(1))),
            stats: Arc::new(FaultStats::default()),
            gate: SendGate {
                limit: AtomicU64::new(u64::MAX),
                admitted: AtomicU64::new(0),
                raised: Notify::new(),
            },
        }
    }

    async fn judge(&self, call: &Call) -> Verdict {
        if matches!(call.service, Service::DynamoDb | Service::Sns | Service::Ses) {
            let (roll, pick) = {
                let mut dice = self.dice.lock().await;
                (dice.roll(), dice.roll())
            };
            let refused = self
                .refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_deref()
                .is_some_and(|marker| call.body_contains(marker));
            let poisoned = refused || (call.is_send() && self.poison.iter().any(|p| call.body_contains(p)));
            if poisoned || roll < f64::from_bits(self.rate.load(Ordering::SeqCst)) {
                let counter = match call.service {
                    Service::DynamoDb => &self.stats.dynamodb_faults,
                    Service::Sns => &self.stats.sns_faults,
                    _ => &self.stats.ses_faults,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                return fault(call.service, if poisoned { 0.3 } else { pick });
            }
        }
        if call.is_send() {
            self.gate.admit().await;
        }
        self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        Verdict::Continue
    }
}

impl Rule for Faults {
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a> {
        Box::pin(self.judge(call))
    }

    fn after<'a>(&'a self, call: &'a Call, _answer: &'a Answer) -> RuleFuture<'a> {
        if call.is_send() {
            self.stats.sends_forwarded.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async { Verdict::Continue })
    }
}

/// A fault as the service would answer it: `pick` in [0, 1) chooses which.
fn fault(service: Service, pick: f64) -> Verdict {
    let answer = match (service, (pick * 4.0) as u8) {
        // A dropped connection: the caller sees an I/O error.
        (_, 3) => return Verdict::Drop,
        (_, 0) => Answer::new(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "injected fault"),
        (_, 1) => Answer::new(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "injected fault"),
        (Service::DynamoDb, _) => Answer::new(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded (injected)"}"#,
        ),
        (Service::Sns, _) => Answer::new(
            StatusCode::BAD_REQUEST,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        ),
        (_, _) => Answer::new(
            StatusCode::TOO_MANY_REQUESTS,
            "application/json",
            r#"{"message":"Too many requests (injected)"}"#,
        )
        .with_header("x-amzn-errortype", "TooManyRequestsException"),
    };
    Verdict::Answer(answer)
}

/// A handle on a [`Faults`] rule; a proxy of its own stops when dropped.
pub struct FaultProxy {
    /// Where to point the SDK: the proxy's own gateway, or the gateway it is attached to.
    pub endpoint: String,
    pub stats: Arc<FaultStats>,
    rule: Arc<Faults>,
    _own: Option<Gateway>,
}

impl FaultProxy {
    /// Proxies to `upstream`, failing each DynamoDB, SNS and SES call with probability `rate`.
    pub async fn start(upstream: &str, rate: f64, seed: u64) -> std::io::Result<FaultProxy> {
        Self::start_poisoned(upstream, rate, seed, &[]).await
    }

    /// As [`FaultProxy::start`], and every send (SNS Publish, SES SendEmail) whose body contains
    /// one of `poison` (a word of an SMS, an address) fails, always, with a 503.
    pub async fn start_poisoned(
        upstream: &str,
        rate: f64,
        seed: u64,
        poison: &[&str],
    ) -> std::io::Result<FaultProxy> {
        let rule = Arc::new(Faults::new(rate, seed, poison));
        let gateway = Gateway::start(upstream, vec![Arc::clone(&rule) as Arc<dyn Rule>]).await?;
        Ok(FaultProxy {
            endpoint: gateway.endpoint.clone(),
            stats: Arc::clone(&rule.stats),
            rule,
            _own: Some(gateway),
        })
    }

    /// The same faults as a rule of `gateway`, after the rules it has: its IAM check comes first,
    /// so a refused call is refused before any fault, as on AWS.
    pub fn attach(gateway: &Gateway, rate: f64, seed: u64, poison: &[&str]) -> FaultProxy {
        let rule = Arc::new(Faults::new(rate, seed, poison));
        gateway.push(Arc::clone(&rule) as Arc<dyn Rule>);
        FaultProxy { endpoint: gateway.endpoint.clone(), stats: Arc::clone(&rule.stats), rule, _own: None }
    }

    /// Lets `n` sends (SNS and SES calls that are not failed) through in all, counting those
    /// already through: the next ones wait, unanswered and not forwarded, until the limit is
    /// raised (`u64::MAX`: no limit, the default). A send held when its caller goes away never
    /// reaches the emulator.
    pub fn limit_sends(&self, n: u64) {
        self.rule.gate.limit.store(n, Ordering::SeqCst);
        self.rule.gate.raised.notify_waiters();
    }

    /// From now on, every DynamoDB, SNS and SES call whose body contains `marker` (a word of an
    /// alert, say) fails with a 503, however often it is tried; `None` lifts it.
    pub fn refuse_calls_with(&self, marker: Option<&str>) {
        *self.rule.refused.lock().unwrap_or_else(|p| p.into_inner()) = marker.map(|m| m.as_bytes().to_vec());
    }

    /// Fails each DynamoDB, SNS and SES call with probability `rate` from now on.
    pub fn set_rate(&self, rate: f64) {
        self.rule.rate.store(rate.to_bits(), Ordering::SeqCst);
    }
}
