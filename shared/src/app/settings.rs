//! A member's own settings: first name, mobile number, who sees it, and how alerts reach them.

use tracing::info;

use crate::domain::{AllowedCountries, DomainError, FirstName, Member};
use crate::ports::{Membership, RegisterError, StoreError};

/// The settings as typed (the page's form, or the API's patch applied to the current ones).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub first_name: String,
    /// Empty to remove the number.
    pub phone: String,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
}

/// What is wrong with the settings. Every one is told, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    FirstName,
    /// A name that could pass for the police, the town hall or the service
    /// ([`FirstName::parse_chosen`]).
    FirstNameNotAllowed,
    Phone,
    /// A number of a country vigie does not text ([`AllowedCountries`], `SMS_COUNTRIES`).
    PhoneCountry,
    /// No number left, and no address: nothing could reach them.
    ContactNeeded,
}

/// Why the settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("invalid settings: {0:?}")]
    Invalid(Vec<Invalid>),
    #[error("this phone number already belongs to a member")]
    PhoneTaken,
    #[error(transparent)]
    Register(RegisterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Saves `member`'s settings: the profile and every membership follow; a new number is claimed,
/// the old one released. Nothing is written when nothing changed. Answers the member as saved.
/// A number must be of one of the `countries` (a number stored before the rule, kept as it is,
/// is no longer texted: the fan-out skips it).
pub async fn save<S: Membership + Sync>(
    store: &S,
    member: &Member,
    changes: &Changes,
    countries: &AllowedCountries,
) -> Result<Member, Problem> {
    let mut invalid = Vec::new();
    let first_name = FirstName::parse_chosen(&changes.first_name).map_err(|err| {
        invalid.push(match err {
            DomainError::NameNotAllowed(_) => Invalid::FirstNameNotAllowed,
            _ => Invalid::FirstName,
        })
    });
    let phone = match changes.phone.trim() {
        "" => Ok(None),
        raw => countries.parse_number(raw).map(Some).map_err(|err| {
            invalid.push(match err {
                DomainError::CountryNotAllowed => Invalid::PhoneCountry,
                _ => Invalid::Phone,
            })
        }),
    };
    if let Ok(None) = phone
        && member.email.is_none()
    {
        invalid.push(Invalid::ContactNeeded);
    }
    let (Ok(first_name), Ok(phone), true) = (first_name, phone, invalid.is_empty()) else {
        return Err(Problem::Invalid(invalid));
    };
    let updated = Member {
        first_name,
        phone,
        hide_phone: changes.hide_phone,
        sms_alerts: changes.sms_alerts,
        email_alerts: changes.email_alerts,
        ..member.clone()
    }
    .settling_problems(member);
    if &updated != member {
        match store.update_member(member, &updated).await {
            Ok(()) => info!(member = %updated.id, "settings saved"),
            Err(RegisterError::PhoneTaken) => return Err(Problem::PhoneTaken),
            Err(RegisterError::Store(err)) => return Err(Problem::Store(err)),
            Err(err) => return Err(Problem::Register(err)),
        }
    }
    Ok(updated)
}
