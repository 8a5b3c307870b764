//! What became of a message after it left: the receipts SES and SNS send back, and what they
//! mean for the member it was sent to. Pure: the AWS event shapes are read by the
//! `delivery-events` function, which hands over a `model::Receipt`.

use serde::{Deserialize, Serialize};

use super::{Email, PhoneNumber, redact};

/// Permanent SMS failures on one number after which its SMS alerts are turned off.
///
/// One failure is only shown (to the member and their referent): carriers sometimes answer
/// "invalid number" for a number that was just ported, and a resident who only has a phone cannot
/// see a settings page. Three failures on three different messages, with no success in between
/// reported, is a dead number: every further text costs money and reaches nobody.
pub const SMS_FAILURES_BEFORE_STOP: u32 = 3;

/// The longest reason kept from a provider (a bounce's diagnostic, a carrier's answer).
const REASON_MAX_CHARS: usize = 200;

/// What a receipt says of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptStatus {
    /// It reached the phone or the mailbox.
    Delivered,
    /// It never will, with the provider's reason (masked).
    Failed { reason: String },
}

/// What went wrong on a member's channel, as the receipts told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The address does not exist or refuses mail for good (an SES `Permanent` bounce).
    HardBounce,
    /// The member marked an alert as spam (an SES complaint).
    Complaint,
    /// Texts to the number fail for a reason that is about the number (invalid, blocked...).
    SmsUndeliverable,
}

/// A delivery problem on one of a member's channels, kept on the member (and shown to them and
/// to their referent) until they change the address or number or turn the channel back on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryProblem {
    pub kind: ProblemKind,
    /// The provider's words (a bounce's diagnostic, the carrier's answer), masked, short.
    pub detail: String,
    /// When it last happened (epoch ms, the provider's time).
    pub at: i64,
    /// How many different messages failed so (SMS); 1 for an email problem.
    pub failures: u32,
    /// vigie turned this channel's alerts off because of it.
    pub stopped: bool,
    /// The failed messages counted, so a receipt delivered twice counts once (SMS only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_ids: Vec<String>,
}

impl DeliveryProblem {
    /// An email problem: email alerts stop at once.
    pub fn email(kind: ProblemKind, detail: &str, at: i64) -> Self {
        Self { kind, detail: clean_reason(detail), at, failures: 1, stopped: true, message_ids: Vec::new() }
    }

    /// `previous` (if any) with one more permanent SMS failure, of message `message_id`;
    /// `None` when that message was counted already. SMS alerts stop at
    /// [`SMS_FAILURES_BEFORE_STOP`] failures.
    pub fn sms_failure(previous: Option<&Self>, message_id: &str, detail: &str, at: i64) -> Option<Self> {
        let mut message_ids = previous.map(|p| p.message_ids.clone()).unwrap_or_default();
        if message_ids.iter().any(|id| id == message_id) {
            return None;
        }
        message_ids.push(message_id.to_owned());
        let failures = previous.map_or(0, |p| p.failures) + 1;
        Some(Self {
            kind: ProblemKind::SmsUndeliverable,
            detail: clean_reason(detail),
            at: previous.map_or(at, |p| p.at.max(at)),
            failures,
            stopped: failures >= SMS_FAILURES_BEFORE_STOP,
            message_ids,
        })
    }
}

/// An SMTP reply code (`550`) or enhanced status code (`5.1.1`), trailing punctuation allowed:
/// kept as written, where [`redact`] would read `550 5.1.1` as a number to mask.
fn is_smtp_code(token: &str) -> bool {
    let code = token.trim_end_matches([':', ';', ',', '.', ')']).trim_start_matches('(');
    let digits = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
    };
    let class = |c: Option<char>| matches!(c, Some('2' | '4' | '5'));
    match code.split('.').collect::<Vec<_>>().as_slice() {
        [reply] => reply.len() == 3 && digits(reply, 3) && class(reply.chars().next()),
        [class_digit, subject, detail] => {
            class_digit.len() == 1
                && class(class_digit.chars().next())
                && digits(subject, 3)
                && digits(detail, 3)
        }
        _ => false,
    }
}

/// A provider's reason as vigie keeps it: numbers and addresses masked (SMTP codes kept), on
/// one line, short.
pub fn clean_reason(reason: &str) -> String {
    let line: String = reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut parts = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for token in line.split_whitespace() {
        if is_smtp_code(token) {
            if !run.is_empty() {
                parts.push(redact(&run.join(" ")));
                run.clear();
            }
            parts.push(token.to_owned());
        } else {
            run.push(token);
        }
    }
    if !run.is_empty() {
        parts.push(redact(&run.join(" ")));
    }
    let masked = parts.join(" ");
    if masked.chars().count() <= REASON_MAX_CHARS {
        masked
    } else {
        let mut cut: String = masked.chars().take(REASON_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// Whether an SNS SMS delivery failure (`providerResponse` of the delivery status log) is about
/// the number itself, so that texting it again will fail again. The other failures (the phone is
/// off or unreachable, the carrier is down, the text was filtered, an unknown error, the price
/// cap) fail that message only. The reasons are those the SNS guide lists
/// (<https://docs.aws.amazon.com/sns/latest/dg/sms_stats_cloudwatch.html>).
pub fn sms_failure_is_permanent(provider_response: &str) -> bool {
    const PERMANENT: [&str; 5] = [
        "invalid phone number",
        "destination is blacklisted",
        "phone is blacklisted",
        "phone has blocked sms",
        "phone number is opted out",
    ];
    let lower = provider_response.to_lowercase();
    PERMANENT.iter().any(|p| lower.contains(p))
}

/// What a receipt means for the member it was sent to, beyond the one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consequence {
    /// A hard bounce or a complaint: email alerts off for the member with this address.
    StopEmail { address: Email, problem: DeliveryProblem },
    /// A permanent SMS failure on this number, to count on its member.
    SmsFailure { phone: PhoneNumber, detail: String, at: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_different_failure_stops_sms_alerts() {
        let first = DeliveryProblem::sms_failure(None, "m1", "Invalid phone number", 10).unwrap();
        assert_eq!((first.failures, first.stopped), (1, false));
        assert_eq!(DeliveryProblem::sms_failure(Some(&first), "m1", "Invalid phone number", 11), None);
        let second = DeliveryProblem::sms_failure(Some(&first), "m2", "Phone has blocked SMS", 20).unwrap();
        assert_eq!(
            (second.failures, second.stopped, second.detail.as_str()),
            (2, false, "Phone has blocked SMS")
        );
        let third = DeliveryProblem::sms_failure(Some(&second), "m3", "Invalid phone number", 5).unwrap();
        assert_eq!((third.failures, third.stopped), (3, true));
        assert_eq!(third.at, 20, "an older receipt does not move the date back");
        assert_eq!(third.message_ids, ["m1", "m2", "m3"]);
    }

    #[test]
    fn only_failures_about_the_number_are_permanent() {
        for permanent in ["Invalid phone number", "Phone has blocked SMS", "Phone number is opted out"] {
            assert!(sms_failure_is_permanent(permanent), "{permanent}");
        }
        for passing in [
            "Phone is currently unreachable/unavailable",
            "Phone carrier is currently unreachable/unavailable",
            "Unknown error attempting to reach phone",
            "Blocked as spam by phone carrier",
            "This delivery would exceed max price",
            "",
        ] {
            assert!(!sms_failure_is_permanent(passing), "{passing}");
        }
    }

    #[test]
    fn reasons_are_masked_one_line_and_short() {
        let reason =
            clean_reason("smtp; 550 5.1.1 <marie.lefevre@example.org>:\r\n user unknown +33639980001");
        assert!(!reason.contains("marie.lefevre@example.org"), "{reason}");
        assert!(!reason.contains("+33639980001"), "{reason}");
        assert!(!reason.contains('\n') && reason.contains("user unknown"), "{reason}");
        assert!(reason.starts_with("smtp; 550 5.1.1 "), "SMTP codes are kept: {reason}");
        assert_eq!(clean_reason("smtp; 452 4.2.2 mailbox full"), "smtp; 452 4.2.2 mailbox full");
        assert!(!clean_reason("call 06 39 98 00 01 now").contains("98 00"), "a spaced number is masked");
        let long = clean_reason(&"x".repeat(500));
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with('…'));
    }
}
