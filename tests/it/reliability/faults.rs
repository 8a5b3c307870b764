//! Faults between the functions and AWS: a share of DynamoDB, SNS and SES calls throttled or
//! failed by a proxy. SDK retries, batch item failures and the relay's retries together must
//! still reach every member exactly once per channel.

use std::sync::atomic::Ordering;

use infra::faults::FaultProxy;
use vigie_tests::{Handled, Stack, counts_by_recipient, drain_until_quiet};

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
    let alerted = stack.invoke_inbound_until_done(event, 10).await.ok();
    assert!(matches!(alerted.as_deref(), Some([Handled::Alerted(_)] | [Handled::Duplicate])), "{alerted:?}");

    let report = drain_until_quiet(&mut relay).await;
    assert_eq!(report.sent_to_on_failure, 0, "nothing given up: {report:?}");
    let retries = report.retries;

    let (sms, emails) = counts_by_recipient(&stack.outbox().await);
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

#[tokio::test]
async fn with_a_fifth_of_dynamodb_answers_lost_an_alert_finishes_within_its_retries() {
    // Every function's DynamoDB writes are carried out, and a fifth of their answers lost on the
    // way back (500, 503 or a dropped connection): the SDK retries with the same client request
    // token (answered as the first time, as AWS does), the fan-out retries its own claims and
    // finds them its own. 120 neighbours.
    let mut stack = Stack::start_with(|c| {
        c.fanout_page_size = 10;
        c.fanout_chunk_members = 60;
    })
    .await;
    stack.seed_bulk(&vigie_tests::community_of(121, 5000)).await;
    stack.lost_answers().set_rate(0.2);
    let mut relay = stack.relay().await;

    // SNS invokes the function again when it fails (Lambda's async retries): here until it is done.
    let event = stack.sms_event("+33639985000", "Fuite de gaz signalée rue de la Gare", "lost-1");
    let alert = match stack.invoke_inbound_until_done(event, 10).await.as_deref() {
        Ok([Handled::Alerted(alerts)]) => alerts[0],
        other => panic!("the alert is recorded the first time: {other:?}"),
    };

    let report = drain_until_quiet(&mut relay).await;
    assert_eq!(report.sent_to_on_failure, 0, "the record finished within its retries: {report:?}");
    let retries = report.retries;

    let (sms, emails) = counts_by_recipient(&stack.outbox().await);
    assert_eq!(sms.len(), 121, "120 neighbours and the sender");
    assert!(sms.values().all(|n| *n == 1), "nobody texted twice, the sender told once");
    assert_eq!(emails.len(), 120);
    assert!(emails.values().all(|n| *n == 1), "nobody emailed twice");
    let report = vigie::ports::Feed::alert_report(stack.store(), alert).await.unwrap().unwrap();
    let counts = report.counts.expect("the counts are written");
    assert_eq!((counts.sms_sent, counts.email_sent, counts.recipients, counts.pending), (120, 120, 120, 0));
    assert!(report.fanout_done_at.is_some(), "the fan-out finished");
    let lost = stack.lost_answers().lost_by_operation();
    let replayed = stack.client_tokens().stats.replayed.load(Ordering::Relaxed);
    assert!(lost.values().sum::<u64>() >= 5, "answers were lost: {lost:?}");
    assert!(lost.get("TransactWriteItems").is_some_and(|n| *n > 0), "claims' answers were lost: {lost:?}");
    println!(
        "answers lost: {lost:?}, transactions answered from their client token: {replayed}, relay retries {retries}"
    );
}
