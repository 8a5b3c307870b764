//! `vigie-local`: run vigie on a laptop. See `infra/src/lib.rs`.
//!
//! Every command reads `VIGIE_AWS_ENDPOINT` (default `http://127.0.0.1:4566`, the moto server)
//! and `VIGIE_TABLE_PREFIX` (default `vigie`: tables `vigie-MembersTable`...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use infra::gateway::quota::SendQuota;
use infra::gateway::tokens::ClientTokens;
use infra::gateway::{Gateway, Rule};
use infra::relay::{HttpInvoker, Invoker, Relay, RelayConfig};
use infra::{outbox, receipt_event, sms_event, stack, template};
use tracing_subscriber::EnvFilter;
use vigie::adapters::DynamoStore;
use vigie::config::Tables;

type Error = Box<dyn std::error::Error>;

/// vigie's local stack: tables, stream relay, inbound SMS, outbox.
#[derive(Parser)]
#[command(name = "vigie-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the tables of template.yaml and the SES identity of SENDER_EMAIL; print the table names.
    Setup {
        /// The template to read (default: the workspace's template.yaml).
        #[arg(long)]
        template: Option<PathBuf>,
    },
    /// Load a town hall import file (communities and members; format in the README): all or nothing.
    Seed {
        /// The JSON file, or a spreadsheet's CSV (`.csv`; default: VIGIE_SEED, else infra/demo/seed.json).
        file: Option<PathBuf>,
    },
    /// Deliver the AlertsTable stream to `fan-out` (at VIGIE_LAMBDA_URL, `cargo lambda watch`) until Ctrl-C.
    Relay {
        /// The template whose FanOutFunction event settings apply (default: the workspace's).
        #[arg(long)]
        template: Option<PathBuf>,
        /// Also append records given up on (the on-failure destination) to this file, as JSON lines.
        #[arg(long)]
        on_failure_file: Option<PathBuf>,
    },
    /// Text the shared number (SMS_SHARED_NUMBER): invoke `inbound-sms` with the SNS event AWS would deliver.
    Sms {
        /// The sender's number (E.164).
        #[arg(long)]
        from: String,
        /// The message.
        #[arg(long)]
        text: String,
        /// The inbound message id (default: a fresh ULID); reuse one to replay a message.
        #[arg(long)]
        id: Option<String>,
        /// Also write the event JSON to this file.
        #[arg(long)]
        event_out: Option<PathBuf>,
    },
    /// Say what became of a message sent (as SES or SNS would): invoke `delivery-events` with the event AWS delivers.
    Receipt {
        /// The message id (`make outbox` lists them).
        #[arg(long)]
        id: String,
        /// For an email: delivery, bounce, soft-bounce, complaint, reject, send, delay. For an SMS: delivered, failed.
        #[arg(long)]
        event: String,
        /// The carrier's answer of a failed SMS.
        #[arg(long, default_value = "Invalid phone number")]
        reason: String,
    },
    /// Serve the functions' AWS calls in front of the emulator until Ctrl-C, doing what AWS does
    /// and the emulator does not: the account's send quotas (SMS_PARTS_PER_SECOND,
    /// EMAILS_PER_SECOND, as the functions read them), answered above them with AWS's throttling
    /// errors, and DynamoDB's client request tokens. Says what it let through every 10 s.
    Gateway {
        /// The port on 127.0.0.1 (default: VIGIE_GATEWAY_PORT, else 4567).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Print the SMS and emails the emulator has sent.
    Outbox,
    /// Put a community on a clock where it is night now (22:00 to 07:00: quiet hours apply), or
    /// on the time zone given (`--zone Europe/Paris` puts the demo back).
    Night {
        /// The community's id (default: les-tilleuls, of the demo).
        #[arg(default_value = "les-tilleuls")]
        community: String,
        /// An IANA time zone instead of one where it is night.
        #[arg(long)]
        zone: Option<String>,
    },
}

/// Zones 7 to 9 hours apart around the world: at any moment one of them is between 22:00 and
/// 07:00 (a night lasts 9 hours).
const NIGHT_ZONES: [&str; 3] = ["Pacific/Auckland", "Asia/Dubai", "America/New_York"];

/// A time zone where it is night at `now_ms`.
fn zone_at_night(now_ms: i64) -> Result<vigie::domain::TimeZoneId, Error> {
    for name in NIGHT_ZONES {
        let zone = vigie::domain::TimeZoneId::parse(name).map_err(|e| format!("{name}: {e}"))?;
        if vigie::domain::quiet::is_night(&zone, now_ms) {
            return Ok(zone);
        }
    }
    Err("no zone of the list is at night now".into())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

fn required_env(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("environment variable {name} is not set").into())
}

fn read_template(path: Option<&Path>) -> Result<String, Error> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(template::workspace_template);
    Ok(template::read_template(&path)?)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigie-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let endpoint = env_or("VIGIE_AWS_ENDPOINT", stack::DEFAULT_ENDPOINT);
    let prefix = env_or("VIGIE_TABLE_PREFIX", "vigie");
    match cli.command {
        Cmd::Setup { template } => {
            let yaml = read_template(template.as_deref())?;
            let sender = required_env("SENDER_EMAIL")?;
            let config = stack::aws_config(&endpoint).await;
            let tables =
                template::create_tables(&aws_sdk_dynamodb::Client::new(&config), &yaml, &prefix).await?;
            let ses = aws_sdk_sesv2::Client::new(&config);
            stack::create_sender_identity(&ses, &sender).await?;
            if let Some(set) = std::env::var("EMAIL_CONFIGURATION_SET").ok().filter(|v| !v.is_empty()) {
                stack::create_configuration_set(&ses, &set).await?;
            }
            println!("MEMBERS_TABLE={}", tables.members);
            println!("ALERTS_TABLE={}", tables.alerts);
            println!("LEDGER_TABLE={}", tables.ledger);
        }
        Cmd::Seed { file } => {
            let path = file.unwrap_or_else(|| PathBuf::from(env_or("VIGIE_SEED", "infra/demo/seed.json")));
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // The countries the functions allow (`SMS_COUNTRIES`, as the template sets it).
            let countries = match std::env::var("SMS_COUNTRIES").ok().filter(|v| !v.trim().is_empty()) {
                None => vigie::domain::AllowedCountries::default(),
                Some(list) => vigie::domain::AllowedCountries::parse(&list)
                    .map_err(|e| format!("SMS_COUNTRIES: {e}"))?,
            };
            // A spreadsheet's CSV (`.csv`, the town hall's member list), else the JSON import.
            let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let import = if csv {
                vigie::domain::parse_import_csv(&bytes, &countries)
            } else {
                let json =
                    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
                vigie::domain::parse_import(&json, &countries)
            }
            .map_err(|errors| format!("{} is not imported:\n{errors}", path.display()))?;
            let config = stack::aws_config(&endpoint).await;
            let store =
                DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), Tables::with_prefix(&prefix));
            // Numbers without a paper consent are invited from the shared number.
            let shared = vigie::domain::SharedNumber::parse(&env_or("SMS_SHARED_NUMBER", "38123"))
                .map_err(|e| format!("SMS_SHARED_NUMBER: {e}"))?;
            let texter = vigie::adapters::sns::SnsTexter::from_sdk(&config, &shared.identity());
            let loaded = vigie::app::import::load(&store, &texter, &import)
                .await
                .map_err(|e| format!("{} is not imported:\n{e}", path.display()))?;
            println!(
                "imported {} communities and {} members from {} ({} numbers invited by SMS{})",
                loaded.communities,
                loaded.members,
                path.display(),
                loaded.invited,
                if loaded.invitations_not_sent > 0 {
                    format!(", {} invitations not sent", loaded.invitations_not_sent)
                } else {
                    String::new()
                }
            );
        }
        Cmd::Relay { template, on_failure_file } => {
            let yaml = read_template(template.as_deref())?;
            let cfg = RelayConfig { on_failure_file, ..RelayConfig::from_template(&yaml, "FanOutFunction")? };
            let config = stack::aws_config(&endpoint).await;
            let lambda = env_or("VIGIE_LAMBDA_URL", "http://127.0.0.1:9000");
            let invoker = HttpInvoker::new(&lambda, "fan-out");
            tracing::info!(url = invoker.url(), "invoking fan-out through cargo lambda watch");
            let table = Tables::with_prefix(&prefix).alerts;
            let relay = Relay::new(
                aws_sdk_dynamodbstreams::Client::new(&config),
                &aws_sdk_dynamodb::Client::new(&config),
                &table,
                invoker,
                cfg,
            )
            .await
            .map_err(|e| format!("{e} (has `vigie-local setup` run?)"))?;
            // The template's morning schedule (`MorningAfterQuietHours`), played every minute: the
            // SMS held for quiet hours go out once the night is over.
            let schedule = HttpInvoker::new(&lambda, "fan-out");
            let mornings = async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    every.tick().await;
                    if let Err(error) = schedule.invoke(serde_json::json!({"vigie": "wake_up"})).await {
                        tracing::warn!(%error, "the morning job failed: tried again in a minute");
                    }
                }
            };
            tokio::select! {
                ran = relay.run(async {
                    let _ = tokio::signal::ctrl_c().await;
                }) => ran?,
                () = mornings => {}
            }
        }
        Cmd::Gateway { port } => {
            let port = match port {
                Some(port) => port,
                None => env_or("VIGIE_GATEWAY_PORT", "4567").parse()?,
            };
            // The functions' own reading of their quotas (and their defaults).
            let config = vigie::config::Config::from_env()?;
            let quota =
                std::sync::Arc::new(SendQuota::new(config.sms_parts_per_second, config.emails_per_second));
            let rules: Vec<std::sync::Arc<dyn Rule>> =
                vec![std::sync::Arc::new(ClientTokens::new()), quota.clone()];
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))
                .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
            let gateway = Gateway::serve(listener, &endpoint, rules)?;
            tracing::info!(
                gateway = %gateway.endpoint,
                upstream = %endpoint,
                sms_parts_per_second = config.sms_parts_per_second,
                emails_per_second = config.emails_per_second,
                "gateway started"
            );
            let report = async {
                let mut last = (0, 0, 0);
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                    let stats = &quota.stats;
                    let now = (
                        stats.sms_parts_sent.load(std::sync::atomic::Ordering::Relaxed),
                        stats.emails_sent.load(std::sync::atomic::Ordering::Relaxed),
                        stats.throttled(),
                    );
                    if now != last {
                        tracing::info!(
                            sms_parts = now.0,
                            emails = now.1,
                            throttled = now.2,
                            busiest_sms_second = stats.busiest_sms_second(),
                            busiest_email_second = stats.busiest_email_second(),
                            "gateway: sent so far"
                        );
                        last = now;
                    }
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = report => {}
            }
        }
        Cmd::Sms { from, text, id, event_out } => {
            let to = required_env("SMS_SHARED_NUMBER")?;
            let id = id.unwrap_or_else(|| ulid::Ulid::new().to_string());
            // Accept the French national format too: AWS always sends E.164.
            let from = vigie::domain::PhoneNumber::parse(&from).map(|p| p.to_string()).unwrap_or(from);
            let event = sms_event::inbound_sms_event(&from, &to, &text, &id, &sms_event::local_topic_arn());
            if let Some(path) = event_out {
                std::fs::write(&path, serde_json::to_string_pretty(&event)?)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            let lambda = env_or("VIGIE_LAMBDA_URL", "http://127.0.0.1:9000");
            eprintln!("inbound message id {id}");
            let response = HttpInvoker::new(&lambda, "inbound-sms").invoke(event).await?;
            println!("{}", serde_json::to_string_pretty(&response)?);
        }
        Cmd::Receipt { id, event, reason } => {
            // The message's recipient and channel, from what the emulator sent.
            let sent = outbox::fetch_outbox(&endpoint).await?;
            let now = std::time::SystemTime::now();
            let receipt = if let Some(sms) = sent.sms.iter().find(|m| m.message_id == id) {
                let status = match event.as_str() {
                    "delivered" => receipt_event::SmsStatus::Delivered,
                    "failed" => receipt_event::SmsStatus::Failed(reason),
                    other => return Err(format!("{other:?}: an SMS is delivered or failed").into()),
                };
                let group = receipt_event::sms_log_group("123456789012", stack::LOCAL_REGION, &status);
                let log = receipt_event::sms_log(&status, &id, &sms.to, now);
                receipt_event::sms_logs_event(&group, &[log])
            } else if let Some(email) = sent.emails.iter().find(|m| m.id == id) {
                let kind: receipt_event::EmailEvent = event.parse()?;
                let to = email.to.first().ok_or("that email has no recipient")?;
                let record =
                    receipt_event::ses_message(kind, &id, to, now, std::time::Duration::from_secs(2));
                receipt_event::ses_event(
                    &record,
                    "arn:aws:sns:eu-west-3:123456789012:vigie-DeliveryEventsTopic",
                )
            } else {
                return Err(format!(
                    "no SMS or email with message id {id} in the outbox (make outbox lists them)"
                )
                .into());
            };
            let lambda = env_or("VIGIE_LAMBDA_URL", "http://127.0.0.1:9000");
            let response = HttpInvoker::new(&lambda, "delivery-events").invoke(receipt).await?;
            println!("{}", serde_json::to_string_pretty(&response)?);
        }
        Cmd::Outbox => print!("{}", outbox::fetch_outbox(&endpoint).await?),
        Cmd::Night { community, zone } => {
            use vigie::ports::{MemberLookup, Registry};
            let config = stack::aws_config(&endpoint).await;
            let store =
                DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), Tables::with_prefix(&prefix));
            let id =
                vigie::domain::CommunityId::parse(&community).map_err(|e| format!("{community}: {e}"))?;
            let mut found = store.community(&id).await?.ok_or_else(|| format!("no community {community}"))?;
            let now = vigie::adapters::now_ms();
            found.time_zone = match zone.as_deref() {
                Some(name) => vigie::domain::TimeZoneId::parse(name).map_err(|e| format!("{name}: {e}"))?,
                None => zone_at_night(now)?,
            };
            let asked_for_night = zone.is_none();
            store.put_community(&found).await?;
            let local = found.time_zone.local_time(now);
            println!(
                "{} now runs on {} time ({:02}:{:02} there){}",
                found.name,
                found.time_zone,
                local.hour,
                local.minute,
                if asked_for_night {
                    ": quiet hours apply; `make night ZONE=Europe/Paris` puts it back"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_every_hour_one_zone_is_at_night() {
        let start = 1_796_421_600_000_i64; // 2026-12-04 22:00 UTC
        for quarter in 0..(4 * 24 * 200) {
            let now = start + quarter * 15 * 60_000;
            let zone = zone_at_night(now).unwrap_or_else(|_| panic!("no night at {now}"));
            assert!(vigie::domain::quiet::is_night(&zone, now));
        }
    }
}
