//! A member's own settings: first name, mobile number, who sees it, and how alerts reach them.
//! A new number is not saved here: it gets a code ([`super::phone`]) and becomes the member's
//! once the code is typed back.

use tracing::info;

use super::phone::{self, SendProblem};
use crate::domain::{AllowedCountries, DomainError, FirstName, Member, PhoneNumber};
use crate::ports::{Limits, MemberLookup, Membership, PhoneCodes, RegisterError, StoreError, Texter};

/// The settings as typed (the page's form, or the API's patch applied to the current ones).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub first_name: String,
    /// Empty to remove the number.
    pub phone: String,
    pub hide_phone: bool,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    /// No SMS at night ([`Member::quiet_hours`]).
    pub quiet_hours: bool,
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
    /// The new number's code was not sent; nothing was saved.
    #[error(transparent)]
    Code(SendProblem),
    #[error(transparent)]
    Register(RegisterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The settings as saved.
#[derive(Clone, Debug)]
pub struct Saved {
    pub member: Member,
    /// The new number typed, which a code was sent to: it is the member's once confirmed.
    pub code_sent_to: Option<PhoneNumber>,
}

/// Saves `member`'s settings: the profile and every membership follow. A new number is texted
/// a code first ([`phone::send_code`]) and stays apart until confirmed; if the code cannot be
/// sent nothing is saved. Removing the number is immediate (its claim is released). Nothing is
/// written when nothing changed. A number must be of one of the `countries` (a number stored
/// before the rule, kept as it is, is no longer texted: the fan-out skips it).
pub async fn save<S, T>(
    store: &S,
    texter: &T,
    member: &Member,
    changes: &Changes,
    countries: &AllowedCountries,
) -> Result<Saved, Problem>
where
    S: Limits + MemberLookup + Membership + PhoneCodes + Sync,
    T: Texter + Sync,
{
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
    let (phone, code_sent_to) = match phone {
        Some(new) if member.phone.as_ref() != Some(&new) => {
            phone::send_code(store, texter, member, &new).await.map_err(Problem::Code)?;
            (member.phone.clone(), Some(new))
        }
        same_or_none => (same_or_none, None),
    };
    let updated = Member {
        first_name,
        phone,
        hide_phone: changes.hide_phone,
        sms_alerts: changes.sms_alerts,
        email_alerts: changes.email_alerts,
        quiet_hours: changes.quiet_hours,
        ..member.clone()
    }
    .settling_problems(member);
    if &updated != member {
        match store.update_member(member, &updated).await {
            Ok(()) => info!(member = %updated.id, "settings saved"),
            Err(RegisterError::Store(err)) => return Err(Problem::Store(err)),
            Err(err) => return Err(Problem::Register(err)),
        }
    }
    Ok(Saved { member: updated, code_sent_to })
}
