//! Moderation (`app::moderation`), against the emulator: a member flags an alert once, its
//! community's referent sees the flags on their page and withdraws it with a reason; it leaves
//! the feed but for its author and the referents, its author is told, and the correction goes to
//! the alert's recipients as its all clear.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use vigie::ports::Feed;
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

#[tokio::test]
async fn a_flagged_alert_is_withdrawn_by_the_referent_its_author_told_and_a_correction_sent() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Des Roumains font du porte-à-porte rue des Lilas").await;
    drain_until_quiet(&mut relay).await;
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 1).await.unwrap();
    let alert = page.items[0].alert.alert_id;
    let texted: BTreeSet<String> = stack
        .outbox()
        .await
        .sms
        .iter()
        .filter(|s| s.body.starts_with("Karim"))
        .map(|s| s.to.clone())
        .collect();

    // Lucas flags it, once; the API says the same.
    let mut lucas = signed_in(&stack, "Lucas").await;
    let detail = lucas.get(&format!("/alerts/{alert}")).await;
    assert!(detail.body.contains("Signaler cette alerte au référent"), "{}", detail.body);
    assert!(!detail.body.contains("Retirer l&#39;alerte"), "no withdrawal for Lucas");
    let csrf = detail.csrf();
    let flagged =
        lucas.post(&format!("/alerts/{alert}/flag"), &[("csrf", &csrf), ("reason", "offensive")]).await;
    assert_eq!(flagged.location(), Some(format!("/alerts/{alert}?flagged=1").as_str()));
    let again =
        lucas.post(&format!("/alerts/{alert}/flag"), &[("csrf", &csrf), ("reason", "unfounded")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let api = lucas
        .api(
            Method::POST,
            &format!("/api/alerts/{alert}/flag"),
            Some(serde_json::json!({"reason": "unfounded"})),
        )
        .await;
    assert_eq!(api.json()["counted"], false, "{}", api.body);
    let report = stack.store().alert_report(alert).await.unwrap().unwrap();
    assert_eq!(report.flags, [0, 1, 0], "one flag, offensive");

    // Marie, the referent, sees it on her page, and withdraws it with a correction.
    let mut marie = signed_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert!(
        admin.body.contains("Alertes signalées") && admin.body.contains("Signalée 1 fois : 1 blessante"),
        "{}",
        admin.body
    );
    let detail = marie.get(&format!("/alerts/{alert}")).await;
    assert!(detail.body.contains("Retirer l&#39;alerte du fil"), "{}", detail.body);
    let csrf = detail.csrf();
    let no_reason =
        marie.post(&format!("/alerts/{alert}/withdraw"), &[("csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let correction = "Alerte retirée : décrivez ce que font les gens, pas leur origine.";
    let withdrawn = marie
        .post(
            &format!("/alerts/{alert}/withdraw"),
            &[
                ("csrf", &csrf),
                ("reason", "Elle désigne des gens par leur origine"),
                ("correction", correction),
            ],
        )
        .await;
    assert_eq!(withdrawn.location(), Some(format!("/alerts/{alert}?withdrawn=sent").as_str()));
    let twice =
        marie.post(&format!("/alerts/{alert}/withdraw"), &[("csrf", &csrf), ("reason", "encore")]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    drain_until_quiet(&mut relay).await;

    // It leaves Lucas's feed and page; Marie and Karim still see it, marked.
    let feed = lucas.get("/").await.body;
    assert!(!feed.contains("porte-à-porte"), "{feed}");
    assert_eq!(lucas.get(&format!("/alerts/{alert}")).await.status, StatusCode::NOT_FOUND);
    let feed = marie.get("/").await.body;
    assert!(feed.contains("porte-à-porte") && feed.contains("Retirée du fil par Marie"), "{feed}");
    // Karim is told why, by SMS.
    let outbox = stack.outbox().await;
    let karim = stack.phone("Karim");
    let told: Vec<_> =
        outbox.sms_to(&karim).filter(|s| s.body.contains("a retiré du fil votre alerte")).collect();
    assert_eq!(told.len(), 1, "{outbox:#?}");
    assert!(told[0].body.contains("Raison : Elle désigne des gens par leur origine"), "{}", told[0].body);
    // The correction reaches those the alert reached by SMS, once each.
    let corrected: Vec<&str> = outbox
        .sms
        .iter()
        .filter(|s| s.body.starts_with("Fin d'alerte") && s.body.contains("pas leur origine"))
        .map(|s| s.to.as_str())
        .collect();
    assert_eq!(
        corrected.iter().copied().collect::<BTreeSet<_>>(),
        texted.iter().map(String::as_str).collect()
    );
    assert_eq!(corrected.len(), texted.len());
}
