//! SMS pumping and loops (issue 11, item 3): numbers outside the allowed countries are refused
//! at every door and never texted; replies are capped (unknown numbers per hour and per range,
//! one member per day), counted once per inbound message; our own identities and our own texts
//! coming back are ignored; an auto-responder played against the service stops after a few
//! messages. Everything is counted in the emulator's outbox.

use axum::http::{Method, StatusCode};
use inbound_sms::handler::Ignored;
use infra::relay::{Invoker, Relay};
use vigie::domain::{Member, PhoneNumber, parse_import};
use vigie::ports::{MemberLookup, Membership};
use vigie_tests::web_client::WebClient;
use vigie_tests::{Handled, SHARED_NUMBER, Stack, drain_until_quiet};

/// A British mobile number (Ofcom's drama range), outside France and overseas France.
const BRITISH: &str = "+447700900123";
/// The Comoros: Mayotte's calling code until 2007, no longer French.
const COMOROS: &str = "+2693212345";

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

/// The page's words for it (`i18n.rs`), the apostrophe left out (the page escapes it).
fn refused_on_the_page(body: &str) -> bool {
    body.contains("envoie pas de SMS vers ce pays")
}

#[tokio::test]
async fn a_number_outside_the_allowed_countries_is_refused_at_every_door() {
    let stack = Stack::demo().await;
    let taken = |phone: &str| {
        let phone: PhoneNumber = phone.parse().unwrap();
        let store = stack.store().clone();
        async move { store.member_by_phone(&phone).await.unwrap() }
    };

    // The settings page and PATCH /api/me (Chloé has no number yet).
    let mut chloe = signed_in(&stack, "Chloé").await;
    let page = chloe.get("/settings").await;
    let saved = chloe
        .post(
            "/settings",
            &[
                ("csrf", &page.csrf()),
                ("first_name", "Chloé"),
                ("phone", "+44 7700 900123"),
                ("email_alerts", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", saved.body);
    assert!(refused_on_the_page(&saved.body), "the page says why: {}", saved.body);
    for phone in [BRITISH, COMOROS] {
        let patched = chloe.api(Method::PATCH, "/api/me", Some(serde_json::json!({ "phone": phone }))).await;
        assert_eq!(
            (patched.status, patched.json()),
            (StatusCode::UNPROCESSABLE_ENTITY, serde_json::json!({"error": "phone_country_not_allowed"})),
            "{phone}"
        );
    }
    assert!(stack.store().member(stack.member("Chloé").id).await.unwrap().unwrap().phone.is_none());
    // Overseas France is France: a Guadeloupe number is taken, and texted its code.
    let patched =
        chloe.api(Method::PATCH, "/api/me", Some(serde_json::json!({"phone": "0690 12 34 56"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.json()["phone_pending"], "+590690123456", "{}", patched.body);
    assert_eq!(stack.outbox().await.sms_to("+590690123456").count(), 1, "its code");
    let page = chloe.get("/settings").await;
    assert!(page.body.contains("06 90 12 34 56"), "shown as it is written in Guadeloupe: {}", page.body);

    // The referent's form and POST /api/members.
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get("/admin/members/new").await.csrf();
    let added = marie
        .post(
            "/admin/members",
            &[("csrf", &csrf), ("first_name", "Denise"), ("last_name", "Lambert"), ("phone", BRITISH)],
        )
        .await;
    assert_eq!(added.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", added.body);
    assert!(refused_on_the_page(&added.body), "{}", added.body);
    let api = marie
        .api(
            Method::POST,
            "/api/members",
            Some(serde_json::json!({"first_name": "Denise", "last_name": "Lambert", "phone": COMOROS})),
        )
        .await;
    assert_eq!(
        (api.status, api.json()),
        (StatusCode::UNPROCESSABLE_ENTITY, serde_json::json!({"error": "phone_country_not_allowed"}))
    );

    // The join form.
    let mut visitor = WebClient::new(&stack);
    let csrf = visitor.get("/join").await.csrf();
    let join = visitor
        .post(
            "/join",
            &[
                ("csrf", &csrf),
                ("town", "Bellerive"),
                ("community", "les-tilleuls"),
                ("first_name", "Tom"),
                ("last_name", "Smith"),
                ("phone", BRITISH),
            ],
        )
        .await;
    assert_eq!(join.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", join.body);
    assert!(refused_on_the_page(&join.body), "{}", join.body);
    let requests = stack.store().join_requests(&"les-tilleuls".parse().unwrap()).await.unwrap();
    assert!(requests.is_empty(), "no request stored: {requests:?}");

    // The town hall's import, as `vigie-local seed` reads it: the row and its line.
    let import = r#"{"communities": [{"id": "la-gare", "name": "La Gare", "town": "Bellerive"}],
"members": [
  {"communities": ["la-gare"], "first_name": "Tom", "last_name": "Smith", "phone": "+44 7700 900123", "role": "resident"}
]}"#;
    let errors = parse_import(import, &stack.config.sms_countries).expect_err("refused");
    assert_eq!((errors.0.len(), errors.0[0].line), (1, 3), "{errors}");
    assert!(errors.to_string().contains("country"), "{errors}");

    for phone in [BRITISH, COMOROS] {
        assert!(taken(phone).await.is_none(), "{phone} registered nowhere");
    }
    let texted: Vec<String> = stack.outbox().await.sms.iter().map(|sms| sms.to.clone()).collect();
    assert_eq!(texted, ["+590690123456"], "nothing texted but the Guadeloupe number's code");
}

/// Gives `name`'s member another number straight in the store, as a number stored before the
/// rule would be.
async fn renumber(stack: &Stack, name: &str, phone: &str) -> Member {
    let before = stack.store().member(stack.member(name).id).await.unwrap().unwrap();
    let after = Member { phone: Some(phone.parse().unwrap()), ..before.clone() };
    stack.store().update_member(&before, &after).await.unwrap();
    after
}

#[tokio::test]
async fn no_reply_ever_to_a_number_outside_the_countries_and_no_sms_to_a_stored_one() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    // Strangers abroad, whatever they send.
    for (from, body) in [(BRITISH, "Hello?"), (COMOROS, "AIDE"), ("+15551234567", "STOP"), (BRITISH, "")] {
        assert_eq!(stack.text(from, body).await, Handled::Ignored(Ignored::OutsideCountries), "{from}");
    }
    // Karim's number was stored abroad before the rule: his texts are not answered nor raised.
    let karim = renumber(&stack, "Karim", "+447700900456").await;
    let karim_phone = karim.phone.as_ref().unwrap().to_string();
    assert_eq!(stack.text(&karim_phone, "AIDE").await, Handled::Ignored(Ignored::OutsideCountries));
    assert_eq!(
        stack.text(&karim_phone, "Camion suspect rue Haute").await,
        Handled::Ignored(Ignored::OutsideCountries)
    );
    assert_eq!(drain_until_quiet(&mut relay).await.delivered, 0, "no alert");
    assert!(stack.outbox().await.sms.is_empty(), "no SMS at all");

    // A neighbour's alert reaches him by email only.
    assert!(matches!(stack.text(&stack.phone("Marie"), "Portail du parc ouvert").await, Handled::Alerted(_)));
    drain_until_quiet(&mut relay).await;
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(&karim_phone).count(), 0, "no SMS to a number outside the countries");
    assert_eq!(outbox.emails_to(&stack.email("Karim")).count(), 1, "email still");
    assert_eq!(outbox.sms_to(&stack.phone("Jeanne")).count(), 1, "the others get theirs");

    // His own alert, raised on the page, is confirmed by email, not by SMS.
    let paul = renumber(&stack, "Paul", "+447700900789").await;
    let mut web = signed_in(&stack, "Paul").await;
    let alerted = web
        .api(
            Method::POST,
            "/api/alerts",
            Some(serde_json::json!({
                "category": "animal",
                "text": "Chien errant au moulin",
                "submission_id": ulid::Ulid::new().to_string(),
            })),
        )
        .await;
    assert_eq!(alerted.status, StatusCode::CREATED, "{}", alerted.body);
    drain_until_quiet(&mut relay).await;
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(paul.phone.as_ref().unwrap().as_str()).count(), 0);
    let confirmations =
        outbox.emails_to(&stack.email("Paul")).filter(|e| e.subject == "Votre alerte vigie").count();
    assert_eq!(confirmations, 1, "the confirmation goes by email");
}

#[tokio::test]
async fn replies_to_unknown_numbers_are_capped_per_range_and_for_the_service_counted_once() {
    let stack = Stack::start_with(|config| {
        config.reply_caps.unknown_per_hour = 3;
        config.reply_caps.unknown_per_range_per_hour = 2;
    })
    .await;
    // Three numbers of one block of 100,000 (+336123...), two of another (+336124...).
    let (a1, a2, a3) = ("+33612300001", "+33612300002", "+33612399999");
    let (b1, b2) = ("+33612400001", "+33612400002");
    let first = stack.sms_event(a1, "Bonjour", "unknown-a1");
    for _ in 0..3 {
        // SNS delivers the same message again: answered once, counted once.
        assert_eq!(
            stack.invoke_inbound(first.clone()).await.unwrap(),
            vec![Handled::Unknown { answered: true }]
        );
    }
    assert_eq!(stack.text(a2, "Bonjour").await, Handled::Unknown { answered: true });
    assert_eq!(stack.text(a3, "Bonjour").await, Handled::Unknown { answered: false }, "the range's cap");
    assert_eq!(stack.text(b1, "Bonjour").await, Handled::Unknown { answered: true });
    assert_eq!(stack.text(b2, "Bonjour").await, Handled::Unknown { answered: false }, "the service's cap");
    let outbox = stack.outbox().await;
    let texted: Vec<&str> = outbox.sms.iter().map(|sms| sms.to.as_str()).collect();
    assert_eq!(texted, [a1, a2, b1], "one reply each, within the caps");

    // Our own identities and our own texts coming back are never answered.
    assert_eq!(stack.text(SHARED_NUMBER, "Bonjour").await, Handled::Dropped("from our own identity"));
    let echo = outbox.sms[0].body.clone();
    assert_eq!(stack.text("+33612500001", &echo).await, Handled::Ignored(Ignored::OurText));
    assert_eq!(stack.outbox().await.sms.len(), 3);
}

#[tokio::test]
async fn replies_to_one_member_are_capped_per_day() {
    let stack = Stack::start_with(|config| config.reply_caps.member_per_day = 3).await;
    let mut stack = stack;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let jeanne = stack.phone("Jeanne");
    for _ in 0..3 {
        assert_eq!(stack.text(&jeanne, "AIDE").await, Handled::Help);
    }
    assert_eq!(stack.text(&jeanne, "AIDE").await, Handled::Unanswered(Box::new(Handled::Help)));
    // STOP still applies, unconfirmed.
    assert_eq!(stack.text(&jeanne, "STOP").await, Handled::Unanswered(Box::new(Handled::SmsOff)));
    assert!(!stack.store().member(stack.member("Jeanne").id).await.unwrap().unwrap().sms_alerts);
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), 3);
    // Another member's replies are their own.
    assert_eq!(stack.text(&stack.phone("Marie"), "AIDE").await, Handled::Help);
}

/// Plays a phone that answers every SMS the service sends to `phone` with `answer(sms)`, texting
/// it back to the shared number, until the service sends nothing more (or `max` messages were
/// sent, a loop). The fan-out runs between turns. Answers how many messages the phone sent.
async fn play_auto_responder<I: Invoker>(
    stack: &Stack,
    relay: &mut Relay<I>,
    phone: &str,
    answer: impl Fn(&str) -> String,
    max: usize,
) -> usize {
    let mut seen = 0;
    let mut sent = 0;
    while sent < max {
        drain_until_quiet(relay).await;
        let outbox = stack.outbox().await;
        let received: Vec<String> = outbox.sms_to(phone).map(|sms| sms.body.clone()).collect();
        if received.len() == seen {
            break;
        }
        for body in &received[seen..] {
            stack.text(phone, &answer(body)).await;
            sent += 1;
        }
        seen = received.len();
    }
    sent
}

/// A loop that is never broken sends at least this many messages.
const LOOP: usize = 60;

#[tokio::test]
async fn an_auto_responder_member_stops_after_a_few_messages() {
    let mut stack = Stack::start_with(|config| {
        config.alerts_per_hour = 2;
        config.reply_caps.member_per_day = 3;
    })
    .await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let jeanne = stack.phone("Jeanne");
    // An out-of-office answer: each one is a new message.
    assert!(matches!(
        stack.text(&stack.phone("Marie"), "Voiture suspecte rue des Lilas").await,
        Handled::Alerted(_)
    ));
    let sent =
        play_auto_responder(&stack, &mut relay, &jeanne, |_| "Je suis absent jusqu'au 15 août.".into(), LOOP)
            .await;
    // Marie's alert, then each of Jeanne's alerts within the hour's budget and its
    // confirmation, then the replies of the day: and nothing more.
    let bound = 1 + 2 + 3;
    assert!(sent <= bound, "the exchange stops: {sent} messages from the auto-responder (at most {bound})");
    let texts = stack.outbox().await.sms_to(&jeanne).count();
    assert_eq!(texts, sent, "each SMS to Jeanne was answered, the last answer got nothing back");
    assert!(matches!(stack.text(&jeanne, "Je suis absent").await, Handled::Unanswered(_)));
}

#[tokio::test]
async fn an_echoing_phone_stops_at_once() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    assert!(matches!(
        stack.text(&stack.phone("Marie"), "Voiture suspecte rue des Lilas").await,
        Handled::Alerted(_)
    ));
    drain_until_quiet(&mut relay).await;
    // Karim's phone sends back the alert it got, Marie's her confirmation: both are ours.
    for name in ["Karim", "Marie"] {
        let phone = stack.phone(name);
        let sent = play_auto_responder(&stack, &mut relay, &phone, str::to_owned, LOOP).await;
        assert_eq!(sent, 1, "{name}'s echo gets nothing back");
        assert_eq!(stack.outbox().await.sms_to(&phone).count(), 1, "{name}");
    }
    let last = stack.outbox().await.sms_to(&stack.phone("Karim")).next().unwrap().body.clone();
    assert_eq!(stack.text(&stack.phone("Karim"), &last).await, Handled::Ignored(Ignored::OurText));
    assert_eq!(drain_until_quiet(&mut relay).await.delivered, 0, "the echo raised no alert");
}

#[tokio::test]
async fn an_auto_responder_unknown_number_stops_after_one_reply() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    for (n, answer) in [
        (
            1,
            Box::new(|_: &str| "Je suis absent, je vous rappelle.".to_owned()) as Box<dyn Fn(&str) -> String>,
        ),
        (2, Box::new(str::to_owned)),
    ] {
        let stranger = format!("+3363998900{n}");
        stack.text(&stranger, "Bonjour").await;
        let sent = play_auto_responder(&stack, &mut relay, &stranger, answer, LOOP).await;
        assert_eq!(sent, 1, "one reply, answered once, then silence");
        assert_eq!(stack.outbox().await.sms_to(&stranger).count(), 1);
    }
}
