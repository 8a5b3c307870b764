//! Delivered, not just sent: the receipts SES and SNS send back, fed as AWS delivers them (SES's
//! events in SNS notifications, SNS's SMS delivery logs through CloudWatch Logs), built from the
//! documented examples of `tests/fixtures/receipts/` with the message ids the emulator gave the
//! real sends. Assertions are on what residents, referents and the sender see: the report, the
//! settings and referent pages, the API, and what the next alert sends.

use std::time::{Duration, SystemTime};

use axum::http::{Method, StatusCode};
use infra::receipt_event::{self, EmailEvent, SmsStatus};
use serde_json::{Value, json};
use vigie::domain::{AlertId, ProblemKind};
use vigie::model::{Channel, ChannelReport, DeliveryCounts, Outcome, Task};
use vigie::ports::{AlertLog, Feed, Ledger, MemberLookup};
use vigie::receipts::DeliveryRecord;
use vigie_tests::web_client::WebClient;
use vigie_tests::{EMAIL_CONFIGURATION_SET, Handled, Stack};

type Receipts = Result<Vec<delivery_events::handler::Handled>, delivery_events::handler::DeliveryEventsError>;

const EVENTS_TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:vigie-DeliveryEventsTopic";

/// Long enough ago that a receipt of it no longer waits for its settlement.
fn an_hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

/// `from` texts `text`; the fan-out sends it. The alert's id.
async fn alert(
    stack: &Stack,
    relay: &mut infra::relay::Relay<impl infra::relay::Invoker>,
    from: &str,
    text: &str,
) -> AlertId {
    let Handled::Alerted(ids) = stack.text(&stack.phone(from), text).await else {
        panic!("{from}'s text is an alert")
    };
    relay.drain().await.expect("the alerts stream is read");
    ids[0]
}

/// The provider's id of the SMS to `name` holding `marker`.
async fn sms_id(stack: &Stack, name: &str, marker: &str) -> String {
    let outbox = stack.outbox().await;
    let phone = stack.phone(name);
    let sms = outbox.sms_to(&phone).filter(|s| s.body.contains(marker)).last();
    sms.unwrap_or_else(|| panic!("an SMS to {name} with {marker:?}")).message_id.clone()
}

/// The provider's id of the email to `name` holding `marker`.
async fn email_id(stack: &Stack, name: &str, marker: &str) -> String {
    let outbox = stack.outbox().await;
    let address = stack.email(name);
    let email = outbox
        .emails_to(&address)
        .filter(|m| m.subject.contains(marker) || m.text.as_deref().unwrap_or_default().contains(marker))
        .last();
    email.unwrap_or_else(|| panic!("an email to {name} with {marker:?}")).id.clone()
}

async fn email_receipt(
    stack: &Stack,
    event: EmailEvent,
    id: &str,
    name: &str,
    sent_at: SystemTime,
) -> Receipts {
    let record = receipt_event::ses_message(event, id, &stack.email(name), sent_at, Duration::from_secs(3));
    stack.invoke_delivery_events(receipt_event::ses_event(&record, EVENTS_TOPIC)).await
}

async fn sms_receipt(
    stack: &Stack,
    status: SmsStatus,
    id: &str,
    name: &str,
    sent_at: SystemTime,
) -> Receipts {
    let log = receipt_event::sms_log(&status, id, &stack.phone(name), sent_at);
    let group = receipt_event::sms_log_group("123456789012", "eu-west-3", &status);
    stack.invoke_delivery_events(receipt_event::sms_logs_event(&group, &[log])).await
}

/// The one receipt's record, the invocation having succeeded.
fn record(handled: Receipts) -> DeliveryRecord {
    match handled.expect("the receipt is applied").as_slice() {
        [delivery_events::handler::Handled::Applied { delivery, .. }] => *delivery,
        other => panic!("one applied receipt: {other:?}"),
    }
}

async fn counts(stack: &Stack, alert: AlertId) -> DeliveryCounts {
    stack.store().alert_report(alert).await.unwrap().expect("the alert").counts.expect("the fan-out's counts")
}

/// How many alert emails from Marie `name` has received.
async fn alert_emails(stack: &Stack, name: &str) -> usize {
    stack.outbox().await.emails_to(&stack.email(name)).filter(|m| m.subject.contains("Marie")).count()
}

fn channel(sent: u32, delivered: u32, failed: u32, pending: u32) -> ChannelReport {
    ChannelReport { sent, delivered, failed, pending }
}

#[tokio::test]
async fn the_local_stack_creates_the_configuration_set_every_email_names() {
    let stack = Stack::start().await;
    assert_eq!(stack.config.email_configuration_set.as_deref(), Some(EMAIL_CONFIGURATION_SET));
    let ses = aws_sdk_sesv2::Client::new(&stack.sdk);
    let sets = || async { ses.list_configuration_sets().send().await.unwrap().configuration_sets().to_vec() };
    // AWS refuses a send naming a configuration set that does not exist.
    assert_eq!(sets().await, [EMAIL_CONFIGURATION_SET]);
    // Idempotent, as `vigie-local setup` run twice.
    infra::stack::create_configuration_set(&ses, EMAIL_CONFIGURATION_SET).await.unwrap();
    assert_eq!(sets().await, [EMAIL_CONFIGURATION_SET]);
}

#[tokio::test]
async fn delivered_texts_and_emails_show_in_the_report_page_and_api() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Voiture suspecte devant le 12 rue des Lilas").await;
    // Les Tilleuls: SMS to Karim, Jeanne, Sophie; emails to Karim, Lucas, Chloé, Sophie.
    assert_eq!(counts(&stack, id).await.channel(Channel::Sms), channel(3, 0, 0, 3), "nothing delivered yet");

    for name in ["Karim", "Jeanne"] {
        let sms = sms_id(&stack, name, "rue des Lilas").await;
        assert_eq!(
            record(sms_receipt(&stack, SmsStatus::Delivered, &sms, name, an_hour_ago()).await),
            DeliveryRecord::Recorded
        );
    }
    let email = email_id(&stack, "Lucas", "Voiture suspecte").await;
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &email, "Lucas", an_hour_ago()).await),
        DeliveryRecord::Recorded
    );
    // SES's Send event and a delay change nothing: the email is pending until delivered.
    let chloe = email_id(&stack, "Chloé", "Voiture suspecte").await;
    for quiet in [EmailEvent::Send, EmailEvent::DeliveryDelay] {
        assert_eq!(
            record(email_receipt(&stack, quiet, &chloe, "Chloé", an_hour_ago()).await),
            DeliveryRecord::NothingToRecord
        );
    }

    let c = counts(&stack, id).await;
    assert_eq!(c.channel(Channel::Sms), channel(3, 2, 0, 1));
    assert_eq!(c.channel(Channel::Email), channel(4, 1, 0, 3));

    // The sender sees it on the report page and in the feed...
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let page = marie.get(&format!("/alerts/{id}")).await;
    for (label, value) in [
        ("SMS envoyés", "3"),
        ("SMS remis", "2"),
        ("SMS en attente de remise", "1"),
        ("E-mails envoyés", "4"),
        ("E-mails remis", "1"),
        ("E-mails en échec", "0"),
        ("E-mails en attente de remise", "3"),
    ] {
        let row = format!(r#"<th scope="row">{label}</th><td>{value}</td>"#);
        assert!(page.body.contains(&row), "{label} = {value}: {}", page.body);
    }
    let feed = marie.get("/").await;
    assert!(
        feed.body.contains("5 voisins prévenus · 3 SMS, 4 e-mails · 3 remis · 0 accusé de réception"),
        "{}",
        feed.body
    );
    // ... and the API.
    let api = marie.api(Method::GET, &format!("/api/alerts/{id}"), None).await;
    assert_eq!(api.status, StatusCode::OK);
    let delivery = &api.json()["delivery"];
    assert_eq!(delivery["sms"], json!({"sent": 3, "delivered": 2, "failed": 0, "pending": 1}));
    assert_eq!(delivery["email"], json!({"sent": 4, "delivered": 1, "failed": 0, "pending": 3}));
    // In English too.
    marie.set_cookie("lang", "en");
    let page = marie.get(&format!("/alerts/{id}")).await;
    assert!(page.body.contains(r#"<th scope="row">Text messages delivered</th><td>2</td>"#), "{}", page.body);
}

#[tokio::test]
async fn a_hard_bounce_turns_email_alerts_off_the_referent_sees_it_and_the_next_alert_is_not_emailed() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Fenêtre forcée au 8 rue Haute").await;
    let bounced = email_id(&stack, "Karim", "Fenêtre forcée").await;
    let handled = email_receipt(&stack, EmailEvent::HardBounce, &bounced, "Karim", an_hour_ago()).await;
    assert!(
        matches!(
            handled.as_deref(),
            Ok([delivery_events::handler::Handled::Applied {
                delivery: DeliveryRecord::Recorded,
                members_noted: 1,
                ..
            }])
        ),
        "{handled:?}"
    );

    // The delivery failed, with SES's reason, in the report.
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 0, 1, 3));
    // Karim's email alerts are off, and why is kept.
    let karim = stack.store().member(stack.member("Karim").id).await.unwrap().unwrap();
    assert!(!karim.email_alerts);
    let problem = karim.email_problem.clone().expect("the bounce is noted");
    assert_eq!((problem.kind, problem.stopped), (ProblemKind::HardBounce, true));
    assert_eq!(problem.detail, "smtp; 550 5.1.1 user unknown");
    assert!(karim.sms_alerts, "his texts go on");

    // His referent sees it on her page and through the API; his neighbours do not.
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert!(admin.body.contains("Alertes par e-mail coupées le"), "{}", admin.body);
    assert!(admin.body.contains("l&#39;adresse n&#39;existe pas ou refuse les messages"), "{}", admin.body);
    let members = marie.api(Method::GET, "/api/members", None).await.json();
    let of = |members: &Value, id: String| {
        members["members"].as_array().unwrap().iter().find(|m| m["id"] == id).cloned().unwrap()
    };
    let seen = of(&members, karim.id.to_string());
    assert_eq!(seen["email_problem"]["kind"], "hard_bounce");
    assert_eq!(seen["email_problem"]["alerts_stopped"], true);
    let mut lucas = WebClient::new(&stack);
    lucas.sign_in(&stack, "Lucas").await;
    let members = lucas.api(Method::GET, "/api/members", None).await.json();
    assert!(of(&members, karim.id.to_string()).get("email_problem").is_none(), "only the referent is told");

    // Karim himself is told why on his settings page (he signs in with his address: it is
    // not his mailbox that bounced the sign-in link here, only the alert).
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Karim").await;
    let settings = web.get("/settings").await;
    assert!(settings.body.contains("Alertes par e-mail coupées le"), "{}", settings.body);
    assert!(settings.body.contains("Recochez"), "he is told how to turn them back on: {}", settings.body);
    let me = web.api(Method::GET, "/api/me", None).await.json();
    assert_eq!(
        (me["email_alerts"].clone(), me["email_problem"]["kind"].clone()),
        (json!(false), json!("hard_bounce"))
    );

    // The next alert reaches him by SMS only.
    alert(&stack, &mut relay, "Marie", "Le même homme est revenu rue Haute").await;
    let outbox = stack.outbox().await;
    assert_eq!(alert_emails(&stack, "Karim").await, 1, "no second alert email");
    assert_eq!(outbox.sms_to(&stack.phone("Karim")).filter(|s| s.body.contains("rue Haute")).count(), 2);

    // He turns email alerts back on: the problem is settled, the next alert emails him.
    let page = web.get("/settings").await;
    let phone = page.field("phone").unwrap();
    let csrf = page.csrf();
    let saved = web
        .post(
            "/settings",
            &[
                ("csrf", &csrf),
                ("first_name", "Karim"),
                ("phone", &phone),
                ("hide_phone", "on"),
                ("sms_alerts", "on"),
                ("email_alerts", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let karim = stack.store().member(karim.id).await.unwrap().unwrap();
    assert!(karim.email_alerts && karim.email_problem.is_none(), "{karim:?}");
    assert!(!marie.get("/admin").await.body.contains("Alertes par e-mail coupées"));
}

#[tokio::test]
async fn a_complaint_turns_email_alerts_off_though_the_email_arrived() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Démarcheur insistant rue des Écoles").await;
    let complained = email_id(&stack, "Lucas", "Démarcheur").await;
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Complaint, &complained, "Lucas", an_hour_ago()).await),
        DeliveryRecord::Recorded
    );
    assert_eq!(
        counts(&stack, id).await.channel(Channel::Email),
        channel(4, 1, 0, 3),
        "a complaint means it arrived"
    );
    let lucas = stack.store().member(stack.member("Lucas").id).await.unwrap().unwrap();
    assert!(!lucas.email_alerts);
    assert_eq!(lucas.email_problem.as_ref().map(|p| p.kind), Some(ProblemKind::Complaint));

    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    assert!(marie.get("/admin").await.body.contains("signalé comme indésirable"));

    alert(&stack, &mut relay, "Marie", "Le démarcheur est reparti").await;
    assert_eq!(alert_emails(&stack, "Lucas").await, 1);
}

#[tokio::test]
async fn a_transient_bounce_changes_nothing_lasting() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Chien errant près de l'école").await;
    let soft = email_id(&stack, "Chloé", "Chien errant").await;
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::SoftBounce, &soft, "Chloé", an_hour_ago()).await),
        DeliveryRecord::NothingToRecord
    );
    assert_eq!(
        counts(&stack, id).await.channel(Channel::Email),
        channel(4, 0, 0, 4),
        "still pending, not failed"
    );
    let chloe = stack.store().member(stack.member("Chloé").id).await.unwrap().unwrap();
    assert!(chloe.email_alerts && chloe.email_problem.is_none(), "{chloe:?}");
    // A later delivery of it counts.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &soft, "Chloé", an_hour_ago()).await),
        DeliveryRecord::Recorded
    );
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 1, 0, 3));
    alert(&stack, &mut relay, "Marie", "Le chien a retrouvé son maître").await;
    assert_eq!(alert_emails(&stack, "Chloé").await, 2);
}

#[tokio::test]
async fn replayed_and_out_of_order_receipts_count_once_and_a_failure_is_final() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Fuite de gaz signalée rue Basse").await;
    let karim = email_id(&stack, "Karim", "Fuite de gaz").await;
    let sophie = email_id(&stack, "Sophie", "Fuite de gaz").await;

    // SNS delivers the same Delivery twice: counted once.
    for _ in 0..2 {
        email_receipt(&stack, EmailEvent::Delivery, &karim, "Karim", an_hour_ago()).await.unwrap();
    }
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 1, 0, 3));
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &karim, "Karim", an_hour_ago()).await),
        DeliveryRecord::AlreadyRecorded
    );
    // A bounce after the delivery (the mailbox accepted it, then bounced it): failed.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::HardBounce, &karim, "Karim", an_hour_ago()).await),
        DeliveryRecord::Recorded
    );
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 0, 1, 3));
    // The bounce again, and a late delivery: nothing moves.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::HardBounce, &karim, "Karim", an_hour_ago()).await),
        DeliveryRecord::AlreadyRecorded
    );
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &karim, "Karim", an_hour_ago()).await),
        DeliveryRecord::AlreadyRecorded
    );
    // Out of order the other way: the bounce first, the delivery after it never undoes it.
    email_receipt(&stack, EmailEvent::HardBounce, &sophie, "Sophie", an_hour_ago()).await.unwrap();
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &sophie, "Sophie", an_hour_ago()).await),
        DeliveryRecord::AlreadyRecorded
    );
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 0, 2, 2));

    // The SMS side, through CloudWatch Logs, likewise: a batch with the same log twice.
    let jeanne = sms_id(&stack, "Jeanne", "Fuite de gaz").await;
    let log = receipt_event::sms_log(&SmsStatus::Delivered, &jeanne, &stack.phone("Jeanne"), an_hour_ago());
    let group = receipt_event::sms_log_group("123456789012", "eu-west-3", &SmsStatus::Delivered);
    let handled = stack
        .invoke_delivery_events(receipt_event::sms_logs_event(&group, &[log.clone(), log]))
        .await
        .unwrap();
    assert_eq!(handled.len(), 2);
    assert_eq!(counts(&stack, id).await.channel(Channel::Sms), channel(3, 1, 0, 2));
    // The fan-out writing its counts again (a replayed stream record) leaves the receipts' alone.
    let tally = stack.store().tally(id, vigie::model::Wave::Alert).await.unwrap();
    stack.store().record_counts(id, &tally, true).await.unwrap();
    assert_eq!(counts(&stack, id).await.channel(Channel::Email), channel(4, 0, 2, 2));
}

#[tokio::test]
async fn a_receipt_before_its_settlement_waits_for_it_and_is_not_lost() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    // An alert recorded, its fan-out not run yet.
    let Handled::Alerted(ids) = stack.text(&stack.phone("Marie"), "Individu suspect dans les jardins").await
    else {
        panic!()
    };
    let id = ids[0];
    let karim = stack.member("Karim").id;
    let task = Task::Delivery { alert: id, member: karim, channel: Channel::Email };
    // SES answered the send "early-1" and its Delivery and a bounce of another message come
    // before the fan-out settles it: the invocations fail, so that Lambda retries them.
    let sent_now = SystemTime::now();
    let early = email_receipt(&stack, EmailEvent::Delivery, "early-1", "Karim", sent_now).await;
    assert!(
        matches!(early, Err(delivery_events::handler::DeliveryEventsError::NotSettledYet(1))),
        "{early:?}"
    );
    // What it says of the member needs no settlement: a bounce stops email alerts at once.
    let bounce = email_receipt(&stack, EmailEvent::HardBounce, "early-2", "Lucas", sent_now).await;
    assert!(bounce.is_err(), "the delivery's record waits: {bounce:?}");
    assert!(!stack.store().member(stack.member("Lucas").id).await.unwrap().unwrap().email_alerts);

    // The fan-out claims and settles the delivery with that message id, as it does after a send.
    stack
        .store()
        .claim(std::slice::from_ref(&task), Duration::from_secs(60), &vigie::model::ClaimHolder::new())
        .await
        .unwrap();
    stack.store().settle(&[(task, Outcome::Sent { message_id: "early-1".into() })]).await.unwrap();
    // Lambda's retry a minute later finds it.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, "early-1", "Karim", sent_now).await),
        DeliveryRecord::Recorded
    );
    // The fan-out runs: Karim's email is not sent again, and the receipt shows in the report.
    relay.drain().await.unwrap();
    assert_eq!(
        stack.outbox().await.emails_to(&stack.email("Karim")).count(),
        0,
        "settled before: not sent again"
    );
    let c = counts(&stack, id).await;
    assert_eq!(c.channel(Channel::Email).delivered, 1, "{c:?}");

    // Past the wait, a receipt of a message no delivery was settled with is let go cleanly.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, "early-2", "Lucas", an_hour_ago()).await),
        DeliveryRecord::UnknownMessage
    );
}

#[tokio::test]
async fn texts_failing_for_good_are_shown_then_stop_sms_alerts_at_the_third() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let jeanne = stack.member("Jeanne").id;
    let invalid = || SmsStatus::Failed("Invalid phone number".into());

    // A failure that is not about the number: the delivery failed, the member is untouched.
    let first = alert(&stack, &mut relay, "Marie", "Premier message : voiture garée").await;
    let sms = sms_id(&stack, "Jeanne", "Premier message").await;
    let unreachable = SmsStatus::Failed("Phone is currently unreachable/unavailable".into());
    assert_eq!(
        record(sms_receipt(&stack, unreachable, &sms, "Jeanne", an_hour_ago()).await),
        DeliveryRecord::Recorded
    );
    assert_eq!(counts(&stack, first).await.channel(Channel::Sms), channel(3, 0, 1, 2));
    assert!(stack.store().member(jeanne).await.unwrap().unwrap().sms_problem.is_none());

    // Permanent failures, on three alerts: shown from the first, SMS off at the third.
    for (round, marker) in ["Deuxième message", "Troisième message", "Quatrième message"].iter().enumerate()
    {
        alert(&stack, &mut relay, "Marie", &format!("{marker} : voiture garée")).await;
        let sms = sms_id(&stack, "Jeanne", marker).await;
        for _ in 0..2 {
            // Each receipt twice: counted once.
            sms_receipt(&stack, invalid(), &sms, "Jeanne", an_hour_ago()).await.unwrap();
        }
        let member = stack.store().member(jeanne).await.unwrap().unwrap();
        let problem = member.sms_problem.clone().expect("the failure is noted");
        assert_eq!((problem.kind, problem.failures), (ProblemKind::SmsUndeliverable, round as u32 + 1));
        assert_eq!(member.sms_alerts, round < 2, "SMS alerts stop at the third failure, not before");
    }
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert!(admin.body.contains("3 SMS n&#39;ont pas pu être remis à ce numéro"), "{}", admin.body);
    assert!(admin.body.contains("alertes par SMS coupées"), "{}", admin.body);

    // The next alert is not texted to her.
    alert(&stack, &mut relay, "Marie", "Cinquième message : tout va bien").await;
    assert_eq!(
        stack.outbox().await.sms_to(&stack.phone("Jeanne")).filter(|s| s.body.contains("Cinquième")).count(),
        0
    );
    // She texts START (her number works after all): SMS alerts on, the problem settled.
    assert_eq!(stack.text(&stack.phone("Jeanne"), "START").await, Handled::SmsOn);
    let member = stack.store().member(jeanne).await.unwrap().unwrap();
    assert!(member.sms_alerts && member.sms_problem.is_none(), "{member:?}");
    assert!(!marie.get("/admin").await.body.contains("n&#39;ont pas pu être remis"));
}

#[tokio::test]
async fn a_sign_in_email_that_bounces_still_turns_email_alerts_off() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.ask_link(&stack.email("Chloé")).await;
    let link = email_id(&stack, "Chloé", "connexion").await;
    // Not a neighbour's delivery: no report to update, but the address is dead all the same.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::HardBounce, &link, "Chloé", an_hour_ago()).await),
        DeliveryRecord::UnknownMessage
    );
    let chloe = stack.store().member(stack.member("Chloé").id).await.unwrap().unwrap();
    assert!(!chloe.email_alerts && chloe.email_problem.is_some());
    // Its delivery is dropped cleanly.
    assert_eq!(
        record(email_receipt(&stack, EmailEvent::Delivery, &link, "Chloé", an_hour_ago()).await),
        DeliveryRecord::UnknownMessage
    );
}

#[tokio::test]
async fn malformed_and_foreign_events_are_dropped_and_change_nothing() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let id = alert(&stack, &mut relay, "Marie", "Colis abandonné devant la mairie").await;
    let before = counts(&stack, id).await;
    let karim_before = stack.store().member(stack.member("Karim").id).await.unwrap().unwrap();
    let karim = email_id(&stack, "Karim", "Colis abandonné").await;
    let bounce = receipt_event::ses_message(
        EmailEvent::HardBounce,
        &karim,
        &stack.email("Karim"),
        an_hour_ago(),
        Duration::ZERO,
    );

    let garbage = [
        json!({}),
        json!({"awslogs": {"data": "not base64 at all"}}),
        json!({"awslogs": {"data": "H4sIAAAAAAAA/wMAAAAAAAAAAAA="}}),
        json!({"Records": [{"EventSource": "aws:sns"}]}),
        receipt_event::ses_event(&json!("not an SES event"), EVENTS_TOPIC),
        infra::sms_event::sns_notification("{\"eventType\": \"Bounce\"".into(), EVENTS_TOPIC),
        infra::sms_event::sns_notification(
            bounce.to_string().replace("\"Bounce\"", "\"Teleport\""),
            EVENTS_TOPIC,
        ),
        infra::sms_event::sns_notification(bounce.to_string().replace(&karim, ""), EVENTS_TOPIC),
        receipt_event::sms_logs_event(
            "sns/eu-west-3/1/DirectPublishToPhoneNumber",
            &[json!({"status": "SUCCESS"}), json!("x")],
        ),
    ];
    for event in garbage {
        let handled = stack.invoke_delivery_events(event.clone()).await;
        let handled = handled.unwrap_or_else(|e| panic!("dropped, not retried: {event}: {e}"));
        assert!(
            handled.iter().all(|h| matches!(h, delivery_events::handler::Handled::Dropped(_))),
            "{event}: {handled:?}"
        );
    }
    assert_eq!(counts(&stack, id).await, before);
    assert_eq!(stack.store().member(karim_before.id).await.unwrap().unwrap(), karim_before);
}
