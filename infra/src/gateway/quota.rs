//! The account's send quotas, as AWS enforces them and the emulator does not: SMS message parts
//! per second of an origination identity, emails per second of SES. A call above the quota is
//! answered with the service's own throttling error, and nothing is sent.
//!
//! - **What counts.** An SNS `Publish` to a phone number counts its message parts, as End User
//!   Messaging counts them ("SMS throughput limits … are measured in Message Parts per Second",
//!   <https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-mps.html>), counted
//!   with vigie's own segment counter (`vigie::domain::count_segments`); one bucket per origination
//!   identity (`AWS.MM.SMS.OriginationNumber`, or `AWS.SNS.SMS.SenderID`). An SES v2 `SendEmail` counts its recipients, as
//!   SES's sending rate does (an email to five recipients counts five: the SES team's answer quoted
//!   in <https://github.com/django-ses/django-ses/issues/59>); one bucket for the account.
//! - **The bucket.** A token bucket of capacity one second of quota, full at the start, refilled
//!   continuously at the quota: a sender that keeps to the rate never runs it dry, whatever the
//!   jitter of the network up to a second, while one that sends twice the rate is refused within
//!   about a second. A message of more parts than the capacity passes only from a full bucket
//!   (and its parts are owed).
//! - **The answers.** SNS: HTTP 400 `Throttling` "Rate exceeded", the error observed for SMS
//!   throughput (<https://github.com/amzn/smoke-aws/pull/149>, "Rate exceeded" for more than one
//!   SMS a second on a long code: <https://github.com/cds-snc/notification-terraform/pull/274>);
//!   the SNS API reference also documents `ThrottledException` (HTTP 429) for the account's API
//!   rate, which the search could not tie to SMS throughput. SES v2: HTTP 429
//!   `TooManyRequestsException` `{"message":"Maximum sending rate exceeded."}`, as SES answers
//!   past the maximum send rate (<https://github.com/pm-pmaas/etailors_amazon_ses/issues/117>,
//!   <https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors>).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::StatusCode;

use super::{Answer, Call, Rule, RuleFuture, Service, Verdict};

/// A token bucket of one second of quota.
#[derive(Debug)]
struct Bucket {
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Self { per_second, tokens: per_second, at: Instant::now() }
    }

    /// Takes `units` if the bucket has them (or is full); false when the call is throttled.
    fn take(&mut self, units: u32, now: Instant) -> bool {
        let capacity = self.per_second.max(1.0);
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second).min(capacity);
        self.at = now;
        let units = f64::from(units);
        if self.tokens >= units.min(capacity) {
            self.tokens -= units;
            true
        } else {
            false
        }
    }
}

/// What the quotas let through and refused.
#[derive(Debug, Default)]
pub struct QuotaStats {
    pub sms_parts_sent: AtomicU64,
    pub emails_sent: AtomicU64,
    /// Publish calls answered with a throttling error.
    pub sms_throttled: AtomicU64,
    /// SendEmail calls answered with a throttling error.
    pub emails_throttled: AtomicU64,
    /// SMS parts let through, by second of the clock (Unix time).
    sms_by_second: Mutex<BTreeMap<u64, u64>>,
    emails_by_second: Mutex<BTreeMap<u64, u64>>,
    /// When the first and the last send went through.
    first_send: Mutex<Option<Instant>>,
    last_send: Mutex<Option<Instant>>,
}

impl QuotaStats {
    pub fn throttled(&self) -> u64 {
        self.sms_throttled.load(Ordering::Relaxed) + self.emails_throttled.load(Ordering::Relaxed)
    }

    /// The most SMS parts let through in one second of the clock.
    pub fn busiest_sms_second(&self) -> u64 {
        self.sms_by_second.lock().unwrap_or_else(|p| p.into_inner()).values().copied().max().unwrap_or(0)
    }

    /// The most emails let through in one second of the clock.
    pub fn busiest_email_second(&self) -> u64 {
        self.emails_by_second.lock().unwrap_or_else(|p| p.into_inner()).values().copied().max().unwrap_or(0)
    }

    /// When the first send went through, if one did.
    pub fn first_send(&self) -> Option<Instant> {
        *self.first_send.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the last send went through, if one did.
    pub fn last_send(&self) -> Option<Instant> {
        *self.last_send.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, seconds: &Mutex<BTreeMap<u64, u64>>, units: u64) {
        let second = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        *seconds.lock().unwrap_or_else(|p| p.into_inner()).entry(second).or_default() += units;
        let now = Instant::now();
        self.first_send.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(now);
        *self.last_send.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
    }
}

/// The rule. See the module docs.
#[derive(Debug)]
pub struct SendQuota {
    sms_parts_per_second: u32,
    emails_per_second: u32,
    /// By origination identity.
    sms: Mutex<HashMap<String, Bucket>>,
    email: Mutex<Bucket>,
    pub stats: QuotaStats,
}

impl SendQuota {
    /// The account's quotas (0: no limit on that channel).
    pub fn new(sms_parts_per_second: u32, emails_per_second: u32) -> Self {
        Self {
            sms_parts_per_second,
            emails_per_second,
            sms: Mutex::new(HashMap::new()),
            email: Mutex::new(Bucket::new(emails_per_second)),
            stats: QuotaStats::default(),
        }
    }

    fn judge(&self, call: &Call) -> Verdict {
        match (call.service, call.operation.as_deref()) {
            (Service::Sns, Some("Publish")) if call.param("PhoneNumber").is_some() => {
                let parts = vigie::domain::count_segments(call.param("Message").unwrap_or_default()).segments;
                let parts = (parts as u32).max(1);
                let passes = self.sms_parts_per_second == 0 || {
                    let mut buckets = self.sms.lock().unwrap_or_else(|p| p.into_inner());
                    buckets
                        .entry(origination(call).unwrap_or_default().to_owned())
                        .or_insert_with(|| Bucket::new(self.sms_parts_per_second))
                        .take(parts, Instant::now())
                };
                if passes {
                    self.stats.sms_parts_sent.fetch_add(u64::from(parts), Ordering::Relaxed);
                    self.stats.count(&self.stats.sms_by_second, u64::from(parts));
                    Verdict::Continue
                } else {
                    self.stats.sms_throttled.fetch_add(1, Ordering::Relaxed);
                    Verdict::Answer(sns_throttled())
                }
            }
            (Service::Ses, Some("SendEmail")) => {
                let recipients = recipients(call).max(1);
                let passes = self.emails_per_second == 0
                    || self.email.lock().unwrap_or_else(|p| p.into_inner()).take(recipients, Instant::now());
                if passes {
                    self.stats.emails_sent.fetch_add(u64::from(recipients), Ordering::Relaxed);
                    self.stats.count(&self.stats.emails_by_second, u64::from(recipients));
                    Verdict::Continue
                } else {
                    self.stats.emails_throttled.fetch_add(1, Ordering::Relaxed);
                    Verdict::Answer(ses_throttled())
                }
            }
            _ => Verdict::Continue,
        }
    }
}

impl Rule for SendQuota {
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a> {
        let verdict = self.judge(call);
        Box::pin(async move { verdict })
    }
}

/// The origination identity a Publish names (`MessageAttributes.entry.N.Name` =
/// `AWS.MM.SMS.OriginationNumber` or `AWS.SNS.SMS.SenderID`, its `Value.StringValue`).
fn origination(call: &Call) -> Option<&str> {
    let params = call.params();
    let (name, _) = params.iter().find(|(k, v)| {
        k.ends_with(".Name") && (v == "AWS.MM.SMS.OriginationNumber" || v == "AWS.SNS.SMS.SenderID")
    })?;
    let prefix = name.strip_suffix(".Name")?;
    let value = format!("{prefix}.Value.StringValue");
    params.iter().find(|(k, _)| *k == value).map(|(_, v)| v.as_str())
}

/// The recipients of an SES v2 SendEmail (To, Cc, Bcc).
fn recipients(call: &Call) -> u32 {
    let Some(destination) = call.json().and_then(|j| j.get("Destination")) else { return 1 };
    ["ToAddresses", "CcAddresses", "BccAddresses"]
        .iter()
        .filter_map(|k| destination.get(*k).and_then(|v| v.as_array()))
        .map(|a| a.len() as u32)
        .sum()
}

/// SNS's answer to a Publish above the SMS throughput.
pub fn sns_throttled() -> Answer {
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        ulid::Ulid::new()
    );
    Answer::new(StatusCode::BAD_REQUEST, "text/xml", body)
}

/// SES v2's answer to a SendEmail above the maximum send rate.
pub fn ses_throttled() -> Answer {
    Answer::new(
        StatusCode::TOO_MANY_REQUESTS,
        "application/json",
        r#"{"message":"Maximum sending rate exceeded."}"#,
    )
    .with_header("x-amzn-errortype", "TooManyRequestsException")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyper::Method;
    use hyper::body::Bytes;
    use hyper::header::HeaderMap;

    use super::*;

    fn publish(message: &str) -> Call {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "Publish")
            .append_pair("PhoneNumber", "+33639980001")
            .append_pair("Message", message)
            .append_pair("MessageAttributes.entry.1.Name", "AWS.MM.SMS.OriginationNumber")
            .append_pair("MessageAttributes.entry.1.Value.DataType", "String")
            .append_pair("MessageAttributes.entry.1.Value.StringValue", "+33639980000")
            .finish();
        Call::new(Method::POST, "/".into(), HeaderMap::new(), Bytes::from(body))
    }

    #[test]
    fn a_bucket_of_one_second_lets_the_rate_through_and_refuses_twice_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10);
        // At the rate, for 5 s: never refused.
        assert!((0..50).all(|i| bucket.take(1, start + Duration::from_millis(100 * i))));
        // Twice the rate: the second's reserve goes, then every other one is refused.
        let later = start + Duration::from_secs(10);
        let passed = (0..40).filter(|i| bucket.take(1, later + Duration::from_millis(50 * i))).count();
        assert!((28..=31).contains(&passed), "{passed}");
        // A long message needs its parts (from a full bucket at least).
        let mut slow = Bucket::new(2);
        assert!(slow.take(3, start));
        assert!(!slow.take(1, start + Duration::from_millis(100)));
    }

    #[test]
    fn publish_counts_message_parts_per_origination_identity() {
        let call = publish("Marie : rôdeur rue des Lilas");
        assert_eq!(origination(&call), Some("+33639980000"));
        let quota = SendQuota::new(4, 0);
        // Two parts each (UCS-2 past 70 characters): the 4-part bucket takes two, not three.
        let long = publish(&"é🚨".repeat(40));
        assert!(matches!(quota.judge(&long), Verdict::Continue));
        assert!(matches!(quota.judge(&long), Verdict::Continue));
        let Verdict::Answer(answer) = quota.judge(&long) else { panic!("throttled") };
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&answer.body).contains("<Code>Throttling</Code>"));
        assert_eq!(quota.stats.sms_throttled.load(Ordering::Relaxed), 1);
        assert!(quota.stats.sms_parts_sent.load(Ordering::Relaxed) >= 4);
        // No quota: everything through.
        let free = SendQuota::new(0, 0);
        assert!((0..100).all(|_| matches!(free.judge(&long), Verdict::Continue)));
    }

    #[test]
    fn ses_is_refused_with_too_many_requests() {
        let answer = ses_throttled();
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers.get("x-amzn-errortype").unwrap(), "TooManyRequestsException");
    }
}
