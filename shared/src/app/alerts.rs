//! Raising an alert, whatever the door: texted to the shared number, or written on the page's
//! form or sent to the API. The same rules hold for all (the text's length, one hourly budget
//! per member whatever the channel), one alert is recorded per community, once per inbound
//! message or submission; the fan-out takes them from the alerts table's stream. Also what the
//! form shows before: the SMS an alert will become ([`preview`]) and whom it will reach
//! ([`reach`]).

use tracing::{info, instrument, warn};

use super::budget::{self, SmsBudgets};
use crate::adapters::now_ms;
use crate::compose;
use crate::config::Config;
use crate::domain::{
    AlertId, AlertSource, AlertText, AllowedCountries, Category, Community, DomainError, Encoding, Ending,
    FirstName, Member, MemberId, PoliceCalled, Role, SmsWithheld, count_segments,
};
use crate::model::{Alert, AlertTally, Budget, Closure, InboundMessageId, Recorded};
use crate::ports::{AlertLog, Feed, Ledger, MemberLookup, Roster, SmsSpend, StoreError};

/// Members read per page when counting who an alert will reach.
const ROSTER_PAGE: i32 = 100;
/// Stop counting after this many pages (100,000 members): the count is only informative.
const ROSTER_MAX_PAGES: usize = 1000;
/// How many of a community's newest alerts are read to find those of a submission sent again.
const RESUBMITTED_LOOKBACK: i32 = 20;
/// Plans made again when another alert took SMS parts between the read and the write.
const PLAN_ATTEMPTS: usize = 4;

/// A reply `17` marks the author's alert whose confirmation they got this recently.
pub const POLICE_REPLY_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The service's rules for raising alerts, from its configuration.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    /// Alerts one member may raise an hour.
    pub per_hour: u32,
    /// An alert SMS is cut to this many parts.
    pub sms_max_segments: usize,
    /// The countries vigie texts.
    pub countries: &'a AllowedCountries,
    pub budgets: SmsBudgets,
}

impl<'a> Rules<'a> {
    #[must_use]
    pub fn of(config: &'a Config) -> Self {
        Self {
            per_hour: config.alerts_per_hour,
            sms_max_segments: config.sms_max_segments,
            countries: &config.sms_countries,
            budgets: config.sms_budgets,
        }
    }
}

/// How an alert was written.
#[derive(Clone, Copy, Debug)]
pub enum Via<'a> {
    /// Texted to the shared number: no category, to every community of the sender (read from
    /// the store).
    Sms,
    /// The page's form or the API: a category must be chosen; the sender's communities are
    /// known (they are signed in) and police tick those they alert (ids).
    Form {
        category: Option<Category>,
        /// Whether the author told the police (17); not asked of the police.
        police: Option<PoliceCalled>,
        communities: &'a [Community],
        ticked: &'a [String],
    },
}

impl Via<'_> {
    /// Where an alert of `sender` written so comes from: police are police whatever the door.
    #[must_use]
    pub fn source(&self, sender: &Member) -> AlertSource {
        match self {
            _ if sender.role == Role::Police => AlertSource::Police,
            Via::Sms => AlertSource::Sms,
            Via::Form { .. } => AlertSource::Web,
        }
    }
}

/// An alert to raise: who, what, and the id of the message or submission that carries it
/// (the same id again records nothing new).
#[derive(Clone, Copy, Debug)]
pub struct Draft<'a> {
    pub sender: &'a Member,
    /// As written (not yet cleaned).
    pub text: &'a str,
    pub via: Via<'a>,
    pub submission: &'a InboundMessageId,
}

/// What is wrong with a draft. Every one is told, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// A form without a category.
    NoCategory,
    /// Nothing left once the text is cleaned.
    EmptyText,
    TextTooLong {
        max: usize,
        actual: usize,
    },
    /// No community to alert (none of the sender's exists, or the police ticked none).
    NoCommunity,
}

/// Why an alert was not raised.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("invalid alert: {0:?}")]
    Invalid(Vec<Invalid>),
    /// The sender raised the most alerts allowed in an hour.
    #[error("more than {per_hour} alerts in the hour")]
    RateLimited { per_hour: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What raising an alert did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Raised {
    /// Recorded now: one alert per community; `withheld` when one goes without SMS
    /// ([`budget`]), and why.
    Now { ids: Vec<AlertId>, withheld: Option<SmsWithheld> },
    /// This message or submission was recorded before: nothing new. From a form, the ids of its
    /// alerts still in the newest page of each community's feed (none by SMS).
    AlreadyBefore(Vec<AlertId>),
}

/// A draft of a form that passed every check.
#[derive(Clone, Debug)]
pub struct Checked {
    pub category: Option<Category>,
    pub text: AlertText,
    pub communities: Vec<Community>,
}

fn check_text(raw: &str, invalid: &mut Vec<Invalid>) -> Option<AlertText> {
    match AlertText::parse(raw) {
        Ok(text) => Some(text),
        Err(DomainError::AlertTooLong { max, actual }) => {
            invalid.push(Invalid::TextTooLong { max, actual });
            None
        }
        Err(_) => {
            invalid.push(Invalid::EmptyText);
            None
        }
    }
}

/// The checks of a form (the page's confirmation step, before anything is recorded): a
/// category, the same text rules as by SMS, and, for the police, at least one of their
/// communities ticked.
pub fn check_form(
    sender: &Member,
    category: Option<Category>,
    text: &str,
    communities: &[Community],
    ticked: &[String],
) -> Result<Checked, Vec<Invalid>> {
    let mut invalid = Vec::new();
    if category.is_none() {
        invalid.push(Invalid::NoCategory);
    }
    let text = check_text(text, &mut invalid);
    let communities: Vec<Community> = if sender.role == Role::Police {
        communities.iter().filter(|c| ticked.iter().any(|id| id == c.id.as_str())).cloned().collect()
    } else {
        communities.to_vec()
    };
    if communities.is_empty() {
        invalid.push(Invalid::NoCommunity);
    }
    match text {
        Some(text) if invalid.is_empty() => Ok(Checked { category, text, communities }),
        _ => Err(invalid),
    }
}

/// Raises an alert: checked, then one alert per community recorded with one use of the sender's
/// hourly budget and the SMS parts it takes ([`budget`]) in the same transaction (a message
/// sent again, or one that failed, costs nothing).
#[instrument(skip_all, fields(member = %draft.sender.id, submission = %draft.submission))]
pub async fn raise<S>(store: &S, rules: Rules<'_>, draft: Draft<'_>) -> Result<Raised, Problem>
where
    S: AlertLog + MemberLookup + Feed + Roster + SmsSpend + Sync,
{
    let per_hour = rules.per_hour;
    let sender = draft.sender;
    let checked = match draft.via {
        Via::Form { category, communities, ticked, .. } => {
            check_form(sender, category, draft.text, communities, ticked).map_err(Problem::Invalid)?
        }
        Via::Sms => {
            let mut invalid = Vec::new();
            let text = check_text(draft.text, &mut invalid).ok_or(Problem::Invalid(invalid))?;
            let mut communities = Vec::with_capacity(sender.communities.len());
            for id in &sender.communities {
                match store.community(id).await? {
                    Some(community) => communities.push(community),
                    None => warn!(community = %id, "member of a community that does not exist"),
                }
            }
            if communities.is_empty() {
                return Err(Problem::Invalid(vec![Invalid::NoCommunity]));
            }
            Checked { category: None, text, communities }
        }
    };
    let source = draft.via.source(sender);
    let police_called = match draft.via {
        Via::Form { police, .. } if source != AlertSource::Police => police,
        _ => None,
    };
    let created_at = now_ms();
    let sms = compose::alert_sms(
        &sender.first_name,
        source,
        checked.category,
        &checked.text,
        rules.sms_max_segments,
    );
    let sms_parts = count_segments(&sms).segments as u32;
    let parts: Vec<u32> = reach_each(store, &checked.communities, sender.id, rules.countries)
        .await?
        .iter()
        .map(|r| budget::cost_of(sms_parts, r.sms))
        .collect();
    let still_texted = budget::past_budget_still_texted(source, checked.category);
    let ids: Vec<AlertId> = checked.communities.iter().map(|_| AlertId::new()).collect();
    let budget_of_hour = Budget::alerts(sender.id, per_hour);
    for _ in 0..PLAN_ATTEMPTS {
        let budget::Planned { plans, charges, day_spent, .. } = budget::read_and_plan(
            store,
            &checked.communities,
            &parts,
            still_texted,
            &rules.budgets,
            created_at,
        )
        .await?;
        let alerts: Vec<Alert> = checked
            .communities
            .iter()
            .zip(&ids)
            .zip(&plans)
            .map(|((community, id), plan)| Alert {
                alert_id: *id,
                community_id: community.id.clone(),
                community_name: community.name.clone(),
                sender_id: sender.id,
                sender_first_name: sender.first_name.clone(),
                source,
                text: checked.text.clone(),
                created_at,
                inbound_message_id: Some(draft.submission.clone()),
                category: checked.category,
                sms_parts: plan.sms_parts,
                sms_withheld: plan.withheld,
                police_called,
                closed: None,
                withdrawn: None,
            })
            .collect();
        let tallies: Vec<AlertTally> = checked
            .communities
            .iter()
            .map(|community| AlertTally {
                community: community.id.clone(),
                month: budget::month_of(community, created_at),
                source,
                category: checked.category,
            })
            .collect();
        match store
            .record_inbound_alerts(draft.submission, &alerts, Some(&budget_of_hour), &charges, &tallies)
            .await?
        {
            Recorded::Raced => continue,
            Recorded::OverBudget => {
                warn!(per_hour, "alert refused: rate limit");
                return Err(Problem::RateLimited { per_hour });
            }
            Recorded::Now => {
                let withheld = plans.iter().find_map(|p| p.withheld);
                let charged: u32 = plans.iter().map(|p| p.sms_parts).sum();
                if charged > 0 {
                    budget::log_day(day_spent, charged, &rules.budgets);
                }
                info!(alerts = ?ids, ?source, sms_parts = charged, ?withheld, "alert raised");
                return Ok(Raised::Now { ids, withheld });
            }
            Recorded::AlreadyBefore => {
                info!("alert submitted again: already recorded");
                return match draft.via {
                    Via::Sms => Ok(Raised::AlreadyBefore(Vec::new())),
                    Via::Form { .. } => {
                        let ids =
                            resubmitted(store, sender.id, &checked.communities, draft.submission).await?;
                        Ok(Raised::AlreadyBefore(ids))
                    }
                };
            }
        }
    }
    Err(Problem::Store(StoreError::Unavailable {
        operation: "record alerts",
        message: "the SMS counters kept changing".into(),
    }))
}

/// The alerts `sender` recorded for `submission`, among the newest of each community.
async fn resubmitted<S: Feed>(
    store: &S,
    sender: MemberId,
    communities: &[Community],
    submission: &InboundMessageId,
) -> Result<Vec<AlertId>, StoreError> {
    let mut ids = Vec::new();
    for community in communities {
        let page = store.community_alerts(&community.id, None, RESUBMITTED_LOOKBACK).await?;
        ids.extend(
            page.items
                .iter()
                .filter(|r| r.alert.inbound_message_id.as_ref() == Some(submission))
                .filter(|r| r.alert.sender_id == sender)
                .map(|r| r.alert.alert_id),
        );
    }
    Ok(ids)
}

/// Why a text cannot be sent as it is (what the preview says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewProblem {
    Empty,
    TooLong,
}

impl PreviewProblem {
    /// `"empty"` or `"too_long"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong => "too_long",
        }
    }
}

/// The SMS a text will become, and its size: what the form's counter and the confirmation
/// step show, computed as the fan-out will.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsPreview {
    /// Characters of the alert text, once cleaned as it will be stored.
    pub chars: usize,
    /// Parts of the SMS neighbours receive (0 for an empty text).
    pub segments: usize,
    pub encoding: Encoding,
    /// The SMS exactly as it will be sent (cut to the maximum number of parts).
    pub sms: String,
    /// When the text cannot be sent as it is.
    pub problem: Option<PreviewProblem>,
    /// The words of the text that name an origin, a nationality or a religion
    /// ([`crate::domain::wording::origin_terms`]): the confirmation warns, without refusing.
    pub origin_terms: Vec<String>,
}

#[must_use]
pub fn preview(
    first_name: &FirstName,
    source: AlertSource,
    category: Option<Category>,
    raw: &str,
    max_segments: usize,
) -> SmsPreview {
    let (text, chars, problem) = match AlertText::parse(raw) {
        Ok(text) => {
            let chars = text.as_str().chars().count();
            (Some(text), chars, None)
        }
        Err(DomainError::AlertTooLong { actual, .. }) => {
            let head: String = raw.chars().take(AlertText::MAX_CHARS).collect();
            (AlertText::parse(&head).ok(), actual, Some(PreviewProblem::TooLong))
        }
        Err(_) => (None, 0, Some(PreviewProblem::Empty)),
    };
    match text {
        Some(text) => {
            let sms = compose::alert_sms(first_name, source, category, &text, max_segments);
            let count = count_segments(&sms);
            let origin_terms = crate::domain::wording::origin_terms(text.as_str());
            SmsPreview {
                chars,
                segments: count.segments,
                encoding: count.encoding,
                sms,
                problem,
                origin_terms,
            }
        }
        None => SmsPreview {
            chars,
            segments: 0,
            encoding: Encoding::Gsm7,
            sms: String::new(),
            problem,
            origin_terms: Vec::new(),
        },
    }
}

/// Who an alert to these communities will reach: everyone but the sender with a channel on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    pub people: usize,
    pub sms: usize,
    pub email: usize,
}

impl Reach {
    /// Everyone an alert to several communities reaches (a police alert's).
    #[must_use]
    pub fn total(each: &[Reach]) -> Reach {
        each.iter().fold(Reach::default(), |all, r| Reach {
            people: all.people + r.people,
            sms: all.sms + r.sms,
            email: all.email + r.email,
        })
    }
}

/// Who an alert will reach in each of `communities`: the SMS counted are those the fan-out will send
/// ([`crate::model::Recipient::texted_in`]).
pub async fn reach_each<S: Roster>(
    store: &S,
    communities: &[Community],
    sender: MemberId,
    countries: &AllowedCountries,
) -> Result<Vec<Reach>, StoreError> {
    let mut all = Vec::with_capacity(communities.len());
    for community in communities {
        let mut reach = Reach::default();
        let mut after = None;
        for _ in 0..ROSTER_MAX_PAGES {
            let page = store.members_page(&community.id, after, ROSTER_PAGE).await?;
            for r in page.items.iter().filter(|r| r.member_id != sender) {
                let (sms, email) = (r.texted_in(countries).is_some(), r.email_target().is_some());
                reach.sms += usize::from(sms);
                reach.email += usize::from(email);
                reach.people += usize::from(sms || email);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        all.push(reach);
    }
    Ok(all)
}

/// `author` answered `17` to the confirmation of their alert: it now says the police were told.
/// The alert is the one whose confirmation they got by SMS within [`POLICE_REPLY_WINDOW`];
/// `None` when there is none (nothing is marked, and nothing is raised either). Done again, it
/// changes nothing.
#[instrument(skip_all, fields(member = %author.id))]
pub async fn police_called<S>(store: &S, author: &Member, now_ms: i64) -> Result<Option<AlertId>, StoreError>
where
    S: AlertLog + Ledger + Sync,
{
    let since = now_ms - POLICE_REPLY_WINDOW.as_millis() as i64;
    let Some(alert) = store.last_confirmed_alert(author.id, since).await? else {
        return Ok(None);
    };
    store.mark_police_called(alert).await?;
    info!(%alert, "alert marked: the police were called");
    Ok(Some(alert))
}

/// An author may close their alert by texting `FIN` this long after it.
pub const FIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Why an alert was not closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseProblem {
    /// No such alert in the closer's communities (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// Not the author, a referent of the community, or the police.
    #[error("not allowed")]
    Forbidden,
    #[error("closed already")]
    AlreadyClosed,
    /// The note is longer than [`Ending::NOTE_MAX_CHARS`].
    #[error("note too long: {actual} characters, at most {max}")]
    NoteTooLong { max: usize, actual: usize },
    /// [`Ending::Other`] says what in its note.
    #[error("a note is needed")]
    NoteRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who may close an alert: its author, a referent of its community, the police of its town.
#[must_use]
pub fn may_close(closer: &Member, alert: &Alert) -> bool {
    closer.belongs_to(&alert.community_id)
        && (closer.id == alert.sender_id || matches!(closer.role, Role::Referent | Role::Police))
}

/// Closes alert `id` with an all clear (`ending`, and `note` as typed, empty for none), for
/// `closer` ([`may_close`]); `via`, the inbound `FIN` that asks it (that message again answers
/// as the first time). Once: an alert closed stays so.
#[instrument(skip_all, fields(member = %closer.id, alert = %id))]
pub async fn close<S>(
    store: &S,
    closer: &Member,
    id: AlertId,
    ending: Ending,
    note: &str,
    via: Option<&InboundMessageId>,
) -> Result<Closure, CloseProblem>
where
    S: AlertLog + Sync,
{
    let alert = store.alert(id).await?.ok_or(CloseProblem::NotFound)?;
    if !closer.belongs_to(&alert.community_id) {
        return Err(CloseProblem::NotFound);
    }
    if !may_close(closer, &alert) {
        return Err(CloseProblem::Forbidden);
    }
    let note = match AlertText::parse(note) {
        Ok(note) if note.as_str().chars().count() > Ending::NOTE_MAX_CHARS => {
            let actual = note.as_str().chars().count();
            return Err(CloseProblem::NoteTooLong { max: Ending::NOTE_MAX_CHARS, actual });
        }
        Ok(note) => Some(note),
        Err(DomainError::AlertTooLong { actual, .. }) => {
            return Err(CloseProblem::NoteTooLong { max: Ending::NOTE_MAX_CHARS, actual });
        }
        Err(_) if ending == Ending::Other => return Err(CloseProblem::NoteRequired),
        Err(_) => None,
    };
    let closure = Closure {
        ending,
        note,
        by: closer.id,
        by_first_name: closer.first_name.clone(),
        by_role: closer.role,
        at: now_ms(),
        via: via.cloned(),
    };
    let same_message = |closed: &Closure| via.is_some() && closed.via.as_ref() == via;
    if let Some(closed) = alert.closed {
        return if same_message(&closed) { Ok(closed) } else { Err(CloseProblem::AlreadyClosed) };
    }
    if store.close_alert(id, &closure).await? {
        info!(ending = ending.as_str(), "alert closed");
        return Ok(closure);
    }
    // Closed meanwhile: by this very message (a retry), or by someone else.
    match store.alert(id).await?.and_then(|a| a.closed) {
        Some(closed) if same_message(&closed) => Ok(closed),
        _ => Err(CloseProblem::AlreadyClosed),
    }
}

/// `author` texted `FIN` (and `note`): closes their alert whose confirmation they got by SMS in
/// the last [`FIN_WINDOW`], as resolved. `None` when there is none.
pub async fn close_by_sms<S>(
    store: &S,
    author: &Member,
    note: &str,
    inbound: &InboundMessageId,
) -> Result<Option<Closure>, CloseProblem>
where
    S: AlertLog + Ledger + Sync,
{
    let since = now_ms() - FIN_WINDOW.as_millis() as i64;
    let Some(alert) = store.last_confirmed_alert(author.id, since).await? else {
        return Ok(None);
    };
    close(store, author, alert, Ending::Resolved, note, Some(inbound)).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CommunityId, LastName, TimeZoneId, UnsubscribeToken};

    fn member(role: Role, communities: &[&str]) -> Member {
        Member {
            id: MemberId::new(),
            communities: communities.iter().map(|c| CommunityId::parse(c).unwrap()).collect(),
            first_name: FirstName::parse("Marie").unwrap(),
            last_name: LastName::parse("Lefèvre").unwrap(),
            email: None,
            phone: None,
            hide_phone: false,
            phone_confirmed: true,
            phone_consent: None,
            sms_alerts: true,
            email_alerts: true,
            quiet_hours: false,
            role,
            unsubscribe_token: UnsubscribeToken::generate(),
            email_problem: None,
            sms_problem: None,
            stands_for: None,
            town: None,
        }
    }

    fn community(id: &str) -> Community {
        Community {
            id: CommunityId::parse(id).unwrap(),
            name: id.to_owned(),
            town: "Lyon".to_owned(),
            time_zone: TimeZoneId::paris(),
            sms_budget: None,
        }
    }

    #[test]
    fn previews_the_sms_as_the_fan_out_sends_it() {
        let marie = FirstName::parse("Marie").unwrap();
        let p = preview(&marie, AlertSource::Web, Some(Category::Burglary), "  Cambriolage au 12  ", 3);
        assert_eq!(p.sms, "Marie [Cambriolage] : Cambriolage au 12");
        assert_eq!((p.chars, p.segments, p.encoding, p.problem), (17, 1, Encoding::Gsm7, None));

        let p = preview(&marie, AlertSource::Police, None, "Fermez vos fenêtres 🙏", 3);
        assert_eq!(p.encoding, Encoding::Ucs2);
        assert!(p.sms.starts_with("Marie (police municipale) : "));

        let p = preview(&marie, AlertSource::Web, None, " \n ", 3);
        assert_eq!((p.chars, p.segments, p.problem), (0, 0, Some(PreviewProblem::Empty)));

        let p = preview(&marie, AlertSource::Web, None, &"a ".repeat(800), 3);
        assert_eq!((p.chars, p.segments, p.problem), (1599, 3, Some(PreviewProblem::TooLong)));
    }

    #[test]
    fn a_form_tells_every_problem_in_order() {
        let resident = member(Role::Resident, &["tilleuls"]);
        let theirs = [community("tilleuls")];
        let err = check_form(&resident, None, " ", &[], &[]).unwrap_err();
        assert_eq!(err, vec![Invalid::NoCategory, Invalid::EmptyText, Invalid::NoCommunity]);
        let long = "a".repeat(AlertText::MAX_CHARS + 1);
        let err = check_form(&resident, Some(Category::Other), &long, &theirs, &[]).unwrap_err();
        assert_eq!(
            err,
            vec![Invalid::TextTooLong { max: AlertText::MAX_CHARS, actual: AlertText::MAX_CHARS + 1 }]
        );
        // A resident alerts their community whatever is ticked.
        let ok = check_form(&resident, Some(Category::Other), "Rôdeur", &theirs, &[]).unwrap();
        assert_eq!(ok.communities.len(), 1);
    }

    #[test]
    fn police_alert_the_communities_they_tick() {
        let police = member(Role::Police, &["tilleuls", "lilas"]);
        let theirs = [community("tilleuls"), community("lilas")];
        let err = check_form(&police, Some(Category::Other), "Rôdeur", &theirs, &[]).unwrap_err();
        assert_eq!(err, vec![Invalid::NoCommunity]);
        // Only theirs count: an unknown id is not a community.
        let ticked = ["lilas".to_owned(), "roses".to_owned()];
        let ok = check_form(&police, Some(Category::Other), "Rôdeur", &theirs, &ticked).unwrap();
        assert_eq!(ok.communities.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["lilas"]);
        assert_eq!(Via::Sms.source(&police), AlertSource::Police);
        let resident = member(Role::Resident, &["tilleuls"]);
        assert_eq!(Via::Sms.source(&resident), AlertSource::Sms);
        let form = Via::Form { category: None, police: None, communities: &theirs, ticked: &[] };
        assert_eq!(form.source(&resident), AlertSource::Web);
        assert_eq!(form.source(&police), AlertSource::Police);
    }
}
