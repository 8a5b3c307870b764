//! The real fan-out binary, killed with SIGKILL in the middle of an alert to a community of 300,
//! then the same stream record delivered again to a fresh process, as Lambda retries it: the
//! retry sends the rest, and sends again only what the ledger cannot know had left.
//!
//! The process sends through a proxy that holds the sends past a chosen number, so the kill
//! lands exactly there (see `vigie_tests::crash`).

use std::path::Path;
use std::time::Duration;

use vigie::domain::Member;
use vigie_tests::crash::{Crash, KillAt, kill_mid_fan_out_and_retry};
use vigie_tests::outbound::Outbound;
use vigie_tests::{Handled, Stack};

const FAN_OUT: &str = env!("CARGO_BIN_EXE_vigie-fan-out");
const NEIGHBOURS: usize = 300;

/// A community of 300 neighbours and a sender (`first_number` on), an alert texted by the
/// sender, and the crash of its fan-out where `kill` says.
async fn crash(first_number: usize, kill: KillAt) -> (Stack, Crash) {
    let mut stack = Stack::start_with(|c| {
        // As deployed, but a short lease: the retry takes over the dead process's claims soon.
        c.fanout_page_size = 100;
        c.claim_lease = Duration::from_secs(2);
    })
    .await;
    let outbound = Outbound::start().await;
    stack.seed_bulk(&vigie_tests::community_of(NEIGHBOURS + 1, first_number)).await;
    let sender = format!("+3363998{first_number:04}");
    let Handled::Alerted(alerts) = stack.text(&sender, "Cambriolage en cours au 4 rue de la Gare").await
    else {
        panic!("an alert")
    };
    let crash = kill_mid_fan_out_and_retry(&stack, &outbound, Path::new(FAN_OUT), alerts[0], kill).await;
    (stack, crash)
}

fn sender_and_neighbours(stack: &Stack) -> (&Member, Vec<&Member>) {
    let sender = stack.member("Voisin0");
    (sender, stack.members.iter().filter(|m| m.id != sender.id).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_once_its_sends_are_settled_the_retry_sends_the_rest_and_nothing_twice() {
    // At least 20 messages out (the fan-out settles 25 at a time): the kill lands on the first
    // moment everything that left is recorded as sent.
    let (stack, crash) = crash(6000, KillAt::Settled { after_at_least: 20 }).await;
    let (sender, neighbours) = sender_and_neighbours(&stack);
    assert!(crash.settled_before_kill > 0);
    assert_eq!(crash.unsettled_before_kill(), 0, "killed with every message that left settled");
    let twice = crash.check(&stack, sender, &neighbours).await;
    assert_eq!(twice, 0, "nobody reached twice: {:?}", crash.sent_twice());
    println!(
        "killed after {:?} with {} of {} messages out, all settled; retry {:?} ({:?})",
        crash.ran_for,
        crash.before_kill.len(),
        2 * NEIGHBOURS + 1,
        crash.retry_took,
        crash.relay,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_sends_and_their_settlement_the_retry_resends_only_those() {
    // 40 messages out: the fan-out had settled some of them, not all, when it died.
    let (stack, crash) = crash(6400, KillAt::AfterSends(40)).await;
    let (sender, neighbours) = sender_and_neighbours(&stack);
    let twice = crash.check(&stack, sender, &neighbours).await;
    println!(
        "killed after {:?} with {} messages out, {} settled: {twice} sent again; retry {:?}",
        crash.ran_for,
        crash.before_kill.len(),
        crash.settled_before_kill,
        crash.retry_took,
    );
}
