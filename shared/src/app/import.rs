//! Loading a town hall import into the store: all of it, or (as far as a pre-flight can tell)
//! nothing.

use tracing::info;

use super::members::{Invitation, send_invitation};
use crate::domain::texts::import_invitation_sms;
use crate::domain::{Import, ImportError, ImportErrors, Member};
use crate::ports::{RegisterError, Registry, StoreError, Texter};

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub communities: usize,
    pub members: usize,
    /// Numbers without a paper consent, texted their invitation (`docs/consent.md`).
    pub invited: usize,
    /// Invitations that could not go out: those numbers wait for their owner's OUI all the same.
    pub invitations_not_sent: usize,
}

/// Why an import was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Rows that clash with members already registered; nothing was written.
    #[error("{0}")]
    Rejected(ImportErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores the communities, then the members, of a validated import; then texts each number
/// that came without a paper consent its invitation (it gets nothing else until its owner
/// answers OUI).
///
/// A pre-flight first looks for numbers and addresses that already belong to someone, so a
/// clash is reported with its line before anything is written. Each registration is still
/// guarded by its own conditional write, so a concurrent registration can never make a number
/// belong to two members.
pub async fn load<S: Registry, T: Texter + Sync>(
    store: &S,
    texter: &T,
    import: &Import,
) -> Result<Loaded, LoadError> {
    let phones: Vec<_> = import.members.iter().filter_map(|m| m.phone.as_ref()).collect();
    let emails: Vec<_> = import.members.iter().filter_map(|m| m.email.as_ref()).collect();
    let (taken_phones, taken_emails) = store.taken(&phones, &emails).await?;
    let mut clashes = Vec::new();
    for (member, line) in import.members.iter().zip(&import.member_lines) {
        if member.phone.as_ref().is_some_and(|p| taken_phones.contains(p)) {
            clashes.push(ImportError { line: *line, message: RegisterError::PhoneTaken.to_string() });
        }
        if member.email.as_ref().is_some_and(|e| taken_emails.contains(e)) {
            clashes.push(ImportError { line: *line, message: RegisterError::EmailTaken.to_string() });
        }
    }
    if !clashes.is_empty() {
        return Err(LoadError::Rejected(ImportErrors(clashes)));
    }
    for community in &import.communities {
        store.put_community(community).await?;
    }
    for (member, line) in import.members.iter().zip(&import.member_lines) {
        match store.register(member).await {
            Ok(()) => {}
            Err(RegisterError::Store(err)) => return Err(err.into()),
            Err(err) => {
                return Err(LoadError::Rejected(ImportErrors(vec![ImportError {
                    line: *line,
                    message: err.to_string(),
                }])));
            }
        }
    }
    let (mut invited, mut not_sent) = (0, 0);
    for member in &import.members {
        match invite(texter, import, member).await {
            Invitation::None => {}
            Invitation::Sent => invited += 1,
            Invitation::NotSent(_) => not_sent += 1,
        }
    }
    info!(invited, not_sent, "import loaded");
    Ok(Loaded {
        communities: import.communities.len(),
        members: import.members.len(),
        invited,
        invitations_not_sent: not_sent,
    })
}

/// Texts `member`'s number, if it came without a paper consent, the invitation of the town
/// hall of their (first) community.
async fn invite<T: Texter + Sync>(texter: &T, import: &Import, member: &Member) -> Invitation {
    let community = member.communities.first().and_then(|id| import.communities.iter().find(|c| &c.id == id));
    match community {
        Some(c) => send_invitation(texter, member, &import_invitation_sms(&c.town, &c.name)).await,
        None => Invitation::None,
    }
}
