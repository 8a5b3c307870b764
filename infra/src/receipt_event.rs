//! The events Lambda receives when SES or SNS report what became of a message: built from the
//! documented examples of `tests/fixtures/receipts/` (see its README for the sources), with the
//! message id, the recipient and the times of a real send.
//!
//! - SES's email sending events come as SNS notifications of the configuration set's event
//!   destination ([`ses_event`]);
//! - SNS's SMS delivery status logs come from CloudWatch Logs subscription filters, gzipped
//!   and base64-encoded under `awslogs.data` ([`sms_logs_event`]).

use std::io::Write;
use std::time::SystemTime;

use base64::Engine;
use serde_json::{Value, json};

use crate::sms_event::{sns_notification, timestamp};

const SES_DELIVERY: &str = include_str!("../../tests/fixtures/receipts/ses-delivery.json");
const SES_BOUNCE_PERMANENT: &str = include_str!("../../tests/fixtures/receipts/ses-bounce-permanent.json");
const SES_BOUNCE_TRANSIENT: &str = include_str!("../../tests/fixtures/receipts/ses-bounce-transient.json");
const SES_COMPLAINT: &str = include_str!("../../tests/fixtures/receipts/ses-complaint.json");
const SES_REJECT: &str = include_str!("../../tests/fixtures/receipts/ses-reject.json");
const SES_SEND: &str = include_str!("../../tests/fixtures/receipts/ses-send.json");
const SES_DELIVERY_DELAY: &str = include_str!("../../tests/fixtures/receipts/ses-delivery-delay.json");
const SMS_SUCCESS: &str = include_str!("../../tests/fixtures/receipts/sns-sms-success.json");
const SMS_FAILURE: &str = include_str!("../../tests/fixtures/receipts/sns-sms-failure.json");

/// An SES email sending event type, as the fixtures have them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailEvent {
    Delivery,
    /// `Bounce`, `Permanent`: the address does not exist.
    HardBounce,
    /// `Bounce`, `Transient` (`MailboxFull`).
    SoftBounce,
    Complaint,
    Reject,
    Send,
    DeliveryDelay,
}

impl std::str::FromStr for EmailEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "delivery" => EmailEvent::Delivery,
            "bounce" | "hard-bounce" => EmailEvent::HardBounce,
            "soft-bounce" => EmailEvent::SoftBounce,
            "complaint" => EmailEvent::Complaint,
            "reject" => EmailEvent::Reject,
            "send" => EmailEvent::Send,
            "delay" => EmailEvent::DeliveryDelay,
            other => {
                return Err(format!(
                    "unknown email event {other:?} (delivery, bounce, soft-bounce, complaint, reject, send, delay)"
                ));
            }
        })
    }
}

/// The SES event record (the SNS `Message`) of `event` for the email `message_id` sent to
/// `recipient` at `sent_at`, the event itself `after` later.
pub fn ses_message(
    event: EmailEvent,
    message_id: &str,
    recipient: &str,
    sent_at: SystemTime,
    after: std::time::Duration,
) -> Value {
    let fixture = match event {
        EmailEvent::Delivery => SES_DELIVERY,
        EmailEvent::HardBounce => SES_BOUNCE_PERMANENT,
        EmailEvent::SoftBounce => SES_BOUNCE_TRANSIENT,
        EmailEvent::Complaint => SES_COMPLAINT,
        EmailEvent::Reject => SES_REJECT,
        EmailEvent::Send => SES_SEND,
        EmailEvent::DeliveryDelay => SES_DELIVERY_DELAY,
    };
    let mut record: Value = serde_json::from_str(fixture).expect("the receipt fixtures are JSON");
    let when = timestamp(sent_at + after);
    record["mail"]["messageId"] = json!(message_id);
    record["mail"]["timestamp"] = json!(timestamp(sent_at));
    record["mail"]["destination"] = json!([recipient]);
    // `get_mut`, not indexing: indexing a missing key would add it (as null) to the record.
    if let Some(headers) = record["mail"].get_mut("commonHeaders") {
        headers["to"] = json!([recipient]);
        headers["messageId"] = json!(message_id);
    }
    for (object, recipients) in [("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients")] {
        if let Some(found) = record.get_mut(object) {
            for r in found.get_mut(recipients).and_then(Value::as_array_mut).into_iter().flatten() {
                r["emailAddress"] = json!(recipient);
            }
            found["timestamp"] = json!(when);
        }
    }
    if let Some(delivery) = record.get_mut("delivery") {
        delivery["timestamp"] = json!(when);
        delivery["recipients"] = json!([recipient]);
    }
    record
}

/// The SNS event Lambda receives when SES publishes `record` to `topic_arn`.
pub fn ses_event(record: &Value, topic_arn: &str) -> Value {
    sns_notification(record.to_string(), topic_arn)
}

/// What an SMS delivery status log says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsStatus {
    Delivered,
    /// With the carrier's answer (`providerResponse`), e.g. `Invalid phone number`.
    Failed(String),
}

/// SNS's delivery status log of the SMS `message_id` published to `destination` at `sent_at`.
pub fn sms_log(status: &SmsStatus, message_id: &str, destination: &str, sent_at: SystemTime) -> Value {
    let fixture = match status {
        SmsStatus::Delivered => SMS_SUCCESS,
        SmsStatus::Failed(_) => SMS_FAILURE,
    };
    let mut log: Value = serde_json::from_str(fixture).expect("the receipt fixtures are JSON");
    log["notification"]["messageId"] = json!(message_id);
    // SNS writes `2016-06-28 00:40:34.558`, in UTC.
    log["notification"]["timestamp"] = json!(timestamp(sent_at).replace('T', " ").trim_end_matches('Z'));
    log["delivery"]["destination"] = json!(destination);
    if let SmsStatus::Failed(reason) = status {
        log["delivery"]["providerResponse"] = json!(reason);
    }
    log
}

/// The log group SNS writes a status to in the account and region of `account_region`
/// (`("123456789012", "eu-west-3")`): successes and failures apart.
pub fn sms_log_group(account: &str, region: &str, status: &SmsStatus) -> String {
    let base = format!("sns/{region}/{account}/DirectPublishToPhoneNumber");
    match status {
        SmsStatus::Delivered => base,
        SmsStatus::Failed(_) => format!("{base}/Failure"),
    }
}

/// The event a CloudWatch Logs subscription filter of `log_group` invokes Lambda with for
/// these log lines: `{"awslogs": {"data": <base64 of the gzipped JSON>}}`.
pub fn sms_logs_event(log_group: &str, logs: &[Value]) -> Value {
    let now =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let account = log_group.split('/').nth(2).unwrap_or("123456789012");
    let data = json!({
        "messageType": "DATA_MESSAGE",
        "owner": account,
        "logGroup": log_group,
        "logStream": ulid::Ulid::new().to_string(),
        "subscriptionFilters": ["vigie-delivery-events"],
        "logEvents": logs.iter().enumerate().map(|(i, log)| json!({
            "id": format!("{}{i:04}", now),
            "timestamp": now,
            "message": log.to_string(),
        })).collect::<Vec<_>>(),
    });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(data.to_string().as_bytes()).expect("gzip to memory");
    let bytes = gzip.finish().expect("gzip to memory");
    json!({ "awslogs": { "data": base64::engine::general_purpose::STANDARD.encode(bytes) } })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
    use aws_lambda_events::event::sns::SnsEvent;

    use super::*;

    #[test]
    fn an_ses_event_carries_the_message_recipient_and_times() {
        let sent = SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_600_000);
        let record =
            ses_message(EmailEvent::HardBounce, "msg-1", "marie@example.org", sent, Duration::from_secs(5));
        assert_eq!(record["eventType"], "Bounce");
        assert_eq!(record["mail"]["messageId"], "msg-1");
        assert_eq!(record["mail"]["timestamp"], "2026-01-01T00:00:00.000Z");
        assert_eq!(record["bounce"]["bouncedRecipients"][0]["emailAddress"], "marie@example.org");
        assert_eq!(record["bounce"]["timestamp"], "2026-01-01T00:00:05.000Z");
        let event: SnsEvent =
            serde_json::from_value(ses_event(&record, "arn:aws:sns:eu-west-3:1:t")).unwrap();
        let message: Value = serde_json::from_str(&event.records[0].sns.message).unwrap();
        assert_eq!(message, record);
        // Only the objects of that event type.
        let delivery = ses_message(EmailEvent::Delivery, "msg-2", "marie@example.org", sent, Duration::ZERO);
        assert!(delivery.get("bounce").is_none() && delivery.get("complaint").is_none(), "{delivery}");
        assert_eq!(delivery["delivery"]["recipients"], json!(["marie@example.org"]));
    }

    #[test]
    fn an_sms_logs_event_decodes_as_lambda_reads_it() {
        let sent = SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_600_123);
        let status = SmsStatus::Failed("Invalid phone number".into());
        let log = sms_log(&status, "sns-1", "+33639980001", sent);
        assert_eq!(log["notification"]["timestamp"], "2026-01-01 00:00:00.123");
        assert_eq!(log["status"], "FAILURE");
        let group = sms_log_group("123456789012", "eu-west-3", &status);
        assert_eq!(group, "sns/eu-west-3/123456789012/DirectPublishToPhoneNumber/Failure");
        // As the runtime reads it: from the bytes (the event's decoder wants borrowed keys).
        let event: LogsEvent =
            serde_json::from_str(&sms_logs_event(&group, std::slice::from_ref(&log)).to_string()).unwrap();
        let data = event.aws_logs.data;
        assert_eq!((data.log_group.as_str(), data.message_type.as_str()), (group.as_str(), "DATA_MESSAGE"));
        assert_eq!(serde_json::from_str::<Value>(&data.log_events[0].message).unwrap(), log);
    }
}
