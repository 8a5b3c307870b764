//! Typed configuration, read once at cold start from the environment that `template.yaml` sets.

use std::time::Duration;

use crate::domain::{Email, PhoneNumber};

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
    /// The one shared number every member texts, and every SMS comes from.
    pub sms_number: PhoneNumber,
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
        let rate = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match lookup(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse::<u32>().map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!("expected a number of sends per second (0: no limit), got {v:?}"),
                }),
            }
        };
        let sms_number = PhoneNumber::parse(&required("SMS_ORIGINATION_NUMBER")?)
            .map_err(|e| ConfigError::Invalid { name: "SMS_ORIGINATION_NUMBER", reason: e.to_string() })?;
        let sender_email = Email::parse(&required("SENDER_EMAIL")?)
            .map_err(|e| ConfigError::Invalid { name: "SENDER_EMAIL", reason: e.to_string() })?;
        Ok(Self {
            tables: Tables {
                members: required("MEMBERS_TABLE")?,
                alerts: required("ALERTS_TABLE")?,
                ledger: required("LEDGER_TABLE")?,
            },
            sms_number,
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(set: Option<&str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            match name {
                "MEMBERS_TABLE" | "ALERTS_TABLE" | "LEDGER_TABLE" => Some("t"),
                "SMS_ORIGINATION_NUMBER" => Some("+33639980000"),
                "SENDER_EMAIL" => Some("alertes@vigie.example.org"),
                "PUBLIC_BASE_URL" => Some("https://vigie.example.org"),
                "EMAIL_CONFIGURATION_SET" => set,
                _ => None,
            }
            .map(str::to_owned)
        })
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
}
