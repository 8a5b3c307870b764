//! One budget of alerts per member and per hour (`ALERTS_PER_HOUR`), by SMS and on the page
//! together, refused with a clear message on both.

use axum::http::{Method, StatusCode};
use serde_json::json;
use vigie::ports::Feed;
use vigie_tests::web_client::{Reply, WebClient};
use vigie_tests::{Handled, Stack};

/// The demo with `per_hour` alerts an hour, and `name` signed in on the page.
async fn signed_in(per_hour: u32, name: &str) -> (Stack, WebClient) {
    let mut stack = Stack::start_with(|c| c.alerts_per_hour = per_hour).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, name).await;
    (stack, web)
}

async fn post(web: &mut WebClient, path: &str, fields: &[(&str, String)]) -> Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
    web.post(path, &pairs).await
}

/// Fills in the alert form and confirms it: the fields `POST /alerts` takes, submission id included.
async fn confirmed(web: &mut WebClient, text: &str) -> Vec<(&'static str, String)> {
    let csrf = web.get("/alerts/new").await.csrf();
    let mut fields = vec![("csrf", csrf), ("category", "other".to_owned()), ("text", text.to_owned())];
    let confirmation = post(web, "/alerts/confirm", &fields).await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    fields.push(("submission", confirmation.field("submission").unwrap()));
    fields
}

async fn raise_on_the_page(web: &mut WebClient, text: &str) -> Reply {
    let fields = confirmed(web, text).await;
    post(web, "/alerts", &fields).await
}

#[tokio::test]
async fn alerts_from_the_page_are_limited_per_member_and_hour() {
    let (stack, mut web) = signed_in(2, "Lucas").await;
    for i in 0..2 {
        let reply = raise_on_the_page(&mut web, &format!("Alerte {i}")).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    }
    let refused = raise_on_the_page(&mut web, "Une de trop").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.body.contains("Vous avez déjà lancé 2 alertes au cours de la dernière heure"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("appelez le 17"));
    let community = stack.member("Lucas").communities[0].clone();
    assert_eq!(stack.store().community_alerts(&community, None, 20).await.unwrap().items.len(), 2);

    // Someone else still may.
    let mut chloe = WebClient::new(&stack);
    chloe.sign_in(&stack, "Chloé").await;
    assert_eq!(raise_on_the_page(&mut chloe, "Pas moi").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn texted_alerts_share_the_budget_and_get_a_short_reply() {
    let (stack, mut web) = signed_in(3, "Karim").await;
    let mut relay = stack.relay().await;
    let karim = stack.phone("Karim");

    // Two on the page, one by SMS: the budget is spent.
    for text in ["Voiture suspecte", "Elle repasse"] {
        assert_eq!(raise_on_the_page(&mut web, text).await.status, StatusCode::SEE_OTHER);
    }
    assert!(matches!(stack.text(&karim, "Elle est garée au 4").await, Handled::Alerted(_)));
    assert_eq!(stack.text(&karim, "Ils sortent de la voiture").await, Handled::RateLimited);
    assert_eq!(raise_on_the_page(&mut web, "Encore").await.status, StatusCode::TOO_MANY_REQUESTS);

    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    let replies: Vec<&str> = outbox.sms_to(&karim).map(|s| s.body.as_str()).collect();
    let refusal = replies.iter().find(|r| r.contains("trop d'alertes")).expect("the sender is told");
    assert_eq!(vigie::domain::count_segments(refusal).segments, 1, "{refusal}");
    assert!(refusal.contains("17"));
    // Nobody heard the refused alert.
    assert!(!outbox.sms.iter().any(|s| s.body.contains("Ils sortent")));
    let community = stack.member("Karim").communities[0].clone();
    assert_eq!(stack.store().community_alerts(&community, None, 20).await.unwrap().items.len(), 3);
    // Other keywords still work.
    assert_eq!(stack.text(&karim, "STOP").await, Handled::SmsOff);
}

#[tokio::test]
async fn a_submission_sent_again_costs_nothing_of_the_budget() {
    let (stack, mut web) = signed_in(2, "Lucas").await;
    // The page's submission, sent again (a double click, the back button): recorded once, and
    // counted once.
    let fields = confirmed(&mut web, "Voiture suspecte").await;
    let first = post(&mut web, "/alerts", &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    for _ in 0..2 {
        let again = post(&mut web, "/alerts", &fields).await;
        assert_eq!(again.location(), Some("/?notice=duplicate"), "{}", again.body);
    }

    // The API's, likewise.
    let body =
        json!({"category": "other", "text": "Elle repasse", "submission_id": ulid::Ulid::new().to_string()});
    let created = web.api(Method::POST, "/api/alerts", Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let again = web.api(Method::POST, "/api/alerts", Some(body)).await;
    assert_eq!(
        (again.status, again.json()["duplicate"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        again.body
    );

    // Two alerts recorded: the budget is spent, not before.
    let body = json!({"category": "other", "text": "Encore", "submission_id": ulid::Ulid::new().to_string()});
    let refused = web.api(Method::POST, "/api/alerts", Some(body)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    let community = stack.member("Lucas").communities[0].clone();
    assert_eq!(stack.store().community_alerts(&community, None, 20).await.unwrap().items.len(), 2);
}
