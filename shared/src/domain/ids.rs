//! Identifiers: members, alerts (ULIDs) and communities (slugs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::DomainError;
use super::newtype::validated_string;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            /// A fresh, time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(Ulid::new())
            }

            /// Wraps an existing ULID.
            #[must_use]
            pub const fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            #[must_use]
            pub const fn ulid(self) -> Ulid {
                self.0
            }
        }

        impl Default for $name {
            /// A fresh id (same as [`Self::new`]).
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != ulid::ULID_LEN {
                    return Err(DomainError::InvalidId);
                }
                Ulid::from_string(s).map(Self).map_err(|_| DomainError::InvalidId)
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

ulid_id!(
    /// Identifies a member (resident, referent or police officer).
    MemberId
);

impl MemberId {
    /// Who stands in an alert for a member who erased their account ("un voisin"): the nil
    /// ULID, never a member's.
    pub const ERASED: Self = Self(Ulid::nil());

    /// Whether this is [`Self::ERASED`].
    #[must_use]
    pub fn is_erased(self) -> bool {
        self == Self::ERASED
    }
}

ulid_id!(
    /// Identifies an alert; ULIDs sort by creation time.
    AlertId
);

/// A community slug such as `les-tilleuls`: `[a-z0-9-]{1,64}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommunityId(String);

impl CommunityId {
    /// Maximum length of a community id.
    pub const MAX_LEN: usize = 64;

    /// Validates a community id.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let valid = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid { Ok(Self(s.to_owned())) } else { Err(DomainError::InvalidCommunityId) }
    }

    /// The id of a community named `name`: its letters and digits, lower case and without
    /// accents, the rest as single dashes (`Les Tilleuls` → `les-tilleuls`, `Cœur de Ville` →
    /// `coeur-de-ville`); `None` when it has no letter or digit.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let mut id = String::new();
        for c in crate::domain::unicode::without_case_or_accents(name) {
            if let Some(pair) = match c {
                'œ' => Some("oe"),
                'æ' => Some("ae"),
                'ß' => Some("ss"),
                _ => None,
            } {
                id.push_str(pair);
            } else if c.is_ascii_alphanumeric() {
                id.push(c);
            } else if !id.ends_with('-') && !id.is_empty() {
                id.push('-');
            }
        }
        let id: String = id.trim_end_matches('-').chars().take(Self::MAX_LEN).collect();
        Self::parse(id.trim_end_matches('-')).ok()
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

validated_string!(CommunityId: FromStr, Display);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_round_trips() {
        let id = MemberId::new();
        let s = id.to_string();
        assert_eq!(s.len(), 26);
        assert_eq!(s.parse::<MemberId>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<MemberId>(&json).unwrap(), id);
    }

    #[test]
    fn alert_id_from_ulid() {
        let u = Ulid::new();
        let id = AlertId::from_ulid(u);
        assert_eq!(id.ulid(), u);
        assert_eq!(id.to_string(), u.to_string());
    }

    #[test]
    fn bad_ulids_rejected() {
        assert!("".parse::<AlertId>().is_err());
        assert!("not-a-ulid".parse::<AlertId>().is_err());
        assert!("01ARZ3NDEKTSV4RRFFQ69G5FAVX".parse::<AlertId>().is_err());
        assert!(serde_json::from_str::<AlertId>("\"nope\"").is_err());
    }

    #[test]
    fn community_ids() {
        assert_eq!(CommunityId::parse("les-tilleuls").unwrap().as_str(), "les-tilleuls");
        assert!(CommunityId::parse("quartier-2").is_ok());
        assert!(CommunityId::parse(&"a".repeat(64)).is_ok());
        for bad in ["", "Les-Tilleuls", "les tilleuls", "é", "a_b", &"a".repeat(65)] {
            assert_eq!(CommunityId::parse(bad), Err(DomainError::InvalidCommunityId), "{bad}");
        }
        assert!(serde_json::from_str::<CommunityId>("\"BAD\"").is_err());
        let id: CommunityId = serde_json::from_str("\"ok-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"ok-1\"");
    }

    #[test]
    fn community_ids_from_names() {
        let of = |name: &str| CommunityId::from_name(name).map(|id| id.to_string());
        assert_eq!(of("Les Tilleuls").as_deref(), Some("les-tilleuls"));
        assert_eq!(of("  Cœur de Ville (nord) ").as_deref(), Some("coeur-de-ville-nord"));
        assert_eq!(of("Résidence Été 2").as_deref(), Some("residence-ete-2"));
        assert_eq!(of("— !"), None);
        assert_eq!(of(&"a".repeat(100)).map(|id| id.len()), Some(64));
    }
}
