//! The fan-out at scale: chunks handed over from invocation to invocation, and sending paced to
//! the account's quotas.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vigie::ports::Ledger;
use vigie_tests::{Handled, Stack};

#[tokio::test]
async fn a_large_community_is_reached_in_chunks_once_each() {
    // Two members per invocation, one per page: 12 members take 6 invocations.
    let mut stack = Stack::start_with(|c| {
        c.fanout_chunk_members = 2;
        c.fanout_page_size = 1;
    })
    .await;
    stack.seed(&vigie_tests::community_of(12, 2000)).await;
    let mut relay = stack.relay().await;
    let Handled::Alerted(alerts) = stack.text("+33639982000", "Coupure de courant rue de la Gare").await
    else {
        panic!()
    };
    let mut invocations = 0;
    for _ in 0..20 {
        let report = relay.drain().await.unwrap();
        assert_eq!(report.sent_to_on_failure, 0);
        invocations += report.invocations;
        if report.records_seen == 0 {
            break;
        }
    }
    assert!(invocations >= 6, "one invocation per chunk: {invocations}");

    let outbox = stack.outbox().await;
    let mut sms: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &outbox.sms {
        *sms.entry(s.to.as_str()).or_default() += 1;
    }
    assert_eq!(sms.len(), 12, "every neighbour and the sender: {sms:?}");
    assert!(sms.values().all(|n| *n == 1), "nobody twice: {sms:?}");
    assert_eq!(outbox.emails.len(), 11);
    let confirmation = &outbox.sms_to("+33639982000").next().unwrap().body;
    assert!(confirmation.contains("11"), "{confirmation}");
    let counts = stack.store().tally(alerts[0]).await.unwrap();
    assert_eq!((counts.sms_sent, counts.email_sent, counts.recipients), (11, 11, 11));
}

#[tokio::test]
async fn sms_are_paced_to_the_configured_rate() {
    let mut stack = Stack::start_with(|c| c.sms_parts_per_second = 5).await;
    stack.seed(&vigie_tests::community_of(9, 2000)).await;
    let Handled::Alerted(alerts) = stack.text("+33639982000", "Chien perdu, berger allemand").await else {
        panic!()
    };
    let alert = vigie::ports::AlertLog::alert(stack.store(), alerts[0]).await.unwrap().unwrap();
    let started = Instant::now();
    fan_out::handler::fan_out(&stack.fan_out(), &alert, None).await.unwrap();
    let elapsed = started.elapsed();
    // 8 neighbours and the sender's confirmation, one part each, 5 a second: the ninth waits
    // for the slot at 1.6 s.
    assert!(elapsed >= Duration::from_millis(1600), "sent faster than the quota: {elapsed:?}");
    assert_eq!(stack.outbox().await.sms.len(), 9);
}
