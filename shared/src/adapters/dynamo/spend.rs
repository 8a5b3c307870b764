//! The counters of SMS parts in the ledger table: one item per community and month
//! (`SMSSPEND#<community>` / `MONTH#2026-12`) and one per day for the service (`SMSSPEND` /
//! `DAY#2026-12-03`), added to in the transaction that records the alerts they pay for.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, get_n, get_s, key, n, now_ms, s, unavailable};
use super::writes::update_action_if;
use crate::domain::CommunityId;
use crate::model::{Charge, SpendKey};
use crate::ports::{SmsSpend, StoreError};

/// A month's counter is kept for the referent's page for about a year.
const MONTH_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// A day's counter only needs its day.
const DAY_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);

const MONTH_PREFIX: &str = "MONTH#";

fn spend_key(key_of: &SpendKey) -> (Item, Duration) {
    match key_of {
        SpendKey::Month { community, month } => {
            (key(format!("SMSSPEND#{community}"), format!("{MONTH_PREFIX}{month}")), MONTH_RETENTION)
        }
        SpendKey::Day(day) => (key("SMSSPEND".to_owned(), format!("DAY#{day}")), DAY_RETENTION),
    }
}

/// `charge` as a transaction action: its parts added, and with `up_to`, a condition that fails
/// when the counter would then hold more.
pub(super) fn charge_action(table: &str, charge: &Charge) -> Result<TransactWriteItem, StoreError> {
    let (item_key, retention) = spend_key(&charge.key);
    let mut values = HashMap::from([
        (":parts".to_owned(), n(charge.parts)),
        (":exp".to_owned(), n(now_ms() / 1000 + retention.as_secs() as i64)),
    ]);
    let condition = charge.up_to.map(|up_to| {
        // The planner never charges more than the limit; should it, nothing fits.
        values.insert(":room".to_owned(), n(i64::from(up_to) - i64::from(charge.parts)));
        values.insert(":zero".to_owned(), n(0));
        "(attribute_not_exists(parts) AND :room >= :zero) OR parts <= :room".to_owned()
    });
    let expression = "ADD parts :parts SET expires_at = :exp";
    update_action_if(table, item_key, expression, condition.as_deref(), values)
}

fn parts(item: &Item) -> u32 {
    get_n(item, "parts").map_or(0, |p| p.clamp(0, i64::from(u32::MAX)) as u32)
}

impl SmsSpend for DynamoStore {
    #[instrument(skip_all, fields(keys = keys.len()))]
    async fn sms_spent(&self, keys: &[SpendKey]) -> Result<Vec<u32>, StoreError> {
        let item_keys: Vec<Item> = keys.iter().map(|k| spend_key(k).0).collect();
        let found = self.batch_get(&self.tables.ledger, item_keys.clone()).await?;
        let same = |item: &Item, wanted: &Item| {
            get_s(item, "pk") == get_s(wanted, "pk") && get_s(item, "sk") == get_s(wanted, "sk")
        };
        Ok(item_keys.iter().map(|wanted| found.iter().find(|i| same(i, wanted)).map_or(0, parts)).collect())
    }

    #[instrument(skip(self), fields(community = %community))]
    async fn community_months(
        &self,
        community: &CommunityId,
        months: i32,
    ) -> Result<Vec<(String, u32)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .key_condition_expression("pk = :pk AND begins_with(sk, :month)")
            .expression_attribute_values(":pk", s(format!("SMSSPEND#{community}")))
            .expression_attribute_values(":month", s(MONTH_PREFIX))
            .scan_index_forward(false)
            .limit(months.max(1))
            .send()
            .await
            .map_err(unavailable("Query sms months"))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let month = get_s(item, "sk")?.strip_prefix(MONTH_PREFIX)?;
                Some((month.to_owned(), parts(item)))
            })
            .collect())
    }
}
