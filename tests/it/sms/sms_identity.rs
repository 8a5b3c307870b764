//! Origination identities and the opt-outs vigie owns (issue 9, items 2 and 3): every keyword AWS
//! End User Messaging answers by default, answered by vigie in French and English; a START that
//! takes the number off the account's opt-out list (the emulator's pre-seeded opted-out numbers);
//! only messages to the shared number handled; replies from the shared number, alerts from the
//! alert sender, read from the requests the functions really send, as the gateway's SMS rule
//! (what End User Messaging does) judged them.

use aws_sdk_dynamodb::types::AttributeValue;
use infra::gateway::sms::Judged;
use infra::sms_account::PublishOutcome;
use vigie::domain::{
    self, Keyword, Language, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, OriginationIdentity, SharedNumber,
};
use vigie::ports::{AlertLog, Ledger, MemberLookup};
use vigie_tests::{Handled, SHARED_NUMBER, Stack};

/// A number moto pre-seeds on the account's SMS opt-out list (`ListPhoneNumbersOptedOut`), and a
/// second one.
const OPTED_OUT_AT_AWS: &str = "+447420500600";
const ALSO_OPTED_OUT_AT_AWS: &str = "+447420505401";

#[tokio::test]
async fn every_keyword_aws_answers_by_default_is_answered_by_vigie_in_its_language() {
    // Every keyword is answered: more replies to one number than a day's cap allows.
    let mut stack = Stack::start_with(|c| c.reply_caps.member_per_day = 1000).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let jeanne = stack.phone("Jeanne");
    let last_reply =
        |outbox: infra::outbox::Outbox| outbox.sms_to(&jeanne).last().expect("a reply").body.clone();

    for (keyword, language) in OPT_OUT_KEYWORDS {
        let written = keyword.to_uppercase();
        assert_eq!(stack.text(&jeanne, &written).await, Handled::SmsOff, "{written}");
        assert_eq!(last_reply(stack.outbox().await), domain::stop_reply(*language), "{written}");
        let member = stack.store().member_by_phone(&jeanne.parse().unwrap()).await.unwrap().unwrap();
        assert!(!member.sms_alerts, "{written} turns SMS alerts off");
        // Back on, for the next keyword.
        let (start, start_language) = OPT_IN_KEYWORDS[0];
        assert_eq!(stack.text(&jeanne, start).await, Handled::SmsOn);
        assert_eq!(last_reply(stack.outbox().await), domain::start_reply(start_language));
    }
    for (keyword, language) in OPT_IN_KEYWORDS {
        assert_eq!(stack.text(&jeanne, "stop").await, Handled::SmsOff);
        assert_eq!(stack.text(&jeanne, &keyword.to_uppercase()).await, Handled::SmsOn, "{keyword}");
        assert_eq!(last_reply(stack.outbox().await), domain::start_reply(*language), "{keyword}");
        let member = stack.store().member_by_phone(&jeanne.parse().unwrap()).await.unwrap().unwrap();
        assert!(member.sms_alerts, "{keyword} turns SMS alerts back on");
    }
    assert_eq!(stack.text(&jeanne, "Help").await, Handled::Help);
    assert!(
        last_reply(stack.outbox().await).starts_with("vigie: text your alert"),
        "HELP is answered in English"
    );
    assert_eq!(stack.text(&jeanne, "aide").await, Handled::Help);
    assert!(last_reply(stack.outbox().await).starts_with("vigie : envoyez"), "AIDE is answered in French");
    // Every reply is one GSM-7 segment.
    for sms in stack.outbox().await.sms_to(&jeanne) {
        let count = domain::count_segments(&sms.body);
        assert_eq!((count.encoding, count.segments), (domain::Encoding::Gsm7, 1), "{}", sms.body);
    }
    // None of them became an alert.
    assert_eq!(relay.drain().await.unwrap().delivered, 0);
}

#[tokio::test]
async fn a_message_that_begins_with_a_keyword_is_read_as_aws_reads_it_or_asked_about() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let karim = stack.phone("Karim");

    // The keyword and polite words: the keyword, as AWS would have it.
    assert_eq!(stack.text(&karim, "STOP merci").await, Handled::SmsOff);
    assert_eq!(stack.text(&karim, "Unstop please").await, Handled::SmsOn);
    assert_eq!(
        stack.outbox().await.sms_to(&karim).last().unwrap().body,
        domain::start_reply(Language::English)
    );

    // An alert that begins with one: neither an opt-out nor an alert; the sender is asked.
    let before = stack.outbox().await.sms.len();
    assert_eq!(stack.text(&karim, "Arrêt de bus vandalisé rue des Lilas").await, Handled::KeywordFirst);
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms.len(), before + 1, "one reply, to the sender only");
    let reply = &outbox.sms_to(&karim).last().unwrap().body;
    assert_eq!(reply, &domain::keyword_first_reply("ARRET", Keyword::Stop, Language::French));
    let member = stack.store().member_by_phone(&karim.parse().unwrap()).await.unwrap().unwrap();
    assert!(member.sms_alerts, "not opted out");
    assert_eq!(
        stack.text(&karim, "End of the road blocked by a truck").await,
        Handled::KeywordFirst,
        "nor in English"
    );
    assert_eq!(relay.drain().await.unwrap().delivered, 0, "nothing broadcast");

    // A call for help is an alert.
    assert!(matches!(
        stack.text(&karim, "Aide ! un homme est tombé rue des Lilas").await,
        Handled::Alerted(_)
    ));
    assert_eq!(relay.drain().await.unwrap().delivered, 1);
}

/// A deployment that also texts the United Kingdom, where moto's pre-seeded opted-out numbers
/// are.
fn with_the_uk(config: &mut vigie::config::Config) {
    config.sms_countries = vigie::domain::AllowedCountries::parse("33, 44").unwrap();
}

/// Two residents of La Gare whose numbers moto keeps on its opted-out list, and a neighbour.
const OPTED_OUT_RESIDENTS: &str = r#"{
  "communities": [{ "id": "la-gare", "name": "La Gare", "town": "Bellerive" }],
  "members": [
    { "communities": ["la-gare"], "first_name": "Amy", "last_name": "Clark", "phone": "+447420500600", "sms_consent": "2026-11-02", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "Cara", "last_name": "Jones", "phone": "+447420505401", "sms_consent": "2026-11-02", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "Bruno", "last_name": "Petit", "phone": "+33639980051", "sms_consent": "2026-11-02", "email": "bruno@example.org", "role": "resident" }
  ]
}"#;

async fn opted_out_at_aws(stack: &Stack) -> Vec<String> {
    let sns = aws_sdk_sns::Client::new(&stack.sdk);
    sns.list_phone_numbers_opted_out().send().await.unwrap().phone_numbers.unwrap_or_default()
}

#[tokio::test]
async fn start_takes_the_number_off_the_accounts_opt_out_list_and_alerts_reach_it_again() {
    let mut stack = Stack::start_with(with_the_uk).await;
    stack.seed(OPTED_OUT_RESIDENTS).await;
    let mut relay = stack.relay().await;
    let before = opted_out_at_aws(&stack).await;
    assert!(before.contains(&OPTED_OUT_AT_AWS.to_owned()), "moto pre-seeds it: {before:?}");
    assert!(before.contains(&ALSO_OPTED_OUT_AT_AWS.to_owned()));

    // Amy said STOP to AWS long ago; today she says STOP to vigie: its reply is one AWS accepts
    // and never delivers. Then START.
    assert_eq!(stack.text(OPTED_OUT_AT_AWS, "STOP").await, Handled::SmsOff);
    assert_eq!(stack.outbox().await.sms_to(OPTED_OUT_AT_AWS).count(), 0, "the STOP reply never arrived");
    let stop_reply = stack.sms().publishes().pop().expect("the STOP reply was published");
    assert!(matches!(stop_reply.outcome, PublishOutcome::SilentlyDropped { .. }), "{stop_reply:?}");
    assert_eq!(stack.text(OPTED_OUT_AT_AWS, "START").await, Handled::SmsOn);
    assert_eq!(stack.outbox().await.sms_to(OPTED_OUT_AT_AWS).count(), 1, "the START reply arrives");
    let after = opted_out_at_aws(&stack).await;
    assert!(!after.contains(&OPTED_OUT_AT_AWS.to_owned()), "START took her off AWS's list: {after:?}");
    assert!(after.contains(&ALSO_OPTED_OUT_AT_AWS.to_owned()), "and nobody else");
    // A START again changes nothing at AWS (she is off the list) and is answered.
    assert_eq!(stack.text(OPTED_OUT_AT_AWS, "START").await, Handled::SmsOn);

    // Bruno raises an alert: Amy gets it; Cara, still on AWS's list, is not "sent" an SMS AWS
    // would swallow: her delivery is a failure the report shows.
    let Handled::Alerted(alerts) = stack.text("+33639980051", "Vélo volé devant la gare").await else {
        panic!("an alert")
    };
    relay.drain().await.unwrap();
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(OPTED_OUT_AT_AWS).filter(|s| s.body.starts_with("Bruno")).count(), 1);
    assert_eq!(outbox.sms_to(ALSO_OPTED_OUT_AT_AWS).count(), 0, "nothing published to Cara");
    let counts = stack.store().tally(alerts[0], vigie::model::Wave::Alert).await.unwrap();
    assert_eq!((counts.sms_sent, counts.sms_failed, counts.pending), (1, 1, 0), "{counts:?}");
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let cara = stack.member("Cara").id;
    let delivery = dynamodb
        .get_item()
        .table_name(&stack.config.tables.ledger)
        .key("pk", AttributeValue::S(format!("ALERT#{}", alerts[0])))
        .key("sk", AttributeValue::S(format!("D#{cara}#sms")))
        .send()
        .await
        .unwrap();
    let item = delivery.item().expect("Cara's delivery is recorded");
    assert_eq!(item["state"].as_s().unwrap(), "failed");
    assert_eq!(item["error"].as_s().unwrap(), fan_out::handler::OPTED_OUT_AT_AWS);
    // The alert is finished all the same, and the sender told.
    assert!(stack.store().alert(alerts[0]).await.unwrap().is_some());
    assert_eq!(outbox.sms_to("+33639980051").count(), 1, "Bruno's confirmation");

    // AWS puts Amy back on its list (a STOP it handled itself, say): a START within 30 days of
    // the last opt-in cannot take her off again. vigie says so in its logs and texts nothing
    // that could not arrive.
    stack.sms().account().opt_out(infra::sms_account::DEFAULT_OPT_OUT_LIST, OPTED_OUT_AT_AWS);
    let published = stack.sms().publishes().len();
    assert_eq!(stack.text(OPTED_OUT_AT_AWS, "START").await, Handled::StillOptedOut);
    assert_eq!(stack.sms().publishes().len(), published, "no reply published");
    let member = stack.store().member_by_phone(&OPTED_OUT_AT_AWS.parse().unwrap()).await.unwrap().unwrap();
    assert!(member.sms_alerts, "vigie's own setting is on: she is only waiting for AWS");
}

#[tokio::test]
async fn only_messages_to_the_shared_number_are_handled() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let marie = stack.phone("Marie");
    let to = |destination: &str, id: &str| {
        infra::sms_event::inbound_sms_event(
            &marie,
            destination,
            "Voiture suspecte",
            id,
            &infra::sms_event::local_topic_arn(),
        )
    };
    // The demo's old long code, and another number of the account: not for this stack.
    for (destination, id) in [("+33639980000", "dest-a"), ("+33939000000", "dest-b"), ("38124", "dest-c")] {
        assert_eq!(
            stack.invoke_inbound(to(destination, id)).await.unwrap(),
            vec![Handled::Dropped("not sent to the shared number")],
            "{destination}"
        );
    }
    assert_eq!(relay.drain().await.unwrap().records_seen, 0);
    assert!(stack.outbox().await.sms.is_empty(), "nothing answered");
    // The shared short code, however AWS writes it.
    for (destination, id) in [(SHARED_NUMBER, "dest-d"), ("+38123", "dest-e")] {
        assert!(matches!(
            stack.invoke_inbound(to(destination, id)).await.unwrap()[..],
            [Handled::Alerted(_)]
        ));
    }
}

#[tokio::test]
async fn replies_come_from_the_shared_number_and_alerts_from_the_alert_sender() {
    let sender_id = OriginationIdentity::parse("BELLERIVE").unwrap();
    let mut stack = Stack::start_with(|c| c.sms_alert_sender = sender_id.clone()).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let (marie, karim) = (stack.phone("Marie"), stack.phone("Karim"));

    assert!(matches!(
        stack.text(&marie, "Cambriolage en cours au 12 rue des Lilas").await,
        Handled::Alerted(_)
    ));
    relay.drain().await.unwrap();
    assert_eq!(stack.text(&karim, "STOP").await, Handled::SmsOff);
    assert!(matches!(stack.text("+33639981234", "Bonjour").await, Handled::Unknown { answered: true }));

    // The SNS requests the functions sent, as the gateway read them, and what AWS made of them
    // (the account holds the shared number and the sender ID).
    let publishes = stack.sms().publishes();
    let from = |principal: &str| -> Vec<&Judged> {
        publishes.iter().filter(|p| p.principal.as_deref() == Some(principal)).collect()
    };
    let fan_out = from("fan-out");
    assert_eq!(fan_out.len(), 4, "Karim, Jeanne, Sophie, and Marie's confirmation: {publishes:?}");
    assert_eq!(fan_out.iter().filter(|p| p.message.starts_with("Votre alerte")).count(), 1);
    for alert in &fan_out {
        assert_eq!(alert.sender_id.as_deref(), Some("BELLERIVE"), "{alert:?}");
        assert_eq!(alert.origination_number, None, "never both: {alert:?}");
        assert_eq!(alert.outcome, PublishOutcome::Delivered { from: "BELLERIVE".into() });
    }
    let replies = from("inbound-sms");
    assert_eq!(replies.len(), 2, "the STOP reply and the stranger's answer: {publishes:?}");
    for reply in &replies {
        assert_eq!(reply.origination_number.as_deref(), Some(SHARED_NUMBER), "{reply:?}");
        assert_eq!(reply.sender_id, None);
        assert!(reply.message.starts_with("vigie"), "{reply:?}");
        assert_eq!(reply.outcome, PublishOutcome::Delivered { from: SHARED_NUMBER.into() });
    }
    assert_eq!(replies[0].destination, karim);
    // A sender ID cannot be the shared number: residents could not text it.
    assert!(SharedNumber::parse("BELLERIVE").is_err());
}

#[tokio::test]
async fn what_aws_refuses_to_send_is_not_sent() {
    let mut stack = Stack::start_with(with_the_uk).await;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut relay = stack.relay().await;
    // A French short code reaches French numbers only: AWS refuses to answer a British stranger
    // from it. The reply is recorded as failed (never retried), nothing is sent, nothing fails.
    stack.sms().account().identities[0].countries = vec!["+33".into()];
    let stranger = "+447700900123";
    assert_eq!(
        stack.text(stranger, "Hello, is this the town hall?").await,
        Handled::Unknown { answered: true }
    );
    assert_eq!(stack.outbox().await.sms_to(stranger).count(), 0);
    let refused = stack.sms().publishes().pop().expect("judged");
    assert!(
        matches!(&refused.outcome, PublishOutcome::Refused(e) if e.code == "InvalidParameter"),
        "{refused:?}"
    );
    // From a number that is not the account's, nothing goes out at all.
    let marie = stack.phone("Marie");
    stack.sms().account().identities.clear();
    let Handled::Alerted(alerts) = stack.text(&marie, "Voiture suspecte devant l'école").await else {
        panic!()
    };
    relay.drain().await.unwrap();
    assert!(stack.outbox().await.sms.is_empty(), "no SMS from an unknown identity");
    let counts = stack.store().tally(alerts[0], vigie::model::Wave::Alert).await.unwrap();
    assert_eq!((counts.sms_sent, counts.sms_failed), (0, 3), "the report shows them failed: {counts:?}");
}

#[tokio::test]
async fn the_shared_number_is_what_the_sign_in_page_tells_residents_to_text() {
    let stack = Stack::demo().await;
    assert_eq!(stack.config.sms_shared_number.as_str(), SHARED_NUMBER);
    assert_eq!(stack.config.sms_alert_sender.as_str(), SHARED_NUMBER, "the demo sends alerts from it too");
    let mut web = vigie_tests::web_client::WebClient::new(&stack);
    let page = web.get("/signin").await;
    assert!(page.body.contains(&format!("href=\"sms:{SHARED_NUMBER}\"")), "{}", page.body);
    assert!(page.body.contains(&format!(">{SHARED_NUMBER}</a>")), "shown as dialled: {}", page.body);
}
