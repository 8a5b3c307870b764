//! Alert texts and where alerts come from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;
use super::unicode::is_bidi_control;

/// The cleaned text of an alert.
///
/// Bidi controls are removed, other control characters (except `\n`)
/// become spaces, runs of blank lines are collapsed and the whole text is
/// trimmed. It is never empty and at most [`AlertText::MAX_CHARS`] long.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AlertText(String);

impl AlertText {
    /// Maximum length of an alert, in characters (after cleaning).
    pub const MAX_CHARS: usize = 1000;

    /// Cleans and validates an alert text.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let input = input.replace("\r\n", "\n");
        let mut cleaned = String::with_capacity(input.len());
        for c in input.chars() {
            if is_bidi_control(c) {
                continue;
            }
            if c == '\n' || c == '\r' {
                // Drop trailing spaces of the line so blank lines collapse.
                let kept = cleaned.trim_end_matches(' ').len();
                cleaned.truncate(kept);
                cleaned.push('\n');
            } else if c.is_control() {
                cleaned.push(' ');
            } else {
                cleaned.push(c);
            }
        }
        let mut text = String::with_capacity(cleaned.len());
        let mut newlines = 0;
        for c in cleaned.trim().chars() {
            if c == '\n' {
                newlines += 1;
                if newlines > 2 {
                    continue;
                }
            } else {
                newlines = 0;
            }
            text.push(c);
        }
        let actual = text.chars().count();
        if actual == 0 {
            return Err(DomainError::EmptyAlert);
        }
        if actual > Self::MAX_CHARS {
            return Err(DomainError::AlertTooLong { max: Self::MAX_CHARS, actual });
        }
        Ok(Self(text))
    }

    /// The cleaned text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// No `FromStr`: alert texts are only built through `parse` and serde.
validated_string!(AlertText: Display);

/// How an alert was raised.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    /// Texted to the service number.
    Sms,
    /// Posted from the web form.
    Web,
    /// Raised by the municipal police.
    Police,
}

impl AlertSource {
    /// The lowercase name used in storage (`"sms"`, `"web"`, `"police"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Web => "web",
            Self::Police => "police",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertSource {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sms" => Ok(Self::Sms),
            "web" => Ok(Self::Web),
            "police" => Ok(Self::Police),
            _ => Err(DomainError::InvalidSource),
        }
    }
}

/// What an alert is about, chosen on the web form (alerts texted in have none).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A suspicious person or vehicle.
    Suspicious,
    /// A burglary.
    Burglary,
    /// A fire or a danger.
    Danger,
    /// A lost or found animal.
    Animal,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in the order the form shows them.
    pub const ALL: [Category; 5] =
        [Category::Suspicious, Category::Burglary, Category::Danger, Category::Animal, Category::Other];

    /// The name used in storage and forms (`"suspicious"`...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Suspicious => "suspicious",
            Self::Burglary => "burglary",
            Self::Danger => "danger",
            Self::Animal => "animal",
            Self::Other => "other",
        }
    }

    /// The French label, as shown in the feed, the email and (short) the SMS.
    #[must_use]
    pub const fn label_fr(self) -> &'static str {
        match self {
            Self::Suspicious => "Personne ou véhicule suspect",
            Self::Burglary => "Cambriolage",
            Self::Danger => "Incendie ou danger",
            Self::Animal => "Animal perdu ou trouvé",
            Self::Other => "Autre",
        }
    }

    /// The English label.
    #[must_use]
    pub const fn label_en(self) -> &'static str {
        match self {
            Self::Suspicious => "Suspicious person or vehicle",
            Self::Burglary => "Burglary",
            Self::Danger => "Fire or danger",
            Self::Animal => "Lost or found animal",
            Self::Other => "Other",
        }
    }

    /// A one-word tag for the SMS, where every character counts; none for `Other`.
    #[must_use]
    pub const fn sms_tag(self) -> Option<&'static str> {
        match self {
            Self::Suspicious => Some("Suspect"),
            Self::Burglary => Some("Cambriolage"),
            Self::Danger => Some("Danger"),
            Self::Animal => Some("Animal"),
            Self::Other => None,
        }
    }
}

impl FromStr for Category {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or(DomainError::InvalidCategory)
    }
}

/// How an alert ended, as whoever closed it said (the all clear).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It is settled ("c'est réglé").
    Resolved,
    /// Nothing happened after all (the new postman).
    FalseAlarm,
    PoliceOnSite,
    /// Said in the note, which it needs.
    Other,
}

impl Ending {
    /// Every ending, in the order the form shows them.
    pub const ALL: [Ending; 4] = [Ending::Resolved, Ending::FalseAlarm, Ending::PoliceOnSite, Ending::Other];
    /// The longest note of an ending, in characters once cleaned as an alert is.
    pub const NOTE_MAX_CHARS: usize = 200;

    /// The name used in storage, forms and the API (`"false_alarm"`...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::FalseAlarm => "false_alarm",
            Self::PoliceOnSite => "police_on_site",
            Self::Other => "other",
        }
    }

    /// What the all clear's SMS and email say of it, in French (`None`: the note says it).
    #[must_use]
    pub const fn phrase_fr(self) -> Option<&'static str> {
        match self {
            Self::Resolved => Some("c'est réglé"),
            Self::FalseAlarm => Some("fausse alerte"),
            Self::PoliceOnSite => Some("la police est sur place"),
            Self::Other => None,
        }
    }
}

impl FromStr for Ending {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or(DomainError::InvalidCategory)
    }
}

impl Category {
    /// How long an alert of `category` (none: texted in) is news: past it, and not closed, the
    /// feed shows it as past. Nothing is sent for that.
    #[must_use]
    pub const fn current_for(category: Option<Category>) -> std::time::Duration {
        let hours = match category {
            Some(Category::Suspicious) => 6,
            Some(Category::Danger) | None => 12,
            Some(Category::Burglary | Category::Animal | Category::Other) => 24,
        };
        std::time::Duration::from_secs(hours * 3600)
    }
}

/// Whether the police (17) were told, as the author says: asked on the page, answered by a
/// reply `17` to the confirmation of an alert texted in. `None` on an alert: not said.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoliceCalled {
    Yes,
    No,
    /// Nothing the police need to know of (a lost cat).
    NotNeeded,
}

impl PoliceCalled {
    /// Every answer, in the order the form shows them.
    pub const ALL: [PoliceCalled; 3] = [PoliceCalled::Yes, PoliceCalled::No, PoliceCalled::NotNeeded];

    /// The name used in storage, forms and the API (`"not_needed"`...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::NotNeeded => "not_needed",
        }
    }
}

impl FromStr for PoliceCalled {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(DomainError::InvalidCategory)
    }
}

/// Why a member flags an alert for its community's referent.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagReason {
    /// Nothing happened, or not what it says.
    Unfounded,
    /// Hurtful, insulting, or singling people out for who they are.
    Offensive,
    /// It names or shows someone: a name, a plate, an address.
    PersonalData,
}

impl FlagReason {
    /// Every reason, in the order the form shows them.
    pub const ALL: [FlagReason; 3] = [FlagReason::Unfounded, FlagReason::Offensive, FlagReason::PersonalData];

    /// The name used in storage, forms and the API (`"personal_data"`...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unfounded => "unfounded",
            Self::Offensive => "offensive",
            Self::PersonalData => "personal_data",
        }
    }
}

impl FromStr for FlagReason {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(DomainError::InvalidCategory)
    }
}

/// Why an alert goes without SMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsWithheld {
    /// Its SMS would have passed its community's monthly budget.
    MonthlyBudget,
    /// Its SMS would have passed the service's daily ceiling.
    DailyCeiling,
}

impl SmsWithheld {
    /// `"monthly_budget"` or `"daily_ceiling"`, as stored and in the JSON API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MonthlyBudget => "monthly_budget",
            Self::DailyCeiling => "daily_ceiling",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleans() {
        let t = AlertText::parse("  Voiture suspecte\r\n\r\n\r\n\r\nrue des Lilas  ").unwrap();
        assert_eq!(t.as_str(), "Voiture suspecte\n\nrue des Lilas");
        let t = AlertText::parse("a\u{202e}b\tc\u{0}d\n \n \n \ne").unwrap();
        assert_eq!(t.as_str(), "ab c d\n\ne");
        assert_eq!(AlertText::parse("x\ry").unwrap().as_str(), "x\ny");
    }

    #[test]
    fn empty_and_too_long() {
        assert_eq!(AlertText::parse(""), Err(DomainError::EmptyAlert));
        assert_eq!(AlertText::parse(" \n\t\u{202a} "), Err(DomainError::EmptyAlert));
        assert!(AlertText::parse(&"é".repeat(1000)).is_ok());
        assert_eq!(
            AlertText::parse(&"é".repeat(1001)),
            Err(DomainError::AlertTooLong { max: 1000, actual: 1001 })
        );
    }

    #[test]
    fn serde() {
        let t: AlertText = serde_json::from_str("\" hello \"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"hello\"");
        assert!(serde_json::from_str::<AlertText>("\"  \"").is_err());
        assert_eq!(serde_json::to_string(&AlertSource::Police).unwrap(), "\"police\"");
        let s: AlertSource = serde_json::from_str("\"sms\"").unwrap();
        assert_eq!(s, AlertSource::Sms);
        assert_eq!("web".parse::<AlertSource>(), Ok(AlertSource::Web));
        assert_eq!(AlertSource::Web.as_str(), "web");
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(s in "\\PC{0,200}|[a \\n\\r\\t\u{202e}]{0,50}") {
            if let Ok(t) = AlertText::parse(&s) {
                prop_assert!(!t.as_str().contains("\n\n\n"));
                prop_assert!(!t.as_str().chars().any(|c| (c.is_control() && c != '\n') || is_bidi_control(c)));
                prop_assert_eq!(AlertText::parse(t.as_str()).unwrap(), t.clone());
            }
        }
    }
}
