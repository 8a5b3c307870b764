//! Origination identities: who an SMS comes from, as AWS End User Messaging SMS knows them.
//!
//! Every form AWS accepts is recognised (sources in `docs/sms-identity.md`):
//! - a **short code**, 5 to 7 digits (`38123`: AF2M's 38xxx range is France's transactional one);
//! - a **long code**, an E.164 number of at most 14 digits (`+33939000000`);
//! - an alphanumeric **sender ID**, 3 to 11 letters and digits with at least one letter (`BELLERIVE`),
//!   which can send but never receive;
//! - a resource of End User Messaging named by id or ARN: a **phone pool** (`pool-` and 32 hex
//!   digits, or `arn:aws:sms-voice:<region>:<account>:pool/pool-...`), a **phone number id**
//!   (`phone-...`, or its `phone-number/` ARN), a **sender ID ARN** (`sender-id/<ID>/<country>`).
//!
//! vigie sends with SNS `Publish`, which takes a number in `AWS.MM.SMS.OriginationNumber` and a
//! sender ID in `AWS.SNS.SMS.SenderID` and documents nothing for pools or ARNs (those are
//! End User Messaging's `SendTextMessage` forms): [`OriginationIdentity::sns_attribute`] says which
//! attribute an identity goes in, or why it cannot be used. SNS documents the origination number as
//! "5–14 numbers, which can include an optional leading plus sign", and short codes as 4 to 7
//! digits: numbers are held to both (5 to 7 digits for a short code, at most 14 for a long code).
//!
//! Parsing is a few byte comparisons, no regular expression: it runs at every cold start.

use std::fmt;

use super::{DomainError, PhoneNumber};

/// The message attribute of SNS `Publish` that carries an origination number.
pub const SNS_ORIGINATION_NUMBER: &str = "AWS.MM.SMS.OriginationNumber";
/// The message attribute of SNS `Publish` that carries a sender ID.
pub const SNS_SENDER_ID: &str = "AWS.SNS.SMS.SenderID";

/// A short code: 5 to 7 digits, not starting with 0.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ShortCode(String);

impl ShortCode {
    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An alphanumeric sender ID: 3 to 11 ASCII letters and digits, at least one letter.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SenderId(String);

impl SenderId {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of End User Messaging resource an id or ARN names.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ResourceKind {
    Pool,
    PhoneNumber,
    SenderId,
}

impl ResourceKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Pool => "a phone pool",
            Self::PhoneNumber => "a phone number id",
            Self::SenderId => "a sender ID ARN",
        }
    }
}

/// An End User Messaging resource named by its id (`pool-...`, `phone-...`) or its ARN.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SmsResource {
    pub kind: ResourceKind,
    /// As given: the id or the whole ARN.
    pub reference: String,
    /// Whether `reference` is an ARN (a shared resource must be named by its ARN).
    pub is_arn: bool,
}

/// Who an SMS comes from.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OriginationIdentity {
    ShortCode(ShortCode),
    LongCode(PhoneNumber),
    SenderId(SenderId),
    /// A pool, a phone number id or a sender ID ARN: End User Messaging's own references.
    Resource(SmsResource),
}

/// Why an identity cannot be given to SNS `Publish`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "{0} cannot be used with SNS Publish, which takes a phone number (AWS.MM.SMS.OriginationNumber) \
     or a sender ID (AWS.SNS.SMS.SenderID): give the short code, the number or the sender ID itself"
)]
pub struct NotForSns(&'static str);

/// Upper bound on the input looked at (an ARN is at most 256 characters for AWS).
const MAX_INPUT_LEN: usize = 256;

fn invalid(reason: &'static str) -> DomainError {
    DomainError::InvalidOrigination(reason)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl OriginationIdentity {
    /// Reads an identity as a town would write it in the template's parameters: the value itself,
    /// without spaces (`38123`, `+33939000000`, `BELLERIVE`, `pool-...`, an ARN).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(invalid("too long"));
        }
        let s = input.trim();
        if s.is_empty() {
            return Err(invalid("empty"));
        }
        if s.starts_with("arn:") {
            return parse_arn(s).map(Self::Resource);
        }
        if let Some(id) = s.strip_prefix("pool-") {
            return resource_id(id, ResourceKind::Pool, s);
        }
        if let Some(id) = s.strip_prefix("phone-") {
            return resource_id(id, ResourceKind::PhoneNumber, s);
        }
        if let Some(digits) = s.strip_prefix('+') {
            if !all_digits(digits) {
                return Err(invalid("a number in E.164 form is + and digits only (+33939000000)"));
            }
            if digits.len() < 8 {
                return Err(invalid("a short code is written without + (38123)"));
            }
            if digits.len() > 14 {
                return Err(invalid("SNS takes an origination number of at most 14 digits"));
            }
            return PhoneNumber::parse(s)
                .map(Self::LongCode)
                .map_err(|_| invalid("not an E.164 number (+ then 8 to 15 digits; +33 then 9)"));
        }
        if all_digits(s) {
            return match s.len() {
                5..=7 if !s.starts_with('0') => Ok(Self::ShortCode(ShortCode(s.to_owned()))),
                5..=7 => Err(invalid("a short code does not start with 0")),
                8.. => Err(invalid("a long code is written in E.164 form, with + and the country code")),
                _ => Err(invalid("a short code has 5 to 7 digits")),
            };
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b" .-()/".contains(&b)) {
            return Err(invalid(
                "write the number in one piece: a short code (38123) or E.164 (+33939000000)",
            ));
        }
        parse_sender_id(s).map(Self::SenderId)
    }

    /// The SNS `Publish` message attribute that names this identity, and its value.
    pub fn sns_attribute(&self) -> Result<(&'static str, &str), NotForSns> {
        match self {
            Self::ShortCode(code) => Ok((SNS_ORIGINATION_NUMBER, code.as_str())),
            Self::LongCode(number) => Ok((SNS_ORIGINATION_NUMBER, number.as_str())),
            Self::SenderId(id) => Ok((SNS_SENDER_ID, id.as_str())),
            Self::Resource(resource) => Err(NotForSns(resource.kind.describe())),
        }
    }

    /// Whether residents can answer an SMS from it. A sender ID cannot receive (AWS: "Sender IDs
    /// Whether an inbound message's number is this identity (a short code or a long code; a
    /// sender ID or a resource is never a message's sender).
    #[must_use]
    pub fn matches(&self, number: &str) -> bool {
        match self {
            Self::ShortCode(code) => same_number(code.as_str(), number),
            Self::LongCode(long) => same_number(long.as_str(), number),
            Self::SenderId(_) | Self::Resource(_) => false,
        }
    }

    /// do not support two-way SMS messaging"); numbers can when two-way SMS is enabled on them.
    #[must_use]
    pub fn can_receive(&self) -> bool {
        !matches!(self, Self::SenderId(_) | Self::Resource(SmsResource { kind: ResourceKind::SenderId, .. }))
    }

    /// The value as given to AWS.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::ShortCode(code) => code.as_str(),
            Self::LongCode(number) => number.as_str(),
            Self::SenderId(id) => id.as_str(),
            Self::Resource(resource) => &resource.reference,
        }
    }

    /// What kind of identity this is, in words (for logs and errors).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ShortCode(_) => "a short code",
            Self::LongCode(_) => "a long code",
            Self::SenderId(_) => "a sender ID",
            Self::Resource(resource) => resource.kind.describe(),
        }
    }
}

fn resource_id(id: &str, kind: ResourceKind, whole: &str) -> Result<OriginationIdentity, DomainError> {
    if !is_hex_id(id) {
        return Err(invalid("a pool or phone number id is pool- or phone- then 32 hexadecimal digits"));
    }
    Ok(OriginationIdentity::Resource(SmsResource { kind, reference: whole.to_owned(), is_arn: false }))
}

/// `arn:<partition>:sms-voice:<region>:<account>:<resource>`.
fn parse_arn(s: &str) -> Result<SmsResource, DomainError> {
    let bad = || invalid("an End User Messaging ARN is arn:aws:sms-voice:<region>:<account>:<pool/...>");
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") || service != "sms-voice" {
        return Err(bad());
    }
    let region_ok = region.len() >= 9
        && region.split('-').count() >= 3
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.bytes().last().is_some_and(|b| b.is_ascii_digit());
    if !region_ok || account.len() != 12 || !all_digits(account) {
        return Err(bad());
    }
    let kind = match resource.split_once('/') {
        Some(("pool", id)) if id.strip_prefix("pool-").is_some_and(is_hex_id) => ResourceKind::Pool,
        Some(("phone-number", id)) if id.strip_prefix("phone-").is_some_and(is_hex_id) => {
            ResourceKind::PhoneNumber
        }
        Some(("sender-id", rest)) => match rest.split_once('/') {
            Some((id, country))
                if parse_sender_id(id).is_ok()
                    && country.len() == 2
                    && country.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                ResourceKind::SenderId
            }
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    Ok(SmsResource { kind, reference: s.to_owned(), is_arn: true })
}

fn parse_sender_id(s: &str) -> Result<SenderId, DomainError> {
    if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("a sender ID has letters and digits only, no space or accent"));
    }
    if !(3..=11).contains(&s.len()) {
        return Err(invalid("a sender ID has 3 to 11 letters and digits"));
    }
    if !s.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(invalid("a sender ID has at least one letter"));
    }
    Ok(SenderId(s.to_owned()))
}

impl fmt::Display for OriginationIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The number residents text, and that replies come from: a short code or a long code (what can
/// receive SMS and what a phone can dial).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum SharedNumber {
    ShortCode(ShortCode),
    LongCode(PhoneNumber),
}

impl SharedNumber {
    /// Reads the shared number: a short code (`38123`) or an E.164 long code.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        match OriginationIdentity::parse(input)? {
            OriginationIdentity::ShortCode(code) => Ok(Self::ShortCode(code)),
            OriginationIdentity::LongCode(number) => Ok(Self::LongCode(number)),
            OriginationIdentity::SenderId(_) => Err(invalid(
                "a sender ID cannot receive SMS: the shared number must be a short code or a number",
            )),
            OriginationIdentity::Resource(_) => Err(invalid(
                "the shared number is the number residents text (a short code or an E.164 number), not an id or ARN",
            )),
        }
    }

    /// The number as AWS writes it (`38123`, `+33939000000`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::ShortCode(code) => code.as_str(),
            Self::LongCode(number) => number.as_str(),
        }
    }

    /// Whether an inbound message's `destinationNumber` is this number. AWS's example payload
    /// writes a long code in E.164; how it writes a short code is not documented, so the digits
    /// are compared with any leading `+` set aside (`38123` and `+38123` both match a short code).
    #[must_use]
    pub fn matches(&self, destination: &str) -> bool {
        same_number(self.as_str(), destination)
    }

    /// As an origination identity (to send from it).
    #[must_use]
    pub fn identity(&self) -> OriginationIdentity {
        match self {
            Self::ShortCode(code) => OriginationIdentity::ShortCode(code.clone()),
            Self::LongCode(number) => OriginationIdentity::LongCode(number.clone()),
        }
    }

    /// The long code, if the shared number is one.
    #[must_use]
    pub fn phone_number(&self) -> Option<&PhoneNumber> {
        match self {
            Self::LongCode(number) => Some(number),
            Self::ShortCode(_) => None,
        }
    }
}

/// Whether `number` (as an inbound message writes one) is `ours` (a short code or an E.164
/// number): the digits compared with any leading `+` set aside.
fn same_number(ours: &str, number: &str) -> bool {
    let number = number.trim();
    let digits = number.strip_prefix('+').unwrap_or(number);
    all_digits(digits) && digits == ours.trim_start_matches('+')
}

impl fmt::Display for SharedNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POOL: &str = "pool-a2a21dfe3b5d4506961fca46cb4a8bdf";
    const PHONE: &str = "phone-c8315deb34c643b7925b0b2d0669c729";

    fn kind(s: &str) -> Result<&'static str, DomainError> {
        OriginationIdentity::parse(s).map(|i| i.kind())
    }

    #[test]
    fn every_form_aws_accepts() {
        assert_eq!(kind("38123"), Ok("a short code"));
        assert_eq!(kind("1234567"), Ok("a short code"));
        assert_eq!(kind("+33939000000"), Ok("a long code"));
        assert_eq!(kind("+447700900123"), Ok("a long code"));
        assert_eq!(kind("BELLERIVE"), Ok("a sender ID"));
        assert_eq!(kind("Vigie2"), Ok("a sender ID"));
        assert_eq!(kind("ABC"), Ok("a sender ID"));
        assert_eq!(kind("MAIRIE12345"), Ok("a sender ID"));
        assert_eq!(kind(POOL), Ok("a phone pool"));
        assert_eq!(kind(PHONE), Ok("a phone number id"));
        let arn = format!("arn:aws:sms-voice:eu-west-3:123456789012:pool/{POOL}");
        assert_eq!(kind(&arn), Ok("a phone pool"));
        let arn = format!("arn:aws:sms-voice:eu-west-3:123456789012:phone-number/{PHONE}");
        assert_eq!(kind(&arn), Ok("a phone number id"));
        assert_eq!(
            kind("arn:aws:sms-voice:eu-west-3:123456789012:sender-id/BELLERIVE/FR"),
            Ok("a sender ID ARN")
        );
        assert_eq!(kind(" 38123 "), Ok("a short code"), "surrounding spaces are trimmed");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for s in [
            "",
            "   ",
            "0812",
            "08123",
            "123",
            "3812",
            "+123456789012345",
            "12345678",
            "0612345678",
            "+38123",
            "+3361234567",
            "+33 9 39 00 00 00",
            "AB",
            "BELLERIVE123",
            "BELLE RIVE",
            "Bellerivé",
            "ALERT-1",
            "pool-123",
            "pool-A2A21DFE3B5D4506961FCA46CB4A8BDF",
            "phone-",
            "arn:aws:sns:eu-west-3:123456789012:topic",
            "arn:aws:sms-voice:eu-west-3:1234:pool/pool-a2a21dfe3b5d4506961fca46cb4a8bdf",
            "arn:aws:sms-voice:eu-west-3:123456789012:pool/xyz",
            "arn:aws:sms-voice:eu-west-3:123456789012:sender-id/BELLERIVE/fr",
            "arn:aws:sms-voice:eu-west-3:123456789012:opt-out-list/Default",
            "arn:evil:sms-voice:eu-west-3:123456789012:pool/pool-a2a21dfe3b5d4506961fca46cb4a8bdf",
            "<script>",
            "３８１２３",
        ] {
            let err = OriginationIdentity::parse(s);
            assert!(matches!(err, Err(DomainError::InvalidOrigination(_))), "{s:?}: {err:?}");
        }
        assert!(OriginationIdentity::parse(&"A".repeat(300)).is_err());
    }

    #[test]
    fn sns_takes_numbers_and_sender_ids_only() {
        let id = |s| OriginationIdentity::parse(s).unwrap();
        assert_eq!(id("38123").sns_attribute(), Ok((SNS_ORIGINATION_NUMBER, "38123")));
        assert_eq!(id("+33939000000").sns_attribute(), Ok((SNS_ORIGINATION_NUMBER, "+33939000000")));
        assert_eq!(id("BELLERIVE").sns_attribute(), Ok((SNS_SENDER_ID, "BELLERIVE")));
        let err = id(POOL).sns_attribute().unwrap_err().to_string();
        assert!(err.starts_with("a phone pool cannot be used with SNS Publish"), "{err}");
        assert!(id(PHONE).sns_attribute().is_err());
        assert!(!id("BELLERIVE").can_receive());
        assert!(id("38123").can_receive());
    }

    #[test]
    fn the_shared_number_is_a_number() {
        assert_eq!(SharedNumber::parse("38123").unwrap().as_str(), "38123");
        assert_eq!(SharedNumber::parse("+33939000000").unwrap().as_str(), "+33939000000");
        for s in ["BELLERIVE", POOL, PHONE, "", "+38123"] {
            assert!(SharedNumber::parse(s).is_err(), "{s}");
        }
        let sender = SharedNumber::parse("BELLERIVE").unwrap_err().to_string();
        assert!(sender.contains("cannot receive"), "{sender}");
    }

    #[test]
    fn destinations_match_in_the_forms_aws_may_write_them() {
        let short = SharedNumber::parse("38123").unwrap();
        assert!(short.matches("38123"));
        assert!(short.matches("+38123"));
        assert!(short.matches(" 38123 "));
        assert!(!short.matches("38124"));
        assert!(!short.matches("+3338123"));
        assert!(!short.matches(""));
        assert!(!short.matches("+"));
        let long = SharedNumber::parse("+33939000000").unwrap();
        assert!(long.matches("+33939000000"));
        assert!(long.matches("33939000000"));
        assert!(!long.matches("+33939000001"));
        assert!(!long.matches("0939000000"), "AWS sends E.164, not the national form");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = OriginationIdentity::parse(&s);
            let _ = SharedNumber::parse(&s);
        }

        #[test]
        fn accepted_identities_round_trip(s in "[+0-9A-Za-z:/-]{0,80}") {
            if let Ok(identity) = OriginationIdentity::parse(&s) {
                prop_assert_eq!(identity.as_str(), s.trim());
                prop_assert_eq!(OriginationIdentity::parse(identity.as_str()), Ok(identity.clone()));
                // What SNS is given is always of a form it documents.
                if let Ok((name, value)) = identity.sns_attribute() {
                    if name == SNS_ORIGINATION_NUMBER {
                        let digits = value.trim_start_matches('+');
                        prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                        prop_assert!((5..=14).contains(&digits.len()));
                    } else {
                        prop_assert!((3..=11).contains(&value.len()));
                        prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric()));
                        prop_assert!(value.bytes().any(|b| b.is_ascii_alphabetic()));
                    }
                }
            }
        }

        #[test]
        fn short_codes_of_five_to_seven_digits(d in "[1-9][0-9]{4,6}") {
            let shared = SharedNumber::parse(&d).unwrap();
            prop_assert!(shared.matches(&d));
            let plus = format!("+{d}");
            prop_assert!(shared.matches(&plus));
            prop_assert!(matches!(OriginationIdentity::parse(&d), Ok(OriginationIdentity::ShortCode(_))));
        }

        #[test]
        fn sender_ids_need_a_letter(s in "[0-9]{3,11}") {
            // All digits is never a sender ID: a short code (5 to 7 digits) or an error.
            prop_assert!(!matches!(OriginationIdentity::parse(&s), Ok(OriginationIdentity::SenderId(_))));
        }

        #[test]
        fn long_codes_agree_with_phone_numbers(d in "[1-9][0-9]{7,12}") {
            let e164 = format!("+{d}");
            let identity = OriginationIdentity::parse(&e164);
            let phone = PhoneNumber::parse(&e164);
            prop_assert_eq!(identity.is_ok(), phone.is_ok());
            if let (Ok(OriginationIdentity::LongCode(n)), Ok(p)) = (identity, phone) {
                prop_assert_eq!(n, p);
            }
        }
    }
}
