//! Members in the members table: looking them up (by id, phone, email), the roster of a
//! community, registering them with their claims on a number and an address, their SMS setting.
//! Changing and removing them is in `membership`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use tracing::instrument;

use super::DynamoStore;
use super::items::{Item, built, from_item, get_s, key, s, to_item, unavailable};
use super::keys::{community_pk, email_claim_pk, is_roster_cursor, member_pk, phone_claim_pk};
use super::ledger::inbound_marker;
use super::membership;
use super::writes::{Transaction, put_action, update_action};
use crate::domain::{Community, CommunityId, Email, Member, MemberId, PhoneNumber, redact};
use crate::model::{Applied, Cursor, InboundMessageId, Page, Recipient};
use crate::ports::{MemberLookup, RegisterError, Registry, Roster, Settings, StoreError};

impl DynamoStore {
    async fn query_one(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> Result<Option<Member>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.members)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", s(value))
            .limit(1)
            .send()
            .await
            .map_err(unavailable("Query"))?;
        out.items.unwrap_or_default().into_iter().next().map(|i| from_item("member", i)).transpose()
    }
}

impl MemberLookup for DynamoStore {
    #[instrument(skip_all, fields(phone = %phone.masked()))]
    async fn member_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Member>, StoreError> {
        self.query_one("ByPhone", "phone_key", phone.as_str()).await
    }

    #[instrument(skip_all, fields(email = %email.masked()))]
    async fn member_by_email(&self, email: &Email) -> Result<Option<Member>, StoreError> {
        self.query_one("ByEmail", "email_key", email.as_str()).await
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let item = self.get(&self.tables.members, key(member_pk(id), "PROFILE"), "GetItem member").await?;
        item.map(|i| from_item("member", i)).transpose()
    }

    #[instrument(skip_all, fields(members = ids.len()))]
    async fn members(&self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        // A batch may not ask for the same key twice.
        let ids: std::collections::BTreeSet<_> = ids.iter().collect();
        let keys = ids.into_iter().map(|id| key(member_pk(*id), "PROFILE")).collect();
        let items = self.batch_get(&self.tables.members, keys).await?;
        items.into_iter().map(|i| from_item("member", i)).collect()
    }

    async fn community(&self, id: &CommunityId) -> Result<Option<Community>, StoreError> {
        let item =
            self.get(&self.tables.members, key(community_pk(id), "#META"), "GetItem community").await?;
        item.map(|i| from_item("community", i)).transpose()
    }
}

impl Roster for DynamoStore {
    #[instrument(skip(self, after), fields(community = %community))]
    async fn members_page(
        &self,
        community: &CommunityId,
        after: Option<Cursor>,
        limit: i32,
    ) -> Result<Page<Recipient>, StoreError> {
        let pk = community_pk(community);
        // Only the key of a member's row is a start key DynamoDB accepts for this query: any other
        // cursor (one forged in a page's link, say) starts from the first page rather than
        // failing the request.
        let after = after.filter(|c| {
            let valid = is_roster_cursor(&c.0);
            if !valid {
                tracing::warn!(%community, "not a roster cursor: first page instead");
            }
            valid
        });
        let out = self
            .client
            .query()
            .table_name(&self.tables.members)
            .key_condition_expression("pk = :pk AND begins_with(sk, :member)")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":member", s("MEMBER#"))
            .set_exclusive_start_key(after.map(|c| key(pk, c.0)))
            .limit(limit.max(1))
            .send()
            .await
            .map_err(unavailable("Query roster"))?;
        let next =
            out.last_evaluated_key.as_ref().and_then(|k| get_s(k, "sk")).map(|sk| Cursor(sk.to_owned()));
        // One unreadable row must not keep the alert from everyone else: it is logged and skipped.
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let sk = get_s(&item, "sk").unwrap_or_default().to_owned();
            match from_item::<Recipient>("membership", item) {
                Ok(recipient) => items.push(recipient),
                Err(err) => {
                    tracing::error!(%community, %sk, error = %redact(&err.to_string()), "unreadable membership skipped")
                }
            }
        }
        Ok(Page { items, next })
    }
}

/// The copy of a member kept under each of their communities.
pub(super) fn membership_item(member: &Member, community: &CommunityId) -> Result<Item, StoreError> {
    let mut item = to_item("membership", &Recipient::of(member))?;
    item.extend(key(community_pk(community), format!("MEMBER#{}", member.id)));
    item.insert("kind".into(), s("membership"));
    Ok(item)
}

impl Registry for DynamoStore {
    /// The community, and its entries in the index of towns, in one transaction.
    async fn put_community(&self, community: &Community) -> Result<(), StoreError> {
        match self.write_community(community, None).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(_) => Err(StoreError::Unavailable {
                operation: "TransactWriteItems community",
                message: "refused".into(),
            }),
        }
    }

    #[instrument(skip_all, fields(phones = phones.len(), emails = emails.len()))]
    async fn taken(
        &self,
        phones: &[&PhoneNumber],
        emails: &[&Email],
    ) -> Result<(Vec<PhoneNumber>, Vec<Email>), StoreError> {
        // BatchGetItem refuses a key twice: each claim once.
        let claims: std::collections::BTreeSet<String> = phones
            .iter()
            .map(|p| phone_claim_pk(p))
            .chain(emails.iter().map(|e| email_claim_pk(e)))
            .collect();
        let keys: Vec<Item> = claims.into_iter().map(|pk| key(pk, "CLAIM")).collect();
        let found: std::collections::HashSet<String> = self
            .batch_get(&self.tables.members, keys)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "pk"))
            .map(str::to_owned)
            .collect();
        Ok((
            phones.iter().filter(|p| found.contains(&phone_claim_pk(p))).map(|p| (*p).clone()).collect(),
            emails.iter().filter(|e| found.contains(&email_claim_pk(e))).map(|e| (*e).clone()).collect(),
        ))
    }

    #[instrument(skip_all, fields(member = %member.id))]
    async fn register(&self, member: &Member) -> Result<(), RegisterError> {
        let table = &self.tables.members;
        let new = Some("attribute_not_exists(pk)");
        let mut tx = Guarded::default();
        tx.push(put_action(table, profile_item(member)?, new)?, Conflict::Exists);
        for community in &member.communities {
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(community_pk(community), "#META")))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(built("TransactWriteItems"))?;
            tx.push(TransactWriteItem::builder().condition_check(check).build(), Conflict::Community);
            tx.push(put_action(table, membership_item(member, community)?, new)?, Conflict::Exists);
        }
        // An invitation to the holder of a number or address claims neither: they stay theirs.
        let claims = member.stands_for.is_none();
        if let Some(phone) = member.phone.as_ref().filter(|_| claims) {
            tx.push(put_action(table, claim_item(phone_claim_pk(phone), member.id), new)?, Conflict::Phone);
        }
        if let Some(email) = member.email.as_ref().filter(|_| claims) {
            tx.push(put_action(table, claim_item(email_claim_pk(email), member.id), new)?, Conflict::Email);
        }
        self.commit_guarded("TransactWriteItems register", tx).await
    }
}

pub(super) fn claim_item(pk: String, member: MemberId) -> Item {
    let mut item = key(pk, "CLAIM");
    item.insert("member_id".into(), s(member.to_string()));
    item
}

/// A member's profile item, with the keys of the phone and email indexes.
pub(super) fn profile_item(member: &Member) -> Result<Item, StoreError> {
    let mut profile = to_item("member", member)?;
    profile.extend(key(member_pk(member.id), "PROFILE"));
    profile.insert("kind".into(), s("member"));
    if let Some(phone) = &member.phone {
        profile.insert("phone_key".into(), s(phone.as_str()));
    }
    if let Some(email) = &member.email {
        profile.insert("email_key".into(), s(email.as_str()));
    }
    Ok(profile)
}

/// The actions of a transaction, each with what its condition guards.
#[derive(Default)]
pub(super) struct Guarded {
    actions: Vec<TransactWriteItem>,
    meaning: Vec<Conflict>,
}

impl Guarded {
    pub(super) fn push(&mut self, action: TransactWriteItem, guards: Conflict) {
        self.actions.push(action);
        self.meaning.push(guards);
    }
}

impl DynamoStore {
    /// Writes members in bulk (`BatchWriteItem`, no conditions): the same items as
    /// [`Registry::register`], for loading test and benchmark communities of thousands into the
    /// emulator, whose transactions copy the whole table for each of their items. Numbers and
    /// addresses are NOT checked for uniqueness: never use it on member data from outside.
    pub async fn bulk_register_unchecked(&self, members: &[Member]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(members.len() * 4);
        for member in members {
            items.push(profile_item(member)?);
            for community in &member.communities {
                items.push(membership_item(member, community)?);
            }
            if let Some(phone) = &member.phone {
                items.push(claim_item(phone_claim_pk(phone), member.id));
            }
            if let Some(email) = &member.email {
                items.push(claim_item(email_claim_pk(email), member.id));
            }
        }
        self.batch_put(&self.tables.members, items).await
    }

    /// Commits a member transaction, naming the most useful reason when a condition failed.
    pub(super) async fn commit_guarded(
        &self,
        operation: &'static str,
        tx: Guarded,
    ) -> Result<(), RegisterError> {
        match self.transact(operation, tx.actions).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(failed) => {
                let conflict = failed
                    .iter()
                    .filter_map(|i| tx.meaning.get(*i))
                    .min()
                    .copied()
                    .unwrap_or(Conflict::Exists);
                Err(match conflict {
                    Conflict::Phone => RegisterError::PhoneTaken,
                    Conflict::Email => RegisterError::EmailTaken,
                    Conflict::Community => RegisterError::UnknownCommunity,
                    Conflict::Exists => RegisterError::AlreadyExists,
                    Conflict::Gone => RegisterError::UnknownMember,
                })
            }
        }
    }
}

/// What a registration action guards, most useful to report first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Conflict {
    Phone,
    Email,
    Community,
    Exists,
    Gone,
}

impl Settings for DynamoStore {
    #[instrument(skip_all, fields(member = %member.id, on))]
    async fn set_sms_alerts(
        &self,
        member: &Member,
        on: bool,
        inbound: &InboundMessageId,
    ) -> Result<Applied, StoreError> {
        let outcome = if on { "sms_on" } else { "sms_off" };
        // START settles a delivery problem on the number: the member asks for texts again.
        let expression = if on { "SET sms_alerts = :on REMOVE sms_problem" } else { "SET sms_alerts = :on" };
        self.apply_to_member(member, inbound, outcome, expression, on).await
    }

    #[instrument(skip_all, fields(member = %member.id))]
    async fn set_quiet_hours(
        &self,
        member: &Member,
        on: bool,
        inbound: &InboundMessageId,
    ) -> Result<Applied, StoreError> {
        let outcome = if on { "quiet_on" } else { "quiet_off" };
        self.apply_to_member(member, inbound, outcome, "SET quiet_hours = :on", on).await
    }

    #[instrument(skip_all, fields(member = %member.id))]
    async fn accept_invitation(
        &self,
        member: &Member,
        inbound: &InboundMessageId,
    ) -> Result<Applied, StoreError> {
        let expression = "SET phone_confirmed = :on, sms_alerts = :on REMOVE sms_problem";
        self.apply_to_member(member, inbound, "invitation_accepted", expression, true).await
    }
}

impl DynamoStore {
    /// One update `expression` (of `:on`) of the profile and every membership, with the inbound
    /// marker that makes it once per message.
    async fn apply_to_member(
        &self,
        member: &Member,
        inbound: &InboundMessageId,
        outcome: &str,
        expression: &str,
        on: bool,
    ) -> Result<Applied, StoreError> {
        let table = &self.tables.members;
        let values = HashMap::from([(":on".to_owned(), AttributeValue::Bool(on))]);
        let mut actions = vec![inbound_marker(&self.tables.ledger, inbound, outcome)?];
        actions.push(update_action(table, key(member_pk(member.id), "PROFILE"), expression, values.clone())?);
        for community in &member.communities {
            let membership = key(community_pk(community), format!("MEMBER#{}", member.id));
            actions.push(update_action(table, membership, expression, values.clone())?);
        }
        match self.transact("TransactWriteItems settings", actions).await? {
            Transaction::Committed => Ok(Applied::Now),
            Transaction::ConditionFailed(failed) if failed == [0] => Ok(Applied::AlreadyBefore),
            Transaction::ConditionFailed(_) => {
                Err(StoreError::Corrupt { what: "member", reason: "profile or membership missing".into() })
            }
        }
    }
}

impl DynamoStore {
    /// Writes a community: its item, its line in its town's list and the town's in the list of
    /// towns, in one transaction; `condition` guards the community's item.
    pub(super) async fn write_community(
        &self,
        community: &Community,
        condition: Option<&str>,
    ) -> Result<Transaction, StoreError> {
        let table = &self.tables.members;
        let town = membership::town_key(&community.town);
        let mut meta = to_item("community", community)?;
        meta.extend(key(community_pk(&community.id), "#META"));
        meta.insert("kind".into(), s("community"));
        let mut listed = to_item("community", community)?;
        listed.extend(key(format!("TOWN#{town}"), format!("COMMUNITY#{}", community.id)));
        listed.insert("kind".into(), s("town_community"));
        let mut towns = key("TOWNS".to_owned(), format!("TOWN#{town}"));
        towns.insert("town".into(), s(community.town.clone()));
        towns.insert("kind".into(), s("town"));
        let actions = vec![
            put_action(table, meta, condition)?,
            put_action(table, listed, None)?,
            put_action(table, towns, None)?,
        ];
        self.transact("TransactWriteItems community", actions).await
    }
}
