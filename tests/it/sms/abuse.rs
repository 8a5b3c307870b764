//! The abuse table of `docs/reliability.md`: the most an attacker can make vigie send in an
//! hour, measured by trying far more than any limit allows, against the emulator (SMS parts and
//! emails counted in its outbox), with the limits of `template.yaml`'s defaults. Each figure is
//! asserted to be the cap it comes from, so a limit that loosens or stops holding fails here.

use axum::http::StatusCode;
use infra::outbox::Outbox;
use vigie::domain::count_segments;
use vigie_tests::web_client::WebClient;
use vigie_tests::{Handled, Stack, drain_until_quiet};

/// What was sent between two looks at the outbox.
#[derive(Debug, Default, PartialEq, Eq)]
struct Sent {
    sms: usize,
    parts: usize,
    emails: usize,
}

fn sent_since(before: &Outbox, after: &Outbox) -> Sent {
    let sms = &after.sms[before.sms.len()..];
    Sent {
        sms: sms.len(),
        parts: sms.iter().map(|s| count_segments(&s.body).segments).sum(),
        emails: after.emails.len() - before.emails.len(),
    }
}

/// The stack as deployed with the template's defaults (the harness's lifts none of the limits
/// measured here).
async fn stack() -> Stack {
    let stack = Stack::demo().await;
    let c = &stack.config;
    assert_eq!(
        (c.signin_links_per_ip_per_hour, c.alerts_per_hour, c.reply_caps.unknown_per_hour),
        (30, 5, 10),
        "the template's defaults"
    );
    assert_eq!((c.reply_caps.unknown_per_range_per_hour, c.reply_caps.member_per_day), (2, 10));
    stack
}

#[tokio::test]
async fn an_anonymous_attacker_makes_vigie_send_at_most_the_caps() {
    let stack = stack().await;
    let before = stack.outbox().await;

    // Sign-in links: 200 requests from one network, spraying every member's address (5 links
    // an hour each would make 45). The network's 30 requests an hour, whatever the addresses.
    let addresses: Vec<String> =
        stack.members.iter().filter_map(|m| m.email.as_ref().map(ToString::to_string)).collect();
    assert!(addresses.len() * 5 > 30, "enough addresses to reach the network's cap");
    let mut web = WebClient::new(&stack);
    for i in 0..200 {
        let reply = web.ask_link(&addresses[i % addresses.len()]).await;
        assert!(matches!(reply.status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS), "{}", reply.status);
    }
    let links = sent_since(&before, &stack.outbox().await);
    assert_eq!(links, Sent { sms: 0, parts: 0, emails: 30 }, "sign-in spray");

    // Join requests: 50 from the same network. They are stored for the referent, sent nowhere.
    let before = stack.outbox().await;
    for i in 0..50 {
        let form = web.get("/join").await;
        let csrf = form.csrf();
        let email = format!("joiner{i}@example.org");
        web.post(
            "/join",
            &[
                ("csrf", csrf.as_str()),
                ("first_name", "Alex"),
                ("last_name", "Martin"),
                ("email", email.as_str()),
                ("town", "Bellerive"),
                ("community", "les-tilleuls"),
            ],
        )
        .await;
    }
    assert_eq!(sent_since(&before, &stack.outbox().await), Sent::default(), "join spray");

    // Unknown numbers texting the shared number: 60 numbers of one range of 100,000, then 60 of
    // 60 ranges. 2 replies a range an hour, 10 for the whole service.
    let before = stack.outbox().await;
    let mut answered = 0;
    for i in 0..60 {
        for from in [format!("+336120{i:05}"), format!("+3361{:02}00000", 30 + i)] {
            if let Handled::Unknown { answered: true } = stack.text(&from, "Bonjour, c'est qui ?").await {
                answered += 1;
            }
        }
    }
    let replies = sent_since(&before, &stack.outbox().await);
    assert_eq!((answered, replies.sms), (10, 10), "unknown numbers");
    println!(
        "abuse, anonymous: sign-in spray {links:?}; unknown numbers {replies:?} ({answered} answered of 120)"
    );
}

#[tokio::test]
async fn a_malicious_member_makes_vigie_send_at_most_the_caps() {
    let stack = stack().await;
    let mut relay = stack.relay().await;
    let marie = stack.phone("Marie");
    let community = stack.member("Marie").communities[0].clone();
    let neighbours_by_sms = stack
        .members
        .iter()
        .filter(|m| m.communities.contains(&community) && m.phone.is_some() && m.sms_alerts)
        .filter(|m| m.first_name.as_str() != "Marie")
        .count();
    let before = stack.outbox().await;

    // 30 alerts as long as an alert may be, texted as fast as she can, and 20 HELPs.
    let text = "Camionnette blanche sans plaque qui tourne depuis une heure rue des Lilas, \
                deux hommes regardent les boîtes aux lettres et les garages ouverts, ils \
                sont repartis vers la place du Marché. Prévenez-moi si vous les revoyez.";
    let mut alerted = 0;
    for i in 0..30 {
        if let Handled::Alerted(_) = stack.text(&marie, &format!("{text} ({i})")).await {
            alerted += 1;
        }
    }
    for _ in 0..20 {
        stack.text(&marie, "AIDE").await;
    }
    drain_until_quiet(&mut relay).await;
    let alerts = sent_since(&before, &stack.outbox().await);
    let to_neighbours = alerts.sms - stack.outbox().await.sms_to(&marie).count();
    assert_eq!(alerted, 5, "the hourly limit of alerts");
    assert_eq!(to_neighbours, 5 * neighbours_by_sms, "each alert to each neighbour by SMS, once");
    let to_her = stack.outbox().await.sms_to(&marie).count();
    assert_eq!(to_her, 5 + 10, "a confirmation per alert, and 10 replies a day, no more");

    // Confirmation codes: 10 numbers typed on her settings page. 3 codes an hour.
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let before = stack.outbox().await;
    for i in 0..10 {
        let page = web.get("/settings").await;
        let csrf = page.csrf();
        let phone = format!("06 12 34 57 {i:02}");
        web.post(
            "/settings",
            &[
                ("csrf", csrf.as_str()),
                ("first_name", "Marie"),
                ("phone", phone.as_str()),
                ("email_alerts", "on"),
            ],
        )
        .await;
    }
    let codes = sent_since(&before, &stack.outbox().await);
    assert_eq!(codes.sms, 3, "codes");
    println!(
        "abuse, member: {alerted} alerts to {neighbours_by_sms} neighbours by SMS: {alerts:?} \
         ({to_her} texts to herself); codes {codes:?}"
    );
}

#[tokio::test]
async fn a_malicious_referent_makes_vigie_text_at_most_twenty_strangers_a_day() {
    let stack = stack().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let before = stack.outbox().await;
    let mut refused = 0;
    for i in 0..40 {
        let phone = format!("06 12 34 58 {i:02}");
        let added = web
            .api(
                axum::http::Method::POST,
                "/api/members",
                Some(serde_json::json!({"first_name": "Denise", "last_name": "Lambert", "phone": phone})),
            )
            .await;
        match added.status {
            StatusCode::CREATED => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}: {}", added.body),
        }
    }
    let adding = sent_since(&before, &stack.outbox().await);
    assert_eq!((adding.sms, refused), (20, 20), "20 invitations a day per community, the rest refused");
    assert!(stack.outbox().await.sms[before.sms.len()..].iter().all(|s| s.body.contains("Répondez OUI")));
    println!("abuse, referent: 40 members with a number tried, {refused} refused, {adding:?}");
}
