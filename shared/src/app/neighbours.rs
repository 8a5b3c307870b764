//! The neighbours: the members of a community as another member may see them. The visibility
//! rule lives here, once: a number appears only where its owner did not hide it (or to its
//! owner), an address never does, and delivery problems are told to the member concerned and
//! to their referent only.

use crate::domain::{Community, DeliveryProblem, FirstName, Member, MemberId, PhoneNumber, Role};
use crate::model::{Cursor, Recipient};
use crate::ports::{Roster, StoreError};

/// Members per page.
pub const PAGE_SIZE: i32 = 50;

/// A neighbour as `viewer` may see them: built without the number at all when it is hidden, so
/// it cannot leak from a door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub id: MemberId,
    pub first_name: FirstName,
    /// The initial of the last name (`L.`).
    pub last_initial: Option<String>,
    pub role: Role,
    pub phone: Option<PhoneNumber>,
    /// This is the member asking.
    pub you: bool,
    pub email_problem: Option<DeliveryProblem>,
    pub sms_problem: Option<DeliveryProblem>,
}

impl Neighbour {
    #[must_use]
    pub fn seen_by(recipient: &Recipient, viewer: &Member) -> Self {
        let you = recipient.member_id == viewer.id;
        // The referent looks after their community's members: they are told what fails.
        let told = you || viewer.role == Role::Referent;
        let problem = |p: &Option<DeliveryProblem>| p.clone().filter(|_| told);
        Self {
            id: recipient.member_id,
            first_name: recipient.first_name.clone(),
            last_initial: recipient.last_name.as_ref().and_then(|l| initial(l.as_str())),
            role: recipient.role,
            phone: visible_phone(recipient, Some(viewer.id)).cloned(),
            you,
            email_problem: problem(&recipient.email_problem),
            sms_problem: problem(&recipient.sms_problem),
        }
    }
}

/// The number of `recipient` that `viewer` may see: none when its owner hid it, nor to a
/// neighbour before its owner agreed to it (an invited number, `docs/consent.md`), unless the
/// viewer is its owner. `None` for a viewer who is nobody in particular (the referent's list,
/// where a hidden number stays hidden from the referent too, and an invited one shows as the
/// referent typed it).
#[must_use]
pub fn visible_phone(recipient: &Recipient, viewer: Option<MemberId>) -> Option<&PhoneNumber> {
    let own = viewer == Some(recipient.member_id);
    let agreed = viewer.is_none() || recipient.phone_confirmed;
    recipient.phone.as_ref().filter(|_| own || (!recipient.hide_phone && agreed))
}

/// `Lefèvre` → `L.`
#[must_use]
pub fn initial(last_name: &str) -> Option<String> {
    last_name.chars().find(|c| c.is_alphabetic()).map(|c| format!("{}.", c.to_uppercase()))
}

/// Why neighbours were not read.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not a community of the viewer's (not told apart from one that does not exist).
    #[error("not one of the member's communities")]
    UnknownCommunity,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a community's neighbours.
pub struct Neighbours {
    pub community: Community,
    pub neighbours: Vec<Neighbour>,
    pub next: Option<Cursor>,
}

/// The neighbours of the community of `viewer`'s (`communities`, theirs) that `chosen` names,
/// or of their first one; `after` is the cursor of the page before (a cursor that is not a
/// member's row starts from the first page: the store checks it).
pub async fn page<S: Roster + Sync>(
    store: &S,
    viewer: &Member,
    communities: &[Community],
    chosen: Option<&str>,
    after: Option<Cursor>,
) -> Result<Neighbours, Problem> {
    let community = match chosen.filter(|c| !c.is_empty()) {
        Some(id) => communities.iter().find(|c| c.id.as_str() == id),
        None => communities.first(),
    };
    let community = community.ok_or(Problem::UnknownCommunity)?.clone();
    let after = after.filter(|a| !a.0.is_empty());
    let page = store.members_page(&community.id, after, PAGE_SIZE).await?;
    let neighbours = page.items.iter().map(|r| Neighbour::seen_by(r, viewer)).collect();
    let next = page.next.filter(|_| !page.items.is_empty());
    Ok(Neighbours { community, neighbours, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials() {
        assert_eq!(initial("Lefèvre").as_deref(), Some("L."));
        assert_eq!(initial("élan").as_deref(), Some("É."));
        assert_eq!(initial("  d'Arc").as_deref(), Some("D."));
        assert_eq!(initial("--"), None);
    }
}
