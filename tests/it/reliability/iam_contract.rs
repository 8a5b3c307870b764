//! The IAM contract itself (docs/iam.md): a permission taken out of `template.yaml` is reported,
//! naming the function, the action and the resource; refusals are the services' own answers;
//! the fixes of issue 9 hold (a capitalised `SenderEmail`, the inbound topic's source ARN).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use infra::gateway::iam::{Denial, Why};
use infra::gateway::policy::{Context, Decision, Policy, evaluate};
use infra::gateway::roles::{self, Environment};
use vigie_tests::{
    DELIVERY_EVENTS, DEMO_SEED, FAN_OUT, Handled, INBOUND_SMS, SENDER_EMAIL, Setup, Stack, WEB,
};

const LEDGER: &str = "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-LedgerTable";
const ALERTS: &str = "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-AlertsTable";

/// `template.yaml` with one edit: the first `old` after the (unique) `anchor` becomes `new`.
fn template_with(anchor: &str, old: &str, new: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(infra::template::workspace_template()).expect("template.yaml");
    assert_eq!(text.matches(anchor).count(), 1, "the anchor {anchor:?} must be unique in template.yaml");
    let at = text.find(anchor).unwrap();
    let offset = text[at..].find(old).unwrap_or_else(|| panic!("no {old:?} after {anchor:?}"));
    let edited = format!("{}{new}{}", &text[..at + offset], &text[at + offset + old.len()..]);
    let dir = std::env::temp_dir().join(format!("vigie-iam-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(&path, edited).unwrap();
    path
}

/// The distinct (function, action, resource) refused so far, forgotten.
fn refused(stack: &Stack) -> BTreeSet<(String, String, String)> {
    let denials: Vec<Denial> = stack.iam().take_denials();
    denials.into_iter().map(|d| (d.function, d.action, d.resource)).collect()
}

fn one(function: &str, action: &str, resource: &str) -> BTreeSet<(String, String, String)> {
    BTreeSet::from([(function.to_owned(), action.to_owned(), resource.to_owned())])
}

/// A stack from `setup` with the demo town, where `who` texted `text` and the fan-out sent it.
async fn alert_sent(setup: Setup, who: &str, text: &str) -> Stack {
    let mut stack = Stack::start_from(setup, |_| {}).await;
    stack.seed(DEMO_SEED).await;
    let mut relay = stack.relay().await;
    let handled =
        stack.invoke_inbound(stack.sms_event(&stack.phone(who), text, &ulid::Ulid::new().to_string())).await;
    assert!(matches!(handled.as_deref(), Ok([Handled::Alerted(_)])), "{handled:?}");
    let _ = relay.drain().await;
    stack
}

/// Paul's alert fanned out, then its stream batch delivered again (a replay, a retry after a
/// throttled send, the take-over of a crashed invocation): the fan-out reads its claims back.
async fn fan_out_then_replay(setup: Setup) -> Stack {
    let stack = alert_sent(setup, "Paul", "Fumée noire derrière le moulin").await;
    for event in stack.fan_out_events().await {
        let _ = vigie_tests::invoke_fan_out(&stack.fan_out(), event).await;
    }
    stack
}

#[tokio::test]
async fn a_fan_out_without_batch_get_item_on_the_ledger_is_reported() {
    // The control: the real template allows the replay.
    let stack = fan_out_then_replay(Setup::default()).await;
    assert!(stack.iam().checked() > 0, "the fan-out's calls went through the check");
    assert_eq!(refused(&stack), BTreeSet::new());

    // The same replay with `dynamodb:BatchGetItem` taken from the fan-out's ledger statement.
    let template =
        template_with("Sid: LedgerClaimsAndSettlements", "                - dynamodb:BatchGetItem\n", "");
    let stack = fan_out_then_replay(Setup { template, ..Setup::default() }).await;
    assert_eq!(refused(&stack), one(FAN_OUT, "dynamodb:BatchGetItem", LEDGER));
}

#[tokio::test]
async fn an_inbound_sms_without_get_item_on_the_alerts_is_reported() {
    let anchor = "# GetItem: an acknowledgement reads the alert it answers.";
    let template = template_with(anchor, "                - dynamodb:GetItem\n", "");
    let stack =
        alert_sent(Setup { template, ..Setup::default() }, "Marie", "Voiture suspecte devant l'école").await;
    // Karim's "merci" is an acknowledgement: it reads the alert it answers.
    let event = stack.sms_event(&stack.phone("Karim"), "Merci !", "ack-without-get-item");
    let answer = stack.invoke_inbound(event).await;
    assert!(answer.is_err(), "AWS refuses the read, the invocation fails for Lambda to retry: {answer:?}");
    assert_eq!(refused(&stack), one(INBOUND_SMS, "dynamodb:GetItem", ALERTS));
}

#[tokio::test]
async fn a_capitalised_sender_email_still_sends_every_email() {
    let capitalised = "Alertes@Vigie.example.org";
    assert_eq!(capitalised.to_lowercase(), SENDER_EMAIL);
    let setup = Setup { sender_email: capitalised.to_owned(), ..Setup::default() };
    let stack = alert_sent(setup.clone(), "Paul", "Fumée noire derrière le moulin").await;
    let outbox = stack.outbox().await;
    assert_eq!(outbox.emails_to(&stack.email("Sophie")).count(), 1, "Sophie got the alert by email");
    assert_eq!(refused(&stack), BTreeSet::new());

    // With the condition the template had (an exact, case-sensitive match), every send fails.
    let template = template_with("  FanOutFunction:", "StringEqualsIgnoreCase:", "StringEquals:");
    let stack = alert_sent(Setup { template, ..setup }, "Paul", "Fumée noire derrière le moulin").await;
    let denied = refused(&stack);
    assert!(!denied.is_empty());
    for (function, action, resource) in denied {
        assert_eq!((function.as_str(), action.as_str()), (FAN_OUT, "ses:SendEmail"));
        // The identity, and the configuration set the send names: the condition is on the statement.
        assert!(
            resource.starts_with("arn:aws:ses:eu-west-3:123456789012:identity/")
                || resource.starts_with("arn:aws:ses:eu-west-3:123456789012:configuration-set/"),
            "{resource}"
        );
    }
}

#[tokio::test]
async fn refusals_are_the_services_own_access_denied_answers_and_nothing_reaches_the_emulator() {
    let stack = Stack::start().await;
    // DynamoDB: an operation no role allows (and the mapping does not know): 400 AccessDeniedException.
    let sdk = sdk_of(&stack, FAN_OUT).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let err = dynamodb.delete_table().table_name(&stack.config.tables.ledger).send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    let still_there = aws_sdk_dynamodb::Client::new(&stack.sdk)
        .describe_table()
        .table_name(&stack.config.tables.ledger)
        .send()
        .await;
    assert!(still_there.is_ok(), "the refused call never reached the emulator");
    // A read of a table outside the role: the table's ARN in the answer, as AWS words it.
    let err = dynamodb
        .get_item()
        .table_name("someone-else")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(
        err.message().unwrap_or_default().contains(
            "dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-3:123456789012:table/someone-else"
        ),
        "{err:?}"
    );
    // SNS: the explicit Deny on the stack's own topics: 403 AuthorizationError.
    let sns = aws_sdk_sns::Client::new(&sdk);
    let err = sns
        .publish()
        .topic_arn(infra::sms_event::local_topic_arn())
        .message("loop")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().is_some_and(|e| e.is_authorization_error_exception()), "{err:?}");
    // SES v2: another From address than SenderEmail: 403 AccessDeniedException.
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let err = ses
        .send_email()
        .from_email_address("someone@vigie.example.org")
        .destination(aws_sdk_sesv2::types::Destination::builder().to_addresses("voisin@example.org").build())
        .content(
            aws_sdk_sesv2::types::EmailContent::builder()
                .simple(
                    aws_sdk_sesv2::types::Message::builder()
                        .subject(aws_sdk_sesv2::types::Content::builder().data("s").build().unwrap())
                        .body(
                            aws_sdk_sesv2::types::Body::builder()
                                .text(aws_sdk_sesv2::types::Content::builder().data("b").build().unwrap())
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(stack.outbox().await.emails.is_empty(), "nothing was sent");

    let denials = stack.iam().take_denials();
    let whys: Vec<&Why> = denials.iter().map(|d| &d.why).collect();
    assert!(matches!(whys[0], Why::UnknownOperation(_)), "{denials:?}");
    assert_eq!(whys[1], &Why::NoAllow);
    assert!(
        matches!(whys[2], Why::ExplicitDeny { statement } if statement.ends_with("/NoPublishToOwnTopics")),
        "{denials:?}"
    );
    // The sender's identity, and in the sandbox the recipient's: neither passes ses:FromAddress.
    assert_eq!(whys[3..], [&Why::NoAllow, &Why::NoAllow]);
    assert_eq!(denials[3].resource, "arn:aws:ses:eu-west-3:123456789012:identity/someone@vigie.example.org");
    assert_eq!(denials[4].resource, "arn:aws:ses:eu-west-3:123456789012:identity/voisin@example.org");
    assert!(denials.iter().all(|d| d.function == FAN_OUT));
    assert_eq!(denials.len(), 5, "{denials:?}");
}

/// The SDK configuration a function's own code would build, through the stack's check.
async fn sdk_of(stack: &Stack, function: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new(function, "test", None, None, "test");
    infra::stack::aws_config(&stack.gateway().endpoint)
        .await
        .to_builder()
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials))
        .build()
}

#[test]
fn every_function_of_the_template_has_a_role_the_check_reads() {
    let cfn = roles::transformed(&infra::template::workspace_template()).expect("the transform");
    let mut env = Environment::local("vigie");
    env.parameters.insert("SenderEmail".into(), SENDER_EMAIL.into());
    env.parameters.insert("SharedNumber".into(), vigie_tests::SHARED_NUMBER.into());
    let roles = roles::Roles::from_transformed(&cfn, &env).expect("roles");
    let principals: Vec<&str> = roles.by_principal.keys().map(String::as_str).collect();
    assert_eq!(principals, [DELIVERY_EVENTS, FAN_OUT, INBOUND_SMS, WEB]);
    for role in roles.by_principal.values() {
        assert!(!role.policies.is_empty(), "{} has policies", role.function);
        assert_eq!(role.role, format!("{}Role", role.function));
    }
}

#[test]
fn the_inbound_topic_takes_messages_from_end_user_messaging_of_this_account_only() {
    let cfn = roles::transformed(&infra::template::workspace_template()).expect("the transform");
    let mut env = Environment::local("vigie");
    env.parameters.insert("SenderEmail".into(), SENDER_EMAIL.into());
    env.parameters.insert("SharedNumber".into(), vigie_tests::SHARED_NUMBER.into());
    let document =
        roles::resolve(&cfn, &env, "/Resources/InboundSmsTopicPolicy/Properties/PolicyDocument").unwrap();
    // A resource policy: each statement is for the End User Messaging service principal, which
    // the identity-policy evaluator then judges without the Principal element.
    let mut document = document;
    for statement in document["Statement"].as_array_mut().unwrap() {
        let principal = statement.as_object_mut().unwrap().remove("Principal").unwrap();
        assert_eq!(principal, serde_json::json!({"Service": "sms-voice.amazonaws.com"}));
    }
    let policy = Policy::parse("InboundSmsTopicPolicy", &document).unwrap();
    let topic = infra::sms_event::local_topic_arn();
    let publish = |account: &str, source: Option<&str>| {
        let mut context = Context::default();
        context.set("aws:SourceAccount", [account]);
        match source {
            Some(arn) => context.set("aws:SourceArn", [arn]),
            None => context.absent("aws:SourceArn"),
        }
        evaluate(std::slice::from_ref(&policy), "sns:Publish", &topic, &context).unwrap()
    };
    let ours = "arn:aws:sms-voice:eu-west-3:123456789012:phone-number/phone-1234567890abcdef";
    assert!(matches!(publish("123456789012", Some(ours)), Decision::Allowed { .. }));
    let pool = "arn:aws:sms-voice:eu-west-3:123456789012:pool/pool-1234567890abcdef";
    assert!(matches!(publish("123456789012", Some(pool)), Decision::Allowed { .. }));
    // Another account's number, another region's, another service, or no source at all: refused.
    for source in [
        Some("arn:aws:sms-voice:eu-west-3:999999999999:phone-number/phone-1"),
        Some("arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1"),
        Some("arn:aws:sms-voice:eu-west-3:123456789012:configuration-set/other"),
        Some("arn:aws:s3:::bucket"),
        None,
    ] {
        assert_eq!(publish("123456789012", source), Decision::ImplicitDeny, "{source:?}");
    }
    assert_eq!(publish("999999999999", Some(ours)), Decision::ImplicitDeny);
}

/// Marie asks for help; the reply's settlement fails after the SMS left (refused by a fault),
/// then Lambda retries the event.
async fn help_whose_settlement_failed(setup: Setup) -> Stack {
    let mut stack = Stack::start_from(setup, |_| {}).await;
    stack.seed(DEMO_SEED).await;
    let proxy = infra::faults::FaultProxy::start(&stack.moto.endpoint, 0.0, 1).await.unwrap();
    stack.route_functions_through(&proxy.endpoint).await;
    let marie = stack.phone("Marie");
    let event = stack.sms_event(&marie, "AIDE", "help-settlement-fails");
    proxy.refuse_calls_with(Some(r#"{"S":"sent"}"#));
    assert!(stack.invoke_inbound(event.clone()).await.is_err(), "the settlement failed");
    proxy.refuse_calls_with(None);
    assert!(stack.invoke_inbound(event).await.is_err(), "the reply is still claimed: retried later");
    assert_eq!(stack.outbox().await.sms_to(&marie).count(), 1, "one help SMS");
    stack
}

#[tokio::test]
async fn a_retried_reply_reads_its_claim_back_and_texts_nobody_twice() {
    // inbound-sms's BatchGetItem on the ledger: the retry reads the reply's claim back.
    let stack = help_whose_settlement_failed(Setup::default()).await;
    assert_eq!(refused(&stack), BTreeSet::new());
    let template = template_with("Sid: LedgerWrite", "                - dynamodb:BatchGetItem\n", "");
    let stack = help_whose_settlement_failed(Setup { template, ..Setup::default() }).await;
    assert_eq!(refused(&stack), one(INBOUND_SMS, "dynamodb:BatchGetItem", LEDGER));
}
