//! The bad-HTTP corpus: every request under `tests/fixtures/http/` goes into the web function
//! in-process (its router, as Lambda runs it), against the demo data, as an anonymous visitor
//! or a signed-in member. Each file says what it sends and what must come back:
//! - the status it states, never a 5xx;
//! - a clear message: the French page's wording, or the API's `{"error": "<code>"}` (JSON
//!   under `/api/`, as the app answers its errors), and nothing of the internals (no parser
//!   message, no backtrace, no AWS error);
//! - what must not be in the answer (`absent`: markup that would run, controls...);
//! - nothing stored: every item of the three tables is the same after as before (no alert, no
//!   member changed, no counter taken), and nothing sent (the emulator's outbox).
//!
//! A fixture is JSON (see [`Fixture`]). In its path, headers and body: `{{csrf}}` is the
//! caller's anti-CSRF token (the session's, or an anonymous visitor's cookie),
//! `{{submission}}` a fresh ULID, `{{member:<first name>}}` a demo member's id, and
//! `{{repeat:<n>:<text>}}` the text `n` times (bodies of several megabytes).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use serde::Deserialize;
use tower::ServiceExt;
use vigie_tests::web_client::{WebClient, unescape};
use vigie_tests::{DEMO_SEED, Stack};

/// One file of the corpus.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    /// What is wrong with the request.
    note: String,
    /// `anonymous`, or the first name of a demo member, signed in.
    caller: String,
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The body as text (placeholders expanded)...
    #[serde(default)]
    body: Option<String>,
    /// ...or as raw bytes, for what is not UTF-8.
    #[serde(default)]
    body_base64: Option<String>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    /// The API's error code (`{"error": …}`), or a fragment of the page (entities decoded).
    message: String,
    /// Fragments that must not be in the raw answer.
    #[serde(default)]
    absent: Vec<String>,
}

/// Words of parsers, runtimes and AWS that must never reach a visitor.
const INTERNALS: &[&str] = &[
    "panicked",
    "backtrace",
    "serde",
    "line 1 column",
    "invalid type",
    "missing field",
    "unknown field",
    "duplicate field",
    "expected value",
    "dynamodb",
    "validationexception",
    "src/",
    "thread '",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/http")
}

fn load_fixtures() -> Vec<(String, Fixture)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/http")
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.ends_with(".json"), "{name}: the corpus holds .json files only");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let fixture: Fixture = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, fixture)
        })
        .collect()
}

/// A caller: its cookies and anti-CSRF token.
struct Caller {
    cookies: String,
    csrf: String,
}

async fn caller(stack: &Stack, who: &str) -> Caller {
    let mut web = WebClient::new(stack);
    if who == "anonymous" {
        // The sign-in form sets the anonymous forms' double-submit cookie.
        let csrf = web.get("/signin").await.csrf();
        let cookie = web.cookie("__Host-vigie_csrf").expect("the anonymous anti-CSRF cookie");
        return Caller { cookies: format!("__Host-vigie_csrf={cookie}"), csrf };
    }
    web.sign_in(stack, who).await;
    let session = web.cookie("__Host-vigie_session").expect("a session").to_owned();
    let me = web.get("/api/me").await;
    let csrf = me.json()["csrf"].as_str().expect("the session's anti-CSRF token").to_owned();
    Caller { cookies: format!("__Host-vigie_session={session}"), csrf }
}

/// The placeholders of a fixture's text, expanded.
fn expand(stack: &Stack, caller: &Caller, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e).expect("a placeholder ends with }}");
        let name = &rest[start + 2..end];
        match name.split_once(':') {
            None if name == "csrf" => out.push_str(&caller.csrf),
            None if name == "submission" => out.push_str(&ulid::Ulid::new().to_string()),
            Some(("member", first_name)) => out.push_str(&stack.member(first_name).id.to_string()),
            Some(("repeat", spec)) => {
                let (n, unit) = spec.split_once(':').expect("{{repeat:<n>:<text>}}");
                out.push_str(&unit.repeat(n.parse().expect("a count")));
            }
            _ => panic!("unknown placeholder {{{{{name}}}}}"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Every item of the three tables, comparable.
async fn tables(stack: &Stack) -> [Vec<String>; 3] {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let t = &stack.config.tables;
    let (members, alerts, ledger) =
        tokio::join!(table(&client, &t.members), table(&client, &t.alerts), table(&client, &t.ledger));
    [members, alerts, ledger]
}

async fn table(client: &aws_sdk_dynamodb::Client, name: &str) -> Vec<String> {
    let scanned = client.scan().table_name(name).into_paginator().items().send().try_collect().await;
    let mut items: Vec<String> = scanned.expect("scan").iter().map(describe).collect();
    items.sort();
    items
}

/// The items that differ, for the failure's message.
fn diff(before: &[Vec<String>; 3], after: &[Vec<String>; 3]) -> String {
    let mut lines = Vec::new();
    for (old, new) in before.iter().zip(after) {
        lines.extend(old.iter().filter(|i| !new.contains(i)).map(|i| format!("- {i}")));
        lines.extend(new.iter().filter(|i| !old.contains(i)).map(|i| format!("+ {i}")));
    }
    lines.join("\n")
}

fn describe(item: &HashMap<String, AttributeValue>) -> String {
    format!("{:?}", item.iter().collect::<BTreeMap<_, _>>())
}

/// An answer of the router.
struct Answer {
    status: StatusCode,
    content_type: String,
    csp: bool,
    body: String,
}

async fn send(router: &axum::Router, stack: &Stack, caller: &Caller, fixture: &Fixture) -> Answer {
    let path = expand(stack, caller, &fixture.path);
    let mut request = Request::builder().method(fixture.method.as_str()).uri(path);
    for (name, value) in &fixture.headers {
        request = request.header(name.as_str(), expand(stack, caller, value));
    }
    request = request.header(header::COOKIE, &caller.cookies);
    let body = match (&fixture.body, &fixture.body_base64) {
        (Some(text), None) => Body::from(expand(stack, caller, text)),
        (None, Some(b64)) => {
            Body::from(base64::engine::general_purpose::STANDARD.decode(b64).expect("body_base64 is base64"))
        }
        (None, None) => Body::empty(),
        (Some(_), Some(_)) => panic!("body or body_base64, not both"),
    };
    let response = router.clone().oneshot(request.body(body).expect("a request")).await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024).await.expect("a body");
    Answer {
        status,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        csp: headers.contains_key(header::CONTENT_SECURITY_POLICY),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The text of a page: its entities decoded (askama writes `<` as `&#60;`).
fn decoded(html: &str) -> String {
    unescape(&html.replace("&#60;", "<").replace("&#62;", ">"))
}

/// The answer is the one the fixture states, clear, and leaks nothing.
fn check(file: &str, fixture: &Fixture, answer: &Answer) {
    let expect = &fixture.expect;
    // The page's own part, for the messages.
    let main = answer.body.find("<main").map_or(answer.body.as_str(), |at| &answer.body[at..]);
    let shown: String = main.chars().take(1500).collect();
    assert!(!answer.status.is_server_error(), "{file}: {} ({}):\n{shown}", answer.status, fixture.note);
    assert_eq!(answer.status.as_u16(), expect.status, "{file} ({}):\n{shown}", fixture.note);
    assert!(answer.csp, "{file}: the frame's headers are missing");
    let api = fixture.path.starts_with("/api/");
    if api && answer.status.is_client_error() {
        assert!(answer.content_type.starts_with("application/json"), "{file}: {}", answer.content_type);
        let json: serde_json::Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|_| panic!("{file}: the API's error is JSON: {shown}"));
        assert_eq!(json, serde_json::json!({ "error": expect.message }), "{file}");
    } else {
        if answer.status.is_client_error() {
            assert!(answer.content_type.starts_with("text/html"), "{file}: {}", answer.content_type);
        }
        assert!(
            decoded(&answer.body).contains(&expect.message),
            "{file}: `{}` is not in the answer:\n{shown}",
            expect.message
        );
    }
    let lower = answer.body.to_lowercase();
    for fragment in &expect.absent {
        assert!(!lower.contains(&fragment.to_lowercase()), "{file}: `{fragment}` is in the answer:\n{shown}");
    }
    for word in INTERNALS {
        assert!(!lower.contains(word), "{file}: the answer tells of the internals (`{word}`):\n{shown}");
    }
}

#[tokio::test]
async fn every_bad_request_gets_its_clear_answer_and_changes_nothing() {
    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 25, "at least 25 bad requests: {}", fixtures.len());
    let mut stack = Stack::start().await;
    stack.seed(DEMO_SEED).await;
    let state = stack.web_state(std::time::Duration::ZERO);
    let router = web::router(state);

    // Everyone signs in first (that stores sessions and sends links), then nothing may change.
    let mut callers: BTreeMap<&str, Caller> = BTreeMap::new();
    for (_, fixture) in &fixtures {
        if !callers.contains_key(fixture.caller.as_str()) {
            callers.insert(&fixture.caller, caller(&stack, &fixture.caller).await);
        }
    }
    let sent = stack.outbox().await;
    let mut stored = tables(&stack).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (file, fixture) in &fixtures {
        let answer = send(&router, &stack, &callers[fixture.caller.as_str()], fixture).await;
        check(file, fixture, &answer);
        let now = tables(&stack).await;
        assert!(now == stored, "{file}: something was stored ({}):\n{}", fixture.note, diff(&stored, &now));
        stored = now;
        *by_status.entry(answer.status.as_u16()).or_default() += 1;
    }
    // The outbox is slow to read: once, for the whole corpus (what was sent tells by whom).
    let outbox = stack.outbox().await;
    assert_eq!(outbox, sent, "the corpus sent something");
    println!("bad HTTP requests: {} fixtures", fixtures.len());
    for (status, n) in &by_status {
        println!("  {status} {n:>3}");
    }
}
