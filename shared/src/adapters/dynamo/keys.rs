//! The key schema of `docs/data-model.md`: the partition keys of each kind of item, and the
//! retention of the items that expire.

use std::time::Duration;

use crate::domain::{AlertId, CommunityId, Email, MemberId, PhoneNumber};
use crate::model::InboundMessageId;

/// How long an alert and its delivery records are kept unless `RETENTION_DAYS` says otherwise
/// (the CNIL asks crime-prevention files for a set retention: the town sets it).
pub(super) const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// Inbound markers only need to outlive SNS and Lambda retries.
pub(super) const INBOUND_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) fn member_pk(id: MemberId) -> String {
    format!("MEMBER#{id}")
}

/// Whether `cursor` is the key of a member's row under a community (`MEMBER#<id>`), the only
/// start key DynamoDB accepts for a roster query (it refuses one outside the query, or over 1 kB).
pub(super) fn is_roster_cursor(cursor: &str) -> bool {
    cursor.strip_prefix("MEMBER#").is_some_and(|id| id.parse::<MemberId>().is_ok())
}

pub(super) fn community_pk(id: &CommunityId) -> String {
    format!("COMMUNITY#{id}")
}

pub(super) fn alert_pk(id: AlertId) -> String {
    format!("ALERT#{id}")
}

pub(super) fn inbound_pk(id: &InboundMessageId) -> String {
    format!("IN#{id}")
}

pub(super) fn phone_claim_pk(phone: &PhoneNumber) -> String {
    format!("PHONE#{phone}")
}

pub(super) fn email_claim_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_member_row_key_is_a_roster_cursor() {
        let id = MemberId::new();
        assert!(is_roster_cursor(&format!("MEMBER#{id}")));
        for forged in
            ["", "MEMBER#", "MEMBER#x", &format!("ALERT#{id}"), &format!("MEMBER#{id}#x"), &"A".repeat(2000)]
        {
            assert!(!is_roster_cursor(forged), "{forged}");
        }
    }
}
