//! The bad-input corpus: every SNS event under `tests/fixtures/inbound/` goes through the real
//! `inbound-sms` handler, then the real fan-out (fed by the emulator's stream), against the demo
//! data. Each has the outcome written in `tests/fixtures/inbound/expected.json`, and:
//! - an envelope that is not an SNS event is rejected by the Lambda runtime before the handler
//!   runs (it fails to deserialize as an `SnsEvent`);
//! - a dropped message, or a stranger's, stores nothing: no alert, no table changed (but the
//!   one polite answer to a stranger and its ledger entry), nothing sent but that answer;
//! - what an alert stores and sends is clean: no control character but newline and no bidi
//!   control in the stored text and in any SMS, no live `<script` or other markup in the HTML
//!   of any email, and no header smuggled in through CR/LF.
//!
//! One stack for the whole corpus (moto is slow to start), the fixtures run in the order of
//! `expected.json`: a few outcomes depend on what came before (a 👍 acknowledges the alert the
//! sender just received; a stranger is answered once a day).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_lambda_events::event::sns::SnsEvent;
use aws_sdk_dynamodb::types::Select;
use inbound_sms::handler::Ignored;
use infra::outbox::{Outbox, SentEmail};
use serde::Deserialize;
use serde_json::Value;
use vigie::domain::unicode::is_bidi_control;
use vigie::ports::AlertLog;
use vigie_tests::{DEMO_SEED, Handled, Stack};

const REJECTED: &str = "rejected by the runtime";

/// One line of `expected.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    file: String,
    /// What is wrong with it (envelope, message, number...), for the summary.
    kind: String,
    expect: Expect,
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expect {
    /// `"rejected by the runtime"`: not an SNS event at all.
    Runtime(String),
    /// The handler's outcome for each record, as [`describe`] writes it.
    Outcomes(Vec<String>),
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inbound")
}

fn load_fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let expected = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    let fixtures: Vec<Fixture> =
        serde_json::from_str(&expected).expect("expected.json is a list of fixtures");
    // Every event file has exactly one expected outcome, and every outcome its file.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "expected.json")
        .collect();
    files.sort();
    let mut listed: Vec<String> = fixtures.iter().map(|f| f.file.clone()).collect();
    listed.sort();
    assert_eq!(listed, files, "expected.json lists each fixture file once");
    fixtures
}

/// An outcome as `expected.json` writes it.
fn describe(handled: &Handled) -> String {
    match handled {
        Handled::Dropped(reason) => format!("dropped: {reason}"),
        Handled::Alerted(alerts) => format!("alerted: {}", alerts.len()),
        Handled::Unknown { answered: true } => "unknown: answered".into(),
        Handled::Unknown { answered: false } => "unknown: not answered".into(),
        Handled::Acknowledged(_) => "acknowledged".into(),
        Handled::ReplyToOwnAlert(_) => "reply to own alert".into(),
        Handled::Ignored(Ignored::OutsideCountries) => "ignored: outside the countries".into(),
        Handled::Ignored(Ignored::OurText) => "ignored: our own text".into(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{other:?}")),
    }
}

/// The first character of `text` that must never reach a neighbour.
fn unclean(text: &str) -> Option<char> {
    text.chars().find(|&c| (c.is_control() && c != '\n') || is_bidi_control(c))
}

/// Items in each of the three tables.
async fn table_counts(stack: &Stack) -> [usize; 3] {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let tables = &stack.config.tables;
    let mut counts = [0; 3];
    for (count, table) in counts.iter_mut().zip([&tables.members, &tables.alerts, &tables.ledger]) {
        let pages =
            client.scan().table_name(table).select(Select::Count).into_paginator().send().try_collect().await;
        for page in pages.expect("scan") {
            *count += usize::try_from(page.count()).expect("a count");
        }
    }
    counts
}

/// What was sent between two looks at the outbox (moto only appends).
fn sent_since(before: &Outbox, after: &Outbox) -> Outbox {
    Outbox {
        sms: after.sms[before.sms.len()..].to_vec(),
        emails: after.emails[before.emails.len()..].to_vec(),
    }
}

/// No live markup from the alert in the HTML part, nothing unclean in the text part, the subject
/// or any header.
fn assert_email_is_clean(file: &str, email: &SentEmail, demo_emails: &[String]) {
    let html = email.html.as_deref().unwrap_or_default().to_lowercase();
    for tag in ["<script", "<img", "<a href=\"javascript", "<b>", "<i>", "</blockquote><a"] {
        assert!(!html.contains(tag), "{file}: `{tag}` in the email's HTML:\n{html}");
    }
    if let Some(text) = &email.text {
        // MIME lines end in CRLF; any other control character came from the alert.
        assert_eq!(unclean(&text.replace("\r\n", "\n")), None, "{file}: email text part {text:?}");
    }
    assert_eq!(unclean(&email.subject), None, "{file}: subject {:?}", email.subject);
    assert!(!email.subject.contains('\n'), "{file}: subject {:?}", email.subject);
    for (name, value) in &email.headers {
        assert!(
            !["bcc", "cc"].contains(&name.to_lowercase().as_str()),
            "{file}: a {name} header was injected: {value}"
        );
        assert!(!value.contains(['\r', '\n']), "{file}: header {name} spans lines: {value:?}");
    }
    assert_eq!(
        email.headers.iter().filter(|(name, _)| name.eq_ignore_ascii_case("subject")).count(),
        1,
        "{file}: one Subject header"
    );
    assert!(
        email.to.iter().all(|to| demo_emails.iter().any(|e| e.eq_ignore_ascii_case(to))),
        "{file}: an email to someone outside the demo: {:?}",
        email.to
    );
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_outcome_stores_nothing_half_way_and_sends_nothing_unclean() {
    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 40, "at least 40 bad inputs: {}", fixtures.len());

    // Many alerts from the same few members: lift the hourly limit, which is tested elsewhere.
    let mut stack = Stack::start_with(|c| c.alerts_per_hour = 1000).await;
    stack.seed(DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let demo_numbers: Vec<String> =
        stack.members.iter().filter_map(|m| m.phone.as_ref().map(ToString::to_string)).collect();
    let demo_emails: Vec<String> =
        stack.members.iter().filter_map(|m| m.email.as_ref().map(ToString::to_string)).collect();

    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    let (mut outbox, mut tables) = (stack.outbox().await, table_counts(&stack).await);
    for fixture in &fixtures {
        let file = fixture.file.as_str();
        let json = std::fs::read_to_string(fixtures_dir().join(file)).expect("fixture file");
        *by_kind.entry(&fixture.kind).or_default() += 1;
        // The fan-out writes its counts on the alert after the stream was read: let those records
        // go by first, so that what the next drain sees comes from this fixture alone.
        relay.drain().await.expect("stream read");
        let (before, tables_before) = (outbox, tables);

        let expected = match &fixture.expect {
            Expect::Runtime(what) => {
                assert_eq!(what, REJECTED, "{file}: unknown expectation");
                // The runtime answers with an error before the handler runs: nothing happens.
                let err = serde_json::from_str::<SnsEvent>(&json)
                    .expect_err(&format!("{file} ({}) must not be an SNS event", fixture.note));
                *by_outcome.entry(REJECTED.into()).or_default() += 1;
                let report = relay.drain().await.expect("stream read");
                assert_eq!(report.records_seen, 0, "{file}: {err}");
                (outbox, tables) = (stack.outbox().await, table_counts(&stack).await);
                assert_eq!(outbox, before, "{file}: nothing sent");
                assert_eq!(tables, tables_before, "{file}: nothing stored");
                continue;
            }
            Expect::Outcomes(outcomes) => outcomes,
        };

        let event: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
        let handled = stack
            .invoke_inbound(event)
            .await
            .unwrap_or_else(|e| panic!("{file}: the handler failed (Lambda would retry): {e}"));
        let described: Vec<String> = handled.iter().map(describe).collect();
        assert_eq!(&described, expected, "{file}: {}", fixture.note);
        for outcome in &described {
            *by_outcome.entry(outcome.split(':').next().unwrap_or_default().to_owned()).or_default() += 1;
        }

        let report = relay.drain().await.expect("stream read");
        assert_eq!(report.sent_to_on_failure, 0, "{file}: a stream record failed");
        if described.iter().any(|d| d == "duplicate") {
            // moto undoes a cancelled transaction by putting back a copy of the whole table,
            // stream included: the relay's shard iterator, taken before, still reads the old
            // copy (which had this fixture's records) and would never see a new one. A new
            // relay, positioned at the end of the stream now, reads the live copy.
            relay = stack.relay().await;
            relay.drain().await.expect("stream read");
        }
        (outbox, tables) = (stack.outbox().await, table_counts(&stack).await);
        let (sent, tables_after) = (sent_since(&before, &outbox), tables);

        let quiet = handled.iter().all(|h| matches!(h, Handled::Dropped(_)));
        if quiet {
            // Dropped: logged, and nothing stored or sent, not even half-way.
            assert_eq!(report.records_seen, 0, "{file}: a dropped message reached the alerts table");
            assert_eq!(sent, Outbox::default(), "{file}: a dropped message sent something");
            assert_eq!(tables_after, tables_before, "{file}: a dropped message stored something");
        }
        for h in &handled {
            if let Handled::Unknown { answered } = h {
                // A stranger's text is kept nowhere: no alert; at most one answer, to them.
                assert_eq!(report.records_seen, 0, "{file}: a stranger's message reached the alerts table");
                assert_eq!(tables_after[..2], tables_before[..2], "{file}: members or alerts changed");
                assert!(sent.emails.is_empty(), "{file}: a stranger's message sent an email");
                assert_eq!(sent.sms.len(), usize::from(*answered), "{file}: {:?}", sent.sms);
                assert!(
                    sent.sms.iter().all(|s| !demo_numbers.contains(&s.to)),
                    "{file}: a member was texted"
                );
            }
            if let Handled::Alerted(alerts) = h {
                assert!(report.delivered >= alerts.len(), "{file}: the fan-out got {report:?}");
                for &alert in alerts {
                    let stored =
                        stack.store().alert(alert).await.expect("read").expect("the alert is stored");
                    let text = stored.text.as_str();
                    assert_eq!(unclean(text), None, "{file}: stored text {text:?}");
                    assert!(!text.contains("\n\n\n"), "{file}: stored text {text:?}");
                }
                assert!(!sent.sms.is_empty(), "{file}: an alert texted nobody");
                // Every community of the demo has members with email alerts on.
                assert!(!sent.emails.is_empty(), "{file}: an alert emailed nobody");
                if fixture.note.contains("script") {
                    // The markup arrived, as text.
                    assert!(
                        sent.emails
                            .iter()
                            .any(|e| e.html.as_deref().is_some_and(|h| h.contains("&#60;script"))),
                        "{file}: the escaped script is not in the email"
                    );
                }
            }
        }
        // Whatever was sent (alerts, confirmations, replies) is clean and went to the demo only
        // (or back to the stranger who texted).
        for sms in &sent.sms {
            assert_eq!(unclean(&sms.body), None, "{file}: SMS to {}: {:?}", sms.to, sms.body);
            assert!(!sms.body.trim().is_empty(), "{file}: an empty SMS to {}", sms.to);
        }
        for email in &sent.emails {
            assert_email_is_clean(file, email, &demo_emails);
        }
    }

    // Nothing smuggled in by the hostile bodies reached anyone.
    assert_eq!(outbox.emails_to("victim@evil.example").count(), 0);

    println!("bad inputs: {} fixtures", fixtures.len());
    for (kind, n) in &by_kind {
        println!("  {kind:<16} {n:>3}");
    }
    println!("outcomes (per record):");
    for (outcome, n) in &by_outcome {
        println!("  {outcome:<24} {n:>3}");
    }
}

#[test]
fn the_corpus_is_well_formed() {
    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 40);
    for f in &fixtures {
        assert!(!f.note.is_empty() && !f.kind.is_empty(), "{}", f.file);
        if let Expect::Outcomes(outcomes) = &f.expect {
            // Each file the handler sees is a real SNS event.
            let json = std::fs::read_to_string(fixtures_dir().join(&f.file)).unwrap();
            let event: SnsEvent = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", f.file));
            assert_eq!(event.records.len(), outcomes.len(), "{}: one outcome per record", f.file);
        }
    }
}
