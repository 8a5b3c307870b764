//! Typed configuration, read once at cold start from the environment that `template.yaml` sets.

use std::time::Duration;

use crate::app::budget::SmsBudgets;
use crate::domain::{AllowedCountries, Email, OriginationIdentity, SharedNumber};

/// Names of the three tables (see `docs/data-model.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub members: String,
    pub alerts: String,
    pub ledger: String,
}

impl Tables {
    /// Local and test naming: `<prefix>-<LogicalId>` for each table of `template.yaml`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            members: format!("{prefix}-MembersTable"),
            alerts: format!("{prefix}-AlertsTable"),
            ledger: format!("{prefix}-LedgerTable"),
        }
    }
}

/// Everything a function needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    pub tables: Tables,
    /// The one shared number members text (a short code or a long code); replies to their
    /// messages come from it, so they can answer them.
    pub sms_shared_number: SharedNumber,
    /// What alerts and the sender's confirmation come from: the shared number unless the town
    /// chose another identity (a sender ID, another number). Never a pool or an ARN: SNS
    /// `Publish` cannot take them.
    pub sms_alert_sender: OriginationIdentity,
    /// The SES identity emails are sent from.
    pub sender_email: Email,
    /// The SES configuration set every email is sent with (`EMAIL_CONFIGURATION_SET`): its event
    /// destination publishes the bounces, complaints and deliveries the `delivery-events`
    /// function reads. `None` when unset (then no receipt ever comes back).
    pub email_configuration_set: Option<String>,
    /// Where the web page lives, without a trailing slash (`https://vigie.example.org`).
    pub public_base_url: String,
    /// How many sends the fan-out keeps in flight at once.
    pub fanout_concurrency: usize,
    /// Members read per page by the fan-out.
    pub fanout_page_size: i32,
    /// An alert SMS is cut cleanly to at most this many segments.
    pub sms_max_segments: usize,
    /// How long a claimed delivery stays reserved to the invocation that claimed it.
    pub claim_lease: Duration,
    /// Members one fan-out invocation handles before it hands over to the next (a cursor item).
    pub fanout_chunk_members: usize,
    /// SMS parts per second the account may send (0: no limit).
    pub sms_parts_per_second: u32,
    /// Emails per second the account may send (0: no limit).
    pub emails_per_second: u32,
    /// Alerts one member may raise per hour, by SMS and on the web together.
    pub alerts_per_hour: u32,
    /// Join requests the public form takes from one source address per hour.
    pub join_requests_per_ip_per_hour: u32,
    /// Sign-in link requests the page takes from one source address per hour, whatever the
    /// addresses typed.
    pub signin_links_per_ip_per_hour: u32,
    /// The countries members' numbers may be in, and the only ones vigie ever texts
    /// (`SMS_COUNTRIES`, calling codes; France and overseas France by default).
    pub sms_countries: AllowedCountries,
    /// Caps on the SMS `inbound-sms` sends back (`docs/reliability.md`, SMS pumping and loops).
    pub reply_caps: ReplyCaps,
    /// What alerts' SMS may cost, in parts: a community's month and the service's day
    /// (`SMS_MONTHLY_PARTS`, `SMS_DAILY_PARTS`; [`crate::app::budget`]).
    pub sms_budgets: SmsBudgets,
    /// How long an alert, its all clear and its delivery records are kept (`RETENTION_DAYS`,
    /// 90 by default; the town sets it): DynamoDB's TTL purges them after.
    pub retention: Duration,
    /// Who answers for the members' data (`DATA_CONTROLLER`: the town hall or the association),
    /// as the privacy page names them.
    pub data_controller: String,
}

/// How many replies `inbound-sms` may send: to numbers no member has, and to one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyCaps {
    /// Replies to unknown numbers, for the whole service, per hour (`UNKNOWN_REPLIES_PER_HOUR`;
    /// 0: never answer an unknown number).
    pub unknown_per_hour: u32,
    /// Replies to the unknown numbers of one range ([`crate::domain::PhoneNumber::range`]) per
    /// hour (`UNKNOWN_REPLIES_PER_RANGE_PER_HOUR`).
    pub unknown_per_range_per_hour: u32,
    /// Replies to one member's number per day (`MEMBER_REPLIES_PER_DAY`): keyword answers and
    /// error messages, not alerts nor the sender's confirmation.
    pub member_per_day: u32,
}

impl Default for ReplyCaps {
    fn default() -> Self {
        Self { unknown_per_hour: 10, unknown_per_range_per_hour: 2, member_per_day: 10 }
    }
}

/// A missing or malformed setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required =
            |name: &'static str| lookup(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let number = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            match lookup(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Invalid {
                    name,
                    reason: format!("expected a positive integer, got {v:?}"),
                }),
            }
        };
        // A count that may be 0: `expected` says what it counts and what 0 means.
        let count = |name: &'static str, default: u32, expected: &str| -> Result<u32, ConfigError> {
            match lookup(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse::<u32>().map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!("expected {expected}, got {v:?}"),
                }),
            }
        };
        let rate = |name, default| count(name, default, "a number of sends per second (0: no limit)");
        let cap = |name, default| count(name, default, "a number of replies (0: none)");
        let parts = |name, default| count(name, default, "a number of SMS parts (0: none)");
        let budgets = SmsBudgets::default();
        let sms_budgets = SmsBudgets {
            monthly_parts: parts("SMS_MONTHLY_PARTS", budgets.monthly_parts)?,
            daily_parts: parts("SMS_DAILY_PARTS", budgets.daily_parts)?,
        };
        let caps = ReplyCaps::default();
        let reply_caps = ReplyCaps {
            unknown_per_hour: cap("UNKNOWN_REPLIES_PER_HOUR", caps.unknown_per_hour)?,
            unknown_per_range_per_hour: cap(
                "UNKNOWN_REPLIES_PER_RANGE_PER_HOUR",
                caps.unknown_per_range_per_hour,
            )?,
            member_per_day: cap("MEMBER_REPLIES_PER_DAY", caps.member_per_day)?,
        };
        let sms_countries = match lookup("SMS_COUNTRIES").filter(|v| !v.trim().is_empty()) {
            None => AllowedCountries::default(),
            Some(v) => AllowedCountries::parse(&v)
                .map_err(|e| ConfigError::Invalid { name: "SMS_COUNTRIES", reason: e.to_string() })?,
        };
        let (sms_shared_number, sms_alert_sender) = sms_identities(&lookup)?;
        let sender_email = Email::parse(&required("SENDER_EMAIL")?)
            .map_err(|e| ConfigError::Invalid { name: "SENDER_EMAIL", reason: e.to_string() })?;
        Ok(Self {
            tables: Tables {
                members: required("MEMBERS_TABLE")?,
                alerts: required("ALERTS_TABLE")?,
                ledger: required("LEDGER_TABLE")?,
            },
            sms_shared_number,
            sms_alert_sender,
            sender_email,
            email_configuration_set: lookup("EMAIL_CONFIGURATION_SET")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| {
                    // SES names: letters, digits, `_` and `-`, at most 64 characters.
                    let ok = v.len() <= 64
                        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if ok {
                        Ok(v)
                    } else {
                        Err(ConfigError::Invalid {
                            name: "EMAIL_CONFIGURATION_SET",
                            reason: format!("not an SES configuration set name: {v:?}"),
                        })
                    }
                })
                .transpose()?,
            public_base_url: required("PUBLIC_BASE_URL")?.trim_end_matches('/').to_owned(),
            fanout_concurrency: number("FANOUT_CONCURRENCY", 16)?,
            fanout_page_size: number("FANOUT_PAGE_SIZE", 100)?.min(1000) as i32,
            sms_max_segments: number("SMS_MAX_SEGMENTS", 3)?,
            claim_lease: Duration::from_secs(number("CLAIM_LEASE_SECONDS", 60)? as u64),
            fanout_chunk_members: number("FANOUT_CHUNK_MEMBERS", 1000)?,
            sms_parts_per_second: rate("SMS_PARTS_PER_SECOND", 20)?,
            emails_per_second: rate("EMAILS_PER_SECOND", 14)?,
            alerts_per_hour: number("ALERTS_PER_HOUR", 5)?.min(u32::MAX as usize) as u32,
            join_requests_per_ip_per_hour: number("JOIN_REQUESTS_PER_IP_PER_HOUR", 10)?.min(u32::MAX as usize)
                as u32,
            signin_links_per_ip_per_hour: number("SIGNIN_LINKS_PER_IP_PER_HOUR", 30)?.min(u32::MAX as usize)
                as u32,
            sms_countries,
            reply_caps,
            retention: Duration::from_secs(number("RETENTION_DAYS", 90)?.min(3650) as u64 * 24 * 3600),
            data_controller: lookup("DATA_CONTROLLER")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "la mairie de votre commune".to_owned()),
            sms_budgets,
        })
    }
}

/// `SMS_SHARED_NUMBER` (or, for a stack deployed before it existed, `SMS_ORIGINATION_NUMBER`) and
/// `SMS_ALERT_SENDER` (empty: the shared number).
fn sms_identities(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(SharedNumber, OriginationIdentity), ConfigError> {
    let present = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).map(|v| (name, v));
    let (name, value) = present("SMS_SHARED_NUMBER")
        .or_else(|| present("SMS_ORIGINATION_NUMBER"))
        .ok_or(ConfigError::Missing("SMS_SHARED_NUMBER"))?;
    let shared =
        SharedNumber::parse(&value).map_err(|e| ConfigError::Invalid { name, reason: e.to_string() })?;
    let sender = match present("SMS_ALERT_SENDER") {
        None => shared.identity(),
        Some((name, value)) => {
            let invalid = |reason: String| ConfigError::Invalid { name, reason };
            let sender = OriginationIdentity::parse(&value).map_err(|e| invalid(e.to_string()))?;
            sender.sns_attribute().map_err(|e| invalid(e.to_string()))?;
            sender
        }
    };
    Ok((shared, sender))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            let base = match name {
                "MEMBERS_TABLE" | "ALERTS_TABLE" | "LEDGER_TABLE" => Some("t"),
                "SENDER_EMAIL" => Some("alertes@vigie.example.org"),
                "PUBLIC_BASE_URL" => Some("https://vigie.example.org"),
                _ => None,
            };
            extra.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).or(base).map(str::to_owned)
        })
    }

    fn with(set: Option<&str>) -> Result<Config, ConfigError> {
        let mut extra = vec![("SMS_SHARED_NUMBER", "38123")];
        extra.extend(set.map(|set| ("EMAIL_CONFIGURATION_SET", set)));
        config(&extra)
    }

    #[test]
    fn the_email_configuration_set_is_a_set_name_or_none() {
        assert_eq!(with(None).unwrap().email_configuration_set, None);
        assert_eq!(with(Some("  ")).unwrap().email_configuration_set, None);
        assert_eq!(
            with(Some("vigie-prod_email")).unwrap().email_configuration_set.as_deref(),
            Some("vigie-prod_email")
        );
        for bad in ["vigie email", "vigie/email", &"x".repeat(65)] {
            let err = with(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("EMAIL_CONFIGURATION_SET"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_shared_number_and_the_alert_sender() {
        let c = config(&[("SMS_SHARED_NUMBER", "38123")]).unwrap();
        assert_eq!(c.sms_shared_number.as_str(), "38123");
        assert_eq!(c.sms_alert_sender.as_str(), "38123", "alerts come from the shared number by default");
        let c = config(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ALERT_SENDER", "BELLERIVE")]).unwrap();
        assert_eq!(c.sms_alert_sender.kind(), "a sender ID");
        let c = config(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ALERT_SENDER", "")]).unwrap();
        assert_eq!(c.sms_alert_sender.as_str(), "38123", "empty is the default");
        // A stack deployed before SMS_SHARED_NUMBER still starts.
        let c = config(&[("SMS_ORIGINATION_NUMBER", "+33939000000")]).unwrap();
        assert_eq!(c.sms_shared_number.as_str(), "+33939000000");
        let c =
            config(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ORIGINATION_NUMBER", "+33939000000")]).unwrap();
        assert_eq!(c.sms_shared_number.as_str(), "38123", "the new name wins");
    }

    /// The samples the template's patterns are checked against (`infra/test_sms_parameters.py`):
    /// what the template refuses at deploy, the functions refuse at start, and more.
    #[test]
    fn the_template_samples() {
        let samples: serde_json::Value =
            serde_json::from_str(include_str!("../../infra/sms-identity-samples.json")).unwrap();
        let values = |name: &str, kind: &str| -> Vec<String> {
            samples[name][kind].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        for value in values("SharedNumber", "valid") {
            assert!(config(&[("SMS_SHARED_NUMBER", &value)]).is_ok(), "{value:?}");
        }
        for value in values("SharedNumber", "invalid").into_iter().chain(values("SharedNumber", "start_only"))
        {
            assert!(config(&[("SMS_SHARED_NUMBER", &value)]).is_err(), "{value:?}");
        }
        let with_sender =
            |value: &str| config(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ALERT_SENDER", value)]);
        for value in values("AlertSenderIdentity", "valid") {
            assert!(with_sender(&value).is_ok(), "{value:?}");
        }
        for value in values("AlertSenderIdentity", "invalid")
            .into_iter()
            .chain(values("AlertSenderIdentity", "start_only"))
        {
            assert!(with_sender(&value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn the_countries_and_the_reply_caps() {
        let c = config(&[("SMS_SHARED_NUMBER", "38123")]).unwrap();
        assert_eq!(c.sms_countries, AllowedCountries::france());
        assert_eq!(c.reply_caps, ReplyCaps::default());
        assert_eq!(c.sms_budgets, SmsBudgets::default());
        let c = config(&[
            ("SMS_SHARED_NUMBER", "38123"),
            ("SMS_COUNTRIES", "33,32"),
            ("UNKNOWN_REPLIES_PER_HOUR", "0"),
            ("UNKNOWN_REPLIES_PER_RANGE_PER_HOUR", "1"),
            ("MEMBER_REPLIES_PER_DAY", "3"),
            ("SMS_MONTHLY_PARTS", "0"),
            ("SMS_DAILY_PARTS", "900"),
        ])
        .unwrap();
        assert_eq!(c.sms_budgets, SmsBudgets { monthly_parts: 0, daily_parts: 900 });
        assert_eq!(c.sms_countries.codes(), ["33", "32"]);
        assert_eq!(
            c.reply_caps,
            ReplyCaps { unknown_per_hour: 0, unknown_per_range_per_hour: 1, member_per_day: 3 }
        );
        let err =
            |extra: (&str, &str)| config(&[("SMS_SHARED_NUMBER", "38123"), extra]).unwrap_err().to_string();
        assert!(err(("SMS_COUNTRIES", "FR")).contains("SMS_COUNTRIES"));
        assert!(err(("MEMBER_REPLIES_PER_DAY", "-1")).contains("MEMBER_REPLIES_PER_DAY"));
        assert!(err(("SMS_DAILY_PARTS", "lots")).contains("SMS parts"));
    }

    #[test]
    fn garbage_stops_the_cold_start_with_a_clear_error() {
        let err = |extra: &[(&str, &str)]| config(extra).unwrap_err().to_string();
        assert_eq!(err(&[]), "environment variable SMS_SHARED_NUMBER is not set");
        let e = err(&[("SMS_SHARED_NUMBER", "BELLERIVE")]);
        assert!(
            e.starts_with("environment variable SMS_SHARED_NUMBER is invalid")
                && e.contains("cannot receive"),
            "{e}"
        );
        let e = err(&[("SMS_SHARED_NUMBER", "06 39 98 00 00")]);
        assert!(e.contains("SMS_SHARED_NUMBER"), "{e}");
        let e = err(&[("SMS_ORIGINATION_NUMBER", "hello")]);
        assert!(e.starts_with("environment variable SMS_ORIGINATION_NUMBER is invalid"), "{e}");
        let pool = "pool-a2a21dfe3b5d4506961fca46cb4a8bdf";
        let e = err(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ALERT_SENDER", pool)]);
        assert!(
            e.contains("SMS_ALERT_SENDER") && e.contains("a phone pool cannot be used with SNS Publish"),
            "{e}"
        );
        let e = err(&[("SMS_SHARED_NUMBER", "38123"), ("SMS_ALERT_SENDER", "A B")]);
        assert!(e.contains("SMS_ALERT_SENDER") && e.contains("sender ID"), "{e}");
    }
}
