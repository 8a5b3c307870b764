//! A pure model of what AWS End User Messaging SMS does on the account's side, for the test
//! harness: moto has no End User Messaging, ignores SNS's SMS message attributes, never checks an
//! origination identity, and delivers to opted-out numbers (LOCAL-AWS.md). The gateway in front
//! of the emulator asks this model, for every SNS `Publish` to a phone number, whether AWS would
//! deliver it, drop it silently, or refuse the call; and, for a message a resident texts, what
//! AWS itself does before vigie sees it.
//!
//! What is confirmed by AWS's documentation and what is this model's conservative guess is said
//! rule by rule (`docs/sms-identity.md` has the sources). Where AWS's exact answer is not
//! documented, the model refuses rather than lets through: a harness that is stricter than AWS
//! costs a test, one that is laxer costs a town's first deploy.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use vigie::domain::{OPT_OUT_KEYWORDS, OriginationIdentity, first_keyword};

/// AWS takes a number off an opt-out list through SNS `OptInPhoneNumber` once every 30 days.
pub const OPT_IN_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The opt-out list every new phone number is given ("Default"), which SNS's account-level
/// opt-out operations read and change.
pub const DEFAULT_OPT_OUT_LIST: &str = "Default";

/// One origination identity of the account, as End User Messaging describes it
/// (`DescribePhoneNumbers`, `DescribeSenderIds`).
#[derive(Clone, Debug)]
pub struct Identity {
    pub identity: OriginationIdentity,
    /// Calling codes of the countries it may send to (`+33`: a French short code reaches French
    /// numbers only).
    pub countries: Vec<String>,
    /// The SNS topic inbound messages are published to, when two-way SMS is enabled.
    pub two_way_topic: Option<String>,
    /// `SelfManagedOptOutsEnabled`: vigie answers STOP and HELP itself.
    pub self_managed_opt_outs: bool,
    pub opt_out_list: String,
    /// Created after 24 September 2024: SNS may send from it only with a resource policy.
    pub needs_resource_policy: bool,
    /// A resource policy lets SNS use it.
    pub resource_policy_for_sns: bool,
}

impl Identity {
    /// A French identity as vigie's deploy wants it: two-way to `topic`, self-managed opt-outs,
    /// the Default opt-out list, SNS allowed by its resource policy.
    pub fn french(identity: &str, topic: Option<&str>) -> Self {
        Self {
            identity: OriginationIdentity::parse(identity).expect("a valid identity"),
            countries: vec!["+33".into()],
            two_way_topic: topic.map(str::to_owned),
            self_managed_opt_outs: true,
            opt_out_list: DEFAULT_OPT_OUT_LIST.into(),
            needs_resource_policy: true,
            resource_policy_for_sns: true,
        }
    }

    /// The same identity, allowed to send to every country: the test harness's default, whose
    /// scenarios text British and American numbers (the emulator's opted-out numbers are
    /// British) from a French short code. Country routes are checked where a test keeps them.
    pub fn anywhere(mut self) -> Self {
        self.countries = vec!["+".into()];
        self
    }

    fn reaches(&self, destination: &str) -> bool {
        self.countries.iter().any(|code| destination.starts_with(code.as_str()))
    }
}

/// The origination attributes of an SNS `Publish` to a phone number.
#[derive(Clone, Copy, Debug, Default)]
pub struct Publish<'a> {
    pub destination: &'a str,
    /// `AWS.MM.SMS.OriginationNumber`.
    pub origination_number: Option<&'a str>,
    /// `AWS.SNS.SMS.SenderID`.
    pub sender_id: Option<&'a str>,
}

/// An error as SNS answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub status: u16,
    /// SNS's error code (`InvalidParameter`, `AuthorizationError`).
    pub code: &'static str,
    pub message: String,
    /// Whether AWS documents this answer; `false` is the model's guess.
    pub documented: bool,
}

impl AwsError {
    fn invalid(message: impl Into<String>, documented: bool) -> Self {
        Self { status: 400, code: "InvalidParameter", message: message.into(), documented }
    }
}

/// What AWS does with a `Publish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The message goes out from this identity.
    Delivered { from: String },
    /// SNS answers with a message id and delivers nothing (documented by the behaviour reported
    /// of opted-out numbers: SNS accepts the call and logs the number as opted out).
    SilentlyDropped { reason: String },
    /// SNS refuses the call.
    Refused(AwsError),
}

/// What AWS does with a message a resident texts, before the stack sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inbound {
    /// The topic it is published to (two-way SMS), if any: otherwise vigie never sees it.
    pub published_to: Option<String>,
    /// AWS answered it itself (managed opt-outs: STOP, HELP).
    pub aws_replied: bool,
    /// AWS added the sender to the identity's opt-out list.
    pub opted_out: bool,
}

/// The account: its identities and its opt-out lists.
#[derive(Clone, Debug, Default)]
pub struct SmsAccount {
    pub identities: Vec<Identity>,
    opt_out_lists: BTreeMap<String, BTreeSet<String>>,
    /// When each number was last opted in through SNS, in milliseconds.
    opted_in_at: BTreeMap<String, u64>,
}

impl SmsAccount {
    pub fn new(identities: Vec<Identity>) -> Self {
        Self { identities, ..Self::default() }
    }

    /// Puts `number` on an opt-out list (a STOP handled by AWS, a number added by hand, or the
    /// emulator's pre-seeded opted-out numbers on the Default list).
    pub fn opt_out(&mut self, list: &str, number: &str) {
        self.opt_out_lists.entry(list.to_owned()).or_default().insert(number.to_owned());
    }

    pub fn is_opted_out(&self, list: &str, number: &str) -> bool {
        self.opt_out_lists.get(list).is_some_and(|numbers| numbers.contains(number))
    }

    /// SNS `ListPhoneNumbersOptedOut`: the Default list.
    pub fn opted_out_numbers(&self) -> Vec<String> {
        self.opt_out_lists.get(DEFAULT_OPT_OUT_LIST).map(|n| n.iter().cloned().collect()).unwrap_or_default()
    }

    /// SNS `OptInPhoneNumber` at `now_ms`: takes the number off the Default list, once every
    /// 30 days (documented); what AWS answers a second time within 30 days is not documented:
    /// the model answers `InvalidParameter`.
    pub fn opt_in(&mut self, number: &str, now_ms: u64) -> Result<(), AwsError> {
        self.may_opt_in(number, now_ms)?;
        if let Some(numbers) = self.opt_out_lists.get_mut(DEFAULT_OPT_OUT_LIST)
            && numbers.remove(number)
        {
            self.opted_in_at.insert(number.to_owned(), now_ms);
        }
        Ok(())
    }

    /// Whether SNS `OptInPhoneNumber` would be accepted for `number` at `now_ms` (see
    /// [`SmsAccount::opt_in`]).
    pub fn may_opt_in(&self, number: &str, now_ms: u64) -> Result<(), AwsError> {
        let interval = OPT_IN_INTERVAL.as_millis() as u64;
        match self.opted_in_at.get(number) {
            Some(&at) if now_ms.saturating_sub(at) < interval => Err(AwsError::invalid(
                "Invalid parameter: PhoneNumber Reason: a number can be opted in once every 30 days",
                false,
            )),
            _ => Ok(()),
        }
    }

    fn identity_named(&self, value: &str) -> Option<&Identity> {
        let digits = |s: &str| s.trim_start_matches('+').to_owned();
        self.identities.iter().find(|i| match &i.identity {
            OriginationIdentity::ShortCode(_) | OriginationIdentity::LongCode(_) => {
                digits(i.identity.as_str()) == digits(value)
            }
            OriginationIdentity::SenderId(id) => id.as_str() == value,
            OriginationIdentity::Resource(_) => false,
        })
    }

    /// What AWS does with an SNS `Publish` of an SMS.
    pub fn on_publish(&self, publish: &Publish<'_>) -> PublishOutcome {
        let refused = PublishOutcome::Refused;
        let identity = match (publish.origination_number, publish.sender_id) {
            (Some(_), Some(_)) => {
                // AWS Support advises against it (18F/identity-idp#6572); the answer is a guess.
                return refused(AwsError::invalid(
                    "Invalid parameter: an origination number and a sender ID in one message",
                    false,
                ));
            }
            (Some(number), None) => {
                // Documented: "a custom string of 5–14 numbers, which can include an optional
                // leading plus sign"; "must match an origination number that's configured in
                // your AWS account for the destination country".
                let digits = number.strip_prefix('+').unwrap_or(number);
                if !(5..=14).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return refused(AwsError::invalid(
                        format!("Invalid parameter: OriginationNumber {number:?} is not 5 to 14 digits"),
                        false,
                    ));
                }
                match self.identity_named(number) {
                    Some(identity) if !matches!(identity.identity, OriginationIdentity::SenderId(_)) => {
                        identity
                    }
                    _ => {
                        return refused(AwsError::invalid(
                            format!("Invalid parameter: OriginationNumber {number:?} is not in this account"),
                            false,
                        ));
                    }
                }
            }
            (None, Some(sender_id)) => match self.identity_named(sender_id) {
                Some(identity) if matches!(identity.identity, OriginationIdentity::SenderId(_)) => identity,
                _ => {
                    return refused(AwsError::invalid(
                        format!(
                            "Invalid parameter: SenderID {sender_id:?} is not registered in this account"
                        ),
                        false,
                    ));
                }
            },
            (None, None) => match self.identities.iter().find(|i| i.reaches(publish.destination)) {
                // Documented: SNS picks an identity of the account for the destination country.
                Some(identity) => identity,
                None => {
                    return refused(AwsError::invalid(
                        "Invalid parameter: no origination identity for the destination country",
                        false,
                    ));
                }
            },
        };
        if !identity.reaches(publish.destination) {
            return refused(AwsError::invalid(
                format!("Invalid parameter: {} cannot send to this country", identity.identity.kind()),
                false,
            ));
        }
        if identity.needs_resource_policy && !identity.resource_policy_for_sns {
            // Documented: identities created after 24 September 2024 need a resource policy for
            // SNS to send from them; SNS's exact answer is a guess.
            return refused(AwsError {
                status: 403,
                code: "AuthorizationError",
                message: "the origination identity's resource policy does not allow Amazon SNS".into(),
                documented: false,
            });
        }
        if self.is_opted_out(&identity.opt_out_list, publish.destination) {
            return PublishOutcome::SilentlyDropped {
                reason: format!("{} is opted out", publish.destination),
            };
        }
        PublishOutcome::Delivered { from: identity.identity.as_str().to_owned() }
    }

    /// What AWS does when `from` texts `body` to the identity `to`. With managed opt-outs (self-
    /// managed off), a message that *begins* with an opt-out keyword (ignoring case; accents are
    /// folded here, which AWS does not document) puts the sender on the identity's opt-out list
    /// and AWS answers it, as it answers HELP (documented). That the message is still published
    /// to the two-way topic is the model's assumption.
    pub fn on_inbound(&mut self, from: &str, to: &str, body: &str) -> Inbound {
        let Some(identity) = self.identity_named(to).cloned() else {
            return Inbound::default();
        };
        let mut inbound = Inbound { published_to: identity.two_way_topic.clone(), ..Inbound::default() };
        if identity.self_managed_opt_outs {
            return inbound;
        }
        let first = first_keyword(body).map(str::to_lowercase);
        let is = |table: &[(&str, vigie::domain::Language)]| {
            first.as_deref().is_some_and(|k| table.iter().any(|(keyword, _)| *keyword == k))
        };
        let first_word = body.split_whitespace().next().unwrap_or_default();
        if is(OPT_OUT_KEYWORDS) {
            self.opt_out(&identity.opt_out_list, from);
            inbound.opted_out = true;
            inbound.aws_replied = true;
        } else if first_word.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("HELP") {
            inbound.aws_replied = true;
        }
        // Opt-in keywords (START, UNSTOP) act only where configured, US toll-free numbers by
        // default: START changes nothing here.
        inbound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:vigie-InboundSmsTopic";

    fn account() -> SmsAccount {
        SmsAccount::new(vec![Identity::french("38123", Some(TOPIC)), Identity::french("BELLERIVE", None)])
    }

    fn publish<'a>(destination: &'a str, number: Option<&'a str>, sender: Option<&'a str>) -> Publish<'a> {
        Publish { destination, origination_number: number, sender_id: sender }
    }

    #[test]
    fn a_publish_from_an_identity_of_the_account_is_delivered() {
        let account = account();
        assert_eq!(
            account.on_publish(&publish("+33639980001", Some("38123"), None)),
            PublishOutcome::Delivered { from: "38123".into() }
        );
        assert_eq!(
            account.on_publish(&publish("+33639980001", None, Some("BELLERIVE"))),
            PublishOutcome::Delivered { from: "BELLERIVE".into() }
        );
        // No attribute: SNS picks an identity for the country.
        assert!(matches!(
            account.on_publish(&publish("+33639980001", None, None)),
            PublishOutcome::Delivered { .. }
        ));
    }

    #[test]
    fn what_aws_refuses_is_refused() {
        let account = account();
        let refused = |p: Publish<'_>| match account.on_publish(&p) {
            PublishOutcome::Refused(e) => e,
            other => panic!("{p:?}: {other:?}"),
        };
        assert!(
            refused(publish("+33639980001", Some("38124"), None)).message.contains("not in this account")
        );
        assert!(refused(publish("+33639980001", Some("pool-abc"), None)).message.contains("5 to 14 digits"));
        assert!(refused(publish("+33639980001", None, Some("MAIRIE"))).message.contains("not registered"));
        assert!(refused(publish("+33639980001", Some("BELLERIVE"), None)).message.contains("5 to 14"));
        assert!(
            refused(publish("+33639980001", Some("38123"), Some("BELLERIVE"))).message.contains("sender ID")
        );
        // A French short code does not reach a UK number.
        assert!(refused(publish("+447700900123", Some("38123"), None)).message.contains("country"));
        assert_eq!(refused(publish("+447700900123", None, None)).code, "InvalidParameter");
        // No resource policy on a recent identity.
        let mut account = self::account();
        account.identities[0].resource_policy_for_sns = false;
        let e = match account.on_publish(&publish("+33639980001", Some("38123"), None)) {
            PublishOutcome::Refused(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!((e.status, e.code), (403, "AuthorizationError"));
    }

    #[test]
    fn an_opted_out_number_is_accepted_and_never_delivered() {
        let mut account = account();
        account.opt_out(DEFAULT_OPT_OUT_LIST, "+33639980004");
        assert!(matches!(
            account.on_publish(&publish("+33639980004", Some("38123"), None)),
            PublishOutcome::SilentlyDropped { .. }
        ));
        assert_eq!(account.opted_out_numbers(), vec!["+33639980004".to_owned()]);
        // START through SNS: once, then not again for 30 days.
        let day = 24 * 3600 * 1000;
        account.opt_in("+33639980004", 10 * day).unwrap();
        assert!(matches!(
            account.on_publish(&publish("+33639980004", Some("38123"), None)),
            PublishOutcome::Delivered { .. }
        ));
        account.opt_out(DEFAULT_OPT_OUT_LIST, "+33639980004");
        let again = account.opt_in("+33639980004", 20 * day).unwrap_err();
        assert!(!again.documented && again.message.contains("30 days"));
        assert!(account.is_opted_out(DEFAULT_OPT_OUT_LIST, "+33639980004"));
        account.opt_in("+33639980004", 41 * day).unwrap();
        assert!(account.opted_out_numbers().is_empty());
        // Opting in a number that is not opted out changes nothing, and costs nothing.
        account.opt_in("+33639980009", 41 * day).unwrap();
        account.opt_out(DEFAULT_OPT_OUT_LIST, "+33639980009");
        account.opt_in("+33639980009", 42 * day).unwrap();
    }

    #[test]
    fn with_self_managed_opt_outs_aws_only_passes_messages_on() {
        let mut account = account();
        for body in ["STOP", "Arrêt", "HELP", "START", "Cambriolage rue des Lilas"] {
            let inbound = account.on_inbound("+33639980001", "38123", body);
            assert_eq!(inbound, Inbound { published_to: Some(TOPIC.into()), ..Inbound::default() }, "{body}");
        }
        assert!(account.opted_out_numbers().is_empty());
        // Texting a sender ID reaches nobody; nor does a number that is not the account's.
        assert_eq!(account.on_inbound("+33639980001", "BELLERIVE", "merci"), Inbound::default());
        assert_eq!(account.on_inbound("+33639980001", "38999", "STOP"), Inbound::default());
    }

    #[test]
    fn with_managed_opt_outs_aws_answers_and_opts_out_what_begins_with_a_keyword() {
        let mut account = account();
        account.identities[0].self_managed_opt_outs = false;
        let stop = account.on_inbound("+33639980001", "38123", "stop merci");
        assert!(stop.opted_out && stop.aws_replied && stop.published_to.is_some());
        assert!(account.is_opted_out(DEFAULT_OPT_OUT_LIST, "+33639980001"));
        // Even a long alert that merely begins with one.
        let end = account.on_inbound("+33639980002", "38123", "End of the road blocked by a truck");
        assert!(end.opted_out);
        assert!(account.on_inbound("+33639980003", "38123", "help").aws_replied);
        // START does not opt back in: a resident who said STOP stays out until vigie opts them in.
        let start = account.on_inbound("+33639980001", "38123", "START");
        assert!(!start.opted_out && !start.aws_replied);
        assert!(account.is_opted_out(DEFAULT_OPT_OUT_LIST, "+33639980001"));
        assert!(matches!(
            account.on_publish(&publish("+33639980001", Some("38123"), None)),
            PublishOutcome::SilentlyDropped { .. }
        ));
    }
}
