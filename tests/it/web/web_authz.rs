//! The authorization matrix of the web function, against the emulator: every route it serves,
//! with every method it accepts, asked by nine callers about one community, Les Tilleuls
//! (Bellerive): someone signed out; a member, the referent and the municipal police of Les
//! Tilleuls; a member and the referent of another community of the town (Le Moulin); the police
//! of another town (Valmont, seeded here); the town hall of Bellerive, and that of Valmont.
//!
//! One table says what each caller gets. Every cell that is refused is also checked to have
//! changed nothing (the three tables read whole before and after; the outbox at the end), and no
//! answer may hold a hidden number or another member's address. The table is checked against
//! the routes of the code itself (`API_ROUTES`, and the `.route(...)` calls of the pages), and
//! every method a path does not list must answer 405: a new route or method without a row fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vigie::adapters::now_ms;
use vigie::domain::{
    AlertId, AlertSource, Category, CommunityId, Email, FirstName, LastName, Member, MemberId, PhoneNumber,
    Role, UnsubscribeToken,
};
use vigie::model::{JoinRequest, Offer, PendingPhone, Session, TokenHash};
use vigie::ports::{AlertLog, Feed, MemberLookup, Membership, Offers, PhoneCodes, Registry, Sessions};
use vigie_tests::web_client::{Reply, WebClient};
use vigie_tests::{DEMO_SEED, Stack};

/// The community every row is about.
const TILLEULS: &str = "les-tilleuls";

/// Another town, with its own police: not in the demo data.
const VALMONT: &str = r#"{
  "communities": [{ "id": "les-vignes", "name": "Les Vignes", "town": "Valmont" }],
  "members": [
    { "communities": ["les-vignes"], "first_name": "Thierry", "last_name": "Vidal",
      "email": "police@valmont.example.org", "phone": "06 39 98 02 01", "sms_consent": "2026-11-02",
      "hide_phone": true, "role": "police" },
    { "communities": ["les-vignes"], "first_name": "Odile", "last_name": "Vernet",
      "email": "odile.vernet@example.org", "phone": "06 39 98 02 02", "sms_consent": "2026-11-02", "role": "resident" },
    { "communities": [], "town": "Valmont", "first_name": "Yvonne", "last_name": "Roux",
      "email": "mairie@valmont.example.org", "role": "mairie" }
  ]
}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// Lucas, a resident of Les Tilleuls.
    Member,
    /// Inès, a resident of Le Moulin.
    OtherMember,
    /// Marie, the referent of Les Tilleuls.
    Referent,
    /// Paul, the referent of Le Moulin.
    OtherReferent,
    /// Sophie, the municipal police of Bellerive (both its communities).
    Police,
    /// Thierry, the municipal police of Valmont.
    OtherPolice,
    /// Hélène, the town hall of Bellerive (role `mairie`).
    Town,
    /// Yvonne, the town hall of Valmont.
    OtherTown,
}

/// The columns of the table, in order.
const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::Member,
    Caller::OtherMember,
    Caller::Referent,
    Caller::OtherReferent,
    Caller::Police,
    Caller::OtherPolice,
    Caller::Town,
    Caller::OtherTown,
];

impl Caller {
    fn first_name(self) -> Option<&'static str> {
        match self {
            Caller::Anonymous => None,
            Caller::Member => Some("Lucas"),
            Caller::OtherMember => Some("Inès"),
            Caller::Referent => Some("Marie"),
            Caller::OtherReferent => Some("Paul"),
            Caller::Police => Some("Sophie"),
            Caller::OtherPolice => Some("Thierry"),
            Caller::Town => Some("Hélène"),
            Caller::OtherTown => Some("Yvonne"),
        }
    }
}

/// What a caller gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// 2xx, or a redirect to the intended place; the request did its work on the community
    /// concerned (or showed it).
    Allowed,
    /// 2xx or the intended redirect, but it acted on (or showed) the caller's own community or
    /// the caller themselves only: the community concerned is untouched and unseen.
    Own,
    /// 303 to `/signin`, nothing changed.
    SignIn,
    /// 401 `{"error": "signed_out"}`, nothing changed.
    Unauthorized,
    /// 403, nothing changed.
    Forbidden,
    /// 404, nothing changed.
    NotFound,
    /// 422 (the police of another town naming Les Tilleuls: none of theirs), nothing changed.
    Unprocessable,
    /// 410 (no erasure code waits for the caller: a code typed erases no one), nothing changed.
    Gone,
    /// 303 to `/town`: a town hall's home is its desk (it belongs to no community), nothing
    /// changed.
    Desk,
}

const A: Outcome = Outcome::Allowed;
const O: Outcome = Outcome::Own;
const S: Outcome = Outcome::SignIn;
const U: Outcome = Outcome::Unauthorized;
const F: Outcome = Outcome::Forbidden;
const N: Outcome = Outcome::NotFound;
const I: Outcome = Outcome::Unprocessable;
const G: Outcome = Outcome::Gone;
const D: Outcome = Outcome::Desk;

impl Outcome {
    fn refused(self) -> bool {
        !matches!(self, Outcome::Allowed | Outcome::Own)
    }
}

/// The request of a row (how it is built for each caller, and what shows that it did its work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// A public file or answer, at this path.
    Public(&'static str),
    Lang,
    SigninForm,
    SigninAsk,
    SigninLinkPage,
    SigninUseLink,
    Signout,
    JoinForm,
    JoinSend,
    /// `right`: Lucas's own token; else Inès's token with Lucas's id.
    UnsubscribePage {
        right: bool,
    },
    Unsubscribe {
        right: bool,
    },
    /// `filtered`: the community is named in the query.
    Feed {
        filtered: bool,
    },
    AlertForm,
    AlertEdit,
    AlertConfirm,
    AlertRaise,
    AlertReport,
    /// A fresh alert of Karim's, closed (the page's form; the API with `api`).
    AlertClose {
        api: bool,
    },
    /// A fresh alert of Karim's, flagged.
    AlertFlag {
        api: bool,
    },
    /// A fresh alert of Karim's, withdrawn by a referent.
    AlertWithdraw {
        api: bool,
    },
    Settings,
    SettingsSave,
    SettingsConfirmPhone,
    SettingsResendCode,
    SettingsCancelPhone,
    /// Lucas has an invitation to Le Moulin (a referent there typed his number).
    SettingsJoinOffer,
    SettingsDeclineOffer,
    Neighbours {
        filtered: bool,
    },
    Admin,
    AdminForm,
    AdminAdd,
    AdminRemove,
    AdminReinvite,
    AdminApprove,
    AdminRefuse,
    AdminSmsBudget,
    PoliceList,
    ApiPreview,
    ApiAlerts {
        filtered: bool,
    },
    ApiRaise,
    ApiAlert,
    ApiMe,
    ApiPatchMe,
    ApiConfirmPhone,
    ApiResendCode,
    ApiCancelPhone,
    ApiMembers {
        filtered: bool,
    },
    ApiAddMember,
    ApiRemoveMember,
    ApiReinvite,
    /// "Mes données": the page, the download, a code asked for, a code typed with none waiting.
    MyData,
    MyDataDownload {
        api: bool,
    },
    MyDataErase {
        api: bool,
    },
    MyDataConfirm {
        api: bool,
    },
    /// A fresh member without an address, erased by the referent at their request.
    AdminErase {
        api: bool,
    },
    /// The town hall's desk: its communities.
    TownDesk {
        api: bool,
    },
    /// A new community of Bellerive.
    TownCreate {
        api: bool,
    },
    /// Les Tilleuls, with its members, as the town hall sees it.
    TownCommunity {
        api: bool,
    },
    /// A fresh community of Bellerive, renamed.
    TownRename {
        api: bool,
    },
    /// A fresh resident of Les Tilleuls appointed referent.
    TownAppoint {
        api: bool,
    },
    /// A fresh referent of Les Tilleuls made a resident again.
    TownDismiss {
        api: bool,
    },
}

struct Row {
    method: &'static str,
    /// As routed in the code.
    route: &'static str,
    case: Case,
    /// By caller, in the order of [`CALLERS`].
    expect: [Outcome; 9],
}

const fn row(method: &'static str, route: &'static str, case: Case, expect: [Outcome; 9]) -> Row {
    Row { method, route, case, expect }
}

/// The policy. Columns: signed out, member, other community's member, referent, other
/// community's referent, police of the town, police of another town, town hall of the town,
/// town hall of another town.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Public: files, the language switch, signing in, asking to join.
    row("GET", "/health", Case::Public("/health"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/privacy", Case::Public("/privacy"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/static/app.css", Case::Public("/static/app.css"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/static/app.js", Case::Public("/static/app.js"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/static/icon.svg", Case::Public("/static/icon.svg"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/lang/{code}", Case::Lang, [A, A, A, A, A, A, A, A, A]),
    row("GET", "/signin", Case::SigninForm, [A, A, A, A, A, A, A, A, A]),
    row("POST", "/signin", Case::SigninAsk, [A, A, A, A, A, A, A, A, A]),
    row("GET", "/signin/{token}", Case::SigninLinkPage, [A, A, A, A, A, A, A, A, A]),
    // The link is the credential, whoever holds it.
    row("POST", "/signin/{token}", Case::SigninUseLink, [A, A, A, A, A, A, A, A, A]),
    row("POST", "/signout", Case::Signout, [S, A, A, A, A, A, A, A, A]),
    row("GET", "/join", Case::JoinForm, [A, A, A, A, A, A, A, A, A]),
    row("POST", "/join", Case::JoinSend, [A, A, A, A, A, A, A, A, A]),
    // The token in the link is the credential; the wrong one is "not found" to everyone.
    row("GET", "/unsubscribe/{member}/{token}", Case::UnsubscribePage { right: true }, [A, A, A, A, A, A, A, A, A]),
    row("POST", "/unsubscribe/{member}/{token}", Case::Unsubscribe { right: true }, [A, A, A, A, A, A, A, A, A]),
    row("GET", "/unsubscribe/{member}/{token}", Case::UnsubscribePage { right: false }, [N, N, N, N, N, N, N, N, N]),
    row("POST", "/unsubscribe/{member}/{token}", Case::Unsubscribe { right: false }, [N, N, N, N, N, N, N, N, N]),
    // The feed and the alerts: members and the town's police of the community.
    row("GET", "/", Case::Feed { filtered: true }, [S, A, N, A, N, A, N, D, D]),
    row("GET", "/", Case::Feed { filtered: false }, [S, A, O, A, O, A, O, D, D]),
    row("GET", "/alerts/new", Case::AlertForm, [S, A, A, A, A, A, A, D, D]),
    row("POST", "/alerts/new", Case::AlertEdit, [S, A, A, A, A, A, A, D, D]),
    // A resident's ticked communities are ignored: they alert their own.
    row("POST", "/alerts/confirm", Case::AlertConfirm, [S, A, O, A, O, A, I, I, I]),
    row("POST", "/alerts", Case::AlertRaise, [S, A, O, A, O, A, I, I, I]),
    row("GET", "/alerts/{id}", Case::AlertReport, [S, A, N, A, N, A, N, N, N]),
    // The all clear: the author, a referent of the community, its town's police.
    row("POST", "/alerts/{id}/close", Case::AlertClose { api: false }, [S, F, N, A, N, A, N, N, N]),
    // Moderation: any member of the community flags; its referent withdraws.
    row("POST", "/alerts/{id}/flag", Case::AlertFlag { api: false }, [S, A, N, A, N, A, N, N, N]),
    row("POST", "/alerts/{id}/withdraw", Case::AlertWithdraw { api: false }, [S, F, N, A, N, F, N, N, N]),
    // My settings: each their own.
    row("GET", "/settings", Case::Settings, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/settings", Case::SettingsSave, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/settings/phone", Case::SettingsConfirmPhone, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/settings/phone/resend", Case::SettingsResendCode, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/settings/phone/cancel", Case::SettingsCancelPhone, [S, A, O, O, O, O, O, O, O]),
    // Only the member invited takes or declines the invitation; to anyone else it does not exist.
    row("POST", "/settings/offers/{community}/join", Case::SettingsJoinOffer, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/settings/offers/{community}/decline", Case::SettingsDeclineOffer, [S, A, O, O, O, O, O, O, O]),
    // My data: each their own. A code typed erases only the member it was sent to: with none
    // sent, it erases no one (the erasure itself: web_erasure.rs).
    row("GET", "/my-data", Case::MyData, [S, A, A, A, A, A, A, A, A]),
    row("GET", "/my-data/download", Case::MyDataDownload { api: false }, [S, A, O, O, O, O, O, O, O]),
    row("POST", "/my-data/erase/confirm", Case::MyDataConfirm { api: false }, [S, G, G, G, G, G, G, G, G]),
    row("POST", "/api/me/erasure/confirm", Case::MyDataConfirm { api: true }, [U, G, G, G, G, G, G, G, G]),
    row("POST", "/my-data/erase", Case::MyDataErase { api: false }, [S, A, O, O, O, O, O, O, O]),
    row("GET", "/my-data/erased", Case::Public("/my-data/erased"), [A, A, A, A, A, A, A, A, A]),
    row("GET", "/members", Case::Neighbours { filtered: true }, [S, A, N, A, N, A, N, D, D]),
    row("GET", "/members", Case::Neighbours { filtered: false }, [S, A, O, A, O, A, O, D, D]),
    // The referent's pages: their own community only; "not found" for another's ids.
    row("GET", "/admin", Case::Admin, [S, F, F, A, O, F, F, F, F]),
    row("GET", "/admin/members/new", Case::AdminForm, [S, F, F, A, O, F, F, F, F]),
    row("POST", "/admin/members", Case::AdminAdd, [S, F, F, A, O, F, F, F, F]),
    row("POST", "/admin/members/{id}/remove", Case::AdminRemove, [S, F, F, A, N, F, F, F, F]),
    row("POST", "/admin/members/{id}/invite", Case::AdminReinvite, [S, F, F, A, N, F, F, F, F]),
    row("POST", "/admin/members/{id}/erase", Case::AdminErase { api: false }, [S, F, F, A, N, F, F, F, F]),
    row("POST", "/admin/join/{id}/approve", Case::AdminApprove, [S, F, F, A, N, F, F, F, F]),
    row("POST", "/admin/join/{id}/refuse", Case::AdminRefuse, [S, F, F, A, N, F, F, F, F]),
    // Another community's referent sets their own community's budget.
    row("POST", "/admin/sms-budget", Case::AdminSmsBudget, [S, F, F, A, O, F, F, F, F]),
    // The police's page: the police of the town; another town's police see their own.
    row("GET", "/police", Case::PoliceList, [S, F, F, F, F, A, O, F, F]),
    // The API: the same rules, 401 when signed out.
    row("GET", "/api/sms-preview", Case::ApiPreview, [U, A, A, A, A, A, A, A, A]),
    row("GET", "/api/alerts", Case::ApiAlerts { filtered: true }, [U, A, N, A, N, A, N, N, N]),
    row("GET", "/api/alerts", Case::ApiAlerts { filtered: false }, [U, A, O, A, O, A, O, O, O]),
    row("POST", "/api/alerts", Case::ApiRaise, [U, A, O, A, O, A, I, I, I]),
    row("GET", "/api/alerts/{id}", Case::ApiAlert, [U, A, N, A, N, A, N, N, N]),
    row("POST", "/api/alerts/{id}/close", Case::AlertClose { api: true }, [U, F, N, A, N, A, N, N, N]),
    row("POST", "/api/alerts/{id}/flag", Case::AlertFlag { api: true }, [U, A, N, A, N, A, N, N, N]),
    row("POST", "/api/alerts/{id}/withdraw", Case::AlertWithdraw { api: true }, [U, F, N, A, N, F, N, N, N]),
    row("GET", "/api/me", Case::ApiMe, [U, A, O, O, O, O, O, O, O]),
    row("PATCH", "/api/me", Case::ApiPatchMe, [U, A, O, O, O, O, O, O, O]),
    row("POST", "/api/me/phone", Case::ApiConfirmPhone, [U, A, O, O, O, O, O, O, O]),
    row("POST", "/api/me/phone/resend", Case::ApiResendCode, [U, A, O, O, O, O, O, O, O]),
    row("DELETE", "/api/me/phone/pending", Case::ApiCancelPhone, [U, A, O, O, O, O, O, O, O]),
    row("GET", "/api/me/data", Case::MyDataDownload { api: true }, [U, A, O, O, O, O, O, O, O]),
    row("POST", "/api/me/erasure", Case::MyDataErase { api: true }, [U, A, O, O, O, O, O, O, O]),
    row("GET", "/api/members", Case::ApiMembers { filtered: true }, [U, A, N, A, N, A, N, N, N]),
    row("GET", "/api/members", Case::ApiMembers { filtered: false }, [U, A, O, A, O, A, O, N, N]),
    row("POST", "/api/members", Case::ApiAddMember, [U, F, F, A, O, F, F, F, F]),
    row("DELETE", "/api/members/{id}", Case::ApiRemoveMember, [U, F, F, A, N, F, F, F, F]),
    row("POST", "/api/members/{id}/invite", Case::ApiReinvite, [U, F, F, A, N, F, F, F, F]),
    row("POST", "/api/members/{id}/erasure", Case::AdminErase { api: true }, [U, F, F, A, N, F, F, F, F]),
    // The town hall's desk: the town hall of the town; another town's sees and creates its own,
    // and is told the town's communities do not exist.
    row("GET", "/town", Case::TownDesk { api: false }, [S, F, F, F, F, F, F, A, O]),
    row("POST", "/town/communities", Case::TownCreate { api: false }, [S, F, F, F, F, F, F, A, O]),
    row("GET", "/town/communities/{id}", Case::TownCommunity { api: false }, [S, F, F, F, F, F, F, A, N]),
    row("POST", "/town/communities/{id}/rename", Case::TownRename { api: false }, [S, F, F, F, F, F, F, A, N]),
    row("POST", "/town/communities/{id}/referents/{member}", Case::TownAppoint { api: false }, [S, F, F, F, F, F, F, A, N]),
    row("POST", "/town/communities/{id}/referents/{member}/remove", Case::TownDismiss { api: false }, [S, F, F, F, F, F, F, A, N]),
    row("GET", "/api/town", Case::TownDesk { api: true }, [U, F, F, F, F, F, F, A, O]),
    row("POST", "/api/town/communities", Case::TownCreate { api: true }, [U, F, F, F, F, F, F, A, O]),
    row("GET", "/api/town/communities/{id}", Case::TownCommunity { api: true }, [U, F, F, F, F, F, F, A, N]),
    row("PATCH", "/api/town/communities/{id}", Case::TownRename { api: true }, [U, F, F, F, F, F, F, A, N]),
    row("PUT", "/api/town/communities/{id}/referents/{member}", Case::TownAppoint { api: true }, [U, F, F, F, F, F, F, A, N]),
    row("DELETE", "/api/town/communities/{id}/referents/{member}", Case::TownDismiss { api: true }, [U, F, F, F, F, F, F, A, N]),
];

/// A caller's browser: its cookies, and the anti-CSRF token its forms carry.
#[derive(Clone, Debug, Default)]
struct Jar {
    cookies: Vec<(String, String)>,
    /// The session's token (signed in), or the anonymous forms' one.
    csrf: String,
    member: Option<Member>,
}

impl Jar {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn anonymous_csrf(&self) -> String {
        self.cookie("__Host-vigie_csrf").expect("every jar has the anonymous forms' cookie").to_owned()
    }
}

/// Where a redirect of a successful answer must lead.
#[derive(Clone, Debug)]
enum Place {
    Exactly(String),
    Under(String),
}

impl Place {
    fn admits(&self, location: &str) -> bool {
        match self {
            Place::Exactly(p) => location == p,
            Place::Under(p) => location.starts_with(p.as_str()),
        }
    }
}

enum Body {
    None,
    Form(Vec<(String, String)>),
    Json(Value),
}

/// What shows that a request did its work on the community concerned.
enum Probe {
    /// Nothing of it is in play (a file, a blank form).
    Nothing,
    /// The answer shows this.
    Shows(String),
    /// An alert of Les Tilleuls with this text.
    AlertIn(String),
    /// A member of Les Tilleuls with this number.
    MemberIn(PhoneNumber),
    MemberGone(MemberId),
    RequestTaken(MemberId),
    /// A join request to Les Tilleuls from this address.
    JoinRequest(String),
    /// This member's profile is no longer this one.
    Profile(Box<Member>),
    /// More sign-in emails to this address than this.
    LinkEmailed(String, usize),
    /// The client's session is now this member's.
    SessionOf(MemberId),
    /// This session is over (`None`: there was none).
    SessionEnded(Option<TokenHash>),
    EmailAlertsOff(MemberId),
    /// More texts to this number than this.
    Texted(String, usize),
    /// This member has no number waiting for its code.
    NothingPending(MemberId),
    /// Les Tilleuls' own monthly SMS budget is this.
    SmsBudget(u32),
    /// This alert is closed.
    Closed(AlertId),
    /// Someone flagged this alert.
    Flagged(AlertId),
    /// This alert is withdrawn.
    Withdrawn(AlertId),
    /// This member belongs to Le Moulin.
    JoinedMoulin(MemberId),
    /// This member has no invitation to Le Moulin left.
    NoOfferLeft(MemberId),
    /// A community of Bellerive has this name.
    CommunityNamed(String),
    /// This member has this role.
    RoleIs(MemberId, Role),
}

/// One cell, ready to send.
struct Prepared {
    jar: Jar,
    path: String,
    body: Body,
    /// Where a successful redirect leads (`None`: a success is 2xx).
    place: Option<Place>,
    probe: Probe,
}

/// The whole store: every item of the three tables, by table and key.
#[derive(Debug, PartialEq)]
struct Snapshot(BTreeMap<String, Value>);

impl Snapshot {
    /// The keys of the items that differ.
    fn diff(&self, other: &Snapshot) -> Vec<String> {
        let keys: BTreeSet<&String> = self.0.keys().chain(other.0.keys()).collect();
        keys.into_iter().filter(|k| self.0.get(*k) != other.0.get(*k)).cloned().collect()
    }
}

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!(s),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_json).collect()),
        AttributeValue::M(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect())
        }
        other => json!(format!("{other:?}")),
    }
}

/// Everything the tests can see, the expected outcomes aside: the stack, the web function, the
/// callers' browsers and the fixtures.
struct World {
    stack: Stack,
    router: axum::Router,
    jars: Vec<Jar>,
    /// An alert of Les Tilleuls, and its text.
    alert: AlertId,
    alert_text: String,
    serial: u32,
    /// Sign-in links asked for through the site so far.
    links: std::cell::Cell<usize>,
}

impl World {
    async fn new() -> World {
        // No hourly limit in the way: a member raises an alert in several rows, and every caller
        // signs in several times from the one address of the tests.
        let mut stack = Stack::start_with(|c| {
            c.alerts_per_hour = 1000;
            c.signin_links_per_ip_per_hour = 100;
        })
        .await;
        stack.seed(DEMO_SEED).await;
        stack.seed(VALMONT).await;
        let router = web::router(stack.web_state(Duration::ZERO));
        let alert_text = "Portail du square force cette nuit".to_owned();
        let alert = record_alert(&stack, "Karim", &alert_text).await;
        let mut world = World {
            stack,
            router,
            jars: Vec::new(),
            alert,
            alert_text,
            serial: 0,
            links: Default::default(),
        };
        for caller in CALLERS {
            let jar = world.fresh_jar(caller).await;
            world.jars.push(jar);
        }
        world
    }

    fn next(&mut self) -> u32 {
        self.serial += 1;
        self.serial
    }

    fn store(&self) -> &vigie::adapters::DynamoStore {
        self.stack.store()
    }

    fn client(&self, jar: &Jar) -> WebClient {
        let mut client = WebClient::with_router(self.router.clone());
        for (name, value) in &jar.cookies {
            client.set_cookie(name, value);
        }
        client.csrf = jar.member.as_ref().map(|_| jar.csrf.clone());
        client
    }

    /// A new browser of `caller`: signed in through the emailed link, or (signed out) holding
    /// the anonymous forms' cookie.
    async fn fresh_jar(&self, caller: Caller) -> Jar {
        let mut web = WebClient::with_router(self.router.clone());
        let (csrf, member) = match caller.first_name() {
            Some(first_name) => {
                let done = web.sign_in(&self.stack, first_name).await;
                self.links.set(self.links.get() + 1);
                assert_eq!(done.status, StatusCode::SEE_OTHER, "{first_name} signs in: {}", done.body);
                let me = web.get("/api/me").await;
                assert_eq!(me.status, StatusCode::OK, "{first_name} is signed in");
                let csrf = me.json()["csrf"].as_str().expect("a csrf").to_owned();
                let member = self.stack.member(first_name).clone();
                (csrf, Some(member))
            }
            None => (web.get("/signin").await.csrf(), None),
        };
        let cookies = ["__Host-vigie_session", "__Host-vigie_csrf"]
            .into_iter()
            .filter_map(|name| web.cookie(name).map(|v| (name.to_owned(), v.to_owned())))
            .collect();
        Jar { cookies, csrf, member }
    }

    /// The member `caller` is, as stored now.
    async fn current(&self, caller: Caller) -> Option<Member> {
        let first_name = caller.first_name()?;
        let id = self.stack.member(first_name).id;
        Some(self.store().member(id).await.expect("store").expect("still a member"))
    }

    async fn lucas(&self) -> Member {
        self.current(Caller::Member).await.expect("Lucas")
    }

    async fn newest_alert_text(&self) -> String {
        let page = self.store().community_alerts(&tilleuls(), None, 1).await.expect("feed");
        page.items[0].alert.text.to_string()
    }

    /// A resident of Les Tilleuls with a number (and this address), for a row to remove: seeded
    /// as a town hall imports one.
    /// A member of Les Tilleuls whose number waits for its owner's OUI, and that number.
    async fn fixture_invited(&mut self) -> (MemberId, PhoneNumber) {
        let n = self.next();
        let phone = self.fresh_phone(n);
        let import = format!(
            r#"{{"communities": [{{"id": "{TILLEULS}", "name": "Les Tilleuls", "town": "Bellerive"}}],
                "members": [{{"communities": ["{TILLEULS}"], "first_name": "Denise", "last_name": "Invitee",
                              "phone": "{phone}", "role": "resident"}}]}}"#
        );
        (self.stack.seed(&import).await.members[0].id, phone)
    }

    async fn fixture_member(&mut self, email: Option<&str>) -> MemberId {
        let n = self.next();
        let phone = self.fresh_phone(n);
        let email = email.map(|e| format!(r#", "email": "{e}""#)).unwrap_or_default();
        let import = format!(
            r#"{{"communities": [{{"id": "{TILLEULS}", "name": "Les Tilleuls", "town": "Bellerive"}}],
                "members": [{{"communities": ["{TILLEULS}"], "first_name": "Denise", "last_name": "Essai",
                              "phone": "{phone}", "sms_consent": "2026-11-02"{email}, "role": "resident"}}]}}"#
        );
        self.stack.seed(&import).await.members[0].id
    }

    /// A community of Bellerive with no one in it yet, for a row to rename.
    async fn fixture_community(&mut self) -> CommunityId {
        let n = self.next();
        let community = vigie::domain::Community {
            id: format!("essai-{n}").parse().expect("an id"),
            name: format!("Essai {n}"),
            town: "Bellerive".into(),
            time_zone: Default::default(),
            sms_budget: None,
        };
        self.store().put_community(&community).await.expect("fixture community");
        community.id
    }

    /// An invitation to Le Moulin for Lucas, who is in Les Tilleuls only (as before any cell).
    async fn offer_to_lucas(&self) -> MemberId {
        let lucas = self.lucas().await;
        if lucas.belongs_to(&moulin()) {
            let mut back = lucas.clone();
            back.communities.retain(|c| c != &moulin());
            self.store().update_member(&lucas, &back).await.expect("fixture: Lucas back to Les Tilleuls");
        }
        let offer = Offer {
            holder: lucas.id,
            community: moulin(),
            community_name: "Le Moulin".into(),
            referent: "Paul".into(),
            placeholder: MemberId::new(),
            until_ms: now_ms() + 3_600_000,
            joined: None,
        };
        self.store().put_offer(&offer).await.expect("fixture offer");
        lucas.id
    }

    /// A request to join Les Tilleuls, for a row to approve or refuse.
    async fn fixture_request(&mut self) -> MemberId {
        let n = self.next();
        let request = JoinRequest {
            request_id: MemberId::new(),
            community_id: tilleuls(),
            first_name: FirstName::parse("Yann").unwrap(),
            last_name: LastName::parse("Essai").unwrap(),
            email: Some(Email::parse(&format!("demande{n}@example.org")).unwrap()),
            phone: None,
            created_at: now_ms(),
        };
        self.store().add_join_request(&request).await.expect("fixture request");
        request.request_id
    }

    /// A number waiting for its code for Lucas and, when the caller is another member, one for
    /// the caller too (so their request can succeed on their own): the code, and Lucas's number.
    async fn pending_numbers(&mut self, caller: Caller) -> (String, PhoneNumber) {
        let lucas = self.lucas().await;
        let code = format!("{:06}", 100_000 + self.next());
        let mut lucas_phone = None;
        let me = self.current(caller).await.filter(|me| me.id != lucas.id);
        for member in std::iter::once(&lucas).chain(me.as_ref()) {
            let n = self.next();
            let phone = self.fresh_phone(n);
            let pending = PendingPhone {
                phone: phone.clone(),
                code: Some(vigie::app::phone::code_hash(member.id, &code)),
                tries: 0,
                until_ms: now_ms() + 600_000,
            };
            self.store().put_pending_phone(member.id, &pending).await.expect("store");
            lucas_phone.get_or_insert(phone);
        }
        (code, lucas_phone.expect("Lucas's number"))
    }

    fn fresh_phone(&self, n: u32) -> PhoneNumber {
        format!("+3363998{:04}", 1000 + n).parse().expect("a number")
    }

    /// The whole store (the three tables read at once).
    async fn snapshot(&self) -> Snapshot {
        let tables = &self.stack.config.tables;
        let (members, alerts, ledger) =
            tokio::join!(self.scan(&tables.members), self.scan(&tables.alerts), self.scan(&tables.ledger));
        Snapshot(members.into_iter().chain(alerts).chain(ledger).collect())
    }

    async fn scan(&self, table: &str) -> Vec<(String, Value)> {
        let client = aws_sdk_dynamodb::Client::new(&self.stack.sdk);
        let scanned = client.scan().table_name(table).into_paginator().items().send().try_collect().await;
        scanned
            .expect("scan")
            .iter()
            .map(|item| {
                let key = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let map = item.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect();
                (format!("{table} {} {}", key("pk"), key("sk")), Value::Object(map))
            })
            .collect()
    }

    /// What a caller may never read: another member's address, and a hidden number not theirs.
    fn secrets(&self, caller: Caller) -> Vec<(String, String)> {
        let me = caller.first_name().map(|f| self.stack.member(f).id);
        let mut secrets = Vec::new();
        for member in self.stack.members.iter().filter(|m| Some(m.id) != me) {
            if let Some(email) = &member.email {
                secrets.push((format!("{}'s address", member.first_name), email.to_string()));
            }
            if let Some(phone) = member.phone.as_ref().filter(|_| member.hide_phone) {
                // The 9 digits after +33 / 0, however they are grouped.
                let digits = phone.as_str().trim_start_matches("+33").to_owned();
                secrets.push((format!("{}'s hidden number", member.first_name), digits));
            }
        }
        secrets
    }

    async fn prepare(&mut self, case: Case, caller: Caller) -> Prepared {
        let jar = self.jars[caller as usize].clone();
        let csrf = jar.csrf.clone();
        let form = |pairs: &[(&str, &str)]| {
            let mut fields = vec![("csrf".to_owned(), csrf.clone())];
            fields.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            Body::Form(fields)
        };
        let category = Category::Suspicious.as_str();
        let plain = |path: &str, probe: Probe| Prepared {
            jar: jar.clone(),
            path: path.to_owned(),
            body: Body::None,
            place: None,
            probe,
        };
        match case {
            Case::Public(path) => plain(path, Probe::Nothing),
            Case::Lang => Prepared {
                place: Some(Place::Exactly("/members".into())),
                ..plain("/lang/en?next=/members", Probe::Nothing)
            },
            Case::SigninForm => {
                Prepared { place: Some(Place::Exactly("/".into())), ..plain("/signin", Probe::Nothing) }
            }
            Case::SigninAsk => {
                let address = match &jar.member {
                    Some(member) => member.email.as_ref().expect("callers have an address").to_string(),
                    None => self.stack.email("Chloé"),
                };
                let before = self.stack.outbox().await.emails_to(&address).count();
                self.links.set(self.links.get() + 1);
                let body = Body::Form(vec![
                    ("csrf".into(), jar.anonymous_csrf()),
                    ("email".into(), address.clone()),
                ]);
                Prepared { body, ..plain("/signin", Probe::LinkEmailed(address, before)) }
            }
            Case::SigninLinkPage => {
                plain(&format!("/signin/{}", UnsubscribeToken::generate().as_str()), Probe::Nothing)
            }
            Case::SigninUseLink => {
                // Using a link ends the browser's session: a fresh one, not the caller's jar.
                let jar = self.fresh_jar(caller).await;
                let token = UnsubscribeToken::generate();
                let chloe = self.stack.member("Chloé").id;
                let link = TokenHash::of(token.as_str());
                self.store().put_signin_link(&link, chloe, Duration::from_secs(600)).await.expect("a link");
                Prepared {
                    body: Body::Form(vec![("csrf".into(), jar.anonymous_csrf())]),
                    place: Some(Place::Exactly("/".into())),
                    path: format!("/signin/{}", token.as_str()),
                    probe: Probe::SessionOf(chloe),
                    jar,
                }
            }
            Case::Signout => {
                let jar = self.fresh_jar(caller).await;
                let session = jar.cookie("__Host-vigie_session").map(TokenHash::of);
                Prepared {
                    body: Body::Form(vec![("csrf".into(), jar.csrf.clone())]),
                    place: Some(Place::Exactly("/signin?out=1".into())),
                    path: "/signout".into(),
                    probe: Probe::SessionEnded(session),
                    jar,
                }
            }
            Case::JoinForm => plain("/join", Probe::Nothing),
            Case::JoinSend => {
                let address = format!("voisine{}@example.org", self.next());
                let body = Body::Form(vec![
                    ("csrf".into(), jar.anonymous_csrf()),
                    ("town".into(), "Bellerive".into()),
                    ("community".into(), TILLEULS.into()),
                    ("first_name".into(), "Yasmine".into()),
                    ("last_name".into(), "Haddad".into()),
                    ("email".into(), address.clone()),
                ]);
                Prepared { body, ..plain("/join", Probe::JoinRequest(address)) }
            }
            Case::UnsubscribePage { right } | Case::Unsubscribe { right } => {
                let lucas = self.lucas().await;
                // Email alerts on before each unsubscribe, so each cell shows what it did (a GET
                // row must write nothing, not even here).
                if matches!(case, Case::Unsubscribe { .. }) && !lucas.email_alerts {
                    let on = Member { email_alerts: true, ..lucas.clone() };
                    self.store().update_member(&lucas, &on).await.expect("email alerts back on");
                }
                let token = if right {
                    lucas.unsubscribe_token.as_str().to_owned()
                } else {
                    self.stack.member("Inès").unsubscribe_token.as_str().to_owned()
                };
                let path = format!("/unsubscribe/{}/{token}", lucas.id);
                match case {
                    Case::Unsubscribe { .. } => Prepared {
                        body: Body::Form(vec![("List-Unsubscribe".into(), "One-Click".into())]),
                        ..plain(&path, Probe::EmailAlertsOff(lucas.id))
                    },
                    _ => plain(&path, Probe::Nothing),
                }
            }
            Case::Feed { filtered } => {
                let path = if filtered { format!("/?c={TILLEULS}") } else { "/".to_owned() };
                plain(&path, Probe::Shows(self.newest_alert_text().await))
            }
            Case::AlertForm => plain("/alerts/new", Probe::Nothing),
            Case::AlertEdit => Prepared {
                body: form(&[("category", category), ("c", TILLEULS), ("text", "Un brouillon")]),
                ..plain("/alerts/new", Probe::Nothing)
            },
            Case::AlertConfirm => Prepared {
                body: form(&[("category", category), ("c", TILLEULS), ("text", "Voiture suspecte")]),
                ..plain("/alerts/confirm", Probe::Shows(format!(r#"name="c" value="{TILLEULS}""#)))
            },
            Case::AlertRaise => {
                let text = format!("Alerte de la page numero {}", self.next());
                let submission = format!("web-{}", ulid::Ulid::new());
                Prepared {
                    body: form(&[
                        ("submission", &submission),
                        ("category", category),
                        ("c", TILLEULS),
                        ("text", &text),
                    ]),
                    place: Some(Place::Under("/alerts/".into())),
                    ..plain("/alerts", Probe::AlertIn(text))
                }
            }
            Case::AlertReport => {
                plain(&format!("/alerts/{}", self.alert), Probe::Shows(self.alert_text.clone()))
            }
            Case::AlertClose { api } => {
                let n = self.next();
                let alert = record_alert(&self.stack, "Karim", &format!("Alerte a clore numero {n}")).await;
                if api {
                    let body = Body::Json(json!({ "ending": "resolved" }));
                    Prepared { body, ..plain(&format!("/api/alerts/{alert}/close"), Probe::Closed(alert)) }
                } else {
                    Prepared {
                        body: form(&[("ending", "resolved")]),
                        place: Some(Place::Exactly(format!("/alerts/{alert}?closed=1"))),
                        ..plain(&format!("/alerts/{alert}/close"), Probe::Closed(alert))
                    }
                }
            }
            Case::AlertFlag { api } => {
                let n = self.next();
                let alert =
                    record_alert(&self.stack, "Karim", &format!("Alerte a signaler numero {n}")).await;
                if api {
                    let body = Body::Json(json!({ "reason": "unfounded" }));
                    Prepared { body, ..plain(&format!("/api/alerts/{alert}/flag"), Probe::Flagged(alert)) }
                } else {
                    Prepared {
                        body: form(&[("reason", "unfounded")]),
                        place: Some(Place::Exactly(format!("/alerts/{alert}?flagged=1"))),
                        ..plain(&format!("/alerts/{alert}/flag"), Probe::Flagged(alert))
                    }
                }
            }
            Case::AlertWithdraw { api } => {
                let n = self.next();
                let alert = record_alert(&self.stack, "Karim", &format!("Alerte a retirer numero {n}")).await;
                if api {
                    let body = Body::Json(json!({ "reason": "Hors sujet" }));
                    Prepared {
                        body,
                        ..plain(&format!("/api/alerts/{alert}/withdraw"), Probe::Withdrawn(alert))
                    }
                } else {
                    Prepared {
                        body: form(&[("reason", "Hors sujet")]),
                        place: Some(Place::Exactly(format!("/alerts/{alert}?withdrawn=1"))),
                        ..plain(&format!("/alerts/{alert}/withdraw"), Probe::Withdrawn(alert))
                    }
                }
            }
            Case::Settings => plain("/settings", Probe::Shows(self.stack.email("Lucas"))),
            Case::SettingsSave => {
                let me = self.current(caller).await.unwrap_or(self.lucas().await);
                let mut pairs = vec![
                    ("first_name", me.first_name.to_string()),
                    ("phone", me.phone.as_ref().map(ToString::to_string).unwrap_or_default()),
                ];
                for (name, on) in [
                    ("hide_phone", me.hide_phone),
                    ("email_alerts", me.email_alerts),
                    ("sms_alerts", !me.sms_alerts),
                ] {
                    if on {
                        pairs.push((name, "on".to_owned()));
                    }
                }
                let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Prepared {
                    body: form(&pairs),
                    place: Some(Place::Exactly("/settings?saved=1".into())),
                    ..plain("/settings", Probe::Profile(Box::new(self.lucas().await)))
                }
            }
            Case::SettingsConfirmPhone | Case::ApiConfirmPhone => {
                let lucas = self.lucas().await;
                let (code, _) = self.pending_numbers(caller).await;
                if case == Case::ApiConfirmPhone {
                    let body = Body::Json(json!({ "code": code }));
                    Prepared { body, ..plain("/api/me/phone", Probe::Profile(Box::new(lucas))) }
                } else {
                    Prepared {
                        body: form(&[("code", &code)]),
                        place: Some(Place::Exactly("/settings?confirmed=1".into())),
                        ..plain("/settings/phone", Probe::Profile(Box::new(lucas)))
                    }
                }
            }
            Case::SettingsResendCode | Case::ApiResendCode => {
                let (_, phone) = self.pending_numbers(caller).await;
                let texted = self.stack.outbox().await.sms_to(phone.as_str()).count();
                let probe = Probe::Texted(phone.to_string(), texted);
                if case == Case::ApiResendCode {
                    plain("/api/me/phone/resend", probe)
                } else {
                    Prepared {
                        body: form(&[]),
                        place: Some(Place::Exactly("/settings?code=1".into())),
                        ..plain("/settings/phone/resend", probe)
                    }
                }
            }
            Case::SettingsCancelPhone | Case::ApiCancelPhone => {
                self.pending_numbers(caller).await;
                let probe = Probe::NothingPending(self.lucas().await.id);
                if case == Case::ApiCancelPhone {
                    plain("/api/me/phone/pending", probe)
                } else {
                    Prepared {
                        body: form(&[]),
                        place: Some(Place::Exactly("/settings?cancelled=1".into())),
                        ..plain("/settings/phone/cancel", probe)
                    }
                }
            }
            Case::SettingsJoinOffer | Case::SettingsDeclineOffer => {
                let lucas = self.offer_to_lucas().await;
                let (verb, probe) = if case == Case::SettingsJoinOffer {
                    ("join", Probe::JoinedMoulin(lucas))
                } else {
                    ("decline", Probe::NoOfferLeft(lucas))
                };
                Prepared {
                    body: form(&[]),
                    // Anyone but Lucas is told the invitation is gone (`offer_gone`).
                    place: Some(Place::Under("/settings?".into())),
                    ..plain(&format!("/settings/offers/le-moulin/{verb}"), probe)
                }
            }
            Case::Neighbours { filtered } => {
                let path = if filtered { format!("/members?c={TILLEULS}") } else { "/members".to_owned() };
                plain(&path, Probe::Shows("Jeanne M.".into()))
            }
            Case::Admin => plain("/admin", Probe::Shows("Jeanne Morel".into())),
            Case::AdminForm => plain("/admin/members/new", Probe::Shows("Les Tilleuls".into())),
            Case::AdminAdd => {
                let n = self.next();
                let phone = self.fresh_phone(n);
                Prepared {
                    body: form(&[
                        ("first_name", "Denise"),
                        ("last_name", "Lambert"),
                        ("phone", phone.as_str()),
                        ("sms_alerts", "on"),
                    ]),
                    place: Some(Place::Exactly("/admin?done=invited".into())),
                    ..plain("/admin/members", Probe::MemberIn(phone))
                }
            }
            Case::AdminRemove => {
                let id = self.fixture_member(None).await;
                Prepared {
                    body: form(&[]),
                    place: Some(Place::Exactly("/admin?done=removed".into())),
                    ..plain(&format!("/admin/members/{id}/remove"), Probe::MemberGone(id))
                }
            }
            Case::AdminReinvite => {
                let (id, phone) = self.fixture_invited().await;
                let texted = self.stack.outbox().await.sms_to(phone.as_str()).count();
                Prepared {
                    body: form(&[]),
                    place: Some(Place::Exactly("/admin?done=invited".into())),
                    ..plain(&format!("/admin/members/{id}/invite"), Probe::Texted(phone.to_string(), texted))
                }
            }
            Case::AdminApprove | Case::AdminRefuse => {
                let id = self.fixture_request().await;
                let verb = if case == Case::AdminApprove { "approve" } else { "refuse" };
                Prepared {
                    body: form(&[]),
                    place: Some(Place::Exactly(format!("/admin?done={verb}d"))),
                    ..plain(&format!("/admin/join/{id}/{verb}"), Probe::RequestTaken(id))
                }
            }
            Case::AdminSmsBudget => {
                let parts = 100 + self.next();
                Prepared {
                    body: form(&[("sms_budget", &parts.to_string())]),
                    place: Some(Place::Exactly("/admin?done=sms_budget#sms".into())),
                    ..plain("/admin/sms-budget", Probe::SmsBudget(parts))
                }
            }
            Case::PoliceList => plain("/police", Probe::Shows(self.alert_text.clone())),
            Case::ApiPreview => {
                plain(&format!("/api/sms-preview?text=Bonjour&category={category}"), Probe::Nothing)
            }
            Case::ApiAlerts { filtered } => {
                let path =
                    if filtered { format!("/api/alerts?community={TILLEULS}") } else { "/api/alerts".into() };
                plain(&path, Probe::Shows(self.newest_alert_text().await))
            }
            Case::ApiRaise => {
                let text = format!("Alerte de l'API numero {}", self.next());
                let body = json!({
                    "category": category,
                    "text": text,
                    "communities": [TILLEULS],
                    "submission_id": ulid::Ulid::new().to_string(),
                });
                Prepared { body: Body::Json(body), ..plain("/api/alerts", Probe::AlertIn(text)) }
            }
            Case::ApiAlert => {
                plain(&format!("/api/alerts/{}", self.alert), Probe::Shows(self.alert_text.clone()))
            }
            Case::ApiMe => plain("/api/me", Probe::Shows(self.stack.email("Lucas"))),
            Case::ApiPatchMe => {
                let me = self.current(caller).await.unwrap_or(self.lucas().await);
                Prepared {
                    body: Body::Json(json!({ "sms_alerts": !me.sms_alerts })),
                    ..plain("/api/me", Probe::Profile(Box::new(self.lucas().await)))
                }
            }
            Case::ApiMembers { filtered } => {
                let path = if filtered {
                    format!("/api/members?community={TILLEULS}")
                } else {
                    "/api/members".into()
                };
                plain(&path, Probe::Shows(r#""first_name":"Jeanne""#.into()))
            }
            Case::ApiAddMember => {
                let n = self.next();
                let phone = self.fresh_phone(n);
                let body = json!({ "first_name": "Denise", "last_name": "Lambert", "phone": phone.as_str() });
                Prepared { body: Body::Json(body), ..plain("/api/members", Probe::MemberIn(phone)) }
            }
            Case::ApiRemoveMember => {
                let id = self.fixture_member(None).await;
                plain(&format!("/api/members/{id}"), Probe::MemberGone(id))
            }
            Case::ApiReinvite => {
                let (id, phone) = self.fixture_invited().await;
                let texted = self.stack.outbox().await.sms_to(phone.as_str()).count();
                plain(&format!("/api/members/{id}/invite"), Probe::Texted(phone.to_string(), texted))
            }
            Case::MyData => plain("/my-data", Probe::Shows("/my-data/download".into())),
            Case::MyDataDownload { api } => {
                let path = if api { "/api/me/data" } else { "/my-data/download" };
                plain(path, Probe::Shows(self.stack.email("Lucas")))
            }
            Case::MyDataErase { api } => {
                let address = self.stack.email("Lucas");
                let before = self.stack.outbox().await.emails_to(&address).count();
                let probe = Probe::LinkEmailed(address, before);
                if api {
                    plain("/api/me/erasure", probe)
                } else {
                    Prepared {
                        body: form(&[]),
                        place: Some(Place::Exactly("/my-data?code=email".into())),
                        ..plain("/my-data/erase", probe)
                    }
                }
            }
            Case::MyDataConfirm { api } => {
                let probe = Probe::MemberGone(self.lucas().await.id);
                if api {
                    Prepared {
                        body: Body::Json(json!({ "code": "123456" })),
                        ..plain("/api/me/erasure/confirm", probe)
                    }
                } else {
                    Prepared { body: form(&[("code", "123456")]), ..plain("/my-data/erase/confirm", probe) }
                }
            }
            Case::AdminErase { api } => {
                let id = self.fixture_member(None).await;
                if api {
                    Prepared {
                        body: Body::Json(json!({ "asked_in_person": true })),
                        ..plain(&format!("/api/members/{id}/erasure"), Probe::MemberGone(id))
                    }
                } else {
                    Prepared {
                        body: form(&[("asked", "1")]),
                        place: Some(Place::Exactly("/admin?done=erased".into())),
                        ..plain(&format!("/admin/members/{id}/erase"), Probe::MemberGone(id))
                    }
                }
            }
            Case::TownDesk { api } => {
                if api {
                    plain("/api/town", Probe::Shows(format!(r#""id":"{TILLEULS}""#)))
                } else {
                    plain("/town", Probe::Shows(format!("/town/communities/{TILLEULS}")))
                }
            }
            Case::TownCreate { api } => {
                let name = format!("Quartier {}", self.next());
                let probe = Probe::CommunityNamed(name.clone());
                if api {
                    Prepared {
                        body: Body::Json(json!({ "name": name })),
                        ..plain("/api/town/communities", probe)
                    }
                } else {
                    Prepared {
                        body: form(&[("name", &name)]),
                        place: Some(Place::Under("/town/communities/quartier-".into())),
                        ..plain("/town/communities", probe)
                    }
                }
            }
            Case::TownCommunity { api } => {
                if api {
                    plain(
                        &format!("/api/town/communities/{TILLEULS}"),
                        Probe::Shows(r#""last_name":"Morel""#.into()),
                    )
                } else {
                    plain(&format!("/town/communities/{TILLEULS}"), Probe::Shows("Jeanne Morel".into()))
                }
            }
            Case::TownRename { api } => {
                let id = self.fixture_community().await;
                let name = format!("{} bis", id.as_str().replace('-', " "));
                let probe = Probe::CommunityNamed(name.clone());
                if api {
                    Prepared {
                        body: Body::Json(json!({ "name": name })),
                        ..plain(&format!("/api/town/communities/{id}"), probe)
                    }
                } else {
                    Prepared {
                        body: form(&[("name", &name)]),
                        place: Some(Place::Exactly(format!("/town/communities/{id}?done=renamed"))),
                        ..plain(&format!("/town/communities/{id}/rename"), probe)
                    }
                }
            }
            Case::TownAppoint { api } | Case::TownDismiss { api } => {
                let appoint = matches!(case, Case::TownAppoint { .. });
                let (from, to) =
                    if appoint { (Role::Resident, Role::Referent) } else { (Role::Referent, Role::Resident) };
                let id = self.fixture_member(None).await;
                let member = self.store().member(id).await.expect("store").expect("the fixture");
                if from != member.role {
                    let changed = Member { role: from, ..member.clone() };
                    self.store().update_member(&member, &changed).await.expect("the fixture's role");
                }
                let path = format!("/town/communities/{TILLEULS}/referents/{id}");
                let probe = Probe::RoleIs(id, to);
                match (api, appoint) {
                    (true, _) => plain(&format!("/api{path}"), probe),
                    (false, true) => Prepared {
                        body: form(&[]),
                        place: Some(Place::Exactly(format!("/town/communities/{TILLEULS}?done=appointed"))),
                        ..plain(&path, probe)
                    },
                    (false, false) => Prepared {
                        body: form(&[]),
                        place: Some(Place::Exactly(format!("/town/communities/{TILLEULS}?done=dismissed"))),
                        ..plain(&format!("{path}/remove"), probe)
                    },
                }
            }
        }
    }

    /// Whether the request did its work on the community concerned.
    async fn happened(&self, probe: &Probe, reply: &Reply, client: &WebClient) -> bool {
        let store = self.store();
        match probe {
            Probe::Nothing => false,
            Probe::Shows(marker) => reply.body.contains(marker.as_str()),
            Probe::AlertIn(text) => {
                let page = store.community_alerts(&tilleuls(), None, 50).await.expect("feed");
                page.items.iter().any(|r| r.alert.text.as_str() == text)
            }
            Probe::MemberIn(phone) => {
                store.member_by_phone(phone).await.expect("store").is_some_and(|m| m.belongs_to(&tilleuls()))
            }
            Probe::MemberGone(id) => store.member(*id).await.expect("store").is_none(),
            Probe::RequestTaken(id) => {
                !store.join_requests(&tilleuls()).await.expect("store").iter().any(|r| r.request_id == *id)
            }
            Probe::JoinRequest(address) => store
                .join_requests(&tilleuls())
                .await
                .expect("store")
                .iter()
                .any(|r| r.email.as_ref().is_some_and(|e| e.as_str() == address)),
            Probe::Profile(before) => {
                store.member(before.id).await.expect("store").as_ref() != Some(before.as_ref())
            }
            Probe::LinkEmailed(address, before) => {
                self.stack.outbox().await.emails_to(address).count() > *before
            }
            Probe::SessionOf(id) => match client.cookie("__Host-vigie_session") {
                Some(cookie) => store
                    .session(&TokenHash::of(cookie))
                    .await
                    .expect("store")
                    .is_some_and(|s| s.member_id == *id),
                None => false,
            },
            Probe::SessionEnded(hash) => match hash {
                Some(hash) => store.session(hash).await.expect("store").is_none(),
                None => false,
            },
            Probe::EmailAlertsOff(id) => {
                store.member(*id).await.expect("store").is_some_and(|m| !m.email_alerts)
            }
            Probe::Texted(number, before) => self.stack.outbox().await.sms_to(number).count() > *before,
            Probe::NothingPending(id) => store.pending_phone(*id).await.expect("store").is_none(),
            Probe::SmsBudget(parts) => {
                store.community(&tilleuls()).await.expect("store").and_then(|c| c.sms_budget) == Some(*parts)
            }
            Probe::Closed(id) => store.alert(*id).await.expect("store").is_some_and(|a| a.closed.is_some()),
            Probe::Flagged(id) => {
                store.alert_report(*id).await.expect("store").is_some_and(|r| r.flags.iter().sum::<u32>() > 0)
            }
            Probe::Withdrawn(id) => {
                store.alert(*id).await.expect("store").is_some_and(|a| a.withdrawn.is_some())
            }
            Probe::JoinedMoulin(id) => {
                store.member(*id).await.expect("store").is_some_and(|m| m.belongs_to(&moulin()))
            }
            Probe::NoOfferLeft(id) => {
                !store.offers(*id).await.expect("store").iter().any(|o| o.community == moulin())
            }
            Probe::CommunityNamed(name) => {
                store.communities_of_town("Bellerive").await.expect("store").iter().any(|c| &c.name == name)
            }
            Probe::RoleIs(id, role) => {
                store.member(*id).await.expect("store").is_some_and(|m| m.role == *role)
            }
        }
    }

    /// Runs one cell; answers what went wrong, if anything.
    async fn run(&mut self, row: &Row, caller: Caller) -> Result<(), String> {
        let expected = row.expect[caller as usize];
        let prepared = self.prepare(row.case, caller).await;
        let path_only = prepared.path.split('?').next().unwrap_or_default();
        if !route_matches(row.route, path_only) {
            return Err(format!("the request {path_only} is not of route {}", row.route));
        }
        let mut client = self.client(&prepared.jar);
        // A refused request changes nothing. (GET rows are checked whole, by the caller of run.)
        let watch = expected.refused() && row.method != "GET";
        let before = if watch { Some(self.snapshot().await) } else { None };
        let reply = send(&mut client, row.method, &prepared).await;
        let after = if watch { Some(self.snapshot().await) } else { None };
        let happened = self.happened(&prepared.probe, &reply, &client).await;

        let mut problems = Vec::new();
        let got = classify(&reply, prepared.place.as_ref());
        let success = got == "success";
        match expected {
            Outcome::Allowed => {
                if !success {
                    problems.push(format!("expected Allowed, got {got}"));
                } else if !happened && !matches!(prepared.probe, Probe::Nothing) {
                    problems.push("answered as allowed but did not act on / show Les Tilleuls".to_owned());
                }
            }
            Outcome::Own => {
                if matches!(prepared.probe, Probe::Nothing) {
                    problems.push("an Own cell needs a probe to tell it from Allowed".to_owned());
                }
                if !success {
                    problems.push(format!("expected Own, got {got}"));
                }
                if happened {
                    problems.push("acted on / showed Les Tilleuls".to_owned());
                }
            }
            refused => {
                let wanted = match refused {
                    Outcome::SignIn => "303 to /signin",
                    Outcome::Unauthorized => "401 signed_out",
                    Outcome::Forbidden => "403",
                    Outcome::NotFound => "404",
                    Outcome::Gone => "410",
                    Outcome::Desk => "303 to /town",
                    _ => "422",
                };
                if got != wanted {
                    problems.push(format!("expected {refused:?} ({wanted}), got {got}"));
                }
                if happened {
                    problems.push("acted on / showed Les Tilleuls".to_owned());
                }
                if let (Some(before), Some(after)) = (&before, &after)
                    && before != after
                {
                    problems.push(format!("the store changed: {:?}", before.diff(after)));
                }
            }
        }
        let flat: String =
            reply.body.chars().filter(|c| !matches!(c, ' ' | '.' | '\u{a0}' | '\u{202f}')).collect();
        for (what, secret) in self.secrets(caller) {
            if reply.body.contains(&secret) || flat.contains(&secret) {
                problems.push(format!("the answer shows {what}"));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        // The page's own part, not its head.
        let main = reply.body.find("<main").map_or(reply.body.as_str(), |at| &reply.body[at..]);
        let excerpt: String = main.chars().take(300).collect();
        Err(format!("{}; answer {} {:?}: {excerpt}", problems.join("; "), reply.status, reply.location()))
    }
}

fn tilleuls() -> CommunityId {
    TILLEULS.parse().expect("a community id")
}

/// An alert of Les Tilleuls from `sender`, recorded as a texted one.
async fn record_alert(stack: &Stack, sender: &str, text: &str) -> AlertId {
    stack.record_alert(sender, text, (AlertSource::Sms, None), now_ms()).await.alert_id
}

async fn send(client: &mut WebClient, method: &str, prepared: &Prepared) -> Reply {
    let method: Method = method.parse().expect("a method");
    let path = prepared.path.as_str();
    match &prepared.body {
        Body::Form(fields) => {
            assert_eq!(method, Method::POST, "forms are posted");
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            client.post(path, &fields).await
        }
        Body::Json(body) => client.api(method, path, Some(body.clone())).await,
        Body::None if path.starts_with("/api/") => client.api(method, path, None).await,
        Body::None => client.send(method, path, &[], None).await,
    }
}

/// The class of an answer: `success`, or what it was instead.
fn classify(reply: &Reply, place: Option<&Place>) -> String {
    let status = reply.status;
    let location = reply.location().unwrap_or_default();
    if status == StatusCode::SEE_OTHER && location == "/signin" {
        return "303 to /signin".into();
    }
    if status.is_success() {
        return "success".into();
    }
    if status.is_redirection() {
        return match place {
            Some(place) if place.admits(location) => "success".into(),
            _ => format!("{} to {location}", status.as_u16()),
        };
    }
    if status == StatusCode::UNAUTHORIZED {
        let signed_out =
            serde_json::from_str::<Value>(&reply.body).ok() == Some(json!({"error": "signed_out"}));
        return if signed_out { "401 signed_out".into() } else { format!("401 {}", reply.body) };
    }
    status.as_u16().to_string()
}

/// Whether `path` is one of `route`'s (`{x}` stands for one non-empty segment).
fn route_matches(route: &str, path: &str) -> bool {
    let (route, path): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    route.len() == path.len()
        && route.iter().zip(&path).all(|(r, p)| if r.starts_with('{') { !p.is_empty() } else { r == p })
}

/// The `(METHOD, path)` the web function routes, read from its code: `API_ROUTES`, and the
/// `.route("path", get(...).post(...))` calls of every other file.
fn routes_in_code() -> BTreeSet<(String, String)> {
    let mut routes: BTreeSet<(String, String)> =
        web::api::API_ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/web/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "the web function's sources are at {}", src.display());
    for file in files {
        let code = std::fs::read_to_string(&file).expect("a source file");
        let name = file.display();
        for unsupported in [".nest(", ".nest_service(", ".route_service(", "MethodRouter::new()"] {
            assert!(
                !code.contains(unsupported),
                "{name} uses {unsupported}: teach routes_in_code to read it"
            );
        }
        let mut rest = code.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let args = balanced(rest);
            let Some(path) = args.trim_start().strip_prefix('"').and_then(|r| r.split('"').next()) else {
                // The API's routes are built from API_ROUTES, read above.
                assert!(file.ends_with("api/mod.rs"), "{name}: a route whose path is not a literal: {args}");
                continue;
            };
            let methods = methods_called(args);
            assert!(!methods.is_empty(), "{name}: no method in .route({args})");
            for method in methods {
                routes.insert((method, path.to_owned()));
            }
        }
    }
    routes
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The text up to the parenthesis that closes the one just opened (string literals skipped).
fn balanced(text: &str) -> &str {
    let (mut depth, mut in_string, mut escaped) = (1, false, false);
    for (i, c) in text.char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') => in_string = false,
            (true, _) => {}
            (false, '"') => in_string = true,
            (false, '(') => depth += 1,
            (false, ')') => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced .route(: {text}")
}

/// The methods of a method router's text (`get(a).post(b)` → GET, POST; `any(..)` → ANY).
fn methods_called(args: &str) -> Vec<String> {
    const NAMES: [&str; 10] =
        ["get", "post", "put", "patch", "delete", "head", "options", "trace", "connect", "any"];
    let mut found = Vec::new();
    for name in NAMES {
        let call = format!("{name}(");
        let mut from = 0;
        while let Some(at) = args[from..].find(&call) {
            let start = from + at;
            let before = args[..start].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                found.push(name.to_uppercase());
            }
            from = start + call.len();
        }
    }
    found
}

/// A concrete path of a route (ids made up).
fn sample_path(route: &str) -> String {
    route
        .split('/')
        .map(|segment| match segment {
            "{code}" => "en".to_owned(),
            "{token}" => UnsubscribeToken::generate().as_str().to_owned(),
            s if s.starts_with('{') => ulid::Ulid::new().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The table runs in this many parts side by side (each with its stack): one alone takes
/// most of `make test`'s time.
const SHARDS: usize = 3;

#[test]
fn the_table_covers_every_route_of_the_code_and_nothing_else() {
    let in_code = routes_in_code();
    let in_table: BTreeSet<(String, String)> =
        TABLE.iter().map(|r| (r.method.to_owned(), r.route.to_owned())).collect();
    let missing: Vec<_> = in_code.difference(&in_table).collect();
    assert!(missing.is_empty(), "routes without a row in the table: {missing:?}");
    let unknown: Vec<_> = in_table.difference(&in_code).collect();
    assert!(unknown.is_empty(), "rows of routes the code does not have: {unknown:?}");
    let cases: BTreeSet<String> = TABLE.iter().map(|r| format!("{:?}", r.case)).collect();
    assert_eq!(cases.len(), TABLE.len(), "one row per case");
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_policy_says_part_1() {
    check_rows(0).await;
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_policy_says_part_2() {
    check_rows(1).await;
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_policy_says_part_3() {
    check_rows(2).await;
}

/// Every `SHARDS`th row of the table from `shard`, against a stack of its own.
async fn check_rows(shard: usize) {
    let rows: Vec<&Row> = TABLE.iter().skip(shard).step_by(SHARDS).collect();
    let mut world = World::new().await;
    let sent_before = world.stack.outbox().await;
    let links_before = world.links.get();
    let mut failures = Vec::new();
    for row in rows.iter().copied() {
        // Reading is safe: a GET changes nothing, whoever asks.
        let before = if row.method == "GET" { Some(world.snapshot().await) } else { None };
        for caller in CALLERS {
            if let Err(problem) = world.run(row, caller).await {
                failures
                    .push(format!("{} {} [{:?}] × {caller:?}: {problem}", row.method, row.route, row.case));
            }
        }
        if let Some(before) = before {
            let changed = before.diff(&world.snapshot().await);
            if !changed.is_empty() {
                failures.push(format!("GET {} [{:?}] changed the store: {changed:?}", row.route, row.case));
            }
        }
    }
    // Nothing was sent but the sign-in links, the confirmation codes and the invitations of
    // the numbers added, and the authors told their alert was withdrawn (the web function texts
    // nothing else).
    let sent = world.stack.outbox().await;
    // The erasure codes asked for (one per caller signed in, page and API) are not links.
    let emails: Vec<String> = sent.emails[sent_before.emails.len()..]
        .iter()
        .map(|m| format!("{:?} to {:?}", m.subject, m.to))
        .filter(|e| !e.contains("Code de suppression"))
        .collect();
    let codes = sent.emails[sent_before.emails.len()..]
        .iter()
        .filter(|m| m.subject.contains("Code de suppression"))
        .count();
    let asked = rows.iter().filter(|r| matches!(r.case, Case::MyDataErase { .. })).count();
    if codes != asked * (CALLERS.len() - 1) {
        failures.push(format!("{codes} erasure codes emailed, for {asked} asked by each caller signed in"));
    }
    let links = world.links.get() - links_before;
    if emails.len() != links
        || emails.iter().any(|e| !e.contains("connexion"))
        || sent.sms[sent_before.sms.len()..].iter().any(|sms| {
            !sms.body.contains("code de confirmation")
                && !sms.body.contains("Répondez OUI")
                && !sms.body.contains("a retiré du fil votre alerte")
        })
    {
        failures.push(format!(
            "sent {} SMS and these emails, for {links} sign-in links asked: {emails:#?}",
            sent.sms.len() - sent_before.sms.len()
        ));
    }

    // Every method a path does not route is refused before any handler, for anyone (the paths
    // of this part's rows).
    let mut paths: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in TABLE.iter().filter(|r| rows.iter().any(|mine| mine.route == r.route)) {
        paths.entry(row.route).or_default().insert(row.method);
    }
    for caller in [Caller::Anonymous, Caller::Member] {
        let mut client = world.client(&world.jars[caller as usize].clone());
        for (route, routed) in &paths {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"].iter().filter(|m| !routed.contains(*m)) {
                let path = sample_path(route);
                let reply = client.send(method.parse().unwrap(), &path, &[], Some(String::new())).await;
                if reply.status != StatusCode::METHOD_NOT_ALLOWED {
                    failures
                        .push(format!("{method} {route} × {caller:?}: expected 405, got {}", reply.status));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cells differ from the policy:\n{}", failures.len(), failures.join("\n"));
}

/// A session made up, stored as the app stores one.
async fn stored_session(stack: &Stack, member: MemberId, expires_at_ms: i64) -> String {
    let token = UnsubscribeToken::generate().as_str().to_owned();
    let session = Session { member_id: member, csrf: "0".repeat(64), expires_at_ms };
    stack.store().put_session(&TokenHash::of(&token), &session).await.expect("a session");
    token
}

#[tokio::test]
async fn a_forged_or_changed_session_cookie_is_refused() {
    let mut world = World::new().await;
    let lucas = world.jars[Caller::Member as usize].clone();
    let cookie = lucas.cookie("__Host-vigie_session").expect("a session").to_owned();
    let csrf = lucas.csrf.clone();

    // Lucas's own session works: what follows can fail.
    let mut genuine = world.client(&lucas);
    assert_eq!(genuine.get("/api/me").await.status, StatusCode::OK);

    let flip = |s: &str, at: usize| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[at] = if chars[at] == '0' { '1' } else { '0' };
        chars.into_iter().collect::<String>()
    };
    let ended = {
        let jar = world.fresh_jar(Caller::Member).await;
        let mut web = world.client(&jar);
        let out = web.post("/signout", &[("csrf", &jar.csrf)]).await;
        assert_eq!(out.location(), Some("/signin?out=1"));
        jar.cookie("__Host-vigie_session").unwrap().to_owned()
    };
    let lucas_id = world.stack.member("Lucas").id;
    let expired = stored_session(&world.stack, lucas_id, now_ms() - 1000).await;
    let forged: Vec<(&str, String)> = vec![
        ("the last character changed", flip(&cookie, 63)),
        ("the first character changed", flip(&cookie, 0)),
        ("made up", UnsubscribeToken::generate().as_str().to_owned()),
        ("upper case", cookie.to_uppercase()),
        ("one character more", format!("{cookie}0")),
        ("one character less", cookie[..63].to_owned()),
        ("the session's hash instead", TokenHash::of(&cookie).as_str().to_owned()),
        ("empty", String::new()),
        ("quoted and padded", format!("\" {cookie} \"")),
        ("of a session signed out", ended),
        ("of an expired session", expired),
    ];
    let mut failures = Vec::new();
    for (what, value) in forged {
        let mut jar = lucas.clone();
        jar.cookies.retain(|(name, _)| name != "__Host-vigie_session");
        jar.cookies.push(("__Host-vigie_session".into(), value));
        let mut web = world.client(&jar);
        web.csrf = Some(csrf.clone());
        let before = world.snapshot().await;
        let page = web.get("/settings").await;
        let api = web.get("/api/me").await;
        let text = format!("Alerte d'un cookie {what}");
        let raised = web
            .api(
                Method::POST,
                "/api/alerts",
                Some(json!({"category": "other", "text": text, "submission_id": ulid::Ulid::new().to_string()})),
            )
            .await;
        let saved =
            web.post("/settings", &[("csrf", &csrf), ("first_name", "Pirate"), ("sms_alerts", "on")]).await;
        let after = world.snapshot().await;
        for (request, reply, wanted) in [
            ("GET /settings", &page, "303 to /signin"),
            ("GET /api/me", &api, "401 signed_out"),
            ("POST /api/alerts", &raised, "401 signed_out"),
            ("POST /settings", &saved, "303 to /signin"),
        ] {
            let got = classify(reply, None);
            if got != wanted {
                failures.push(format!("a cookie {what}: {request} answered {got}, not {wanted}"));
            }
        }
        if before != after {
            failures.push(format!("a cookie {what} changed the store: {:?}", before.diff(&after)));
        }
    }

    // A genuine session with another session's anti-CSRF token (Marie's), or none.
    let marie_csrf = world.jars[Caller::Referent as usize].csrf.clone();
    let before = world.snapshot().await;
    genuine.csrf = Some(marie_csrf.clone());
    let raised = genuine
        .api(
            Method::POST,
            "/api/alerts",
            Some(json!({"category": "other", "text": "Jeton d'une autre", "submission_id": ulid::Ulid::new().to_string()})),
        )
        .await;
    let patched = genuine.api(Method::PATCH, "/api/me", Some(json!({"first_name": "Pirate"}))).await;
    let saved = genuine.post("/settings", &[("csrf", &marie_csrf), ("first_name", "Pirate")]).await;
    let out = genuine.post("/signout", &[("csrf", &marie_csrf)]).await;
    let raised_bare = genuine
        .send(
            Method::POST,
            "/alerts",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(format!("submission=web-{}&category=other&text=Sans+jeton", ulid::Ulid::new())),
        )
        .await;
    for (request, reply) in [
        ("POST /api/alerts", &raised),
        ("PATCH /api/me", &patched),
        ("POST /settings", &saved),
        ("POST /signout", &out),
        ("POST /alerts without a token", &raised_bare),
    ] {
        if reply.status != StatusCode::FORBIDDEN {
            failures.push(format!("another session's token: {request} answered {}", reply.status));
        }
    }
    let after = world.snapshot().await;
    if before != after {
        failures.push(format!("another session's token changed the store: {:?}", before.diff(&after)));
    }
    genuine.csrf = Some(csrf);
    assert_eq!(genuine.get("/api/me").await.status, StatusCode::OK, "Lucas is still signed in");

    // A member the referent removes is signed out with it: their cookie opens nothing.
    let address = "nadia.essai@example.org";
    let nadia = world.fixture_member(Some(address)).await;
    let mut web = WebClient::with_router(world.router.clone());
    web.ask_link(address).await;
    let link = vigie_tests::web_client::signin_path(&world.stack, address).await.expect("a link");
    web.use_link(&link).await;
    assert_eq!(web.get("/api/me").await.status, StatusCode::OK, "Nadia is signed in");
    let mut marie = world.client(&world.jars[Caller::Referent as usize].clone());
    assert_eq!(
        marie.api(Method::DELETE, &format!("/api/members/{nadia}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    for (path, wanted) in
        [("/api/me", "401 signed_out"), ("/", "303 to /signin"), ("/settings", "303 to /signin")]
    {
        let got = classify(&web.get(path).await, None);
        if got != wanted {
            failures.push(format!("a removed member's session: {path} answered {got}, not {wanted}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_member_of_one_community_cannot_act_on_another_by_changing_ids() {
    let mut world = World::new().await;
    let lucas = world.lucas().await;
    let mut paul = world.client(&world.jars[Caller::OtherReferent as usize].clone());
    let paul_csrf = world.jars[Caller::OtherReferent as usize].csrf.clone();
    let mut ines = world.client(&world.jars[Caller::OtherMember as usize].clone());
    let ines_csrf = world.jars[Caller::OtherMember as usize].csrf.clone();
    let mut thierry = world.client(&world.jars[Caller::OtherPolice as usize].clone());
    let thierry_csrf = world.jars[Caller::OtherPolice as usize].csrf.clone();
    let moulin: CommunityId = "le-moulin".parse().unwrap();
    let vignes: CommunityId = "les-vignes".parse().unwrap();

    // The referent of Le Moulin adds a member, naming Les Tilleuls in every field he can think of:
    // the member is his community's.
    let phone = world.fresh_phone(900);
    let added = paul
        .post(
            "/admin/members",
            &[
                ("csrf", &paul_csrf),
                ("first_name", "Denise"),
                ("last_name", "Lambert"),
                ("phone", phone.as_str()),
                ("community", TILLEULS),
                ("communities", TILLEULS),
                ("c", TILLEULS),
                ("role", "referent"),
            ],
        )
        .await;
    assert_eq!(added.location(), Some("/admin?done=invited"), "{}", added.body);
    let denise = world.store().member_by_phone(&phone).await.unwrap().expect("registered");
    assert_eq!(denise.communities, vec![moulin.clone()], "in his community only");
    assert_eq!(denise.role, Role::Resident);
    // The API refuses the fields it does not know, and registers nothing.
    let phone = world.fresh_phone(901);
    let before = world.snapshot().await;
    for extra in
        [json!({"community": TILLEULS}), json!({"communities": [TILLEULS]}), json!({"role": "referent"})]
    {
        let mut body = json!({"first_name": "Denise", "last_name": "Lambert", "phone": phone.as_str()});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let reply = paul.api(Method::POST, "/api/members", Some(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{extra}: {}", reply.body);
    }
    // Another member's id in the settings form, or in the API's: their own profile only.
    let saved = ines
        .post(
            "/settings",
            &[
                ("csrf", &ines_csrf),
                ("id", &lucas.id.to_string()),
                ("member_id", &lucas.id.to_string()),
                ("member", &lucas.id.to_string()),
                ("role", "referent"),
                ("email", "lucas.petit@example.org"),
                ("communities", TILLEULS),
                ("c", TILLEULS),
                ("first_name", "Inès"),
                ("phone", ""),
                ("email_alerts", "on"),
            ],
        )
        .await;
    assert_eq!(saved.location(), Some("/settings?saved=1"), "{}", saved.body);
    for extra in [
        json!({"id": lucas.id.to_string()}),
        json!({"member_id": lucas.id.to_string()}),
        json!({"role": "referent"}),
        json!({"email": "lucas.petit@example.org"}),
        json!({"communities": [TILLEULS]}),
    ] {
        let mut body = json!({"first_name": "Pirate"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let reply = ines.api(Method::PATCH, "/api/me", Some(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{extra}: {}", reply.body);
    }
    let ines_now = world.current(Caller::OtherMember).await.unwrap();
    assert!(
        ines_now.phone.is_none() && !ines_now.sms_alerts && ines_now.email_alerts,
        "Inès changed her own"
    );
    let ines_before = world.stack.member("Inès");
    assert_eq!(
        (&ines_now.role, &ines_now.email, &ines_now.communities),
        (&ines_before.role, &ines_before.email, &ines_before.communities),
        "her role, address and community are not hers to change"
    );
    assert_eq!(world.lucas().await, lucas, "Lucas is untouched");
    let after = world.snapshot().await;
    let changed = before.diff(&after);
    assert!(
        changed.iter().all(|k| k.contains(&ines_now.id.to_string()) || k.contains("PHONE#+33639980007")),
        "only Inès's items changed: {changed:?}"
    );

    // The police of Valmont tick their community and Les Tilleuls: theirs only is alerted.
    let text = "Battue au sanglier demain matin";
    let submission = format!("web-{}", ulid::Ulid::new());
    let raised = thierry
        .post(
            "/alerts",
            &[
                ("csrf", &thierry_csrf),
                ("submission", &submission),
                ("category", "other"),
                ("c", TILLEULS),
                ("c", "les-vignes"),
                ("c", "le-moulin"),
                ("text", text),
            ],
        )
        .await;
    assert_eq!(raised.status, StatusCode::SEE_OTHER, "{}", raised.body);
    let in_vignes = world.store().community_alerts(&vignes, None, 10).await.unwrap();
    assert_eq!(in_vignes.items.iter().filter(|r| r.alert.text.as_str() == text).count(), 1);
    for other in [tilleuls(), moulin.clone()] {
        let feed = world.store().community_alerts(&other, None, 50).await.unwrap();
        assert!(!feed.items.iter().any(|r| r.alert.text.as_str() == text), "nothing in {other}");
    }

    // Paging cursors and filters that name Les Tilleuls's items show none of them.
    let tilleuls_alert = world.alert;
    let newer = record_alert(&world.stack, "Marie", "Un cambriolage rue des Lilas").await;
    for path in [
        format!("/?after={newer}"),
        format!("/api/alerts?after={newer}"),
        format!("/?c=le-moulin&after={newer}"),
        format!("/api/alerts?community=le-moulin&after={newer}"),
        format!("/members?after=MEMBER%23{}", lucas.id),
        format!("/api/members?after=MEMBER%23{}", lucas.id),
        format!("/admin?after=MEMBER%23{}", lucas.id),
    ] {
        let reply = paul.get(&path).await;
        assert!(reply.status.is_success(), "{path}: {} {}", reply.status, reply.body);
        for secret in [world.alert_text.as_str(), "Un cambriolage rue des Lilas", "Jeanne", "Karim", "Lucas"]
        {
            assert!(!reply.body.contains(secret), "{path} shows {secret}: {}", reply.body);
        }
    }
    for path in [format!("/alerts/{tilleuls_alert}"), format!("/api/alerts/{newer}")] {
        assert_eq!(paul.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    // An unsubscribe link with Lucas's id and Inès's own token: not found, nothing changed.
    let ines_token = world.stack.member("Inès").unsubscribe_token.as_str().to_owned();
    let before = world.snapshot().await;
    let path = format!("/unsubscribe/{}/{ines_token}", lucas.id);
    assert_eq!(ines.post(&path, &[("List-Unsubscribe", "One-Click")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(before, world.snapshot().await);

    // A join request of Les Tilleuls approved or refused through Le Moulin's id in the path of a
    // request that is Le Moulin's: only Le Moulin's own is taken.
    let request = world.fixture_request().await;
    for verb in ["approve", "refuse"] {
        let reply = paul.post(&format!("/admin/join/{request}/{verb}"), &[("csrf", &paul_csrf)]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{verb}");
    }
    assert!(world.store().join_requests(&tilleuls()).await.unwrap().iter().any(|r| r.request_id == request));
}

/// The state-changing routes that take no anti-CSRF token, and why.
const WITHOUT_TOKEN: &[(&str, &str)] = &[
    // One-click unsubscribe (RFC 8058): the mail client posts it with no page; the token in the
    // path is the credential.
    ("POST", "/unsubscribe/{member}/{token}"),
];

/// Sends a prepared request without its anti-CSRF token: no `csrf` field, no `X-CSRF-Token`.
async fn send_without_token(client: &mut WebClient, method: &str, prepared: &Prepared) -> Reply {
    let method: Method = method.parse().expect("a method");
    let path = prepared.path.as_str();
    match &prepared.body {
        Body::Form(fields) => {
            let fields: Vec<(&str, &str)> =
                fields.iter().filter(|(k, _)| k != "csrf").map(|(k, v)| (k.as_str(), v.as_str())).collect();
            client.post(path, &fields).await
        }
        Body::Json(body) => {
            let headers = [("accept", "application/json"), ("content-type", "application/json")];
            client.send(method, path, &headers, Some(body.to_string())).await
        }
        Body::None => client.send(method, path, &[("accept", "application/json")], None).await,
    }
}

/// Walks every state-changing route the code routes (`routes_in_code`), as a caller allowed to
/// use it, without the anti-CSRF token: each must answer 403 and change nothing. A new
/// state-changing handler that forgets its guard (`web::guard`) fails here.
#[tokio::test]
async fn every_state_changing_route_refuses_a_request_without_its_token() {
    let mut world = World::new().await;
    let unsafe_routes: BTreeSet<(String, String)> =
        routes_in_code().into_iter().filter(|(method, _)| method != "GET").collect();
    assert!(unsafe_routes.len() >= 15, "the code routes {} state-changing routes", unsafe_routes.len());
    let mut walked = BTreeSet::new();
    let mut failures = Vec::new();
    for row in TABLE.iter().filter(|row| row.method != "GET") {
        walked.insert((row.method.to_owned(), row.route.to_owned()));
        if WITHOUT_TOKEN.contains(&(row.method, row.route)) {
            continue;
        }
        // Allowed, or signed in and reaching the handler (a code typed with none waiting).
        let Some(caller) = CALLERS
            .into_iter()
            .find(|c| row.expect[*c as usize] == Outcome::Allowed)
            .or_else(|| CALLERS.into_iter().find(|c| row.expect[*c as usize] == Outcome::Gone))
        else {
            failures.push(format!("{} {}: no caller may use it", row.method, row.route));
            continue;
        };
        let prepared = world.prepare(row.case, caller).await;
        let mut client = world.client(&prepared.jar);
        client.csrf = None;
        let before = world.snapshot().await;
        let reply = send_without_token(&mut client, row.method, &prepared).await;
        let after = world.snapshot().await;
        if reply.status != StatusCode::FORBIDDEN {
            failures
                .push(format!("{} {} × {caller:?} without a token: {}", row.method, row.route, reply.status));
        }
        if before != after {
            failures.push(format!(
                "{} {} without a token changed {:?}",
                row.method,
                row.route,
                before.diff(&after)
            ));
        }
    }
    let unwalked: Vec<_> = unsafe_routes.difference(&walked).collect();
    assert!(unwalked.is_empty(), "state-changing routes without a row to walk: {unwalked:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn moulin() -> CommunityId {
    "le-moulin".parse().expect("a community id")
}
