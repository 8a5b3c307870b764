//! The alerts feed and delivery reports, from the alerts table.

use serde::Deserialize;
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, from_item, get_s, key, s, unavailable};
use super::keys::alert_pk;
use crate::domain::{AlertId, CommunityId};
use crate::model::{Alert, AlertReport, Cursor, DeliveryCounts, FollowUpReport, Page};
use crate::ports::{Feed, StoreError};

/// The attributes the fan-out and acknowledgements add to an alert item.
#[derive(Deserialize)]
struct Report {
    sms_sent: Option<u32>,
    #[serde(default)]
    sms_failed: u32,
    #[serde(default)]
    email_sent: u32,
    #[serde(default)]
    email_failed: u32,
    #[serde(default)]
    recipients: u32,
    #[serde(default)]
    pending: u32,
    #[serde(default)]
    sms_unsettled: u32,
    #[serde(default)]
    email_unsettled: u32,
    #[serde(default)]
    sms_delivered: u32,
    #[serde(default)]
    email_delivered: u32,
    #[serde(default)]
    sms_undelivered: u32,
    #[serde(default)]
    email_undelivered: u32,
    #[serde(default)]
    sms_held: u32,
    #[serde(default)]
    acks: u32,
    #[serde(default)]
    flags_unfounded: u32,
    #[serde(default)]
    flags_offensive: u32,
    #[serde(default)]
    flags_personal_data: u32,
    fanout_done_at: Option<i64>,
    #[serde(default)]
    follow_up: Option<FollowUpReport>,
}

fn report(item: Item) -> Result<AlertReport, StoreError> {
    let extra: Report = from_item("alert report", item.clone())?;
    let alert: Alert = from_item("alert", item)?;
    let counts = extra.sms_sent.map(|sms_sent| DeliveryCounts {
        sms_sent,
        sms_failed: extra.sms_failed,
        email_sent: extra.email_sent,
        email_failed: extra.email_failed,
        recipients: extra.recipients,
        pending: extra.pending,
        sms_unsettled: extra.sms_unsettled,
        email_unsettled: extra.email_unsettled,
        sms_delivered: extra.sms_delivered,
        email_delivered: extra.email_delivered,
        sms_undelivered: extra.sms_undelivered,
        email_undelivered: extra.email_undelivered,
        sms_held: extra.sms_held,
    });
    Ok(AlertReport {
        alert,
        counts,
        acks: extra.acks,
        fanout_done_at: extra.fanout_done_at,
        follow_up: extra.follow_up,
        flags: [extra.flags_unfounded, extra.flags_offensive, extra.flags_personal_data],
    })
}

impl Feed for DynamoStore {
    #[instrument(skip(self, after), fields(community = %community))]
    async fn community_alerts(
        &self,
        community: &CommunityId,
        after: Option<Cursor>,
        limit: i32,
    ) -> Result<Page<AlertReport>, StoreError> {
        // The cursor is the last alert id shown; the index's start key needs the table key too.
        let start = after.and_then(|c| c.0.parse::<AlertId>().ok()).map(|id| {
            let mut k = key(alert_pk(id), "ALERT");
            k.insert("feed_pk".into(), s(community.as_str()));
            k.insert("feed_sk".into(), s(id.to_string()));
            k
        });
        let out = self
            .client
            .query()
            .table_name(&self.tables.alerts)
            .index_name("ByCommunity")
            .key_condition_expression("feed_pk = :c")
            .expression_attribute_values(":c", s(community.as_str()))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(limit.max(1))
            .send()
            .await
            .map_err(unavailable("Query feed"))?;
        let next =
            out.last_evaluated_key.as_ref().and_then(|k| get_s(k, "feed_sk")).map(|id| Cursor(id.to_owned()));
        let items = out.items.unwrap_or_default().into_iter().map(report).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn alert_report(&self, id: AlertId) -> Result<Option<AlertReport>, StoreError> {
        let item = self.get(&self.tables.alerts, key(alert_pk(id), "ALERT"), "GetItem alert").await?;
        item.map(report).transpose()
    }
}
