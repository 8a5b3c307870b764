//! The referents' invitations to members who already hold a number or address
//! ([`crate::model::Offer`]), in the ledger table: `OFFER#<holder>` / `COMMUNITY#<community>`,
//! with TTL.

use std::time::Duration;

use tracing::instrument;

use super::DynamoStore;
use super::items::{expires_at, from_item, key, now_ms, s, to_item, unavailable};
use crate::domain::{CommunityId, MemberId};
use crate::model::Offer;
use crate::ports::{Offers, StoreError};

/// An offer stays a day past its time, then DynamoDB's TTL sweeps it.
const KEPT_AFTER: Duration = Duration::from_secs(24 * 3600);

fn offer_pk(holder: MemberId) -> String {
    format!("OFFER#{holder}")
}

fn offer_sk(community: &CommunityId) -> String {
    format!("COMMUNITY#{community}")
}

impl Offers for DynamoStore {
    #[instrument(skip_all, fields(holder = %offer.holder, community = %offer.community))]
    async fn put_offer(&self, offer: &Offer) -> Result<(), StoreError> {
        let mut item = to_item("offer", offer)?;
        item.extend(key(offer_pk(offer.holder), offer_sk(&offer.community)));
        // Found by `ByMember` when the holder erases their account.
        item.insert("member_id".into(), s(offer.holder.to_string()));
        let left = Duration::from_millis(u64::try_from(offer.until_ms - now_ms()).unwrap_or(0));
        item.insert("expires_at".into(), expires_at(left + KEPT_AFTER));
        self.put(&self.tables.ledger, item, "PutItem offer").await
    }

    #[instrument(skip_all, fields(holder = %holder))]
    async fn offers(&self, holder: MemberId) -> Result<Vec<Offer>, StoreError> {
        // A holder has one offer per community that invited them: one page is plenty.
        let out = self
            .client
            .query()
            .table_name(&self.tables.ledger)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(offer_pk(holder)))
            .send()
            .await
            .map_err(unavailable("Query offers"))?;
        let now = now_ms();
        let mut offers = Vec::new();
        for mut item in out.items.unwrap_or_default() {
            for attribute in ["pk", "sk", "expires_at", "member_id"] {
                item.remove(attribute);
            }
            let offer: Offer = from_item("offer", item)?;
            if offer.until_ms > now {
                offers.push(offer);
            }
        }
        offers.sort_by_key(|o| std::cmp::Reverse(o.until_ms));
        Ok(offers)
    }

    #[instrument(skip_all, fields(holder = %holder, community = %community))]
    async fn drop_offer(&self, holder: MemberId, community: &CommunityId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.ledger)
            .set_key(Some(key(offer_pk(holder), offer_sk(community))))
            .send()
            .await
            .map_err(unavailable("DeleteItem offer"))?;
        Ok(())
    }
}
