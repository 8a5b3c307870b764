//! The DynamoDB store: every storage port, on the three tables of `docs/data-model.md`.

mod feed;
mod membership;
mod rate;
mod receipts;
mod sessions;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update,
    WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::instrument;

use crate::config::Tables;
use crate::domain::{AlertId, Community, CommunityId, Email, Member, MemberId, PhoneNumber, redact};
use crate::model::{
    Alert, Applied, Budget, Channel, Claim, ClaimHolder, Cursor, DeliveryCounts, InboundMessageId, Outcome,
    Page, Recipient, Recorded, Task,
};
use crate::ports::{AlertLog, Ledger, MemberLookup, RegisterError, Registry, Roster, Settings, StoreError};

type Item = HashMap<String, AttributeValue>;

/// Deliveries are kept for the report page for about a year.
const DELIVERY_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// Inbound markers only need to outlive SNS and Lambda retries.
const INBOUND_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// TransactWriteItems takes at most 100 actions.
const TRANSACTION_MAX: usize = 100;
/// BatchWriteItem takes at most 25 puts, BatchGetItem 100 keys.
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
const BATCH_ATTEMPTS: u32 = 8;

/// The store, cheap to clone (the SDK client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// A store with its own client from the SDK configuration (no network call).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, tables: Tables) -> Self {
        Self::new(Client::new(sdk), tables)
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn expires_at(after: Duration) -> AttributeValue {
    n((now_ms() / 1000) + after.as_secs() as i64)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn unavailable<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |err| StoreError::Unavailable { operation, message: redact(&DisplayErrorContext(&err).to_string()) }
}

fn built<E: std::fmt::Display>(operation: &'static str) -> impl FnOnce(E) -> StoreError {
    move |err| StoreError::Unavailable { operation, message: format!("request not built: {err}") }
}

fn to_item<T: Serialize>(what: &'static str, value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt { what, reason: e.to_string() })
}

fn from_item<T: DeserializeOwned>(what: &'static str, item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt { what, reason: e.to_string() })
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn member_pk(id: MemberId) -> String {
    format!("MEMBER#{id}")
}

/// Whether `cursor` is the key of a member's row under a community (`MEMBER#<id>`), the only
/// start key DynamoDB accepts for a roster query (it refuses one outside the query, or over 1 kB).
fn is_roster_cursor(cursor: &str) -> bool {
    cursor.strip_prefix("MEMBER#").is_some_and(|id| id.parse::<MemberId>().is_ok())
}

fn community_pk(id: &CommunityId) -> String {
    format!("COMMUNITY#{id}")
}

fn alert_pk(id: AlertId) -> String {
    format!("ALERT#{id}")
}

fn inbound_pk(id: &InboundMessageId) -> String {
    format!("IN#{id}")
}

/// The ledger key of a task.
fn task_key(task: &Task) -> Item {
    match task {
        Task::Delivery { alert, member, channel } => {
            key(alert_pk(*alert), format!("D#{member}#{}", channel.as_str()))
        }
        Task::SenderConfirmation { alert, channel, .. } => {
            key(alert_pk(*alert), format!("SENDER#{}", channel.as_str()))
        }
        Task::Reply { inbound } => key(format!("REPLY#{inbound}"), "REPLY"),
    }
}

/// The attributes every ledger item of a task carries, besides its state.
fn task_item(task: &Task) -> Item {
    let mut item = task_key(task);
    let retention = match task {
        Task::Reply { .. } => INBOUND_RETENTION,
        _ => DELIVERY_RETENTION,
    };
    item.insert("expires_at".into(), expires_at(retention));
    match task {
        Task::Delivery { alert, member, channel } => {
            item.insert("alert_id".into(), s(alert.to_string()));
            item.insert("member_id".into(), s(member.to_string()));
            item.insert("channel".into(), s(channel.as_str()));
        }
        Task::SenderConfirmation { alert, sender, channel } => {
            item.insert("alert_id".into(), s(alert.to_string()));
            item.insert("member_id".into(), s(sender.to_string()));
            item.insert("channel".into(), s(channel.as_str()));
        }
        Task::Reply { .. } => {}
    }
    item
}

/// A put of `item` into `table` under `condition`, as a transaction action.
fn put_action(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(built("TransactWriteItems"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The outcome of a transaction whose actions may fail their conditions.
enum Transaction {
    Committed,
    /// The indexes of the actions whose condition failed.
    ConditionFailed(Vec<usize>),
}

impl DynamoStore {
    async fn transact(
        &self,
        operation: &'static str,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Transaction, StoreError> {
        let result = self.client.transact_write_items().set_transact_items(Some(actions)).send().await;
        match result {
            Ok(_) => Ok(Transaction::Committed),
            Err(err) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                    err.as_service_error()
                {
                    let reasons = cancel.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    let only_conditions = reasons
                        .iter()
                        .all(|r| matches!(r.code(), None | Some("None") | Some("ConditionalCheckFailed")));
                    if !failed.is_empty() && only_conditions {
                        return Ok(Transaction::ConditionFailed(failed));
                    }
                }
                Err(unavailable(operation)(err))
            }
        }
    }

    async fn get(&self, table: &str, key: Item, operation: &'static str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable(operation))?;
        Ok(out.item)
    }

    async fn query_one(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> Result<Option<Member>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.members)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", s(value))
            .limit(1)
            .send()
            .await
            .map_err(unavailable("Query"))?;
        out.items.unwrap_or_default().into_iter().next().map(|i| from_item("member", i)).transpose()
    }

    /// Reads items by key, consistently, whatever their number.
    async fn batch_get(&self, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(built("BatchGetItem"))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(unavailable("BatchGetItem"))?;
                found.extend(out.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
                pending =
                    out.unprocessed_keys.and_then(|mut u| u.remove(table)).filter(|k| !k.keys.is_empty());
                attempt += 1;
                if pending.is_some() {
                    if attempt >= BATCH_ATTEMPTS {
                        return Err(StoreError::Unavailable {
                            operation: "BatchGetItem",
                            message: "keys left unprocessed".into(),
                        });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Ok(found)
    }

    /// Puts items unconditionally, 25 at a time, retrying what DynamoDB leaves unprocessed.
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<(), StoreError> {
        for chunk in items.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(built("BatchWriteItem"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .map_err(unavailable("BatchWriteItem"))?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
                attempt += 1;
                if !requests.is_empty() {
                    if attempt >= BATCH_ATTEMPTS {
                        return Err(StoreError::Unavailable {
                            operation: "BatchWriteItem",
                            message: "items left unprocessed".into(),
                        });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Ok(())
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(25u64 << attempt.min(6))
}

impl MemberLookup for DynamoStore {
    #[instrument(skip_all, fields(phone = %phone.masked()))]
    async fn member_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Member>, StoreError> {
        self.query_one("ByPhone", "phone_key", phone.as_str()).await
    }

    #[instrument(skip_all, fields(email = %email.masked()))]
    async fn member_by_email(&self, email: &Email) -> Result<Option<Member>, StoreError> {
        self.query_one("ByEmail", "email_key", email.as_str()).await
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let item = self.get(&self.tables.members, key(member_pk(id), "PROFILE"), "GetItem member").await?;
        item.map(|i| from_item("member", i)).transpose()
    }

    async fn community(&self, id: &CommunityId) -> Result<Option<Community>, StoreError> {
        let item =
            self.get(&self.tables.members, key(community_pk(id), "#META"), "GetItem community").await?;
        item.map(|i| from_item("community", i)).transpose()
    }
}

impl Roster for DynamoStore {
    #[instrument(skip(self, after), fields(community = %community))]
    async fn members_page(
        &self,
        community: &CommunityId,
        after: Option<Cursor>,
        limit: i32,
    ) -> Result<Page<Recipient>, StoreError> {
        let pk = community_pk(community);
        // Only the key of a member's row is a start key DynamoDB accepts for this query: any other
        // cursor (one forged in a page's link, say) starts from the first page rather than
        // failing the request.
        let after = after.filter(|c| {
            let valid = is_roster_cursor(&c.0);
            if !valid {
                tracing::warn!(%community, "not a roster cursor: first page instead");
            }
            valid
        });
        let out = self
            .client
            .query()
            .table_name(&self.tables.members)
            .key_condition_expression("pk = :pk AND begins_with(sk, :member)")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":member", s("MEMBER#"))
            .set_exclusive_start_key(after.map(|c| key(pk, c.0)))
            .limit(limit.max(1))
            .send()
            .await
            .map_err(unavailable("Query roster"))?;
        let next =
            out.last_evaluated_key.as_ref().and_then(|k| get_s(k, "sk")).map(|sk| Cursor(sk.to_owned()));
        // One unreadable row must not keep the alert from everyone else: it is logged and skipped.
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let sk = get_s(&item, "sk").unwrap_or_default().to_owned();
            match from_item::<Recipient>("membership", item) {
                Ok(recipient) => items.push(recipient),
                Err(err) => {
                    tracing::error!(%community, %sk, error = %redact(&err.to_string()), "unreadable membership skipped")
                }
            }
        }
        Ok(Page { items, next })
    }
}

/// The copy of a member kept under each of their communities.
fn membership_item(member: &Member, community: &CommunityId) -> Result<Item, StoreError> {
    let mut item = to_item("membership", &Recipient::of(member))?;
    item.extend(key(community_pk(community), format!("MEMBER#{}", member.id)));
    item.insert("kind".into(), s("membership"));
    Ok(item)
}

impl Registry for DynamoStore {
    /// The community, and its entries in the index of towns, in one transaction.
    async fn put_community(&self, community: &Community) -> Result<(), StoreError> {
        let table = &self.tables.members;
        let town = membership::town_key(&community.town);
        let mut meta = to_item("community", community)?;
        meta.extend(key(community_pk(&community.id), "#META"));
        meta.insert("kind".into(), s("community"));
        let mut listed = to_item("community", community)?;
        listed.extend(key(format!("TOWN#{town}"), format!("COMMUNITY#{}", community.id)));
        listed.insert("kind".into(), s("town_community"));
        let mut towns = key("TOWNS".to_owned(), format!("TOWN#{town}"));
        towns.insert("town".into(), s(community.town.clone()));
        towns.insert("kind".into(), s("town"));
        let actions = vec![
            put_action(table, meta, None)?,
            put_action(table, listed, None)?,
            put_action(table, towns, None)?,
        ];
        match self.transact("TransactWriteItems community", actions).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(_) => Err(StoreError::Unavailable {
                operation: "TransactWriteItems community",
                message: "refused".into(),
            }),
        }
    }

    #[instrument(skip_all, fields(phones = phones.len(), emails = emails.len()))]
    async fn taken(
        &self,
        phones: &[&PhoneNumber],
        emails: &[&Email],
    ) -> Result<(Vec<PhoneNumber>, Vec<Email>), StoreError> {
        // BatchGetItem refuses a key twice: each claim once.
        let claims: std::collections::BTreeSet<String> = phones
            .iter()
            .map(|p| phone_claim_pk(p))
            .chain(emails.iter().map(|e| email_claim_pk(e)))
            .collect();
        let keys: Vec<Item> = claims.into_iter().map(|pk| key(pk, "CLAIM")).collect();
        let found: std::collections::HashSet<String> = self
            .batch_get(&self.tables.members, keys)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "pk"))
            .map(str::to_owned)
            .collect();
        Ok((
            phones.iter().filter(|p| found.contains(&phone_claim_pk(p))).map(|p| (*p).clone()).collect(),
            emails.iter().filter(|e| found.contains(&email_claim_pk(e))).map(|e| (*e).clone()).collect(),
        ))
    }

    #[instrument(skip_all, fields(member = %member.id))]
    async fn register(&self, member: &Member) -> Result<(), RegisterError> {
        let table = &self.tables.members;
        let new = Some("attribute_not_exists(pk)");
        let mut tx = Guarded::default();
        tx.push(put_action(table, profile_item(member)?, new)?, Conflict::Exists);
        for community in &member.communities {
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(community_pk(community), "#META")))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(built("TransactWriteItems"))?;
            tx.push(TransactWriteItem::builder().condition_check(check).build(), Conflict::Community);
            tx.push(put_action(table, membership_item(member, community)?, new)?, Conflict::Exists);
        }
        if let Some(phone) = &member.phone {
            tx.push(put_action(table, claim_item(phone_claim_pk(phone), member.id), new)?, Conflict::Phone);
        }
        if let Some(email) = &member.email {
            tx.push(put_action(table, claim_item(email_claim_pk(email), member.id), new)?, Conflict::Email);
        }
        self.commit_guarded("TransactWriteItems register", tx).await
    }
}

fn phone_claim_pk(phone: &PhoneNumber) -> String {
    format!("PHONE#{phone}")
}

fn email_claim_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

fn claim_item(pk: String, member: MemberId) -> Item {
    let mut item = key(pk, "CLAIM");
    item.insert("member_id".into(), s(member.to_string()));
    item
}

/// A member's profile item, with the keys of the phone and email indexes.
fn profile_item(member: &Member) -> Result<Item, StoreError> {
    let mut profile = to_item("member", member)?;
    profile.extend(key(member_pk(member.id), "PROFILE"));
    profile.insert("kind".into(), s("member"));
    if let Some(phone) = &member.phone {
        profile.insert("phone_key".into(), s(phone.as_str()));
    }
    if let Some(email) = &member.email {
        profile.insert("email_key".into(), s(email.as_str()));
    }
    Ok(profile)
}

/// The actions of a transaction, each with what its condition guards.
#[derive(Default)]
struct Guarded {
    actions: Vec<TransactWriteItem>,
    meaning: Vec<Conflict>,
}

impl Guarded {
    fn push(&mut self, action: TransactWriteItem, guards: Conflict) {
        self.actions.push(action);
        self.meaning.push(guards);
    }
}

impl DynamoStore {
    /// Writes members in bulk (`BatchWriteItem`, no conditions): the same items as
    /// [`Registry::register`], for loading test and benchmark communities of thousands into the
    /// emulator, whose transactions copy the whole table for each of their items. Numbers and
    /// addresses are NOT checked for uniqueness: never use it on member data from outside.
    pub async fn bulk_register_unchecked(&self, members: &[Member]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(members.len() * 4);
        for member in members {
            items.push(profile_item(member)?);
            for community in &member.communities {
                items.push(membership_item(member, community)?);
            }
            if let Some(phone) = &member.phone {
                items.push(claim_item(phone_claim_pk(phone), member.id));
            }
            if let Some(email) = &member.email {
                items.push(claim_item(email_claim_pk(email), member.id));
            }
        }
        self.batch_put(&self.tables.members, items).await
    }

    /// Commits a member transaction, naming the most useful reason when a condition failed.
    async fn commit_guarded(&self, operation: &'static str, tx: Guarded) -> Result<(), RegisterError> {
        match self.transact(operation, tx.actions).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(failed) => {
                let conflict = failed
                    .iter()
                    .filter_map(|i| tx.meaning.get(*i))
                    .min()
                    .copied()
                    .unwrap_or(Conflict::Exists);
                Err(match conflict {
                    Conflict::Phone => RegisterError::PhoneTaken,
                    Conflict::Email => RegisterError::EmailTaken,
                    Conflict::Community => RegisterError::UnknownCommunity,
                    Conflict::Exists => RegisterError::AlreadyExists,
                    Conflict::Gone => RegisterError::UnknownMember,
                })
            }
        }
    }
}

/// What a registration action guards, most useful to report first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Conflict {
    Phone,
    Email,
    Community,
    Exists,
    Gone,
}

/// The marker that says an inbound message was applied, as a transaction action.
fn inbound_marker(
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

fn update_action(
    table: &str,
    key: Item,
    expression: &str,
    values: Item,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .condition_expression("attribute_exists(pk)")
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(built("TransactWriteItems"))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Settings for DynamoStore {
    #[instrument(skip_all, fields(member = %member.id, on))]
    async fn set_sms_alerts(
        &self,
        member: &Member,
        on: bool,
        inbound: &InboundMessageId,
    ) -> Result<Applied, StoreError> {
        let table = &self.tables.members;
        let values = HashMap::from([(":on".to_owned(), AttributeValue::Bool(on))]);
        let outcome = if on { "sms_on" } else { "sms_off" };
        // START settles a delivery problem on the number: the member asks for texts again.
        let expression = if on { "SET sms_alerts = :on REMOVE sms_problem" } else { "SET sms_alerts = :on" };
        let mut actions = vec![inbound_marker(&self.tables.ledger, inbound, outcome)?];
        actions.push(update_action(table, key(member_pk(member.id), "PROFILE"), expression, values.clone())?);
        for community in &member.communities {
            let membership = key(community_pk(community), format!("MEMBER#{}", member.id));
            actions.push(update_action(table, membership, expression, values.clone())?);
        }
        match self.transact("TransactWriteItems settings", actions).await? {
            Transaction::Committed => Ok(Applied::Now),
            Transaction::ConditionFailed(failed) if failed == [0] => Ok(Applied::AlreadyBefore),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "member", reason: "profile or membership missing".into() })
            }
        }
    }
}

/// What an alert item holds besides the alert: its keys and its place in the feed.
fn alert_item(alert: &Alert) -> Result<Item, StoreError> {
    let mut item = to_item("alert", alert)?;
    item.extend(key(alert_pk(alert.alert_id), "ALERT"));
    item.insert("kind".into(), s("alert"));
    item.insert("feed_pk".into(), s(alert.community_id.as_str()));
    item.insert("feed_sk".into(), s(alert.alert_id.to_string()));
    Ok(item)
}

impl AlertLog for DynamoStore {
    #[instrument(skip(self, alerts, budget), fields(inbound = %inbound, alerts = alerts.len()))]
    async fn record_inbound_alerts(
        &self,
        inbound: &InboundMessageId,
        alerts: &[Alert],
        budget: Option<&Budget>,
    ) -> Result<Recorded, StoreError> {
        // The marker first and the budget second: the cancellation reasons say which failed.
        let mut actions = vec![inbound_marker(&self.tables.ledger, inbound, "alert")?];
        if let Some(budget) = budget {
            actions.push(sessions::limit_action(&self.tables.ledger, budget)?);
        }
        actions.extend(
            alerts
                .iter()
                .map(|alert| {
                    put_action(&self.tables.alerts, alert_item(alert)?, Some("attribute_not_exists(pk)"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
        match self.transact("TransactWriteItems alerts", actions).await? {
            Transaction::Committed => Ok(Recorded::Now),
            Transaction::ConditionFailed(failed)
                if budget.is_some() && failed.contains(&1) && !failed.contains(&0) =>
            {
                Ok(Recorded::OverBudget)
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
        let mut expression = "SET sms_sent = :ss, sms_failed = :sf, email_sent = :es, email_failed = :ef, recipients = :r, pending = :p, sms_unsettled = :su, email_unsettled = :eu".to_owned();
        let mut values = HashMap::from([
            (":ss".to_owned(), n(counts.sms_sent)),
            (":sf".to_owned(), n(counts.sms_failed)),
            (":es".to_owned(), n(counts.email_sent)),
            (":ef".to_owned(), n(counts.email_failed)),
            (":r".to_owned(), n(counts.recipients)),
            (":p".to_owned(), n(counts.pending)),
            (":su".to_owned(), n(counts.sms_unsettled)),
            (":eu".to_owned(), n(counts.email_unsettled)),
        ]);
        if done {
            expression.push_str(", fanout_done_at = if_not_exists(fanout_done_at, :now)");
            values.insert(":now".into(), n(now_ms()));
        }
        self.client
            .update_item()
            .table_name(&self.tables.alerts)
            .set_key(Some(key(alert_pk(id), "ALERT")))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(unavailable("UpdateItem counts"))?;
        Ok(())
    }

    #[instrument(skip(self, after), fields(alert = %id))]
    async fn hand_over(&self, id: AlertId, after: &Cursor) -> Result<(), StoreError> {
        let mut item = key(alert_pk(id), format!("CURSOR#{}", after.0));
        item.insert("kind".into(), s("fanout_cursor"));
        item.insert("alert_id".into(), s(id.to_string()));
        item.insert("after".into(), s(after.0.clone()));
        item.insert("at".into(), n(now_ms()));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.alerts)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Handed over before (a replayed chunk): the next chunk already has its record.
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(())
            }
            Err(err) => Err(unavailable("PutItem cursor")(err)),
        }
    }

    #[instrument(skip(self), fields(alert = %id, member = %member))]
    async fn acknowledge(&self, id: AlertId, member: MemberId) -> Result<Applied, StoreError> {
        let mut ack = key(alert_pk(id), format!("ACK#{member}"));
        ack.insert("member_id".into(), s(member.to_string()));
        ack.insert("at".into(), n(now_ms()));
        ack.insert("expires_at".into(), expires_at(DELIVERY_RETENTION));
        let actions = vec![
            put_action(&self.tables.ledger, ack, Some("attribute_not_exists(pk)"))?,
            update_action(
                &self.tables.alerts,
                key(alert_pk(id), "ALERT"),
                "ADD acks :one",
                HashMap::from([(":one".to_owned(), n(1))]),
            )?,
        ];
        match self.transact("TransactWriteItems ack", actions).await? {
            Transaction::Committed => Ok(Applied::Now),
            Transaction::ConditionFailed(failed) if failed == [0] => Ok(Applied::AlreadyBefore),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "alert", reason: "acknowledged alert is missing".into() })
            }
        }
    }
}

/// New, released, or claimed by an invocation whose lease ran out, or by this same holder (its
/// retry after a lost answer takes its own claims back at once).
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR #st = :released OR (#st = :claimed AND (lease_until < :now OR holder = :holder))";

impl DynamoStore {
    fn claim_action(
        &self,
        task: &Task,
        now: i64,
        lease: Duration,
        holder: &ClaimHolder,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = task_item(task);
        item.insert("state".into(), s("claimed"));
        item.insert("lease_until".into(), n(now + lease.as_millis() as i64));
        item.insert("holder".into(), s(holder.as_str()));
        let put = Put::builder()
            .table_name(&self.tables.ledger)
            .set_item(Some(item))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":released", s("released"))
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
                let mut item = task_item(task);
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
                }
                item
            })
            .collect();
        self.batch_put(&self.tables.ledger, items).await
    }

    #[instrument(skip(self), fields(alert = %alert))]
    async fn tally(&self, alert: AlertId) -> Result<DeliveryCounts, StoreError> {
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
                .expression_attribute_values(":d", s("D#"))
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

    async fn last_sms_alert(&self, member: MemberId, since_ms: i64) -> Result<Option<AlertId>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .index_name("ByRecipient")
            .key_condition_expression("recipient = :r AND sent_at > :since")
            .expression_attribute_values(":r", s(format!("{member}#sms")))
            .expression_attribute_values(":since", n(since_ms))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(unavailable("Query last SMS"))?;
        let item = out.items.unwrap_or_default().into_iter().next();
        Ok(item.as_ref().and_then(|i| get_s(i, "alert_id")).and_then(|id| id.parse().ok()))
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
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(err) => Err(unavailable("PutItem throttle")(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_member_row_key_is_a_roster_cursor() {
        let id = MemberId::new();
        assert!(is_roster_cursor(&format!("MEMBER#{id}")));
        for forged in
            ["", "MEMBER#", "MEMBER#x", &format!("ALERT#{id}"), &format!("MEMBER#{id}#x"), &"A".repeat(2000)]
        {
            assert!(!is_roster_cursor(forged), "{forged}");
        }
    }
}
