//! What every page shares: the layout's data (language, links, navigation, the signed-in
//! member) and turning a template into a response.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use vigie::domain::{DeliveryProblem, Member, TimeZoneId};
use vigie::model::{Channel, Recipient};

use crate::app::AppState;
use crate::error::{ErrorPage, WebError};
use crate::forms::query_pair;
use crate::frame::Here;
use crate::i18n::{Lang, Texts};
use crate::local_time;
use crate::session::Signed;

/// The request's language and where it is (for the language switch).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Lang,
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
        let here = parts.extensions.get::<Here>().map_or_else(|| "/".to_owned(), |h| h.0.clone());
        Ok(Ctx { lang, here })
    }
}

/// The area of the site a page belongs to, so the navigation marks it as current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Feed,
    Raise,
    Neighbours,
    Admin,
    Police,
    Town,
    Settings,
    Other,
}

/// One link of the main navigation.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The signed-in member, as the header shows them.
#[derive(Clone, Debug)]
pub struct UserNav {
    pub first_name: String,
    /// Their community, or communities (police), by name.
    pub communities: String,
    /// For the sign-out form.
    pub csrf: String,
}

/// The layout's data (`templates/base.html`): every page template has a `chrome` field.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static Texts,
    /// Start of every link and form action.
    pub base: String,
    pub title: String,
    pub user: Option<UserNav>,
    pub nav: Vec<NavItem>,
    pub switch_href: String,
    pub switch_label: &'static str,
    pub switch_lang: &'static str,
}

impl Chrome {
    pub fn new(
        state: &AppState,
        ctx: &Ctx,
        title: impl Into<String>,
        section: Section,
        signed: Option<&Signed>,
    ) -> Self {
        let site = state.site();
        let t = ctx.lang.t();
        let other = ctx.lang.other();
        let user = signed.map(|s| UserNav {
            first_name: s.member.first_name.to_string(),
            communities: match &s.member.town {
                // A town hall belongs to no community: the header names its town.
                Some(town) if s.is_town_hall() => town.clone(),
                _ => s.communities.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
            },
            csrf: s.session.csrf.clone(),
        });
        let nav = match signed {
            Some(signed) => {
                let item = |path: &str, label: &'static str, of: Section| NavItem {
                    href: site.href(path),
                    label,
                    current: section == of,
                };
                let mut nav = if signed.is_town_hall() {
                    // A town hall raises no alert and has no neighbours: its desk is its home.
                    vec![item("/town", t.frame.nav_town, Section::Town)]
                } else {
                    vec![
                        item("/", t.frame.nav_feed, Section::Feed),
                        item("/alerts/new", t.frame.nav_raise, Section::Raise),
                        item("/members", t.frame.nav_neighbours, Section::Neighbours),
                    ]
                };
                if signed.is_referent() {
                    nav.push(item("/admin", t.frame.nav_admin, Section::Admin));
                }
                if signed.is_police() {
                    nav.push(item("/police", t.frame.nav_police, Section::Police));
                }
                nav.push(item("/settings", t.frame.nav_settings, Section::Settings));
                nav
            }
            None => Vec::new(),
        };
        Self {
            lang: ctx.lang.code(),
            t,
            base: site.base_path.clone(),
            title: title.into(),
            user,
            nav,
            switch_href: site.href(&format!("/lang/{}?{}", other.code(), query_pair("next", &ctx.here))),
            switch_label: t.frame.switch_to,
            switch_lang: other.code(),
        }
    }
}

/// The answer to an anonymous form sent too often (429): `body` says what was limited.
pub fn too_many(state: &AppState, ctx: &Ctx, body: &str) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    let message = MessagePage {
        chrome: Chrome::new(state, ctx, t.common.limited_title, Section::Other, None),
        heading: t.common.limited_title.to_owned(),
        body: body.to_owned(),
        link_href: state.site().href("/signin"),
        link_label: t.common.back_home,
    };
    page(StatusCode::TOO_MANY_REQUESTS, &message)
}

/// A rendered page with its status.
pub fn page(status: StatusCode, template: &impl Template) -> Result<Response, WebError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// A page rendered with status 200.
pub fn ok(template: &impl Template) -> Result<Response, WebError> {
    page(StatusCode::OK, template)
}

/// "See other": where a form sends the browser once it is done.
pub fn see_other(state: &AppState, path: &str) -> Response {
    Redirect::to(&state.site().href(path)).into_response()
}

/// A town hall's account belongs to no community: the pages of a community's members (the
/// feed, the raise form, the neighbours) send it to its desk.
pub fn desk_of_town_hall(state: &AppState, signed: &Signed) -> Option<Response> {
    signed.is_town_hall().then(|| see_other(state, "/town"))
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub body: String,
    pub link_href: String,
    pub link_label: &'static str,
}

/// The page of an error, in the request's language (JSON under `/api/`).
pub fn error_response(
    state: &AppState,
    lang: Lang,
    api: bool,
    status: StatusCode,
    page: ErrorPage,
) -> Response {
    if api {
        let code = match page {
            ErrorPage::NotFound => "not_found",
            ErrorPage::SignedOut => "signed_out",
            ErrorPage::Forbidden => "forbidden",
            ErrorPage::Denied => "not_allowed",
            ErrorPage::BadRequest => "bad_request",
            ErrorPage::MethodNotAllowed => "method_not_allowed",
            ErrorPage::Unavailable => "unavailable",
            ErrorPage::Internal => "internal",
        };
        return (status, axum::Json(serde_json::json!({ "error": code }))).into_response();
    }
    if page == ErrorPage::SignedOut {
        return see_other(state, "/signin");
    }
    let t = lang.t();
    let (heading, body) = match page {
        ErrorPage::NotFound => (t.errors.not_found_title, t.errors.not_found_body),
        ErrorPage::SignedOut => (t.errors.signed_out_title, t.errors.signed_out_body),
        ErrorPage::Forbidden => (t.errors.forbidden_title, t.errors.forbidden_body),
        ErrorPage::Denied => (t.errors.denied_title, t.errors.denied_body),
        ErrorPage::BadRequest | ErrorPage::MethodNotAllowed => {
            (t.errors.bad_request_title, t.errors.bad_request_body)
        }
        ErrorPage::Unavailable => (t.errors.unavailable_title, t.errors.unavailable_body),
        ErrorPage::Internal => (t.errors.internal_title, t.errors.internal_body),
    };
    let ctx = Ctx { lang, here: "/".to_owned() };
    let template = MessagePage {
        chrome: Chrome::new(state, &ctx, heading, Section::Other, None),
        heading: heading.to_owned(),
        body: body.to_owned(),
        link_href: state.site().href("/"),
        link_label: t.common.back_home,
    };
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], heading).into_response(),
    }
}

/// A number as people write it: France's, overseas departments included, in national form
/// (`06 39 98 00 00`, `06 90 12 34 56`), others in
/// E.164.
pub fn phone_display(phone: &vigie::domain::PhoneNumber) -> String {
    match phone.french_national() {
        Some(digits) => digits
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        None => phone.as_str().to_owned(),
    }
}

/// The delivery problems of `member`'s address and number, in sentences (`own`: said to them),
/// their dates in `zone`.
pub fn delivery_notes(
    lang: Lang,
    zone: &TimeZoneId,
    member_problems: &impl HasProblems,
    own: bool,
) -> Vec<String> {
    let (email, sms) = member_problems.problems();
    [(Channel::Email, email), (Channel::Sms, sms)]
        .into_iter()
        .filter_map(|(channel, problem)| {
            problem.map(|p| lang.delivery_problem(channel, p, &local_time::format(lang, zone, p.at), own))
        })
        .collect()
}

/// A member's or a roster row's delivery problems.
pub trait HasProblems {
    fn problems(&self) -> (Option<&DeliveryProblem>, Option<&DeliveryProblem>);
}

impl HasProblems for Member {
    fn problems(&self) -> (Option<&DeliveryProblem>, Option<&DeliveryProblem>) {
        (self.email_problem.as_ref(), self.sms_problem.as_ref())
    }
}

impl HasProblems for Recipient {
    fn problems(&self) -> (Option<&DeliveryProblem>, Option<&DeliveryProblem>) {
        (self.email_problem.as_ref(), self.sms_problem.as_ref())
    }
}

/// The shared number as people dial it: a short code as is (`38123`), a long code as
/// [`phone_display`] writes it.
pub fn shared_number_display(number: &vigie::domain::SharedNumber) -> String {
    match number.phone_number() {
        Some(phone) => phone_display(phone),
        None => number.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_as_people_write_them() {
        let fr = vigie::domain::PhoneNumber::parse("+33639980001").unwrap();
        assert_eq!(phone_display(&fr), "06 39 98 00 01");
        let uk = vigie::domain::PhoneNumber::parse("+447700900123").unwrap();
        assert_eq!(phone_display(&uk), "+447700900123");
        let short = vigie::domain::SharedNumber::parse("38123").unwrap();
        assert_eq!(shared_number_display(&short), "38123");
        let long = vigie::domain::SharedNumber::parse("+33939000000").unwrap();
        assert_eq!(shared_number_display(&long), "09 39 00 00 00");
    }
}
