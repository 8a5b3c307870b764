//! The ledger table: one item per delivery task (claimed, then settled), the markers of
//! inbound messages already applied, who last got which alert by SMS, the throttle of answers
//! to unknown numbers.

use std::time::Duration;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, built, expires_at, get_n, get_s, key, n, now_ms, s, unavailable};
use super::keys::{INBOUND_RETENTION, alert_pk, inbound_pk};
use super::writes::{TRANSACTION_MAX, Transaction, held, put_action};
use crate::domain::{AlertId, MemberId, PhoneNumber};
use crate::model::{
    Channel, Claim, ClaimHolder, Cursor, DeliveryCounts, DeliveryState, InboundMessageId, Outcome, Page,
    Task, Wave,
};
use crate::ports::{Ledger, StoreError};

/// The ledger key of a task.
pub(super) fn task_key(task: &Task) -> Item {
    match task {
        Task::Delivery { alert, member, channel } => {
            key(alert_pk(*alert), format!("{}{member}#{}", wave_prefix(Wave::Alert), channel.as_str()))
        }
        Task::FollowUp { alert, member, channel } => {
            key(alert_pk(*alert), format!("{}{member}#{}", wave_prefix(Wave::FollowUp), channel.as_str()))
        }
        Task::SenderConfirmation { alert, channel, .. } => {
            key(alert_pk(*alert), format!("SENDER#{}", channel.as_str()))
        }
        Task::Reply { inbound } => key(format!("REPLY#{inbound}"), "REPLY"),
    }
}

/// The attributes every ledger item of a task carries, besides its state.
/// `retention`: the store's, for an alert's tasks (they go with the alert).
pub(super) fn task_item(task: &Task, retention: Duration) -> Item {
    let mut item = task_key(task);
    let retention = match task {
        Task::Reply { .. } => INBOUND_RETENTION,
        _ => retention,
    };
    item.insert("expires_at".into(), expires_at(retention));
    match task {
        Task::Delivery { alert, member, channel }
        | Task::FollowUp { alert, member, channel }
        | Task::SenderConfirmation { alert, sender: member, channel } => {
            item.insert("alert_id".into(), s(alert.to_string()));
            item.insert("member_id".into(), s(member.to_string()));
            item.insert("channel".into(), s(channel.as_str()));
        }
        Task::Reply { .. } => {}
    }
    item
}

/// Where a wave's deliveries sit under their alert: `D#<member>#<channel>` for the alert's,
/// `F#<member>#<channel>` for its all clear's.
pub(super) const fn wave_prefix(wave: Wave) -> &'static str {
    match wave {
        Wave::Alert | Wave::Morning => "D#",
        Wave::FollowUp => "F#",
    }
}

/// How long a wake-up is kept: its morning is at most a night away.
const WAKE_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);

/// The partition of the wake-ups due on the UTC day of `at` (`WAKE#2026-12-05`): the morning job
/// reads the last three days' only.
fn wake_pk(at: i64) -> String {
    format!("WAKE#{}", &crate::domain::rfc3339_utc(at)[..10])
}

/// A wake-up's key: its day, then its time and alert, so a day's are read in order up to now.
fn wake_key(alert: AlertId, at: i64) -> Item {
    key(wake_pk(at), format!("{at:015}#{alert}"))
}

/// The marker that says an inbound message was applied, as a transaction action.
pub(super) fn inbound_marker(
    table: &str,
    inbound: &InboundMessageId,
    outcome: &str,
) -> Result<TransactWriteItem, StoreError> {
    let mut item = key(inbound_pk(inbound), "IN");
    item.insert("outcome".into(), s(outcome));
    item.insert("at".into(), n(now_ms()));
    item.insert("expires_at".into(), expires_at(INBOUND_RETENTION));
    put_action(table, item, Some("attribute_not_exists(pk)"))
}

/// New, released, held for the night (the night's replays hold it again, the morning sends
/// it), or claimed by an invocation whose lease ran out, or by this same holder (its retry after
/// a lost answer takes its own claims back at once).
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR #st = :released OR #st = :held OR (#st = :claimed AND (lease_until < :now OR holder = :holder))";

impl DynamoStore {
    fn claim_action(
        &self,
        task: &Task,
        now: i64,
        lease: Duration,
        holder: &ClaimHolder,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = task_item(task, self.retention);
        item.insert("state".into(), s("claimed"));
        item.insert("lease_until".into(), n(now + lease.as_millis() as i64));
        item.insert("holder".into(), s(holder.as_str()));
        let put = Put::builder()
            .table_name(&self.tables.ledger)
            .set_item(Some(item))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":released", s("released"))
            .expression_attribute_values(":held", s("held"))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":holder", s(holder.as_str()))
            .build()
            .map_err(built("TransactWriteItems"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Claims up to 100 tasks in one transaction; a replayed task fails its condition, and the
    /// others are claimed again without it.
    async fn claim_chunk(
        &self,
        tasks: &[Task],
        lease: Duration,
        holder: &ClaimHolder,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut answers: Vec<Option<Claim>> = vec![None; tasks.len()];
        loop {
            let open: Vec<usize> = (0..tasks.len()).filter(|i| answers[*i].is_none()).collect();
            if open.is_empty() {
                break;
            }
            let now = now_ms();
            let actions = open
                .iter()
                .map(|i| self.claim_action(&tasks[*i], now, lease, holder))
                .collect::<Result<Vec<_>, _>>()?;
            match self.transact("TransactWriteItems claim", actions).await? {
                Transaction::Committed => open.iter().for_each(|i| answers[*i] = Some(Claim::Acquired)),
                Transaction::ConditionFailed(failed) => {
                    let taken: Vec<usize> = failed.iter().filter_map(|f| open.get(*f).copied()).collect();
                    let items = self
                        .batch_get(&self.tables.ledger, taken.iter().map(|i| task_key(&tasks[*i])).collect())
                        .await?;
                    for i in taken {
                        let wanted = task_key(&tasks[i]);
                        let state = items
                            .iter()
                            .find(|it| {
                                get_s(it, "pk") == get_s(&wanted, "pk")
                                    && get_s(it, "sk") == get_s(&wanted, "sk")
                            })
                            .and_then(|it| get_s(it, "state"));
                        answers[i] = Some(match state {
                            Some("sent") | Some("failed") => Claim::Done,
                            // Claimed by someone else, or freed in between: not ours this time.
                            _ => Claim::Busy,
                        });
                    }
                }
            }
        }
        Ok(answers.into_iter().map(|a| a.unwrap_or(Claim::Busy)).collect())
    }
}

impl Ledger for DynamoStore {
    #[instrument(skip_all, fields(tasks = tasks.len()))]
    async fn claim(
        &self,
        tasks: &[Task],
        lease: Duration,
        holder: &ClaimHolder,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut claims = Vec::with_capacity(tasks.len());
        for chunk in tasks.chunks(TRANSACTION_MAX) {
            claims.extend(self.claim_chunk(chunk, lease, holder).await?);
        }
        Ok(claims)
    }

    #[instrument(skip_all, fields(outcomes = outcomes.len()))]
    async fn settle(&self, outcomes: &[(Task, Outcome)]) -> Result<(), StoreError> {
        let now = now_ms();
        let items = outcomes
            .iter()
            .map(|(task, outcome)| {
                let mut item = task_item(task, self.retention);
                match outcome {
                    Outcome::Sent { message_id } => {
                        item.insert("state".into(), s("sent"));
                        // The key of the ByMessageId index, by which receipts find their delivery:
                        // an index key may not be an empty string.
                        if !message_id.is_empty() {
                            item.insert("message_id".into(), s(message_id.clone()));
                        }
                        item.insert("sent_at".into(), n(now));
                        // Who last received which alert by SMS: so a short "merci" can be read
                        // as a reply to it rather than as a new alert.
                        if let Task::Delivery { member, channel: Channel::Sms, .. }
                        | Task::FollowUp { member, channel: Channel::Sms, .. }
                        | Task::SenderConfirmation { sender: member, channel: Channel::Sms, .. } = task
                        {
                            item.insert("recipient".into(), s(format!("{member}#sms")));
                        }
                    }
                    Outcome::Failed { error } => {
                        item.insert("state".into(), s("failed"));
                        item.insert("error".into(), s(error.clone()));
                    }
                    Outcome::Released { error } => {
                        item.insert("state".into(), s("released"));
                        item.insert("error".into(), s(error.clone()));
                    }
                    Outcome::Held { until } => {
                        item.insert("state".into(), s("held"));
                        item.insert("until".into(), n(*until));
                    }
                }
                item
            })
            .collect();
        self.batch_put(&self.tables.ledger, items).await
    }

    #[instrument(skip(self), fields(alert = %alert))]
    async fn tally(&self, alert: AlertId, wave: Wave) -> Result<DeliveryCounts, StoreError> {
        let mut counts = DeliveryCounts::default();
        // Deliveries come sorted by `D#<member>#<channel>`: a member's are together, so the last
        // member counted is all it takes to count each reached member once, in constant memory.
        let mut last_reached: Option<String> = None;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.ledger)
                .key_condition_expression("pk = :pk AND begins_with(sk, :d)")
                .expression_attribute_values(":pk", s(alert_pk(alert)))
                .expression_attribute_values(":d", s(wave_prefix(wave)))
                .projection_expression("#st, channel, member_id")
                .expression_attribute_names("#st", "state")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable("Query deliveries"))?;
            for item in out.items.unwrap_or_default() {
                let sms = get_s(&item, "channel") == Some("sms");
                match get_s(&item, "state") {
                    Some("sent") => {
                        if sms {
                            counts.sms_sent += 1
                        } else {
                            counts.email_sent += 1
                        }
                        if let Some(member) = get_s(&item, "member_id")
                            && last_reached.as_deref() != Some(member)
                        {
                            counts.recipients += 1;
                            last_reached = Some(member.to_owned());
                        }
                    }
                    Some("failed") => {
                        if sms {
                            counts.sms_failed += 1
                        } else {
                            counts.email_failed += 1
                        }
                    }
                    Some("held") => counts.sms_held += 1,
                    _ => {
                        counts.pending += 1;
                        if sms { counts.sms_unsettled += 1 } else { counts.email_unsettled += 1 }
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(counts)
    }

    #[instrument(skip(self, after), fields(alert = %alert))]
    async fn deliveries(
        &self,
        alert: AlertId,
        state: DeliveryState,
        after: Option<Cursor>,
        limit: i32,
    ) -> Result<Page<(MemberId, Channel)>, StoreError> {
        let pk = alert_pk(alert);
        let prefix = wave_prefix(Wave::Alert);
        // Only a delivery's key is a start key for this query: another cursor starts over (the
        // ledger's claims make that harmless).
        let start = after.filter(|c| c.0.starts_with(prefix)).map(|c| key(pk.clone(), c.0));
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .key_condition_expression("pk = :pk AND begins_with(sk, :d)")
            .filter_expression("#st = :sent")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":d", s(prefix))
            .expression_attribute_values(":sent", s(state.as_str()))
            .projection_expression("member_id, channel")
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .limit(limit.max(1))
            .send()
            .await
            .map_err(unavailable("Query delivered"))?;
        let next =
            out.last_evaluated_key.as_ref().and_then(|k| get_s(k, "sk")).map(|sk| Cursor(sk.to_owned()));
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let member = get_s(item, "member_id")?.parse().ok()?;
                Some((member, Channel::parse(get_s(item, "channel")?)?))
            })
            .collect();
        Ok(Page { items, next })
    }

    #[instrument(skip(self))]
    async fn last_sms_alert(&self, member: MemberId, since_ms: i64) -> Result<Option<AlertId>, StoreError> {
        self.newest_sms_alert(member, since_ms, false).await
    }

    #[instrument(skip(self))]
    async fn last_confirmed_alert(
        &self,
        author: MemberId,
        since_ms: i64,
    ) -> Result<Option<AlertId>, StoreError> {
        self.newest_sms_alert(author, since_ms, true).await
    }

    #[instrument(skip(self), fields(alert = %alert))]
    async fn wake_at(&self, alert: AlertId, at: i64) -> Result<(), StoreError> {
        let mut item = wake_key(alert, at);
        item.insert("alert_id".into(), s(alert.to_string()));
        item.insert("at".into(), n(at));
        item.insert("expires_at".into(), expires_at(WAKE_RETENTION));
        self.put(&self.tables.ledger, item, "PutItem wake").await
    }

    #[instrument(skip(self))]
    async fn due_wakes(&self, now: i64) -> Result<Vec<(AlertId, i64)>, StoreError> {
        let mut due = Vec::new();
        for day in 0..=2 {
            let pk = wake_pk(now - day * 24 * 3_600_000);
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.tables.ledger)
                    .key_condition_expression("pk = :pk AND sk <= :now")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    // `~` sorts after every alert id: the wake-ups of `now` itself are due.
                    .expression_attribute_values(":now", s(format!("{now:015}#~")))
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable("Query wakes"))?;
                for item in out.items.unwrap_or_default() {
                    let alert = get_s(&item, "alert_id").and_then(|id| id.parse().ok());
                    if let (Some(alert), Some(at)) = (alert, get_n(&item, "at")) {
                        due.push((alert, at));
                    }
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(due)
    }

    #[instrument(skip(self), fields(alert = %alert))]
    async fn drop_wake(&self, alert: AlertId, at: i64) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(wake_key(alert, at)))
            .send()
            .await
            .map_err(unavailable("DeleteItem wake"))?;
        Ok(())
    }

    #[instrument(skip_all, fields(phone = %phone.masked()))]
    async fn may_answer_unknown(
        &self,
        phone: &PhoneNumber,
        inbound: &InboundMessageId,
        window: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut item = key(format!("UNKNOWN#{phone}"), "THROTTLE");
        item.insert("until".into(), n(now + window.as_millis() as i64));
        item.insert("inbound_message_id".into(), s(inbound.as_str()));
        item.insert("expires_at".into(), expires_at(window));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.ledger)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #until < :now OR inbound_message_id = :id")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", s(inbound.as_str()))
            .send()
            .await;
        held(result, "PutItem throttle")
    }
}

impl DynamoStore {
    /// The alert of the newest SMS `member` received after `since_ms` (`ByRecipient`, newest
    /// first); with `confirmations_only`, of the confirmations of their own alerts only
    /// (`SENDER#sms` under the alert: a handful of SMS in the windows asked for).
    async fn newest_sms_alert(
        &self,
        member: MemberId,
        since_ms: i64,
        confirmations_only: bool,
    ) -> Result<Option<AlertId>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .index_name("ByRecipient")
            .key_condition_expression("recipient = :r AND sent_at > :since")
            .expression_attribute_values(":r", s(format!("{member}#sms")))
            .expression_attribute_values(":since", n(since_ms))
            .scan_index_forward(false);
        query = if confirmations_only {
            query
                .filter_expression("begins_with(sk, :sender)")
                .expression_attribute_values(":sender", s("SENDER#"))
        } else {
            query.limit(1)
        };
        let out = query.send().await.map_err(unavailable("Query last SMS"))?;
        let item = out.items.unwrap_or_default().into_iter().next();
        Ok(item.as_ref().and_then(|i| get_s(i, "alert_id")).and_then(|id| id.parse().ok()))
    }
}
