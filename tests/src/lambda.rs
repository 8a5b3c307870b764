//! The functions' own binaries, run as Lambda runs them: a local Runtime API
//! ([`infra::runtime_api`]), the settings `template.yaml` gives them as environment variables,
//! the emulator (or a faulting proxy in front of it) as AWS. For what only a real process shows:
//! being killed in the middle of an invocation.
//!
//! The fan-out's binary is built for the tests as the bin target `vigie-fan-out` of this package,
//! from the fan-out's own `functions/fan-out/src/main.rs` (see `tests/Cargo.toml`): a test finds
//! it with `env!("CARGO_BIN_EXE_vigie-fan-out")`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use infra::relay::{InvokeError, Invoker, Relay, RelayConfig};
use infra::runtime_api::{FunctionProcess, RuntimeApi};
use serde_json::Value;

use crate::Stack;

/// How long a function may take to ask for its first event.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A function process and the Runtime API it takes its events from.
pub struct Function {
    pub api: Arc<RuntimeApi>,
    pub process: FunctionProcess,
}

impl Function {
    /// Invokes it in the background (Lambda waits for the answer; a test may kill it first).
    pub fn invoke_in_background(&self, event: Value) -> tokio::task::JoinHandle<Result<Value, InvokeError>> {
        let api = Arc::clone(&self.api);
        tokio::spawn(async move { api.invoke(event).await })
    }
}

impl Stack {
    /// The environment `template.yaml` gives function `function` (the settings the fan-out
    /// reads), from this stack's configuration, with DynamoDB at `dynamodb_endpoint` and the
    /// other services (SNS, SES) at `sends_endpoint` (emulators, or proxies in front of them),
    /// each behind the IAM check: the process signs as `function`.
    pub fn function_env(
        &self,
        function: &str,
        dynamodb_endpoint: &str,
        sends_endpoint: &str,
    ) -> Vec<(String, String)> {
        let c = &self.config;
        let mut env = infra::runtime_api::emulator_env(&self.contract.route(sends_endpoint));
        env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID");
        env.push(("AWS_ACCESS_KEY_ID".to_owned(), function.to_owned()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), self.contract.route(dynamodb_endpoint)));
        let settings = [
            ("MEMBERS_TABLE", c.tables.members.clone()),
            ("ALERTS_TABLE", c.tables.alerts.clone()),
            ("LEDGER_TABLE", c.tables.ledger.clone()),
            ("SMS_SHARED_NUMBER", c.sms_shared_number.to_string()),
            ("SMS_ALERT_SENDER", c.sms_alert_sender.to_string()),
            ("SENDER_EMAIL", c.sender_email.to_string()),
            ("PUBLIC_BASE_URL", c.public_base_url.clone()),
            ("FANOUT_CONCURRENCY", c.fanout_concurrency.to_string()),
            ("FANOUT_PAGE_SIZE", c.fanout_page_size.to_string()),
            ("FANOUT_CHUNK_MEMBERS", c.fanout_chunk_members.to_string()),
            ("SMS_MAX_SEGMENTS", c.sms_max_segments.to_string()),
            ("CLAIM_LEASE_SECONDS", c.claim_lease.as_secs().max(1).to_string()),
            ("SMS_PARTS_PER_SECOND", c.sms_parts_per_second.to_string()),
            ("EMAILS_PER_SECOND", c.emails_per_second.to_string()),
            ("ALERTS_PER_HOUR", c.alerts_per_hour.to_string()),
            ("SMS_COUNTRIES", c.sms_countries.codes().join(",")),
            ("UNKNOWN_REPLIES_PER_HOUR", c.reply_caps.unknown_per_hour.to_string()),
            ("UNKNOWN_REPLIES_PER_RANGE_PER_HOUR", c.reply_caps.unknown_per_range_per_hour.to_string()),
            ("MEMBER_REPLIES_PER_DAY", c.reply_caps.member_per_day.to_string()),
            ("SMS_MONTHLY_PARTS", c.sms_budgets.monthly_parts.to_string()),
            ("SMS_DAILY_PARTS", c.sms_budgets.daily_parts.to_string()),
            ("RETENTION_DAYS", (c.retention.as_secs() / 86_400).max(1).to_string()),
            ("DATA_CONTROLLER", c.data_controller.clone()),
            ("RUST_LOG", "info".to_owned()),
        ];
        env.extend(settings.into_iter().map(|(k, v)| (k.to_owned(), v)));
        if let Some(set) = &c.email_configuration_set {
            env.push(("EMAIL_CONFIGURATION_SET".to_owned(), set.clone()));
        }
        env
    }

    /// Starts `binary` as function `name` (its principal: `fan-out`) with
    /// [`Stack::function_env`], and waits until it asks for its first event. Its output goes to a file of the temporary directory, quoted when
    /// something goes wrong.
    pub async fn start_function(
        &self,
        binary: &Path,
        name: &str,
        dynamodb_endpoint: &str,
        sends_endpoint: &str,
    ) -> Function {
        let env = self.function_env(name, dynamodb_endpoint, sends_endpoint);
        let api = Arc::new(RuntimeApi::start().await.expect("a local Runtime API"));
        let log = std::env::temp_dir().join(format!("vigie-{name}-{}.log", ulid::Ulid::new()));
        let mut process = FunctionProcess::spawn(binary, name, &api, &env, &log)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        match api.wait_ready(READY_TIMEOUT).await {
            Some(Ok(_)) => {}
            Some(Err(init_error)) => panic!("{name} could not start: {init_error}"),
            None => panic!(
                "{name} did not ask for work within {READY_TIMEOUT:?} ({:?}): {}",
                process.exited(),
                process.log_tail(5)
            ),
        }
        Function { api, process }
    }

    /// The events the fan-out's event source mapping would deliver for what the alerts stream
    /// holds now (its filter, its batches, read by the relay), without invoking anything.
    pub async fn fan_out_events(&self) -> Vec<Value> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let capture = move |event: Value| {
            seen.lock().expect("events").push(event);
            async { Ok(Value::Null) }
        };
        let mut relay = self.relay_with(capture).await;
        relay.drain().await.expect("stream read");
        events.lock().expect("events").clone()
    }

    /// A relay on the alerts table's stream, with the event source mapping settings of
    /// `template.yaml`, that invokes `function` (a process) as Lambda would.
    pub async fn relay_to(&self, function: &Function) -> Relay<impl Invoker + use<>> {
        let api = Arc::clone(&function.api);
        self.relay_with(move |event: Value| {
            let api = Arc::clone(&api);
            async move { api.invoke(event).await }
        })
        .await
    }

    /// A relay on the alerts table's stream, with the event source mapping settings of
    /// `template.yaml` (a short backoff between retries), that invokes `invoker`.
    pub async fn relay_with<I: Invoker>(&self, invoker: I) -> Relay<I> {
        let yaml = std::fs::read_to_string(infra::template::workspace_template()).expect("template.yaml");
        let mut cfg =
            RelayConfig::from_template(&yaml, "FanOutFunction").expect("relay config from template");
        cfg.retry_backoff = Duration::from_millis(10);
        Relay::new(
            aws_sdk_dynamodbstreams::Client::new(&self.sdk),
            &aws_sdk_dynamodb::Client::new(&self.sdk),
            &self.config.tables.alerts,
            invoker,
            cfg,
        )
        .await
        .expect("relay on the alerts stream")
    }
}
