//! Numbers waiting for their confirmation code, in the ledger table (`PENDINGPHONE#<member>`,
//! with TTL): one item per member, replaced by each new code.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, expires_at, get_n, get_s, key, n, now_ms, s, unavailable};
use super::writes::held;
use crate::domain::{MemberId, PhoneNumber};
use crate::model::{PendingPhone, TokenHash};
use crate::ports::{PhoneCodes, StoreError};

/// A pending number stays in the table a day past its code's time, for the logs of a support
/// request, then DynamoDB's TTL sweeps it.
const KEPT_AFTER: Duration = Duration::from_secs(24 * 3600);

fn pending_key(member: MemberId) -> Item {
    key(format!("PENDINGPHONE#{member}"), "PENDING")
}

fn pending_of(item: &Item) -> Result<PendingPhone, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt { what: "pending phone", reason: reason.to_owned() };
    let phone = get_s(item, "phone")
        .and_then(|raw| PhoneNumber::parse(raw).ok())
        .ok_or_else(|| corrupt("no valid phone"))?;
    let code = get_s(item, "code").map(|hash| TokenHash::stored(hash.to_owned()));
    let tries =
        get_n(item, "tries").and_then(|t| u32::try_from(t).ok()).ok_or_else(|| corrupt("no tries"))?;
    let until_ms = get_n(item, "until").ok_or_else(|| corrupt("no until"))?;
    Ok(PendingPhone { phone, code, tries, until_ms })
}

impl DynamoStore {
    /// One `UpdateItem` that adds a wrong try to the code kept at `key` only while there is
    /// time and tries are left, so wrong codes typed at once never get more than their tries
    /// between them: the item as it is after, `None` when no try was left.
    pub(super) async fn count_wrong_at(
        &self,
        key: Item,
        max_tries: u32,
        operation: &'static str,
    ) -> Result<Option<Item>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(key))
            .update_expression("ADD tries :one")
            .condition_expression("attribute_exists(pk) AND tries < :max AND #until > :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max_tries))
            .expression_attribute_values(":now", n(now_ms()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let mut after = None;
        let result = result.map(|out| after = out.attributes);
        Ok(held(result, operation)?.then(|| after.unwrap_or_default()))
    }

    /// One conditional `UpdateItem`: the right code kept at `key` is taken only while the wrong
    /// ones counted are fewer than `max_tries`, so many guesses sent at once have no better
    /// chance than guesses one by one. Marked, it stays taken for a retry of the same request.
    pub(super) async fn accept_code_at(
        &self,
        key: Item,
        code: &TokenHash,
        max_tries: u32,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(key))
            .update_expression("SET accepted = :true")
            .condition_expression(
                "attribute_exists(pk) AND code = :code AND (accepted = :true OR (tries < :max AND #until > :now))",
            )
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":code", s(code.as_str()))
            .expression_attribute_values(":max", n(max_tries))
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        held(result, operation)
    }
}

impl PhoneCodes for DynamoStore {
    #[instrument(skip_all, fields(member = %member))]
    async fn put_pending_phone(&self, member: MemberId, pending: &PendingPhone) -> Result<(), StoreError> {
        let mut item = pending_key(member);
        item.insert("phone".into(), s(pending.phone.as_str()));
        // Found by `ByMember` when the member erases their account.
        item.insert("member_id".into(), s(member.to_string()));
        if let Some(code) = &pending.code {
            item.insert("code".into(), s(code.as_str()));
        }
        item.insert("tries".into(), n(pending.tries));
        item.insert("until".into(), n(pending.until_ms));
        let left = Duration::from_millis(u64::try_from(pending.until_ms - now_ms()).unwrap_or(0));
        item.insert("expires_at".into(), expires_at(left + KEPT_AFTER));
        self.put(&self.tables.ledger, item, "PutItem pending phone").await
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn pending_phone(&self, member: MemberId) -> Result<Option<PendingPhone>, StoreError> {
        let Some(item) = self.get(&self.tables.ledger, pending_key(member), "GetItem pending phone").await?
        else {
            return Ok(None);
        };
        let pending = pending_of(&item)?;
        Ok((pending.until_ms > now_ms()).then_some(pending))
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn count_wrong_code(
        &self,
        member: MemberId,
        max_tries: u32,
    ) -> Result<Option<PendingPhone>, StoreError> {
        let after =
            self.count_wrong_at(pending_key(member), max_tries, "UpdateItem pending phone try").await?;
        after.as_ref().map(pending_of).transpose()
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn accept_pending_phone(
        &self,
        member: MemberId,
        code: &TokenHash,
        max_tries: u32,
    ) -> Result<bool, StoreError> {
        self.accept_code_at(pending_key(member), code, max_tries, "UpdateItem pending phone accept").await
    }

    #[instrument(skip_all, fields(member = %member))]
    async fn drop_pending_phone(&self, member: MemberId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(pending_key(member)))
            .send()
            .await
            .map_err(unavailable("DeleteItem pending phone"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_item_reads_back() {
        let mut item = pending_key(MemberId::new());
        item.insert("phone".into(), s("+33639980001"));
        item.insert("tries".into(), n(2));
        item.insert("until".into(), n(1_000));
        let pending = pending_of(&item).unwrap();
        assert_eq!((pending.phone.as_str(), pending.code, pending.tries), ("+33639980001", None, 2));
        item.insert("code".into(), s("ab"));
        assert_eq!(pending_of(&item).unwrap().code.unwrap().as_str(), "ab");
        item.insert("phone".into(), AttributeValue::S("12".into()));
        assert!(pending_of(&item).is_err(), "a number that is not one is corrupt, not read");
    }
}
