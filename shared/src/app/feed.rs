//! The feed: the alerts of a member's communities, newest first, a page at a time (police see
//! every community of theirs, together or one at a time), and one alert's delivery report, for
//! members of its community only.

use crate::domain::{AlertId, AlertSource, Community, Member, PoliceCalled};
use crate::model::{AlertReport, Cursor};
use crate::ports::{Feed, StoreError};

use super::moderation::visible_to;

/// Alerts per page.
pub const PAGE_SIZE: i32 = 20;

/// Why alerts were not read.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not an alert or a community of the member's (not told apart from one that does not
    /// exist).
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of the alerts of `communities` (the reader's), newest first: of the one `filter`
/// names, or of all of them merged.
///
/// Alert ids are ULIDs, so the merged feed is ordered by id across communities, and its cursor
/// is the last id shown: each community is read again from there.
pub async fn page<S: Feed + Sync>(
    store: &S,
    reader: &Member,
    communities: &[Community],
    filter: Option<&str>,
    after: Option<Cursor>,
) -> Result<(Vec<AlertReport>, Option<Cursor>), Problem> {
    let (mut reports, next) = read_page(store, communities, filter, after).await?;
    // A withdrawn alert leaves the feed but for its author and the referents (`moderation`).
    reports.retain(|r| visible_to(reader, &r.alert));
    Ok((reports, next))
}

async fn read_page<S: Feed + Sync>(
    store: &S,
    communities: &[Community],
    filter: Option<&str>,
    after: Option<Cursor>,
) -> Result<(Vec<AlertReport>, Option<Cursor>), Problem> {
    let shown: Vec<&Community> = match filter.filter(|c| !c.is_empty()) {
        Some(id) => vec![communities.iter().find(|c| c.id.as_str() == id).ok_or(Problem::NotFound)?],
        None => communities.iter().collect(),
    };
    // A cursor that is not an alert id is ignored (the store does the same).
    let after = after.filter(|c| c.0.parse::<AlertId>().is_ok());
    match shown.as_slice() {
        [one] => {
            let page = store.community_alerts(&one.id, after, PAGE_SIZE).await?;
            Ok((page.items, page.next))
        }
        several => {
            let mut merged = Vec::new();
            let mut more = false;
            for community in several {
                let page = store.community_alerts(&community.id, after.clone(), PAGE_SIZE).await?;
                more |= page.next.is_some();
                merged.extend(page.items);
            }
            merged.sort_by_key(|r| std::cmp::Reverse(r.alert.alert_id));
            more |= merged.len() > PAGE_SIZE as usize;
            merged.truncate(PAGE_SIZE as usize);
            let next = merged.last().filter(|_| more).map(|r| Cursor(r.alert.alert_id.to_string()));
            Ok((merged, next))
        }
    }
}

/// How far back the police's list of alerts nobody said they reported goes.
pub const UNREPORTED_SINCE: std::time::Duration = std::time::Duration::from_secs(48 * 3600);
/// Pages of a community's newest alerts read for that list, at most.
const UNREPORTED_PAGES: usize = 5;

/// The alerts of `communities` (the police's) raised after `since_ms` whose author did not say
/// the police were told (`PoliceCalled::No`, or nothing said), newest first: what the police
/// may not know of. The police's own alerts are not in it.
pub async fn unreported<S: Feed + Sync>(
    store: &S,
    communities: &[Community],
    since_ms: i64,
) -> Result<Vec<AlertReport>, StoreError> {
    let mut found = Vec::new();
    for community in communities {
        let mut after = None;
        for _ in 0..UNREPORTED_PAGES {
            let page = store.community_alerts(&community.id, after, PAGE_SIZE).await?;
            let past = page.items.iter().any(|r| r.alert.created_at <= since_ms);
            found.extend(page.items.into_iter().filter(|r| {
                let alert = &r.alert;
                alert.created_at > since_ms
                    && alert.withdrawn.is_none()
                    && alert.source != AlertSource::Police
                    && !matches!(alert.police_called, Some(PoliceCalled::Yes | PoliceCalled::NotNeeded))
            }));
            after = page.next;
            if past || after.is_none() {
                break;
            }
        }
    }
    found.sort_by_key(|r| std::cmp::Reverse(r.alert.alert_id));
    Ok(found)
}

/// The delivery report of alert `id`, for a member of its community.
pub async fn report<S: Feed + Sync>(store: &S, reader: &Member, id: AlertId) -> Result<AlertReport, Problem> {
    let report = store.alert_report(id).await?.ok_or(Problem::NotFound)?;
    if !reader.belongs_to(&report.alert.community_id) || !visible_to(reader, &report.alert) {
        return Err(Problem::NotFound);
    }
    Ok(report)
}
