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
    ///
    /// A national number of overseas France takes its own country code:
    /// `0690 12 34 56` (Guadeloupe) is `+590690123456`, `0692 12 34 56` (La Réunion)
    /// `+262692123456`; ARCEP's fiction range `06 39 98 xx xx` stays `+3363998xxxx`.
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
            // French national format: 0X XX XX XX XX, in mainland France or overseas.
            let national = &digits[1..];
            return Ok(Self(format!("+{}{national}", country_code_of_national(national))));
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

    /// The number as French people write it (`0690123456`), when it is one of France's whose
    /// national form [`PhoneNumber::parse`] reads back to it: mainland `+33` and the overseas
    /// departments of [`OVERSEAS_PREFIXES`]. Other numbers have none (they are written in E.164).
    #[must_use]
    pub fn french_national(&self) -> Option<String> {
        let digits = self.0.strip_prefix('+')?;
        ["33", "262", "590", "594", "596"].iter().find_map(|code| {
            let national = digits.strip_prefix(code).filter(|n| n.len() == 9 && !n.starts_with('0'))?;
            (country_code_of_national(national) == *code).then(|| format!("0{national}"))
        })
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

    /// The block of numbers this one belongs to: the number without its last
    /// [`RANGE_DIGITS`] digits (`+33612345678` is in `+336123`). ARCEP gives mobile numbers to
    /// operators in blocks of 100,000 (`docs/reliability.md`, SMS pumping): numbers bought for
    /// SMS pumping come in runs of one block, so answers to strangers are capped per block.
    #[must_use]
    pub fn range(&self) -> &str {
        // An E.164 number has at least 8 digits: the range keeps at least 3 of them.
        &self.0[..self.0.len() - RANGE_DIGITS]
    }
}

/// Digits of a number below its range ([`PhoneNumber::range`]): a block of 100,000 numbers.
pub const RANGE_DIGITS: usize = 5;

/// The countries whose numbers may be members' numbers and may get an SMS from vigie, as the
/// calling codes their E.164 numbers start with (ITU-T E.164 country codes are prefix-free: a
/// number has one code). Configured by `SMS_COUNTRIES` (template parameter `SmsCountries`);
/// by default [`AllowedCountries::FRANCE`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedCountries(Vec<String>);

impl AllowedCountries {
    /// France and overseas France: the country codes of ARCEP's national numbering plan
    /// (decision 2006-0509; Mayotte moved from +269, now the Comoros', to +262 by decision
    /// 2006-0720): +33 mainland France, +262 La Réunion and Mayotte, +508 Saint-Pierre-et-Miquelon,
    /// +590 Guadeloupe, Saint-Martin and Saint-Barthélemy, +594 Guyane, +596 Martinique. The
    /// Pacific territories (+687, +689, +681) have numbering plans of their own. Sources in
    /// `docs/data-model.md#phone-numbers`.
    pub const FRANCE: &'static [&'static str] = &["33", "262", "508", "590", "594", "596"];

    /// France and overseas France ([`AllowedCountries::FRANCE`]).
    #[must_use]
    pub fn france() -> Self {
        Self(Self::FRANCE.iter().map(|&code| code.to_owned()).collect())
    }

    /// Reads a list of calling codes separated by commas (`33, 262, +590`): each 1 to 3 digits
    /// not starting with 0, with or without `+`; at least one.
    pub fn parse(list: &str) -> Result<Self, DomainError> {
        let mut codes: Vec<String> = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let digits = code.strip_prefix('+').unwrap_or(code);
            if !(1..=3).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DomainError::InvalidCountries("a calling code is 1 to 3 digits (33, 262, +590)"));
            }
            if digits.starts_with('0') {
                return Err(DomainError::InvalidCountries("a calling code does not start with 0"));
            }
            if !codes.iter().any(|c| c == digits) {
                codes.push(digits.to_owned());
            }
        }
        if codes.is_empty() {
            return Err(DomainError::InvalidCountries("at least one calling code (33 for France)"));
        }
        Ok(Self(codes))
    }

    /// Reads a number chosen at a door (a page, the API, an import): [`PhoneNumber::parse`], and
    /// of one of these countries ([`DomainError::CountryNotAllowed`] otherwise).
    pub fn parse_number(&self, input: &str) -> Result<PhoneNumber, DomainError> {
        let phone = PhoneNumber::parse(input)?;
        if self.allows(&phone) { Ok(phone) } else { Err(DomainError::CountryNotAllowed) }
    }

    /// Whether `phone` is a number of one of these countries.
    #[must_use]
    pub fn allows(&self, phone: &PhoneNumber) -> bool {
        let digits = &phone.as_str()[1..];
        self.0.iter().any(|code| digits.starts_with(code.as_str()))
    }

    /// The calling codes, as configured (without `+`).
    #[must_use]
    pub fn codes(&self) -> &[String] {
        &self.0
    }
}

impl Default for AllowedCountries {
    fn default() -> Self {
        Self::france()
    }
}

/// The fixed (`02`, `05`) and mobile (`06`, `07`) blocks that ARCEP's numbering plan gives to
/// overseas France, as national prefixes after the trunk `0`, with the country code their
/// numbers are dialled with from abroad: Guadeloupe (with Saint-Martin and Saint-Barthélemy)
/// +590, Martinique +596, Guyane +594, La Réunion and Mayotte +262. Non-geographic numbers (`08`,
/// `09`) stay `+33`. Sources in `docs/data-model.md`.
const OVERSEAS_PREFIXES: &[(&str, &str)] = &[
    // Guadeloupe, Saint-Martin, Saint-Barthélemy.
    ("590", "590"),
    ("5987", "590"),
    ("690", "590"),
    ("691", "590"),
    ("70900", "590"),
    ("70901", "590"),
    ("70902", "590"),
    ("70903", "590"),
    ("70904", "590"),
    // Martinique.
    ("596", "596"),
    ("5989", "596"),
    ("696", "596"),
    ("697", "596"),
    ("70910", "596"),
    ("70911", "596"),
    ("70912", "596"),
    ("70913", "596"),
    // Guyane.
    ("594", "594"),
    ("5988", "594"),
    ("694", "594"),
    ("70930", "594"),
    ("70931", "594"),
    ("70932", "594"),
    ("70933", "594"),
    // La Réunion.
    ("262", "262"),
    ("263", "262"),
    ("2688", "262"),
    ("692", "262"),
    ("693", "262"),
    ("70920", "262"),
    ("70921", "262"),
    ("70922", "262"),
    ("70923", "262"),
    // Mayotte (its 0639 block holds ARCEP's fiction range, below).
    ("269", "262"),
    ("2689", "262"),
    ("639", "262"),
    ("70935", "262"),
    ("70936", "262"),
    ("70937", "262"),
];

/// ARCEP's range reserved for fiction (films, demos): `06 39 98 00 00` to `06 39 98 99 99`. It
/// sits inside Mayotte's `0639` block but is no one's number; it stays `+33639 98...`.
const FICTION_PREFIX: &str = "63998";

/// The country code of a French national number (its 9 digits after the trunk `0`).
fn country_code_of_national(national: &str) -> &'static str {
    if national.starts_with(FICTION_PREFIX) {
        return "33";
    }
    OVERSEAS_PREFIXES.iter().find(|(prefix, _)| national.starts_with(prefix)).map_or("33", |&(_, code)| code)
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
    #[test]
    fn french_national_form_reads_back_to_the_same_number() {
        for (e164, national) in [
            ("+33612345678", Some("0612345678")),
            ("+33639980001", Some("0639980001")),
            ("+590690123456", Some("0690123456")),
            ("+262692123456", Some("0692123456")),
            ("+262639123456", Some("0639123456")),
            ("+596696123456", Some("0696123456")),
            // Not a French national number: written in E.164.
            ("+262612345678", None),
            ("+447700900123", None),
            ("+508551234", None),
        ] {
            let number = super::PhoneNumber::parse(e164).unwrap();
            assert_eq!(number.french_national().as_deref(), national, "{e164}");
            if let Some(national) = national {
                assert_eq!(super::PhoneNumber::parse(national).unwrap(), number, "{national} reads back");
            }
        }
    }

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
    fn overseas_france_takes_its_own_country_code() {
        for (national, e164) in [
            ("0690 12 34 56", "+590690123456"),
            ("0691 12 34 56", "+590691123456"),
            ("0590 81 23 45", "+590590812345"),
            ("0696 12 34 56", "+596696123456"),
            ("0697 12 34 56", "+596697123456"),
            ("0596 61 23 45", "+596596612345"),
            ("0694 12 34 56", "+594694123456"),
            ("0594 29 12 34", "+594594291234"),
            ("0692 12 34 56", "+262692123456"),
            ("0693 12 34 56", "+262693123456"),
            ("0262 41 23 45", "+262262412345"),
            ("0263 01 23 45", "+262263012345"),
            ("0639 21 23 45", "+262639212345"),
            ("0709 00 12 34", "+590709001234"),
            ("0709 36 12 34", "+262709361234"),
            ("0598 71 23 45", "+590598712345"),
            ("0269 61 11 01", "+262269611101"),
        ] {
            assert_eq!(p(national), Ok(e164.to_owned()), "{national}");
            // What was stored is read back as it is.
            assert_eq!(p(e164), Ok(e164.to_owned()), "{e164}");
        }
        // ARCEP's fiction range, the demo's numbers, is in no territory.
        assert_eq!(p("06 39 98 00 01"), Ok("+33639980001".to_owned()));
        assert_eq!(p("0639989999"), Ok("+33639989999".to_owned()));
        assert_eq!(p("0639 97 00 01"), Ok("+262639970001".to_owned()));
        // Mainland numbers are unchanged, whatever digits follow.
        assert!(p("06 90 12 34 5").is_err());
        assert_eq!(p("0689 12 34 56"), Ok("+33689123456".to_owned()));
        assert_eq!(p("0159 01 23 45"), Ok("+33159012345".to_owned()));
        // An E.164 number is taken as written: +33 stays +33.
        assert_eq!(p("+33 6 90 12 34 56"), Ok("+33690123456".to_owned()));
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
    fn france_and_overseas_france_by_default() {
        let allowed = AllowedCountries::default();
        for number in [
            "06 12 34 56 78",
            "01 23 45 67 89",
            "0690 12 34 56",
            "0696 12 34 56",
            "0694 12 34 56",
            "0692 12 34 56",
            "0639 21 23 45",
            "+508 55 12 34",
            "06 39 98 00 01",
        ] {
            assert!(allowed.allows(&PhoneNumber::parse(number).unwrap()), "{number}");
        }
        // The Comoros (+269, Mayotte's code until 2007), the United Kingdom, Belgium, the United
        // States, Latvia, a Pacific territory with its own plan (+689).
        for number in [
            "+269 321 23 45",
            "+447700900123",
            "+32470123456",
            "+15551234567",
            "+37120000000",
            "+68987123456",
        ] {
            assert!(!allowed.allows(&PhoneNumber::parse(number).unwrap()), "{number}");
        }
    }

    #[test]
    fn countries_are_configured_as_calling_codes() {
        let allowed = AllowedCountries::parse(" 33, +32 ,33,").unwrap();
        assert_eq!(allowed.codes(), ["33", "32"]);
        assert!(allowed.allows(&PhoneNumber::parse("+32470123456").unwrap()));
        assert!(!allowed.allows(&PhoneNumber::parse("+590690123456").unwrap()));
        for bad in ["", " , ", "FR", "3333", "033", "+", "33;262", "3 3"] {
            assert!(AllowedCountries::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AllowedCountries::parse(&AllowedCountries::FRANCE.join(",")).unwrap(),
            AllowedCountries::france()
        );
    }

    #[test]
    fn a_range_is_a_block_of_100_000_numbers() {
        let range = |s: &str| PhoneNumber::parse(s).unwrap().range().to_owned();
        assert_eq!(range("+33612345678"), "+336123");
        assert_eq!(range("+33612399999"), "+336123");
        assert_ne!(range("+33612400000"), "+336123");
        assert_eq!(range("+590690123456"), "+5906901");
        assert_eq!(range("+12345678"), "+123");
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
            prop_assume!(country_code_of_national(&d) == "33");
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

        /// Overseas national numbers: the same number written nationally, with `00` or in
        /// E.164 under its own country code.
        #[test]
        fn overseas_national_and_e164_agree(
            prefix in proptest::sample::select(OVERSEAS_PREFIXES.to_vec()),
            rest in "[0-9]{6}",
        ) {
            let (prefix, code) = prefix;
            let d: String = format!("{prefix}{rest}").chars().take(9).collect();
            prop_assume!(!d.starts_with(FICTION_PREFIX));
            let e164 = format!("+{code}{d}");
            prop_assert_eq!(p(&format!("0{d}")).unwrap(), e164.clone());
            prop_assert_eq!(p(&e164).unwrap(), e164.clone());
            prop_assert_eq!(p(&format!("00{code}{d}")).unwrap(), e164);
        }
    }

    /// The parser against Google's libphonenumber (the `phonenumber` crate): a French national
    /// number that libphonenumber finds valid in an overseas territory is given that
    /// territory's country code, one valid in mainland France only `+33`; the fiction range
    /// stays `+33`.
    mod against_libphonenumber {
        use super::*;
        use phonenumber::Type;
        use phonenumber::country::Id;

        const OVERSEAS: [Id; 5] = [Id::GP, Id::MQ, Id::GF, Id::RE, Id::YT];

        /// The E.164 forms libphonenumber gives a national number in the territories where it
        /// is a valid fixed or mobile number (several territories may share a country code and
        /// a plan: La Réunion and Mayotte). Toll-free, shared-cost and VoIP numbers are left
        /// out: they belong to no territory (`0800...` is `+33 800...` from abroad).
        fn valid_in(territories: &[Id], national: &str) -> Vec<String> {
            territories
                .iter()
                .filter_map(|&id| phonenumber::parse(Some(id), national).ok())
                .filter(phonenumber::is_valid)
                .filter(|n| {
                    matches!(
                        n.number_type(&phonenumber::metadata::DATABASE),
                        Type::FixedLine | Type::Mobile | Type::FixedLineOrMobile
                    )
                })
                .map(|n| n.format().mode(phonenumber::Mode::E164).to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        }

        fn national_numbers() -> impl Strategy<Value = String> {
            let overseas: Vec<String> = OVERSEAS_PREFIXES.iter().map(|(p, _)| (*p).to_owned()).collect();
            prop_oneof![
                "[1-9][0-9]{8}",
                (proptest::sample::select(overseas), "[0-9]{6}")
                    .prop_map(|(p, rest)| format!("{p}{rest}").chars().take(9).collect::<String>()),
                "[67][0-9]{8}",
                "709[0-3][0-9]{5}",
                "26[2389][0-9]{6}",
                "598[7-9][0-9]{5}",
            ]
            .prop_map(|d| format!("0{d}"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn agrees_on_french_national_numbers(national in national_numbers()) {
                let ours = p(&national).unwrap();
                if national[1..].starts_with(FICTION_PREFIX) {
                    prop_assert_eq!(ours, format!("+33{}", &national[1..]));
                } else {
                    // Only the fixed and mobile blocks (02, 05, 06, 07) are territorial; the
                    // other numbers keep +33 whatever libphonenumber's overseas plans say of them
                    // (some 08 and 09 numbers).
                    let territorial = matches!(national.as_bytes()[1], b'2' | b'5' | b'6' | b'7');
                    // libphonenumber's plan for mainland France is loose: it also matches some
                    // overseas blocks (`0596...` is "valid" under +33). A territory's plan comes
                    // first, and a number of an overseas block that no territory's plan lists (not
                    // assigned yet) says nothing about +33.
                    let overseas = if territorial { valid_in(&OVERSEAS, &national) } else { Vec::new() };
                    let in_overseas_block = OVERSEAS_PREFIXES.iter().any(|(p, _)| national[1..].starts_with(p));
                    prop_assert!(overseas.len() <= 1, "{national}: {overseas:?}");
                    if let Some(theirs) = overseas.first() {
                        prop_assert_eq!(&ours, theirs, "{}", national);
                    } else if !in_overseas_block {
                        prop_assert_eq!(&ours, &format!("+33{}", &national[1..]), "{}", national);
                        if let Some(theirs) = valid_in(&[Id::FR], &national).pop() {
                            prop_assert_eq!(&ours, &theirs, "{}", national);
                        }
                    }
                }
            }

            #[test]
            fn what_we_store_libphonenumber_reads_back(national in national_numbers()) {
                let ours = p(&national).unwrap();
                let back = phonenumber::parse(None, &ours).unwrap();
                prop_assert_eq!(back.format().mode(phonenumber::Mode::E164).to_string(), ours);
            }
        }
    }
}
