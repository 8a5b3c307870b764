//! Phone numbers, always stored in E.164 form (`+33612345678`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;

/// A validated phone number in E.164 form.
///
/// `Debug` prints the masked form so that an accidental `{:?}` in a log
/// never leaks a full number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Inputs longer than this (in bytes) are rejected before any work.
    pub const MAX_INPUT_LEN: usize = 32;

    /// Parses an E.164 number (`+33612345678`), an international number with
    /// a `00` prefix (`0033612345678`) or a French national number
    /// (`06 12 34 56 78`). Spaces, dots, dashes and parentheses are ignored,
    /// and a `(0)` after the country code is dropped (`+33 (0)6 12 34 56 78`).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        if input.len() > Self::MAX_INPUT_LEN {
            return Err(DomainError::InvalidPhone("too long"));
        }
        let input = input.trim();
        if input.is_empty() {
            return Err(DomainError::InvalidPhone("empty"));
        }
        let international = input.starts_with('+') || input.starts_with("00");
        // "+33 (0)6 ..." is a common way to write the trunk prefix.
        let owned;
        let input = if international && input.contains("(0)") {
            owned = input.replacen("(0)", "", 1);
            owned.as_str()
        } else {
            input
        };

        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (i, c) in input.chars().enumerate() {
            match c {
                '+' if i == 0 => plus = true,
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => return Err(DomainError::InvalidPhone("unexpected character")),
            }
        }

        let e164_digits = if plus {
            digits.as_str()
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest
        } else if digits.len() == 10 && digits.starts_with('0') && !digits[1..].starts_with('0') {
            // French national format: 0X XX XX XX XX.
            return Ok(Self(format!("+33{}", &digits[1..])));
        } else {
            return Err(DomainError::InvalidPhone(
                "expected an international (+33...) or French (06...) number",
            ));
        };

        validate_e164_digits(e164_digits)?;
        Ok(Self(format!("+{e164_digits}")))
    }

    /// The number in E.164 form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A log-safe form: `+336******78`.
    #[must_use]
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let n = digits.len();
        let mut out = String::with_capacity(self.0.len());
        out.push('+');
        for (i, c) in digits.chars().enumerate() {
            out.push(if i < 3 || i + 2 >= n { c } else { '*' });
        }
        out
    }

    /// Whether this is a French mobile number (`+336...` or `+337...`).
    #[must_use]
    pub fn is_french_mobile(&self) -> bool {
        self.0.starts_with("+336") || self.0.starts_with("+337")
    }
}

/// Checks the digits of an E.164 number (without the `+`).
fn validate_e164_digits(digits: &str) -> Result<(), DomainError> {
    if !(8..=15).contains(&digits.len()) {
        return Err(DomainError::InvalidPhone("an international number has 8 to 15 digits"));
    }
    if digits.starts_with('0') {
        return Err(DomainError::InvalidPhone("country code cannot start with 0"));
    }
    if let Some(national) = digits.strip_prefix("33")
        && (national.len() != 9 || national.starts_with('0'))
    {
        return Err(DomainError::InvalidPhone("a French number has 9 digits after +33"));
    }
    Ok(())
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

validated_string!(PhoneNumber: FromStr, Display);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<String, DomainError> {
        PhoneNumber::parse(s).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn accepts_common_formats() {
        let fr = Ok("+33612345678".to_owned());
        for s in [
            "+33612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33(0)612345678",
            "0033612345678",
            "00 33 6 12 34 56 78",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            " 0612345678 ",
        ] {
            assert_eq!(p(s), fr, "{s}");
        }
        assert_eq!(p("+447700900123"), Ok("+447700900123".to_owned()));
        assert_eq!(p("+44 (0)7700 900123"), Ok("+447700900123".to_owned()));
        assert_eq!(p("01 23 45 67 89"), Ok("+33123456789".to_owned()));
        assert_eq!(p("+1 (555) 123-4567"), Ok("+15551234567".to_owned()));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "   ",
            "+",
            "abc",
            "06 12 34 56 7a",
            "061234567",
            "06123456789",
            "0001234567",
            "6123456789",
            "+0612345678",
            "+3361234567",
            "+336123456789",
            "+330612345678",
            "+1234567",
            "+1234567890123456",
            "06 12 34 56 78 +",
            "++33612345678",
            "+33 6 12 34 56 78                    ",
            "0012345678901234567",
            "+336123\n45678",
            "+33６12345678",
        ] {
            assert!(PhoneNumber::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_the_number() {
        let err = PhoneNumber::parse("+33 6 12 34 56 7x").unwrap_err().to_string();
        assert!(!err.contains("12"), "{err}");
    }

    #[test]
    fn masking() {
        let n = PhoneNumber::parse("+33612345678").unwrap();
        assert_eq!(n.masked(), "+336******78");
        assert_eq!(format!("{n:?}"), "PhoneNumber(+336******78)");
        assert!(!format!("{n:?}").contains("12345"));
        assert_eq!(n.to_string(), "+33612345678");
        let short = PhoneNumber::parse("+12345678").unwrap();
        assert_eq!(short.masked(), "+123***78");
    }

    #[test]
    fn french_mobile() {
        assert!(PhoneNumber::parse("0612345678").unwrap().is_french_mobile());
        assert!(PhoneNumber::parse("0712345678").unwrap().is_french_mobile());
        assert!(!PhoneNumber::parse("0112345678").unwrap().is_french_mobile());
        assert!(!PhoneNumber::parse("+447700900123").unwrap().is_french_mobile());
    }

    #[test]
    fn serde_validates() {
        let n: PhoneNumber = serde_json::from_str("\"06 12 34 56 78\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+33612345678\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"hello\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = PhoneNumber::parse(&s);
        }

        #[test]
        fn never_panics_on_phone_like(s in "[+0-9 ().\\-]{0,34}") {
            let _ = PhoneNumber::parse(&s);
        }

        #[test]
        fn accepted_round_trips(s in "[+0-9 ().\\-]{0,32}") {
            if let Ok(n) = PhoneNumber::parse(&s) {
                let again = PhoneNumber::parse(n.as_str()).unwrap();
                prop_assert_eq!(&again, &n);
                prop_assert!(n.as_str().starts_with('+'));
                prop_assert!(n.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn national_and_e164_agree(d in "[1-9][0-9]{8}") {
            let national = PhoneNumber::parse(&format!("0{d}")).unwrap();
            let e164 = PhoneNumber::parse(&format!("+33{d}")).unwrap();
            let spaced: String = format!("0{d}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| (i > 0 && i % 2 == 0).then_some(' ').into_iter().chain([c]))
                .collect();
            let spaced = PhoneNumber::parse(&spaced).unwrap();
            prop_assert_eq!(&national, &e164);
            prop_assert_eq!(&spaced, &e164);
            prop_assert_eq!(PhoneNumber::parse(&format!("0033{d}")).unwrap(), e164);
        }
    }
}
