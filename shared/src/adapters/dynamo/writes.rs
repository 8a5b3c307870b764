//! Writes that take more than one call: transactions (with the conditions that failed), batch
//! reads and writes (with what DynamoDB left unprocessed, retried), and consistent reads.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update, WriteRequest};

use super::DynamoStore;
use super::items::{Item, built, unavailable};
use crate::ports::StoreError;

/// TransactWriteItems takes at most 100 actions.
pub(super) const TRANSACTION_MAX: usize = 100;
/// BatchWriteItem takes at most 25 puts, BatchGetItem 100 keys.
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
const BATCH_ATTEMPTS: u32 = 8;

/// A put of `item` into `table` under `condition`, as a transaction action.
pub(super) fn put_action(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(built("TransactWriteItems"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The outcome of a transaction whose actions may fail their conditions.
pub(super) enum Transaction {
    Committed,
    /// The indexes of the actions whose condition failed.
    ConditionFailed(Vec<usize>),
}

/// Whether a conditional write's condition held: true when written, false when it failed its
/// condition (nothing written); any other failure is the store's.
pub(super) fn held<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &'static str,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err)
            if err.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(err) => Err(unavailable(operation)(err)),
    }
}

impl DynamoStore {
    pub(super) async fn transact(
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

    pub(super) async fn get(
        &self,
        table: &str,
        key: Item,
        operation: &'static str,
    ) -> Result<Option<Item>, StoreError> {
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

    /// Puts `item` if nothing is at its key yet: false when something was (a put of before).
    pub(super) async fn put_new(
        &self,
        table: &str,
        item: Item,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        held(result, operation)
    }

    /// Writes `item` whole, whatever was there.
    pub(super) async fn put(
        &self,
        table: &str,
        item: Item,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable(operation))?;
        Ok(())
    }

    /// Updates the item at `key` under `condition`: false when the condition failed (nothing
    /// written).
    pub(super) async fn update_if(
        &self,
        table: &str,
        key: Item,
        expression: &str,
        condition: &str,
        values: Item,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        held(result, operation)
    }

    /// Reads items by key, consistently, whatever their number.
    pub(super) async fn batch_get(&self, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
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
    pub(super) async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(built("BatchWriteItem"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(table, requests).await
    }

    /// Writes requests (puts or deletes) 25 at a time, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk.to_vec();
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

pub(super) fn update_action(
    table: &str,
    key: Item,
    expression: &str,
    values: Item,
) -> Result<TransactWriteItem, StoreError> {
    update_action_if(table, key, expression, Some("attribute_exists(pk)"), values)
}

/// An update of the item at `key` under `condition`, as a transaction action.
pub(super) fn update_action_if(
    table: &str,
    key: Item,
    expression: &str,
    condition: Option<&str>,
    values: Item,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(built("TransactWriteItems"))?;
    Ok(TransactWriteItem::builder().update(update).build())
}
