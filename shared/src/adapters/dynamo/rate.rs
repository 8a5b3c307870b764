//! The shared send rate: one item per quota's timeline in the ledger table (`RATE#<timeline>`),
//! moved forward by conditional `UpdateItem`s (see `crate::pace` for the rule).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use tracing::instrument;

use super::{DynamoStore, Item, expires_at, get_n, key, n, unavailable};
use crate::pace::{Priority, RateState, SlotAnswer, SlotRequest};
use crate::ports::{RateLedger, StoreError};

/// Conditional writes tried before a contended timeline is reported unavailable.
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
    /// A block is one conditional write: on the timeline as last seen, or, when what was seen is
    /// all in the past (or nothing was seen), on any timeline that is all in the past, since the
    /// block then starts now whatever it holds. A write that loses a race learns the timeline
    /// from its own failure (`ReturnValuesOnConditionCheckFailure=ALL_OLD`) and decides again:
    /// no read, and an idle timeline costs nothing to learn.
    #[instrument(skip(self, request), fields(units = request.units, priority = ?request.priority))]
    async fn reserve_slots(&self, timeline: &str, request: SlotRequest) -> Result<SlotAnswer, StoreError> {
        let now = request.now_us;
        let mut seen = request.known;
        for _ in 0..ATTEMPTS {
            let state = seen.unwrap_or_default();
            let next = match request.decide(state) {
                SlotAnswer::Granted { state: next, .. } => next,
                later @ SlotAnswer::Later { .. } => return Ok(later),
            };
            let mut values = HashMap::from([
                (":next".to_owned(), n(next.next_us)),
                (":exp".to_owned(), expires_at(RETENTION)),
            ]);
            let mut update = "SET next_us = :next, expires_at = :exp".to_owned();
            // An ordinary block must not start while an urgent sender holds the timeline; an
            // urgent one only ever lengthens the hold.
            let held = match request.priority {
                Priority::Ordinary => {
                    values.insert(":now".into(), n(now));
                    "(attribute_not_exists(urgent_until_us) OR urgent_until_us <= :now)"
                }
                Priority::Urgent => {
                    update.push_str(", urgent_until_us = :until");
                    values.insert(":until".into(), n(next.urgent_until_us));
                    "(attribute_not_exists(urgent_until_us) OR urgent_until_us <= :until)"
                }
            };
            let condition = if state.next_us <= now && state.urgent_until_us <= now {
                values.insert(":now".into(), n(now));
                format!("attribute_not_exists(pk) OR (next_us <= :now AND {held})")
            } else {
                values.insert(":seen".into(), n(state.next_us));
                format!("next_us = :seen AND {held}")
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.ledger)
                .set_key(Some(rate_key(timeline)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_values(Some(values))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(request.decide(state)),
                Err(err) => match err.as_service_error() {
                    Some(e) if e.is_conditional_check_failed_exception() => {
                        let current = match e {
                            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                                c.item().map(state_of)
                            }
                            _ => None,
                        };
                        seen = Some(current.unwrap_or_default());
                    }
                    _ => return Err(unavailable("UpdateItem rate")(err)),
                },
            }
        }
        Err(StoreError::Unavailable { operation: "UpdateItem rate", message: "timeline contended".into() })
    }
}
