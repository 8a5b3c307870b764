//! The SMS path end to end: a member texts the shared number, the community hears it.
//! Handlers are called with the events AWS sends; the fan-out is fed by the emulator's own
//! stream through the relay; assertions are on what the emulator recorded as sent.

use std::collections::BTreeMap;

use vigie::model::Task;
use vigie::ports::{AlertLog, Ledger};
use vigie_tests::{Handled, SHARED_NUMBER, Stack};

/// How many SMS each number received.
fn sms_counts(outbox: &infra::outbox::Outbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for sms in &outbox.sms {
        *counts.entry(sms.to.clone()).or_insert(0) += 1;
    }
    counts
}

fn email_counts(outbox: &infra::outbox::Outbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for email in &outbox.emails {
        for to in &email.to {
            *counts.entry(to.clone()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn a_texted_alert_reaches_the_whole_community_once_and_nobody_else() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let marie = stack.phone("Marie");

    let Handled::Alerted(alerts) =
        stack.text(&marie, "Homme suspect qui regarde dans les voitures, rue des Lilas").await
    else {
        panic!("a member's message is an alert")
    };
    assert_eq!(alerts.len(), 1);
    let report = relay.drain().await.expect("stream read");
    assert_eq!(report.sent_to_on_failure, 0);

    let outbox = stack.outbox().await;
    let sms = sms_counts(&outbox);
    // Les Tilleuls with a number and SMS on: Karim, Jeanne, and Sophie (police of both).
    for name in ["Karim", "Jeanne", "Sophie"] {
        assert_eq!(sms.get(&stack.phone(name)), Some(&1), "{name} gets exactly one SMS");
        let phone = stack.phone(name);
        let text = &outbox.sms_to(&phone).next().unwrap().body;
        assert!(text.starts_with("Marie"), "the SMS starts with the sender's first name: {text}");
        assert!(text.contains("rue des Lilas"));
    }
    // Lucas unticked SMS alerts; the other community hears nothing.
    for name in ["Lucas", "Paul", "Inès", "Gérard"] {
        assert_eq!(sms.get(&stack.phone(name)), None, "{name} gets no SMS");
    }
    // The sender gets one SMS: how many neighbours were reached (Karim, Jeanne, Lucas, Chloé, Sophie).
    assert_eq!(sms.get(&marie), Some(&1));
    let confirmation = &outbox.sms_to(&marie).next().unwrap().body;
    assert!(confirmation.contains('5'), "the sender learns the count: {confirmation}");
    assert_eq!(sms.len(), 4, "nobody else is texted: {sms:?}");

    let emails = email_counts(&outbox);
    for name in ["Karim", "Lucas", "Chloé", "Sophie"] {
        assert_eq!(emails.get(&stack.email(name)), Some(&1), "{name} gets exactly one email");
        let address = stack.email(name);
        let email = outbox.emails_to(&address).next().unwrap();
        let unsubscribe = email.list_unsubscribe.as_deref().expect("List-Unsubscribe header");
        let member = stack.member(name);
        assert!(unsubscribe.contains(&member.id.to_string()), "{unsubscribe}");
        assert!(unsubscribe.contains(member.unsubscribe_token.as_str()));
        assert_eq!(email.list_unsubscribe_post.as_deref(), Some("List-Unsubscribe=One-Click"));
        assert!(email.subject.contains("Marie"), "{}", email.subject);
    }
    assert_eq!(emails.len(), 4, "no email to the sender or the other community: {emails:?}");

    // The alert keeps its delivery report.
    let counts = stack.store().tally(alerts[0], vigie::model::Wave::Alert).await.unwrap();
    assert_eq!((counts.sms_sent, counts.email_sent, counts.recipients, counts.pending), (3, 4, 5, 0));
    assert!(stack.store().alert(alerts[0]).await.unwrap().is_some());
}

#[tokio::test]
async fn replaying_the_sns_event_and_the_stream_batch_changes_nothing() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let event = stack.sms_event(&stack.phone("Paul"), "Fumée noire derrière le moulin", "inbound-replay-1");

    let first = stack.invoke_inbound(event.clone()).await.unwrap();
    assert!(matches!(first[0], Handled::Alerted(_)));
    relay.drain().await.unwrap();
    let before = stack.outbox().await;

    // SNS delivers the same message again: no second alert.
    let again = stack.invoke_inbound(event).await.unwrap();
    assert_eq!(again, vec![Handled::Duplicate]);
    // (moto streams the put of a cancelled transaction too; the fan-out finds no such alert.)
    relay.drain().await.unwrap();
    assert_eq!(sms_counts(&stack.outbox().await), sms_counts(&before), "nothing sent again");

    // Lambda delivers the same stream batch again: nobody is texted or emailed twice.
    let records = read_whole_stream(&stack).await;
    assert!(!records.is_empty());
    let batch =
        infra::relay::records_event(&records, "arn:aws:dynamodb:eu-west-3:123456789012:table/x/stream/y");
    let response = vigie_tests::invoke_fan_out(&stack.fan_out(), batch.clone()).await.unwrap();
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    vigie_tests::invoke_fan_out(&stack.fan_out(), batch).await.unwrap();

    let after = stack.outbox().await;
    assert_eq!(sms_counts(&after), sms_counts(&before));
    assert_eq!(email_counts(&after), email_counts(&before));
    // Inès (SMS on, email off) and Gérard got one SMS each; Sophie one SMS and one email.
    assert_eq!(sms_counts(&after).get(&stack.phone("Inès")), Some(&1));
    assert_eq!(email_counts(&after).get(&stack.email("Inès")), None);
}

async fn read_whole_stream(stack: &Stack) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&stack.sdk);
    let table = dynamodb.describe_table().table_name(&stack.config.tables.alerts).send().await.unwrap();
    let arn = table.table().unwrap().latest_stream_arn().unwrap().to_owned();
    let stream = streams.describe_stream().stream_arn(&arn).send().await.unwrap();
    let mut records = Vec::new();
    for shard in stream.stream_description().unwrap().shards() {
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let out =
            streams.get_records().shard_iterator(iterator.shard_iterator().unwrap()).send().await.unwrap();
        records.extend(
            out.records().iter().filter(|r| r.event_name().map(|e| e.as_str()) == Some("INSERT")).cloned(),
        );
    }
    records
}

#[tokio::test]
async fn stop_turns_sms_alerts_off_and_start_turns_them_back_on() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let karim = stack.phone("Karim");
    let marie = stack.phone("Marie");

    assert_eq!(stack.text(&karim, "  Stop ").await, Handled::SmsOff);
    assert_eq!(stack.outbox().await.sms_to(&karim).count(), 1, "STOP is confirmed by SMS");
    assert!(matches!(stack.text(&marie, "Cambriolage au 12 rue des Lilas").await, Handled::Alerted(_)));
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(&karim).count(), 1, "no alert SMS after STOP");
    assert_eq!(outbox.emails_to(&stack.email("Karim")).count(), 1, "email alerts are untouched");

    assert_eq!(stack.text(&karim, "START").await, Handled::SmsOn);
    assert!(matches!(stack.text(&marie, "Le cambrioleur est parti vers la gare").await, Handled::Alerted(_)));
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    let texts: Vec<&str> = outbox.sms_to(&karim).map(|s| s.body.as_str()).collect();
    assert_eq!(texts.len(), 3, "STOP reply, START reply, then the alert: {texts:?}");
    assert!(texts[2].starts_with("Marie") && texts[2].contains("gare"));
    // Keywords never became alerts: two alerts, from Marie.
    assert_eq!(outbox.sms_to(&marie).count(), 2, "one confirmation per alert");
}

#[tokio::test]
async fn keywords_are_recognised_whatever_the_case_accents_and_spacing() {
    let stack = Stack::demo().await;
    let jeanne = stack.phone("Jeanne");
    assert_eq!(stack.text(&jeanne, "Arrêt").await, Handled::SmsOff);
    assert_eq!(stack.text(&jeanne, "stop  sms").await, Handled::SmsOff);
    assert_eq!(stack.text(&jeanne, "unstop").await, Handled::SmsOn);
    assert_eq!(stack.text(&jeanne, "AIDE").await, Handled::Help);
    assert_eq!(stack.text(&jeanne, "help").await, Handled::Help);
    assert_eq!(stack.text(&jeanne, "   ").await, Handled::Empty);
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), 6, "each keyword gets its reply");
}

#[tokio::test]
async fn an_unknown_number_gets_one_polite_reply_and_raises_nothing() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let stranger = "+33639981234";
    assert_eq!(
        stack.text(stranger, "Bonjour, un chien perdu rue Haute").await,
        Handled::Unknown { answered: true }
    );
    assert_eq!(stack.text(stranger, "Vous m'entendez ?").await, Handled::Unknown { answered: false });
    let outbox = stack.outbox().await;
    let replies: Vec<_> = outbox.sms_to(stranger).collect();
    assert_eq!(replies.len(), 1, "one reply per 24 hours");
    assert!(replies[0].body.contains("vigie.example.org"), "says where to sign up: {}", replies[0].body);
    assert_eq!(relay.drain().await.unwrap().delivered, 0, "no alert");
    assert_eq!(outbox.sms.len(), 1);
    assert!(outbox.emails.is_empty());
}

#[tokio::test]
async fn a_police_officer_alerts_every_community_of_the_town() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let Handled::Alerted(alerts) =
        stack.text(&stack.phone("Sophie"), "Démarchage frauduleux signalé ce matin").await
    else {
        panic!("police message is an alert")
    };
    assert_eq!(alerts.len(), 2, "one alert per community");
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    for name in ["Marie", "Karim", "Jeanne", "Paul", "Inès", "Gérard"] {
        let phone = stack.phone(name);
        let texts: Vec<_> = outbox.sms_to(&phone).collect();
        assert_eq!(texts.len(), 1, "{name}");
        assert!(texts[0].body.starts_with("Sophie (police municipale)"), "{}", texts[0].body);
    }
    assert_eq!(outbox.sms_to(&stack.phone("Sophie")).count(), 2, "one count per community");
}

#[tokio::test]
async fn a_short_reply_to_an_alert_is_an_acknowledgement_not_a_new_alert() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let Handled::Alerted(alerts) = stack.text(&stack.phone("Marie"), "Voiture suspecte devant l'école").await
    else {
        panic!()
    };
    relay.drain().await.unwrap();
    let sent_before = stack.outbox().await.sms.len();

    assert_eq!(stack.text(&stack.phone("Karim"), "Merci !").await, Handled::Acknowledged(alerts[0]));
    assert_eq!(stack.text(&stack.phone("Karim"), "👍").await, Handled::Acknowledged(alerts[0]));
    assert_eq!(stack.text(&stack.phone("Jeanne"), "ok").await, Handled::Acknowledged(alerts[0]));
    assert_eq!(relay.drain().await.unwrap().delivered, 0, "no new alert");
    assert_eq!(stack.outbox().await.sms.len(), sent_before, "a merci texts nobody");

    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let item = dynamodb
        .get_item()
        .table_name(&stack.config.tables.alerts)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ALERT#{}", alerts[0])))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ALERT".into()))
        .send()
        .await
        .unwrap();
    let acks = item.item().unwrap().get("acks").unwrap().as_n().unwrap().clone();
    assert_eq!(acks, "2", "one acknowledgement per member");

    // Marie thanks us for the confirmation of her own alert: nobody is texted, nothing counted.
    assert_eq!(stack.text(&stack.phone("Marie"), "Merci").await, Handled::ReplyToOwnAlert(alerts[0]));
    assert_eq!(relay.drain().await.unwrap().delivered, 0);
    assert_eq!(stack.outbox().await.sms.len(), sent_before);

    // Lucas gets alerts by email only: his "merci" is not an acknowledgement of an SMS.
    assert!(matches!(stack.text(&stack.phone("Lucas"), "merci").await, Handled::Alerted(_)));
}

#[tokio::test]
async fn empty_and_malformed_messages_raise_nothing() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let marie = stack.phone("Marie");
    assert_eq!(stack.text(&marie, "").await, Handled::Empty);
    assert_eq!(stack.outbox().await.sms_to(&marie).count(), 1, "usage reply");

    let mut event = stack.sms_event(&marie, "x", "malformed-1");
    event["Records"][0]["Sns"]["Message"] = serde_json::Value::String("not json {".into());
    assert_eq!(stack.invoke_inbound(event).await.unwrap(), vec![Handled::Dropped("malformed message")]);

    let event = stack.sms_event("not a number", "Alerte", "malformed-2");
    assert_eq!(
        stack.invoke_inbound(event).await.unwrap(),
        vec![Handled::Dropped("invalid origination number")]
    );

    let too_long = "Alerte ".repeat(200);
    assert_eq!(stack.text(&marie, &too_long).await, Handled::TooLong);
    assert_eq!(relay.drain().await.unwrap().delivered, 0);
    assert_eq!(stack.outbox().await.sms.len(), 2, "usage and too-long replies only");
}

#[tokio::test]
async fn a_delivery_held_by_a_crashed_invocation_is_taken_over_once_its_lease_expires() {
    let lease = std::time::Duration::from_millis(800);
    let mut stack = Stack::start_with(|c| c.claim_lease = lease).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let karim = stack.phone("Karim");
    let Handled::Alerted(alerts) = stack.text(&stack.phone("Marie"), "Colis volés devant les portes").await
    else {
        panic!()
    };
    let alert = stack.store().alert(alerts[0]).await.unwrap().unwrap();
    // An invocation claimed Karim's SMS, then died before sending it.
    let held = Task::Delivery {
        alert: alert.alert_id,
        member: stack.member("Karim").id,
        channel: vigie::model::Channel::Sms,
    };
    stack.store().claim(&[held], lease, &vigie::model::ClaimHolder::new()).await.unwrap();

    // The retry sends the rest at once, waits for the dead invocation's lease, then takes over.
    let started = std::time::Instant::now();
    let done = fan_out::handler::fan_out(&stack.fan_out(), &alert, None).await.expect("the retry completes");
    assert!(started.elapsed() >= lease, "waited for the lease");
    let fan_out::handler::Progress::Done(counts) = done else { panic!("one chunk") };
    assert_eq!(counts.pending, 0);
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(&karim).count(), 1, "resumed, once");
    assert_eq!(sms_counts(&outbox).values().max(), Some(&1), "nobody twice: {:?}", sms_counts(&outbox));
    assert_eq!(outbox.sms_to(&stack.phone("Marie")).count(), 1, "one count, after everyone");
    let _ = SHARED_NUMBER;
}

#[tokio::test]
async fn a_claim_is_its_holders_own_again_at_once_and_anothers_after_its_lease() {
    // An invocation whose claim's answer was lost claims again: its own claims are acquired at
    // once (no send has happened: the sends come after the claim's answer); another invocation
    // finds them busy until the lease runs out, and a settled one done.
    use vigie::model::{Channel, Claim, ClaimHolder, Outcome};
    let stack = Stack::demo().await;
    let alert = vigie::domain::AlertId::new();
    let task = |name: &str| Task::Delivery { alert, member: stack.member(name).id, channel: Channel::Sms };
    let (karim, jeanne) = (task("Karim"), task("Jeanne"));
    let lease = std::time::Duration::from_millis(600);
    let (first, other) = (ClaimHolder::new(), ClaimHolder::new());
    let store = stack.adapters_of("fan-out").store;
    let tasks = [karim.clone(), jeanne.clone()];
    assert_eq!(store.claim(&tasks, lease, &first).await.unwrap(), [Claim::Acquired, Claim::Acquired]);
    assert_eq!(store.claim(&tasks, lease, &first).await.unwrap(), [Claim::Acquired, Claim::Acquired]);
    assert_eq!(store.claim(&tasks, lease, &other).await.unwrap(), [Claim::Busy, Claim::Busy]);
    store.settle(&[(karim, Outcome::Sent { message_id: "m".into() })]).await.unwrap();
    tokio::time::sleep(lease + std::time::Duration::from_millis(100)).await;
    assert_eq!(store.claim(&tasks, lease, &other).await.unwrap(), [Claim::Done, Claim::Acquired]);
    assert_eq!(store.claim(&tasks, lease, &first).await.unwrap(), [Claim::Done, Claim::Busy]);
}

#[tokio::test]
async fn alerts_after_a_replayed_message_still_go_out() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let event = stack.sms_event(&stack.phone("Marie"), "Première alerte", "replay-then-more");
    stack.invoke_inbound(event.clone()).await.unwrap();
    relay.drain().await.unwrap();
    assert_eq!(stack.invoke_inbound(event).await.unwrap(), vec![Handled::Duplicate]);
    relay.drain().await.unwrap();
    assert!(matches!(stack.text(&stack.phone("Marie"), "Deuxième alerte").await, Handled::Alerted(_)));
    relay.drain().await.unwrap();
    let karim = stack.phone("Karim");
    let outbox = stack.outbox().await;
    let texts: Vec<&str> = outbox.sms_to(&karim).map(|s| s.body.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("Deuxième"));
}

#[tokio::test]
async fn a_replayed_message_costs_nothing_of_the_hourly_budget() {
    let mut stack = Stack::start_with(|c| c.alerts_per_hour = 2).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let marie = stack.phone("Marie");
    let event = stack.sms_event(&marie, "Voiture suspecte rue des Lilas", "budget-replay-1");
    assert!(matches!(stack.invoke_inbound(event.clone()).await.unwrap()[..], [Handled::Alerted(_)]));
    // SNS delivers it again, twice (at least once): duplicates, which count for nothing.
    for _ in 0..2 {
        assert_eq!(stack.invoke_inbound(event.clone()).await.unwrap(), vec![Handled::Duplicate]);
    }
    assert!(matches!(stack.text(&marie, "Elle repart vers la gare").await, Handled::Alerted(_)));
    assert_eq!(stack.text(&marie, "Et une troisième").await, Handled::RateLimited, "2 an hour");
}

#[tokio::test]
async fn a_failed_write_costs_nothing_of_the_hourly_budget() {
    let mut stack = Stack::start_with(|c| c.alerts_per_hour = 2).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let marie = stack.phone("Marie");
    // The function's alert write fails (here: it names an alerts table its role does not cover,
    // which AWS refuses with AccessDenied), after the sender and their community were read: the
    // invocation fails, for Lambda to retry.
    let mut broken = stack.inbound();
    let mut config = stack.config.clone();
    config.tables.alerts = "vigie-NoSuchTable".into();
    broken.store = stack.adapters_with(vigie_tests::INBOUND_SMS, &config).store;
    let events: Vec<_> = (0..2)
        .map(|i| {
            stack.sms_event(&marie, &format!("Cambriolage en cours, maison {i}"), &format!("budget-fail-{i}"))
        })
        .collect();
    for event in &events {
        let event = serde_json::from_value(event.clone()).unwrap();
        let failed = inbound_sms::handler::handle(
            &broken,
            lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
        .await;
        assert!(failed.is_err(), "the failed write fails the invocation: {failed:?}");
    }
    let refused = stack.iam().take_denials();
    assert!(!refused.is_empty());
    for denial in refused {
        assert_eq!(
            (denial.function.as_str(), denial.action.as_str(), denial.resource.as_str()),
            (
                "inbound-sms",
                "dynamodb:PutItem",
                "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-NoSuchTable"
            ),
            "{denial}"
        );
    }
    // Lambda's retries now succeed: the failed attempts spent nothing.
    for event in events {
        assert!(matches!(stack.invoke_inbound(event).await.unwrap()[..], [Handled::Alerted(_)]));
    }
    assert_eq!(stack.text(&marie, "Et une troisième").await, Handled::RateLimited, "2 an hour");
}
