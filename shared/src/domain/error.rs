//! Validation errors of the domain layer.

use thiserror::Error;

/// Why a domain value was rejected.
///
/// Messages say what is wrong without echoing the raw input (phone numbers
/// and e-mail addresses are personal data and must not end up in logs).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The phone number could not be read as E.164 or French national format.
    #[error("invalid phone number: {0}")]
    InvalidPhone(&'static str),
    /// A list of the countries allowed for SMS is not a list of calling codes.
    #[error("invalid list of countries: {0}")]
    InvalidCountries(&'static str),
    /// A valid number, of a country vigie does not text ([`crate::domain::AllowedCountries`]).
    #[error("phone number of a country vigie does not text (SMS_COUNTRIES)")]
    CountryNotAllowed,
    /// The e-mail address is malformed.
    #[error("invalid e-mail address: {0}")]
    InvalidEmail(&'static str),
    /// A first or last name is empty, too long or contains forbidden characters.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A first name that reads, but could pass for a role label or the service itself
    /// ([`crate::domain::FirstName::parse_chosen`]).
    #[error("first name not allowed: {0}")]
    NameNotAllowed(&'static str),
    /// A community id is not `[a-z0-9-]{1,64}`.
    #[error("invalid community id: expected 1 to 64 characters among a-z, 0-9 and '-'")]
    InvalidCommunityId,
    /// A member or alert id is not a valid ULID.
    #[error("invalid id: expected a 26-character ULID")]
    InvalidId,
    /// Not one of the alert categories.
    #[error("unknown alert category")]
    InvalidCategory,
    /// The alert text is empty once cleaned.
    #[error("the alert text is empty")]
    EmptyAlert,
    /// The alert text is longer than allowed.
    #[error("the alert text is too long: {actual} characters, at most {max} allowed")]
    AlertTooLong {
        /// Maximum number of characters.
        max: usize,
        /// Number of characters received.
        actual: usize,
    },
    /// An unsubscribe token is not 64 lowercase hexadecimal characters.
    #[error("invalid token")]
    InvalidToken,
    /// An unknown role name.
    #[error("invalid role: expected resident, referent or police")]
    InvalidRole,
    /// An unknown alert source name.
    #[error("invalid alert source: expected sms, web or police")]
    InvalidSource,
    /// Not an origination identity AWS accepts (short code, E.164 number, sender ID, pool...).
    #[error("invalid origination identity: {0}")]
    InvalidOrigination(&'static str),
    /// Not an IPv4 or IPv6 address.
    #[error("invalid IP address")]
    InvalidIp,
    /// Not a time zone name the IANA database knows.
    #[error("invalid time zone: expected an IANA name such as Europe/Paris or America/Guadeloupe")]
    InvalidTimeZone,
}
