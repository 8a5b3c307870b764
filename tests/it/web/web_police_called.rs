//! "Has someone called 17?" (`app::alerts::police_called`, `app::feed::unreported`), against the
//! emulator: the page asks it, a texted alert's confirmation asks for a reply `17`, the feed says
//! it, and the police of the town see the alerts nobody said they reported.

use vigie::domain::PoliceCalled;
use vigie::ports::{AlertLog, Feed};
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

use super::web_alerts::{alert_id_of, send};

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

/// The confirmation step of an alert of `category` and `text`, with `police` answered (or not).
async fn confirm_with(
    web: &mut WebClient,
    text: &str,
    police: Option<&str>,
) -> vigie_tests::web_client::Reply {
    let form = web.get("/alerts/new").await;
    let csrf = form.csrf();
    let mut fields = vec![("csrf", csrf.as_str()), ("category", "suspicious"), ("text", text)];
    if let Some(police) = police {
        fields.push(("police", police));
    }
    web.post("/alerts/confirm", &fields).await
}

#[tokio::test]
async fn the_page_asks_whether_17_was_called_and_the_police_see_who_did_not() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut marie = signed_in(&stack, "Marie").await;
    let form = marie.get("/alerts/new").await.body;
    assert!(
        form.contains("La police (17) a-t-elle été prévenue ?") && form.contains(r#"value="not_needed""#)
    );

    let confirmation = confirm_with(&mut marie, "Rôdeur derrière l'école", Some("no")).await;
    assert!(confirmation.body.contains("Police pas encore prévenue"), "{}", confirmation.body);
    let not_called = alert_id_of(&send(&mut marie, &confirmation).await);
    let confirmation = confirm_with(&mut marie, "Voiture fracturée rue Haute", Some("yes")).await;
    let called = alert_id_of(&send(&mut marie, &confirmation).await);
    let confirmation = confirm_with(&mut marie, "Volets forcés au 3 rue Basse", None).await;
    let unsaid = alert_id_of(&send(&mut marie, &confirmation).await);
    for (id, said) in
        [(not_called, Some(PoliceCalled::No)), (called, Some(PoliceCalled::Yes)), (unsaid, None)]
    {
        assert_eq!(stack.store().alert(id).await.unwrap().unwrap().police_called, said);
    }
    drain_until_quiet(&mut relay).await;

    // The feed says it; Marie's SMS confirmations ask for 17 unless she said she called.
    let feed = marie.get("/").await.body;
    assert!(feed.contains("Police prévenue (17)") && feed.contains("Police pas encore prévenue"));
    let confirmations: Vec<String> =
        stack.outbox().await.sms_to(&stack.phone("Marie")).map(|s| s.body.clone()).collect();
    assert_eq!(confirmations.len(), 3, "{confirmations:?}");
    assert_eq!(confirmations.iter().filter(|c| c.contains("Répondez 17")).count(), 2, "{confirmations:?}");

    // The town's police see the two nobody said they reported; the others do not have the page.
    let mut sophie = signed_in(&stack, "Sophie").await;
    assert!(
        !sophie.get("/alerts/new").await.body.contains("La police (17) a-t-elle"),
        "not asked of the police"
    );
    let police = sophie.get("/police").await;
    assert!(
        police.body.contains("Rôdeur derrière") && police.body.contains("Volets forcés"),
        "{}",
        police.body
    );
    assert!(!police.body.contains("Voiture fracturée"));
    assert_eq!(marie.get("/police").await.status, axum::http::StatusCode::FORBIDDEN);

    // The API says it, and takes it.
    let json = marie.get(&format!("/api/alerts/{called}")).await.json();
    assert_eq!(json["police_called"], "yes");
}

#[tokio::test]
async fn a_texted_alert_is_marked_by_a_reply_17_and_17_alone_raises_nothing() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let jeanne = stack.phone("Jeanne");
    stack.text(&jeanne, "Portail du square ouvert, un homme rôde").await;
    drain_until_quiet(&mut relay).await;
    let asked = stack.outbox().await.sms_to(&jeanne).last().map(|s| s.body.clone()).unwrap();
    assert!(asked.contains("Répondez 17 si vous avez prévenu la police."), "{asked}");
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 5).await.unwrap();
    let alert = page.items[0].alert.alert_id;
    assert_eq!(page.items[0].alert.police_called, None);

    let event = stack.sms_event(&jeanne, "17", "dix-sept-1");
    let handled = stack.invoke_inbound(event.clone()).await.unwrap();
    assert_eq!(format!("{handled:?}"), format!("[PoliceCalled({alert:?})]"));
    assert_eq!(stack.store().alert(alert).await.unwrap().unwrap().police_called, Some(PoliceCalled::Yes));
    let before = stack.outbox().await.sms_to(&jeanne).count();
    assert!(
        stack.outbox().await.sms_to(&jeanne).last().unwrap().body.contains("la police (17) a été prévenue")
    );
    // The same message again: answered once.
    stack.invoke_inbound(event).await.unwrap();
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), before);

    // 17 from Karim, who raised nothing: told so, and no alert "17" reaches anyone.
    let karim = stack.phone("Karim");
    let handled = stack.text(&karim, "17").await;
    assert_eq!(format!("{handled:?}"), "NoAlertToMark");
    drain_until_quiet(&mut relay).await;
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 5).await.unwrap();
    assert_eq!(page.items.len(), 1, "nothing raised");
    assert!(stack.outbox().await.sms_to(&karim).last().unwrap().body.contains("aucune alerte de votre part"));
}
