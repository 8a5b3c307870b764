//! The all clear (`app::alerts::close`), against the emulator: the author, a referent or the
//! police close an alert from its page, the author by texting `FIN`; the feed says how it ended;
//! an alert nobody closed is shown as past once its category's time is over.

use axum::http::StatusCode;
use vigie::adapters::now_ms;
use vigie::domain::{AlertId, AlertSource, AlertText, Category, Ending};
use vigie::model::{Alert, InboundMessageId};
use vigie::ports::{AlertLog, Feed};
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

async fn newest_alert(stack: &Stack) -> Alert {
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 1).await.unwrap();
    page.items[0].alert.clone()
}

#[tokio::test]
async fn a_referent_closes_an_alert_from_its_page_and_the_feed_says_how_it_ended() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres").await;
    drain_until_quiet(&mut relay).await;
    let alert = newest_alert(&stack).await.alert_id;
    let page = format!("/alerts/{alert}");

    // Lucas, a neighbour, may not close it; Marie, the referent, may.
    let mut lucas = signed_in(&stack, "Lucas").await;
    let seen = lucas.get(&page).await;
    assert!(!seen.body.contains("Clore l"), "no form for Lucas");
    let refused =
        lucas.post(&format!("{page}/close"), &[("csrf", &seen.csrf()), ("ending", "resolved")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut marie = signed_in(&stack, "Marie").await;
    let form = marie.get(&page).await;
    assert!(form.body.contains("Comment s") && form.body.contains(r#"value="false_alarm""#), "{}", form.body);
    let csrf = form.csrf();
    let nothing = marie.post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "other")]).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "other needs a note");
    let long = "x".repeat(Ending::NOTE_MAX_CHARS + 1);
    let too_long = marie
        .post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "resolved"), ("note", &long)])
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let closed = marie
        .post(
            &format!("{page}/close"),
            &[("csrf", &csrf), ("ending", "false_alarm"), ("note", "C'était le nouveau facteur")],
        )
        .await;
    assert_eq!(closed.location(), Some(format!("/alerts/{alert}?closed=1").as_str()));
    let stored = stack.store().alert(alert).await.unwrap().unwrap().closed.expect("closed");
    assert_eq!((stored.ending, stored.by), (Ending::FalseAlarm, stack.member("Marie").id));

    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Terminée : Fausse alerte — C&#39;était le nouveau facteur (Marie,"), "{feed}");
    let again = marie.post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "resolved")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "closed once");
    assert!(!marie.get(&page).await.body.contains(r#"name="ending""#), "no form once closed");
}

#[tokio::test]
async fn the_author_closes_their_alert_by_texting_fin_once() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let jeanne = stack.phone("Jeanne");
    stack.text(&jeanne, "Camionnette blanche arrêtée devant le 12").await;
    drain_until_quiet(&mut relay).await;
    let alert = newest_alert(&stack).await.alert_id;

    let event = stack.sms_event(&jeanne, "FIN c'était le livreur", "fin-jeanne-1");
    let handled = stack.invoke_inbound(event.clone()).await.unwrap();
    assert_eq!(format!("{handled:?}"), "[Closed]");
    let closure = stack.store().alert(alert).await.unwrap().unwrap().closed.expect("closed");
    assert_eq!(closure.ending, Ending::Resolved);
    assert_eq!(closure.note.as_ref().map(|n| n.as_str()), Some("c'était le livreur"));
    let replies = stack.outbox().await.sms_to(&jeanne).count();
    assert!(stack.outbox().await.sms_to(&jeanne).last().unwrap().body.contains("votre alerte est close"));
    // The same message again: closed by itself, answered once.
    assert_eq!(format!("{:?}", stack.invoke_inbound(event).await.unwrap()), "[Closed]");
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), replies);
    // A second FIN finds it closed; a FIN from Karim, who raised nothing, closes nothing and
    // raises nothing.
    assert_eq!(format!("{:?}", stack.text(&jeanne, "FIN").await), "NothingToClose");
    assert_eq!(format!("{:?}", stack.text(&stack.phone("Karim"), "Fin").await), "NothingToClose");
    drain_until_quiet(&mut relay).await;
    assert_eq!(newest_alert(&stack).await.alert_id, alert, "no alert raised");

    let mut lucas = signed_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Terminée : C&#39;est réglé — c&#39;était le livreur (Jeanne,"), "{feed}");
}

#[tokio::test]
async fn an_alert_nobody_closed_is_past_once_its_category_time_is_over() {
    let stack = Stack::demo().await;
    let karim = stack.member("Karim").clone();
    let record = |text: &str, category, hours_ago: i64| {
        let inbound = InboundMessageId::parse(&ulid::Ulid::new().to_string()).unwrap();
        Alert {
            alert_id: AlertId::new(),
            community_id: "les-tilleuls".parse().unwrap(),
            community_name: "Les Tilleuls".into(),
            sender_id: karim.id,
            sender_first_name: karim.first_name.clone(),
            source: AlertSource::Web,
            text: AlertText::parse(text).unwrap(),
            created_at: now_ms() - hours_ago * 3_600_000,
            inbound_message_id: Some(inbound),
            category: Some(category),
            sms_parts: 0,
            sms_withheld: None,
            police_called: None,
            closed: None,
        }
    };
    // A suspicious person is news for 6 hours, a lost animal for 24.
    for alert in
        [record("Rôdeur vu hier soir", Category::Suspicious, 7), record("Chat perdu", Category::Animal, 7)]
    {
        let inbound = alert.inbound_message_id.clone().unwrap();
        stack.store().record_inbound_alerts(&inbound, std::slice::from_ref(&alert), None, &[]).await.unwrap();
    }
    let mut lucas = signed_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert_eq!(feed.matches("Alerte passée").count(), 1, "{feed}");
    let rodeur = feed.find("Rôdeur vu hier soir").unwrap();
    let past = feed.find("Alerte passée").unwrap();
    let chat = feed.find("Chat perdu").unwrap();
    assert!(rodeur < past && (chat < rodeur || past < chat), "the past mark is on the prowler");
}
