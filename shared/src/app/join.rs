//! Asking to join a community: a visitor chooses the town, then one of its communities, and
//! says who they are; the request waits for the community's referent ([`super::members`]
//! approves or refuses it). Nothing here tells whether an address or a number is already a
//! member's: a request is stored the same either way, and taken numbers are found only when
//! the referent approves.

use std::time::Duration;

use tracing::{info, instrument, warn};

use crate::adapters::now_ms;
use crate::app::members::{Invalid, NewMember, check_new_member};
use crate::domain::{AllowedCountries, MemberId, SourceIp};
use crate::model::{JoinRequest, TokenHash};
use crate::ports::{Limits, Membership, StoreError};

/// Requests one address or number may send a day.
pub const REQUESTS_PER_CONTACT: u32 = 3;
/// Requests one community may receive a day.
pub const REQUESTS_PER_COMMUNITY: u32 = 50;
const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

/// A request to join, as the visitor filled it in.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    /// The town chosen, as [`town`] found it in the list.
    pub town: Option<&'a str>,
    /// The id of the community chosen.
    pub community: Option<&'a str>,
    pub member: &'a NewMember,
    /// Where the request came from (the connection's address), when known.
    pub from: Option<&'a SourceIp>,
    /// Requests one network may send an hour (`JOIN_REQUESTS_PER_IP_PER_HOUR`).
    pub per_ip_per_hour: u32,
    /// The countries whose numbers vigie texts (`SMS_COUNTRIES`).
    pub countries: &'a AllowedCountries,
}

/// Why a request was not stored.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// What is wrong with the visitor's details, and whether no community of the town was
    /// chosen: all told at once.
    #[error("invalid request: {member:?}, no community: {no_community}")]
    Invalid { member: Vec<Invalid>, no_community: bool },
    /// Too many requests from this network this hour.
    #[error("too many requests from this address")]
    FromAddressLimited,
    /// Too many requests for this address or number, or for this community, today.
    #[error("too many requests")]
    Limited,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The town of the list that `raw` names (ignoring case and surrounding spaces).
pub async fn town<S: Membership + Sync>(store: &S, raw: &str) -> Result<Option<String>, StoreError> {
    let wanted = raw.trim().to_lowercase();
    if wanted.is_empty() {
        return Ok(None);
    }
    Ok(store.towns().await?.into_iter().find(|t| t.trim().to_lowercase() == wanted))
}

/// Stores a request to join for the community's referent.
///
/// Limited per source network first, so that one network cannot spend the budgets of others;
/// then per contact and per community. The limits are keyed by hashes: they never hold an
/// address or a number.
#[instrument(skip_all)]
pub async fn ask<S: Membership + Limits + Sync>(store: &S, ask: Ask<'_>) -> Result<JoinRequest, Problem> {
    let community = match (ask.town, ask.community) {
        (Some(town), Some(id)) => {
            store.communities_of_town(town).await?.into_iter().find(|c| c.id.as_str() == id)
        }
        _ => None,
    };
    let ids = community.iter().map(|c| c.id.clone()).collect();
    let (member, community) = match (check_new_member(ask.member, ids, ask.countries), community) {
        (Ok(member), Some(community)) => (member, community),
        (result, community) => {
            let member = result.err().unwrap_or_default();
            return Err(Problem::Invalid { member, no_community: community.is_none() });
        }
    };
    if !store.within_limit(&super::network_limit_key("join", ask.from), ask.per_ip_per_hour, HOUR).await? {
        let from = ask.from.map_or_else(|| "unknown".to_owned(), SourceIp::masked);
        warn!(community = %community.id, %from, per_hour = ask.per_ip_per_hour, "join request refused: too many from this address");
        return Err(Problem::FromAddressLimited);
    }
    let contact =
        member.email.as_ref().map(ToString::to_string).or(member.phone.as_ref().map(ToString::to_string));
    let contact_key = format!("join#{}", TokenHash::of(&contact.unwrap_or_default()).as_str());
    let community_key = format!("join-community#{}", community.id);
    if !store.within_limit(&contact_key, REQUESTS_PER_CONTACT, DAY).await?
        || !store.within_limit(&community_key, REQUESTS_PER_COMMUNITY, DAY).await?
    {
        warn!(community = %community.id, "join request refused: rate limit");
        return Err(Problem::Limited);
    }
    let request = JoinRequest {
        request_id: MemberId::new(),
        community_id: community.id.clone(),
        first_name: member.first_name,
        last_name: member.last_name,
        email: member.email,
        phone: member.phone,
        created_at: now_ms(),
    };
    store.add_join_request(&request).await?;
    info!(community = %community.id, request = %request.request_id, "join request received");
    Ok(request)
}
