//! First and last names of members.

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;
use super::unicode::is_bidi_control;

/// Shared validation for [`FirstName`] and [`LastName`]: trims, collapses
/// whitespace runs, checks length and forbidden characters.
fn normalise_name(input: &str) -> Result<String, DomainError> {
    if let Some(c) = input.chars().find(|&c| c.is_control() || is_bidi_control(c) || c == '<' || c == '>') {
        return Err(DomainError::InvalidName(if c.is_control() {
            "contains a control character"
        } else if is_bidi_control(c) {
            "contains a bidirectional control character"
        } else {
            "contains '<' or '>'"
        }));
    }
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = name.chars().count();
    if len == 0 {
        return Err(DomainError::InvalidName("empty"));
    }
    if len > MAX_NAME_CHARS {
        return Err(DomainError::InvalidName("longer than 40 characters"));
    }
    Ok(name)
}

/// Maximum length of a name, in characters.
const MAX_NAME_CHARS: usize = 40;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Maximum length, in characters.
            pub const MAX_CHARS: usize = MAX_NAME_CHARS;

            /// Trims, collapses internal whitespace and validates: 1 to 40
            /// characters, no control or bidi characters, no `<` or `>`.
            pub fn parse(input: &str) -> Result<Self, DomainError> {
                normalise_name(input).map(Self)
            }

            /// The name.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        validated_string!($name: FromStr, Display);
    };
}

name_type!(
    /// A member's first name, shown to neighbours at the start of each alert.
    FirstName
);

name_type!(
    /// A member's last name (never sent to neighbours by SMS).
    LastName
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises() {
        assert_eq!(FirstName::parse("  Jean   Pierre ").unwrap().as_str(), "Jean Pierre");
        assert_eq!(LastName::parse("Le Goff").unwrap().as_str(), "Le Goff");
        assert_eq!(FirstName::parse("Éloïse").unwrap().to_string(), "Éloïse");
        assert_eq!(FirstName::parse("Zoé-Ève").unwrap().as_str(), "Zoé-Ève");
        assert!(FirstName::parse(&"é".repeat(40)).is_ok());
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "   ",
            "Jean\nPierre",
            "Jean\r\nBcc: x",
            "Jean\tPierre",
            "Jean\u{0}",
            "Jean\u{202e}erreiP",
            "\u{2066}Jean",
            "Jean\u{200f}",
            "Jean\u{061c}",
            "<script>",
            "a>b",
        ] {
            assert!(FirstName::parse(s).is_err(), "{s:?}");
        }
        assert!(FirstName::parse(&"a".repeat(41)).is_err());
        assert!(serde_json::from_str::<LastName>("\"\"").is_err());
        let n: LastName = serde_json::from_str("\" Martin \"").unwrap();
        assert_eq!(n.as_str(), "Martin");
    }

    proptest! {
        #[test]
        fn accepted_names_are_clean(s in "\\PC{0,50}") {
            if let Ok(n) = FirstName::parse(&s) {
                let v = n.as_str();
                prop_assert!(!v.chars().any(|c| c.is_control() || is_bidi_control(c)));
                prop_assert_eq!(v.trim(), v);
                prop_assert!(!v.contains("  "));
                prop_assert!((1..=40).contains(&v.chars().count()));
                prop_assert_eq!(FirstName::parse(v).unwrap(), n.clone());
            }
        }
    }
}
