//! Faults between the functions and AWS: a share of DynamoDB, SNS and SES calls throttled or
//! failed by a proxy. SDK retries, batch item failures and the relay's retries together must
//! still reach every member exactly once per channel.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use infra::faults::FaultProxy;
use vigie_tests::{Handled, Stack};

#[tokio::test]
async fn with_a_fifth_of_calls_failing_an_alert_reaches_200_members_exactly_once() {
    let mut stack = Stack::start_with(|c| {
        c.fanout_page_size = 50;
        c.fanout_chunk_members = 100;
    })
    .await;
    stack.seed_bulk(&vigie_tests::community_of(201, 3000)).await;
    let proxy = FaultProxy::start(&stack.moto.endpoint, 0.2, 20261126).await.unwrap();
    stack.route_functions_through(&proxy.endpoint).await;
    let mut relay = stack.relay().await;

    // SNS invokes the function again when it fails (Lambda's async retries): here until it is done.
    let event = stack.sms_event("+33639983000", "Incendie de broussailles derrière la gare", "faults-1");
    let mut alerted = None;
    for _ in 0..10 {
        if let Ok(handled) = stack.invoke_inbound(event.clone()).await {
            alerted = Some(handled);
            break;
        }
    }
    assert!(matches!(alerted.as_deref(), Some([Handled::Alerted(_)] | [Handled::Duplicate])), "{alerted:?}");

    let mut retries = 0;
    for _ in 0..30 {
        let report = relay.drain().await.unwrap();
        assert_eq!(report.sent_to_on_failure, 0, "nothing given up: {report:?}");
        retries += report.retries;
        if report.records_seen == 0 {
            break;
        }
    }

    let outbox = stack.outbox().await;
    let mut sms: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &outbox.sms {
        *sms.entry(s.to.as_str()).or_default() += 1;
    }
    let mut emails: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &outbox.emails {
        for to in &e.to {
            *emails.entry(to.as_str()).or_default() += 1;
        }
    }
    assert_eq!(sms.len(), 201, "200 neighbours and the sender");
    assert!(sms.values().all(|n| *n == 1), "nobody texted twice");
    assert_eq!(emails.len(), 200);
    assert!(emails.values().all(|n| *n == 1), "nobody emailed twice");
    let injected = proxy.stats.injected();
    assert!(injected > 100, "faults were injected: {injected}");
    println!(
        "faults injected: {injected} (DynamoDB {}, SNS {}, SES {}), forwarded {}, relay retries {retries}",
        proxy.stats.dynamodb_faults.load(Ordering::Relaxed),
        proxy.stats.sns_faults.load(Ordering::Relaxed),
        proxy.stats.ses_faults.load(Ordering::Relaxed),
        proxy.stats.forwarded.load(Ordering::Relaxed),
    );
}
