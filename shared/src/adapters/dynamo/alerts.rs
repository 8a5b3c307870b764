//! Alerts in the alerts table: recorded with the inbound marker and the sender's budget in one
//! transaction, read back, counted, handed over between fan-out chunks, acknowledged.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, expires_at, from_item, key, n, now_ms, s, to_item, unavailable};
use super::keys::alert_pk;
use super::ledger::inbound_marker;
use super::sessions;
use super::spend;
use super::writes::{Transaction, put_action, update_action, update_action_if};
use crate::domain::{AlertId, FlagReason, MemberId, PoliceCalled};
use crate::model::{
    Alert, AlertTally, Applied, Budget, Charge, Closure, Cursor, DeliveryCounts, FollowUpReport,
    InboundMessageId, Recorded, Wave, Withdrawal,
};
use crate::ports::{AlertLog, StoreError};

/// What an alert item holds besides the alert: its keys, its place in the feed, and when the
/// TTL purges it (`retention` after it was raised).
fn alert_item(alert: &Alert, retention: std::time::Duration) -> Result<Item, StoreError> {
    let mut item = to_item("alert", alert)?;
    item.extend(key(alert_pk(alert.alert_id), "ALERT"));
    item.insert("expires_at".into(), n(alert.created_at.div_euclid(1000) + retention.as_secs() as i64));
    item.insert("kind".into(), s("alert"));
    item.insert("feed_pk".into(), s(alert.community_id.as_str()));
    item.insert("feed_sk".into(), s(alert.alert_id.to_string()));
    Ok(item)
}

fn alert_key(id: AlertId) -> Item {
    key(alert_pk(id), "ALERT")
}

/// The item whose insertion starts an alert's all clear fan-out (`kind: follow_up`, streamed to
/// the fan-out function), once: a put of it again fails its condition.
fn follow_up_start(table: &str, id: AlertId, retention: Duration) -> Result<TransactWriteItem, StoreError> {
    put_action(table, follow_up_item(id, retention), Some("attribute_not_exists(pk)"))
}

fn follow_up_item(id: AlertId, retention: Duration) -> Item {
    start_item(id, "FOLLOWUP".into(), "follow_up", now_ms(), retention)
}

/// An item of the alerts table whose insertion starts work on alert `id` (`kind`: a chunk's
/// hand-over, the morning pass, the all clear), gone with the alert.
fn start_item(id: AlertId, sk: String, kind: &str, at: i64, retention: Duration) -> Item {
    let mut item = key(alert_pk(id), sk);
    item.insert("kind".into(), s(kind));
    item.insert("alert_id".into(), s(id.to_string()));
    item.insert("at".into(), n(at));
    item.insert("expires_at".into(), expires_at(retention));
    item
}

impl DynamoStore {
    /// Counts `member` once on the alert: an acknowledgement (`ACK#<member>` in the ledger, `acks`
    /// on the alert) or a flag for `reason` (`FLAG#<member>`, `flags_<reason>`), in one
    /// transaction; the same member again changes nothing.
    async fn count_once(
        &self,
        id: AlertId,
        member: MemberId,
        what: &str,
        reason: Option<FlagReason>,
    ) -> Result<Applied, StoreError> {
        let mut mark = key(alert_pk(id), format!("{what}#{member}"));
        mark.insert("member_id".into(), s(member.to_string()));
        mark.insert("at".into(), n(now_ms()));
        mark.insert("expires_at".into(), expires_at(self.retention));
        let counter = match reason {
            Some(reason) => {
                mark.insert("reason".into(), s(reason.as_str()));
                format!("ADD flags_{} :one", reason.as_str())
            }
            None => "ADD acks :one".to_owned(),
        };
        let actions = vec![
            put_action(&self.tables.ledger, mark, Some("attribute_not_exists(pk)"))?,
            update_action(
                &self.tables.alerts,
                alert_key(id),
                &counter,
                HashMap::from([(":one".to_owned(), n(1))]),
            )?,
        ];
        match self.transact("TransactWriteItems count once", actions).await? {
            Transaction::Committed => Ok(Applied::Now),
            Transaction::ConditionFailed(failed) if failed == [0] => Ok(Applied::AlreadyBefore),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "alert", reason: "the alert counted on is missing".into() })
            }
        }
    }

    /// Starts the all clear's fan-out (started before: its record is on the stream already).
    async fn start_follow_up(&self, id: AlertId) -> Result<(), StoreError> {
        self.put_new(&self.tables.alerts, follow_up_item(id, self.retention), "PutItem follow-up")
            .await
            .map(drop)
    }
}

impl AlertLog for DynamoStore {
    #[instrument(skip(self, alerts, budget), fields(inbound = %inbound, alerts = alerts.len()))]
    async fn record_inbound_alerts(
        &self,
        inbound: &InboundMessageId,
        alerts: &[Alert],
        budget: Option<&Budget>,
        charges: &[Charge],
        tallies: &[AlertTally],
    ) -> Result<Recorded, StoreError> {
        // The marker first, the budget second, then the charges: the cancellation reasons say
        // which failed.
        let mut actions = vec![inbound_marker(&self.tables.ledger, inbound, "alert")?];
        if let Some(budget) = budget {
            actions.push(sessions::limit_action(&self.tables.ledger, budget)?);
        }
        let first_charge = actions.len();
        for charge in charges {
            actions.push(spend::charge_action(
                &self.tables.ledger,
                charge,
                spend::tally_of(charge, tallies),
            )?);
        }
        let charged = first_charge..actions.len();
        actions.extend(
            alerts
                .iter()
                .map(|alert| {
                    let item = alert_item(alert, self.retention)?;
                    put_action(&self.tables.alerts, item, Some("attribute_not_exists(pk)"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
        // The alerts counted in their community's month: on the month's charge when there is one
        // (one item), else alone; unconditional, they never fail the transaction.
        for tally in tallies {
            let charged = charges.iter().any(|c| spend::tally_of(c, std::slice::from_ref(tally)).is_some());
            if !charged {
                actions.push(spend::tally_action(&self.tables.ledger, tally)?);
            }
        }
        match self.transact("TransactWriteItems alerts", actions).await? {
            Transaction::Committed => Ok(Recorded::Now),
            Transaction::ConditionFailed(failed) if failed.contains(&0) => Ok(Recorded::AlreadyBefore),
            Transaction::ConditionFailed(failed) if budget.is_some() && failed.contains(&1) => {
                Ok(Recorded::OverBudget)
            }
            Transaction::ConditionFailed(failed) if failed.iter().any(|i| charged.contains(i)) => {
                Ok(Recorded::Raced)
            }
            Transaction::ConditionFailed(_) => Ok(Recorded::AlreadyBefore),
        }
    }

    async fn alert(&self, id: AlertId) -> Result<Option<Alert>, StoreError> {
        let item = self.get(&self.tables.alerts, key(alert_pk(id), "ALERT"), "GetItem alert").await?;
        item.map(|i| from_item("alert", i)).transpose()
    }

    #[instrument(skip(self, counts), fields(alert = %id))]
    async fn record_counts(
        &self,
        id: AlertId,
        counts: &DeliveryCounts,
        done: bool,
    ) -> Result<(), StoreError> {
        // What the fan-out sent, only: the receipts' counts (`*_delivered`, `*_undelivered`) are
        // added one by one by the receipts themselves, and never overwritten here.
        let mut expression = "SET sms_sent = :ss, sms_failed = :sf, email_sent = :es, email_failed = :ef, recipients = :r, pending = :p, sms_unsettled = :su, email_unsettled = :eu, sms_held = :sh".to_owned();
        let mut values = HashMap::from([
            (":ss".to_owned(), n(counts.sms_sent)),
            (":sf".to_owned(), n(counts.sms_failed)),
            (":es".to_owned(), n(counts.email_sent)),
            (":ef".to_owned(), n(counts.email_failed)),
            (":r".to_owned(), n(counts.recipients)),
            (":p".to_owned(), n(counts.pending)),
            (":su".to_owned(), n(counts.sms_unsettled)),
            (":eu".to_owned(), n(counts.email_unsettled)),
            (":sh".to_owned(), n(counts.sms_held)),
        ]);
        if done {
            expression.push_str(", fanout_done_at = if_not_exists(fanout_done_at, :now)");
            values.insert(":now".into(), n(now_ms()));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.alerts)
            .set_key(Some(alert_key(id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable("UpdateItem counts"))?;
        // Closed while it was fanned out: its all clear starts now (see `close_alert`). A retry
        // of this call writes it if a failure lost it.
        if done && out.attributes.is_some_and(|item| item.contains_key("closed")) {
            self.start_follow_up(id).await?;
        }
        Ok(())
    }

    #[instrument(skip(self, counts), fields(alert = %id))]
    async fn record_follow_up_counts(
        &self,
        id: AlertId,
        counts: &DeliveryCounts,
        done: bool,
    ) -> Result<(), StoreError> {
        let report = FollowUpReport { counts: *counts, done_at: done.then(now_ms) };
        let value = serde_dynamo::to_attribute_value(report)
            .map_err(|e| StoreError::Corrupt { what: "follow-up report", reason: e.to_string() })?;
        let values = Item::from([(":report".to_owned(), value)]);
        let expression = "SET follow_up = :report";
        // An alert purged since has nothing left to count on.
        self.update_if(
            &self.tables.alerts,
            alert_key(id),
            expression,
            "attribute_exists(pk)",
            values,
            "UpdateItem follow-up counts",
        )
        .await?;
        Ok(())
    }

    #[instrument(skip(self, after), fields(alert = %id))]
    async fn hand_over(&self, id: AlertId, wave: Wave, after: &Cursor) -> Result<(), StoreError> {
        let (sk, kind) = match wave {
            Wave::Alert => (format!("CURSOR#{}", after.0), "fanout_cursor"),
            Wave::Morning => (format!("MCURSOR#{}", after.0), "morning_cursor"),
            Wave::FollowUp => (format!("FCURSOR#{}", after.0), "follow_up_cursor"),
        };
        let mut item = start_item(id, sk, kind, now_ms(), self.retention);
        item.insert("after".into(), s(after.0.clone()));
        // Handed over before (a replayed chunk): the next chunk already has its record.
        self.put_new(&self.tables.alerts, item, "PutItem cursor").await.map(drop)
    }

    #[instrument(skip(self), fields(alert = %id))]
    async fn start_morning(&self, id: AlertId, at: i64) -> Result<(), StoreError> {
        let item = start_item(id, format!("MORNING#{at}"), "morning", at, self.retention);
        // Started before (a second tick): its record is on the stream already.
        self.put_new(&self.tables.alerts, item, "PutItem morning").await.map(drop)
    }

    #[instrument(skip(self), fields(alert = %id))]
    async fn mark_police_called(&self, id: AlertId) -> Result<(), StoreError> {
        let values = Item::from([(":yes".to_owned(), s(PoliceCalled::Yes.as_str()))]);
        let (key, table) = (key(alert_pk(id), "ALERT"), &self.tables.alerts);
        let expression = "SET police_called = :yes";
        // An alert purged since has nothing left to mark: the condition's failure is not an error.
        self.update_if(table, key, expression, "attribute_exists(pk)", values, "UpdateItem police called")
            .await?;
        Ok(())
    }

    #[instrument(skip(self, closure), fields(alert = %id))]
    async fn close_alert(&self, id: AlertId, closure: &Closure) -> Result<bool, StoreError> {
        let value = serde_dynamo::to_attribute_value(closure)
            .map_err(|e| StoreError::Corrupt { what: "closure", reason: e.to_string() })?;
        let values = Item::from([(":closure".to_owned(), value)]);
        let table = &self.tables.alerts;
        let open = "attribute_exists(pk) AND attribute_not_exists(closed)";
        // Whoever comes last of the closing and the end of the alert's fan-out starts the all
        // clear's (so it reaches everyone the alert did): the closing, in the same transaction,
        // when the fan-out is over; else the fan-out when it ends (`record_counts`). The two
        // writes go to the same item, one after the other, so one of them sees the other's.
        // The fan-out only ever ends, so this goes round at most twice.
        for _ in 0..3 {
            let fanned_out = format!("{open} AND attribute_exists(fanout_done_at)");
            let actions = vec![
                update_action_if(
                    table,
                    alert_key(id),
                    "SET closed = :closure",
                    Some(&fanned_out),
                    values.clone(),
                )?,
                follow_up_start(table, id, self.retention)?,
            ];
            if let Transaction::Committed = self.transact("TransactWriteItems close alert", actions).await? {
                return Ok(true);
            }
            let fanning_out = format!("{open} AND attribute_not_exists(fanout_done_at)");
            let expression = "SET closed = :closure";
            if self
                .update_if(
                    table,
                    alert_key(id),
                    expression,
                    &fanning_out,
                    values.clone(),
                    "UpdateItem close alert",
                )
                .await?
            {
                return Ok(true);
            }
            match self.get(table, alert_key(id), "GetItem alert").await? {
                Some(item) if !item.contains_key("closed") => continue,
                // Closed by someone else in between, or gone.
                _ => return Ok(false),
            }
        }
        Err(StoreError::Unavailable { operation: "close alert", message: "the alert kept changing".into() })
    }

    #[instrument(skip(self), fields(alert = %id, member = %member))]
    async fn acknowledge(&self, id: AlertId, member: MemberId) -> Result<Applied, StoreError> {
        self.count_once(id, member, "ACK", None).await
    }

    #[instrument(skip(self), fields(alert = %id, member = %member))]
    async fn flag(&self, id: AlertId, member: MemberId, reason: FlagReason) -> Result<Applied, StoreError> {
        self.count_once(id, member, "FLAG", Some(reason)).await
    }

    #[instrument(skip(self, withdrawal), fields(alert = %id))]
    async fn withdraw(&self, id: AlertId, withdrawal: &Withdrawal) -> Result<bool, StoreError> {
        let value = serde_dynamo::to_attribute_value(withdrawal)
            .map_err(|e| StoreError::Corrupt { what: "withdrawal", reason: e.to_string() })?;
        let values = Item::from([(":w".to_owned(), value)]);
        let condition = "attribute_exists(pk) AND attribute_not_exists(withdrawn)";
        let table = &self.tables.alerts;
        self.update_if(table, alert_key(id), "SET withdrawn = :w", condition, values, "UpdateItem withdraw")
            .await
    }
}
