//! The receipts as AWS sends them, read into [`Receipt`]s. Pure: no I/O, no logging.
//!
//! - SES publishes each email sending event of the configuration set's event destination to an
//!   SNS topic, the event as the SNS `Message` string: `eventType`, `mail.messageId`,
//!   `mail.timestamp`, and an object per type (`bounce`, `complaint`, `delivery`, `reject`...).
//!   <https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html>
//! - SNS writes a delivery status log for each SMS it publishes to a phone number, in CloudWatch
//!   Logs (`sns/<region>/<account>/DirectPublishToPhoneNumber`, and `/Failure`); a subscription
//!   filter sends them to the function, gzipped and base64-encoded, one log line a message:
//!   `notification.messageId`, `notification.timestamp`, `delivery.destination`,
//!   `delivery.providerResponse`, `status` (`SUCCESS`, `FAILURE`).
//!   <https://docs.aws.amazon.com/sns/latest/dg/sms_stats_cloudwatch.html>

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use vigie::domain::{
    Consequence, DeliveryProblem, Email, PhoneNumber, ProblemKind, ReceiptStatus, clean_reason,
    sms_failure_is_permanent,
};
use vigie::model::{Channel, Receipt};

/// Why a message of the event could not be read as a receipt: logged and dropped, since no
/// retry could change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON, or not the shape AWS documents (a field read here missing or mistyped).
    Malformed,
    /// An SES event type this version does not know.
    UnknownEventType,
    /// No message id to find the delivery by.
    NoMessageId,
}

impl Unreadable {
    pub fn as_str(self) -> &'static str {
        match self {
            Unreadable::Malformed => "malformed",
            Unreadable::UnknownEventType => "unknown event type",
            Unreadable::NoMessageId => "no message id",
        }
    }
}

/// Epoch ms of an ISO 8601 time (`2017-08-05T00:41:02.669Z`) or of SNS's log format
/// (`2016-06-28 00:40:34.558`, UTC); 0 when it is neither (then a receipt never waits).
fn epoch_ms(raw: Option<&str>) -> i64 {
    let Some(raw) = raw.map(str::trim) else { return 0 };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return t.timestamp_millis();
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    /// `notificationType` in SES's identity notifications (not event publishing): same objects.
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivered>,
    reject: Option<Reject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    #[serde(default)]
    message_id: String,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<BouncedRecipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BouncedRecipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<ComplainedRecipient>,
    timestamp: Option<String>,
    complaint_feedback_type: Option<String>,
    complaint_sub_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplainedRecipient {
    email_address: String,
}

#[derive(Deserialize)]
struct Delivered {
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Reject {
    reason: Option<String>,
}

/// An SES email sending event, as the SNS `Message` carries it.
pub fn ses_receipt(message: &str) -> Result<Receipt, Unreadable> {
    let event: SesEvent = serde_json::from_str(message).map_err(|_| Unreadable::Malformed)?;
    if event.mail.message_id.is_empty() {
        return Err(Unreadable::NoMessageId);
    }
    let sent_at = epoch_ms(event.mail.timestamp.as_deref());
    let mut receipt = Receipt::of(event.mail.message_id, Channel::Email, sent_at);
    match event.event_type.as_str() {
        "Delivery" => {
            receipt.event = "Delivery";
            receipt.at = epoch_ms(event.delivery.and_then(|d| d.timestamp).as_deref()).max(sent_at);
            receipt.status = Some(ReceiptStatus::Delivered);
        }
        "Bounce" => {
            receipt.event = "Bounce";
            let bounce = event.bounce.ok_or(Unreadable::Malformed)?;
            receipt.at = epoch_ms(bounce.timestamp.as_deref()).max(sent_at);
            // Only a Permanent bounce says the address is dead. SES publishes a Transient one
            // once it stops retrying a soft bounce (mailbox full...), and Undetermined when it
            // cannot tell: neither is a failure of the address, nor a lasting change.
            if bounce.bounce_type == "Permanent" {
                let sub_type = bounce.bounce_sub_type.as_deref().unwrap_or("General");
                let reason_of = |r: &BouncedRecipient| {
                    r.diagnostic_code.clone().unwrap_or_else(|| format!("permanent bounce ({sub_type})"))
                };
                let reason = bounce
                    .bounced_recipients
                    .first()
                    .map(reason_of)
                    .unwrap_or_else(|| format!("permanent bounce ({sub_type})"));
                receipt.status = Some(ReceiptStatus::Failed { reason: clean_reason(&reason) });
                for recipient in &bounce.bounced_recipients {
                    if let Ok(address) = Email::parse(&recipient.email_address) {
                        let problem = DeliveryProblem::email(
                            ProblemKind::HardBounce,
                            &reason_of(recipient),
                            receipt.at,
                        );
                        receipt.consequences.push(Consequence::StopEmail { address, problem });
                    }
                }
            }
        }
        "Complaint" => {
            receipt.event = "Complaint";
            let complaint = event.complaint.ok_or(Unreadable::Malformed)?;
            receipt.at = epoch_ms(complaint.timestamp.as_deref()).max(sent_at);
            let feedback = complaint.complaint_feedback_type.as_deref().unwrap_or("abuse");
            // A complaint means the email arrived, unless SES held it back because the address
            // is on the account's suppression list.
            receipt.status = Some(match complaint.complaint_sub_type.as_deref() {
                Some("OnAccountSuppressionList") => {
                    ReceiptStatus::Failed { reason: "on the account's suppression list".into() }
                }
                _ => ReceiptStatus::Delivered,
            });
            // `not-spam` is a report that the message is not spam: nothing against the member.
            if feedback != "not-spam" {
                let detail = format!("marked as spam ({feedback})");
                for recipient in &complaint.complained_recipients {
                    if let Ok(address) = Email::parse(&recipient.email_address) {
                        let problem = DeliveryProblem::email(ProblemKind::Complaint, &detail, receipt.at);
                        receipt.consequences.push(Consequence::StopEmail { address, problem });
                    }
                }
            }
        }
        "Reject" => {
            receipt.event = "Reject";
            let reason = event.reject.and_then(|r| r.reason).unwrap_or_else(|| "Bad content".into());
            receipt.status =
                Some(ReceiptStatus::Failed { reason: clean_reason(&format!("rejected by SES: {reason}")) });
        }
        // Nothing to record: sent (it is already), delayed (still pending), opened or clicked
        // (not tracked), a template's rendering (none are used), a subscription change.
        "Send" => receipt.event = "Send",
        "DeliveryDelay" => receipt.event = "DeliveryDelay",
        "Open" => receipt.event = "Open",
        "Click" => receipt.event = "Click",
        "Rendering Failure" => receipt.event = "Rendering Failure",
        "Subscription" => receipt.event = "Subscription",
        _ => return Err(Unreadable::UnknownEventType),
    }
    Ok(receipt)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsLog {
    notification: Notification,
    #[serde(default)]
    delivery: SmsDelivery,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    message_id: String,
    timestamp: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsDelivery {
    destination: Option<String>,
    provider_response: Option<String>,
}

/// An SNS SMS delivery status log line (one CloudWatch Logs event's `message`).
pub fn sms_receipt(log_line: &str) -> Result<Receipt, Unreadable> {
    let log: SmsLog = serde_json::from_str(log_line).map_err(|_| Unreadable::Malformed)?;
    if log.notification.message_id.is_empty() {
        return Err(Unreadable::NoMessageId);
    }
    let sent_at = epoch_ms(log.notification.timestamp.as_deref());
    let provider_response = log.delivery.provider_response.unwrap_or_default();
    let mut receipt = Receipt::of(log.notification.message_id, Channel::Sms, sent_at);
    match log.status.as_str() {
        "SUCCESS" => {
            receipt.event = "SUCCESS";
            receipt.status = Some(ReceiptStatus::Delivered);
        }
        "FAILURE" => {
            receipt.event = "FAILURE";
            let reason = if provider_response.trim().is_empty() {
                "failed".to_owned()
            } else {
                provider_response.clone()
            };
            receipt.status = Some(ReceiptStatus::Failed { reason: clean_reason(&reason) });
            if sms_failure_is_permanent(&provider_response)
                && let Some(phone) =
                    log.delivery.destination.as_deref().and_then(|d| PhoneNumber::parse(d).ok())
            {
                receipt.consequences.push(Consequence::SmsFailure {
                    phone,
                    detail: clean_reason(&reason),
                    at: sent_at,
                });
            }
        }
        _ => receipt.event = "UNKNOWN",
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/../../tests/fixtures/receipts/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn times_in_both_formats() {
        assert_eq!(epoch_ms(Some("2017-08-05T00:41:02.669Z")), 1_501_893_662_669);
        assert_eq!(epoch_ms(Some("2016-06-28 00:40:34.558")), 1_467_074_434_558);
        assert_eq!(epoch_ms(Some("hier")), 0);
        assert_eq!(epoch_ms(None), 0);
    }

    #[test]
    fn a_permanent_bounce_fails_the_delivery_and_stops_the_address() {
        let r = ses_receipt(&fixture("ses-bounce-permanent.json")).unwrap();
        assert_eq!(r.message_id, "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000");
        assert_eq!(r.channel, Channel::Email);
        assert_eq!(r.status, Some(ReceiptStatus::Failed { reason: "smtp; 550 5.1.1 user unknown".into() }));
        let [Consequence::StopEmail { address, problem }] = r.consequences.as_slice() else {
            panic!("{r:?}")
        };
        assert_eq!(address.as_str(), "recipient@example.com");
        assert_eq!((problem.kind, problem.stopped), (ProblemKind::HardBounce, true));
        assert!(r.at > r.sent_at);
    }

    #[test]
    fn a_transient_bounce_changes_nothing() {
        let r = ses_receipt(&fixture("ses-bounce-transient.json")).unwrap();
        assert_eq!((r.status, r.consequences.len()), (None, 0));
    }

    #[test]
    fn a_complaint_was_delivered_and_stops_the_address() {
        let r = ses_receipt(&fixture("ses-complaint.json")).unwrap();
        assert_eq!(r.status, Some(ReceiptStatus::Delivered));
        assert!(
            matches!(&r.consequences[..], [Consequence::StopEmail { problem, .. }] if problem.kind == ProblemKind::Complaint)
        );
        let not_spam = fixture("ses-complaint.json").replace("\"abuse\"", "\"not-spam\"");
        assert!(ses_receipt(&not_spam).unwrap().consequences.is_empty());
    }

    #[test]
    fn the_other_ses_events() {
        assert_eq!(
            ses_receipt(&fixture("ses-delivery.json")).unwrap().status,
            Some(ReceiptStatus::Delivered)
        );
        let reject = ses_receipt(&fixture("ses-reject.json")).unwrap();
        assert_eq!(
            reject.status,
            Some(ReceiptStatus::Failed { reason: "rejected by SES: Bad content".into() })
        );
        for quiet in ["ses-send.json", "ses-delivery-delay.json"] {
            let r = ses_receipt(&fixture(quiet)).unwrap();
            assert_eq!((r.status, r.consequences.len()), (None, 0), "{quiet}");
        }
    }

    #[test]
    fn sms_logs() {
        let ok = sms_receipt(&fixture("sns-sms-success.json")).unwrap();
        assert_eq!((ok.channel, ok.status), (Channel::Sms, Some(ReceiptStatus::Delivered)));
        assert_eq!(ok.message_id, "34d9b400-c6dd-5444-820d-fbeb0f1f54cf");
        let failed = sms_receipt(&fixture("sns-sms-failure.json")).unwrap();
        assert_eq!(
            failed.status,
            Some(ReceiptStatus::Failed { reason: "Unknown error attempting to reach phone".into() })
        );
        assert!(failed.consequences.is_empty(), "not a permanent failure");
        let invalid = fixture("sns-sms-failure.json")
            .replace("Unknown error attempting to reach phone", "Invalid phone number")
            .replace("+1XXX5550100", "+33639980042");
        let invalid = sms_receipt(&invalid).unwrap();
        assert!(
            matches!(&invalid.consequences[..], [Consequence::SmsFailure { phone, .. }] if phone.as_str() == "+33639980042")
        );
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        for (message, why) in [
            ("", Unreadable::Malformed),
            ("not json", Unreadable::Malformed),
            ("[]", Unreadable::Malformed),
            (r#"{"eventType":"Bounce","mail":{"messageId":"m"}}"#, Unreadable::Malformed),
            (r#"{"eventType":"Delivery","mail":{}}"#, Unreadable::NoMessageId),
            (r#"{"eventType":"Teleport","mail":{"messageId":"m"}}"#, Unreadable::UnknownEventType),
            (r#"{"eventType":7,"mail":{"messageId":"m"}}"#, Unreadable::Malformed),
        ] {
            assert_eq!(ses_receipt(message).err(), Some(why), "{message}");
        }
        assert_eq!(sms_receipt("{}").err(), Some(Unreadable::Malformed));
        assert_eq!(
            sms_receipt(r#"{"notification":{},"status":"SUCCESS"}"#).err(),
            Some(Unreadable::NoMessageId)
        );
    }
}
