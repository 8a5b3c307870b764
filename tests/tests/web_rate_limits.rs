//! One budget of alerts per member and per hour (`ALERTS_PER_HOUR`), by SMS and on the page
//! together, refused with a clear message on both.

use axum::http::StatusCode;
use vigie::ports::Feed;
use vigie_tests::web_client::WebClient;
use vigie_tests::{Handled, Stack};

async fn raise_on_the_page(web: &mut WebClient, text: &str) -> vigie_tests::web_client::Reply {
    let form = web.get("/alerts/new").await;
    let csrf = form.csrf();
    let confirmation =
        web.post("/alerts/confirm", &[("csrf", &csrf), ("category", "other"), ("text", text)]).await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    let submission = confirmation.field("submission").unwrap();
    web.post(
        "/alerts",
        &[("csrf", &csrf), ("submission", &submission), ("category", "other"), ("text", text)],
    )
    .await
}

#[tokio::test]
async fn alerts_from_the_page_are_limited_per_member_and_hour() {
    let stack = Stack::start_with(|c| c.alerts_per_hour = 2).await;
    let mut stack = stack;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Lucas").await;

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
    let stack = Stack::start_with(|c| c.alerts_per_hour = 3).await;
    let mut stack = stack;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let karim = stack.phone("Karim");

    // Two on the page, one by SMS: the budget is spent.
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Karim").await;
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
