//! My settings and the one-click unsubscribe link, against the emulator; changes are checked
//! in the store and in what the next alert sends.

use axum::http::{Method, StatusCode};
use vigie::ports::MemberLookup;
use vigie_tests::web_client::{WebClient, code_texted_to};
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
    for name in ["hide_phone", "sms_alerts", "email_alerts", "quiet_hours"] {
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
async fn a_new_number_is_hers_only_once_she_types_the_code_texted_to_it() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Chloé").await;
    let chloe = stack.member("Chloé").id;
    let phone_of = |m: vigie::domain::Member| m.phone.map(|p| p.as_str().to_owned());

    let page = web.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.field("first_name").as_deref(), Some("Chloé"));
    assert_eq!(page.field("phone").as_deref(), Some(""), "Chloé has no number yet");
    assert!(page.body.contains(&stack.email("Chloé")));

    // A number typed (in the French way, stored in E.164) gets a code; it is not hers yet.
    let saved = post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 78"))])).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/settings?code=1"));
    assert_eq!(
        phone_of(stack.store().member(chloe).await.unwrap().unwrap()),
        None,
        "not hers before the code"
    );
    let texts: Vec<String> = stack.outbox().await.sms_to("+33612345678").map(|s| s.body.clone()).collect();
    assert_eq!(texts.len(), 1, "one code texted: {texts:?}");
    assert!(texts[0].contains("code de confirmation") && texts[0].contains("10 minutes"), "{}", texts[0]);
    let shown = web.get("/settings?code=1").await;
    assert!(
        shown.body.contains("Un code de confirmation a été envoyé par SMS au 06 12 34 56 78"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(r#"name="code""#));
    assert_eq!(shown.field("phone").as_deref(), Some(""), "the form shows her number, still none");
    // Not hers yet: a text from it is a stranger's.
    assert!(!matches!(stack.text("+33612345678", "Colis volé devant le 3").await, Handled::Alerted(_)));

    // A wrong code: refused, tries counted; then the right one.
    let csrf = shown.csrf();
    let right = code_texted_to(&stack, "+33612345678").await.unwrap();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let refused = web.post("/settings/phone", &[("csrf", &csrf), ("code", wrong)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Ce n&#39;est pas le code envoyé. Encore 2 essais."), "{}", refused.body);
    assert_eq!(phone_of(stack.store().member(chloe).await.unwrap().unwrap()), None);
    let confirmed = web.confirm_number(&stack, "+33612345678").await;
    assert_eq!(confirmed.location(), Some("/settings?confirmed=1"), "{}", confirmed.body);
    assert_eq!(
        phone_of(stack.store().member(chloe).await.unwrap().unwrap()).as_deref(),
        Some("+33612345678")
    );
    let shown = web.get("/settings?confirmed=1").await;
    assert!(shown.body.contains("Votre numéro est confirmé"));
    assert_eq!(shown.field("phone").as_deref(), Some("06 12 34 56 78"));
    assert!(!shown.body.contains(r#"name="code""#), "nothing waits any more");
    // The new number is hers: texting from it raises an alert as Chloé.
    assert!(matches!(stack.text("+33612345678", "Colis volé devant le 3").await, Handled::Alerted(_)));

    // Karim's number: the page answers as for any number, Chloé gets no code, Karim is told,
    // and no code she could type makes it hers.
    let page = web.get("/settings").await;
    let claimed = post_settings(
        &mut web,
        &fields_of(&page, &[("phone", Some("06.39.98.00.02")), ("first_name", Some("Chloé G."))]),
    )
    .await;
    assert_eq!(claimed.location(), Some("/settings?code=1"), "the same answer as a free number");
    let karim: Vec<String> = stack.outbox().await.sms_to("+33639980002").map(|s| s.body.clone()).collect();
    assert_eq!(karim.len(), 1, "{karim:?}");
    assert!(karim[0].contains("quelqu'un a tapé votre numéro") && !karim[0].contains("code de confirmation"));
    assert_eq!(code_texted_to(&stack, "+33639980002").await, None, "no code went to Karim's phone");
    for guess in ["000000", "123456", "999999"] {
        let page = web.get("/settings").await;
        let reply = web.post("/settings/phone", &[("csrf", &page.csrf()), ("code", guess)]).await;
        assert!(reply.status.is_client_error(), "{guess}: {}", reply.status);
    }
    let member = stack.store().member(chloe).await.unwrap().unwrap();
    assert_eq!(member.phone.as_ref().map(|p| p.as_str()), Some("+33612345678"), "her number is unchanged");
    assert_eq!(member.first_name.as_str(), "Chloé G.", "the rest of the form is saved");
    assert_eq!(
        stack
            .store()
            .member_by_phone(&"+33639980002".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .first_name
            .as_str(),
        "Karim"
    );
    let page = web.get("/settings").await;
    let cancelled = web.post("/settings/phone/cancel", &[("csrf", &page.csrf())]).await;
    assert_eq!(cancelled.location(), Some("/settings?cancelled=1"));
    assert!(!web.get("/settings").await.body.contains(r#"name="code""#));

    // A malformed number or name.
    let page = web.get("/settings").await;
    let bad = post_settings(&mut web, &fields_of(&page, &[("phone", Some("12345"))])).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("Ce numéro n&#39;est pas valide")
            || bad.body.contains("Ce numéro n'est pas valide")
    );
    let bad = post_settings(&mut web, &fields_of(&page, &[("first_name", Some("  "))])).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Removing the number is at once: she has an email address.
    let cleared = post_settings(&mut web, &fields_of(&page, &[("phone", Some(""))])).await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    assert!(stack.store().member(chloe).await.unwrap().unwrap().phone.is_none());
    assert!(
        stack.store().member_by_phone(&"+33612345678".parse().unwrap()).await.unwrap().is_none(),
        "released"
    );
}

#[tokio::test]
async fn codes_are_limited_and_spent_after_three_wrong_tries() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Chloé").await;
    let chloe = stack.member("Chloé").id;

    let page = web.get("/settings").await;
    let saved = post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 79"))])).await;
    assert_eq!(saved.location(), Some("/settings?code=1"));
    // Three wrong codes spend it: the right one is then refused too.
    let right = code_texted_to(&stack, "+33612345679").await.unwrap();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for left in [2, 1] {
        let page = web.get("/settings").await;
        let reply = web.post("/settings/phone", &[("csrf", &page.csrf()), ("code", wrong)]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reply.body.contains(&format!("Encore {left} essai")), "{}", reply.body);
    }
    let page = web.get("/settings").await;
    let reply = web.post("/settings/phone", &[("csrf", &page.csrf()), ("code", wrong)]).await;
    assert_eq!(reply.status, StatusCode::GONE, "the third wrong try spends the code");
    let page = web.get("/settings").await;
    let reply = web.post("/settings/phone", &[("csrf", &page.csrf()), ("code", &right)]).await;
    assert_eq!(reply.status, StatusCode::GONE, "{}", reply.body);
    assert!(reply.body.contains("demandez-en un nouveau"));
    assert!(stack.store().member(chloe).await.unwrap().unwrap().phone.is_none());

    // A new code (the second this hour), then the right one works.
    let page = web.get("/settings").await;
    let resent = web.post("/settings/phone/resend", &[("csrf", &page.csrf())]).await;
    assert_eq!(resent.location(), Some("/settings?code=1"), "{}", resent.body);
    assert_eq!(stack.outbox().await.sms_to("+33612345679").count(), 2);
    assert_eq!(web.confirm_number(&stack, "+33612345679").await.location(), Some("/settings?confirmed=1"));

    // Three codes an hour per member: a fourth is refused, and nothing is texted.
    let page = web.get("/settings").await;
    let third = post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 80"))])).await;
    assert_eq!(third.location(), Some("/settings?code=1"));
    let page = web.get("/settings").await;
    let fourth = web.post("/settings/phone/resend", &[("csrf", &page.csrf())]).await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fourth.body.contains("Trop de codes"), "{}", fourth.body);
    assert_eq!(stack.outbox().await.sms_to("+33612345680").count(), 1, "one code, not two");
    let page = web.get("/settings").await;
    let fifth = post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 81"))])).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stack.outbox().await.sms_to("+33612345681").count(), 0);
    assert_eq!(
        stack.store().member(chloe).await.unwrap().unwrap().phone.map(|p| p.as_str().to_owned()).as_deref(),
        Some("+33612345679"),
        "her confirmed number stays"
    );
}

#[tokio::test]
async fn nobody_can_make_vigie_text_one_number_more_than_five_times_a_day() {
    // Several members typing the same stranger's number: five texts a day at most, whoever asks.
    let stack = Stack::demo().await;
    let stranger = "+33612345690";
    let mut sent = 0;
    for name in ["Chloé", "Marie", "Karim"] {
        let mut web = WebClient::new(&stack);
        web.sign_in(&stack, name).await;
        for _ in 0..3 {
            let page = web.get("/settings").await;
            let reply =
                post_settings(&mut web, &fields_of(&page, &[("phone", Some("06 12 34 56 90"))])).await;
            if reply.location() == Some("/settings?code=1") {
                sent += 1;
            } else {
                assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.body);
            }
        }
    }
    assert_eq!(sent, 5);
    assert_eq!(stack.outbox().await.sms_to(stranger).count(), 5, "five texts, no more");
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

#[tokio::test]
async fn quiet_hours_are_set_on_the_page_the_api_and_by_texting_nuit_or_jour() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Lucas").await;
    let lucas = stack.member("Lucas").id;
    let page = web.get("/settings").await;
    assert!(page.body.contains("Pas de SMS la nuit (de 22 h à 7 h)"), "{}", page.body);
    let saved = post_settings(&mut web, &fields_of(&page, &[("quiet_hours", Some("on"))])).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(stack.store().member(lucas).await.unwrap().unwrap().quiet_hours);
    let page = web.get("/settings").await;
    assert!(page.body.contains(r#"name="quiet_hours" value="on" checked"#), "shown ticked");
    // The API says it and changes it.
    let me = web.api(Method::GET, "/api/me", None).await;
    assert_eq!(me.json()["quiet_hours"], true);
    let off = web.api(Method::PATCH, "/api/me", Some(serde_json::json!({"quiet_hours": false}))).await;
    assert_eq!(off.json()["quiet_hours"], false, "{}", off.body);
    assert!(!stack.store().member(lucas).await.unwrap().unwrap().quiet_hours);

    // Jeanne, who has no email, texts NUIT, then JOUR; the same message again changes nothing.
    let jeanne = stack.phone("Jeanne");
    let id = stack.member("Jeanne").id;
    let nuit = stack.sms_event(&jeanne, "Nuit svp", "quiet-1");
    assert_eq!(format!("{:?}", stack.invoke_inbound(nuit.clone()).await.unwrap()), "[QuietHours(true)]");
    assert!(stack.store().member(id).await.unwrap().unwrap().quiet_hours);
    let replies = stack.outbox().await.sms_to(&jeanne).count();
    assert!(stack.outbox().await.sms_to(&jeanne).last().unwrap().body.contains("pas de SMS la nuit"));
    stack.invoke_inbound(nuit).await.unwrap();
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), replies, "answered once");
    assert_eq!(format!("{:?}", stack.text(&jeanne, "JOUR").await), "QuietHours(false)");
    assert!(!stack.store().member(id).await.unwrap().unwrap().quiet_hours);
    // A message that starts with the word is an alert as any other.
    assert_eq!(
        format!("{:?}", stack.text(&jeanne, "Nuit agitée rue des Lilas, des cris").await).split('(').next(),
        Some("Alerted")
    );
}
