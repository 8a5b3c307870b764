//! Raising an alert from the page: the form, the confirmation step, the alert recorded as a
//! texted one is, and the fan-out (fed by the emulator's stream through the relay) sending it.
//! Also the feed, the delivery report and who may see it.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use vigie::domain::{AlertId, AlertSource, Category};
use vigie::ports::{AlertLog, Feed};
use vigie_tests::Stack;
use vigie_tests::web_client::{Reply, WebClient};

fn sms_counts(outbox: &infra::outbox::Outbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for sms in &outbox.sms {
        *counts.entry(sms.to.clone()).or_insert(0) += 1;
    }
    counts
}

/// Fills in the alert form and reaches the confirmation step.
pub(super) async fn confirm(web: &mut WebClient, category: &str, text: &str, communities: &[&str]) -> Reply {
    let form = web.get("/alerts/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    let mut fields = vec![("csrf", csrf.as_str()), ("category", category), ("text", text)];
    fields.extend(communities.iter().map(|c| ("c", *c)));
    web.post("/alerts/confirm", &fields).await
}

/// Sends the confirmation step's form as it stands.
pub(super) async fn send(web: &mut WebClient, confirmation: &Reply) -> Reply {
    let csrf = confirmation.csrf();
    let submission = confirmation.field("submission").expect("a submission id");
    let category = confirmation.field("category").unwrap();
    let text = confirmation.field("text").unwrap();
    let communities: Vec<String> = confirmation
        .body
        .match_indices(r#"name="c" value=""#)
        .map(|(i, m)| {
            let rest = &confirmation.body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("submission", submission.as_str()),
        ("category", category.as_str()),
        ("text", text.as_str()),
    ];
    fields.extend(communities.iter().map(|c| ("c", c.as_str())));
    let police = confirmation.field("police");
    if let Some(police) = &police {
        fields.push(("police", police.as_str()));
    }
    web.post("/alerts", &fields).await
}

pub(super) fn alert_id_of(reply: &Reply) -> AlertId {
    let location = reply.location().expect("a redirect to the alert");
    let id = location.trim_start_matches("/alerts/").split('?').next().unwrap();
    id.parse().expect("an alert id")
}

#[tokio::test]
async fn an_alert_from_the_page_reaches_the_neighbours_as_a_texted_one() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;

    let form = web.get("/alerts/new").await;
    for category in Category::ALL {
        assert!(form.body.contains(&format!(r#"value="{}""#, category.as_str())), "{category:?} offered");
        assert!(form.body.contains(category.label_fr()));
    }
    assert!(form.body.contains(r#"maxlength="1000""#));
    assert!(form.body.contains(r#"data-preview-url="/api/sms-preview""#));

    let text = "Deux hommes essaient d'ouvrir les portières, rue des Lilas.\nVoiture grise.";
    let confirmation = confirm(&mut web, "suspicious", text, &[]).await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    // The SMS exactly as it will go out, its size, and who it will reach.
    let sms = vigie::compose::alert_sms(
        &stack.member("Marie").first_name,
        AlertSource::Web,
        Some(Category::Suspicious),
        &vigie::domain::AlertText::parse(text).unwrap(),
        stack.config.sms_max_segments,
    );
    assert!(sms.starts_with("Marie [Suspect] : Deux hommes"), "{sms}");
    let shown = vigie_tests::web_client::unescape(
        confirmation.body.split(r#"id="sms-preview">"#).nth(1).unwrap().split("</p>").next().unwrap(),
    );
    assert_eq!(shown, sms);
    assert!(confirmation.body.contains("· 1 SMS"), "{}", confirmation.body);
    assert!(
        confirmation.body.contains("Elle sera transmise à 5 voisins (3 par SMS, 4 par e-mail)."),
        "Karim, Jeanne, Lucas, Chloé, Sophie: {}",
        confirmation.body
    );
    assert!(confirmation.field("submission").unwrap().starts_with("web-"));

    let sent = send(&mut web, &confirmation).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(sent.location().unwrap().ends_with("?sent=1"));
    let id = alert_id_of(&sent);
    let alert = stack.store().alert(id).await.unwrap().expect("the alert is stored");
    assert_eq!(alert.source, AlertSource::Web);
    assert_eq!(alert.category, Some(Category::Suspicious));
    assert_eq!(alert.sender_first_name.as_str(), "Marie");
    assert_eq!(alert.text.as_str(), text);
    assert!(alert.inbound_message_id.as_ref().unwrap().as_str().starts_with("web-"));

    // Before the fan-out: the report says it is under way.
    let report = web.get(sent.location().unwrap()).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.contains("Votre alerte est enregistrée"), "{}", report.body);
    assert!(report.body.contains("Envoi en cours"));

    // The stream does the rest, exactly as for an SMS.
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    let sms = sms_counts(&outbox);
    for name in ["Karim", "Jeanne", "Sophie"] {
        assert_eq!(sms.get(&stack.phone(name)), Some(&1), "{name} gets one SMS");
        let phone = stack.phone(name);
        let body = &outbox.sms_to(&phone).next().unwrap().body;
        assert!(body.starts_with("Marie [Suspect] : Deux hommes"), "{body}");
    }
    for name in ["Lucas", "Paul", "Inès", "Gérard"] {
        assert_eq!(sms.get(&stack.phone(name)), None, "{name} gets no SMS");
    }
    assert_eq!(sms.get(&stack.phone("Marie")), Some(&1), "the sender's confirmation");
    for name in ["Karim", "Lucas", "Chloé", "Sophie"] {
        let address = stack.email(name);
        let emails: Vec<_> = outbox.emails_to(&address).collect();
        assert_eq!(emails.len(), 1, "{name} gets one email");
        assert!(emails[0].subject.contains("Marie"), "{}", emails[0].subject);
    }
    assert_eq!(outbox.emails_to(&stack.email("Paul")).count(), 0);

    // The report, then the feed.
    let report = web.get(&format!("/alerts/{id}")).await;
    assert!(!report.body.contains("Envoi en cours"), "{}", report.body);
    assert!(report.body.contains("Envoi terminé le"));
    for (label, value) in [
        ("Voisins prévenus", "5"),
        ("SMS envoyés", "3"),
        ("E-mails envoyés", "4"),
        ("Accusés de réception", "0"),
    ] {
        assert!(
            report.body.contains(&format!(r#"<th scope="row">{label}</th><td>{value}</td>"#)),
            "{label} = {value}: {}",
            report.body
        );
    }
    let feed = web.get("/").await;
    assert!(feed.body.contains("Deux hommes essaient"), "{}", feed.body);
    assert!(feed.body.contains("Personne ou véhicule suspect"));
    assert!(
        feed.body.contains("5 voisins prévenus · 3 SMS, 4 e-mails · 0 accusé de réception"),
        "{}",
        feed.body
    );
    assert!(feed.body.contains(&format!(r#"href="/alerts/{id}""#)));

    // An acknowledgement by SMS shows up in the report.
    stack.text(&stack.phone("Karim"), "merci").await;
    let report = web.get(&format!("/alerts/{id}")).await;
    assert!(
        report.body.contains(r#"<th scope="row">Accusés de réception</th><td>1</td>"#),
        "{}",
        report.body
    );
}

#[tokio::test]
async fn a_double_submit_records_one_alert() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Paul").await;
    let confirmation = confirm(&mut web, "danger", "Fumée derrière le moulin", &[]).await;
    let first = send(&mut web, &confirmation).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = send(&mut web, &confirmation).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    assert_eq!(second.location(), Some("/?notice=duplicate"));
    let feed = web.get(second.location().unwrap()).await;
    assert!(feed.body.contains("déjà enregistrée"), "{}", feed.body);
    let community = stack.member("Paul").communities[0].clone();
    let alerts = stack.store().community_alerts(&community, None, 20).await.unwrap();
    assert_eq!(alerts.items.len(), 1, "one alert for two submissions");
}

#[tokio::test]
async fn the_form_keeps_what_was_typed_and_says_what_is_wrong() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Karim").await;

    let reply = confirm(&mut web, "", "Chien perdu <b>rue</b>", &[]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("Choisissez une catégorie."), "{}", reply.body);
    assert!(
        reply.body.contains("Chien perdu &#60;b&#62;rue&#60;/b&#62;")
            || reply.body.contains("Chien perdu &lt;b&gt;rue&lt;/b&gt;"),
        "escaped and kept: {}",
        reply.body
    );
    assert!(!reply.body.contains("<b>rue"));

    let reply = confirm(&mut web, "animal", " \n ", &[]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("Écrivez votre message."));
    assert!(reply.body.contains(r#"value="animal" id="category-animal" required checked"#), "{}", reply.body);

    let long = "x".repeat(1001);
    let reply = confirm(&mut web, "other", &long, &[]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("1001 caractères pour 1000 au plus"), "{}", reply.body);

    // Back from the confirmation step to edit: the form comes back filled in.
    let confirmation = confirm(&mut web, "animal", "Chat noir trouvé", &[]).await;
    let csrf = confirmation.csrf();
    let edit = web
        .post("/alerts/new", &[("csrf", &csrf), ("category", "animal"), ("text", "Chat noir trouvé")])
        .await;
    assert_eq!(edit.status, StatusCode::OK);
    assert_eq!(edit.field("text").as_deref(), Some("Chat noir trouvé"));
    assert!(edit.body.contains("sur 1000 · 1 SMS"), "the count without script: {}", edit.body);

    // Nothing was recorded.
    let community = stack.member("Karim").communities[0].clone();
    assert!(stack.store().community_alerts(&community, None, 20).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn the_live_counter_is_computed_by_the_server_as_the_fan_out_sends() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;

    let preview = web.get("/api/sms-preview?text=Cambriolage+au+12&category=burglary").await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.header("content-type"), Some("application/json"));
    let json = preview.json();
    assert_eq!(json["sms"], "Marie [Cambriolage] : Cambriolage au 12");
    assert_eq!(json["chars"], 17);
    assert_eq!(json["segments"], 1);
    assert_eq!(json["encoding"], "gsm7");
    assert_eq!(json["summary"], "17 caractères sur 1000 · 1 SMS");

    let long = "Attention ".repeat(40);
    let json = web.get(&format!("/api/sms-preview?text={}", long.replace(' ', "+"))).await.json();
    assert_eq!(json["segments"], 3, "cut to SMS_MAX_SEGMENTS, as sent");
    let emoji = web.get("/api/sms-preview?text=Au+feu+%F0%9F%94%A5").await.json();
    assert_eq!(emoji["encoding"], "ucs2");
    let empty = web.get("/api/sms-preview?text=").await.json();
    assert_eq!((empty["segments"].as_u64(), empty["problem"].as_str()), (Some(0), Some("empty")));
}

#[tokio::test]
async fn only_members_of_the_community_see_an_alert() {
    let stack = Stack::demo().await;
    let vigie_tests::Handled::Alerted(ids) =
        stack.text(&stack.phone("Marie"), "Vélo volé devant la boulangerie").await
    else {
        panic!("an alert")
    };
    let id = ids[0];

    let mut karim = WebClient::new(&stack);
    karim.sign_in(&stack, "Karim").await;
    let seen = karim.get(&format!("/alerts/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("Vélo volé"));
    assert!(seen.body.contains(r#"<span class="badge">SMS</span>"#), "the source: {}", seen.body);

    let mut paul = WebClient::new(&stack);
    paul.sign_in(&stack, "Paul").await;
    let hidden = paul.get(&format!("/alerts/{id}")).await;
    let missing = paul.get(&format!("/alerts/{}", AlertId::new())).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, missing.body, "not told apart from an alert that does not exist");
    assert!(!hidden.body.contains("Vélo"));
    assert_eq!(paul.get("/alerts/not-an-id").await.status, StatusCode::NOT_FOUND);
    assert!(!paul.get("/").await.body.contains("Vélo volé"), "nor in Le Moulin's feed");
    // A community filter that is not theirs.
    assert_eq!(paul.get("/?c=les-tilleuls").await.status, StatusCode::NOT_FOUND);

    // The police of both communities see it.
    let mut sophie = WebClient::new(&stack);
    sophie.sign_in(&stack, "Sophie").await;
    assert_eq!(sophie.get(&format!("/alerts/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_police_alert_several_communities_and_read_them_all() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut sophie = WebClient::new(&stack);
    sophie.sign_in(&stack, "Sophie").await;

    let form = sophie.get("/alerts/new").await;
    assert!(form.body.contains(r#"name="c" value="les-tilleuls""#), "{}", form.body);
    assert!(form.body.contains(r#"name="c" value="le-moulin""#));
    let none = confirm(&mut sophie, "danger", "Coupure d'eau", &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.body.contains("Choisissez au moins une communauté."));

    let confirmation =
        confirm(&mut sophie, "danger", "Coupure d'eau ce soir", &["les-tilleuls", "le-moulin"]).await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    assert!(
        confirmation.body.contains("Sophie (police municipale) [Danger] : Coupure"),
        "{}",
        confirmation.body
    );
    // Les Tilleuls: Marie, Karim, Jeanne, Lucas, Chloé; Le Moulin: Paul, Inès, Gérard.
    assert!(confirmation.body.contains("Elle sera transmise à 8 voisins"), "{}", confirmation.body);
    let sent = send(&mut sophie, &confirmation).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    relay.drain().await.unwrap();

    let mut alerts = Vec::new();
    for community in ["les-tilleuls", "le-moulin"] {
        let id = vigie::domain::CommunityId::parse(community).unwrap();
        let page = stack.store().community_alerts(&id, None, 20).await.unwrap();
        assert_eq!(page.items.len(), 1, "{community}");
        alerts.push(page.items[0].alert.clone());
    }
    assert!(alerts.iter().all(|a| a.source == AlertSource::Police));
    assert_eq!(alerts[0].inbound_message_id, alerts[1].inbound_message_id, "one submission");
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(&stack.phone("Paul")).count(), 1);
    assert_eq!(outbox.sms_to(&stack.phone("Jeanne")).count(), 1);

    // An alert of each community, merged newest first, and a filter per community.
    stack.text(&stack.phone("Gérard"), "Portail ouvert au moulin").await;
    let feed = sophie.get("/").await;
    assert!(feed.body.contains("Portail ouvert"), "{}", feed.body);
    assert!(feed.body.contains("Coupure d"), "{}", feed.body);
    let portail = feed.body.find("Portail ouvert").unwrap();
    let coupure = feed.body.find("Coupure").unwrap();
    assert!(portail < coupure, "newest first");
    assert!(feed.body.contains(r#"href="/?c=le-moulin""#));
    let moulin = sophie.get("/?c=le-moulin").await;
    assert_eq!(moulin.status, StatusCode::OK);
    assert_eq!(moulin.body.matches(r#"class="alert-card""#).count(), 2);
    let tilleuls = sophie.get("/?c=les-tilleuls").await;
    assert_eq!(tilleuls.body.matches(r#"class="alert-card""#).count(), 1);
}

#[tokio::test]
async fn the_feed_is_paged_newest_first() {
    let stack = Stack::demo().await;
    let mut ids = Vec::new();
    for i in 0..23 {
        // Alternate senders so no rate limit applies.
        let sender = ["Marie", "Karim", "Jeanne", "Lucas"][i % 4];
        if let vigie_tests::Handled::Alerted(alert) =
            stack.text(&stack.phone(sender), &format!("Alerte numéro {i:02}")).await
        {
            ids.push(alert[0]);
        }
    }
    assert_eq!(ids.len(), 20, "5 per member and per hour: Marie, Karim, Jeanne and Lucas raise 20");
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Chloé").await;
    let first = web.get("/").await;
    assert_eq!(first.body.matches(r#"class="alert-card""#).count(), 20);
    assert!(first.body.find("Alerte numéro 19").unwrap() < first.body.find("Alerte numéro 00").unwrap());
    // A full page may have an "older" link (DynamoDB cannot know it was the last item); here
    // it would lead to an empty page, without one.
    if first.body.contains(r#"rel="next""#) {
        let older_href = vigie_tests::web_client::unescape(
            first
                .body
                .split(r#"rel="next""#)
                .next()
                .unwrap()
                .rsplit("href=\"")
                .next()
                .unwrap()
                .trim_end_matches("\" "),
        );
        assert!(older_href.starts_with("/?after="), "{older_href}");
        let last = web.get(&older_href).await;
        assert_eq!(last.body.matches(r#"class="alert-card""#).count(), 0);
        assert!(!last.body.contains(r#"rel="next""#));
    }
    let community = stack.member("Chloé").communities[0].clone();
    let page = stack.store().community_alerts(&community, None, 5).await.unwrap();
    let cursor = page.next.expect("more than 5");
    let older = web.get(&format!("/?after={}", cursor.0)).await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(older.body.matches(r#"class="alert-card""#).count(), 15);
    assert!(older.body.contains("Revenir aux plus récentes"));
    assert!(!older.body.contains("Alerte numéro 19"));
}

#[tokio::test]
async fn the_confirmation_warns_when_the_text_names_an_origin_and_still_lets_it_go() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let form = web.get("/alerts/new").await;
    assert!(form.body.contains("dans quelle direction partent"), "the form asks for behaviour and direction");

    let plain = confirm(
        &mut web,
        "suspicious",
        "Homme en sweat noir qui essaie les poignées, part vers la gare",
        &[],
    )
    .await;
    assert!(!plain.body.contains("origin-warning"), "no warning for a behaviour and clothing");
    let named =
        confirm(&mut web, "suspicious", "Deux jeunes de type maghrébin rôdent près des garages", &[]).await;
    assert_eq!(named.status, StatusCode::OK);
    assert!(named.body.contains("origin-warning"), "{}", named.body);
    assert!(named.body.contains("« maghrebin », « de type »"), "{}", named.body);
    // A warning, not a refusal: the alert is recorded when sent.
    let sent = send(&mut web, &named).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    // The API's preview names the same words.
    let preview = web
        .api(
            axum::http::Method::GET,
            "/api/sms-preview?category=suspicious&text=Une%20femme%20voil%C3%A9e%20sonne",
            None,
        )
        .await;
    assert_eq!(preview.json()["origin_terms"], serde_json::json!(["voile"]), "{}", preview.body);
}
