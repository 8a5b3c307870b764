//! Faults on the web function's calls: its DynamoDB and SES calls go through the faulting proxy
//! (`infra/src/faults.rs`), which fails a share of them the way AWS does. Signing in, raising an
//! alert from the page and from the API, changing one's settings: each request either does its
//! work once, or answers the "temporarily unavailable" page (JSON for the API) and has stored
//! nothing; never a server error, never a word of the internals; a retried submission never
//! makes a second alert.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use infra::faults::FaultProxy;
use serde_json::json;
use vigie::adapters::DynamoStore;
use vigie::domain::{Member, PhoneNumber};
use vigie::ports::{Feed, MemberLookup, Roster};
use vigie_tests::Stack;
use vigie_tests::web_client::{Reply, WebClient, code_texted_to, signin_path};

/// The share of calls the proxy fails while signing in: the SDK tries each call 3 times, so
/// about one call in 40 reaches the web function as a failure (sign-in links are limited to 5
/// an hour per address, and a failed request may use one up).
const SIGNIN_FAULT_RATE: f64 = 0.3;
/// The share failed afterwards: one call in 5 fails after the SDK's tries, most requests (each
/// makes several calls) fail at least once.
const FAULT_RATE: f64 = 0.6;
const SEED: u64 = 20261127;
/// Tries of one request, as a person pressing the button again would.
const TRIES: usize = 25;

/// Words of the internals that no answer may show.
const INTERNALS: &[&str] = &[
    "injected",
    "Rate exceeded",
    "Throttl",
    "TooManyRequests",
    "dispatch failure",
    "DynamoDB",
    "TransactWriteItems",
    "UpdateItem",
    "GetItem",
    "PutItem",
    "SendEmail",
    "service error",
    "io error",
    "panicked",
    "MembersTable",
    "LedgerTable",
    "AlertsTable",
    "127.0.0.1",
];

/// Every answer seen, checked as it comes.
#[derive(Default)]
struct Answers {
    by_status: BTreeMap<u16, usize>,
}

impl Answers {
    /// Checks an answer: never a server error other than 503, never the internals; a 503 is the
    /// French "unavailable" page, or `{"error":"unavailable"}` from the API. True for a 503.
    fn unavailable(&mut self, reply: &Reply, what: &str) -> bool {
        *self.by_status.entry(reply.status.as_u16()).or_default() += 1;
        for word in INTERNALS {
            assert!(!reply.body.contains(word), "{what}: the answer shows {word:?}: {}", reply.body);
        }
        if reply.status != StatusCode::SERVICE_UNAVAILABLE {
            assert!(!reply.status.is_server_error(), "{what}: {} {}", reply.status, reply.body);
            return false;
        }
        if reply.header("content-type").is_some_and(|t| t.starts_with("application/json")) {
            assert_eq!(reply.json(), json!({"error": "unavailable"}), "{what}");
        } else {
            assert!(reply.body.contains("Service momentanément indisponible"), "{what}: {}", reply.body);
            assert!(reply.body.contains("Réessayez dans un instant."), "{what}");
        }
        true
    }

    fn count(&self, status: StatusCode) -> usize {
        self.by_status.get(&status.as_u16()).copied().unwrap_or(0)
    }
}

/// Sends a request again while it answers 503, as a person would; the first other answer.
macro_rules! until_answered {
    ($answers:expr, $what:expr, $request:expr) => {{
        let mut tries = 0;
        loop {
            let reply = $request;
            if !$answers.unavailable(&reply, $what) {
                break reply;
            }
            tries += 1;
            assert!(tries < TRIES, "{}: still unavailable after {tries} tries", $what);
        }
    }};
}

/// The demo data, with the web function's calls going through a faulting proxy, and the
/// answers seen; the store the test reads to check what was stored goes to the emulator directly.
struct Scene {
    stack: Stack,
    proxy: FaultProxy,
    direct: DynamoStore,
    answers: Answers,
}

impl Scene {
    async fn start() -> Scene {
        let mut stack = Stack::demo().await;
        let direct = DynamoStore::from_sdk(&stack.sdk, stack.config.tables.clone());
        let proxy = FaultProxy::start(&stack.moto.endpoint, FAULT_RATE, SEED).await.expect("proxy");
        stack.route_functions_through(&proxy.endpoint).await;
        Scene { stack, proxy, direct, answers: Answers::default() }
    }

    /// A browser signed in as `first_name` the way a person does under faults
    /// ([`SIGNIN_FAULT_RATE`]): asks for a link until one arrives, presses its button again while
    /// the page says "unavailable", asks for a new link if that one is spent. The proxy fails
    /// [`FAULT_RATE`] of calls after.
    async fn signed_in(&mut self, first_name: &str) -> WebClient {
        self.proxy.set_rate(SIGNIN_FAULT_RATE);
        let mut web = WebClient::new(&self.stack);
        let (stack, answers) = (&self.stack, &mut self.answers);
        let email = stack.email(first_name);
        let mut tried = Vec::new();
        for _ in 0..TRIES {
            let (_, asked) = fill_in(&mut web, answers, "/signin", "/signin", &[("email", &email)]).await;
            // The same answer whether or not a link went out: it never tells who is registered.
            assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
            let Some(link) = signin_path(stack, &email).await.filter(|l| !tried.contains(l)) else {
                continue;
            };
            tried.push(link.clone());
            let page = until_answered!(answers, "sign-in link", web.get(&link).await);
            let csrf = page.csrf();
            let used = until_answered!(answers, "signing in", web.post(&link, &[("csrf", &csrf)]).await);
            match used.status {
                StatusCode::SEE_OTHER => {
                    assert_eq!(used.location(), Some("/"));
                    assert!(web.cookie("__Host-vigie_session").is_some());
                    self.proxy.set_rate(FAULT_RATE);
                    return web;
                }
                // Spent by a try that failed after taking it: the page says to ask for a new one.
                StatusCode::GONE => assert!(used.body.contains("/signin"), "{}", used.body),
                other => panic!("signing in: {other} {}", used.body),
            }
        }
        panic!("{first_name} could not sign in in {TRIES} tries");
    }

    /// Fills in the alert form and reaches the confirmation step (trying again while it is
    /// unavailable); the fields its button sends, the submission id among them.
    async fn confirmed(&mut self, web: &mut WebClient, category: &str, text: &str) -> Vec<(String, String)> {
        let (csrf, confirmation) = fill_in(
            web,
            &mut self.answers,
            "/alerts/new",
            "/alerts/confirm",
            &[("category", category), ("text", text)],
        )
        .await;
        assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
        let submission = confirmation.field("submission").expect("a submission id");
        [
            ("csrf", csrf),
            ("submission", submission),
            ("category", category.to_owned()),
            ("text", text.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn report(&self, what: &str) {
        let stats = &self.proxy.stats;
        println!(
            "{what}: answers {:?}; faults injected {} (DynamoDB {}, SES {}), calls forwarded {}",
            self.answers.by_status,
            stats.injected(),
            stats.dynamodb_faults.load(Ordering::Relaxed),
            stats.ses_faults.load(Ordering::Relaxed),
            stats.forwarded.load(Ordering::Relaxed),
        );
    }
}

/// Opens `page` and posts its form to `action`: `fields` and the page's anti-CSRF token, each
/// again while it answers "unavailable". The token, and the answer.
async fn fill_in(
    web: &mut WebClient,
    answers: &mut Answers,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (String, Reply) {
    let form = until_answered!(answers, page, web.get(page).await);
    assert_eq!(form.status, StatusCode::OK, "{page}");
    let csrf = form.csrf();
    let mut sent = vec![("csrf", csrf.as_str())];
    sent.extend_from_slice(fields);
    let reply = until_answered!(answers, action, web.post(action, &sent).await);
    (csrf, reply)
}

/// Posts form `fields` to `path`.
async fn post(web: &mut WebClient, path: &str, fields: &[(String, String)]) -> Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    web.post(path, &pairs).await
}

/// The value of form field `name` in `fields`.
fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).expect("a field")
}

/// The alerts of `member`'s first community recorded for `submission`.
async fn alerts_of(store: &DynamoStore, member: &Member, submission: &str) -> usize {
    let page = store.community_alerts(&member.communities[0], None, 100).await.expect("feed");
    page.items
        .iter()
        .filter(|r| r.alert.inbound_message_id.as_ref().is_some_and(|id| id.as_str() == submission))
        .filter(|r| r.alert.sender_id == member.id)
        .count()
}

#[tokio::test]
async fn signing_in_and_raising_alerts_from_the_page_and_the_api_record_each_alert_once() {
    let mut scene = Scene::start().await;

    // One sign-in email refused by SES whatever the dice (the seeded dice alone may spare the
    // few emails of this test): the page answers the same, no link arrives, asking again works.
    scene.proxy.set_rate(0.0);
    scene.proxy.refuse_calls_with(Some("ToAddresses"));
    let marie_email = scene.stack.email("Marie");
    let mut refused = WebClient::new(&scene.stack);
    let (_, asked) =
        fill_in(&mut refused, &mut scene.answers, "/signin", "/signin", &[("email", &marie_email)]).await;
    assert_eq!(asked.status, StatusCode::OK, "the same answer when the email fails: {}", asked.body);
    assert_eq!(signin_path(&scene.stack, &marie_email).await, None, "an email SES refused sent no link");
    scene.proxy.refuse_calls_with(None);

    // From the page: the form, the confirmation step, then the same submission until it is
    // recorded, then once more (a second press, a reload): no second alert.
    let mut web = scene.signed_in("Marie").await;
    let fields = scene.confirmed(&mut web, "burglary", "Portail du 12 rue des Lilas forcé cette nuit").await;
    let answers = &mut scene.answers;
    let sent = until_answered!(answers, "raising the alert", post(&mut web, "/alerts", &fields).await);
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(sent.location().is_some_and(|l| l.starts_with("/alerts/") && l.ends_with("?sent=1")), "{sent:?}");
    let again = until_answered!(answers, "raising it again", post(&mut web, "/alerts", &fields).await);
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(again.location(), Some("/?notice=duplicate"));
    let marie = scene.stack.member("Marie");
    let recorded = alerts_of(&scene.direct, marie, value(&fields, "submission")).await;
    assert_eq!(recorded, 1, "one alert for the submission");

    // From the API: the same submission id until it is recorded (201), then again (200,
    // duplicate): one alert.
    let mut api = scene.signed_in("Paul").await;
    let answers = &mut scene.answers;
    let me = until_answered!(answers, "GET /api/me", api.get("/api/me").await);
    api.csrf = me.json()["csrf"].as_str().map(str::to_owned);
    let id = ulid::Ulid::new().to_string();
    let body =
        json!({"category": "danger", "text": "Feu de broussailles derrière le moulin", "submission_id": id});
    let mut recorded = Vec::new();
    for (what, status, duplicate) in
        [("POST /api/alerts", StatusCode::CREATED, false), ("POST /api/alerts again", StatusCode::OK, true)]
    {
        let reply =
            until_answered!(answers, what, api.api(Method::POST, "/api/alerts", Some(body.clone())).await);
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_eq!(reply.json()["duplicate"], json!(duplicate), "{what}");
        recorded.push(reply.json()["alert_ids"].clone());
    }
    assert_eq!(recorded[0].as_array().map(Vec::len), Some(1), "one community, one alert");
    assert_eq!(recorded[1], recorded[0], "again: the alert recorded the first time");
    let paul = scene.stack.member("Paul");
    assert_eq!(alerts_of(&scene.direct, paul, &format!("web-{id}")).await, 1, "one alert for the submission");

    scene.report("sign-in and alerts");
    let unavailable = scene.answers.count(StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable >= 2, "faults reached the pages: {:?}", scene.answers.by_status);
    assert!(scene.proxy.stats.ses_faults.load(Ordering::Relaxed) > 0, "sign-in emails were faulted");
}

#[tokio::test]
async fn settings_are_saved_whole_or_not_at_all() {
    let mut scene = Scene::start().await;
    let mut web = scene.signed_in("Karim").await;
    let direct = &scene.direct;
    let karim = direct.member(scene.stack.member("Karim").id).await.unwrap().expect("Karim");
    let old_phone = karim.phone.clone().expect("Karim has a number");

    // The page: shown to neighbours, no SMS alerts. Each try that answers "unavailable" must
    // have changed nothing.
    let answers = &mut scene.answers;
    let page = until_answered!(answers, "settings page", web.get("/settings").await);
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("first_name", "Karim"),
        ("phone", old_phone.as_str()),
        ("email_alerts", "on"),
    ];
    let mut tries = 0;
    let saved = loop {
        let reply = web.post("/settings", &fields).await;
        if !answers.unavailable(&reply, "saving settings") {
            break reply;
        }
        let stored = direct.member(karim.id).await.unwrap().unwrap();
        assert_eq!(stored, karim, "an unavailable answer stored nothing");
        tries += 1;
        assert!(tries < TRIES, "saving settings: still unavailable");
    };
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/settings?saved=1"));
    let stored = direct.member(karim.id).await.unwrap().expect("Karim");
    assert!(!stored.hide_phone && !stored.sms_alerts && stored.email_alerts);
    let karim = stored;

    // A new number: its code is asked once without faults (the limits on codes count every
    // request, answered or not: `web_settings` tests them), then typed while calls fail. Each
    // try that answers "unavailable" leaves the number as it was, or wholly the new one.
    scene.proxy.set_rate(0.0);
    let fields = [
        ("csrf", csrf.as_str()),
        ("first_name", "Karim"),
        ("phone", "06 12 34 56 78"),
        ("email_alerts", "on"),
    ];
    let asked = web.post("/settings", &fields).await;
    assert_eq!(asked.location(), Some("/settings?code=1"), "{}", asked.body);
    let code = code_texted_to(&scene.stack, "+33612345678").await.expect("a code texted");
    scene.proxy.set_rate(FAULT_RATE);
    let answers = &mut scene.answers;
    let mut tries = 0;
    let confirmed = loop {
        let reply = web.post("/settings/phone", &[("csrf", csrf.as_str()), ("code", code.as_str())]).await;
        if !answers.unavailable(&reply, "confirming the number") {
            break reply;
        }
        let stored = direct.member(karim.id).await.unwrap().unwrap();
        assert!(
            stored == karim || stored.phone.as_ref().map(|p| p.as_str()) == Some("+33612345678"),
            "{stored:?}"
        );
        tries += 1;
        assert!(tries < TRIES, "confirming the number: still unavailable");
    };
    assert_eq!(confirmed.location(), Some("/settings?confirmed=1"), "{}", confirmed.body);

    // All of it, everywhere: the profile, the membership the fan-out reads, the numbers.
    let new_phone = PhoneNumber::parse("+33612345678").unwrap();
    let stored = direct.member(karim.id).await.unwrap().expect("Karim");
    assert_eq!(stored.phone.as_ref(), Some(&new_phone));
    assert!(!stored.hide_phone && !stored.sms_alerts && stored.email_alerts);
    let roster = direct.members_page(&karim.communities[0], None, 100).await.unwrap();
    let listed = roster.items.iter().find(|r| r.member_id == karim.id).expect("Karim in his community");
    assert_eq!(listed.phone.as_ref(), Some(&new_phone));
    assert!(!listed.sms_alerts && !listed.hide_phone);
    assert_eq!(direct.member_by_phone(&new_phone).await.unwrap().map(|m| m.id), Some(karim.id));
    assert_eq!(direct.member_by_phone(&old_phone).await.unwrap(), None, "the old number is released");

    // The API: a new first name, SMS alerts back on.
    let me = until_answered!(answers, "GET /api/me", web.get("/api/me").await);
    web.csrf = me.json()["csrf"].as_str().map(str::to_owned);
    let patch = json!({"first_name": "Karim-Yacine", "sms_alerts": true});
    let patched = until_answered!(
        answers,
        "PATCH /api/me",
        web.api(Method::PATCH, "/api/me", Some(patch.clone())).await
    );
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.json()["first_name"], json!("Karim-Yacine"));
    let stored = direct.member(karim.id).await.unwrap().expect("Karim");
    assert_eq!(stored.first_name.as_str(), "Karim-Yacine");
    assert!(stored.sms_alerts);
    assert_eq!(stored.phone.as_ref(), Some(&new_phone), "what was not sent stays");
    let roster = direct.members_page(&karim.communities[0], None, 100).await.unwrap();
    let listed = roster.items.iter().find(|r| r.member_id == karim.id).expect("Karim in his community");
    assert_eq!(listed.first_name.as_str(), "Karim-Yacine");

    scene.report("settings");
    let unavailable = scene.answers.count(StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable >= 1, "faults reached the pages: {:?}", scene.answers.by_status);
}

#[tokio::test]
async fn submissions_that_failed_for_now_do_not_use_up_the_hourly_limit() {
    let mut scene = Scene::start().await;
    let mut web = scene.signed_in("Marie").await;
    scene.proxy.set_rate(0.0);
    let fields = scene.confirmed(&mut web, "danger", "Fuite de gaz signalée place du Marché").await;

    // DynamoDB refuses to record this alert (a partition throttled, say) while Marie presses
    // the button again and again, more times than the hourly limit of alerts.
    scene.proxy.refuse_calls_with(Some("Fuite de gaz"));
    let per_hour = scene.stack.config.alerts_per_hour as usize;
    for i in 0..=per_hour {
        let reply = post(&mut web, "/alerts", &fields).await;
        let unavailable = scene.answers.unavailable(&reply, "raising while refused");
        assert!(unavailable, "try {i}: {} {}", reply.status, reply.body);
    }
    scene.proxy.refuse_calls_with(None);
    let sent = post(&mut web, "/alerts", &fields).await;
    scene.answers.unavailable(&sent, "raising once accepted");
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "recorded once DynamoDB takes it: {}", sent.body);
    let marie = scene.stack.member("Marie");
    assert_eq!(alerts_of(&scene.direct, marie, value(&fields, "submission")).await, 1);
}

/// A sign-in whose session could not be stored answers "temporarily unavailable, try again in a
/// moment": trying again with the same link must work (the link is spent only once the session
/// is stored; it used to be spent first, and the member had to ask for a new link).
#[tokio::test]
async fn a_sign_in_that_failed_for_now_works_when_tried_again() {
    let mut scene = Scene::start().await;
    scene.proxy.set_rate(0.0);
    let mut web = WebClient::new(&scene.stack);
    let email = scene.stack.email("Marie");
    let form = web.get("/signin").await;
    let csrf = form.csrf();
    web.post("/signin", &[("csrf", &csrf), ("email", &email)]).await;
    let link = signin_path(&scene.stack, &email).await.expect("a sign-in link");
    let page = web.get(&link).await;
    let csrf = page.csrf();

    // Storing the session fails (only a session's item holds `expires_at_ms`).
    scene.proxy.refuse_calls_with(Some("expires_at_ms"));
    let failed = web.post(&link, &[("csrf", &csrf)]).await;
    assert!(scene.answers.unavailable(&failed, "signing in while sessions cannot be stored"));
    scene.proxy.refuse_calls_with(None);
    let again = web.post(&link, &[("csrf", &csrf)]).await;
    scene.answers.unavailable(&again, "signing in again");
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the same link works once the store is back: {}",
        again.status
    );
}
