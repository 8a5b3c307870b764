//! Sign-in links, sessions and rate limits, in the ledger table (all with TTL).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, expires_at, get_n, get_s, key, n, now_ms, s, unavailable};
use super::keys::INBOUND_RETENTION;
use super::writes::{Transaction, put_action, update_action_if};
use crate::domain::MemberId;
use crate::model::{Budget, Session, TokenHash};
use crate::ports::{Limits, Sessions, StoreError};

/// Sessions outlive their expiry in the table only until DynamoDB's TTL sweeps them.
fn session_key(hash: &TokenHash) -> Item {
    key(format!("SESSION#{}", hash.as_str()), "SESSION")
}

fn link_key(hash: &TokenHash) -> Item {
    key(format!("SIGNIN#{}", hash.as_str()), "SIGNIN")
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

impl Sessions for DynamoStore {
    #[instrument(skip_all, fields(member = %member))]
    async fn put_signin_link(
        &self,
        hash: &TokenHash,
        member: MemberId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut item = link_key(hash);
        item.insert("member_id".into(), s(member.to_string()));
        item.insert("until".into(), n(now_ms() + ttl.as_millis() as i64));
        item.insert("used".into(), AttributeValue::Bool(false));
        item.insert("expires_at".into(), expires_at(ttl));
        self.put(&self.tables.ledger, item, "PutItem sign-in link").await
    }

    #[instrument(skip_all)]
    async fn signin_link_member(&self, hash: &TokenHash) -> Result<Option<MemberId>, StoreError> {
        let Some(item) = self.get(&self.tables.ledger, link_key(hash), "GetItem sign-in link").await? else {
            return Ok(None);
        };
        let unused = item.get("used").and_then(|v| v.as_bool().ok()) == Some(&false);
        let valid = get_n(&item, "until").is_some_and(|until| until > now_ms());
        Ok((unused && valid).then(|| get_s(&item, "member_id").and_then(|m| m.parse().ok())).flatten())
    }

    #[instrument(skip_all)]
    async fn take_signin_link(&self, hash: &TokenHash) -> Result<Option<MemberId>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(link_key(hash)))
            .update_expression("SET used = :true")
            .condition_expression("attribute_exists(pk) AND used = :false AND #until > :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now_ms()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                Ok(out.attributes.as_ref().and_then(|a| get_s(a, "member_id")).and_then(|m| m.parse().ok()))
            }
            Err(err) if err.as_service_error().is_some_and(is_condition_failure) => Ok(None),
            Err(err) => Err(unavailable("UpdateItem sign-in link")(err)),
        }
    }

    #[instrument(skip_all, fields(member = %session.member_id))]
    async fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        let mut item = session_key(hash);
        item.insert("member_id".into(), s(session.member_id.to_string()));
        item.insert("csrf".into(), s(session.csrf.clone()));
        item.insert("expires_at_ms".into(), n(session.expires_at_ms));
        item.insert("expires_at".into(), n(session.expires_at_ms / 1000 + 1));
        self.put(&self.tables.ledger, item, "PutItem session").await
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get(&self.tables.ledger, session_key(hash), "GetItem session").await? else {
            return Ok(None);
        };
        let session = Session {
            member_id: get_s(&item, "member_id")
                .and_then(|m| m.parse().ok())
                .ok_or(StoreError::Corrupt { what: "session", reason: "no member".into() })?,
            csrf: get_s(&item, "csrf").unwrap_or_default().to_owned(),
            expires_at_ms: get_n(&item, "expires_at_ms").unwrap_or(0),
        };
        Ok((session.expires_at_ms > now_ms() && !session.csrf.is_empty()).then_some(session))
    }

    async fn end_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(session_key(hash)))
            .send()
            .await
            .map_err(unavailable("DeleteItem session"))?;
        Ok(())
    }
}

/// One use of a rate limit: the window's counter, added to unless it reached the limit.
const LIMIT_UPDATE: &str = "ADD hits :one SET expires_at = :exp";
/// The same for a limit of one member's uses (its key ends with their id: `alert#<member>`),
/// which names them so their erasure finds it (`ByMember`).
const MEMBER_LIMIT_UPDATE: &str = "ADD hits :one SET expires_at = :exp, member_id = :member";
const LIMIT_CONDITION: &str = "attribute_not_exists(hits) OR hits < :limit";

/// The member whose uses a limit counts, when its key ends with a member id.
fn limit_member(key: &str) -> Option<MemberId> {
    key.rsplit_once('#').and_then(|(_, last)| last.parse().ok())
}

/// The key of the counter of `budget`'s current window, its update and the update's values.
fn limit_update(budget: &Budget) -> (Item, &'static str, Item) {
    let window_ms = budget.window.as_millis().max(1) as i64;
    let slot = now_ms() / window_ms;
    let mut values = HashMap::from([
        (":one".to_owned(), n(1)),
        (":limit".to_owned(), n(budget.limit)),
        (":exp".to_owned(), n((slot + 1) * window_ms / 1000 + 60)),
    ]);
    let update = match limit_member(&budget.key) {
        Some(member) => {
            values.insert(":member".to_owned(), s(member.to_string()));
            MEMBER_LIMIT_UPDATE
        }
        None => LIMIT_UPDATE,
    };
    (key(format!("LIMIT#{}#{slot}", budget.key), "LIMIT"), update, values)
}

/// One use of `budget` as a transaction action: its condition fails when the budget is spent.
pub(super) fn limit_action(table: &str, budget: &Budget) -> Result<TransactWriteItem, StoreError> {
    let (key, update, values) = limit_update(budget);
    update_action_if(table, key, update, Some(LIMIT_CONDITION), values)
}

/// The marker of what spent budgets once ([`Limits::spend_once`]), and whether it had room.
fn spent_key(once: &str) -> Item {
    key(format!("SPENT#{once}"), "SPENT")
}

impl DynamoStore {
    /// Writes the marker of `once` as refused, unless it exists; then the marker's answer.
    async fn spent_answer(&self, once: &str, granted: Option<bool>) -> Result<bool, StoreError> {
        if let Some(granted) = granted {
            let mut item = spent_key(once);
            item.insert("granted".into(), n(i64::from(granted)));
            item.insert("expires_at".into(), expires_at(INBOUND_RETENTION));
            let action = put_action(&self.tables.ledger, item, Some("attribute_not_exists(pk)"))?;
            if let Transaction::Committed = self.transact("TransactWriteItems spent", vec![action]).await? {
                return Ok(granted);
            }
        }
        let items = self.batch_get(&self.tables.ledger, vec![spent_key(once)]).await?;
        Ok(items.first().and_then(|item| get_n(item, "granted")).is_some_and(|granted| granted == 1))
    }
}

impl Limits for DynamoStore {
    /// One transaction: the marker `SPENT#<once>` (put if absent, granted) and one use of each
    /// budget's window counter (added if below its limit). If the marker was there, this is a
    /// retry: its answer stands. If a budget was spent, the marker is written refused (unless a
    /// concurrent retry wrote it first, whose answer then stands).
    #[instrument(skip_all, fields(budgets = budgets.len()))]
    async fn spend_once(&self, once: &str, budgets: &[Budget]) -> Result<bool, StoreError> {
        let mut marker = spent_key(once);
        marker.insert("granted".into(), n(1));
        marker.insert("expires_at".into(), expires_at(INBOUND_RETENTION));
        let mut actions = vec![put_action(&self.tables.ledger, marker, Some("attribute_not_exists(pk)"))?];
        for budget in budgets {
            actions.push(limit_action(&self.tables.ledger, budget)?);
        }
        match self.transact("TransactWriteItems spend", actions).await? {
            Transaction::Committed => Ok(true),
            Transaction::ConditionFailed(failed) if failed.contains(&0) => {
                self.spent_answer(once, None).await
            }
            Transaction::ConditionFailed(_) => self.spent_answer(once, Some(false)).await,
        }
    }

    #[instrument(skip_all, fields(limit))]
    async fn within_limit(&self, key_name: &str, limit: u32, window: Duration) -> Result<bool, StoreError> {
        let (key, update, values) = limit_update(&Budget { key: key_name.to_owned(), limit, window });
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(LIMIT_CONDITION)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(is_condition_failure) => Ok(false),
            Err(err) => Err(unavailable("UpdateItem limit")(err)),
        }
    }
}
