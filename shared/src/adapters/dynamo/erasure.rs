//! What the tables keep about one member beyond their profile ([`MemberRecords`]): the ledger's
//! records that name them, found by the index `ByMember` (every ledger item about a member
//! carries `member_id`), the alerts they raised, closed or withdrew, and the code that confirms
//! their erasure (`ERASE#<member>`, with TTL).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, built, expires_at, from_item, get_n, get_s, key, n, now_ms, s, unavailable};
use super::keys::alert_pk;
use crate::domain::{AlertId, FirstName, MemberId, PhoneNumber};
use crate::model::{Alert, Record, RecordKind, TokenHash};
use crate::ports::{MemberRecords, StoreError};

/// The ledger's index of the records that name a member (keys only).
const BY_MEMBER: &str = "ByMember";
/// Passes over `ByMember` an erasure makes: the index is eventually consistent, so a record
/// written a moment before may show on the second.
const FORGET_PASSES: usize = 3;
/// An erasure code stays a day past its time, then DynamoDB's TTL sweeps it (it goes with the
/// rest when it is used).
const CODE_KEPT_AFTER: Duration = Duration::from_secs(24 * 3600);

fn erasure_code_key(member: MemberId) -> Item {
    key(format!("ERASE#{member}"), "CODE")
}

/// What a ledger item is, from its keys.
fn kind_of(pk: &str, sk: &str) -> RecordKind {
    let head = pk.split('#').next().unwrap_or_default();
    match head {
        "ALERT" => match sk.split('#').next().unwrap_or_default() {
            "D" => RecordKind::AlertDelivery,
            "F" => RecordKind::AllClearDelivery,
            "R" => RecordKind::Receipt,
            "SENDER" => RecordKind::SenderConfirmation,
            "ACK" => RecordKind::Acknowledgement,
            "FLAG" => RecordKind::Flag,
            _ => RecordKind::Other,
        },
        "SESSION" => RecordKind::Session,
        "SIGNIN" => RecordKind::SigninLink,
        "PENDINGPHONE" => RecordKind::PendingPhone,
        "OFFER" => RecordKind::Invitation,
        "LIMIT" => RecordKind::RateLimit,
        "ERASE" => RecordKind::ErasureCode,
        _ => RecordKind::Other,
    }
}

/// A ledger item as "Mes données" shows it: never its secrets (the keys of sessions and links
/// are hashes of tokens, `csrf`, `code`), never a lease holder.
fn record_of(item: &Item) -> Record {
    let pk = get_s(item, "pk").unwrap_or_default();
    let sk = get_s(item, "sk").unwrap_or_default();
    let kind = kind_of(pk, sk);
    let alert_id = pk.strip_prefix("ALERT#").and_then(|id| id.parse().ok());
    let channel = get_s(item, "channel").map(str::to_owned).or_else(|| {
        (kind == RecordKind::Receipt).then(|| sk.rsplit('#').next().unwrap_or_default().to_owned())
    });
    let state = ["state", "receipt"].iter().find_map(|name| get_s(item, name)).map(str::to_owned);
    let at = ["sent_at", "receipt_at", "at", "until", "until_ms", "expires_at_ms"]
        .iter()
        .find_map(|name| get_n(item, name));
    let detail = match kind {
        RecordKind::Flag => get_s(item, "reason"),
        RecordKind::Receipt => get_s(item, "receipt_reason"),
        RecordKind::PendingPhone => get_s(item, "phone"),
        RecordKind::Invitation => get_s(item, "community_name"),
        RecordKind::RateLimit => pk.strip_prefix("LIMIT#").and_then(|k| k.split('#').next()),
        _ => None,
    }
    .map(str::to_owned);
    Record { kind, alert_id, channel, state, at, detail, expires_at: get_n(item, "expires_at") }
}

impl DynamoStore {
    /// The keys of the ledger items that name `member` (`ByMember`, every page).
    async fn keys_of(&self, member: MemberId) -> Result<Vec<Item>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .index_name(BY_MEMBER)
            .key_condition_expression("member_id = :m")
            .expression_attribute_values(":m", s(member.to_string()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable("Query ledger by member"))?;
        Ok(items
            .into_iter()
            .filter_map(|item| Some(key(get_s(&item, "pk")?.to_owned(), get_s(&item, "sk")?)))
            .collect())
    }
}

impl MemberRecords for DynamoStore {
    #[instrument(skip_all, fields(member = %member))]
    async fn records_of(&self, member: MemberId) -> Result<Vec<Record>, StoreError> {
        let keys = self.keys_of(member).await?;
        let items = self.batch_get(&self.tables.ledger, keys).await?;
        let mut records: Vec<Record> = items.iter().map(record_of).collect();
        records.sort_by_key(|r| (r.at.unwrap_or(0), r.alert_id));
        Ok(records)
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn alerts_touching(&self, member: MemberId) -> Result<Vec<Alert>, StoreError> {
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.tables.alerts)
            .filter_expression("kind = :alert AND (sender_id = :m OR closed.#by = :m OR withdrawn.#by = :m)")
            .expression_attribute_names("#by", "by")
            .expression_attribute_values(":alert", s("alert"))
            .expression_attribute_values(":m", s(member.to_string()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable("Scan alerts of a member"))?;
        let mut alerts =
            items.into_iter().map(|item| from_item::<Alert>("alert", item)).collect::<Result<Vec<_>, _>>()?;
        alerts.sort_by_key(|a| a.alert_id);
        Ok(alerts)
    }

    /// One `UpdateItem` per role the member had on the alert, each under the condition that it
    /// is still theirs: a retry, or a second erasure, changes nothing.
    #[instrument(skip_all, fields(alert = %alert, member = %member))]
    async fn anonymise(&self, alert: AlertId, member: MemberId) -> Result<(), StoreError> {
        let roles = [
            ("SET sender_id = :erased, sender_first_name = :name", "sender_id = :m"),
            ("SET closed.#by = :erased, closed.by_first_name = :name", "closed.#by = :m"),
            ("SET withdrawn.#by = :erased, withdrawn.by_first_name = :name", "withdrawn.#by = :m"),
        ];
        for (update, condition) in roles {
            let values = HashMap::from([
                (":erased".to_owned(), s(MemberId::ERASED.to_string())),
                (":name".to_owned(), s(FirstName::erased().as_str())),
                (":m".to_owned(), s(member.to_string())),
            ]);
            let names = update.contains("#by").then(|| HashMap::from([("#by".to_owned(), "by".to_owned())]));
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.alerts)
                .set_key(Some(key(alert_pk(alert), "ALERT")))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            super::writes::held(result, "UpdateItem anonymise alert")?;
        }
        Ok(())
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn forget_records(
        &self,
        member: MemberId,
        phone: Option<&PhoneNumber>,
    ) -> Result<usize, StoreError> {
        let mut gone = 0;
        if let Some(phone) = phone {
            self.batch_delete(&self.tables.ledger, vec![key(format!("UNKNOWN#{phone}"), "THROTTLE")]).await?;
        }
        for _ in 0..FORGET_PASSES {
            let keys = self.keys_of(member).await?;
            if keys.is_empty() {
                break;
            }
            gone += keys.len();
            self.batch_delete(&self.tables.ledger, keys).await?;
        }
        Ok(gone)
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn put_erasure_code(
        &self,
        member: MemberId,
        code: &TokenHash,
        until_ms: i64,
    ) -> Result<(), StoreError> {
        let mut item = erasure_code_key(member);
        item.insert("member_id".into(), s(member.to_string()));
        item.insert("code".into(), s(code.as_str()));
        item.insert("tries".into(), n(0));
        item.insert("until".into(), n(until_ms));
        let left = Duration::from_millis(u64::try_from(until_ms - now_ms()).unwrap_or(0));
        item.insert("expires_at".into(), expires_at(left + CODE_KEPT_AFTER));
        self.put(&self.tables.ledger, item, "PutItem erasure code").await
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn accept_erasure_code(
        &self,
        member: MemberId,
        code: &TokenHash,
        max_tries: u32,
    ) -> Result<bool, StoreError> {
        self.accept_code_at(erasure_code_key(member), code, max_tries, "UpdateItem erasure code accept").await
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn count_wrong_erasure_code(
        &self,
        member: MemberId,
        max_tries: u32,
    ) -> Result<Option<u32>, StoreError> {
        let after =
            self.count_wrong_at(erasure_code_key(member), max_tries, "UpdateItem erasure code try").await?;
        Ok(after.and_then(|item| get_n(&item, "tries")).and_then(|t| u32::try_from(t).ok()))
    }
}

impl DynamoStore {
    /// Deletes items by key, 25 at a time, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn batch_delete(&self, table: &str, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|k| {
                DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(built("BatchWriteItem"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(table, requests).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    #[test]
    fn every_record_is_named_by_its_keys() {
        let alert = AlertId::new();
        let member = MemberId::new();
        let cases = [
            (format!("ALERT#{alert}"), format!("D#{member}#sms"), RecordKind::AlertDelivery),
            (format!("ALERT#{alert}"), format!("F#{member}#email"), RecordKind::AllClearDelivery),
            (format!("ALERT#{alert}"), format!("R#{member}#sms"), RecordKind::Receipt),
            (format!("ALERT#{alert}"), "SENDER#sms".to_owned(), RecordKind::SenderConfirmation),
            (format!("ALERT#{alert}"), format!("ACK#{member}"), RecordKind::Acknowledgement),
            (format!("ALERT#{alert}"), format!("FLAG#{member}"), RecordKind::Flag),
            ("SESSION#abc".to_owned(), "SESSION".to_owned(), RecordKind::Session),
            ("SIGNIN#abc".to_owned(), "SIGNIN".to_owned(), RecordKind::SigninLink),
            (format!("PENDINGPHONE#{member}"), "PENDING".to_owned(), RecordKind::PendingPhone),
            (format!("OFFER#{member}"), "COMMUNITY#x".to_owned(), RecordKind::Invitation),
            (format!("LIMIT#alert#{member}#12"), "LIMIT".to_owned(), RecordKind::RateLimit),
            (format!("ERASE#{member}"), "CODE".to_owned(), RecordKind::ErasureCode),
        ];
        for (pk, sk, kind) in cases {
            assert_eq!(kind_of(&pk, &sk), kind, "{pk} {sk}");
        }
    }

    #[test]
    fn a_record_never_shows_a_secret() {
        let mut item = key("SESSION#0123abcd".to_owned(), "SESSION");
        item.insert("csrf".into(), s("secret-csrf"));
        item.insert("member_id".into(), s(MemberId::new().to_string()));
        item.insert("expires_at_ms".into(), n(5));
        let mut code = erasure_code_key(MemberId::new());
        code.insert("code".into(), s("hash-of-code"));
        for item in [item, code] {
            let json = serde_json::to_string(&record_of(&item)).unwrap();
            for secret in ["secret-csrf", "0123abcd", "hash-of-code"] {
                assert!(!json.contains(secret), "{json}");
            }
        }
        let mut receipt = key(format!("ALERT#{}", AlertId::new()), format!("R#{}#email", MemberId::new()));
        receipt.insert("receipt".into(), AttributeValue::S("failed".into()));
        receipt.insert("receipt_reason".into(), s("mailbox full"));
        let record = record_of(&receipt);
        assert_eq!(
            (record.channel.as_deref(), record.state.as_deref(), record.detail.as_deref()),
            (Some("email"), Some("failed"), Some("mailbox full"))
        );
    }
}
