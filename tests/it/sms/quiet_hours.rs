//! Quiet hours (`domain::quiet`), against the emulator at a fixed clock: a member who asked gets
//! no SMS between 22:00 and 07:00 in the community's time zone, except for a fire or danger alert
//! and the police's; what is held back goes by email at once and, if the alert is still open at
//! 07:00, by SMS then, once; the report counts it.

use std::sync::Arc;

use fan_out::handler::{Invocation, Progress, Work, fan_out, run, wake_up};
use vigie::adapters::now_ms;
use vigie::domain::{AlertSource, Category, Ending, Role};
use vigie::model::{Alert, Closure, Cursor, Wave};
use vigie::ports::{AlertLog, Feed, Membership};
use vigie_tests::Stack;

/// 2026-12-04 at 00:00 UTC (01:00 in Paris, winter: UTC+1).
const DEC_4: i64 = 1_796_342_400_000;
const HOUR: i64 = 3_600_000;
/// 23:30 in Paris on the 4th.
const NIGHT: i64 = DEC_4 + 22 * HOUR + HOUR / 2;
/// 06:55 and 07:05 in Paris on the 5th.
const BEFORE_SEVEN: i64 = DEC_4 + 29 * HOUR + 55 * 60_000;
const AFTER_SEVEN: i64 = DEC_4 + 30 * HOUR + 5 * 60_000;

fn at(
    stack: &Stack,
    now: i64,
) -> fan_out::handler::FanOut<
    vigie::adapters::dynamo::DynamoStore,
    vigie::adapters::sns::SnsTexter,
    vigie::adapters::ses::SesMailer,
> {
    stack.fan_out().with_clock(Arc::new(move || now))
}

/// Marie (SMS and email) and Jeanne (SMS only) turn quiet hours on.
async fn quiet_neighbours(stack: &Stack) {
    for name in ["Marie", "Jeanne"] {
        let before = stack.member(name).clone();
        let after = vigie::domain::Member { quiet_hours: true, ..before.clone() };
        stack.store().update_member(&before, &after).await.unwrap();
    }
}

/// An alert by Karim in Les Tilleuls, recorded as the page records it.
async fn record(stack: &Stack, text: &str, category: Option<Category>) -> Alert {
    stack.record_alert("Karim", text, (AlertSource::Web, category), now_ms()).await
}

async fn texts_of(stack: &Stack, name: &str, needle: &str) -> usize {
    let phone = stack.phone(name);
    stack.outbox().await.sms_to(&phone).filter(|s| s.body.contains(needle)).count()
}

#[tokio::test]
async fn a_night_alert_goes_by_email_at_once_and_by_sms_at_seven_if_still_open() {
    let stack = Stack::demo().await;
    quiet_neighbours(&stack).await;
    let alert = record(&stack, "Un homme rôde près des garages", Some(Category::Suspicious)).await;

    let Progress::Done(counts) = fan_out(&at(&stack, NIGHT), &alert, None).await.unwrap() else {
        panic!("one chunk")
    };
    assert_eq!(counts.sms_held, 2, "{counts:?}");
    assert_eq!(texts_of(&stack, "Marie", "garages").await, 0, "Marie sleeps");
    assert_eq!(texts_of(&stack, "Jeanne", "garages").await, 0, "Jeanne sleeps");
    assert_eq!(texts_of(&stack, "Sophie", "garages").await, 1, "who did not ask is texted");
    let marie = stack.email("Marie");
    assert_eq!(stack.outbox().await.emails_to(&marie).count(), 1, "Marie has it by email at once");
    let report = stack.store().alert_report(alert.alert_id).await.unwrap().unwrap();
    assert_eq!(report.counts.map(|c| c.sms_held), Some(2), "the report counts what waits");

    // A replay in the night holds them again; the morning job does nothing before 07:00.
    fan_out(&at(&stack, NIGHT), &alert, None).await.unwrap();
    assert_eq!(wake_up(&at(&stack, BEFORE_SEVEN)).await.unwrap(), 0);
    assert_eq!(texts_of(&stack, "Marie", "garages").await, 0);

    // At 07:05 the morning pass starts, once however often the job runs, and texts them.
    assert_eq!(wake_up(&at(&stack, AFTER_SEVEN)).await.unwrap(), 1);
    assert_eq!(wake_up(&at(&stack, AFTER_SEVEN)).await.unwrap(), 0, "once");
    let morning = Work { alert: alert.alert_id, wave: Wave::Morning, after: None };
    let deps = at(&stack, AFTER_SEVEN);
    let Some(Progress::Done(after)) = run(&deps, &morning, &Invocation::unbounded()).await.unwrap() else {
        panic!("the morning pass ends")
    };
    assert_eq!(after.sms_held, 0, "{after:?}");
    assert_eq!(after.sms_sent, counts.sms_sent + 2);
    for name in ["Marie", "Jeanne"] {
        assert_eq!(texts_of(&stack, name, "garages").await, 1, "{name} has it at seven");
    }
    // A replay of the morning sends nothing twice; Sophie had hers already.
    run(&deps, &morning, &Invocation::unbounded()).await.unwrap();
    for name in ["Marie", "Jeanne", "Sophie"] {
        assert_eq!(texts_of(&stack, name, "garages").await, 1, "{name}: once");
    }
    // A replay of the alert's own record by day finds nothing held: no new wake-up.
    fan_out(&at(&stack, AFTER_SEVEN), &alert, None).await.unwrap();
    assert_eq!(wake_up(&at(&stack, AFTER_SEVEN + 60_000)).await.unwrap(), 0);
}

#[tokio::test]
async fn sms_held_in_a_night_that_ended_while_the_alert_went_out_are_woken_at_once() {
    // One member a chunk: the first five of Les Tilleuls' six go out in the night, the rest by
    // day (at least two of Marie, Jeanne and Sophie are among those five).
    let mut stack = Stack::start_with(|c| {
        c.fanout_page_size = 1;
        c.fanout_chunk_members = 1;
    })
    .await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    for name in ["Marie", "Jeanne", "Sophie", "Lucas", "Chloé"] {
        let before = stack.member(name).clone();
        let after = vigie::domain::Member { quiet_hours: true, ..before.clone() };
        stack.store().update_member(&before, &after).await.unwrap();
    }
    let alert =
        record(&stack, "Portail du stade ouvert, des jeunes sur le toit", Some(Category::Other)).await;
    let mut done = None;
    for chunk in 0..10 {
        let after =
            if chunk == 0 { None } else { next_cursor(&stack, alert.alert_id, "CURSOR#").await.map(Cursor) };
        let deps = at(&stack, if chunk < 5 { BEFORE_SEVEN } else { AFTER_SEVEN });
        let work = Work { alert: alert.alert_id, wave: Wave::Alert, after };
        if let Some(Progress::Done(counts)) = run(&deps, &work, &Invocation::unbounded()).await.unwrap() {
            assert!(chunk >= 5, "six members, one a chunk");
            done = Some(counts);
            break;
        }
    }
    let counts = done.expect("the last chunk ends by day");
    // What the night's chunks held is woken at once, not left for the next night.
    assert!(counts.sms_held >= 2, "{counts:?}");
    assert_eq!(wake_up(&at(&stack, AFTER_SEVEN)).await.unwrap(), 1, "{counts:?}");
    // The morning pass goes one delivery a chunk too, handing over as the alert's.
    let day = at(&stack, AFTER_SEVEN);
    for chunk in 0..20 {
        let after =
            if chunk == 0 { None } else { next_cursor(&stack, alert.alert_id, "MCURSOR#").await.map(Cursor) };
        let morning = Work { alert: alert.alert_id, wave: Wave::Morning, after };
        if let Some(Progress::Done(_)) = run(&day, &morning, &Invocation::unbounded()).await.unwrap() {
            break;
        }
    }
    for name in ["Marie", "Jeanne", "Sophie"] {
        assert_eq!(texts_of(&stack, name, "toit").await, 1, "{name} is texted once, by day");
    }
}

/// The `after` of the newest hand-over of `alert` (its `prefix` items of the alerts table:
/// `CURSOR#` for the alert's chunks, `MCURSOR#` for the morning pass's).
async fn next_cursor(stack: &Stack, alert: vigie::domain::AlertId, prefix: &str) -> Option<String> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let out = dynamodb
        .query()
        .table_name(&stack.config.tables.alerts)
        .key_condition_expression("pk = :pk AND begins_with(sk, :c)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ALERT#{alert}")),
        )
        .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S(prefix.into()))
        .send()
        .await
        .unwrap();
    let mut afters: Vec<String> =
        out.items().iter().filter_map(|i| i.get("after").and_then(|v| v.as_s().ok()).cloned()).collect();
    afters.sort();
    afters.pop()
}

#[tokio::test]
async fn a_fire_or_the_police_wakes_everyone_and_an_alert_closed_by_morning_is_not_texted() {
    let stack = Stack::demo().await;
    quiet_neighbours(&stack).await;
    let fire = record(&stack, "Feu de broussailles derrière l'école", Some(Category::Danger)).await;
    fan_out(&at(&stack, NIGHT), &fire, None).await.unwrap();
    assert_eq!(texts_of(&stack, "Marie", "broussailles").await, 1, "a fire wakes Marie");
    assert_eq!(texts_of(&stack, "Jeanne", "broussailles").await, 1);

    let cat = record(&stack, "Chat tigré perdu rue des Lilas", Some(Category::Animal)).await;
    fan_out(&at(&stack, NIGHT), &cat, None).await.unwrap();
    assert_eq!(texts_of(&stack, "Jeanne", "tigré").await, 0, "a lost cat waits");
    // Found before morning: closed, its held SMS never go.
    let closure = Closure {
        ending: Ending::Resolved,
        note: None,
        by: stack.member("Karim").id,
        by_first_name: stack.member("Karim").first_name.clone(),
        by_role: Role::Resident,
        at: now_ms(),
        via: None,
    };
    assert!(stack.store().close_alert(cat.alert_id, &closure).await.unwrap());
    assert_eq!(wake_up(&at(&stack, AFTER_SEVEN)).await.unwrap(), 0, "nothing to wake for");
    let morning = Work { alert: cat.alert_id, wave: Wave::Morning, after: None };
    assert!(run(&at(&stack, AFTER_SEVEN), &morning, &Invocation::unbounded()).await.unwrap().is_none());
    assert_eq!(texts_of(&stack, "Jeanne", "tigré").await, 0);
    assert_eq!(texts_of(&stack, "Marie", "tigré").await, 0);
}
