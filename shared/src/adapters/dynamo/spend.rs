//! The counters of SMS parts in the ledger table: one item per community and month
//! (`SMSSPEND#<community>` / `MONTH#2026-12`) and one per day for the service (`SMSSPEND` /
//! `DAY#2026-12-03`), added to in the transaction that records the alerts they pay for. The
//! month's item also counts the community's alerts (by source and category): what outlives the
//! retention purge of the alerts themselves ([`AlertStats`]).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, get_n, get_s, key, n, now_ms, s, unavailable};
use super::writes::update_action_if;
use crate::domain::{AlertSource, CommunityId};
use crate::model::{AlertTally, Charge, MonthCounts, SpendKey};
use crate::ports::{AlertStats, SmsSpend, StoreError};

/// A month's counter (SMS parts, alerts counted) is kept for the referent's page for about a
/// year: past the default retention (90 days) of the alerts it counts.
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
/// What a tally adds to its community's month: the alert, its source, its category
/// (`category_burglary`...: the category's name as stored on the alert).
fn tally_adds(tally: &AlertTally) -> String {
    let source = match tally.source {
        AlertSource::Sms => "source_sms",
        AlertSource::Web => "source_web",
        AlertSource::Police => "source_police",
    };
    let mut adds = format!("alerts :one, {source} :one");
    let category =
        tally.category.and_then(|c| serde_json::to_value(c).ok()).and_then(|v| v.as_str().map(str::to_owned));
    if let Some(category) = category {
        adds.push_str(&format!(", category_{category} :one"));
    }
    adds
}

/// The charge of `charge`'s parts as a transaction action, with the alert `tally` counts on the
/// same month of the same community (one item: a transaction may not touch it twice).
pub(super) fn charge_action(
    table: &str,
    charge: &Charge,
    tally: Option<&AlertTally>,
) -> Result<TransactWriteItem, StoreError> {
    let (item_key, retention) = spend_key(&charge.key);
    let mut values = HashMap::from([
        (":parts".to_owned(), n(charge.parts)),
        (":exp".to_owned(), n(now_ms() / 1000 + retention.as_secs() as i64)),
    ]);
    let condition = charge.up_to.map(|up_to| {
        values.insert(":room".to_owned(), n(i64::from(up_to) - i64::from(charge.parts)));
        values.insert(":zero".to_owned(), n(0));
        "(attribute_not_exists(parts) AND :room >= :zero) OR parts <= :room".to_owned()
    });
    let counted = tally.map(|tally| {
        values.insert(":one".to_owned(), n(1));
        format!(", {}", tally_adds(tally))
    });
    let expression = format!("ADD parts :parts{} SET expires_at = :exp", counted.unwrap_or_default());
    update_action_if(table, item_key, &expression, condition.as_deref(), values)
}

/// An alert counted in its community's month without a charge (no SMS), as a transaction
/// action: unconditional, it counts only with the alert it goes with.
pub(super) fn tally_action(table: &str, tally: &AlertTally) -> Result<TransactWriteItem, StoreError> {
    let month = SpendKey::Month { community: tally.community.clone(), month: tally.month.clone() };
    let (item_key, retention) = spend_key(&month);
    let values = HashMap::from([
        (":one".to_owned(), n(1)),
        (":exp".to_owned(), n(now_ms() / 1000 + retention.as_secs() as i64)),
    ]);
    let expression = format!("ADD {} SET expires_at = :exp", tally_adds(tally));
    update_action_if(table, item_key, &expression, None, values)
}

/// The tally among `tallies` that counts on the month `charge` charges, if any.
pub(super) fn tally_of<'a>(charge: &Charge, tallies: &'a [AlertTally]) -> Option<&'a AlertTally> {
    match &charge.key {
        SpendKey::Month { community, month } => {
            tallies.iter().find(|t| &t.community == community && &t.month == month)
        }
        SpendKey::Day(_) => None,
    }
}

fn parts(item: &Item) -> u32 {
    get_n(item, "parts").map_or(0, |p| p.clamp(0, i64::from(u32::MAX)) as u32)
}

impl DynamoStore {
    /// `community`'s last `months` month items (SMS parts and alerts counted), newest first.
    async fn month_items(&self, community: &CommunityId, months: i32) -> Result<Vec<Item>, StoreError> {
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
            .map_err(unavailable("Query community months"))?;
        Ok(out.items.unwrap_or_default())
    }
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
        let items = self.month_items(community, months).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let month = get_s(item, "sk")?.strip_prefix(MONTH_PREFIX)?;
                Some((month.to_owned(), parts(item)))
            })
            .collect())
    }
}

fn count(item: &Item, name: &str) -> u32 {
    get_n(item, name).map_or(0, |c| c.clamp(0, i64::from(u32::MAX)) as u32)
}

impl AlertStats for DynamoStore {
    #[instrument(skip(self), fields(community = %community))]
    async fn alert_months(
        &self,
        community: &CommunityId,
        months: i32,
    ) -> Result<Vec<MonthCounts>, StoreError> {
        let items = self.month_items(community, months).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(MonthCounts {
                    month: get_s(item, "sk")?.strip_prefix(MONTH_PREFIX)?.to_owned(),
                    alerts: count(item, "alerts"),
                    sms: count(item, "source_sms"),
                    web: count(item, "source_web"),
                    police: count(item, "source_police"),
                })
            })
            .collect())
    }
}
