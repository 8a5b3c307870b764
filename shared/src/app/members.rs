//! A referent's care of their community: adding a member, removing one, approving or refusing a
//! request to join. The door has checked that the caller is the community's referent; here are
//! the rules of what they may do to whom.

use tracing::{info, instrument, warn};

use crate::adapters::now_ms;
use crate::compose;
use crate::domain::texts::{invitation_sms, second_community_sms};
use crate::domain::{
    AllowedCountries, Community, CommunityId, DomainError, Email, FirstName, LastName, Member, MemberId,
    PhoneNumber, Role, UnsubscribeToken,
};
use crate::model::{InboundMessageId, Offer};
use crate::ports::{
    Limits, Mailer, MemberLookup, Membership, Offers, RegisterError, Registry, SendError, StoreError, Texter,
};

/// Members a community's referents may add in a day (with a number or not), and invitations
/// they may send again: a referent's account in the wrong hands texts at most this many
/// strangers a day, and tries at most this many numbers or addresses.
pub const INVITATIONS_PER_COMMUNITY_PER_DAY: u32 = 20;
const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The limit key of a community's adds and invitations of the day.
fn invitations_key(community: &Community) -> String {
    format!("invitations#{}", community.id)
}

/// How long a member whose number or address a referent typed may take the invitation.
pub const OFFER_VALID: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// How the use cases that invite reach people: by SMS to the `countries` vigie texts, and by
/// email from the service's address with a link to the settings page, where a member invited to
/// a second community answers.
pub struct Messengers<'a, T, M> {
    pub texter: &'a T,
    pub mailer: &'a M,
    pub countries: &'a AllowedCountries,
    pub from: &'a Email,
    pub settings_url: String,
}

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
    /// No such member or request in the referent's community (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// Not a member a referent may remove: themselves, or the police (who belong to several
    /// communities).
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Register(RegisterError),
    /// More members added than [`INVITATIONS_PER_COMMUNITY_PER_DAY`] today: not added.
    #[error("too many invitations today")]
    TooManyInvitations,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegisterError> for Problem {
    fn from(err: RegisterError) -> Self {
        match err {
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
        quiet_hours: false,
        role: Role::Resident,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
        stands_for: None,
        town: None,
    }
}

/// Adds a resident to the referent's community; a number outside the `countries` is refused.
/// A number is texted one invitation naming the community and the referent
/// (`docs/consent.md`), and gets nothing else until its owner answers OUI. A number or address
/// that is already a member's is answered alike: the referent sees an invitation, and its
/// holder is asked ([`register_or_offer`]). Every add counts against the community's
/// [`INVITATIONS_PER_COMMUNITY_PER_DAY`], so nobody tries numbers or addresses in bulk.
#[instrument(skip_all, fields(community = %community.id))]
pub async fn add<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    community: &Community,
    referent: &FirstName,
    values: &NewMember,
    countries: &AllowedCountries,
) -> Result<Added, Problem>
where
    S: Limits + Registry + MemberLookup + Offers + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let member = check_new_member(values, vec![community.id.clone()], countries).map_err(Problem::Invalid)?;
    let key = invitations_key(community);
    if !store.within_limit(&key, INVITATIONS_PER_COMMUNITY_PER_DAY, DAY).await? {
        warn!(community = %community.id, "additions rate-limited for this community");
        return Err(Problem::TooManyInvitations);
    }
    register_or_offer(store, messengers, community, referent, member).await
}

/// Registers `member` and texts their invitation; when their number or address is already a
/// member's (the holder), registers instead a row that stands for the holder
/// ([`Member::stands_for`]: it claims nothing, nothing is delivered to it) and asks the holder
/// whether they want this community too ([`offer`]). The referent is answered alike in both
/// cases, so their form tells nobody which numbers and addresses are registered.
async fn register_or_offer<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    community: &Community,
    referent: &FirstName,
    member: Member,
) -> Result<Added, Problem>
where
    S: Limits + Registry + MemberLookup + Offers + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let holder = match store.register(&member).await {
        Ok(()) => None,
        Err(RegisterError::PhoneTaken) => Some(holder(store, member.phone.as_ref(), None).await?),
        Err(RegisterError::EmailTaken) => Some(holder(store, None, member.email.as_ref()).await?),
        Err(err) => return Err(err.into()),
    };
    let Some(holder) = holder else {
        info!(member = %member.id, "member added by the referent");
        let invitation = invite(messengers.texter, &member, community, referent).await;
        return Ok(Added { member, invitation });
    };
    let standing = Member { stands_for: Some(holder.id), ..member };
    store.register(&standing).await?;
    info!(member = %standing.id, holder = %holder.id, "invitation to the holder of a number or address");
    offer(store, messengers, community, referent, &holder, &standing).await?;
    let invitation = if standing.invited() { Invitation::Sent } else { Invitation::None };
    Ok(Added { member: standing, invitation })
}

/// The member who holds `phone` or `email`, which the store just said is taken.
async fn holder<S: MemberLookup + Sync>(
    store: &S,
    phone: Option<&PhoneNumber>,
    email: Option<&Email>,
) -> Result<Member, Problem> {
    let found = match (phone, email) {
        (Some(phone), _) => store.member_by_phone(phone).await?,
        (None, Some(email)) => store.member_by_email(email).await?,
        (None, None) => None,
    };
    // Released since (the member left, changed their number): the referent tries again.
    found.ok_or(Problem::Store(StoreError::Unavailable {
        operation: "register",
        message: "a number or address was released while it was added".into(),
    }))
}

/// Asks `holder` whether they want the alerts of `community` too, by SMS if they receive alerts
/// by SMS, else by email, once a day at most: the referent's page shows `standing` as any
/// invitation. Nothing is asked of the police or of a referent (their role is one
/// community's), nor of a member already in `community`. A message that cannot go out is
/// logged: the referent may send the invitation again.
async fn offer<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    community: &Community,
    referent: &FirstName,
    holder: &Member,
    standing: &Member,
) -> Result<(), Problem>
where
    S: Limits + Offers + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    if holder.role != Role::Resident || holder.belongs_to(&community.id) {
        info!(holder = %holder.id, "holder not asked: not a resident, or already in the community");
        return Ok(());
    }
    let offer = Offer {
        holder: holder.id,
        community: community.id.clone(),
        community_name: community.name.clone(),
        referent: referent.to_string(),
        placeholder: standing.id,
        until_ms: now_ms() + OFFER_VALID.as_millis() as i64,
        joined: None,
    };
    store.put_offer(&offer).await?;
    if !store.within_limit(&format!("offer#{}", holder.id), 1, DAY).await? {
        info!(holder = %holder.id, "holder already asked today");
        return Ok(());
    }
    let sent = if let Some(phone) = holder.wants_sms().filter(|p| messengers.countries.allows(p)) {
        let text = second_community_sms(referent.as_str(), &community.name);
        messengers.texter.send_sms(phone, &text).await.map(drop)
    } else if let Some(email) = &holder.email {
        let mime = compose::second_community_email(
            messengers.from,
            email,
            &holder.first_name,
            referent.as_str(),
            &community.name,
            &messengers.settings_url,
        );
        messengers.mailer.send_raw(email, mime).await.map(drop)
    } else {
        Ok(())
    };
    match sent {
        Ok(()) => info!(holder = %holder.id, "holder asked"),
        Err(SendError::Permanent(error) | SendError::Transient(error)) => {
            warn!(holder = %holder.id, %error, "holder not asked");
        }
    }
    Ok(())
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
/// is not invited ([`Problem::Forbidden`]): nobody can be texted again after refusing. A row
/// that stands for a holder asks the holder again, under the same limits.
#[instrument(skip_all, fields(community = %community.id, member = %id))]
pub async fn reinvite<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    community: &Community,
    referent: &FirstName,
    id: MemberId,
) -> Result<Invitation, Problem>
where
    S: MemberLookup + Limits + Offers + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let member = store.member(id).await?.ok_or(Problem::NotFound)?;
    if !member.belongs_to(&community.id) {
        return Err(Problem::NotFound);
    }
    if !member.invited() || !member.sms_alerts {
        return Err(Problem::Forbidden);
    }
    let once_a_day = store.within_limit(&format!("reinvite#{id}"), 1, DAY).await?;
    let key = invitations_key(community);
    if !once_a_day || !store.within_limit(&key, INVITATIONS_PER_COMMUNITY_PER_DAY, DAY).await? {
        warn!("invitation not sent again: limit of the day");
        return Err(Problem::TooManyInvitations);
    }
    if let Some(holder) = member.stands_for {
        if let Some(holder) = store.member(holder).await? {
            offer(store, messengers, community, referent, &holder, &member).await?;
        }
        return Ok(Invitation::Sent);
    }
    Ok(invite(messengers.texter, &member, community, referent).await)
}

/// Removes a member from the referent's community: not themselves, not the police. A member who
/// belongs to other communities too stays in those; a row that stands for a holder goes with
/// the holder's invitation.
#[instrument(skip_all, fields(community = %community.id, referent = %referent))]
pub async fn remove<S>(
    store: &S,
    community: &Community,
    referent: MemberId,
    id: MemberId,
) -> Result<(), Problem>
where
    S: MemberLookup + Membership + Offers + Sync,
{
    let member = store.member(id).await?.ok_or(Problem::NotFound)?;
    if !member.belongs_to(&community.id) {
        return Err(Problem::NotFound);
    }
    if member.id == referent || member.role == Role::Police {
        return Err(Problem::Forbidden);
    }
    if member.communities.len() > 1 {
        let mut stays = member.clone();
        stays.communities.retain(|c| c != &community.id);
        store.update_member(&member, &stays).await?;
        info!(member = %member.id, "member removed from the community by the referent");
        return Ok(());
    }
    if let Some(holder) = member.stands_for {
        store.drop_offer(holder, &community.id).await?;
    }
    store.remove_member(&member).await?;
    info!(member = %member.id, "member removed by the referent");
    Ok(())
}

/// Approves a request to join: it becomes a resident (alerts on for each contact given), who
/// can then sign in with their address. Taken once; a number or address that is already a
/// member's is answered as [`add`] answers it; if the store fails, the request is put back.
#[instrument(skip_all, fields(community = %community.id))]
pub async fn approve<S, T, M>(
    store: &S,
    messengers: &Messengers<'_, T, M>,
    community: &Community,
    referent: &FirstName,
    id: MemberId,
) -> Result<Added, Problem>
where
    S: Membership + Registry + MemberLookup + Limits + Offers + Sync,
    T: Texter + Sync,
    M: Mailer + Sync,
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
    match register_or_offer(store, messengers, community, referent, member).await {
        Ok(added) => {
            info!(member = %added.member.id, "join request approved");
            Ok(added)
        }
        Err(err) => {
            store.add_join_request(&request).await?;
            Err(err)
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

/// The invitations to other communities `holder` may take ([`offer`]), newest first.
pub async fn offers<S: Offers + Sync>(store: &S, holder: &Member) -> Result<Vec<Offer>, StoreError> {
    Ok(store.offers(holder.id).await?.into_iter().filter(|o| o.joined.is_none()).collect())
}

/// How a holder takes an invitation.
#[derive(Clone, Copy, Debug)]
pub enum Answer<'a> {
    /// On their settings page, for this community.
    Page(&'a CommunityId),
    /// By texting OUI: the newest invitation (the one this message took, when it is retried).
    Sms(&'a InboundMessageId),
}

/// `holder` takes an invitation ([`Answer`]): they belong to its community too, and the row that
/// stood for them goes. `None` when there was no such invitation (expired, never made, taken
/// already). Done again for the same answer, it changes nothing.
#[instrument(skip_all, fields(holder = %holder.id))]
pub async fn join_offered<S>(
    store: &S,
    holder: &Member,
    answer: Answer<'_>,
) -> Result<Option<Offer>, StoreError>
where
    S: MemberLookup + Membership + Offers + Sync,
{
    let mut offers = store.offers(holder.id).await?;
    let found = match answer {
        Answer::Page(community) => {
            offers.into_iter().find(|o| &o.community == community && o.joined.is_none())
        }
        Answer::Sms(inbound) => {
            match offers.iter().position(|o| o.joined.as_deref() == Some(inbound.as_str())) {
                Some(retried) => Some(offers.swap_remove(retried)),
                None => offers.into_iter().find(|o| o.joined.is_none()),
            }
        }
    };
    let Some(mut offer) = found else {
        return Ok(None);
    };
    if holder.role == Role::Resident && !holder.belongs_to(&offer.community) {
        let mut joined = holder.clone();
        joined.communities.push(offer.community.clone());
        store.update_member(holder, &joined).await.map_err(|err| match err {
            RegisterError::Store(err) => err,
            other => StoreError::Unavailable { operation: "join community", message: other.to_string() },
        })?;
        info!(community = %offer.community, "member joined a second community");
    }
    if let Some(standing) = store.member(offer.placeholder).await?
        && standing.stands_for == Some(holder.id)
    {
        store.remove_member(&standing).await?;
    }
    offer.joined = Some(match answer {
        Answer::Page(_) => "page".to_owned(),
        Answer::Sms(inbound) => inbound.as_str().to_owned(),
    });
    store.put_offer(&offer).await?;
    Ok(Some(offer))
}

/// `holder` declines the invitation of `community`: it goes; the referent's row stays an
/// unanswered invitation, as a stranger's would.
pub async fn decline_offered<S: Offers + Sync>(
    store: &S,
    holder: &Member,
    community: &CommunityId,
) -> Result<(), StoreError> {
    store.drop_offer(holder.id, community).await?;
    info!(holder = %holder.id, %community, "invitation to a second community declined");
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
