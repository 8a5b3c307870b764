//! Members, communities, roles and unsubscribe tokens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::newtype::validated_string;
use super::{
    CommunityId, DeliveryProblem, DomainError, Email, FirstName, LastName, MemberId, PhoneNumber, TimeZoneId,
};
use crate::secret;

/// What a member may do.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A resident of one community.
    Resident,
    /// The referent (coordinator) of one community.
    Referent,
    /// A municipal police officer, attached to one or more communities of a town.
    Police,
    /// The town hall (`mairie`): an account of one town ([`Member::town`]), above its
    /// referents. It belongs to no community (it is texted and emailed no alert) and manages
    /// them all: creates and renames them, appoints and removes their referents, imports
    /// their members. It never sees a hidden number.
    Mairie,
}

impl Role {
    /// The lowercase name (`"resident"`, `"referent"`, `"police"`, `"mairie"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Referent => "referent",
            Self::Police => "police",
            Self::Mairie => "mairie",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "resident" => Ok(Self::Resident),
            "referent" => Ok(Self::Referent),
            "police" => Ok(Self::Police),
            "mairie" => Ok(Self::Mairie),
            _ => Err(DomainError::InvalidRole),
        }
    }
}

/// A neighbourhood watched together (a street, an estate...).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Community {
    /// Slug, e.g. `les-tilleuls`.
    pub id: CommunityId,
    /// Display name, e.g. `Les Tilleuls`.
    pub name: String,
    /// Town the community belongs to.
    pub town: String,
    /// The zone its times are shown in (`Europe/Paris` when the item has none).
    #[serde(default)]
    pub time_zone: TimeZoneId,
    /// SMS parts its alerts may take in a month, when the town or a referent set it; `None`:
    /// the service's default (`SMS_MONTHLY_PARTS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_budget: Option<u32>,
}

/// A registered member.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Member {
    /// Member id.
    pub id: MemberId,
    /// Communities the member belongs to (exactly one unless police).
    pub communities: Vec<CommunityId>,
    /// First name, shown to neighbours.
    pub first_name: FirstName,
    /// Last name.
    pub last_name: LastName,
    /// E-mail address, if any.
    pub email: Option<Email>,
    /// Phone number, if any.
    pub phone: Option<PhoneNumber>,
    /// Whether the phone number is hidden from other members.
    pub hide_phone: bool,
    /// Whether the number's owner agreed to receive texts (`docs/consent.md`): a number typed by
    /// its owner is confirmed by the code texted to it; one a referent added, or a join request
    /// brought, waits for its owner's OUI and gets no text but the invitation until then.
    /// Members stored before the rule are confirmed.
    #[serde(default = "confirmed")]
    pub phone_confirmed: bool,
    /// The day the town hall collected the owner's consent to SMS alerts on paper
    /// (`2026-11-20`), when an import said so: the record of why the number was confirmed
    /// without a code or an OUI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_consent: Option<String>,
    /// Whether the member wants alerts by SMS.
    pub sms_alerts: bool,
    /// Whether the member wants alerts by e-mail.
    pub email_alerts: bool,
    /// No SMS at night (22:00 to 07:00 in the community's time zone), but for the fire or danger
    /// alerts and the police's: held back, sent by email at once and, if still open at 07:00,
    /// by SMS then (`domain::quiet`). Off unless the member turned it on.
    #[serde(default)]
    pub quiet_hours: bool,
    /// Role.
    pub role: Role,
    /// Secret used in one-click unsubscribe links.
    pub unsubscribe_token: UnsubscribeToken,
    /// What the receipts said went wrong with the address (a hard bounce, a complaint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_problem: Option<DeliveryProblem>,
    /// What the receipts said went wrong with the number (texts failing for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_problem: Option<DeliveryProblem>,
    /// The member who already holds this row's number or address (`docs/consent.md`, "A number
    /// or address already registered"): the row is the referent's invitation to them, shown on
    /// the referent's page as any invitation. It claims nothing, nothing is delivered to it,
    /// and it goes when the holder joins or the referent removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands_for: Option<MemberId>,
    /// The town a town hall's account answers for (its communities are those of the town);
    /// `None` for everyone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
}

/// What a stored member or roster row without `phone_confirmed` was: confirmed (the rule came later).
pub(crate) fn confirmed() -> bool {
    true
}

impl Member {
    /// The phone to text alerts to, if the member has one and wants SMS.
    #[must_use]
    pub fn wants_sms(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref().filter(|_| self.sms_alerts && self.phone_confirmed)
    }

    /// Whether the member's number waits for its owner's OUI to the invitation.
    #[must_use]
    pub fn invited(&self) -> bool {
        self.phone.is_some() && !self.phone_confirmed
    }

    /// The address to e-mail alerts to, if the member has one and wants e-mail.
    #[must_use]
    pub fn wants_email(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_alerts && self.stands_for.is_none())
    }

    /// Whether the member belongs to `community`.
    #[must_use]
    pub fn belongs_to(&self, community: &CommunityId) -> bool {
        self.communities.contains(community)
    }

    /// `self`, changed from `previous` by the member (or their referent), without the delivery
    /// problems the change settles: a new address, or email alerts turned back on, clears the
    /// email problem; a new number, or SMS alerts turned back on, the SMS one.
    #[must_use]
    pub fn settling_problems(mut self, previous: &Member) -> Self {
        if self.email != previous.email || (self.email_alerts && !previous.email_alerts) {
            self.email_problem = None;
        }
        if self.phone != previous.phone || (self.sms_alerts && !previous.sms_alerts) {
            self.sms_problem = None;
        }
        self
    }
}

/// A secret unsubscribe token: 32 random bytes as 64 lowercase hex digits.
///
/// `Debug` prints only the first 4 characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnsubscribeToken(String);

impl UnsubscribeToken {
    /// Length of a token in hex characters.
    pub const LEN: usize = secret::TOKEN_LEN;

    /// A fresh token from the thread-local CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        Self(secret::random_token())
    }

    /// Validates a token (64 lowercase hex characters).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if secret::is_token(s) { Ok(Self(s.to_owned())) } else { Err(DomainError::InvalidToken) }
    }

    /// The token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A log-safe form: the first 4 characters followed by `…`.
    #[must_use]
    pub fn masked(&self) -> String {
        format!("{}…", self.0.get(..4).unwrap_or(""))
    }

    /// Compares with a candidate in constant time (for equal lengths).
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        secret::same_secret(&self.0, candidate)
    }
}

impl fmt::Debug for UnsubscribeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnsubscribeToken({})", self.masked())
    }
}

validated_string!(UnsubscribeToken: FromStr);

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Member {
        Member {
            id: MemberId::new(),
            communities: vec![CommunityId::parse("les-tilleuls").unwrap()],
            first_name: FirstName::parse("Marie").unwrap(),
            last_name: LastName::parse("Dupont").unwrap(),
            email: Some(Email::parse("marie@example.org").unwrap()),
            phone: Some(PhoneNumber::parse("0612345678").unwrap()),
            hide_phone: false,
            phone_confirmed: true,
            phone_consent: None,
            sms_alerts: true,
            email_alerts: false,
            quiet_hours: false,
            role: Role::Resident,
            unsubscribe_token: UnsubscribeToken::generate(),
            email_problem: None,
            sms_problem: None,
            stands_for: None,
            town: None,
        }
    }

    #[test]
    fn preferences() {
        let mut m = member();
        assert_eq!(m.wants_sms().map(PhoneNumber::as_str), Some("+33612345678"));
        assert_eq!(m.wants_email(), None);
        m.sms_alerts = false;
        m.email_alerts = true;
        assert_eq!(m.wants_sms(), None);
        assert!(m.wants_email().is_some());
        m.email = None;
        assert_eq!(m.wants_email(), None);
        assert!(m.belongs_to(&CommunityId::parse("les-tilleuls").unwrap()));
    }

    #[test]
    fn turning_a_channel_back_on_or_changing_it_settles_its_problem() {
        let problem = DeliveryProblem::email(super::super::ProblemKind::HardBounce, "550 user unknown", 1);
        let mut before = member();
        before.email_alerts = false;
        before.email_problem = Some(problem.clone());
        before.sms_problem = DeliveryProblem::sms_failure(None, "m1", "Invalid phone number", 1);
        // Another setting changed: the problems stay.
        let same = Member { hide_phone: true, ..before.clone() }.settling_problems(&before);
        assert!(same.email_problem.is_some() && same.sms_problem.is_some());
        // Email alerts back on: the email problem goes, the SMS one stays.
        let on = Member { email_alerts: true, ..before.clone() }.settling_problems(&before);
        assert_eq!((on.email_problem, on.sms_problem.is_some()), (None, true));
        // A new number: the SMS problem goes.
        let renumbered = Member { phone: Some(PhoneNumber::parse("0639980099").unwrap()), ..before.clone() }
            .settling_problems(&before);
        assert_eq!((renumbered.sms_problem, renumbered.email_problem), (None, Some(problem)));
    }

    #[test]
    fn member_serde_round_trip() {
        let m = member();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"role\":\"resident\""));
        assert!(json.contains("\"+33612345678\""));
        let back: Member = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("+33612345678"));
        assert!(!dbg.contains(m.unsubscribe_token.as_str()));
    }

    #[test]
    fn tokens() {
        let t = UnsubscribeToken::generate();
        assert_eq!(t.as_str().len(), 64);
        assert_eq!(UnsubscribeToken::parse(t.as_str()).unwrap(), t);
        assert_ne!(UnsubscribeToken::generate(), t);
        assert!(t.matches(t.as_str()));
        assert!(!t.matches(&t.as_str()[..63]));
        assert!(!t.matches(&"0".repeat(64)));
        assert!(!t.matches(""));
        assert_eq!(t.masked(), format!("{}…", &t.as_str()[..4]));
        assert!(UnsubscribeToken::parse(&"A".repeat(64)).is_err());
        assert!(UnsubscribeToken::parse(&"a".repeat(63)).is_err());
        assert!(serde_json::from_str::<UnsubscribeToken>("\"xyz\"").is_err());
    }

    #[test]
    fn roles() {
        assert_eq!(serde_json::to_string(&Role::Referent).unwrap(), "\"referent\"");
        assert_eq!("police".parse::<Role>(), Ok(Role::Police));
        assert!("admin".parse::<Role>().is_err());
        assert_eq!(Role::Resident.as_str(), "resident");
    }
}
