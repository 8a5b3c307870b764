//! Raising an alert from the page (form, confirmation, recording) and an alert's delivery
//! report. An alert from the page is recorded exactly as a texted one: the fan-out takes it
//! from the alerts table's stream.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tracing::{info, instrument, warn};
use vigie::adapters::now_ms;
use vigie::compose;
use vigie::domain::{
    AlertId, AlertSource, AlertText, Category, Community, DomainError, Encoding, FirstName, MemberId, Role,
    TimeZoneId, count_segments,
};
use vigie::model::{Alert, AlertReport, Budget, Channel, InboundMessageId, Recorded};
use vigie::ports::{AlertLog, Feed, Roster, StoreError};

use crate::app::{AppState, Backend};
use crate::error::WebError;
use crate::forms::{Form, FormData, Query, Segments};
use crate::i18n::Lang;
use crate::local_time;
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::Signed;

/// Members read per page when counting who an alert will reach.
const ROSTER_PAGE: i32 = 100;
/// Stop counting after this many pages (100,000 members): the count is only informative.
const ROSTER_MAX_PAGES: usize = 1000;

pub fn routes<B: Backend>() -> Router<AppState<B>> {
    Router::new()
        .route("/alerts/new", get(new_form::<B>).post(edit::<B>))
        .route("/alerts/confirm", post(confirm::<B>))
        .route("/alerts", post(raise::<B>))
        .route("/alerts/{id}", get(detail::<B>))
}

/// How the alert form was filled in (or the API's request).
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub category: Option<Category>,
    pub text: String,
    /// Community ids ticked (police only; everyone else alerts their community).
    pub communities: Vec<String>,
}

impl Draft {
    fn blank(signed: &Signed) -> Self {
        let communities = signed.communities.iter().map(|c| c.id.to_string()).collect();
        Self { category: None, text: String::new(), communities }
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            category: form.get("category").and_then(|c| c.parse().ok()),
            text: form.text("text").chars().take(AlertText::MAX_CHARS * 2).collect(),
            communities: form.all("c").map(str::to_owned).collect(),
        }
    }
}

/// A draft that passed every check.
struct Checked {
    category: Category,
    text: AlertText,
    communities: Vec<Community>,
}

#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub category: Option<String>,
    pub text: Option<String>,
    pub communities: Option<String>,
    /// The first problem, as the API names it.
    pub code: &'static str,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.category.is_none() && self.text.is_none() && self.communities.is_none()
    }
}

/// The same rules as an alert by SMS (the text's length), plus a category and, for the
/// police, at least one of their communities.
fn check(draft: &Draft, signed: &Signed, lang: Lang) -> Result<Checked, Problems> {
    let t = lang.t();
    let mut problems = Problems::default();
    let mut codes = Vec::new();
    if draft.category.is_none() {
        problems.category = Some(t.choose_category.to_owned());
        codes.push("invalid_category");
    }
    let text = match AlertText::parse(&draft.text) {
        Ok(text) => Some(text),
        Err(DomainError::AlertTooLong { max, actual }) => {
            problems.text = Some(lang.too_long(max, actual));
            codes.push("text_too_long");
            None
        }
        Err(_) => {
            problems.text = Some(t.write_message.to_owned());
            codes.push("text_empty");
            None
        }
    };
    let communities: Vec<Community> = if signed.is_police() {
        signed
            .communities
            .iter()
            .filter(|c| draft.communities.iter().any(|id| id == c.id.as_str()))
            .cloned()
            .collect()
    } else {
        signed.communities.clone()
    };
    if communities.is_empty() {
        problems.communities = Some(t.choose_community.to_owned());
        codes.push("invalid_communities");
    }
    problems.code = codes.first().copied().unwrap_or("invalid");
    match (draft.category, text) {
        (Some(category), Some(text)) if problems.is_empty() => Ok(Checked { category, text, communities }),
        _ => Err(problems),
    }
}

pub fn source_of(signed: &Signed) -> AlertSource {
    if signed.member.role == Role::Police { AlertSource::Police } else { AlertSource::Web }
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
    /// `"empty"` or `"too_long"` when the text cannot be sent as it is.
    pub problem: Option<&'static str>,
}

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
            (AlertText::parse(&head).ok(), actual, Some("too_long"))
        }
        Err(_) => (None, 0, Some("empty")),
    };
    match text {
        Some(text) => {
            let sms = compose::alert_sms(first_name, source, category, &text, max_segments);
            let count = count_segments(&sms);
            SmsPreview { chars, segments: count.segments, encoding: count.encoding, sms, problem }
        }
        None => SmsPreview { chars, segments: 0, encoding: Encoding::Gsm7, sms: String::new(), problem },
    }
}

/// A choice of the form (a radio button or a checkbox).
#[derive(Clone, Debug)]
struct Choice {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "alert_new.html")]
struct NewPage {
    chrome: Chrome,
    csrf: String,
    categories: Vec<Choice>,
    /// The communities to tick (police only).
    communities: Vec<Choice>,
    text: String,
    text_hint: String,
    max_chars: usize,
    /// The counter's first content (filled in by the script as one types).
    count: String,
    problems: Problems,
    preview_url: String,
}

fn new_page<B: Backend>(
    state: &AppState<B>,
    ctx: &Ctx,
    signed: &Signed,
    draft: &Draft,
    problems: Problems,
) -> NewPage {
    let lang = ctx.lang;
    let t = lang.t();
    let categories = Category::ALL
        .into_iter()
        .map(|c| Choice {
            value: c.as_str().to_owned(),
            label: lang.category(c).to_owned(),
            checked: draft.category == Some(c),
        })
        .collect();
    let communities = if signed.is_police() {
        signed
            .communities
            .iter()
            .map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                checked: draft.communities.iter().any(|id| id == c.id.as_str()),
            })
            .collect()
    } else {
        Vec::new()
    };
    let count = if draft.text.trim().is_empty() {
        String::new()
    } else {
        let p = preview(
            &signed.member.first_name,
            source_of(signed),
            draft.category,
            &draft.text,
            state.config().sms_max_segments,
        );
        lang.sms_size(p.chars, AlertText::MAX_CHARS, p.segments, p.encoding)
    };
    NewPage {
        chrome: Chrome::new(state, ctx, t.raise_title, Section::Raise, Some(signed)),
        csrf: signed.session.csrf.clone(),
        categories,
        communities,
        text: draft.text.clone(),
        text_hint: lang.text_hint(AlertText::MAX_CHARS),
        max_chars: AlertText::MAX_CHARS,
        count,
        problems,
        preview_url: state.site().href("/api/sms-preview"),
    }
}

/// `GET /alerts/new`: the form.
async fn new_form<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
) -> Result<Response, WebError> {
    render::ok(&new_page(&state, &ctx, &signed, &Draft::blank(&signed), Problems::default()))
}

/// `POST /alerts/new`: back to the form from the confirmation step, as it was filled in.
async fn edit<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    signed.check_csrf(form.csrf())?;
    render::ok(&new_page(&state, &ctx, &signed, &Draft::from_form(&form), Problems::default()))
}

#[derive(Template)]
#[template(path = "alert_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf: String,
    submission: String,
    category: String,
    category_label: String,
    text: String,
    communities: Vec<Choice>,
    community_names: String,
    sms: String,
    size: String,
    reach: String,
}

/// `POST /alerts/confirm`: the SMS exactly as it will go out, its size and who it will reach.
async fn confirm<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    signed.check_csrf(form.csrf())?;
    let draft = Draft::from_form(&form);
    let checked = match check(&draft, &signed, ctx.lang) {
        Ok(checked) => checked,
        Err(problems) => {
            let page = new_page(&state, &ctx, &signed, &draft, problems);
            return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let lang = ctx.lang;
    let sms = compose::alert_sms(
        &signed.member.first_name,
        source_of(&signed),
        Some(checked.category),
        &checked.text,
        state.config().sms_max_segments,
    );
    let count = count_segments(&sms);
    let reach = reach(state.store(), &checked.communities, signed.member.id).await?;
    let page = ConfirmPage {
        chrome: Chrome::new(&state, &ctx, lang.t().confirm_title, Section::Raise, Some(&signed)),
        csrf: signed.session.csrf.clone(),
        submission: format!("web-{}", ulid::Ulid::new()),
        category: checked.category.as_str().to_owned(),
        category_label: lang.category(checked.category).to_owned(),
        text: checked.text.to_string(),
        communities: checked
            .communities
            .iter()
            .map(|c| Choice { value: c.id.to_string(), label: c.name.clone(), checked: true })
            .collect(),
        community_names: checked.communities.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
        size: lang.sms_size(
            checked.text.as_str().chars().count(),
            AlertText::MAX_CHARS,
            count.segments,
            count.encoding,
        ),
        sms,
        reach: lang.reach(reach.people, reach.sms, reach.email),
    };
    render::ok(&page)
}

/// Who an alert to these communities will reach: everyone but the sender with a channel on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Reach {
    people: usize,
    sms: usize,
    email: usize,
}

async fn reach<S: Roster>(
    store: &S,
    communities: &[Community],
    sender: MemberId,
) -> Result<Reach, StoreError> {
    let mut reach = Reach::default();
    for community in communities {
        let mut after = None;
        for _ in 0..ROSTER_MAX_PAGES {
            let page = store.members_page(&community.id, after, ROSTER_PAGE).await?;
            for r in page.items.iter().filter(|r| r.member_id != sender) {
                let (sms, email) = (r.sms_target().is_some(), r.email_target().is_some());
                reach.sms += usize::from(sms);
                reach.email += usize::from(email);
                reach.people += usize::from(sms || email);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(reach)
}

/// `POST /alerts`: records the alert (one per community), once per submission; the fan-out
/// does the rest.
async fn raise<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Form(form): Form,
) -> Result<Response, WebError> {
    signed.check_csrf(form.csrf())?;
    let submission =
        form.get("submission").and_then(parse_submission).ok_or(WebError::BadRequest("submission id"))?;
    let draft = Draft::from_form(&form);
    match raise_alerts(&state, &signed, &draft, &submission, ctx.lang).await {
        Ok(Raised::Now(ids)) => {
            let first = ids.first().ok_or(WebError::Internal("no alert".into()))?;
            Ok(render::see_other(&state, &format!("/alerts/{first}?sent=1")))
        }
        Ok(Raised::AlreadyBefore(_)) => Ok(render::see_other(&state, "/?notice=duplicate")),
        Err(RaiseError::Invalid(problems)) => {
            let page = new_page(&state, &ctx, &signed, &draft, problems);
            render::page(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(RaiseError::RateLimited(per_hour)) => {
            let t = ctx.lang.t();
            let page = MessagePage {
                chrome: Chrome::new(&state, &ctx, t.rate_limited_title, Section::Raise, Some(&signed)),
                heading: t.rate_limited_title.to_owned(),
                body: ctx.lang.rate_limited(per_hour),
                link_href: state.site().href("/"),
                link_label: t.back_to_feed,
            };
            render::page(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(RaiseError::Web(err)) => Err(err),
    }
}

/// What raising an alert did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Raised {
    /// Recorded now: one alert per community.
    Now(Vec<AlertId>),
    /// This submission was recorded before: nothing new. The ids of its alerts still in the
    /// newest page of each community's feed.
    AlreadyBefore(Vec<AlertId>),
}

/// Why an alert was not raised.
#[derive(Debug)]
pub enum RaiseError {
    Invalid(Problems),
    /// The member raised the most alerts allowed in an hour.
    RateLimited(u32),
    Web(WebError),
}

impl From<StoreError> for RaiseError {
    fn from(err: StoreError) -> Self {
        RaiseError::Web(err.into())
    }
}

/// The page and the API raise alerts here: the same checks as by SMS (length, the hourly
/// limit shared with SMS), one alert per community, recorded once per submission; the fan-out
/// takes them from the stream.
#[instrument(skip_all, fields(member = %signed.member.id))]
pub async fn raise_alerts<B: Backend>(
    state: &AppState<B>,
    signed: &Signed,
    draft: &Draft,
    submission: &InboundMessageId,
    lang: Lang,
) -> Result<Raised, RaiseError> {
    let checked = check(draft, signed, lang).map_err(RaiseError::Invalid)?;
    let source = source_of(signed);
    let created_at = now_ms();
    let alerts: Vec<Alert> = checked
        .communities
        .iter()
        .map(|community| Alert {
            alert_id: AlertId::new(),
            community_id: community.id.clone(),
            community_name: community.name.clone(),
            sender_id: signed.member.id,
            sender_first_name: signed.member.first_name.clone(),
            source,
            text: checked.text.clone(),
            created_at,
            inbound_message_id: Some(submission.clone()),
            category: Some(checked.category),
        })
        .collect();
    // Counted in the transaction that records the alerts: a submission sent again, or one that
    // failed, costs nothing.
    let per_hour = state.config().alerts_per_hour;
    let budget = Budget::alerts(signed.member.id, per_hour);
    match state.store().record_inbound_alerts(submission, &alerts, Some(&budget)).await? {
        Recorded::OverBudget => {
            warn!(per_hour, "alert refused: rate limit");
            Err(RaiseError::RateLimited(per_hour))
        }
        Recorded::Now => {
            let ids: Vec<AlertId> = alerts.iter().map(|a| a.alert_id).collect();
            info!(%submission, alerts = ?ids, "alert raised from the web");
            Ok(Raised::Now(ids))
        }
        Recorded::AlreadyBefore => {
            info!(%submission, "alert submitted again: already recorded");
            let mut ids = Vec::new();
            for community in &checked.communities {
                let page = state.store().community_alerts(&community.id, None, 20).await?;
                ids.extend(
                    page.items
                        .iter()
                        .filter(|r| r.alert.inbound_message_id.as_ref() == Some(submission))
                        .filter(|r| r.alert.sender_id == signed.member.id)
                        .map(|r| r.alert.alert_id),
                );
            }
            Ok(Raised::AlreadyBefore(ids))
        }
    }
}

/// `web-<ulid>`, the id the confirmation step gave the submission (the API may send the bare
/// ULID).
pub fn parse_submission(raw: &str) -> Option<InboundMessageId> {
    let ulid = raw.strip_prefix("web-").unwrap_or(raw);
    let ulid = ulid.parse::<ulid::Ulid>().ok()?;
    InboundMessageId::parse(&format!("web-{ulid}")).ok()
}

/// An alert as the feed and the report show it.
#[derive(Clone, Debug)]
pub struct AlertView {
    pub id: String,
    pub href: String,
    pub sender: String,
    pub when: String,
    pub when_iso: String,
    pub source: &'static str,
    pub category: Option<&'static str>,
    pub text: String,
    pub community: String,
    pub summary: String,
}

impl AlertView {
    /// `zone`: the time zone of the alert's community.
    pub fn new<B: Backend>(state: &AppState<B>, lang: Lang, zone: &TimeZoneId, report: &AlertReport) -> Self {
        let alert = &report.alert;
        Self {
            id: alert.alert_id.to_string(),
            href: state.site().href(&format!("/alerts/{}", alert.alert_id)),
            sender: alert.sender_first_name.to_string(),
            when: local_time::format(lang, zone, alert.created_at),
            when_iso: local_time::iso_utc(alert.created_at),
            source: lang.source(alert.source),
            category: alert.category.map(|c| lang.category(c)),
            text: alert.text.to_string(),
            community: alert.community_name.clone(),
            summary: lang.delivery_summary(report.counts.as_ref(), report.acks),
        }
    }
}

/// One line of the delivery report.
#[derive(Clone, Debug)]
struct Figure {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "alert_detail.html")]
struct DetailPage {
    chrome: Chrome,
    alert: AlertView,
    notice: Option<&'static str>,
    figures: Vec<Figure>,
    done_at: Option<String>,
    done_at_iso: Option<String>,
    in_progress: bool,
}

/// `GET /alerts/{id}`: the delivery report, for members of the alert's community only.
async fn detail<B: Backend>(
    State(state): State<AppState<B>>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let report = state.store().alert_report(id).await?.ok_or(WebError::NotFound)?;
    if !signed.member.belongs_to(&report.alert.community_id) {
        // Not told apart from an alert that does not exist.
        return Err(WebError::NotFound);
    }
    let lang = ctx.lang;
    let t = lang.t();
    let zone = signed.time_zone(&report.alert.community_id);
    let figures = match &report.counts {
        Some(c) => {
            let (sms, email) = (c.channel(Channel::Sms), c.channel(Channel::Email));
            let figure = |label, value: u32| Figure { label, value: value.to_string() };
            vec![
                figure(t.reached, c.recipients),
                figure(t.sms_sent, sms.sent),
                figure(t.sms_delivered, sms.delivered),
                figure(t.sms_failed, sms.failed),
                figure(t.sms_pending, sms.pending),
                figure(t.email_sent, email.sent),
                figure(t.email_delivered, email.delivered),
                figure(t.email_failed, email.failed),
                figure(t.email_pending, email.pending),
                figure(t.acks, report.acks),
            ]
        }
        None => Vec::new(),
    };
    let notice = query.checked("sent").then_some(t.detail_recorded);
    let page = DetailPage {
        chrome: Chrome::new(&state, &ctx, t.detail_title, Section::Feed, Some(&signed)),
        alert: AlertView::new(&state, lang, &zone, &report),
        notice,
        figures,
        done_at: report.fanout_done_at.map(|at| local_time::format(lang, &zone, at)),
        done_at_iso: report.fanout_done_at.map(local_time::iso_utc),
        in_progress: report.fanout_done_at.is_none(),
    };
    render::ok(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!((p.chars, p.segments, p.problem), (0, 0, Some("empty")));

        let p = preview(&marie, AlertSource::Web, None, &"a ".repeat(800), 3);
        assert_eq!((p.chars, p.segments, p.problem), (1599, 3, Some("too_long")));
    }

    #[test]
    fn submission_ids() {
        let id = format!("web-{}", ulid::Ulid::new());
        assert_eq!(parse_submission(&id).map(|i| i.to_string()), Some(id));
        assert!(parse_submission("web-nope").is_none());
        let bare = ulid::Ulid::new().to_string();
        assert_eq!(parse_submission(&bare).map(|i| i.to_string()), Some(format!("web-{bare}")));
        assert!(parse_submission("web-").is_none());
    }
}
