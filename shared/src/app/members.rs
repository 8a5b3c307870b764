//! A referent's care of their community: adding a member, removing one, approving or refusing a
//! request to join. The door has checked that the caller is the community's referent; here are
//! the rules of what they may do to whom.

use tracing::{info, instrument, warn};

use crate::domain::texts::invitation_sms;
use crate::domain::{
    AllowedCountries, Community, CommunityId, DomainError, Email, FirstName, LastName, Member, MemberId,
    PhoneNumber, Role, UnsubscribeToken,
};
use crate::ports::{
    Limits, MemberLookup, Membership, RegisterError, Registry, SendError, StoreError, Texter,
};

/// Invitations a community's referents may send in a day, by adding members with a number: a
/// referent's account in the wrong hands texts at most this many strangers a day.
pub const INVITATIONS_PER_COMMUNITY_PER_DAY: u32 = 20;
const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A new member as typed (in the referent's form, or sent to the API).
#[derive(Clone, Debug, Default)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    /// Empty for none.
    pub email: String,
    /// Empty for none.
    pub phone: String,
    pub sms_alerts: bool,
    pub email_alerts: bool,
    pub hide_phone: bool,
}

/// What is wrong with a new member. Every one is told, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    FirstName,
    /// A name that could pass for the police, the town hall or the service
    /// ([`FirstName::parse_chosen`]).
    FirstNameNotAllowed,
    LastName,
    Email,
    Phone,
    /// A number of a country vigie does not text ([`AllowedCountries`], `SMS_COUNTRIES`).
    PhoneCountry,
    /// Neither a number nor an address: nothing could reach them.
    ContactRequired,
}

/// Why a referent's request was not done.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("invalid member: {0:?}")]
    Invalid(Vec<Invalid>),
    #[error("this phone number already belongs to a member")]
    PhoneTaken,
    #[error("this email address already belongs to a member")]
    EmailTaken,
    /// No such member or request in the referent's community (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// Not a member a referent may remove: themselves, or the police (who belong to several
    /// communities).
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Register(RegisterError),
    /// More members with a number than [`INVITATIONS_PER_COMMUNITY_PER_DAY`] today: not added.
    #[error("too many invitations today")]
    TooManyInvitations,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegisterError> for Problem {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::PhoneTaken => Problem::PhoneTaken,
            RegisterError::EmailTaken => Problem::EmailTaken,
            RegisterError::Store(err) => Problem::Store(err),
            other => Problem::Register(other),
        }
    }
}

/// Checks a new resident of `communities`: names, and a number (of one of the `countries`) or
/// an address.
pub fn check_new_member(
    values: &NewMember,
    communities: Vec<CommunityId>,
    countries: &AllowedCountries,
) -> Result<Member, Vec<Invalid>> {
    let mut invalid = Vec::new();
    let first_name = FirstName::parse_chosen(&values.first_name)
        .map_err(|err| {
            invalid.push(match err {
                DomainError::NameNotAllowed(_) => Invalid::FirstNameNotAllowed,
                _ => Invalid::FirstName,
            })
        })
        .ok();
    let last_name = LastName::parse(&values.last_name).ok();
    if last_name.is_none() {
        invalid.push(Invalid::LastName);
    }
    let email = match values.email.trim() {
        "" => Some(None),
        raw => Email::parse(raw).ok().map(Some),
    };
    if email.is_none() {
        invalid.push(Invalid::Email);
    }
    let phone = match values.phone.trim() {
        "" => Some(None),
        raw => countries
            .parse_number(raw)
            .map_err(|err| {
                invalid.push(match err {
                    DomainError::CountryNotAllowed => Invalid::PhoneCountry,
                    _ => Invalid::Phone,
                })
            })
            .ok()
            .map(Some),
    };
    if let (Some(None), Some(None)) = (&email, &phone) {
        invalid.push(Invalid::ContactRequired);
    }
    match (first_name, last_name, email, phone) {
        (Some(first_name), Some(last_name), Some(email), Some(phone)) if invalid.is_empty() => {
            Ok(resident(communities, first_name, last_name, email, phone, values))
        }
        _ => Err(invalid),
    }
}

fn resident(
    communities: Vec<CommunityId>,
    first_name: FirstName,
    last_name: LastName,
    email: Option<Email>,
    phone: Option<PhoneNumber>,
    choices: &NewMember,
) -> Member {
    Member {
        id: MemberId::new(),
        communities,
        first_name,
        last_name,
        email,
        phone,
        hide_phone: choices.hide_phone,
        // Someone else typed the number (the referent, or the person asking to join, whose
        // number nobody checked): it waits for its owner's OUI.
        phone_confirmed: false,
        phone_consent: None,
        sms_alerts: choices.sms_alerts,
        email_alerts: choices.email_alerts,
        role: Role::Resident,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
    }
}

/// Adds a resident to the referent's community; a taken number or address, or a number outside
/// the `countries`, is refused. A number is texted one invitation naming the community and the
/// referent (`docs/consent.md`), and gets nothing else until its owner answers OUI.
#[instrument(skip_all, fields(community = %community.id))]
pub async fn add<S, T>(
    store: &S,
    texter: &T,
    community: &Community,
    referent: &FirstName,
    values: &NewMember,
    countries: &AllowedCountries,
) -> Result<Added, Problem>
where
    S: Limits + Registry + Sync,
    T: Texter + Sync,
{
    let member = check_new_member(values, vec![community.id.clone()], countries).map_err(Problem::Invalid)?;
    let key = format!("invitations#{}", community.id);
    if member.phone.is_some() && !store.within_limit(&key, INVITATIONS_PER_COMMUNITY_PER_DAY, DAY).await? {
        warn!(community = %community.id, "invitations rate-limited for this community");
        return Err(Problem::TooManyInvitations);
    }
    store.register(&member).await?;
    info!(member = %member.id, "member added by the referent");
    let invitation = invite(texter, &member, community, referent).await;
    Ok(Added { member, invitation })
}

/// A member added, and what became of the invitation texted to their number.
#[derive(Clone, Debug)]
pub struct Added {
    pub member: Member,
    pub invitation: Invitation,
}

/// The one text a number someone else typed gets before its owner says OUI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invitation {
    /// No number: nothing to ask.
    None,
    Sent,
    /// Not sent (the send failed): the member stays invited, and gets nothing until they text
    /// OUI themselves; the referent is told.
    NotSent(String),
}

/// Texts `member`'s number, if they have one, the invitation naming `community` and the
/// `referent` who added them.
async fn invite<T: Texter + Sync>(
    texter: &T,
    member: &Member,
    community: &Community,
    referent: &FirstName,
) -> Invitation {
    send_invitation(texter, member, &invitation_sms(referent.as_str(), &community.name)).await
}

/// Texts `member`'s number, if it waits for its owner's OUI, the invitation `text` (a
/// referent's, a town hall's).
pub(super) async fn send_invitation<T: Texter + Sync>(texter: &T, member: &Member, text: &str) -> Invitation {
    let Some(phone) = member.phone.as_ref().filter(|_| member.invited()) else {
        return Invitation::None;
    };
    match texter.send_sms(phone, text).await {
        Ok(_) => {
            info!(member = %member.id, "invitation texted");
            Invitation::Sent
        }
        Err(SendError::Permanent(error) | SendError::Transient(error)) => {
            warn!(member = %member.id, %error, "invitation not texted");
            Invitation::NotSent(error)
        }
    }
}

/// Texts an invited member of the referent's community their invitation again (their phone
/// was off, the text was lost): once a day per member, within the community's
/// [`INVITATIONS_PER_COMMUNITY_PER_DAY`]. A member whose number is confirmed, or who said STOP,
/// is not invited ([`Problem::Forbidden`]): nobody can be texted again after refusing.
#[instrument(skip_all, fields(community = %community.id, member = %id))]
pub async fn reinvite<S, T>(
    store: &S,
    texter: &T,
    community: &Community,
    referent: &FirstName,
    id: MemberId,
) -> Result<Invitation, Problem>
where
    S: MemberLookup + Limits + Sync,
    T: Texter + Sync,
{
    let member = store.member(id).await?.ok_or(Problem::NotFound)?;
    if !member.belongs_to(&community.id) {
        return Err(Problem::NotFound);
    }
    if !member.invited() || !member.sms_alerts {
        return Err(Problem::Forbidden);
    }
    let once_a_day = store.within_limit(&format!("reinvite#{id}"), 1, DAY).await?;
    let key = format!("invitations#{}", community.id);
    if !once_a_day || !store.within_limit(&key, INVITATIONS_PER_COMMUNITY_PER_DAY, DAY).await? {
        warn!("invitation not sent again: limit of the day");
        return Err(Problem::TooManyInvitations);
    }
    Ok(invite(texter, &member, community, referent).await)
}

/// Removes a member of the referent's community: not themselves, not the police.
#[instrument(skip_all, fields(community = %community.id, referent = %referent))]
pub async fn remove<S: MemberLookup + Membership + Sync>(
    store: &S,
    community: &Community,
    referent: MemberId,
    id: MemberId,
) -> Result<(), Problem> {
    let member = store.member(id).await?.ok_or(Problem::NotFound)?;
    if !member.belongs_to(&community.id) {
        return Err(Problem::NotFound);
    }
    if member.id == referent || member.role == Role::Police {
        return Err(Problem::Forbidden);
    }
    store.remove_member(&member).await?;
    info!(member = %member.id, "member removed by the referent");
    Ok(())
}

/// Approves a request to join: it becomes a resident (alerts on for each contact given), who
/// can then sign in with their address. Taken once; if it cannot be registered (the number or
/// address is a member's already, the store failed) the request is put back.
#[instrument(skip_all, fields(community = %community.id))]
pub async fn approve<S, T>(
    store: &S,
    texter: &T,
    community: &Community,
    referent: &FirstName,
    id: MemberId,
) -> Result<Added, Problem>
where
    S: Membership + Registry + Sync,
    T: Texter + Sync,
{
    let request = store.take_join_request(&community.id, id).await?.ok_or(Problem::NotFound)?;
    let choices =
        NewMember { sms_alerts: true, email_alerts: true, hide_phone: false, ..NewMember::default() };
    let member = resident(
        vec![community.id.clone()],
        request.first_name.clone(),
        request.last_name.clone(),
        request.email.clone(),
        request.phone.clone(),
        &choices,
    );
    match store.register(&member).await {
        Ok(()) => {
            info!(member = %member.id, "join request approved");
            let invitation = invite(texter, &member, community, referent).await;
            Ok(Added { member, invitation })
        }
        Err(err) => {
            store.add_join_request(&request).await?;
            Err(err.into())
        }
    }
}

/// Refuses a request to join: it is removed, once.
#[instrument(skip_all, fields(community = %community.id))]
pub async fn refuse<S: Membership + Sync>(
    store: &S,
    community: &Community,
    id: MemberId,
) -> Result<(), Problem> {
    store.take_join_request(&community.id, id).await?.ok_or(Problem::NotFound)?;
    info!("join request refused");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn france() -> AllowedCountries {
        AllowedCountries::france()
    }

    fn community() -> Vec<CommunityId> {
        vec![CommunityId::parse("les-tilleuls").unwrap()]
    }

    #[test]
    fn a_new_member_needs_names_and_a_way_to_reach_them() {
        let blank = NewMember::default();
        assert_eq!(
            check_new_member(&blank, community(), &france()).unwrap_err(),
            vec![Invalid::FirstName, Invalid::LastName, Invalid::ContactRequired]
        );
        let wrong = NewMember {
            first_name: "Denise".into(),
            last_name: "Lambert".into(),
            email: "not an address".into(),
            phone: "12".into(),
            ..NewMember::default()
        };
        assert_eq!(
            check_new_member(&wrong, community(), &france()).unwrap_err(),
            vec![Invalid::Email, Invalid::Phone]
        );
        let fine =
            NewMember { email: String::new(), phone: "06 39 98 00 42".into(), hide_phone: true, ..wrong };
        let member = check_new_member(&fine, community(), &france()).unwrap();
        assert_eq!(member.phone.as_ref().map(PhoneNumber::as_str), Some("+33639980042"));
        assert_eq!((member.role, member.hide_phone, member.email), (Role::Resident, true, None));
    }

    #[test]
    fn a_new_member_number_is_of_an_allowed_country() {
        let values = |phone: &str| NewMember {
            first_name: "Denise".into(),
            last_name: "Lambert".into(),
            phone: phone.into(),
            ..NewMember::default()
        };
        let foreign = values("+44 7700 900123");
        assert_eq!(
            check_new_member(&foreign, community(), &france()).unwrap_err(),
            vec![Invalid::PhoneCountry]
        );
        let british = AllowedCountries::parse("44").unwrap();
        assert!(check_new_member(&foreign, community(), &british).is_ok());
        assert!(check_new_member(&values("0690 12 34 56"), community(), &france()).is_ok(), "Guadeloupe");
        assert_eq!(
            check_new_member(&values("0690 12 34 56"), community(), &british).unwrap_err(),
            vec![Invalid::PhoneCountry]
        );
    }
}
