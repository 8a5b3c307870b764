//! Receipts: a provider's message id back to its delivery (the ledger's `ByMessageId` index),
//! the receipt kept beside the delivery (`R#<member>#<channel>`) and counted on the alert in the
//! same transaction, and what it teaches about a member's address or number.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, built, expires_at, get_s, key, n, s, unavailable};
use super::keys::{alert_pk, community_pk, member_pk};
use super::ledger::{task_key, wave_prefix};
use super::writes::Transaction;
use crate::domain::{AlertId, DeliveryProblem, Email, Member, MemberId, PhoneNumber, ReceiptStatus};
use crate::model::{Channel, InboundMessageId, MemberNoted, ReceiptRecorded, Task, Wave};
use crate::ports::{MemberLookup, Receipts, StoreError};

/// Attempts at a member's update that lost a race with another receipt for the same member.
const MEMBER_ATTEMPTS: usize = 4;

fn receipt_sk(member: MemberId, channel: Channel) -> String {
    format!("R#{member}#{}", channel.as_str())
}

/// The task a ledger item of the `ByMessageId` index stands for.
fn task_of(item: &Item) -> Option<Task> {
    let pk = get_s(item, "pk")?;
    let sk = get_s(item, "sk")?;
    if let Some(inbound) = pk.strip_prefix("REPLY#") {
        return InboundMessageId::parse(inbound).ok().map(|inbound| Task::Reply { inbound });
    }
    let alert: AlertId = pk.strip_prefix("ALERT#")?.parse().ok()?;
    for wave in [Wave::Alert, Wave::FollowUp] {
        if let Some(rest) = sk.strip_prefix(wave_prefix(wave)) {
            let (member, channel) = rest.split_once('#')?;
            return Some(Task::to_neighbour(wave, alert, member.parse().ok()?, Channel::parse(channel)?));
        }
    }
    let channel = Channel::parse(sk.strip_prefix("SENDER#")?)?;
    let sender = get_s(item, "member_id")?.parse().ok()?;
    Some(Task::SenderConfirmation { alert, sender, channel })
}

fn transact_item<T>(
    what: &'static str,
    value: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, StoreError> {
    value.map_err(built(what))
}

/// An update of `key` in `table` under `condition`, as a transaction action.
fn update(
    table: &str,
    key: Item,
    expression: &str,
    condition: &str,
    values: Item,
) -> Result<TransactWriteItem, StoreError> {
    let update = transact_item(
        "TransactWriteItems",
        Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn problem_value(problem: &DeliveryProblem) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(problem)
        .map_err(|e| StoreError::Corrupt { what: "delivery problem", reason: e.to_string() })
}

impl DynamoStore {
    /// The check that the delivery was settled as sent, with this very message.
    fn sent_as(
        &self,
        alert: AlertId,
        member: MemberId,
        channel: Channel,
        message_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = transact_item(
            "TransactWriteItems",
            ConditionCheck::builder()
                .table_name(&self.tables.ledger)
                .set_key(Some(task_key(&Task::Delivery { alert, member, channel })))
                .condition_expression("#st = :sent AND message_id = :id")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":sent", s("sent"))
                .expression_attribute_values(":id", s(message_id))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The alert's receipt counts moved by `delta` (`<channel>_delivered`, `<channel>_undelivered`).
    fn count_on_alert(
        &self,
        alert: AlertId,
        deltas: &[(&str, i64)],
    ) -> Result<TransactWriteItem, StoreError> {
        let mut values = HashMap::new();
        let adds: Vec<String> = deltas
            .iter()
            .enumerate()
            .map(|(i, (name, delta))| {
                values.insert(format!(":d{i}"), n(delta));
                format!("{name} :d{i}")
            })
            .collect();
        update(
            &self.tables.alerts,
            key(alert_pk(alert), "ALERT"),
            &format!("ADD {}", adds.join(", ")),
            "attribute_exists(pk)",
            values,
        )
    }

    /// Commits a member's update (profile first, then each membership), `Ok(false)` when the
    /// profile's condition failed (changed meanwhile, or no longer theirs).
    async fn update_member_copies(
        &self,
        member: &Member,
        expression: &str,
        profile_condition: &str,
        values: Item,
    ) -> Result<bool, StoreError> {
        let table = &self.tables.members;
        let mut actions = vec![update(
            table,
            key(member_pk(member.id), "PROFILE"),
            expression,
            profile_condition,
            values.clone(),
        )?];
        for community in &member.communities {
            let membership = key(community_pk(community), format!("MEMBER#{}", member.id));
            // A membership has no condition but its existence: only the values the update uses.
            let used: Vec<&str> =
                expression.split(|c: char| !(c == ':' || c == '_' || c.is_ascii_alphanumeric())).collect();
            let copy_values: Item = values
                .iter()
                .filter(|(k, _)| used.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            actions.push(update(table, membership, expression, "attribute_exists(pk)", copy_values)?);
        }
        match self.transact("TransactWriteItems member receipt", actions).await? {
            Transaction::Committed => Ok(true),
            Transaction::ConditionFailed(failed) if failed == [0] => Ok(false),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "member", reason: "a membership is missing".into() })
            }
        }
    }
}

impl Receipts for DynamoStore {
    #[instrument(skip(self))]
    async fn sent_with(&self, message_id: &str) -> Result<Option<Task>, StoreError> {
        if message_id.is_empty() {
            return Ok(None);
        }
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .index_name("ByMessageId")
            .key_condition_expression("message_id = :m")
            .expression_attribute_values(":m", s(message_id))
            .limit(1)
            .send()
            .await
            .map_err(unavailable("Query message id"))?;
        Ok(out.items.unwrap_or_default().first().and_then(task_of))
    }

    #[instrument(skip(self, status), fields(alert = %alert, member = %member, channel = channel.as_str()))]
    async fn record_receipt(
        &self,
        alert: AlertId,
        member: MemberId,
        channel: Channel,
        message_id: &str,
        status: &ReceiptStatus,
        at: i64,
    ) -> Result<ReceiptRecorded, StoreError> {
        let ledger = &self.tables.ledger;
        let delivered = format!("{}_delivered", channel.as_str());
        let undelivered = format!("{}_undelivered", channel.as_str());
        let mut item = key(alert_pk(alert), receipt_sk(member, channel));
        item.insert("member_id".into(), s(member.to_string()));
        item.insert("message_id".into(), s(message_id));
        item.insert("receipt_at".into(), n(at));
        item.insert("expires_at".into(), expires_at(self.retention));
        let (first, reason) = match status {
            ReceiptStatus::Delivered => {
                item.insert("receipt".into(), s("delivered"));
                ((delivered.as_str(), 1), None)
            }
            ReceiptStatus::Failed { reason } => {
                item.insert("receipt".into(), s("failed"));
                item.insert("receipt_reason".into(), s(reason.clone()));
                ((undelivered.as_str(), 1), Some(reason))
            }
        };
        // The first receipt of this delivery.
        let put = transact_item(
            "TransactWriteItems",
            Put::builder()
                .table_name(ledger)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let actions = vec![
            self.sent_as(alert, member, channel, message_id)?,
            TransactWriteItem::builder().put(put).build(),
            self.count_on_alert(alert, &[first])?,
        ];
        match self.transact("TransactWriteItems receipt", actions).await? {
            Transaction::Committed => return Ok(ReceiptRecorded::Now),
            Transaction::ConditionFailed(failed) if failed.contains(&0) => {
                return Ok(ReceiptRecorded::NotThisMessage);
            }
            Transaction::ConditionFailed(failed) if failed == [1] => {}
            Transaction::ConditionFailed(_) => {
                return Err(StoreError::Corrupt {
                    what: "alert",
                    reason: "the alert of a delivery is missing".into(),
                });
            }
        }
        // A receipt was recorded before: only a failure may overtake a delivery.
        let Some(reason) = reason else { return Ok(ReceiptRecorded::AlreadyBefore) };
        let values = HashMap::from([
            (":failed".to_owned(), s("failed")),
            (":delivered".to_owned(), s("delivered")),
            (":reason".to_owned(), s(reason.clone())),
            (":at".to_owned(), n(at)),
            (":id".to_owned(), s(message_id)),
        ]);
        let actions = vec![
            self.sent_as(alert, member, channel, message_id)?,
            update(
                ledger,
                key(alert_pk(alert), receipt_sk(member, channel)),
                "SET receipt = :failed, receipt_reason = :reason, receipt_at = :at",
                "receipt = :delivered AND message_id = :id",
                values,
            )?,
            self.count_on_alert(alert, &[(delivered.as_str(), -1), (undelivered.as_str(), 1)])?,
        ];
        match self.transact("TransactWriteItems receipt", actions).await? {
            Transaction::Committed => Ok(ReceiptRecorded::Now),
            Transaction::ConditionFailed(failed) if failed.contains(&0) => {
                Ok(ReceiptRecorded::NotThisMessage)
            }
            // Failed already (this receipt again, or another failure first).
            Transaction::ConditionFailed(_) => Ok(ReceiptRecorded::AlreadyBefore),
        }
    }

    #[instrument(skip_all, fields(address = %address.masked(), kind = ?problem.kind))]
    async fn stop_email(
        &self,
        address: &Email,
        problem: &DeliveryProblem,
    ) -> Result<MemberNoted, StoreError> {
        for _ in 0..MEMBER_ATTEMPTS {
            let Some(member) = self.member_by_email(address).await? else {
                return Ok(MemberNoted::NoSuchMember);
            };
            if !member.email_alerts && member.email_problem.is_some() {
                return Ok(MemberNoted::AlreadyBefore);
            }
            let values = HashMap::from([
                (":off".to_owned(), AttributeValue::Bool(false)),
                (":p".to_owned(), problem_value(problem)?),
                (":e".to_owned(), s(address.as_str())),
            ]);
            let expression = "SET email_alerts = :off, email_problem = :p";
            if self.update_member_copies(&member, expression, "email_key = :e", values).await? {
                return Ok(MemberNoted::Now { member: member.id, stopped: true });
            }
        }
        Err(StoreError::Unavailable {
            operation: "TransactWriteItems member receipt",
            message: "kept changing".into(),
        })
    }

    #[instrument(skip_all, fields(phone = %phone.masked()))]
    async fn note_sms_failure(
        &self,
        phone: &PhoneNumber,
        message_id: &str,
        detail: &str,
        at: i64,
    ) -> Result<MemberNoted, StoreError> {
        for _ in 0..MEMBER_ATTEMPTS {
            let Some(member) = self.member_by_phone(phone).await? else {
                return Ok(MemberNoted::NoSuchMember);
            };
            let previous = member.sms_problem.as_ref();
            if previous.is_some_and(|p| p.stopped) && !member.sms_alerts {
                // Stopped already: nothing more to count until the member turns SMS back on.
                return Ok(MemberNoted::AlreadyBefore);
            }
            let Some(problem) = DeliveryProblem::sms_failure(previous, message_id, detail, at) else {
                return Ok(MemberNoted::AlreadyBefore);
            };
            let mut values = HashMap::from([
                (":p".to_owned(), problem_value(&problem)?),
                (":ph".to_owned(), s(phone.as_str())),
            ]);
            let mut expression = "SET sms_problem = :p".to_owned();
            if problem.stopped {
                expression.push_str(", sms_alerts = :off");
                values.insert(":off".into(), AttributeValue::Bool(false));
            }
            // Optimistic: the profile must still hold what was read, or another receipt counted
            // meanwhile and this one is counted again on what it wrote.
            let condition = match previous {
                None => "phone_key = :ph AND attribute_not_exists(sms_problem)".to_owned(),
                Some(p) => {
                    values.insert(":n".into(), n(p.failures));
                    "phone_key = :ph AND sms_problem.failures = :n".to_owned()
                }
            };
            if self.update_member_copies(&member, &expression, &condition, values).await? {
                return Ok(MemberNoted::Now { member: member.id, stopped: problem.stopped });
            }
        }
        Err(StoreError::Unavailable {
            operation: "TransactWriteItems member receipt",
            message: "kept changing".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_items_are_read_back_as_their_tasks() {
        let alert = AlertId::new();
        let member = MemberId::new();
        let delivery = task_key(&Task::Delivery { alert, member, channel: Channel::Email });
        assert_eq!(task_of(&delivery), Some(Task::Delivery { alert, member, channel: Channel::Email }));
        let mut sender = key(alert_pk(alert), "SENDER#sms");
        sender.insert("member_id".into(), s(member.to_string()));
        assert_eq!(
            task_of(&sender),
            Some(Task::SenderConfirmation { alert, sender: member, channel: Channel::Sms })
        );
        let reply = key("REPLY#in-1".to_owned(), "REPLY");
        assert_eq!(task_of(&reply), Some(Task::Reply { inbound: InboundMessageId::parse("in-1").unwrap() }));
        for (pk, sk) in [("ALERT#nope", "D#x#sms"), ("SESSION#x", "SESSION"), (&*alert_pk(alert), "D#x#fax")]
        {
            assert_eq!(task_of(&key(pk.to_owned(), sk)), None, "{pk} {sk}");
        }
    }
}
