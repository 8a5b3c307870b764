//! The event Lambda receives when a member texts the shared number.
//!
//! AWS End User Messaging SMS publishes each two-way (inbound) message to an SNS topic as a JSON
//! document; SNS delivers it to the function in its standard envelope, the document as the
//! `Message` **string**. The envelope follows the runtime's fixture
//! (`lambda-events/src/fixtures/example-sns-event.json`) with Lambda's own casing
//! (`SigningCertUrl`, `UnsubscribeUrl`) and an empty `MessageAttributes`.

use std::time::SystemTime;

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use serde::Serialize;
use serde_json::{Value, json};

/// Keywords a number has by default: the opt-out keywords AWS End User Messaging SMS lists
/// (https://docs.aws.amazon.com/sms-voice/latest/userguide/opt-out-list-keywords.html), HELP and
/// the opt-in ones (https://docs.aws.amazon.com/sms-voice/latest/userguide/keywords-required.html).
/// A message beginning with one carries it as `messageKeyword`; any other gives the account's
/// default keyword, `KEYWORD_<account id>` (an approximation of what AWS sends).
const REGISTERED_KEYWORDS: &[&str] = &[
    "STOP",
    "ARRET",
    "CANCEL",
    "END",
    "OPT-OUT",
    "OPTOUT",
    "QUIT",
    "REMOVE",
    "TD",
    "UNSUBSCRIBE",
    "START",
    "UNSTOP",
    "HELP",
];

/// The two-way SMS payload (the SNS `Message`), in AWS's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundSms<'a> {
    origination_number: &'a str,
    destination_number: &'a str,
    message_keyword: String,
    message_body: &'a str,
    inbound_message_id: &'a str,
    previous_published_message_id: String,
}

/// The SNS event for an inbound SMS `body` sent by `from` to the shared number `to` (a short code
/// such as `38123`, or an E.164 long code, written as the number's `PhoneNumber` in End User
/// Messaging), published
/// to `topic_arn`. `inbound_message_id` is the message's id (give the same one twice to replay
/// a message). `messageKeyword` is the first word when it is a registered keyword (STOP,
/// START, HELP...), else `KEYWORD_<account>` (an approximation of what AWS sends);
/// `previousPublishedMessageId` is empty (the emulator keeps no outbound id to refer to).
pub fn inbound_sms_event(
    from: &str,
    to: &str,
    body: &str,
    inbound_message_id: &str,
    topic_arn: &str,
) -> Value {
    let account = topic_arn.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or("123456789012");
    let first_word = body.split_whitespace().next().unwrap_or_default().to_uppercase();
    let keyword = match REGISTERED_KEYWORDS.contains(&first_word.as_str()) {
        true => first_word,
        false => format!("KEYWORD_{account}"),
    };
    let message = InboundSms {
        origination_number: from,
        destination_number: to,
        message_keyword: keyword,
        message_body: body,
        inbound_message_id,
        previous_published_message_id: String::new(),
    };
    sns_notification(serde_json::to_string(&message).expect("a struct of strings serializes"), topic_arn)
}

/// The SNS event Lambda receives for one notification `message` published to `topic_arn`, in
/// the envelope of the runtime's fixture with Lambda's casing.
pub fn sns_notification(message: String, topic_arn: &str) -> Value {
    let arn: Vec<&str> = topic_arn.split(':').collect();
    let region = arn.get(3).copied().filter(|r| !r.is_empty()).unwrap_or("eu-west-3");
    let subscription_arn = format!("{topic_arn}:{}", uuid());
    json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": uuid(),
                "TopicArn": topic_arn,
                "Subject": null,
                "Message": message,
                "Timestamp": timestamp(SystemTime::now()),
                "SignatureVersion": "1",
                "Signature": "RVhBTVBMRQ==",
                "SigningCertUrl": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"),
                "UnsubscribeUrl": format!("https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"),
                "MessageAttributes": {},
            },
        }],
    })
}

/// The topic ARN `vigie-local sms` uses by default (the emulator has no real topic).
pub fn local_topic_arn() -> String {
    "arn:aws:sns:eu-west-3:123456789012:vigie-InboundSmsTopic".to_owned()
}

/// A fresh random UUID (v4 layout), as SNS message ids are.
pub fn uuid() -> String {
    let n = ulid::Ulid::new().0;
    let n = (n & !(0xFu128 << 76) | (0x4u128 << 76)) & !(0xCu128 << 60) | (0x8u128 << 60);
    let hex = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// RFC 3339 with milliseconds, as SNS writes timestamps (`2015-08-18T18:02:32.111Z`).
pub fn timestamp(at: SystemTime) -> String {
    let t = DateTime::from(at);
    let base = DateTime::from_secs(t.secs()).fmt(DateTimeFormat::DateTime).unwrap_or_default();
    format!("{}.{:03}Z", base.trim_end_matches('Z'), t.subsec_nanos() / 1_000_000)
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::sns::SnsEvent;

    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:vigie-InboundSmsTopic";

    #[test]
    fn it_is_an_sns_event_whose_message_is_the_two_way_payload() {
        let event = inbound_sms_event("+33611111111", "38123", "Rôdeur rue des Lilas", "in-1", TOPIC);
        let parsed: SnsEvent = serde_json::from_value(event.clone()).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.event_source, "aws:sns");
        assert_eq!(record.event_version, "1.0");
        assert!(record.event_subscription_arn.starts_with(TOPIC));
        assert_eq!(record.sns.sns_message_type, "Notification");
        assert_eq!(record.sns.topic_arn, TOPIC);
        assert_eq!(record.sns.subject, None);
        assert!(record.sns.signing_cert_url.starts_with("https://sns.eu-west-3.amazonaws.com/"));
        assert!(record.sns.message_attributes.is_empty());

        let message: Value = serde_json::from_str(&record.sns.message).unwrap();
        assert_eq!(
            message,
            json!({
                "originationNumber": "+33611111111",
                "destinationNumber": "38123",
                "messageKeyword": "KEYWORD_123456789012",
                "messageBody": "Rôdeur rue des Lilas",
                "inboundMessageId": "in-1",
                "previousPublishedMessageId": "",
            })
        );
        // The field order is AWS's.
        assert!(record.sns.message.starts_with(r#"{"originationNumber":"+33611111111","destinationNumber""#));
        // Lambda's casing of the URL fields.
        assert!(event["Records"][0]["Sns"].get("SigningCertUrl").is_some());
    }

    #[test]
    fn the_keyword_is_the_first_word_when_registered() {
        let event = inbound_sms_event("+33611111111", "38123", "stop merci", "in-2", TOPIC);
        let message: Value =
            serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
        assert_eq!(message["messageKeyword"], "STOP");
    }

    #[test]
    fn timestamps_have_milliseconds_and_uuids_their_layout() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_439_920_952_111);
        assert_eq!(timestamp(at), "2015-08-18T18:02:32.111Z");
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid());
    }
}
