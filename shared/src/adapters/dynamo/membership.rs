//! Changing members, the index of towns, and join requests, in the members table.

use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, built, from_item, get_s, key, s, to_item, unavailable};
use super::keys::{community_pk, email_claim_pk, member_pk, phone_claim_pk};
use super::members::{Conflict, Guarded, claim_item, membership_item, profile_item};
use super::writes::{Transaction, put_action};
use crate::domain::{Community, CommunityId, Member, MemberId};
use crate::model::JoinRequest;
use crate::ports::{Membership, RegisterError, StoreError};

/// How a town is keyed: trimmed and lower-cased, so "Bellerive" and "bellerive " are one town.
pub(super) fn town_key(town: &str) -> String {
    town.trim().to_lowercase()
}

fn join_sk(id: MemberId) -> String {
    format!("JOIN#{id}")
}

/// A delete as a transaction action, under an optional condition on the member's own claim.
fn delete_action(table: &str, key: Item, owner: Option<MemberId>) -> Result<TransactWriteItem, StoreError> {
    let mut delete = Delete::builder().table_name(table).set_key(Some(key));
    if let Some(owner) = owner {
        delete = delete
            .condition_expression("member_id = :me")
            .expression_attribute_values(":me", s(owner.to_string()));
    }
    Ok(TransactWriteItem::builder().delete(delete.build().map_err(built("TransactWriteItems"))?).build())
}

impl DynamoStore {
    async fn query_all(
        &self,
        pk: String,
        sk_prefix: &str,
        operation: &'static str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.members)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(sk_prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable(operation))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

impl Membership for DynamoStore {
    #[instrument(skip_all, fields(member = %updated.id))]
    async fn update_member(&self, previous: &Member, updated: &Member) -> Result<(), RegisterError> {
        let table = &self.tables.members;
        let mut tx = Guarded::default();
        tx.push(put_action(table, profile_item(updated)?, Some("attribute_exists(pk)"))?, Conflict::Gone);
        for community in &updated.communities {
            tx.push(put_action(table, membership_item(updated, community)?, None)?, Conflict::Gone);
        }
        for community in previous.communities.iter().filter(|c| !updated.communities.contains(c)) {
            let membership = key(community_pk(community), format!("MEMBER#{}", previous.id));
            tx.push(delete_action(table, membership, None)?, Conflict::Gone);
        }
        // A new number or address is claimed, the old one released, in the same transaction.
        if previous.phone != updated.phone {
            if let Some(old) = &previous.phone {
                tx.push(
                    delete_action(table, key(phone_claim_pk(old), "CLAIM"), Some(previous.id))?,
                    Conflict::Gone,
                );
            }
            if let Some(new) = &updated.phone {
                let claim = claim_item(phone_claim_pk(new), updated.id);
                tx.push(put_action(table, claim, Some("attribute_not_exists(pk)"))?, Conflict::Phone);
            }
        }
        if previous.email != updated.email {
            if let Some(old) = &previous.email {
                tx.push(
                    delete_action(table, key(email_claim_pk(old), "CLAIM"), Some(previous.id))?,
                    Conflict::Gone,
                );
            }
            if let Some(new) = &updated.email {
                let claim = claim_item(email_claim_pk(new), updated.id);
                tx.push(put_action(table, claim, Some("attribute_not_exists(pk)"))?, Conflict::Email);
            }
        }
        self.commit_guarded("TransactWriteItems update member", tx).await
    }

    #[instrument(skip_all, fields(member = %member.id))]
    async fn remove_member(&self, member: &Member) -> Result<(), StoreError> {
        let table = &self.tables.members;
        let mut actions = vec![delete_action(table, key(member_pk(member.id), "PROFILE"), None)?];
        for community in &member.communities {
            actions.push(delete_action(
                table,
                key(community_pk(community), format!("MEMBER#{}", member.id)),
                None,
            )?);
        }
        // An invitation to a holder ([`Member::stands_for`]) claimed nothing.
        let claims = member.stands_for.is_none();
        if let Some(phone) = member.phone.as_ref().filter(|_| claims) {
            actions.push(delete_action(table, key(phone_claim_pk(phone), "CLAIM"), Some(member.id))?);
        }
        if let Some(email) = member.email.as_ref().filter(|_| claims) {
            actions.push(delete_action(table, key(email_claim_pk(email), "CLAIM"), Some(member.id))?);
        }
        match self.transact("TransactWriteItems remove member", actions).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "member", reason: "a claim belongs to someone else".into() })
            }
        }
    }

    #[instrument(skip_all, fields(community = %community.id))]
    async fn add_community(&self, community: &Community) -> Result<bool, StoreError> {
        match self.write_community(community, Some("attribute_not_exists(pk)")).await? {
            Transaction::Committed => Ok(true),
            Transaction::ConditionFailed(_) => Ok(false),
        }
    }

    async fn towns(&self) -> Result<Vec<String>, StoreError> {
        let items = self.query_all("TOWNS".into(), "TOWN#", "Query towns").await?;
        let mut towns: Vec<String> =
            items.iter().filter_map(|i| get_s(i, "town")).map(str::to_owned).collect();
        towns.sort_by_key(|t| t.to_lowercase());
        Ok(towns)
    }

    async fn communities_of_town(&self, town: &str) -> Result<Vec<Community>, StoreError> {
        let items = self.query_all(format!("TOWN#{}", town_key(town)), "COMMUNITY#", "Query town").await?;
        let mut communities = items
            .into_iter()
            .map(|i| from_item::<Community>("community", i))
            .collect::<Result<Vec<_>, _>>()?;
        communities.sort_by_key(|c| c.name.to_lowercase());
        Ok(communities)
    }

    #[instrument(skip_all, fields(community = %request.community_id))]
    async fn add_join_request(&self, request: &JoinRequest) -> Result<(), StoreError> {
        let mut item = to_item("join request", request)?;
        item.extend(key(community_pk(&request.community_id), join_sk(request.request_id)));
        item.insert("kind".into(), s("join_request"));
        self.put(&self.tables.members, item, "PutItem join request").await
    }

    async fn join_requests(&self, community: &CommunityId) -> Result<Vec<JoinRequest>, StoreError> {
        let items = self.query_all(community_pk(community), "JOIN#", "Query join requests").await?;
        items.into_iter().map(|i| from_item("join request", i)).collect()
    }

    #[instrument(skip(self), fields(community = %community))]
    async fn take_join_request(
        &self,
        community: &CommunityId,
        id: MemberId,
    ) -> Result<Option<JoinRequest>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.members)
            .set_key(Some(key(community_pk(community), join_sk(id))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable("DeleteItem join request"))?;
        out.attributes.filter(|a| a.contains_key("pk")).map(|a| from_item("join request", a)).transpose()
    }
}
