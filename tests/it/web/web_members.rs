//! The neighbours page, the referent's pages and asking to join, against the emulator: who may
//! see and do what, and that a hidden number never reaches another member.

use axum::http::{Method, StatusCode};
use vigie::domain::{AlertId, AlertSource, AlertText, Category, CommunityId};
use vigie::model::{Alert, InboundMessageId};
use vigie::ports::{AlertLog, MemberLookup, Membership};
use vigie_tests::web_client::{Reply, WebClient};
use vigie_tests::{Stack, drain_until_quiet};

/// Every way a French number may be written in a page or a JSON answer.
fn spellings(e164: &str) -> Vec<String> {
    let national = format!("0{}", e164.strip_prefix("+33").expect("a French number"));
    let pairs: Vec<&str> = (0..5).map(|i| &national[2 * i..2 * i + 2]).collect();
    vec![
        e164.to_owned(),
        national.clone(),
        pairs.join(" "),
        pairs.join("."),
        e164.trim_start_matches('+').to_owned(),
    ]
}

fn assert_hidden(reply: &Reply, e164: &str, what: &str) {
    for spelling in spellings(e164) {
        assert!(
            !reply.body.contains(&spelling),
            "{what} shows a hidden number ({spelling}):\n{}",
            reply.body
        );
    }
}

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

#[tokio::test]
async fn neighbours_see_each_other_but_never_a_hidden_number_nor_an_address() {
    let stack = Stack::demo().await;
    // An alert from Karim, so his name is in the feed and the report too.
    assert!(matches!(
        stack.text(&stack.phone("Karim"), "Portail ouvert au 4").await,
        vigie_tests::Handled::Alerted(_)
    ));
    let mut lucas = signed_in(&stack, "Lucas").await;
    let page = lucas.get("/members").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for name in ["Marie L.", "Karim B.", "Jeanne M.", "Lucas P.", "Chloé G.", "Sophie M."] {
        assert!(page.body.contains(name), "{name} is listed:\n{}", page.body);
    }
    assert!(!page.body.contains("Paul"), "another community's members are not listed");
    assert!(page.body.contains("Référent") && page.body.contains("Police municipale"), "role badges");
    assert!(page.body.contains("06 39 98 00 01") && page.body.contains("tel:+33639980001"), "Marie's number");
    assert!(page.body.contains(r#"aria-current="page">Voisins"#), "{}", page.body);
    for email in ["marie.lefevre@example.org", "karim.benali@example.org", "police@bellerive.example.org"] {
        assert!(!page.body.contains(email), "no addresses");
    }
    // Karim (hidden) and Sophie (police, hidden) in no page or answer a neighbour gets.
    let alert = stack.store().community_alerts_first_id("les-tilleuls").await;
    for path in [
        "/members",
        "/",
        "/api/members",
        "/api/alerts",
        &format!("/alerts/{alert}"),
        &format!("/api/alerts/{alert}"),
    ] {
        let reply = lucas.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_hidden(&reply, &stack.phone("Karim"), path);
        assert_hidden(&reply, &stack.phone("Sophie"), path);
        assert!(!reply.body.contains("karim.benali@example.org"), "{path}");
    }
    let json = lucas.get("/api/members").await.json();
    let karim = json["members"].as_array().unwrap().iter().find(|m| m["first_name"] == "Karim").unwrap();
    assert!(karim.get("phone").is_none(), "no phone key at all: {karim}");
    let marie = json["members"].as_array().unwrap().iter().find(|m| m["first_name"] == "Marie").unwrap();
    assert_eq!(marie["phone"], "+33639980001");
    assert_eq!(marie["role"], "referent");

    // The referent does not see a hidden number either.
    let mut marie = signed_in(&stack, "Marie").await;
    for path in ["/admin", "/members", "/api/members"] {
        let reply = marie.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_hidden(&reply, &stack.phone("Karim"), path);
        assert_hidden(&reply, &stack.phone("Sophie"), path);
    }
    // Karim sees his own number.
    let mut karim = signed_in(&stack, "Karim").await;
    let own = karim.get("/members").await;
    assert!(own.body.contains("06 39 98 00 02"), "{}", own.body);
}

/// A helper the tests need: the id of the newest alert of a community.
trait NewestAlert {
    async fn community_alerts_first_id(&self, community: &str) -> AlertId;
}

impl NewestAlert for vigie::adapters::DynamoStore {
    async fn community_alerts_first_id(&self, community: &str) -> AlertId {
        let id: CommunityId = community.parse().unwrap();
        vigie::ports::Feed::community_alerts(self, &id, None, 1).await.unwrap().items[0].alert.alert_id
    }
}

#[tokio::test]
async fn police_choose_a_community_and_nobody_reads_another_one() {
    let stack = Stack::demo().await;
    let mut sophie = signed_in(&stack, "Sophie").await;
    let tilleuls = sophie.get("/members").await;
    assert!(tilleuls.body.contains("Karim B."), "her first community by default");
    let moulin = sophie.get("/members?c=le-moulin").await;
    assert_eq!(moulin.status, StatusCode::OK);
    assert!(moulin.body.contains("Paul R.") && !moulin.body.contains("Karim B."));
    assert_hidden(&moulin, &stack.phone("Gérard"), "le-moulin for the police");
    let api = sophie.get("/api/members?community=le-moulin").await.json();
    assert_eq!(api["community"]["id"], "le-moulin");

    let mut lucas = signed_in(&stack, "Lucas").await;
    assert_eq!(lucas.get("/members?c=le-moulin").await.status, StatusCode::NOT_FOUND);
    let api = lucas.get("/api/members?community=le-moulin").await;
    assert_eq!((api.status, api.json()), (StatusCode::NOT_FOUND, serde_json::json!({"error": "not_found"})));
    assert_eq!(lucas.get("/members?c=nowhere").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_new_route_refuses_the_signed_out_the_residents_and_other_communities() {
    let stack = Stack::demo().await;
    let jeanne = stack.member("Jeanne").id.to_string();
    let mut anonymous = WebClient::new(&stack);
    for path in ["/members", "/admin", "/admin/members/new"] {
        let reply = anonymous.get(path).await;
        assert_eq!((reply.status, reply.location()), (StatusCode::SEE_OTHER, Some("/signin")), "{path}");
    }
    for path in [
        "/admin/members",
        &format!("/admin/members/{jeanne}/remove"),
        &format!("/admin/join/{jeanne}/approve"),
    ] {
        let reply = anonymous.post(path, &[("csrf", "x")]).await;
        assert_eq!((reply.status, reply.location()), (StatusCode::SEE_OTHER, Some("/signin")), "{path}");
    }
    for (method, path) in [
        (Method::GET, "/api/me".to_owned()),
        (Method::PATCH, "/api/me".to_owned()),
        (Method::GET, "/api/members".to_owned()),
        (Method::POST, "/api/members".to_owned()),
        (Method::DELETE, format!("/api/members/{jeanne}")),
        (Method::GET, "/api/alerts".to_owned()),
        (Method::POST, "/api/alerts".to_owned()),
    ] {
        let reply = anonymous.api(method.clone(), &path, Some(serde_json::json!({}))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(reply.json(), serde_json::json!({"error": "signed_out"}));
    }

    // A resident: 403 on every referent route, nothing changed.
    let mut lucas = signed_in(&stack, "Lucas").await;
    let csrf = lucas.get("/members").await.csrf();
    for path in ["/admin", "/admin/members/new"] {
        assert_eq!(lucas.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(lucas.get("/admin").await.body.contains("Accès réservé"));
    for path in [
        "/admin/members".to_owned(),
        format!("/admin/members/{jeanne}/remove"),
        format!("/admin/join/{jeanne}/approve"),
        format!("/admin/join/{jeanne}/refuse"),
    ] {
        let reply = lucas
            .post(&path, &[("csrf", &csrf), ("first_name", "X"), ("last_name", "Y"), ("phone", "0639980160")])
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    let api = lucas.api(Method::DELETE, &format!("/api/members/{jeanne}"), None).await;
    assert_eq!(
        (api.status, api.json()),
        (StatusCode::FORBIDDEN, serde_json::json!({"error": "not_allowed"}))
    );
    let api = lucas
        .api(
            Method::POST,
            "/api/members",
            Some(serde_json::json!({"first_name": "X", "last_name": "Y", "phone": "0639980160"})),
        )
        .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert!(stack.store().member(stack.member("Jeanne").id).await.unwrap().is_some());
    assert!(!lucas.get("/").await.body.contains("Membres"), "no referent link for a resident");

    // The referent of another community: a member of Les Tilleuls is "not found" to Paul.
    let mut paul = signed_in(&stack, "Paul").await;
    let csrf = paul.get("/admin").await.csrf();
    let reply = paul.post(&format!("/admin/members/{jeanne}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let api = paul.api(Method::DELETE, &format!("/api/members/{jeanne}"), None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(stack.store().member(stack.member("Jeanne").id).await.unwrap().is_some());
    assert!(!paul.get("/admin").await.body.contains("Jeanne"));

    // Without the anti-CSRF token, even the right referent is refused.
    let mut marie = signed_in(&stack, "Marie").await;
    let reply = marie.post(&format!("/admin/members/{jeanne}/remove"), &[("csrf", "nope")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = marie.send(Method::DELETE, &format!("/api/members/{jeanne}"), &[], None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(stack.store().member(stack.member("Jeanne").id).await.unwrap().is_some());
}

#[tokio::test]
async fn the_referent_adds_and_removes_members() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut marie = signed_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert!(admin.body.contains("Karim Benali") && admin.body.contains("Aucune demande en attente."));
    assert!(marie.get("/").await.body.contains(">Membres</a>"), "the referent's link");
    let form = marie.get("/admin/members/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();

    // Someone without internet: a number only.
    let added = marie
        .post(
            "/admin/members",
            &[
                ("csrf", &csrf),
                ("first_name", "Denise"),
                ("last_name", "Lambert"),
                ("phone", "06 39 98 01 50"),
                ("sms_alerts", "on"),
            ],
        )
        .await;
    assert_eq!(
        (added.status, added.location()),
        (StatusCode::SEE_OTHER, Some("/admin?done=invited")),
        "{}",
        added.body
    );
    let denise =
        stack.store().member_by_phone(&"+33639980150".parse().unwrap()).await.unwrap().expect("registered");
    assert_eq!(denise.communities, ["les-tilleuls".parse().unwrap()]);
    assert!(denise.email.is_none() && denise.sms_alerts && !denise.email_alerts);
    assert!(denise.invited(), "her number waits for her OUI");
    assert!(marie.get("/admin?done=invited").await.body.contains("Denise Lambert"));
    // Her neighbours do not see a number its owner has not agreed to yet.
    let mut lucas = signed_in(&stack, "Lucas").await;
    let neighbours = lucas.get("/members").await;
    assert!(neighbours.body.contains("Denise L."), "{}", neighbours.body);
    assert_hidden(&neighbours, "+33639980150", "an invited number");
    stack.text(&stack.phone("Karim"), "Chien perdu vers le lavoir").await;
    relay.drain().await.unwrap();
    assert_eq!(stack.outbox().await.sms_to("+33639980150").count(), 1, "Denise gets the alerts by SMS");

    // A number or an address already registered (Paul's, in Le Moulin) is answered as any
    // other: the referent's form tells nobody who is registered (`web_taken.rs` has the rest).
    let taken = marie
        .post(
            "/admin/members",
            &[
                ("csrf", &csrf),
                ("first_name", "Paulette"),
                ("last_name", "Roux"),
                ("phone", "06.39.98.00.06"),
                ("sms_alerts", "on"),
            ],
        )
        .await;
    assert_eq!((taken.status, taken.location()), (StatusCode::SEE_OTHER, Some("/admin?done=invited")));
    let taken = marie
        .post(
            "/admin/members",
            &[
                ("csrf", &csrf),
                ("first_name", "Paulette"),
                ("last_name", "Roux"),
                ("email", "Paul.Roux@example.org"),
                ("email_alerts", "on"),
            ],
        )
        .await;
    assert_eq!((taken.status, taken.location()), (StatusCode::SEE_OTHER, Some("/admin?done=added")));
    let paul = stack.member("Paul");
    assert_eq!(
        stack.store().member_by_phone(paul.phone.as_ref().unwrap()).await.unwrap().unwrap().id,
        paul.id
    );
    // Nothing to reach them by, or a bad name: refused with the problems listed.
    let bad =
        marie.post("/admin/members", &[("csrf", &csrf), ("first_name", "Zoé"), ("last_name", "<b>")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r##"<a href="#phone">Indiquez un numéro de mobile ou une adresse e-mail.</a>"##),
        "{}",
        bad.body
    );
    assert!(bad.body.contains(r##"<a href="#last_name">"##));

    // Removing: not herself, not the police; Denise yes, and her number is free again.
    let marie_id = stack.member("Marie").id;
    let sophie_id = stack.member("Sophie").id;
    let page = marie.get("/admin").await;
    assert!(!page.body.contains(&format!("/admin/members/{marie_id}/remove")));
    assert!(!page.body.contains(&format!("/admin/members/{sophie_id}/remove")));
    for id in [marie_id, sophie_id] {
        let refused = marie.post(&format!("/admin/members/{id}/remove"), &[("csrf", &csrf)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    let removed = marie.post(&format!("/admin/members/{}/remove", denise.id), &[("csrf", &csrf)]).await;
    assert_eq!((removed.status, removed.location()), (StatusCode::SEE_OTHER, Some("/admin?done=removed")));
    assert!(stack.store().member(denise.id).await.unwrap().is_none());
    assert!(stack.store().member_by_phone(&"+33639980150".parse().unwrap()).await.unwrap().is_none());
    assert!(!marie.get("/admin").await.body.contains("Denise"));
    let again = marie.post(&format!("/admin/members/{}/remove", denise.id), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_person_asks_to_join_and_the_referent_approves_or_refuses() {
    let stack = Stack::demo().await;
    let mut visitor = WebClient::new(&stack);
    let start = visitor.get("/join").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    // One town: it is chosen already; its communities are offered.
    assert!(
        start.body.contains("Bellerive")
            && start.body.contains("Les Tilleuls")
            && start.body.contains("Le Moulin")
    );
    let csrf = start.csrf();
    let sent = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "Bellerive"),
                ("community", "les-tilleuls"),
                ("first_name", "Yasmine"),
                ("last_name", "Haddad"),
                ("email", "yasmine@example.org"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("Demande envoyée"));
    // Someone already registered gets the very same answer.
    let same = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "bellerive"),
                ("community", "les-tilleuls"),
                ("first_name", "Karim"),
                ("last_name", "Benali"),
                ("email", "karim.benali@example.org"),
            ],
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.body, sent.body);
    // Without the form's token: refused. Incomplete: said, field by field.
    let mut stranger = WebClient::new(&stack);
    assert_eq!(
        stranger.post("/join", &[("csrf", &csrf), ("community", "les-tilleuls")]).await.status,
        StatusCode::FORBIDDEN
    );
    let incomplete = visitor
        .post(
            "/join",
            &[("csrf", &csrf), ("town", "Bellerive"), ("first_name", "Yasmine"), ("last_name", "Haddad")],
        )
        .await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        incomplete.body.contains(r##"<a href="#community">Choisissez votre communauté.</a>"##),
        "{}",
        incomplete.body
    );
    assert!(incomplete.body.contains(r##"<a href="#phone">"##));
    // A community of another town, or none that exists: not accepted.
    let wrong = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "Bellerive"),
                ("community", "elsewhere"),
                ("first_name", "Y"),
                ("last_name", "H"),
                ("phone", "0639980170"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The limit per contact.
    for _ in 0..2 {
        visitor
            .post(
                "/join",
                &[
                    ("csrf", &csrf),
                    ("town", "Bellerive"),
                    ("community", "le-moulin"),
                    ("first_name", "Zed"),
                    ("last_name", "Z"),
                    ("phone", "0639980171"),
                ],
            )
            .await;
    }
    let limited = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "Bellerive"),
                ("community", "le-moulin"),
                ("first_name", "Zed"),
                ("last_name", "Z"),
                ("phone", "0639980171"),
            ],
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK);
    let limited = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "Bellerive"),
                ("community", "le-moulin"),
                ("first_name", "Zed"),
                ("last_name", "Z"),
                ("phone", "0639980171"),
            ],
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);

    // The referent of Les Tilleuls sees both requests; Paul sees neither.
    let requests = stack.store().join_requests(&"les-tilleuls".parse().unwrap()).await.unwrap();
    assert_eq!(requests.len(), 2);
    let yasmine = requests.iter().find(|r| r.first_name.as_str() == "Yasmine").unwrap().request_id;
    let karim = requests.iter().find(|r| r.first_name.as_str() == "Karim").unwrap().request_id;
    let mut paul = signed_in(&stack, "Paul").await;
    let paul_admin = paul.get("/admin").await;
    assert!(!paul_admin.body.contains("Yasmine"));
    let stolen = paul.post(&format!("/admin/join/{yasmine}/approve"), &[("csrf", &paul_admin.csrf())]).await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);

    let mut marie = signed_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await;
    assert!(admin.body.contains("Yasmine Haddad") && admin.body.contains("yasmine@example.org"));
    let csrf = admin.csrf();
    // Karim is a member already: the approval reads as any other (the referent learns nothing
    // of who is registered); Karim, in this community already, is asked nothing.
    let karim_phone = stack.phone("Karim");
    let before = stack.outbox().await.sms_to(&karim_phone).count();
    let approved = marie.post(&format!("/admin/join/{karim}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!((approved.status, approved.location()), (StatusCode::SEE_OTHER, Some("/admin?done=approved")));
    assert_eq!(stack.store().join_requests(&"les-tilleuls".parse().unwrap()).await.unwrap().len(), 1);
    assert_eq!(stack.outbox().await.sms_to(&karim_phone).count(), before);
    let approved = marie.post(&format!("/admin/join/{yasmine}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!((approved.status, approved.location()), (StatusCode::SEE_OTHER, Some("/admin?done=approved")));
    assert_eq!(
        marie.post(&format!("/admin/join/{yasmine}/approve"), &[("csrf", &csrf)]).await.status,
        StatusCode::NOT_FOUND,
        "once"
    );
    assert!(stack.store().join_requests(&"les-tilleuls".parse().unwrap()).await.unwrap().is_empty());
    let member = stack
        .store()
        .member_by_email(&"yasmine@example.org".parse().unwrap())
        .await
        .unwrap()
        .expect("a member now");
    assert_eq!(member.first_name.as_str(), "Yasmine");

    // She signs in with her address.
    let mut yasmine_web = WebClient::new(&stack);
    yasmine_web.ask_link("yasmine@example.org").await;
    let link = vigie_tests::web_client::signin_path(&stack, "yasmine@example.org").await.expect("a link");
    yasmine_web.use_link(&link).await;
    let feed = yasmine_web.get("/").await;
    assert!(feed.body.contains("Connecté en tant que <strong>Yasmine</strong>"), "{}", feed.body);
}

#[tokio::test]
async fn the_police_feed_is_merged_and_paged() {
    let stack = Stack::demo().await;
    let sophie = stack.member("Sophie").clone();
    // 25 alerts in each community, interleaved in time.
    for i in 0..25 {
        for community in ["les-tilleuls", "le-moulin"] {
            let id = ulid::Ulid::new().to_string();
            let alert = Alert {
                alert_id: AlertId::new(),
                community_id: community.parse().unwrap(),
                community_name: community.to_owned(),
                sender_id: sophie.id,
                sender_first_name: sophie.first_name.clone(),
                source: AlertSource::Police,
                text: AlertText::parse(&format!("Message {i} pour {community}")).unwrap(),
                created_at: 1_700_000_000_000 + i,
                inbound_message_id: Some(InboundMessageId::parse(&id).unwrap()),
                category: Some(Category::Other),
                sms_parts: 0,
                sms_withheld: None,
                police_called: None,
                closed: None,
                withdrawn: None,
            };
            stack
                .store()
                .record_inbound_alerts(&InboundMessageId::parse(&id).unwrap(), &[alert], None, &[], &[])
                .await
                .unwrap();
        }
    }
    let mut web = signed_in(&stack, "Sophie").await;
    let mut seen = Vec::new();
    let mut path = "/api/alerts".to_owned();
    for _ in 0..10 {
        let page = web.get(&path).await.json();
        let ids: Vec<String> =
            page["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
        seen.extend(ids);
        match page["next"].as_str() {
            Some(next) => path = format!("/api/alerts?after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 50, "every alert of both communities, once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted, seen, "newest first, no repeats");
    // The page has the same pager.
    let feed = web.get("/").await;
    assert!(feed.body.contains("Alertes plus anciennes"), "{}", feed.body);
}

#[tokio::test]
async fn a_number_the_referent_adds_gets_alerts_only_after_its_owner_says_oui() {
    use vigie_tests::Handled;
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let add = async |marie: &mut WebClient, first_name: &str, phone: &str| {
        let csrf = marie.get("/admin/members/new").await.csrf();
        let fields = [
            ("csrf", csrf.as_str()),
            ("first_name", first_name),
            ("last_name", "Lambert"),
            ("phone", phone),
            ("sms_alerts", "on"),
        ];
        let added = marie.post("/admin/members", &fields).await;
        assert_eq!(added.location(), Some("/admin?done=invited"), "{}", added.body);
    };
    add(&mut marie, "Denise", "06 39 98 01 60").await;
    add(&mut marie, "Odette", "06 39 98 01 61").await;
    let (denise, odette) = ("+33639980160", "+33639980161");
    let texts = async |number: &str| -> Vec<String> {
        stack.outbox().await.sms_to(number).map(|sms| sms.body.clone()).collect()
    };
    let invitation = texts(denise).await;
    assert_eq!(invitation.len(), 1);
    assert!(invitation[0].starts_with("vigie : Marie, référent de Les Tilleuls"), "{}", invitation[0]);

    // Before any answer: no alert, and nothing they text is raised.
    assert!(matches!(stack.text(&stack.phone("Karim"), "Fumée derrière l'école").await, Handled::Alerted(_)));
    drain_until_quiet(&mut relay).await;
    assert_eq!(texts(denise).await.len(), 1, "no alert before OUI");
    assert_eq!(stack.text(denise, "Qui êtes-vous ?").await, Handled::NotYetConfirmed);
    assert!(texts(denise).await[1].contains("répondez d'abord OUI"));

    // Odette says STOP: refused, and her referent sees it. Denise says OUI.
    assert_eq!(stack.text(odette, "STOP").await, Handled::SmsOff);
    assert_eq!(stack.text(denise, "oui !").await, Handled::InvitationAccepted);
    assert!(texts(denise).await[2].contains("c'est noté"));
    let admin = marie.get("/admin").await.body;
    assert!(admin.contains("SMS : refusé (STOP)"), "{admin}");

    // The next alert reaches Denise, not Odette; Denise may now raise one herself.
    assert!(matches!(stack.text(&stack.phone("Karim"), "Le feu est éteint").await, Handled::Alerted(_)));
    drain_until_quiet(&mut relay).await;
    assert!(texts(denise).await.iter().any(|t| t.contains("Le feu est éteint")));
    assert!(!texts(odette).await.iter().any(|t| t.contains("Le feu est éteint")));
    assert!(matches!(stack.text(denise, "Un chien sans collier rue Haute").await, Handled::Alerted(_)));
}

#[tokio::test]
async fn the_referent_sends_an_invitation_again_once_a_day_and_never_after_stop() {
    use vigie_tests::Handled;
    let stack = Stack::demo().await;
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let csrf = marie.get("/admin/members/new").await.csrf();
    for (first_name, phone) in [("Denise", "06 39 98 01 62"), ("Odette", "06 39 98 01 63")] {
        let fields = [
            ("csrf", csrf.as_str()),
            ("first_name", first_name),
            ("last_name", "Lambert"),
            ("phone", phone),
            ("sms_alerts", "on"),
        ];
        assert_eq!(marie.post("/admin/members", &fields).await.location(), Some("/admin?done=invited"));
    }
    let (denise, odette) = ("+33639980162", "+33639980163");
    let id_of = async |number: &str| {
        let phone = vigie::domain::PhoneNumber::parse(number).unwrap();
        stack.store().member_by_phone(&phone).await.unwrap().unwrap().id
    };
    let (denise_id, odette_id) = (id_of(denise).await, id_of(odette).await);
    let admin = marie.get("/admin").await;
    assert_eq!(admin.body.matches("/invite\"").count(), 2, "{}", admin.body);
    let csrf = admin.csrf();

    let again = marie.post(&format!("/admin/members/{denise_id}/invite"), &[("csrf", &csrf)]).await;
    assert_eq!(again.location(), Some("/admin?done=invited"), "{}", again.body);
    let texted = stack.outbox().await.sms_to(denise).count();
    assert_eq!(texted, 2, "the invitation, again");
    let third = marie.post(&format!("/admin/members/{denise_id}/invite"), &[("csrf", &csrf)]).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "{}", third.body);
    assert!(third.body.contains("déjà été renvoyée aujourd"), "{}", third.body);
    assert_eq!(stack.outbox().await.sms_to(denise).count(), 2, "once a day");

    // Odette said STOP: no button, and the route refuses.
    assert_eq!(stack.text(odette, "STOP").await, Handled::SmsOff);
    let before = stack.outbox().await.sms_to(odette).count();
    assert_eq!(marie.get("/admin").await.body.matches("/invite\"").count(), 1);
    let refused = marie.post(&format!("/admin/members/{odette_id}/invite"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(stack.outbox().await.sms_to(odette).count(), before, "nothing texted after STOP");
    // A confirmed member is not invited again either.
    let karim = stack.member("Karim").id;
    let refused = marie.post(&format!("/admin/members/{karim}/invite"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
