//! `make soak`: the fault, duplicate and crash scenarios of `faults.rs`, `at_least_once.rs` and
//! `crash.rs`, longer: several rounds, a larger community, more faults, with their totals
//! printed. Ignored by `make test`; `make soak` runs them with `--ignored`.
//!
//! - `VIGIE_SOAK_MEMBERS`: neighbours per community (2,000);
//! - `VIGIE_SOAK_ROUNDS`: rounds of each scenario (3), each on a fresh emulator;
//! - `VIGIE_SOAK_FAULT_RATE`: the share of DynamoDB, SNS and SES calls failed (0.2, as in the
//!   fault test, but on invocations of 1,000 members rather than 100: each makes ten times
//!   the calls that only the SDK retries, any of which fails the invocation; at 0.25 and more
//!   the event source mapping's 5 retries are sometimes not enough and a record is given up);
//! - `VIGIE_SOAK_DELIVERIES`: how many times each SNS event and each stream batch is delivered
//!   (3: twice more than once);
//! - `VIGIE_SOAK_SEED`: the proxies' dice (20261126), changed every round.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use infra::faults::FaultProxy;
use serde_json::Value;
use vigie::adapters::DynamoStore;
use vigie::domain::Member;
use vigie::ports::Feed;
use vigie_tests::crash::{KillAt, Sends, check_counts, check_reached, kill_mid_fan_out_and_retry, sends};
use vigie_tests::outbound::Outbound;
use vigie_tests::{Handled, Stack, invoke_fan_out};

const FAN_OUT: &str = env!("CARGO_BIN_EXE_vigie-fan-out");
/// The first number of the community (`+33639981000` on): room for 8,999 members.
const FIRST_NUMBER: usize = 1000;

fn setting<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not valid")),
        _ => default,
    }
}

struct Soak {
    members: usize,
    rounds: usize,
    fault_rate: f64,
    deliveries: usize,
    seed: u64,
}

impl Soak {
    fn from_env() -> Self {
        let soak = Soak {
            members: setting("VIGIE_SOAK_MEMBERS", 2000),
            rounds: setting("VIGIE_SOAK_ROUNDS", 3),
            fault_rate: setting("VIGIE_SOAK_FAULT_RATE", 0.2),
            deliveries: setting("VIGIE_SOAK_DELIVERIES", 3),
            seed: setting("VIGIE_SOAK_SEED", 20261126),
        };
        assert!(soak.members + FIRST_NUMBER < 10_000 && soak.rounds > 0 && soak.deliveries > 0);
        soak
    }
}

/// A fresh emulator (tables, sends apart) with a community of `members` neighbours and their
/// sender, pages and chunks as deployed, a short lease.
async fn community(members: usize) -> (Stack, Outbound) {
    let mut stack = Stack::start_with(|c| {
        c.fanout_page_size = 100;
        c.fanout_chunk_members = 1000;
        c.claim_lease = Duration::from_secs(3);
    })
    .await;
    stack.seed_bulk(&vigie_tests::community_of(members + 1, FIRST_NUMBER)).await;
    (stack, Outbound::start().await)
}

fn sender_and_neighbours(stack: &Stack) -> (&Member, Vec<&Member>) {
    let sender = stack.member("Voisin0");
    (sender, stack.members.iter().filter(|m| m.id != sender.id).collect())
}

fn duplicates(sent: &Sends) -> usize {
    sent.values().filter(|n| **n > 1).count()
}

#[derive(Debug, Default)]
struct FaultTotals {
    dynamodb_faults: u64,
    sns_faults: u64,
    ses_faults: u64,
    forwarded: u64,
    sns_deliveries: usize,
    duplicate_sns_deliveries: usize,
    fan_out_invocations: usize,
    duplicate_batch_deliveries: usize,
    relay_retries: usize,
    sends: usize,
    duplicates_found: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: make soak"]
async fn soak_faults_and_duplicate_deliveries() {
    let soak = Soak::from_env();
    let started = Instant::now();
    let mut totals = FaultTotals::default();
    for round in 0..soak.rounds {
        let round_started = Instant::now();
        let (mut stack, outbound) = community(soak.members).await;
        // What the test reads goes to the emulators directly; the functions' calls go through
        // the faulting proxies.
        let direct = DynamoStore::from_sdk(&stack.sdk, stack.config.tables.clone());
        let seed = soak.seed.wrapping_add(round as u64 * 7919);
        let tables = FaultProxy::start(&stack.moto.endpoint, soak.fault_rate, seed).await.unwrap();
        let outward =
            FaultProxy::start(&outbound.moto.endpoint, soak.fault_rate, seed ^ 0x5eed).await.unwrap();
        stack.route_functions_through(&tables.endpoint).await;
        let retries = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(20));
        let sends_sdk =
            infra::stack::aws_config(&outward.endpoint).await.to_builder().retry_config(retries).build();
        stack.send_through(&sends_sdk);

        // Every stream batch delivered `deliveries` times (the event source mapping at least once).
        let deps = Arc::new(stack.fan_out());
        let invocations = Arc::new(AtomicUsize::new(0));
        let (d, n, times) = (Arc::clone(&deps), Arc::clone(&invocations), soak.deliveries);
        let repeated = move |event: Value| {
            let (deps, n) = (Arc::clone(&d), Arc::clone(&n));
            async move {
                let mut last = Value::Null;
                for _ in 0..times {
                    n.fetch_add(1, Ordering::Relaxed);
                    last = invoke_fan_out(&deps, event.clone()).await?;
                }
                Ok(last)
            }
        };
        let mut relay = stack.relay_with(repeated).await;

        // The SNS event of the alert, delivered until it is handled (Lambda's async retries),
        // then `deliveries - 1` times more: one alert.
        let (sender, neighbours) = sender_and_neighbours(&stack);
        let sender_number = sender.phone.as_ref().unwrap().to_string();
        let event = stack.sms_event(&sender_number, "Incendie de broussailles derrière la gare", "soak-1");
        let mut handled = Vec::new();
        while handled.len() < soak.deliveries {
            totals.sns_deliveries += 1;
            if let Ok(outcome) = stack.invoke_inbound(event.clone()).await {
                handled.extend(outcome);
            }
            assert!(totals.sns_deliveries < 100 * (round + 1), "the SNS event is never handled");
        }
        totals.duplicate_sns_deliveries += soak.deliveries - 1;
        // (A delivery that failed after recording the alert makes the first handled one a
        // duplicate.)
        assert!(matches!(handled[0], Handled::Alerted(_) | Handled::Duplicate), "{handled:?}");
        assert!(handled[1..].iter().all(|h| *h == Handled::Duplicate), "{handled:?}");
        let feed = direct.community_alerts(&sender.communities[0], None, 10).await.unwrap();
        assert_eq!(feed.items.len(), 1, "one alert whatever the deliveries");
        let alert = feed.items[0].alert.alert_id;

        let mut relay_invocations = 0;
        for _ in 0..100 {
            let report = relay.drain().await.unwrap();
            assert_eq!(report.sent_to_on_failure, 0, "nothing given up: {report:?}");
            totals.relay_retries += report.retries;
            relay_invocations += report.invocations;
            if report.records_seen == 0 {
                break;
            }
        }
        let fan_out_invocations = invocations.load(Ordering::Relaxed);
        totals.fan_out_invocations += fan_out_invocations;
        totals.duplicate_batch_deliveries += fan_out_invocations - relay_invocations;

        let outbox = outbound.outbox().await;
        let sent = sends(&outbox);
        check_reached(&sent, &outbox, sender, &neighbours);
        let found = duplicates(&sent);
        assert_eq!(found, 0, "sent twice: {:?}", sent.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
        check_counts(&direct, alert, neighbours.len()).await;

        totals.sends += sent.values().sum::<usize>();
        totals.duplicates_found += found;
        for proxy in [&tables, &outward] {
            totals.dynamodb_faults += proxy.stats.dynamodb_faults.load(Ordering::Relaxed);
            totals.sns_faults += proxy.stats.sns_faults.load(Ordering::Relaxed);
            totals.ses_faults += proxy.stats.ses_faults.load(Ordering::Relaxed);
            totals.forwarded += proxy.stats.forwarded.load(Ordering::Relaxed);
        }
        println!(
            "soak faults round {}/{}: {} neighbours, seed {seed}, {:.0} s; totals so far {totals:?}",
            round + 1,
            soak.rounds,
            neighbours.len(),
            round_started.elapsed().as_secs_f64(),
        );
    }
    let injected = totals.dynamodb_faults + totals.sns_faults + totals.ses_faults;
    println!(
        "SOAK faults and duplicates: {} rounds × {} neighbours, fault rate {}, each event and batch \
         delivered {} times, {:.0} s\n  faults injected: {injected} (DynamoDB {}, SNS {}, SES {}), \
         calls forwarded {}\n  duplicates delivered: {} SNS events, {} stream batches; relay retries {}; \
         fan-out invocations {}\n  sends: {}\n  duplicates found: {}",
        soak.rounds,
        soak.members,
        soak.fault_rate,
        soak.deliveries,
        started.elapsed().as_secs_f64(),
        totals.dynamodb_faults,
        totals.sns_faults,
        totals.ses_faults,
        totals.forwarded,
        totals.duplicate_sns_deliveries,
        totals.duplicate_batch_deliveries,
        totals.relay_retries,
        totals.fan_out_invocations,
        totals.sends,
        totals.duplicates_found,
    );
    assert!(injected > 0, "faults were injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: make soak"]
async fn soak_fan_out_killed_mid_way() {
    let soak = Soak::from_env();
    let started = Instant::now();
    let (mut sends_total, mut duplicates_found, mut deliveries) = (0, 0, 0);
    let mut kills = Vec::new();
    // Kill points spread over the first chunk (an invocation handles at most 1,000 members).
    let first_chunk = 2 * soak.members.min(1000) as u64;
    for round in 0..soak.rounds {
        let round_started = Instant::now();
        let (stack, outbound) = community(soak.members).await;
        let (sender, neighbours) = sender_and_neighbours(&stack);
        let sender_number = sender.phone.as_ref().unwrap().to_string();
        let Handled::Alerted(alerts) =
            stack.text(&sender_number, "Cambriolage en cours rue de la Gare").await
        else {
            panic!("an alert")
        };
        let at_least = 20 + (round as u64 * 797 + soak.seed) % (first_chunk - 100);
        let crash = kill_mid_fan_out_and_retry(
            &stack,
            &outbound,
            Path::new(FAN_OUT),
            alerts[0],
            KillAt::Settled { after_at_least: at_least },
        )
        .await;
        let twice = crash.check(&stack, sender, &neighbours).await;
        assert_eq!(twice, 0, "sent twice after the crash: {:?}", crash.sent_twice());
        sends_total += crash.after_retry.values().sum::<usize>();
        duplicates_found += duplicates(&crash.after_retry);
        deliveries += 1 + crash.relay.delivered;
        kills.push(crash.before_kill.len());
        println!(
            "soak crash round {}/{}: killed after {:?} with {} messages out (all settled), retry {:?} \
             ({} invocations), {:.0} s",
            round + 1,
            soak.rounds,
            crash.ran_for,
            crash.before_kill.len(),
            crash.retry_took,
            crash.relay.invocations,
            round_started.elapsed().as_secs_f64(),
        );
    }
    println!(
        "SOAK crashes: {} rounds × {} neighbours, {:.0} s\n  killed (SIGKILL) after {kills:?} messages \
         out\n  stream records delivered: {deliveries} (the killed invocation, then the relay's to a fresh \
         process)\n  sends: {sends_total}\n  duplicates found: {duplicates_found}",
        soak.rounds,
        soak.members,
        started.elapsed().as_secs_f64(),
    );
}
