//! The shared send rate: one item per quota's timeline in the ledger table (`RATE#<timeline>`),
//! moved forward by conditional `UpdateItem`s (see `crate::pace` for the rule).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, expires_at, get_n, key, n, unavailable};
use crate::pace::{Priority, RateState, SlotAnswer, SlotRequest};
use crate::ports::{RateLedger, StoreError};

/// Writes tried before a timeline is reported unavailable (each lost race teaches the timeline
/// as it is; a race is only lost when the timeline changes regime between idle and busy).
const ATTEMPTS: u32 = 8;
/// An idle timeline's item expires after a day (TTL): a missing item is a free timeline.
const RETENTION: Duration = Duration::from_secs(24 * 3600);

fn rate_key(timeline: &str) -> Item {
    key(format!("RATE#{timeline}"), "RATE")
}

fn state_of(item: &Item) -> RateState {
    RateState {
        next_us: get_n(item, "next_us").unwrap_or(0),
        urgent_until_us: get_n(item, "urgent_until_us").unwrap_or(0),
    }
}

impl RateLedger for DynamoStore {
    /// A block is one `UpdateItem`, in one of two forms:
    /// - the timeline is idle (its next slot is past, or it has none): the block starts now,
    ///   `SET next_us = now + block`, on the condition that it is still idle;
    /// - the timeline is busy (its next slot is ahead, within the requester's horizon): the block
    ///   follows it, `SET next_us = next_us + block` (and, for an urgent sender that keeps
    ///   sending, its hold `urgent_until_us = next_us + block + hold`), on the condition that it
    ///   still is; `ReturnValues=UPDATED_NEW` tells where the block ended. DynamoDB applies
    ///   concurrent updates of one item one at a time, so busy senders never race each other.
    ///
    /// A condition that fails (the timeline changed form, an urgent sender holds it, it ran past
    /// the horizon) answers with the item as it is (`ReturnValuesOnConditionCheckFailure=ALL_OLD`):
    /// the rule is applied again to it, without a read.
    #[instrument(skip(self, request), fields(units = request.units, priority = ?request.priority))]
    async fn reserve_slots(&self, timeline: &str, request: SlotRequest) -> Result<SlotAnswer, StoreError> {
        let now = request.now_us;
        let length = i64::from(request.units.max(1)) * request.per_unit_us;
        let horizon = request.horizon_us();
        let mut seen = request.known;
        for _ in 0..ATTEMPTS {
            let state = seen.unwrap_or_default();
            let (start_us, next) = match request.decide(state) {
                SlotAnswer::Granted { start_us, state: next } => (start_us, next),
                later @ SlotAnswer::Later { .. } => return Ok(later),
            };
            let holds = request.priority == Priority::Urgent && request.hold_us > 0;
            let mut values =
                HashMap::from([(":exp".to_owned(), expires_at(RETENTION)), (":now".to_owned(), n(now))]);
            // An ordinary block never starts while an urgent sender holds the timeline.
            let held = match request.priority {
                Priority::Ordinary => {
                    " AND (attribute_not_exists(urgent_until_us) OR urgent_until_us <= :now)"
                }
                Priority::Urgent => "",
            };
            let idle = start_us == now;
            let (update, condition) = if idle {
                values.insert(":end".into(), n(next.next_us));
                let mut update = "SET next_us = :end, expires_at = :exp".to_owned();
                if holds {
                    update.push_str(", urgent_until_us = :until");
                    values.insert(":until".into(), n(next.urgent_until_us));
                }
                (update, format!("attribute_not_exists(pk) OR (next_us <= :now{held})"))
            } else {
                values.insert(":len".into(), n(length));
                values.insert(":latest".into(), n(now + horizon));
                let mut update = "SET next_us = next_us + :len, expires_at = :exp".to_owned();
                if holds {
                    update.push_str(", urgent_until_us = next_us + :held");
                    values.insert(":held".into(), n(length + request.hold_us));
                }
                (update, format!("next_us > :now AND next_us <= :latest{held}"))
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.ledger)
                .set_key(Some(rate_key(timeline)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) if idle => return Ok(SlotAnswer::Granted { start_us, state: next }),
                Ok(out) => {
                    let updated = out.attributes.unwrap_or_default();
                    let end = get_n(&updated, "next_us").ok_or_else(|| StoreError::Corrupt {
                        what: "rate timeline",
                        reason: "no next_us after an update".into(),
                    })?;
                    let urgent_until_us = get_n(&updated, "urgent_until_us").unwrap_or(state.urgent_until_us);
                    return Ok(SlotAnswer::Granted {
                        start_us: end - length,
                        state: RateState { next_us: end, urgent_until_us },
                    });
                }
                Err(err) => match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        seen = Some(failed.item().map(state_of).unwrap_or_default());
                    }
                    _ => return Err(unavailable("UpdateItem rate")(err)),
                },
            }
        }
        Err(StoreError::Unavailable { operation: "UpdateItem rate", message: "timeline contended".into() })
    }
}
