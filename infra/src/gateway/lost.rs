//! Lost answers, for tests: a DynamoDB write is carried out by the emulator, then its answer is
//! lost on the way back (the caller sees HTTP 500 or 503, or the connection drops), as when a
//! network or a load balancer fails after the service did the work. The caller cannot tell it
//! from a write that never happened: its retry must be safe either way.
//!
//! Installed, inert, in every gateway of the test harness; a test turns it on with
//! [`LostAnswers::set_rate`]. It stands before [`super::tokens::ClientTokens`] in the gateway's
//! rules, so that the token rule remembers the real answer before this one loses it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;
use tokio::sync::Mutex;

use super::faults::Dice;
use super::{Answer, Call, Rule, RuleFuture, Service, Verdict};

/// The DynamoDB operations that write.
const WRITES: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

/// The rule. See the module docs.
pub struct LostAnswers {
    /// The share of write answers lost, an `f64` as bits.
    rate: AtomicU64,
    dice: Mutex<Dice>,
    /// Answers lost so far.
    pub lost: AtomicU64,
    /// Answers lost, by operation.
    lost_by: std::sync::Mutex<BTreeMap<String, u64>>,
    /// Writes carried out whose answer was delivered.
    pub delivered: AtomicU64,
}

impl LostAnswers {
    /// Loses no answer until [`LostAnswers::set_rate`].
    pub fn new(seed: u64) -> Self {
        Self {
            rate: AtomicU64::new(0f64.to_bits()),
            dice: Mutex::new(Dice(seed.max(1))),
            lost: AtomicU64::new(0),
            lost_by: std::sync::Mutex::new(BTreeMap::new()),
            delivered: AtomicU64::new(0),
        }
    }

    /// Loses the answer of each DynamoDB write with probability `rate` from now on.
    pub fn set_rate(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::SeqCst);
    }

    /// Answers lost so far, by DynamoDB operation.
    pub fn lost_by_operation(&self) -> BTreeMap<String, u64> {
        self.lost_by.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn is_write(call: &Call) -> bool {
        call.service == Service::DynamoDb && call.operation.as_deref().is_some_and(|op| WRITES.contains(&op))
    }
}

impl Rule for LostAnswers {
    fn before<'a>(&'a self, _call: &'a Call) -> RuleFuture<'a> {
        Box::pin(async { Verdict::Continue })
    }

    fn after<'a>(&'a self, call: &'a Call, _answer: &'a Answer) -> RuleFuture<'a> {
        Box::pin(async move {
            let rate = f64::from_bits(self.rate.load(Ordering::SeqCst));
            if rate <= 0.0 || !Self::is_write(call) {
                return Verdict::Continue;
            }
            let (roll, pick) = {
                let mut dice = self.dice.lock().await;
                (dice.roll(), dice.roll())
            };
            if roll >= rate {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                return Verdict::Continue;
            }
            self.lost.fetch_add(1, Ordering::Relaxed);
            let operation = call.operation.clone().unwrap_or_default();
            *self.lost_by.lock().unwrap_or_else(|p| p.into_inner()).entry(operation).or_default() += 1;
            let (status, kind) = match (pick * 3.0) as u8 {
                0 => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
                1 => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                _ => return Verdict::Drop,
            };
            let body = format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"answer lost (injected)"}}"#
            );
            Verdict::Answer(Answer::new(status, "application/x-amz-json-1.0", body))
        })
    }
}
