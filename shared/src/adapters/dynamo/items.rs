//! Item helpers: attribute values, the item <-> struct mapping (`serde_dynamo`), reading
//! attributes back, and the store's errors from the SDK's.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::redact;
use crate::ports::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(super) fn expires_at(after: Duration) -> AttributeValue {
    n((now_ms() / 1000) + after.as_secs() as i64)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(super) fn unavailable<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |err| StoreError::Unavailable { operation, message: redact(&DisplayErrorContext(&err).to_string()) }
}

pub(super) fn built<E: std::fmt::Display>(operation: &'static str) -> impl FnOnce(E) -> StoreError {
    move |err| StoreError::Unavailable { operation, message: format!("request not built: {err}") }
}

pub(super) fn to_item<T: Serialize>(what: &'static str, value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt { what, reason: e.to_string() })
}

pub(super) fn from_item<T: DeserializeOwned>(what: &'static str, item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt { what, reason: e.to_string() })
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
