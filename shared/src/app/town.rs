//! The town hall's desk (role `mairie`): the communities of its town, created and renamed by it,
//! their members as the town hall may see them (never a hidden number, never an address), and
//! their referents, appointed and removed by it.
//!
//! A town hall's account belongs to no community: every rule here takes its town, and a
//! community of another town is "unknown" to it (not told apart from one that does not exist).

use tracing::{info, instrument};

use crate::domain::{
    Community, CommunityId, FirstName, LastName, Member, MemberId, PhoneNumber, Role, TimeZoneId,
};
use crate::model::{Cursor, Recipient};
use crate::ports::{MemberLookup, Membership, RegisterError, Registry, Roster, StoreError};

use super::neighbours::visible_phone;

/// The longest community name.
pub const NAME_MAX_CHARS: usize = 80;
/// Roster rows read per query when counting a community.
const COUNT_PAGE: i32 = 1000;

/// Why a town hall's request was not done.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The caller is not a town hall's account.
    #[error("not a town hall's account")]
    NotTownHall,
    /// No community of the town has this id.
    #[error("no such community in the town")]
    UnknownCommunity,
    /// No member of that community has this id.
    #[error("no such member in the community")]
    UnknownMember,
    /// A community name: empty, too long, or without a letter or digit to make its id of.
    #[error("invalid community name")]
    InvalidName,
    /// A community of that id (the name folded) exists already, in this town or another.
    #[error("a community of that name exists")]
    NameTaken,
    /// Only a resident becomes a referent; only a referent stops being one (the police stay
    /// the police).
    #[error("not a {0} of the community")]
    WrongRole(Role),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegisterError> for Problem {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Store(err) => Problem::Store(err),
            // A member removed meanwhile.
            _ => Problem::UnknownMember,
        }
    }
}

/// The town of a town hall's account.
pub fn town_of(member: &Member) -> Result<&str, Problem> {
    match (&member.role, &member.town) {
        (Role::Mairie, Some(town)) => Ok(town),
        _ => Err(Problem::NotTownHall),
    }
}

/// A member as the town hall sees them: no address, the number only if its owner shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: MemberId,
    pub first_name: FirstName,
    pub last_name: Option<LastName>,
    pub role: Role,
    /// The number, when its owner did not hide it.
    pub phone: Option<PhoneNumber>,
    pub has_email: bool,
    /// A number its owner confirmed (or gave consent for on paper).
    pub number_confirmed: bool,
    /// A number waiting for its owner's OUI.
    pub number_invited: bool,
}

impl Person {
    fn of(recipient: &Recipient) -> Self {
        Self {
            id: recipient.member_id,
            first_name: recipient.first_name.clone(),
            last_name: recipient.last_name.clone(),
            role: recipient.role,
            phone: visible_phone(recipient, None).cloned(),
            has_email: recipient.email.is_some(),
            number_confirmed: recipient.phone.is_some() && recipient.phone_confirmed,
            number_invited: recipient.phone.is_some() && !recipient.phone_confirmed,
        }
    }
}

/// A community of the town, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub community: Community,
    pub members: u32,
    /// Members whose number is confirmed (they can be texted).
    pub confirmed_numbers: u32,
    /// Members whose number waits for its owner's OUI.
    pub invited_numbers: u32,
    /// Members without a number (email only).
    pub without_number: u32,
    pub referents: Vec<Person>,
}

/// The communities of the town hall's town, each counted from its roster (sorted by name).
#[instrument(skip_all, fields(town = %town))]
pub async fn communities<S: Membership + Roster + Sync>(
    store: &S,
    town: &str,
) -> Result<Vec<Summary>, StoreError> {
    let mut summaries = Vec::new();
    for community in store.communities_of_town(town).await? {
        let people = everyone(store, &community.id).await?;
        summaries.push(summarise(community, &people));
    }
    Ok(summaries)
}

fn summarise(community: Community, people: &[Person]) -> Summary {
    let count = |f: &dyn Fn(&Person) -> bool| people.iter().filter(|p| f(p)).count() as u32;
    Summary {
        community,
        members: people.len() as u32,
        confirmed_numbers: count(&|p| p.number_confirmed),
        invited_numbers: count(&|p| p.number_invited),
        without_number: count(&|p| !p.number_confirmed && !p.number_invited),
        referents: people.iter().filter(|p| p.role == Role::Referent).cloned().collect(),
    }
}

/// Every member of a community, as the town hall sees them.
async fn everyone<S: Roster + Sync>(store: &S, community: &CommunityId) -> Result<Vec<Person>, StoreError> {
    let mut people = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store.members_page(community, after.take(), COUNT_PAGE).await?;
        people.extend(page.items.iter().map(Person::of));
        match page.next {
            Some(next) if !page.items.is_empty() => after = Some(next),
            _ => break,
        }
    }
    Ok(people)
}

/// The community `id` of the town.
async fn of_town<S: Membership + Sync>(store: &S, town: &str, id: &str) -> Result<Community, Problem> {
    let communities = store.communities_of_town(town).await?;
    communities.into_iter().find(|c| c.id.as_str() == id).ok_or(Problem::UnknownCommunity)
}

/// A community of the town and its members, sorted by name.
pub async fn community<S: Membership + Roster + Sync>(
    store: &S,
    town: &str,
    id: &str,
) -> Result<(Summary, Vec<Person>), Problem> {
    let community = of_town(store, town, id).await?;
    let mut people = everyone(store, &community.id).await?;
    people.sort_by_key(|p| {
        (p.last_name.as_ref().map(|l| l.as_str().to_lowercase()), p.first_name.as_str().to_lowercase())
    });
    Ok((summarise(community, &people), people))
}

/// A community name as typed: trimmed, 1 to [`NAME_MAX_CHARS`] characters, one line, with a
/// letter or digit to make its id of.
fn checked_name(name: &str) -> Result<(String, CommunityId), Problem> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Problem::InvalidName);
    }
    let id = CommunityId::from_name(&name).ok_or(Problem::InvalidName)?;
    Ok((name, id))
}

/// Creates a community of the town named `name` (its id is the name folded: `Les Tilleuls` →
/// `les-tilleuls`), in the zone of the town's other communities. Refused when a community of
/// that id exists, whatever its town.
#[instrument(skip_all, fields(town = %town))]
pub async fn create<S: Membership + Sync>(store: &S, town: &str, name: &str) -> Result<Community, Problem> {
    let (name, id) = checked_name(name)?;
    let siblings = store.communities_of_town(town).await?;
    let time_zone = siblings.first().map_or_else(TimeZoneId::default, |c| c.time_zone.clone());
    // The town as the town's communities spell it (its account may differ in case).
    let town = siblings.first().map_or_else(|| town.to_owned(), |c| c.town.clone());
    let community = Community { id, name, town, time_zone, sms_budget: None };
    if !store.add_community(&community).await? {
        return Err(Problem::NameTaken);
    }
    info!(community = %community.id, "community created by the town hall");
    Ok(community)
}

/// Renames a community of the town (its id, in every link, stays).
#[instrument(skip_all, fields(town = %town, community = %id))]
pub async fn rename<S: Membership + Registry + Sync>(
    store: &S,
    town: &str,
    id: &str,
    name: &str,
) -> Result<Community, Problem> {
    let community = of_town(store, town, id).await?;
    let (name, _) = checked_name(name)?;
    let renamed = Community { name, ..community };
    store.put_community(&renamed).await?;
    info!("community renamed by the town hall");
    Ok(renamed)
}

/// Makes a resident of a community of the town its referent (`appoint`), or a referent a
/// resident again (not `appoint`). A community may have several referents.
#[instrument(skip_all, fields(town = %town, community = %id, member = %member, appoint))]
pub async fn set_referent<S: Membership + MemberLookup + Sync>(
    store: &S,
    town: &str,
    id: &str,
    member: &str,
    appoint: bool,
) -> Result<Member, Problem> {
    let community = of_town(store, town, id).await?;
    let member_id: MemberId = member.parse().map_err(|_| Problem::UnknownMember)?;
    let previous = store.member(member_id).await?.filter(|m| m.belongs_to(&community.id));
    let previous = previous.ok_or(Problem::UnknownMember)?;
    let (from, to) =
        if appoint { (Role::Resident, Role::Referent) } else { (Role::Referent, Role::Resident) };
    if previous.role != from {
        return Err(Problem::WrongRole(from));
    }
    let updated = Member { role: to, ..previous.clone() };
    store.update_member(&previous, &updated).await?;
    info!("referent {}", if appoint { "appointed" } else { "removed" });
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_names() {
        let (name, id) = checked_name("  Les   Hauts de\tVille ").unwrap();
        assert_eq!((name.as_str(), id.as_str()), ("Les Hauts de Ville", "les-hauts-de-ville"));
        assert!(matches!(checked_name("  "), Err(Problem::InvalidName)));
        assert!(matches!(checked_name("!!"), Err(Problem::InvalidName)));
        assert!(matches!(checked_name(&"a".repeat(81)), Err(Problem::InvalidName)));
        assert!(checked_name(&"a".repeat(80)).is_ok());
    }
}
