//! My settings and the one-click unsubscribe link, against the emulator; changes are checked
//! in the store and in what the next alert sends.

use axum::http::{Method, StatusCode};
use vigie::ports::MemberLookup;
use vigie_tests::web_client::WebClient;
use vigie_tests::{Handled, Stack};

/// The settings form as it stands, with some fields changed.
fn fields_of(
    page: &vigie_tests::web_client::Reply,
    changes: &[(&str, Option<&str>)],
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("csrf".to_owned(), page.csrf()),
        ("first_name".to_owned(), page.field("first_name").unwrap()),
        ("phone".to_owned(), page.field("phone").unwrap()),
    ];
    for name in ["hide_phone", "sms_alerts", "email_alerts"] {
        if page.body.contains(&format!(r#"name="{name}" value="on" checked"#)) {
            fields.push((name.to_owned(), "on".to_owned()));
        }
    }
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        if let Some(value) = value {
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    fields
}

async fn post_settings(web: &mut WebClient, fields: &[(String, String)]) -> vigie_tests::web_client::Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    web.post("/settings", &pairs).await
}

#[tokio::test]
async fn a_french_number_is_stored_in_e164_and_a_taken_one_is_refused() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Chloé").await;
    let chloe = stack.member("Chloé").id;

    let page = web.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.field("first_name").as_deref(), Some("Chloé"));
    assert_eq!(page.field("phone").as_deref(), Some(""), "Chloé has no number yet");
    assert!(page.body.contains(&stack.email("Chloé")));

    let saved = post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 78"))])).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/settings?saved=1"));
    let member = stack.store().member(chloe).await.unwrap().unwrap();
    assert_eq!(member.phone.as_ref().map(|p| p.as_str()), Some("+33612345678"));
    let shown = web.get("/settings?saved=1").await;
    assert!(shown.body.contains("Vos réglages sont enregistrés."));
    assert_eq!(shown.field("phone").as_deref(), Some("06 12 34 56 78"));
    // The new number is hers: texting from it raises an alert as Chloé.
    assert!(matches!(stack.text("+33612345678", "Colis volé devant le 3").await, Handled::Alerted(_)));

    // Karim's number: refused, with a clear message, the form as typed.
    let page = web.get("/settings").await;
    let taken = post_settings(
        &mut web,
        &fields_of(&page, &[("phone", Some("06.39.98.00.02")), ("first_name", Some("Chloé G."))]),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.body.contains("Ce numéro est déjà celui d&#39;un autre membre")
            || taken.body.contains("Ce numéro est déjà celui d'un autre membre"),
        "{}",
        taken.body
    );
    assert_eq!(taken.field("phone").as_deref(), Some("06.39.98.00.02"));
    assert_eq!(taken.field("first_name").as_deref(), Some("Chloé G."));
    let member = stack.store().member(chloe).await.unwrap().unwrap();
    assert_eq!(member.phone.as_ref().map(|p| p.as_str()), Some("+33612345678"), "nothing changed");
    assert_eq!(member.first_name.as_str(), "Chloé");

    // A malformed number or name.
    let bad = post_settings(&mut web, &fields_of(&page, &[("phone", Some("12345"))])).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("Ce numéro n&#39;est pas valide")
            || bad.body.contains("Ce numéro n'est pas valide")
    );
    let bad = post_settings(&mut web, &fields_of(&page, &[("first_name", Some("  "))])).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Removing the number is allowed: she has an email address.
    let cleared = post_settings(&mut web, &fields_of(&page, &[("phone", Some(""))])).await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    assert!(stack.store().member(chloe).await.unwrap().unwrap().phone.is_none());
    assert!(
        stack.store().member_by_phone(&"+33612345678".parse().unwrap()).await.unwrap().is_none(),
        "released"
    );
}

#[tokio::test]
async fn hiding_the_number_and_unticking_sms_alerts_are_saved_and_obeyed() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let marie = stack.member("Marie").id;

    let page = web.get("/settings").await;
    assert!(!page.body.contains(r#"name="hide_phone" value="on" checked"#));
    let saved = post_settings(
        &mut web,
        &fields_of(
            &page,
            &[("hide_phone", Some("on")), ("sms_alerts", None), ("first_name", Some("Marie-Anne"))],
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let member = stack.store().member(marie).await.unwrap().unwrap();
    assert!(member.hide_phone);
    assert!(!member.sms_alerts);
    assert!(member.email_alerts);
    assert_eq!(member.first_name.as_str(), "Marie-Anne");
    let page = web.get("/settings").await;
    assert!(page.body.contains(r#"name="hide_phone" value="on" checked"#));
    assert!(!page.body.contains(r#"name="sms_alerts" value="on" checked"#));
    assert!(page.body.contains(r#"name="email_alerts" value="on" checked"#));
    assert!(page.body.contains("<strong>Marie-Anne</strong>"), "the header follows");

    // The next alert texts everyone but her, and still emails her.
    assert!(matches!(
        stack.text(&stack.phone("Karim"), "Camion suspect rue Haute").await,
        Handled::Alerted(_)
    ));
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(&stack.phone("Marie")).count(), 0, "SMS alerts off");
    assert_eq!(outbox.sms_to(&stack.phone("Jeanne")).count(), 1);
    assert_eq!(outbox.emails_to(&stack.email("Marie")).filter(|m| m.subject.contains("Karim")).count(), 1);

    // Her texts still raise alerts, under her new first name.
    assert!(matches!(
        stack.text(&stack.phone("Marie"), "Merci de fermer le portail du parc").await,
        Handled::Alerted(_)
    ));
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    assert!(outbox.sms_to(&stack.phone("Karim")).any(|s| s.body.starts_with("Marie-Anne : Merci de fermer")));
}

#[tokio::test]
async fn the_one_click_unsubscribe_turns_email_alerts_off() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let karim = stack.member("Karim");
    let path = format!("/unsubscribe/{}/{}", karim.id, karim.unsubscribe_token.as_str());
    let mut mail_client = WebClient::new(&stack);

    // GET only shows a page with the button; nothing changes.
    let page = mail_client.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!(r#"action="{path}""#)), "{}", page.body);
    assert_eq!(page.field("List-Unsubscribe").as_deref(), Some("One-Click"));
    assert!(stack.store().member(karim.id).await.unwrap().unwrap().email_alerts);

    // A wrong token or member: not found, and no hint.
    let wrong = mail_client
        .send(
            Method::POST,
            &format!("/unsubscribe/{}/{}", karim.id, "0".repeat(64)),
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("List-Unsubscribe=One-Click".into()),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let other = stack.member("Lucas");
    let mixed = format!("/unsubscribe/{}/{}", other.id, karim.unsubscribe_token.as_str());
    assert_eq!(mail_client.get(&mixed).await.status, StatusCode::NOT_FOUND);
    assert_eq!(mail_client.get("/unsubscribe/x/y").await.status, StatusCode::NOT_FOUND);
    assert!(stack.store().member(karim.id).await.unwrap().unwrap().email_alerts);

    // RFC 8058: a POST with the one-click body, no cookie, no anti-CSRF token.
    let done = mail_client
        .send(
            Method::POST,
            &path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("List-Unsubscribe=One-Click".into()),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Vous ne recevrez plus les alertes par e-mail"));
    let member = stack.store().member(karim.id).await.unwrap().unwrap();
    assert!(!member.email_alerts);
    assert!(member.sms_alerts, "SMS alerts untouched");
    // Again: still fine.
    let again = mail_client.post(&path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(again.status, StatusCode::OK);

    // The next alert emails everyone but him, and still texts him.
    assert!(matches!(
        stack.text(&stack.phone("Marie"), "Démarchage suspect porte à porte").await,
        Handled::Alerted(_)
    ));
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    assert_eq!(outbox.emails_to(&stack.email("Karim")).count(), 0);
    assert_eq!(outbox.emails_to(&stack.email("Lucas")).count(), 1);
    assert_eq!(outbox.sms_to(&stack.phone("Karim")).count(), 1);
}

#[tokio::test]
async fn the_unsubscribe_link_of_a_real_alert_email_works() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Paul"), "Chien errant près de l'école").await;
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    let sophie = stack.email("Sophie");
    let email = outbox.emails_to(&sophie).next().expect("an alert email to the police");
    let url = email.list_unsubscribe.as_deref().unwrap().trim_matches(['<', '>']).to_owned();
    let path = url.strip_prefix(&stack.config.public_base_url).expect("a link to the site").to_owned();
    let mut mail_client = WebClient::new(&stack);
    let done = mail_client.post(&path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(done.status, StatusCode::OK, "{path}: {}", done.body);
}
