//! AWS delivers at least once: every SNS event and every stream batch may come again, and a
//! record that can never succeed must not hold back the ones after it.

use std::collections::BTreeMap;
use std::sync::Arc;

use infra::faults::FaultProxy;
use infra::relay::{Relay, RelayConfig};
use serde_json::Value;
use vigie_tests::{Handled, Stack, invoke_fan_out};

fn counts<'a>(to: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for to in to {
        *counts.entry(to).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn every_event_and_batch_delivered_three_times_sends_everything_once() {
    let stack = Stack::demo().await;
    let yaml = std::fs::read_to_string(infra::template::workspace_template()).unwrap();
    let deps = Arc::new(stack.fan_out());
    let invocations = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (d, n) = (Arc::clone(&deps), Arc::clone(&invocations));
    // Lambda's event source mapping, delivering each batch three times over.
    let thrice = move |event: Value| {
        let (deps, n) = (Arc::clone(&d), Arc::clone(&n));
        async move {
            let mut last = Value::Null;
            for _ in 0..3 {
                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                last = invoke_fan_out(&deps, event.clone()).await?;
            }
            Ok(last)
        }
    };
    let mut relay = Relay::new(
        aws_sdk_dynamodbstreams::Client::new(&stack.sdk),
        &aws_sdk_dynamodb::Client::new(&stack.sdk),
        &stack.config.tables.alerts,
        thrice,
        RelayConfig::from_template(&yaml, "FanOutFunction").unwrap(),
    )
    .await
    .unwrap();

    let messages = [
        ("Marie", "Portail forcé au 3 rue des Lilas"),
        ("Paul", "Feu de poubelle"),
        ("Sophie", "Contrôles routiers ce soir"),
    ];
    for (i, (name, text)) in messages.iter().enumerate() {
        let event = stack.sms_event(&stack.phone(name), text, &format!("thrice-{i}"));
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.extend(stack.invoke_inbound(event.clone()).await.unwrap());
        }
        assert!(matches!(outcomes[0], Handled::Alerted(_)));
        assert_eq!(&outcomes[1..], &[Handled::Duplicate, Handled::Duplicate]);
    }
    relay.drain().await.unwrap();
    assert!(invocations.load(std::sync::atomic::Ordering::Relaxed) >= 3);

    let outbox = stack.outbox().await;
    let sms = counts(outbox.sms.iter().map(|s| s.to.as_str()));
    let emails = counts(outbox.emails.iter().flat_map(|e| e.to.iter().map(String::as_str)));
    // Marie's alert reaches 3 numbers, Paul's 3, Sophie's (both communities) 6; each sender
    // gets a count per alert. Every (alert, member, channel) once: numbers per person below.
    assert_eq!(sms.get(stack.phone("Karim").as_str()), Some(&2), "Marie's and Sophie's alerts");
    assert_eq!(sms.get(stack.phone("Gérard").as_str()), Some(&2), "Paul's and Sophie's alerts");
    assert_eq!(sms.get(stack.phone("Sophie").as_str()), Some(&4), "two alerts to her, two counts of hers");
    assert_eq!(sms.get(stack.phone("Marie").as_str()), Some(&2), "her count, Sophie's alert");
    assert_eq!(emails.get(stack.email("Chloé").as_str()), Some(&2));
    assert_eq!(emails.get(stack.email("Paul").as_str()), Some(&1), "Sophie's alert; his own count is by SMS");
}

#[tokio::test]
async fn a_record_that_never_succeeds_goes_to_the_failure_destination_and_the_next_ones_go_out() {
    let mut stack = Stack::start().await;
    stack.seed_bulk(&vigie_tests::community_of(6, 4000)).await;
    // Every SMS of the first alert fails for now, however often it is tried.
    let proxy = FaultProxy::start_poisoned(&stack.moto.endpoint, 0.0, 1, &["POISON42"]).await.unwrap();
    stack.route_functions_through(&proxy.endpoint).await;
    let mut relay = stack.relay().await;

    let poisoned = stack.text("+33639984000", "Première alerte POISON42").await;
    let after = stack.text("+33639984001", "Deuxième alerte").await;
    assert!(matches!((&poisoned, &after), (Handled::Alerted(_), Handled::Alerted(_))));
    let report = relay.drain().await.unwrap();
    // As on AWS, the batch from the failed record on is what the on-failure destination hears of.
    assert!(report.sent_to_on_failure >= 1, "{report:?}");
    assert!(report.retries >= 5, "bounded retries first: {report:?}");

    let outbox = stack.outbox().await;
    // The first alert's emails went out once; its SMS never could. The second alert went out whole.
    let emails = counts(outbox.emails.iter().flat_map(|e| e.to.iter().map(String::as_str)));
    assert_eq!(emails.get("voisin2@example.org"), Some(&2), "both alerts, once each, despite the retries");
    let sms = counts(outbox.sms.iter().map(|s| s.to.as_str()));
    assert!(outbox.sms.iter().all(|s| !s.body.contains("POISON42")));
    assert_eq!(sms.get("+33639984005"), Some(&1), "the second alert");
    assert_eq!(sms.get("+33639984001"), Some(&1), "the count of the second alert");
    assert_eq!(sms.get("+33639984000"), Some(&1), "the second alert; no count for the first");
}
