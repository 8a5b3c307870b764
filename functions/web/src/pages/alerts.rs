//! Raising an alert from the page (form, confirmation, recording) and an alert's delivery
//! report. An alert from the page is recorded exactly as a texted one: the fan-out takes it
//! from the alerts table's stream.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use vigie::app::alerts::{self, CloseProblem, Invalid, Problem, Raised, Reach, Via, preview, reach_each};
use vigie::app::budget;
use vigie::app::feed;
use vigie::app::moderation::{self, Correction, FlagProblem, WithdrawProblem};
use vigie::compose;
use vigie::domain::{
    AlertId, AlertSource, AlertText, Category, Ending, FlagReason, PoliceCalled, TimeZoneId, count_segments,
};
use vigie::model::{AlertReport, Applied, Channel, InboundMessageId};

use crate::app::AppState;
use crate::error::WebError;
use crate::forms::{FormData, Query, Segments};
use crate::guard::CsrfForm;
use crate::i18n::Lang;
use crate::local_time;
use crate::render::{self, Chrome, Ctx, MessagePage, Section};
use crate::session::Signed;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts/new", get(new_form).post(edit))
        .route("/alerts/confirm", post(confirm))
        .route("/alerts", post(raise))
        .route("/alerts/{id}", get(detail))
        .route("/alerts/{id}/close", post(close))
        .route("/alerts/{id}/flag", post(flag))
        .route("/alerts/{id}/withdraw", post(withdraw))
}

/// How the alert form was filled in (or the API's request).
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub category: Option<Category>,
    pub text: String,
    /// Community ids ticked (police only; everyone else alerts their community).
    pub communities: Vec<String>,
    /// Whether the author told the police (17); not asked of the police.
    pub police: Option<PoliceCalled>,
}

impl Draft {
    fn blank(signed: &Signed) -> Self {
        let communities = signed.communities.iter().map(|c| c.id.to_string()).collect();
        Self { category: None, text: String::new(), communities, police: None }
    }

    fn from_form(form: &FormData) -> Self {
        Self {
            category: form.get("category").and_then(|c| c.parse().ok()),
            text: form.text("text").chars().take(AlertText::MAX_CHARS * 2).collect(),
            communities: form.all("c").map(str::to_owned).collect(),
            police: form.get("police").and_then(|p| p.parse().ok()),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub category: Option<String>,
    pub text: Option<String>,
    pub communities: Option<String>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.category.is_none() && self.text.is_none() && self.communities.is_none()
    }

    /// What [`alerts::check_form`] found, said field by field in `lang`.
    fn of(invalid: &[Invalid], lang: Lang) -> Self {
        let t = lang.t();
        let mut problems = Self::default();
        for problem in invalid {
            match *problem {
                Invalid::NoCategory => problems.category = Some(t.alerts.choose_category.to_owned()),
                Invalid::EmptyText => problems.text = Some(t.alerts.write_message.to_owned()),
                Invalid::TextTooLong { max, actual } => problems.text = Some(lang.too_long(max, actual)),
                Invalid::NoCommunity => problems.communities = Some(t.alerts.choose_community.to_owned()),
            }
        }
        problems
    }
}

impl Draft {
    /// The draft as the use case reads it, written by `signed` on the form (or sent to the API).
    pub fn via<'a>(&'a self, signed: &'a Signed) -> Via<'a> {
        Via::Form {
            category: self.category,
            police: self.police,
            communities: &signed.communities,
            ticked: &self.communities,
        }
    }

    /// Raises the alert ([`alerts::raise`], as an SMS does).
    pub async fn raise(
        &self,
        state: &AppState,
        signed: &Signed,
        submission: &InboundMessageId,
    ) -> Result<Raised, Problem> {
        let draft =
            alerts::Draft { sender: &signed.member, text: &self.text, via: self.via(signed), submission };
        alerts::raise(state.store(), alerts::Rules::of(state.config()), draft).await
    }
}

pub fn source_of(signed: &Signed) -> AlertSource {
    Via::Form { category: None, police: None, communities: &[], ticked: &[] }.source(&signed.member)
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
    /// Has the police been told? (not asked of the police).
    police: Vec<Choice>,
    text: String,
    text_hint: String,
    max_chars: usize,
    /// The counter's first content (filled in by the script as one types).
    count: String,
    problems: Problems,
    preview_url: String,
}

fn new_page(state: &AppState, ctx: &Ctx, signed: &Signed, draft: &Draft, problems: Problems) -> NewPage {
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
    let police = if signed.is_police() {
        Vec::new()
    } else {
        PoliceCalled::ALL
            .into_iter()
            .map(|p| Choice {
                value: p.as_str().to_owned(),
                label: lang.police_answer(p).to_owned(),
                checked: draft.police == Some(p),
            })
            .collect()
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
        chrome: Chrome::new(state, ctx, t.alerts.raise_title, Section::Raise, Some(signed)),
        csrf: signed.session.csrf.clone(),
        categories,
        communities,
        police,
        text: draft.text.clone(),
        text_hint: lang.text_hint(AlertText::MAX_CHARS),
        max_chars: AlertText::MAX_CHARS,
        count,
        problems,
        preview_url: state.site().href("/api/sms-preview"),
    }
}

/// `GET /alerts/new`: the form.
async fn new_form(State(state): State<AppState>, ctx: Ctx, signed: Signed) -> Result<Response, WebError> {
    if let Some(desk) = render::desk_of_town_hall(&state, &signed) {
        return Ok(desk);
    }
    render::ok(&new_page(&state, &ctx, &signed, &Draft::blank(&signed), Problems::default()))
}

/// `POST /alerts/new`: back to the form from the confirmation step, as it was filled in.
async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    if let Some(desk) = render::desk_of_town_hall(&state, &signed) {
        return Ok(desk);
    }
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
    /// The answer to "has the police been told?", as sent on, and said.
    police: String,
    police_label: Option<&'static str>,
    text: String,
    communities: Vec<Choice>,
    community_names: String,
    sms: String,
    size: String,
    reach: String,
    /// Per community: what the SMS will cost and the month's budget, then what happens past it.
    costs: Vec<(String, Option<String>)>,
    /// The warning when the text names an origin, a nationality or a religion.
    origin_warning: Option<String>,
}

/// `POST /alerts/confirm`: the SMS exactly as it will go out, its size and who it will reach.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let draft = Draft::from_form(&form);
    let checked = match alerts::check_form(
        &signed.member,
        draft.category,
        &draft.text,
        &signed.communities,
        &draft.communities,
    ) {
        Ok(checked) => checked,
        Err(invalid) => {
            let page = new_page(&state, &ctx, &signed, &draft, Problems::of(&invalid, ctx.lang));
            return render::page(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let lang = ctx.lang;
    let sms = compose::alert_sms(
        &signed.member.first_name,
        source_of(&signed),
        checked.category,
        &checked.text,
        state.config().sms_max_segments,
    );
    let count = count_segments(&sms);
    let countries = &state.config().sms_countries;
    let each = reach_each(state.store(), &checked.communities, signed.member.id, countries).await?;
    let reach = Reach::total(&each);
    let texted: Vec<usize> = each.iter().map(|r| r.sms).collect();
    let still_texted = budget::past_budget_still_texted(source_of(&signed), checked.category);
    let estimates = budget::estimate(
        state.store(),
        &checked.communities,
        &texted,
        count.segments as u32,
        still_texted,
        &state.config().sms_budgets,
        vigie::adapters::now_ms(),
    )
    .await?;
    let several = estimates.len() > 1;
    let costs = estimates
        .iter()
        .map(|e| {
            let line = lang.sms_cost(e.sms_parts, e.texted, e.month.left(), e.month.budget);
            let line = if several { format!("{} · {line}", e.community.name) } else { line };
            (line, e.withheld.map(|why| lang.sms_will_be_withheld(why)))
        })
        .collect();
    let page = ConfirmPage {
        chrome: Chrome::new(&state, &ctx, lang.t().alerts.confirm_title, Section::Raise, Some(&signed)),
        csrf: signed.session.csrf.clone(),
        submission: format!("web-{}", ulid::Ulid::new()),
        category: checked.category.map(Category::as_str).unwrap_or_default().to_owned(),
        category_label: checked.category.map(|c| lang.category(c)).unwrap_or_default().to_owned(),
        police: draft.police.map(PoliceCalled::as_str).unwrap_or_default().to_owned(),
        police_label: draft.police.filter(|_| !signed.is_police()).map(|p| lang.police_mark(p)),
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
        costs,
        origin_warning: Some(vigie::domain::wording::origin_terms(checked.text.as_str()))
            .filter(|terms| !terms.is_empty())
            .map(|terms| lang.origin_warning(&terms)),
    };
    render::ok(&page)
}

/// `POST /alerts`: records the alert (one per community), once per submission; the fan-out
/// does the rest.
async fn raise(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let submission =
        form.get("submission").and_then(parse_submission).ok_or(WebError::BadRequest("submission id"))?;
    let draft = Draft::from_form(&form);
    match draft.raise(&state, &signed, &submission).await {
        Ok(Raised::Now { ids, .. }) => {
            let first = ids.first().ok_or(WebError::Internal("no alert".into()))?;
            Ok(render::see_other(&state, &format!("/alerts/{first}?sent=1")))
        }
        Ok(Raised::AlreadyBefore(_)) => Ok(render::see_other(&state, "/?notice=duplicate")),
        Err(Problem::Invalid(invalid)) => {
            let page = new_page(&state, &ctx, &signed, &draft, Problems::of(&invalid, ctx.lang));
            render::page(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(Problem::RateLimited { per_hour }) => {
            let t = ctx.lang.t();
            let page = MessagePage {
                chrome: Chrome::new(&state, &ctx, t.alerts.rate_limited_title, Section::Raise, Some(&signed)),
                heading: t.alerts.rate_limited_title.to_owned(),
                body: ctx.lang.rate_limited(per_hour),
                link_href: state.site().href("/"),
                link_label: t.alerts.back_to_feed,
            };
            render::page(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(Problem::Store(err)) => Err(err.into()),
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
    /// Why it went without SMS, if it did.
    pub sms_withheld: Option<&'static str>,
    /// Whether the author says the police were told (17).
    pub police: Option<&'static str>,
    /// The all clear, in a sentence, once closed.
    pub closed: Option<String>,
    /// How far the all clear went out to the alert's recipients, once it started.
    pub follow_up: Option<String>,
    /// Not closed, and older than its category stays news ([`Category::current_for`]).
    pub past: bool,
    /// Taken out of the feed by a referent: its mark (only its author and referents see it).
    pub withdrawn: Option<String>,
    /// Older than the retention (`RETENTION_DAYS`): its words are no longer shown, and the TTL
    /// purges it within a day or two.
    pub archived: bool,
}

impl AlertView {
    /// `zone`: the time zone of the alert's community.
    pub fn new(state: &AppState, lang: Lang, zone: &TimeZoneId, report: &AlertReport) -> Self {
        let alert = &report.alert;
        Self {
            id: alert.alert_id.to_string(),
            href: state.site().href(&format!("/alerts/{}", alert.alert_id)),
            sender: lang.first_name_of(alert.sender_id, &alert.sender_first_name),
            when: local_time::format(lang, zone, alert.created_at),
            when_iso: local_time::iso_utc(alert.created_at),
            source: lang.source(alert.source),
            category: alert.category.map(|c| lang.category(c)),
            text: alert.text.to_string(),
            archived: vigie::adapters::now_ms() - alert.created_at
                > state.config().retention.as_millis() as i64,
            community: alert.community_name.clone(),
            summary: lang.delivery_summary(report.counts.as_ref(), report.acks),
            sms_withheld: alert.sms_withheld.map(|why| lang.sms_withheld(why)),
            police: alert.police_called.map(|p| lang.police_mark(p)),
            closed: alert.closed.as_ref().map(|c| lang.closed_line(c, &local_time::format(lang, zone, c.at))),
            follow_up: report.follow_up.as_ref().map(|f| lang.follow_up_summary(f)),
            withdrawn: alert
                .withdrawn
                .as_ref()
                .map(|w| lang.withdrawn_line(w, &local_time::format(lang, zone, w.at))),
            past: alert.closed.is_none()
                && vigie::adapters::now_ms() - alert.created_at
                    > Category::current_for(alert.category).as_millis() as i64,
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
    csrf: String,
    alert: AlertView,
    /// The all clear's form, for whoever may close it while it is open: its endings.
    endings: Vec<Choice>,
    note: String,
    note_max: usize,
    close_problem: Option<String>,
    notice: Option<&'static str>,
    figures: Vec<Figure>,
    done_at: Option<String>,
    done_at_iso: Option<String>,
    in_progress: bool,
    /// The flag form's reasons, for a member who may flag it (not its author, not withdrawn).
    flag_reasons: Vec<Choice>,
    /// The withdrawal form, for a referent while it is in the feed.
    withdrawable: bool,
    reason_max: usize,
    reason: String,
    correction: String,
    /// For its referents: how often it was flagged, and why.
    flags: Option<String>,
    moderation_problem: Option<String>,
}

/// `GET /alerts/{id}`: the delivery report, for members of the alert's community only.
async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let t = ctx.lang.t();
    let notice = if query.checked("sent") {
        Some(t.alerts.detail_recorded)
    } else if query.checked("flagged") {
        Some(t.alerts.flagged_notice)
    } else if let Some(correction) = query.get("withdrawn") {
        Some(match correction {
            "sent" => t.alerts.correction_sent,
            "not_sent" => t.alerts.correction_not_sent,
            _ => t.alerts.withdrawn_notice,
        })
    } else {
        query.checked("closed").then_some(t.alerts.closed_notice)
    };
    let page = detail_page(&state, &ctx, &signed, id, notice, Closing::default()).await?;
    render::ok(&page)
}

/// The all clear's form as it was sent back, and what was wrong with it; the same of the
/// moderation forms.
#[derive(Default)]
struct Closing {
    ending: Option<Ending>,
    note: String,
    problem: Option<String>,
    reason: String,
    correction: String,
    moderation_problem: Option<String>,
}

async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    signed: &Signed,
    id: AlertId,
    notice: Option<&'static str>,
    closing: Closing,
) -> Result<DetailPage, WebError> {
    let report = feed::report(state.store(), &signed.member, id).await?;
    let lang = ctx.lang;
    let t = lang.t();
    let zone = signed.time_zone(&report.alert.community_id);
    let figures = match &report.counts {
        Some(c) => {
            let (sms, email) = (c.channel(Channel::Sms), c.channel(Channel::Email));
            let figure = |label, value: u32| Figure { label, value: value.to_string() };
            vec![
                figure(t.alerts.reached, c.recipients),
                figure(t.alerts.sms_sent, sms.sent),
                figure(t.alerts.sms_delivered, sms.delivered),
                figure(t.alerts.sms_failed, sms.failed),
                figure(t.alerts.sms_pending, sms.pending),
                figure(t.alerts.email_sent, email.sent),
                figure(t.alerts.email_delivered, email.delivered),
                figure(t.alerts.email_failed, email.failed),
                figure(t.alerts.email_pending, email.pending),
                figure(t.alerts.acks, report.acks),
            ]
        }
        None => Vec::new(),
    };
    let closable = report.alert.closed.is_none() && alerts::may_close(&signed.member, &report.alert);
    let endings = if closable {
        Ending::ALL
            .into_iter()
            .map(|e| Choice {
                value: e.as_str().to_owned(),
                label: lang.ending(e).to_owned(),
                checked: closing.ending == Some(e),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DetailPage {
        chrome: Chrome::new(state, ctx, t.alerts.detail_title, Section::Feed, Some(signed)),
        csrf: signed.session.csrf.clone(),
        alert: AlertView::new(state, lang, &zone, &report),
        endings,
        note: closing.note,
        note_max: Ending::NOTE_MAX_CHARS,
        close_problem: closing.problem,
        notice,
        figures,
        done_at: report.fanout_done_at.map(|at| local_time::format(lang, &zone, at)),
        done_at_iso: report.fanout_done_at.map(local_time::iso_utc),
        in_progress: report.fanout_done_at.is_none(),
        flag_reasons: if report.alert.sender_id != signed.member.id && report.alert.withdrawn.is_none() {
            FlagReason::ALL
                .into_iter()
                .map(|r| Choice {
                    value: r.as_str().to_owned(),
                    label: lang.flag_reason(r).to_owned(),
                    checked: false,
                })
                .collect()
        } else {
            Vec::new()
        },
        withdrawable: report.alert.withdrawn.is_none()
            && moderation::may_withdraw(&signed.member, &report.alert),
        reason_max: moderation::REASON_MAX_CHARS,
        reason: closing.reason,
        correction: closing.correction,
        flags: Some(&report)
            .filter(|r| moderation::may_withdraw(&signed.member, &r.alert))
            .and_then(|r| lang.flags_line(&r.flags)),
        moderation_problem: closing.moderation_problem,
    })
}

/// `POST /alerts/{id}/flag`: a member of the alert's community reports it to the referent
/// ([`moderation::flag`]), once.
async fn flag(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let t = ctx.lang.t();
    let Some(reason) = form.get("reason").and_then(|r| r.parse::<FlagReason>().ok()) else {
        return Err(WebError::BadRequest("reason"));
    };
    let (status, problem) = match moderation::flag(state.store(), &signed.member, id, reason).await {
        Ok(Applied::Now) => return Ok(render::see_other(&state, &format!("/alerts/{id}?flagged=1"))),
        Ok(Applied::AlreadyBefore) => (StatusCode::CONFLICT, t.alerts.already_flagged),
        Err(FlagProblem::OwnAlert) => (StatusCode::FORBIDDEN, t.alerts.own_alert_flag),
        Err(FlagProblem::NotFound) => return Err(WebError::NotFound),
        Err(FlagProblem::Store(err)) => return Err(err.into()),
    };
    let sent = Closing { moderation_problem: Some(problem.to_owned()), ..Closing::default() };
    render::page(status, &detail_page(&state, &ctx, &signed, id, None, sent).await?)
}

/// `POST /alerts/{id}/withdraw`: a referent takes the alert out of the feed, with a reason its
/// author is told, and maybe a correction to its recipients ([`moderation::withdraw`]).
async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let lang = ctx.lang;
    let t = lang.t();
    let limit = moderation::REASON_MAX_CHARS * 2;
    let reason: String = form.text("reason").chars().take(limit).collect();
    let correction: String = form.text("correction").chars().take(limit).collect();
    let messengers = state.messengers();
    let done =
        moderation::withdraw(state.store(), &messengers, &signed.member, id, &reason, &correction).await;
    let (status, problem) = match done {
        Ok(withdrawn) => {
            let shown = match withdrawn.correction {
                Correction::None => "1",
                Correction::Sent => "sent",
                Correction::AlreadyClosed => "not_sent",
            };
            return Ok(render::see_other(&state, &format!("/alerts/{id}?withdrawn={shown}")));
        }
        Err(WithdrawProblem::ReasonRequired) => {
            (StatusCode::UNPROCESSABLE_ENTITY, t.alerts.reason_required.to_owned())
        }
        Err(WithdrawProblem::TooLong { max, actual }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, lang.too_long(max, actual))
        }
        Err(WithdrawProblem::AlreadyWithdrawn) => {
            (StatusCode::CONFLICT, t.alerts.already_withdrawn.to_owned())
        }
        Err(WithdrawProblem::NotFound) => return Err(WebError::NotFound),
        Err(WithdrawProblem::Forbidden) => return Err(WebError::Forbidden),
        Err(WithdrawProblem::Store(err)) => return Err(err.into()),
    };
    let sent = Closing { reason, correction, moderation_problem: Some(problem), ..Closing::default() };
    render::page(status, &detail_page(&state, &ctx, &signed, id, None, sent).await?)
}

/// `POST /alerts/{id}/close`: the all clear, by the author, a referent or the police
/// ([`alerts::close`]).
async fn close(
    State(state): State<AppState>,
    ctx: Ctx,
    signed: Signed,
    Segments(id): Segments<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, WebError> {
    let id: AlertId = id.parse().map_err(|_| WebError::NotFound)?;
    let lang = ctx.lang;
    let t = lang.t();
    let ending = form.get("ending").and_then(|e| e.parse::<Ending>().ok());
    let note: String = form.text("note").chars().take(Ending::NOTE_MAX_CHARS * 2).collect();
    let (status, problem) = match ending {
        None => (StatusCode::UNPROCESSABLE_ENTITY, t.alerts.choose_ending.to_owned()),
        Some(ending) => match alerts::close(state.store(), &signed.member, id, ending, &note, None).await {
            Ok(_) => return Ok(render::see_other(&state, &format!("/alerts/{id}?closed=1"))),
            Err(CloseProblem::NoteTooLong { max, actual }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, lang.too_long(max, actual))
            }
            Err(CloseProblem::NoteRequired) => {
                (StatusCode::UNPROCESSABLE_ENTITY, t.alerts.note_required.to_owned())
            }
            Err(CloseProblem::AlreadyClosed) => (StatusCode::CONFLICT, t.alerts.already_closed.to_owned()),
            Err(CloseProblem::NotFound) => return Err(WebError::NotFound),
            Err(CloseProblem::Forbidden) => return Err(WebError::Forbidden),
            Err(CloseProblem::Store(err)) => return Err(err.into()),
        },
    };
    let closing = Closing { ending, note, problem: Some(problem), ..Closing::default() };
    render::page(status, &detail_page(&state, &ctx, &signed, id, None, closing).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
