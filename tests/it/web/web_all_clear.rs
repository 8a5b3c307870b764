//! The all clear (`app::alerts::close`), against the emulator: the author, a referent or the
//! police close an alert from its page, the author by texting `FIN`; the feed says how it ended;
//! the all clear reaches exactly the neighbours the alert reached, by the channels that reached
//! them, once, its email threaded under the alert's; an alert nobody closed is shown as past
//! once its category's time is over.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use fan_out::handler::{Invocation, Progress, Work};
use infra::outbox::Outbox;
use vigie::adapters::now_ms;
use vigie::domain::{AlertSource, Category, Ending, MemberId};
use vigie::model::{Alert, Wave};
use vigie::ports::{AlertLog, Feed};
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

async fn newest_alert(stack: &Stack) -> Alert {
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 1).await.unwrap();
    page.items[0].alert.clone()
}

#[tokio::test]
async fn a_referent_closes_an_alert_from_its_page_and_the_feed_says_how_it_ended() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres").await;
    drain_until_quiet(&mut relay).await;
    let alert = newest_alert(&stack).await.alert_id;
    let page = format!("/alerts/{alert}");

    // Lucas, a neighbour, may not close it; Marie, the referent, may.
    let mut lucas = signed_in(&stack, "Lucas").await;
    let seen = lucas.get(&page).await;
    assert!(!seen.body.contains("Clore l"), "no form for Lucas");
    let refused =
        lucas.post(&format!("{page}/close"), &[("csrf", &seen.csrf()), ("ending", "resolved")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut marie = signed_in(&stack, "Marie").await;
    let form = marie.get(&page).await;
    assert!(form.body.contains("Comment s") && form.body.contains(r#"value="false_alarm""#), "{}", form.body);
    let csrf = form.csrf();
    let nothing = marie.post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "other")]).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "other needs a note");
    let long = "x".repeat(Ending::NOTE_MAX_CHARS + 1);
    let too_long = marie
        .post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "resolved"), ("note", &long)])
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let closed = marie
        .post(
            &format!("{page}/close"),
            &[("csrf", &csrf), ("ending", "false_alarm"), ("note", "C'était le nouveau facteur")],
        )
        .await;
    assert_eq!(closed.location(), Some(format!("/alerts/{alert}?closed=1").as_str()));
    let stored = stack.store().alert(alert).await.unwrap().unwrap().closed.expect("closed");
    assert_eq!((stored.ending, stored.by), (Ending::FalseAlarm, stack.member("Marie").id));

    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Terminée : Fausse alerte — C&#39;était le nouveau facteur (Marie,"), "{feed}");
    let again = marie.post(&format!("{page}/close"), &[("csrf", &csrf), ("ending", "resolved")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "closed once");
    assert!(!marie.get(&page).await.body.contains(r#"name="ending""#), "no form once closed");
}

/// Who got the alert of `author` by SMS and by email, from the outbox.
fn alert_recipients(outbox: &Outbox, author: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let texted = outbox.sms.iter().filter(|s| s.body.starts_with(author)).map(|s| s.to.clone()).collect();
    let subject = format!("Alerte de {author}");
    let emailed =
        outbox.emails.iter().filter(|e| e.subject.starts_with(&subject)).flat_map(|e| e.to.clone()).collect();
    (texted, emailed)
}

/// Who got the all clear by SMS and by email, from the outbox.
fn follow_up_recipients(outbox: &Outbox) -> (BTreeSet<String>, BTreeSet<String>) {
    let texted =
        outbox.sms.iter().filter(|s| s.body.starts_with("Fin d'alerte")).map(|s| s.to.clone()).collect();
    let emailed = outbox
        .emails
        .iter()
        .filter(|e| e.subject.starts_with("Re: Alerte de"))
        .flat_map(|e| e.to.clone())
        .collect();
    (texted, emailed)
}

#[tokio::test]
async fn the_all_clear_reaches_exactly_the_alerts_recipients_by_their_channels_once() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres").await;
    drain_until_quiet(&mut relay).await;
    let alert = newest_alert(&stack).await.alert_id;
    let (texted, emailed) = alert_recipients(&stack.outbox().await, "Karim");
    let (jeanne, lucas) = (stack.phone("Jeanne"), stack.phone("Lucas"));
    assert!(texted.contains(&jeanne) && texted.contains(&stack.phone("Marie")), "{texted:?}");
    assert!(!texted.contains(&lucas), "Lucas takes no SMS");
    assert!(
        emailed.contains(&stack.email("Lucas")) && emailed.contains(&stack.email("Chloé")),
        "{emailed:?}"
    );

    // Jeanne unticks SMS after the alert: she gets no text of its all clear.
    stack.text(&jeanne, "STOP").await;
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get(&format!("/alerts/{alert}")).await.csrf();
    let note = ("note", "C'était le nouveau facteur");
    marie.post(&format!("/alerts/{alert}/close"), &[("csrf", &csrf), ("ending", "false_alarm"), note]).await;
    drain_until_quiet(&mut relay).await;

    let outbox = stack.outbox().await;
    let (followed_sms, followed_email) = follow_up_recipients(&outbox);
    let expected_sms: BTreeSet<String> = texted.iter().filter(|to| **to != jeanne).cloned().collect();
    assert_eq!(followed_sms, expected_sms, "by SMS: those texted the alert, who still take SMS");
    assert_eq!(followed_email, emailed, "by email: those emailed the alert");
    let sms = outbox.sms.iter().find(|s| s.body.starts_with("Fin d'alerte")).unwrap();
    assert!(
        sms.body.contains("Karim : Un homme regarde") && sms.body.contains("fausse alerte"),
        "{}",
        sms.body
    );
    assert!(sms.body.contains("Marie (référent) : C'était le nouveau facteur"), "{}", sms.body);
    // Each email names the alert's email to the same neighbour: a mail client threads them.
    for to in &emailed {
        let first = outbox.emails_to(to).find(|e| e.subject.starts_with("Alerte de")).unwrap();
        let follow_up = outbox.emails_to(to).find(|e| e.subject.starts_with("Re: ")).unwrap();
        assert_eq!(follow_up.subject, format!("Re: {}", first.subject));
        let alert_id = first.header("Message-ID").expect("the alert's Message-ID");
        assert_eq!(follow_up.header("In-Reply-To"), Some(alert_id), "{to}");
        assert_eq!(follow_up.header("References"), Some(alert_id), "{to}");
        assert!(follow_up.list_unsubscribe.is_some());
        let text = follow_up.text.as_deref().unwrap_or_default();
        assert!(
            text.contains("est terminée : fausse alerte") && text.contains("C'était le nouveau facteur"),
            "{text}"
        );
    }

    // A replay of the all clear's record sends nothing more.
    let work = Work { alert, wave: Wave::FollowUp, after: None };
    let replay = fan_out::handler::run(&stack.fan_out(), &work, &Invocation::unbounded()).await.unwrap();
    let Some(Progress::Done(counts)) = replay else { panic!("{replay:?}") };
    let again = stack.outbox().await;
    assert_eq!((again.sms.len(), again.emails.len()), (outbox.sms.len(), outbox.emails.len()));
    // The report counts it, and the feed says it.
    let reached: BTreeSet<MemberId> = [&followed_sms, &followed_email]
        .into_iter()
        .flatten()
        .filter_map(|to| stack_member_of(&stack, to))
        .collect();
    assert_eq!(counts.recipients as usize, reached.len());
    assert_eq!(
        (counts.sms_sent as usize, counts.email_sent as usize),
        (followed_sms.len(), followed_email.len())
    );
    let report = stack.store().alert_report(alert).await.unwrap().unwrap().follow_up.expect("counted");
    assert_eq!(report.counts, counts);
    assert!(report.done_at.is_some());
    let mut lucas = signed_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert!(feed.contains(&format!("Fin d&#39;alerte transmise à {} voisins", reached.len())), "{feed}");
}

/// The demo member whose number or address is `to`.
fn stack_member_of(stack: &Stack, to: &str) -> Option<MemberId> {
    ["Marie", "Jeanne", "Lucas", "Chloé", "Sophie", "Karim"]
        .into_iter()
        .map(|name| stack.member(name))
        .find(|m| {
            m.phone.as_ref().is_some_and(|p| p.as_str() == to)
                || m.email.as_ref().is_some_and(|e| e.as_str() == to)
        })
        .map(|m| m.id)
}

#[tokio::test]
async fn an_alert_closed_while_it_goes_out_has_its_all_clear_follow_it() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    // Recorded, not yet fanned out: the referent closes it at once.
    stack.text(&stack.phone("Karim"), "Fumée derrière l'école").await;
    let alert = newest_alert(&stack).await.alert_id;
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get(&format!("/alerts/{alert}")).await.csrf();
    let closed =
        marie.post(&format!("/alerts/{alert}/close"), &[("csrf", &csrf), ("ending", "resolved")]).await;
    assert_eq!(closed.location(), Some(format!("/alerts/{alert}?closed=1").as_str()));
    drain_until_quiet(&mut relay).await;

    let outbox = stack.outbox().await;
    let (texted, emailed) = alert_recipients(&outbox, "Karim");
    assert!(!texted.is_empty() && !emailed.is_empty());
    assert_eq!(follow_up_recipients(&outbox), (texted.clone(), emailed), "everyone the alert reached");
    for to in &texted {
        let bodies: Vec<&str> = outbox.sms_to(to).map(|s| s.body.as_str()).collect();
        let first = bodies.iter().position(|b| b.starts_with("Karim")).unwrap();
        let then = bodies.iter().position(|b| b.starts_with("Fin d'alerte")).unwrap();
        assert!(first < then, "{to}: the all clear after the alert: {bodies:?}");
        assert_eq!(bodies.iter().filter(|b| b.starts_with("Fin d'alerte")).count(), 1, "{to}: once");
    }
}

#[tokio::test]
async fn the_author_closes_their_alert_by_texting_fin_once() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let jeanne = stack.phone("Jeanne");
    stack.text(&jeanne, "Camionnette blanche arrêtée devant le 12").await;
    drain_until_quiet(&mut relay).await;
    let alert = newest_alert(&stack).await.alert_id;

    let event = stack.sms_event(&jeanne, "FIN c'était le livreur", "fin-jeanne-1");
    let handled = stack.invoke_inbound(event.clone()).await.unwrap();
    assert_eq!(format!("{handled:?}"), "[Closed]");
    let closure = stack.store().alert(alert).await.unwrap().unwrap().closed.expect("closed");
    assert_eq!(closure.ending, Ending::Resolved);
    assert_eq!(closure.note.as_ref().map(|n| n.as_str()), Some("c'était le livreur"));
    let replies = stack.outbox().await.sms_to(&jeanne).count();
    assert!(stack.outbox().await.sms_to(&jeanne).last().unwrap().body.contains("votre alerte est close"));
    // The same message again: closed by itself, answered once.
    assert_eq!(format!("{:?}", stack.invoke_inbound(event).await.unwrap()), "[Closed]");
    assert_eq!(stack.outbox().await.sms_to(&jeanne).count(), replies);
    // A second FIN finds it closed; a FIN from Karim, who raised nothing, closes nothing and
    // raises nothing.
    assert_eq!(format!("{:?}", stack.text(&jeanne, "FIN").await), "NothingToClose");
    assert_eq!(format!("{:?}", stack.text(&stack.phone("Karim"), "Fin").await), "NothingToClose");
    drain_until_quiet(&mut relay).await;
    assert_eq!(newest_alert(&stack).await.alert_id, alert, "no alert raised");
    // Her neighbours who got the alert by SMS get its end by SMS, once.
    let outbox = stack.outbox().await;
    let (texted, _) = alert_recipients(&outbox, "Jeanne");
    assert_eq!(follow_up_recipients(&outbox).0, texted);
    let marie = stack.phone("Marie");
    let end = outbox.sms_to(&marie).find(|s| s.body.starts_with("Fin d'alerte")).unwrap();
    assert!(end.body.contains("c'est réglé. Jeanne : c'était le livreur"), "{}", end.body);

    let mut lucas = signed_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Terminée : C&#39;est réglé — c&#39;était le livreur (Jeanne,"), "{feed}");
}

#[tokio::test]
async fn an_alert_nobody_closed_is_past_once_its_category_time_is_over() {
    let stack = Stack::demo().await;
    // A suspicious person is news for 6 hours, a lost animal for 24.
    let seven_hours_ago = now_ms() - 7 * 3_600_000;
    for (text, category) in [("Rôdeur vu hier soir", Category::Suspicious), ("Chat perdu", Category::Animal)]
    {
        stack.record_alert("Karim", text, (AlertSource::Web, Some(category)), seven_hours_ago).await;
    }
    let mut lucas = signed_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert_eq!(feed.matches("Alerte passée").count(), 1, "{feed}");
    let rodeur = feed.find("Rôdeur vu hier soir").unwrap();
    let past = feed.find("Alerte passée").unwrap();
    let chat = feed.find("Chat perdu").unwrap();
    assert!(rodeur < past && (chat < rodeur || past < chat), "the past mark is on the prowler");
}
