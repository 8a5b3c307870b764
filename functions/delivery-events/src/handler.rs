//! One invocation: an SNS notification carrying SES's events (bounces, complaints, deliveries),
//! or a CloudWatch Logs batch of SNS's SMS delivery status logs. Each receipt is applied by
//! [`vigie::receipts::apply`]; what cannot be read is logged and dropped (no retry would help);
//! a receipt whose message is not settled yet, or a store failure, fails the invocation after the
//! others are applied, and Lambda's retry applies it then (the others change nothing again).

use std::time::Duration;

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, warn};
use vigie::adapters::now_ms;
use vigie::model::{MemberNoted, Receipt};
use vigie::ports::Receipts;
use vigie::receipts::{self, DeliveryRecord, ReceiptError};

use crate::events::{self, Unreadable};

/// How long the handler waits, in the invocation, for settlements not written yet before it
/// leaves the rest to Lambda's retries: most receipts that come early come a few seconds early
/// (SES answers a delivery within seconds; the fan-out settles 25 sends at a time).
pub const SETTLE_WAITS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(4)];

/// What the handler needs: the store, for the ledger, the alerts and the members.
pub struct DeliveryEvents<S> {
    pub store: S,
    /// The pauses before looking again for settlements not found ([`SETTLE_WAITS`]).
    pub settle_waits: Vec<Duration>,
}

impl<S> DeliveryEvents<S> {
    pub fn new(store: S) -> Self {
        Self { store, settle_waits: SETTLE_WAITS.to_vec() }
    }
}

/// What became of one message of the event (the function's response, and what the logs say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    /// The receipt was applied.
    Applied {
        event: &'static str,
        delivery: DeliveryRecord,
        /// Members whose settings learnt something now (email stopped, SMS failure counted).
        members_noted: usize,
    },
    /// Not a receipt we can act on; logged and dropped.
    Dropped(&'static str),
}

/// Why the invocation must be retried.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryEventsError {
    #[error("{0} receipt(s) of messages not settled yet")]
    NotSettledYet(usize),
    #[error(transparent)]
    Store(vigie::ports::StoreError),
}

impl From<DeliveryEventsError> for lambda_runtime::Diagnostic {
    fn from(err: DeliveryEventsError) -> Self {
        let error_type = match &err {
            DeliveryEventsError::NotSettledYet(_) => "NotSettledYet",
            DeliveryEventsError::Store(_) => "StoreUnavailable",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: err.to_string() }
    }
}

/// The receipts an event carries, or why each message of it was dropped.
pub fn receipts_of(event: &Value) -> Vec<Result<Receipt, &'static str>> {
    if event.get("awslogs").is_some() {
        // From text: the decoder of `awslogs` reads borrowed keys, which a `Value` cannot lend.
        let logs: LogsEvent = match serde_json::from_str(&event.to_string()) {
            Ok(logs) => logs,
            Err(_) => return vec![Err("malformed CloudWatch Logs event")],
        };
        let data = logs.aws_logs.data;
        // CloudWatch Logs checks a new subscription with a CONTROL_MESSAGE: nothing to apply.
        if data.message_type != "DATA_MESSAGE" {
            return Vec::new();
        }
        return data
            .log_events
            .iter()
            .map(|line| events::sms_receipt(&line.message).map_err(sms_drop))
            .collect();
    }
    if event.get("Records").is_some() {
        let sns: SnsEvent = match serde_json::from_value(event.clone()) {
            Ok(sns) => sns,
            Err(_) => return vec![Err("malformed SNS event")],
        };
        return sns.records.iter().map(|r| events::ses_receipt(&r.sns.message).map_err(ses_drop)).collect();
    }
    vec![Err("neither an SNS nor a CloudWatch Logs event")]
}

fn ses_drop(why: Unreadable) -> &'static str {
    match why {
        Unreadable::Malformed => "malformed SES event",
        Unreadable::UnknownEventType => "unknown SES event type",
        Unreadable::NoMessageId => "SES event without a message id",
    }
}

fn sms_drop(why: Unreadable) -> &'static str {
    match why {
        Unreadable::NoMessageId => "SMS delivery log without a message id",
        _ => "malformed SMS delivery log",
    }
}

/// Handles one invocation.
pub async fn handle<S: Receipts + Sync>(
    deps: &DeliveryEvents<S>,
    event: LambdaEvent<Value>,
) -> Result<Vec<Handled>, DeliveryEventsError> {
    let mut handled = Vec::new();
    let mut failure = None;
    let mut todo = Vec::new();
    for receipt in receipts_of(&event.payload) {
        match receipt {
            Ok(receipt) => todo.push(receipt),
            Err(why) => {
                // Only the reason: the payload may hold addresses and numbers.
                warn!(reason = why, "receipt dropped");
                handled.push(Handled::Dropped(why));
            }
        }
    }
    let mut waits = deps.settle_waits.iter();
    loop {
        let mut waiting = Vec::new();
        for receipt in todo {
            match receipts::apply(&deps.store, &receipt, now_ms()).await {
                Ok(applied) => {
                    let members_noted =
                        applied.members.iter().filter(|m| matches!(m, MemberNoted::Now { .. })).count();
                    info!(
                        event = receipt.event,
                        channel = receipt.channel.as_str(),
                        delivery = ?applied.delivery,
                        members_noted,
                        "receipt applied"
                    );
                    handled.push(Handled::Applied {
                        event: receipt.event,
                        delivery: applied.delivery,
                        members_noted,
                    });
                }
                Err(ReceiptError::NotSettledYet) => waiting.push(receipt),
                Err(ReceiptError::Store(err)) if err.is_retryable() => {
                    warn!(error = %err, "store failed: the receipt will be retried");
                    failure.get_or_insert(err);
                }
                Err(ReceiptError::Store(err)) => {
                    error!(error = %err, "receipt dropped: stored data unreadable");
                    handled.push(Handled::Dropped("stored data unreadable"));
                }
            }
        }
        if waiting.is_empty() {
            break;
        }
        let Some(wait) = waits.next() else {
            info!(receipts = waiting.len(), "messages not settled yet: left to Lambda's retries");
            return Err(DeliveryEventsError::NotSettledYet(waiting.len()));
        };
        tokio::time::sleep(*wait).await;
        todo = waiting;
    }
    match failure {
        Some(err) => Err(DeliveryEventsError::Store(err)),
        None => Ok(handled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_an_event_of_ours_is_dropped_with_a_reason() {
        for (event, why) in [
            (serde_json::json!({}), "neither an SNS nor a CloudWatch Logs event"),
            (serde_json::json!([1, 2]), "neither an SNS nor a CloudWatch Logs event"),
            (serde_json::json!({"awslogs": {"data": "not base64!"}}), "malformed CloudWatch Logs event"),
            (serde_json::json!({"awslogs": {"data": "aGVsbG8="}}), "malformed CloudWatch Logs event"),
            (serde_json::json!({"Records": "x"}), "malformed SNS event"),
        ] {
            assert_eq!(receipts_of(&event), vec![Err(why)], "{event}");
        }
    }
}
