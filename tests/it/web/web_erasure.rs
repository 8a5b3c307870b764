//! "Mes données", against the emulator: a member downloads everything vigie holds about them,
//! then deletes their account with the code emailed to them, and no table keeps anything of
//! them but their past alerts' text, signed "un voisin"; a referent does the same for an
//! SMS-only member who asks in person; the API does it with the same code and refuses wrong ones.

use axum::http::{Method, StatusCode};
use vigie::domain::MemberId;
use vigie::ports::{Feed, MemberLookup};
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

/// Every item of the three tables, each written out whole (keys and attributes).
async fn every_item(stack: &Stack) -> Vec<String> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let tables = &stack.config.tables;
    let mut all = Vec::new();
    for table in [&tables.members, &tables.alerts, &tables.ledger] {
        let items: Vec<_> = dynamodb
            .scan()
            .table_name(table)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("scan");
        all.extend(items.iter().map(|item| format!("{table} {item:?}")));
    }
    all
}

/// The items that hold any of `traces`.
async fn traces_left(stack: &Stack, traces: &[String]) -> Vec<String> {
    every_item(stack)
        .await
        .into_iter()
        .filter(|item| traces.iter().any(|t| item.contains(t.as_str())))
        .collect()
}

/// The code of the newest erasure email to `address`.
async fn erasure_code_emailed(stack: &Stack, address: &str) -> String {
    let outbox = stack.outbox().await;
    let mail = outbox
        .emails_to(address)
        .filter(|m| m.subject.contains("Code de suppression"))
        .last()
        .expect("an erasure code was emailed");
    let text = mail.text.as_deref().expect("a text part");
    text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).expect("a 6-digit code").to_owned()
}

async fn exists(stack: &Stack, id: MemberId) -> bool {
    stack.store().member(id).await.expect("member").is_some()
}

/// What identifies a member of the demo in the tables.
fn traces_of(stack: &Stack, first_name: &str, last_name: &str) -> Vec<String> {
    let member = stack.member(first_name);
    let mut traces = vec![member.id.to_string(), first_name.to_owned(), last_name.to_owned()];
    traces.extend(member.phone.as_ref().map(ToString::to_string));
    traces.extend(member.email.as_ref().map(ToString::to_string));
    traces
}

#[tokio::test]
async fn a_member_downloads_their_data_then_erases_their_account_and_no_table_keeps_a_trace() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    // Karim raises an alert by SMS and gets Marie's; he flags hers, closes his own, signs in and
    // types a new number (a code waits for it).
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres rue des Lilas").await;
    drain_until_quiet(&mut relay).await;
    stack.text(&stack.phone("Marie"), "Camionnette blanche qui tourne dans le quartier").await;
    drain_until_quiet(&mut relay).await;
    let feed = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 10).await.unwrap();
    let alert_of = |sender: &str| {
        feed.items.iter().find(|r| r.alert.sender_first_name.as_str() == sender).expect("alert").alert.clone()
    };
    let (his, hers) = (alert_of("Karim"), alert_of("Marie"));

    let mut karim = WebClient::new(&stack);
    karim.sign_in(&stack, "Karim").await;
    let page = karim.get(&format!("/alerts/{}", hers.alert_id)).await;
    let flagged = karim
        .post(&format!("/alerts/{}/flag", hers.alert_id), &[("csrf", &page.csrf()), ("reason", "unfounded")])
        .await;
    assert_eq!(flagged.status, StatusCode::SEE_OTHER, "{}", flagged.body);
    let page = karim.get(&format!("/alerts/{}", his.alert_id)).await;
    let closed = karim
        .post(
            &format!("/alerts/{}/close", his.alert_id),
            &[("csrf", &page.csrf()), ("ending", "resolved"), ("note", "")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    drain_until_quiet(&mut relay).await;
    let settings = karim.get("/settings").await;
    let typed = karim
        .post(
            "/settings",
            &[
                ("csrf", &settings.csrf()),
                ("first_name", "Karim"),
                ("phone", "06 39 98 00 42"),
                ("hide_phone", "on"),
                ("sms_alerts", "on"),
                ("email_alerts", "on"),
            ],
        )
        .await;
    assert_eq!(typed.location(), Some("/settings?code=1"), "{}", typed.body);

    // "Mes données": the page links the download; the file holds all of it, and no secret.
    let my_data = karim.get("/settings").await;
    assert!(my_data.body.contains("/my-data\""), "the settings page links Mes données");
    let download = karim.get("/my-data/download").await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.header("content-disposition").unwrap_or_default().starts_with("attachment"));
    let data = download.json();
    assert_eq!(data["profile"]["first_name"], "Karim");
    assert_eq!(data["profile"]["phone"], "+33639980002", "his own number, hidden from others, is his");
    assert!(data["profile"].get("unsubscribe_token").is_none());
    assert_eq!(data["communities"][0]["name"], "Les Tilleuls");
    let alerts = data["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["you"], serde_json::json!(["author", "closed"]));
    assert!(alerts[0]["text"].as_str().unwrap().contains("rue des Lilas"));
    let kinds: Vec<&str> =
        data["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    for kind in [
        "alert_delivery",
        "sender_confirmation",
        "flag",
        "session",
        "signin_link",
        "pending_phone",
        "rate_limit",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let session = karim.cookie("__Host-vigie_session").expect("a session").to_owned();
    for secret in [session.as_str(), karim.csrf.as_deref().unwrap_or("csrf"), &stack.phone("Marie")] {
        assert!(!download.body.contains(secret), "{secret} in {}", download.body);
    }

    // The erasure: a code by email; a wrong one changes nothing; the right one erases.
    let page = karim.get("/my-data").await;
    let asked = karim.post("/my-data/erase", &[("csrf", &page.csrf())]).await;
    assert_eq!(asked.location(), Some("/my-data?code=email"));
    let code = erasure_code_emailed(&stack, &stack.email("Karim")).await;
    let page = karim.get("/my-data?code=email").await;
    assert!(page.body.contains("envoyé par e-mail"), "{}", page.body);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = karim.post("/my-data/erase/confirm", &[("csrf", &page.csrf()), ("code", wrong)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(exists(&stack, stack.member("Karim").id).await, "a wrong code erases nothing");
    let traces = traces_of(&stack, "Karim", "Benali");
    assert!(traces_left(&stack, &traces).await.len() > 10, "the tables hold Karim before");
    let erased = karim.post("/my-data/erase/confirm", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(erased.location(), Some("/my-data/erased"), "{}", erased.body);
    assert!(erased.set_cookie("__Host-vigie_session").is_some_and(|c| c.contains("Max-Age=0")));
    let left = traces_left(&stack, &traces).await;
    assert!(left.is_empty(), "items still holding Karim: {left:#?}");

    // His alert stays in the feed, signed "un voisin", with its all clear; the session is over.
    let mut lucas = WebClient::new(&stack);
    lucas.sign_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Un voisin") && feed.contains("rue des Lilas"), "{feed}");
    let mut old = WebClient::new(&stack);
    old.set_cookie("__Host-vigie_session", &session);
    assert_eq!(old.get("/").await.location(), Some("/signin"));
    // His number is a stranger's now: a text from it raises nothing.
    let before =
        stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 10).await.unwrap().items.len();
    stack.text(&stack.phone("Karim"), "Encore moi").await;
    drain_until_quiet(&mut relay).await;
    let after =
        stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 10).await.unwrap().items.len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_referent_erases_an_sms_only_member_who_asked_in_person() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Jeanne"), "Fumée derrière les garages").await;
    drain_until_quiet(&mut relay).await;
    let jeanne = stack.member("Jeanne").id;
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert!(admin.body.contains(&format!("/admin/members/{jeanne}/erase")), "Jeanne has no address");
    let lucas = stack.member("Lucas").id;
    assert!(!admin.body.contains(&format!("/admin/members/{lucas}/erase")), "Lucas erases his own");

    // Without the box ticked, nothing goes.
    let unticked = marie.post(&format!("/admin/members/{jeanne}/erase"), &[("csrf", &admin.csrf())]).await;
    assert_eq!(unticked.location(), Some("/admin?done=erase_unconfirmed"));
    assert!(exists(&stack, jeanne).await);
    // Not a member with an address, nor another community's.
    let refused = marie
        .post(&format!("/admin/members/{lucas}/erase"), &[("csrf", &admin.csrf()), ("asked", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let gerard = stack.member("Gérard").id;
    let other = marie
        .post(&format!("/admin/members/{gerard}/erase"), &[("csrf", &admin.csrf()), ("asked", "1")])
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let traces = traces_of(&stack, "Jeanne", "Morel");
    assert!(traces_left(&stack, &traces).await.len() > 5, "the tables hold Jeanne before");
    let erased = marie
        .post(&format!("/admin/members/{jeanne}/erase"), &[("csrf", &admin.csrf()), ("asked", "1")])
        .await;
    assert_eq!(erased.location(), Some("/admin?done=erased"));
    let left = traces_left(&stack, &traces).await;
    assert!(left.is_empty(), "items still holding Jeanne: {left:#?}");
    let feed = marie.get("/").await.body;
    assert!(feed.contains("Un voisin") && feed.contains("Fumée derrière les garages"), "{feed}");
}

#[tokio::test]
async fn the_api_erases_with_the_code_and_spends_wrong_ones() {
    let stack = Stack::demo().await;
    let mut lucas = WebClient::new(&stack);
    lucas.sign_in(&stack, "Lucas").await;
    let data = lucas.api(Method::GET, "/api/me/data", None).await;
    assert_eq!(data.status, StatusCode::OK);
    assert_eq!(data.json()["profile"]["email"], stack.email("Lucas"));

    let asked = lucas.api(Method::POST, "/api/me/erasure", None).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    assert_eq!(asked.json()["sent_by"], "email");
    let code = erasure_code_emailed(&stack, &stack.email("Lucas")).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |code: &str| serde_json::json!({ "code": code });
    for expected in ["wrong_code", "wrong_code", "code_gone"] {
        let reply = lucas.api(Method::POST, "/api/me/erasure/confirm", Some(confirm(wrong))).await;
        assert_eq!(reply.json()["error"], expected);
    }
    // The tries are spent: even the right code is refused now.
    let late = lucas.api(Method::POST, "/api/me/erasure/confirm", Some(confirm(&code))).await;
    assert_eq!((late.status, late.json()["error"].clone()), (StatusCode::GONE, "code_gone".into()));
    assert!(exists(&stack, stack.member("Lucas").id).await);

    let traces = traces_of(&stack, "Lucas", "Petit");
    assert!(!traces_left(&stack, &traces).await.is_empty(), "the tables hold Lucas before");
    lucas.api(Method::POST, "/api/me/erasure", None).await;
    let code = erasure_code_emailed(&stack, &stack.email("Lucas")).await;
    let erased = lucas.api(Method::POST, "/api/me/erasure/confirm", Some(confirm(&code))).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    assert!(erased.json()["records_deleted"].as_u64().unwrap() >= 3, "{}", erased.body);
    assert_eq!(lucas.api(Method::GET, "/api/me", None).await.status, StatusCode::UNAUTHORIZED);
    let left = traces_left(&stack, &traces).await;
    assert!(left.is_empty(), "items still holding Lucas: {left:#?}");
}
