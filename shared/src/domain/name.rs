//! First and last names of members.

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;
use super::unicode::{is_bidi_control, without_case_or_accents};

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

impl FirstName {
    /// The name an erased member's alerts keep ([`crate::domain::MemberId::ERASED`]).
    #[must_use]
    pub fn erased() -> Self {
        Self("Un voisin".to_owned())
    }
}

/// Reserved words, folded ([`fold`]): a first name holding one would make an alert look like
/// the police's, the town hall's, the emergency services' or the service's own (issue 11).
/// These are refused anywhere in the name, even glued to it ("PoliceSophie", "gendarmes")...
const RESERVED_ANYWHERE: [&str; 4] = ["police", "gendarm", "mairie", "pompier"];
/// ...and these, short enough to be inside real names (Samuel, Vigier), as a word of their own
/// or spelled out as the whole name ("s a m u").
const RESERVED_WORDS: [&str; 3] = ["samu", "vigie", "admin"];

impl FirstName {
    /// A first name a person chooses at a door (the settings, a referent's or the join form, the
    /// API): [`FirstName::parse`], and nothing that could pass for a label vigie composes. No
    /// brackets, colons or digits, no link, no reserved word (police, gendarmerie, mairie,
    /// pompiers, SAMU, vigie, admin) in any case or accent. Names already stored read with
    /// [`FirstName::parse`], so none is lost.
    pub fn parse_chosen(input: &str) -> Result<Self, DomainError> {
        let name = Self::parse(input)?;
        let text = name.as_str();
        if text.chars().any(|c| c.is_numeric()) {
            return Err(DomainError::NameNotAllowed("contains a digit"));
        }
        if text
            .chars()
            .any(|c| matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ':' | '/' | '@' | '|' | '«' | '»' | '"'))
        {
            return Err(DomainError::NameNotAllowed("contains a bracket, colon, slash, @ or quote"));
        }
        let folded = fold(text);
        if folded.contains("www") || folded.contains("http") || has_domain(&folded) {
            return Err(DomainError::NameNotAllowed("looks like a link"));
        }
        let letters: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
        let mut words = folded.split(|c: char| !c.is_alphanumeric());
        if RESERVED_ANYWHERE.iter().any(|w| letters.contains(w))
            || RESERVED_WORDS.contains(&letters.as_str())
            || words.any(|word| RESERVED_WORDS.contains(&word))
        {
            return Err(DomainError::NameNotAllowed("holds a reserved word"));
        }
        Ok(name)
    }
}

/// Lower case without accents ([`without_case_or_accents`]), and the letters of other scripts
/// that look like Latin ones (and the Latin ones no accent removal reaches) read as those, so
/// that "Pölice", "POLICE" and a Cyrillic "роlice" all fold to "police".
fn fold(text: &str) -> String {
    without_case_or_accents(text)
        .map(|c| match c {
            'а' | 'α' => 'a',
            'с' => 'c',
            'е' | 'ε' => 'e',
            'ı' | 'і' | 'ι' => 'i',
            'ø' | 'о' | 'ο' => 'o',
            'υ' => 'u',
            'у' => 'y',
            'п' => 'n',
            'р' | 'ρ' => 'p',
            'м' | 'μ' => 'm',
            'ѕ' => 's',
            'ɡ' => 'g',
            'ԁ' => 'd',
            'ν' => 'v',
            'к' | 'κ' => 'k',
            'х' | 'χ' => 'x',
            'ӏ' | 'ǀ' | 'ℓ' => 'l',
            other => other,
        })
        .collect()
}

/// "exemple.fr", "site .com": a dot between letters, the shape of a domain name.
fn has_domain(folded: &str) -> bool {
    let chars: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(3).any(|w| w[0].is_alphabetic() && w[1] == '.' && w[2].is_alphabetic())
}

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

    #[test]
    fn chosen_names_cannot_pass_for_a_role_or_the_service() {
        for s in [
            "Sophie (police municipale)",
            "Sophie [mairie]",
            "Police",
            "POLICE municipale",
            "Pölice",
            "p o l i c e",
            "P.O.L.I.C.E",
            "\u{440}\u{43e}lice",
            "Gendarmerie",
            "gendarme Paul",
            "Mairie de Bellerive",
            "Pompiers",
            "SAMU",
            "Samu-Jean",
            "Vigie",
            "VIGIE alerte",
            "admin",
            "PoliceSophie",
            "Sophie:",
            "Info: danger",
            "Jean2",
            "Marie 17",
            "www site",
            "http",
            "bit.ly",
            "exemple . fr",
            "a/b",
            "Jean@chez",
            "\"Sophie\"",
        ] {
            assert!(
                matches!(FirstName::parse_chosen(s), Err(DomainError::NameNotAllowed(_))),
                "{s:?} should be refused"
            );
        }
        for s in [
            "Marie",
            "Jean-Pierre",
            "Éloïse",
            "Zoé-Ève",
            "Karim-Yacine",
            "Anne Marie",
            "O'Neil",
            "Polina",
            "Samuel",
            "Vigier",
        ] {
            assert_eq!(FirstName::parse_chosen(s).unwrap().as_str(), s);
        }
        // What the plain rules refuse is refused the same way.
        assert_eq!(FirstName::parse_chosen("<b>"), FirstName::parse("<b>"));
        // A stored name reads whatever it holds: nobody's record is lost.
        assert!(serde_json::from_str::<FirstName>("\"Voisin12\"").is_ok());
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
