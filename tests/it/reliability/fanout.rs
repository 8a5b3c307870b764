//! The fan-out at scale: chunks handed over from invocation to invocation, and sending paced to
//! the account's quotas: one rate shared by every invocation and function (the gateway throttles
//! above it, as AWS does), police alerts and STOP replies first, chunks that end before their
//! invocation's deadline.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vigie::pace::Rates;
use vigie::ports::Ledger;
use vigie_tests::{Handled, Stack, counts_by_recipient, drain_until_quiet};

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
    let counts = stack.store().tally(alerts[0], vigie::model::Wave::Alert).await.unwrap();
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

#[tokio::test]
async fn the_rate_timeline_gives_each_block_to_one_process_under_contention() {
    use vigie::pace::{Priority, RateState, SlotAnswer, SlotRequest};
    use vigie::ports::RateLedger;
    let stack = Stack::start().await;
    // Eight "processes" (the fan-out's and inbound-sms's roles, through the IAM check) reserve
    // ten blocks each at the same time on one timeline, each using its block (5 ms) before
    // asking for the next, as a pacer does.
    let now_us = vigie::pace::Clock::System.now_us();
    let mut tasks = Vec::new();
    for p in 0..8 {
        let store = stack.adapters_of(if p % 2 == 0 { "fan-out" } else { "inbound-sms" }).store;
        tasks.push(tokio::spawn(async move {
            let mut known: Option<RateState> = None;
            let mut blocks = Vec::new();
            for _ in 0..10 {
                let request = SlotRequest {
                    units: 5,
                    per_unit_us: 1_000,
                    now_us,
                    priority: Priority::Ordinary,
                    hold_us: 0,
                    known,
                };
                match store.reserve_slots("sms#test", request).await.unwrap() {
                    SlotAnswer::Granted { start_us, state } => {
                        blocks.push((start_us, state.next_us));
                        known = Some(state);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    later => panic!("400 ms of blocks are within the horizon: {later:?}"),
                }
            }
            blocks
        }));
    }
    let mut blocks = Vec::new();
    for task in tasks {
        blocks.extend(task.await.unwrap());
    }
    blocks.sort();
    // 80 blocks of 5 ms from now: one after the other, none shared, none lost.
    assert_eq!(blocks.len(), 80);
    for (i, (start, end)) in blocks.iter().enumerate() {
        assert_eq!(*start, now_us + 5_000 * i as i64, "{blocks:?}");
        assert_eq!(*end, start + 5_000);
    }
}

#[tokio::test]
async fn two_fan_outs_at_once_share_one_quota_and_nothing_is_throttled() {
    // A police alert to two communities of 30: two invocations at once (ParallelizationFactor),
    // 60 SMS and 60 emails at 20 a second each: about 3 s, the gateway throttling above that.
    let mut stack = Stack::start_with(|c| {
        c.sms_parts_per_second = 20;
        c.emails_per_second = 20;
        c.fanout_page_size = 10;
    })
    .await;
    stack.seed(&vigie_tests::town_of(&[30, 30], 4000, true)).await;
    let environments = stack.fan_out_environments();
    let mut relay = stack.relay_with(vigie_tests::fan_out_invoker(&environments)).await;
    let police = stack.phone("Police");
    let started = Instant::now();
    let Handled::Alerted(alerts) =
        stack.text(&police, "Accident sur la départementale, évitez le secteur").await
    else {
        panic!()
    };
    assert_eq!(alerts.len(), 2);
    let report = drain_until_quiet(&mut relay).await;
    let elapsed = started.elapsed();
    assert_eq!(report.sent_to_on_failure, 0);
    assert!(
        environments.most_in_flight() >= 2,
        "both communities at once: {}",
        environments.most_in_flight()
    );
    let quota = stack.send_quota();
    assert_eq!(quota.stats.throttled(), 0, "sent within the quota");
    // The slots keep to 20 a second; what reaches the gateway in one second of the clock may be
    // a few more when some calls of the second before were slow (a loaded machine): the bucket
    // takes up to a second of that, and nothing above it was sent (twice the quota was, before).
    let busiest = quota.stats.busiest_sms_second();
    assert!(busiest <= 30, "one quota for both: {busiest} SMS in one second");
    // 62 SMS (60 and the officer's count of each alert) at 20 a second: no faster than the
    // quota allows.
    assert!(elapsed >= Duration::from_millis(3_000), "{elapsed:?}");
    let outbox = stack.outbox().await;
    let mut sms = counts_by_recipient(&outbox).0;
    assert_eq!(sms.remove(police.as_str()), Some(2), "one count per alert");
    assert_eq!(sms.len(), 60);
    assert!(sms.values().all(|n| *n == 1), "{sms:?}");
    assert_eq!(outbox.emails.len(), 60);
}

#[tokio::test]
async fn each_invocation_pacing_itself_alone_is_throttled() {
    // The same, with the per-process pacing of before: each invocation keeps to the whole quota
    // by itself, the two together send twice it, and the account's quota refuses the excess.
    let mut stack = Stack::start_with(|c| {
        c.sms_parts_per_second = 20;
        c.emails_per_second = 0;
        c.fanout_page_size = 10;
    })
    .await;
    stack.seed(&vigie_tests::town_of(&[30, 30], 4100, false)).await;
    let environments = stack.fan_out_environments_with(|_, config| Rates::per_process(config));
    let mut relay = stack.relay_with(vigie_tests::fan_out_invoker(&environments)).await;
    let police = stack.phone("Police");
    let Handled::Alerted(_) = stack.text(&police, "Accident sur la départementale").await else { panic!() };
    let drained = drain_until_quiet(&mut relay).await;
    assert!(environments.most_in_flight() >= 2);
    let throttled = stack.send_quota().stats.sms_throttled.load(std::sync::atomic::Ordering::Relaxed);
    assert!(throttled > 0, "twice the quota is throttled");
    // Nobody was texted twice for it (throttled sends are released and sent again later).
    let outbox = stack.outbox().await;
    let mut sms = counts_by_recipient(&outbox).0;
    let counts = sms.remove(police.as_str()).unwrap_or(0);
    let twice: Vec<_> = sms.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "texted more than once: {twice:?} ({drained:?})");
    // Nobody is left out silently either. On a loaded machine the throttling can outlast the
    // record's retries (MaximumRetryAttempts: 5, backoff 0.1 s to 1.6 s): the relay then gives
    // the record up to the on-failure queue, as Lambda would, and its alarm fires. That is the
    // very reason the pacing is shared now; with it (above) every record goes through.
    let given_up = drained.sent_to_on_failure > 0;
    assert!(sms.len() == 60 || given_up, "{} of 60 texted, no record given up: {drained:?}", sms.len());
    assert!(counts == 2 || (given_up && counts < 2), "{counts} counts for the 2 alerts: {drained:?}");
}

#[tokio::test]
async fn a_police_alert_and_a_stop_reply_go_before_the_ordinary_texts_still_waiting() {
    // An ordinary alert to 50 neighbours at 10 SMS a second (5 s); 0.3 s in, a resident of the
    // other community texts STOP; 0.6 s in, the police alerts the town (54 or 55 texts).
    let mut stack = Stack::start_with(|c| {
        c.sms_parts_per_second = 10;
        c.emails_per_second = 0;
        c.fanout_page_size = 20;
    })
    .await;
    stack.seed(&vigie_tests::town_of(&[50, 5], 4200, false)).await;
    let environments = stack.fan_out_environments();
    let mut relay = stack.relay_with(vigie_tests::fan_out_invoker(&environments)).await;
    let resident = |k: usize| format!("+3363998{:04}", 4200 + k);
    let Handled::Alerted(_) = stack.text(&resident(0), "Vol au marche ce matin").await else { panic!() };
    let (police, stopper) = (stack.phone("Police"), resident(54));
    let sent = || stack.send_quota().stats.sms_parts_sent.load(std::sync::atomic::Ordering::SeqCst) as usize;
    let (_, stop_at, ()) = tokio::join!(
        drain_until_quiet(&mut relay),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let sent_before = sent();
            assert_eq!(stack.text(&stopper, "STOP").await, Handled::SmsOff);
            sent_before
        },
        async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let alert = stack.text(&police, "Personne armee signalee, restez chez vous").await;
            assert!(matches!(alert, Handled::Alerted(_)), "{alert:?}");
        },
    );
    let outbox = stack.outbox().await;
    let indices = |text: &str| -> Vec<usize> {
        outbox.sms.iter().enumerate().filter(|(_, s)| s.body.contains(text)).map(|(i, _)| i).collect()
    };
    let (ordinary, urgent) = (indices("Vol au marche"), indices("Personne armee"));
    // Everyone once: the 49 other residents and the officer; the police's 50 + 4, and the one
    // who said STOP if the police alert read the roster first.
    assert_eq!(ordinary.len(), 50);
    assert!(urgent.len() == 54 || urgent.len() == 55, "{}", urgent.len());
    let (first_urgent, last_urgent) = (urgent[0], urgent[urgent.len() - 1]);
    // While the police alert goes out, the ordinary one waits (a block of it at most slips in,
    // reserved before the first police text asked)...
    let ordinary_between = ordinary.iter().filter(|i| **i > first_urgent && **i < last_urgent).count();
    assert!(ordinary_between <= 5, "{ordinary_between} ordinary texts among the police ones");
    // ...and much of it is still to go when the police alert is done.
    let ordinary_after = ordinary.iter().filter(|i| **i > last_urgent).count();
    assert!(ordinary_after >= 15, "only {ordinary_after} ordinary texts left after the police alert");
    // The STOP is answered ahead of the ordinary texts waiting: at most what was reserved when it
    // asked (the ordinary horizon and a block: 1.5 s of quota) went out in between.
    let reply =
        outbox.sms.iter().position(|s| s.to == stopper && !s.body.contains("Personne armee")).unwrap();
    let ordinary_before_reply = ordinary.iter().filter(|i| **i >= stop_at && **i < reply).count();
    assert!(ordinary_before_reply <= 17, "{ordinary_before_reply} ordinary texts before the STOP reply");
    assert!(ordinary.iter().any(|i| *i > reply), "the ordinary alert was still going");
    assert_eq!(stack.send_quota().stats.throttled(), 0);
}

#[tokio::test]
async fn a_low_quota_and_a_short_deadline_hand_over_early_and_reach_everyone_once() {
    // 12 members (11 neighbours and the sender) at 3 SMS and 3 emails a second (4 s in all),
    // invocations of 4 s (with the margin they keep, 3 s of sending): one invocation cannot send
    // them all; chunks hand over before their deadline.
    let mut stack = Stack::start_with(|c| {
        c.sms_parts_per_second = 3;
        c.emails_per_second = 3;
    })
    .await;
    stack.fanout_timeout = Duration::from_secs(4);
    stack.seed(&vigie_tests::community_of(12, 4300)).await;
    let environments = stack.fan_out_environments();
    let mut relay = stack.relay_with(vigie_tests::fan_out_invoker(&environments)).await;
    let Handled::Alerted(alerts) = stack.text("+33639984300", "Coupure d'eau rue du Stade").await else {
        panic!()
    };
    let report = drain_until_quiet(&mut relay).await;
    assert_eq!(report.sent_to_on_failure, 0);
    assert!(report.invocations >= 2, "several chunks: {report:?}");
    assert!(environments.longest() < stack.fanout_timeout, "an invocation ran {:?}", environments.longest());
    let outbox = stack.outbox().await;
    let sms = counts_by_recipient(&outbox).0;
    assert_eq!(sms.len(), 12, "the 11 neighbours and the sender's count");
    assert!(sms.values().all(|n| *n == 1), "{sms:?}");
    assert_eq!(outbox.emails.len(), 11);
    let counts = stack.store().tally(alerts[0], vigie::model::Wave::Alert).await.unwrap();
    assert_eq!((counts.sms_sent, counts.email_sent, counts.pending), (11, 11, 0));
}
