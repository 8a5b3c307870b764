//! E-mail addresses.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;

/// A validated, lowercased e-mail address.
///
/// `Debug` prints the masked form (`m***@example.org`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Maximum length of an address (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Trims, lowercases and validates an address.
    ///
    /// This is a pragmatic check, not full RFC 5322: exactly one `@`, a
    /// non-empty local part, a dotted domain, and none of the characters that
    /// could break out of a header (whitespace, controls, `<>,;"` ...).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DomainError::InvalidEmail("empty"));
        }
        if let Some(c) = trimmed.chars().find(|&c| is_forbidden(c)) {
            return Err(DomainError::InvalidEmail(if c.is_whitespace() {
                "contains whitespace"
            } else {
                "contains a forbidden character"
            }));
        }
        let lower = trimmed.to_lowercase();
        if lower.chars().count() > Self::MAX_LEN {
            return Err(DomainError::InvalidEmail("longer than 254 characters"));
        }
        let Some((local, domain)) = lower.split_once('@') else {
            return Err(DomainError::InvalidEmail("missing '@'"));
        };
        if domain.contains('@') {
            return Err(DomainError::InvalidEmail("more than one '@'"));
        }
        if local.is_empty() {
            return Err(DomainError::InvalidEmail("empty local part"));
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.starts_with('-')
        {
            return Err(DomainError::InvalidEmail("invalid domain"));
        }
        Ok(Self(lower))
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part (after the `@`).
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }

    /// A log-safe form: `m***@example.org`.
    #[must_use]
    pub fn masked(&self) -> String {
        let first = self.0.chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

/// Characters never accepted in an address.
fn is_forbidden(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '<' | '>' | ',' | ';' | '"' | '`' | '(' | ')' | '[' | ']' | '\\' | ':')
        || super::unicode::is_bidi_control(c)
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

validated_string!(Email: FromStr, Display);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  Marie.Dupont@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "marie.dupont@example.org");
        assert_eq!(e.domain(), "example.org");
        assert!(Email::parse("a+tag@mairie-les-tilleuls.fr").is_ok());
        assert!(Email::parse("o'brien@example.ie").is_ok());
    }

    #[test]
    fn rejects() {
        let long = format!("{}@example.org", "a".repeat(250));
        for s in [
            "",
            "   ",
            "marie",
            "@example.org",
            "marie@",
            "marie@localhost",
            "marie@@example.org",
            "a@b@example.org",
            "marie dupont@example.org",
            "marie@exa mple.org",
            "marie@example.org\r\nBcc: x@y.z",
            "<marie@example.org>",
            "marie@example.org,paul@example.org",
            "marie@example.org;",
            "\"marie\"@example.org",
            "marie@.example.org",
            "marie@example.org.",
            "marie@example..org",
            "marie\u{202e}@example.org",
            long.as_str(),
        ] {
            assert!(Email::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn masking_and_privacy() {
        let e = Email::parse("marie@example.org").unwrap();
        assert_eq!(e.masked(), "m***@example.org");
        assert_eq!(format!("{e:?}"), "Email(m***@example.org)");
        let err = Email::parse("secret-name@nodot").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn serde_validates() {
        let e: Email = serde_json::from_str("\"A@B.fr\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"a@b.fr\"");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = Email::parse(&s);
        }

        #[test]
        fn accepted_round_trips(s in "[a-zA-Z0-9.@ _+-]{0,40}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
        }
    }
}
