//! The gateway rule for SMS: what AWS End User Messaging SMS does with the functions' SNS SMS
//! calls, and moto does not ([`crate::sms_account`] has the model and its sources).
//!
//! - `Publish` to a phone number: the origination attributes (`AWS.MM.SMS.OriginationNumber`,
//!   `AWS.SNS.SMS.SenderID`) must name an identity of the account that may send there, or the
//!   call is refused with SNS's error; to a number on the identity's opt-out list it is answered
//!   with a message id and **not forwarded** (AWS accepts it and delivers nothing, so the
//!   emulator's outbox does not show it either).
//! - `OptInPhoneNumber`: refused when the number was opted in less than 30 days ago; once the
//!   emulator took it, the model's Default list follows.
//! - `ListPhoneNumbersOptedOut`: answered from the model's Default list, the one the rule drops
//!   SMS for (a test may put a number back on it, as AWS would after a STOP it handled).
//!
//! The account's Default opt-out list starts as the emulator's (moto pre-seeds some UK numbers),
//! read once, on the first SMS call. Every decision is recorded ([`SmsRule::publishes`]).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use tokio::sync::OnceCell;

use super::iam::xml_escape;
use super::{Answer, Call, Rule, RuleFuture, Service, Verdict};
use crate::sms_account::{DEFAULT_OPT_OUT_LIST, Publish, PublishOutcome, SmsAccount};

/// One SMS `Publish` the rule judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    /// Who signed it (`inbound-sms`, `fan-out`).
    pub principal: Option<String>,
    pub destination: String,
    pub message: String,
    pub origination_number: Option<String>,
    pub sender_id: Option<String>,
    pub outcome: PublishOutcome,
}

/// See the module documentation.
pub struct SmsRule {
    account: Arc<Mutex<SmsAccount>>,
    /// The emulator, to read its opt-out list once.
    emulator: String,
    seeded: OnceCell<Result<(), String>>,
    judged: Mutex<Vec<Judged>>,
    client: reqwest::Client,
}

impl SmsRule {
    pub fn new(account: SmsAccount, emulator: &str) -> SmsRule {
        SmsRule {
            account: Arc::new(Mutex::new(account)),
            emulator: emulator.trim_end_matches('/').to_owned(),
            seeded: OnceCell::new(),
            judged: Mutex::new(Vec::new()),
            client: reqwest::Client::new(),
        }
    }

    /// The account, to change it in a test (an identity without its resource policy...).
    pub fn account(&self) -> std::sync::MutexGuard<'_, SmsAccount> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every SMS `Publish` judged so far, in order.
    pub fn publishes(&self) -> Vec<Judged> {
        self.judged.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The emulator's opt-out list becomes the account's Default list (once), read in the
    /// region of the first call. An error says why it could not be read.
    async fn seed(&self, region: &str) -> Result<(), String> {
        self.seeded
            .get_or_init(|| async {
                let numbers = self.emulator_opted_out(region).await.ok_or_else(|| {
                    format!(
                        "vigie test gateway: the SMS rule cannot read the emulator's opt-out list at {}",
                        self.emulator
                    )
                })?;
                let mut account = self.account();
                for number in numbers {
                    account.opt_out(DEFAULT_OPT_OUT_LIST, &number);
                }
                Ok(())
            })
            .await
            .clone()
    }

    /// moto's `ListPhoneNumbersOptedOut`, every page. moto picks the service (and the region's
    /// state) from the request's credential scope: without one, it answers as S3.
    async fn emulator_opted_out(&self, region: &str) -> Option<Vec<String>> {
        let mut numbers = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut form =
                vec![("Action", "ListPhoneNumbersOptedOut".to_owned()), ("Version", "2010-03-31".into())];
            if let Some(token) = &next {
                form.push(("nextToken", token.clone()));
            }
            let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
            let xml = self
                .client
                .post(format!("{}/", self.emulator))
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "authorization",
                    format!(
                        "AWS4-HMAC-SHA256 Credential=vigie-sms-rule/20260101/{region}/sns/aws4_request, SignedHeaders=host, Signature=0"
                    ),
                )
                .body(body)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            if !xml.contains("<ListPhoneNumbersOptedOutResponse") {
                return None;
            }
            numbers.extend(elements(&xml, "member"));
            next = elements(&xml, "nextToken").into_iter().next().filter(|t| !t.is_empty());
            if next.is_none() {
                return Some(numbers);
            }
        }
    }

    fn record(&self, call: &Call, publish: &Publish<'_>, outcome: &PublishOutcome) {
        self.judged.lock().unwrap_or_else(|p| p.into_inner()).push(Judged {
            principal: call.principal.clone(),
            destination: publish.destination.to_owned(),
            message: call.param("Message").unwrap_or_default().to_owned(),
            origination_number: publish.origination_number.map(str::to_owned),
            sender_id: publish.sender_id.map(str::to_owned),
            outcome: outcome.clone(),
        });
    }

    fn on_publish(&self, call: &Call, destination: &str) -> Verdict {
        let publish = Publish {
            destination,
            origination_number: message_attribute(call, "AWS.MM.SMS.OriginationNumber"),
            sender_id: message_attribute(call, "AWS.SNS.SMS.SenderID"),
        };
        let outcome = self.account().on_publish(&publish);
        self.record(call, &publish, &outcome);
        match outcome {
            PublishOutcome::Delivered { .. } => Verdict::Continue,
            PublishOutcome::SilentlyDropped { .. } => Verdict::Answer(Answer::new(
                StatusCode::OK,
                "text/xml",
                format!(
                    "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>{}</MessageId></PublishResult><ResponseMetadata><RequestId>vigie-sms-rule</RequestId></ResponseMetadata></PublishResponse>",
                    crate::sms_event::uuid()
                ),
            )),
            PublishOutcome::Refused(error) => {
                Verdict::Answer(sns_error(error.status, error.code, &error.message))
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// An SNS error answer (query protocol XML).
fn sns_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>vigie-sms-rule</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    )
}

/// The string value of a message attribute of an SNS request
/// (`MessageAttributes.entry.N.Name` / `MessageAttributes.entry.N.Value.StringValue`).
fn message_attribute<'a>(call: &'a Call, name: &str) -> Option<&'a str> {
    (1..=10).find_map(|n| {
        (call.param(&format!("MessageAttributes.entry.{n}.Name")) == Some(name))
            .then(|| call.param(&format!("MessageAttributes.entry.{n}.Value.StringValue")))
            .flatten()
    })
}

/// The texts of every `<tag>...</tag>` of an XML answer (no nesting inside them).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split(close.as_str()).next())
        .map(str::to_owned)
        .collect()
}

impl Rule for SmsRule {
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a> {
        Box::pin(async move {
            if call.service != Service::Sns {
                return Verdict::Continue;
            }
            let sms = matches!(
                call.operation.as_deref(),
                Some("Publish" | "OptInPhoneNumber" | "ListPhoneNumbersOptedOut")
            );
            if sms && let Err(why) = self.seed(call.region.as_deref().unwrap_or("eu-west-3")).await {
                return Verdict::Answer(sns_error(500, "InternalError", &why));
            }
            match call.operation.as_deref() {
                Some("Publish") => match call.param("PhoneNumber") {
                    Some(destination) => self.on_publish(call, destination),
                    None => Verdict::Continue,
                },
                Some("ListPhoneNumbersOptedOut") => {
                    let members: String = self
                        .account()
                        .opted_out_numbers()
                        .iter()
                        .map(|n| format!("<member>{}</member>", xml_escape(n)))
                        .collect();
                    Verdict::Answer(Answer::new(
                        StatusCode::OK,
                        "text/xml",
                        format!(
                            "<ListPhoneNumbersOptedOutResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListPhoneNumbersOptedOutResult><phoneNumbers>{members}</phoneNumbers></ListPhoneNumbersOptedOutResult><ResponseMetadata><RequestId>vigie-sms-rule</RequestId></ResponseMetadata></ListPhoneNumbersOptedOutResponse>"
                        ),
                    ))
                }
                Some("OptInPhoneNumber") => {
                    let number = call.param("phoneNumber").unwrap_or_default();
                    match self.account().may_opt_in(number, now_ms()) {
                        Ok(()) => Verdict::Continue,
                        Err(error) => Verdict::Answer(sns_error(error.status, error.code, &error.message)),
                    }
                }
                _ => Verdict::Continue,
            }
        })
    }

    fn after<'a>(&'a self, call: &'a Call, answer: &'a Answer) -> RuleFuture<'a> {
        Box::pin(async move {
            if call.service == Service::Sns
                && call.operation.as_deref() == Some("OptInPhoneNumber")
                && answer.status.is_success()
            {
                let number = call.param("phoneNumber").unwrap_or_default();
                let _ = self.account().opt_in(number, now_ms());
            }
            Verdict::Continue
        })
    }
}

#[cfg(test)]
mod tests {
    use hyper::{HeaderMap, Method};

    use super::*;
    use crate::sms_account::Identity;

    fn publish(body: &str) -> Call {
        Call::new(Method::POST, "/".into(), HeaderMap::new(), hyper::body::Bytes::from(body.to_owned()))
    }

    #[test]
    fn attributes_and_answers_are_read_and_written_as_sns_does() {
        let call = publish(
            "Action=Publish&PhoneNumber=%2B33639980001&Message=hi&MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=Transactional&MessageAttributes.entry.2.Name=AWS.MM.SMS.OriginationNumber&MessageAttributes.entry.2.Value.DataType=String&MessageAttributes.entry.2.Value.StringValue=38123",
        );
        assert_eq!(message_attribute(&call, "AWS.MM.SMS.OriginationNumber"), Some("38123"));
        assert_eq!(message_attribute(&call, "AWS.SNS.SMS.SenderID"), None);
        let rule = SmsRule::new(SmsAccount::new(vec![Identity::french("38123", None)]), "http://127.0.0.1:1");
        assert!(matches!(rule.on_publish(&call, "+33639980001"), Verdict::Continue));
        rule.account().opt_out(DEFAULT_OPT_OUT_LIST, "+33639980001");
        let Verdict::Answer(dropped) = rule.on_publish(&call, "+33639980001") else { panic!("answered") };
        assert_eq!(dropped.status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&dropped.body).contains("<MessageId>"));
        let Verdict::Answer(refused) = rule.on_publish(&call, "+447700900123") else { panic!("answered") };
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&refused.body).contains("<Code>InvalidParameter</Code>"));
        assert_eq!(rule.publishes().len(), 3);
        assert_eq!(
            elements(
                "<phoneNumbers><member>+447420500600</member><member>+1</member></phoneNumbers>",
                "member"
            ),
            ["+447420500600", "+1"]
        );
    }
}
