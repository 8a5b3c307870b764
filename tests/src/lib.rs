//! The harness of vigie's integration tests: a private moto server per test, the tables of
//! `template.yaml`, the real adapters, and the handlers called with the events AWS sends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_lambda_events::event::sns::SnsEvent;
use infra::moto::Moto;
use infra::outbox::Outbox;
use infra::relay::{DrainReport, InvokeError, Invoker, Relay};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use vigie::adapters::{Adapters, DynamoStore, SesMailer, SnsTexter};
use vigie::config::Config;
use vigie::domain::{Import, Member, parse_import};
use vigie::pace::Rates;

pub mod browser;
pub mod contract;
pub mod crash;
pub mod lambda;
pub mod outbound;
pub mod web_client;

pub use contract::{DELIVERY_EVENTS, FAN_OUT, INBOUND_SMS, Setup, WEB};
pub use delivery_events::handler::DeliveryEvents;
pub use fan_out::handler::FanOut;
pub use inbound_sms::handler::{Handled, Inbound};

/// The shared number of the tests, a short code of AF2M's transactional 38xxx range as a French
/// town would have (no range is reserved for fiction among short codes), and where emails come
/// from.
pub const SHARED_NUMBER: &str = "38123";
pub const SENDER_EMAIL: &str = "alertes@vigie.example.org";
/// The SES configuration set every email of the tests is sent with (created on the emulator).
pub const EMAIL_CONFIGURATION_SET: &str = "vigie-EmailConfigurationSet";
/// The demo data the tests use: the same file `make run` loads.
pub const DEMO_SEED: &str = include_str!("../../infra/demo/seed.json");

/// An import file for community `la-gare` (town Bellerive) of `n` residents `Voisin<i>`, each
/// with a number (`+33639980000 + first_number + i`) and an address (`voisin<i>@example.org`),
/// both channels on.
pub fn community_of(n: usize, first_number: usize) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"communities":["la-gare"],"first_name":"Voisin{i}","last_name":"Test","phone":"+3363998{:04}","sms_consent":"2026-11-02","email":"voisin{i}@example.org","role":"resident"}}"#,
                first_number + i
            )
        })
        .collect();
    format!(
        r#"{{"communities":[{{"id":"la-gare","name":"La Gare","town":"Bellerive"}}],"members":[{}]}}"#,
        members.join(",")
    )
}

/// An import file for a town of communities `c0`, `c1`... (Bellerive) of `sizes[i]` residents
/// each, `Voisin<k>` with a number (`+33639980000 + first_number + k`, counted across the town)
/// and, when `emails`, an address (`voisin<k>@example.org`); and a municipal police officer of
/// every community, `Police`, whose number comes after the residents'.
pub fn town_of(sizes: &[usize], first_number: usize, emails: bool) -> String {
    let mut members = Vec::new();
    let mut k = 0;
    for (c, size) in sizes.iter().enumerate() {
        for _ in 0..*size {
            let email = if emails { format!(r#","email":"voisin{k}@example.org""#) } else { String::new() };
            members.push(format!(
                r#"{{"communities":["c{c}"],"first_name":"Voisin{k}","last_name":"Test","phone":"+3363998{:04}","sms_consent":"2026-11-02"{email},"role":"resident"}}"#,
                first_number + k
            ));
            k += 1;
        }
    }
    let all: Vec<String> = (0..sizes.len()).map(|c| format!(r#""c{c}""#)).collect();
    members.push(format!(
        r#"{{"communities":[{}],"first_name":"Police","last_name":"Municipale","phone":"+3363998{:04}","sms_consent":"2026-11-02","role":"police"}}"#,
        all.join(","),
        first_number + k
    ));
    let communities: Vec<String> = (0..sizes.len())
        .map(|c| format!(r#"{{"id":"c{c}","name":"Quartier {c}","town":"Bellerive"}}"#))
        .collect();
    format!(r#"{{"communities":[{}],"members":[{}]}}"#, communities.join(","), members.join(","))
}

/// A private emulator with vigie's tables, and the functions' dependencies built on it.
///
/// The functions' calls are checked against their roles (the IAM contract, [`contract`]): a
/// call a role does not allow is refused as AWS refuses it, and fails the test when the stack is
/// dropped. The harness's own calls ([`Stack::store`], [`Stack::sdk`]: seeding, reading the
/// outbox, the stream, the tables for assertions) go straight to the emulator.
pub struct Stack {
    pub moto: Moto,
    /// The harness's own SDK configuration (straight to the emulator, not checked).
    pub sdk: aws_config::SdkConfig,
    pub config: Config,
    pub members: Vec<Member>,
    /// How long each fan-out invocation the relay makes may run: the function's `Timeout` in
    /// `template.yaml` unless a test shortens it.
    pub fanout_timeout: Duration,
    /// The harness's adapters (straight to the emulator).
    harness: Adapters,
    contract: contract::Contract,
    routing: contract::Routing,
    /// Each function's adapters, by principal (`web`, `inbound-sms`, `fan-out`).
    functions: std::collections::BTreeMap<String, Adapters>,
}

/// Tests keep logs quiet unless `TEST_LOG=1`.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
    }
}

impl Stack {
    /// A fresh emulator with the tables of `template.yaml` and the SES sender identity.
    /// `tweak` adjusts the configuration (page size, lease...) before the adapters are built.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Stack {
        Self::start_from(Setup::default(), tweak).await
    }

    /// As [`Stack::start_with`], from another template or `SenderEmail` ([`Setup`]).
    pub async fn start_from(setup: Setup, tweak: impl FnOnce(&mut Config)) -> Stack {
        init_logs();
        let moto = Moto::start().expect("moto starts (make venv installs it)");
        let sdk = moto.sdk_config().await;
        let yaml = std::fs::read_to_string(&setup.template).expect("the template");
        let tables = infra::template::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &yaml, "vigie")
            .await
            .expect("tables from template.yaml");
        let mut config = Config::from_lookup(|name| {
            Some(
                match name {
                    "MEMBERS_TABLE" => tables.members.clone(),
                    "ALERTS_TABLE" => tables.alerts.clone(),
                    "LEDGER_TABLE" => tables.ledger.clone(),
                    "SMS_SHARED_NUMBER" => SHARED_NUMBER.into(),
                    "SENDER_EMAIL" => setup.sender_email.clone(),
                    "EMAIL_CONFIGURATION_SET" => EMAIL_CONFIGURATION_SET.into(),
                    "PUBLIC_BASE_URL" => "https://vigie.example.org".into(),
                    _ => return None,
                }
                .to_string(),
            )
        })
        .expect("test configuration");
        let ses = aws_sdk_sesv2::Client::new(&sdk);
        infra::stack::create_sender_identity(&ses, config.sender_email.as_str()).await.expect("SES identity");
        infra::stack::create_configuration_set(&ses, EMAIL_CONFIGURATION_SET)
            .await
            .expect("SES configuration set");
        // Small pages, so every test also walks the roster page by page; no quotas to wait for.
        config.fanout_page_size = 3;
        config.sms_parts_per_second = 0;
        config.emails_per_second = 0;
        tweak(&mut config);
        let harness = Adapters::new(&sdk, &config);
        let fanout_timeout =
            infra::template::function_timeout(&yaml, "FanOutFunction").expect("the fan-out's Timeout");
        let contract = contract::Contract::start(&setup, &config, &moto.endpoint);
        let routing =
            contract::Routing { dynamodb: moto.endpoint.clone(), sends: moto.endpoint.clone(), retry: None };
        let mut stack = Stack {
            moto,
            sdk,
            config,
            members: Vec::new(),
            harness,
            contract,
            routing,
            functions: Default::default(),
            fanout_timeout,
        };
        stack.rebuild_functions();
        stack
    }

    pub async fn start() -> Stack {
        Self::start_with(|_| {}).await
    }

    /// A fresh emulator loaded with the demo data.
    pub async fn demo() -> Stack {
        let mut stack = Self::start().await;
        stack.seed(DEMO_SEED).await;
        stack
    }

    /// What texts from the shared number, as `vigie-local seed` does (the import's invitations).
    pub fn shared_texter(&self) -> vigie::adapters::sns::SnsTexter {
        vigie::adapters::sns::SnsTexter::from_sdk(&self.sdk, &self.config.sms_shared_number.identity())
    }

    /// Loads an import file through the same path as `vigie-local seed`.
    pub async fn seed(&mut self, json: &str) -> Import {
        let import = parse_import(json, &self.config.sms_countries).expect("valid import");
        vigie::app::import::load(self.store(), &self.shared_texter(), &import).await.expect("import loads");
        self.members.extend(import.members.iter().cloned());
        import
    }

    /// Makes the functions' calls go, once checked, to `endpoint` (a faulting proxy, say) instead
    /// of the emulator; the harness itself (seeding, stream reads, outbox) still talks to the
    /// emulator. The SDK's standard retries are kept, with a short first backoff so tests run
    /// quickly.
    pub async fn route_functions_through(&mut self, endpoint: &str) {
        let retries = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(20));
        self.routing = contract::Routing {
            dynamodb: endpoint.to_owned(),
            sends: endpoint.to_owned(),
            retry: Some(retries),
        };
        self.rebuild_functions();
    }

    /// Loads a large import quickly (see `DynamoStore::bulk_register_unchecked`): for
    /// communities of hundreds, where the registration path itself is not under test.
    pub async fn seed_bulk(&mut self, json: &str) -> Import {
        let import = parse_import(json, &self.config.sms_countries).expect("valid import");
        for community in &import.communities {
            vigie::ports::Registry::put_community(self.store(), community).await.expect("community");
        }
        self.store().bulk_register_unchecked(&import.members).await.expect("bulk load");
        self.members.extend(import.members.iter().cloned());
        import
    }

    /// The harness's store (straight to the emulator, not checked): for seeding and assertions.
    pub fn store(&self) -> &DynamoStore {
        &self.harness.store
    }

    /// The member of the seed with this first name.
    pub fn member(&self, first_name: &str) -> &Member {
        self.members.iter().find(|m| m.first_name.as_str() == first_name).expect("member in the seed")
    }

    /// The E.164 number of the member with this first name.
    pub fn phone(&self, first_name: &str) -> String {
        self.member(first_name).phone.as_ref().expect("member has a number").to_string()
    }

    pub fn email(&self, first_name: &str) -> String {
        self.member(first_name).email.as_ref().expect("member has an email").to_string()
    }

    /// Records an alert of demo member `sender` in Les Tilleuls, as the page records one
    /// (`source`, `category`), raised `created_at` (epoch ms); not fanned out.
    pub async fn record_alert(
        &self,
        sender: &str,
        text: &str,
        (source, category): (vigie::domain::AlertSource, Option<vigie::domain::Category>),
        created_at: i64,
    ) -> vigie::model::Alert {
        use vigie::ports::AlertLog;
        let sender = self.member(sender);
        let inbound = vigie::model::InboundMessageId::parse(&ulid::Ulid::new().to_string()).expect("an id");
        let alert = vigie::model::Alert {
            alert_id: vigie::domain::AlertId::new(),
            community_id: "les-tilleuls".parse().expect("a community id"),
            community_name: "Les Tilleuls".into(),
            sender_id: sender.id,
            sender_first_name: sender.first_name.clone(),
            source,
            text: vigie::domain::AlertText::parse(text).expect("an alert text"),
            created_at,
            inbound_message_id: Some(inbound.clone()),
            category,
            sms_parts: 0,
            sms_withheld: None,
            police_called: None,
            closed: None,
            withdrawn: None,
        };
        self.store()
            .record_inbound_alerts(&inbound, std::slice::from_ref(&alert), None, &[], &[])
            .await
            .expect("the alert recorded");
        alert
    }

    /// `inbound-sms`'s dependencies, as its `main.rs` builds them (its calls checked; its own
    /// pacer on the shared rate).
    pub fn inbound(&self) -> Inbound<DynamoStore, SnsTexter> {
        let adapters = self.adapters_of(INBOUND_SMS);
        // Every SMS inbound-sms sends is a reply: from the shared number (its main.rs).
        let sms_rate = Rates::replies(&adapters.store, &self.config);
        Inbound { store: adapters.store, texter: adapters.replier, config: self.config.clone(), sms_rate }
    }

    /// The fan-out's dependencies, as one execution environment's `main.rs` builds them (its
    /// calls checked; its own pacers on the rate shared through the ledger).
    pub fn fan_out(&self) -> FanOut<DynamoStore, SnsTexter, SesMailer> {
        let adapters = self.adapters_of(FAN_OUT);
        self.fan_out_with_rates(Rates::shared(&adapters.store, &self.config))
    }

    /// The fan-out's dependencies with the given rates.
    pub fn fan_out_with_rates(&self, rates: Rates) -> FanOut<DynamoStore, SnsTexter, SesMailer> {
        let adapters = self.adapters_of(FAN_OUT);
        FanOut::new(adapters.store, adapters.texter, adapters.mailer, self.config.clone(), rates)
    }

    /// The fan-out's execution environments (see [`Environments`]), each built as
    /// [`Stack::fan_out`] builds its dependencies.
    pub fn fan_out_environments(&self) -> Arc<Environments> {
        self.fan_out_environments_with(Rates::shared)
    }

    /// As [`Stack::fan_out_environments`], each environment with the rates `rates` makes of its
    /// store and configuration (`Rates::per_process`: the pacing of before the shared rate).
    pub fn fan_out_environments_with(&self, rates: fn(&DynamoStore, &Config) -> Rates) -> Arc<Environments> {
        self.fan_out_environments_built(rates, None)
    }

    /// The fan-out's environments with `rates`, reading the time from `clock` when there is one.
    fn fan_out_environments_built(
        &self,
        rates: fn(&DynamoStore, &Config) -> Rates,
        clock: Option<fan_out::handler::Clock>,
    ) -> Arc<Environments> {
        let adapters = self.adapters_of(FAN_OUT);
        let (store, texter, mailer, config) =
            (adapters.store, adapters.texter, adapters.mailer, self.config.clone());
        Environments::new(self.fanout_timeout, move || {
            let rates = rates(&store, &config);
            let deps = FanOut::new(store.clone(), texter.clone(), mailer.clone(), config.clone(), rates);
            match &clock {
                Some(clock) => deps.with_clock(Arc::clone(clock)),
                None => deps,
            }
        })
    }

    /// The receipts function on the store, looking for late settlements only through Lambda's
    /// retries (no waiting in the invocation, so tests say when the retry comes).
    pub fn delivery_events(&self) -> DeliveryEvents<DynamoStore> {
        DeliveryEvents { store: self.adapters_of(DELIVERY_EVENTS).store, settle_waits: Vec::new() }
    }

    /// Invokes `delivery-events` with an SNS or CloudWatch Logs event, as Lambda would.
    pub async fn invoke_delivery_events(
        &self,
        event: Value,
    ) -> Result<Vec<delivery_events::handler::Handled>, delivery_events::handler::DeliveryEventsError> {
        delivery_events::handler::handle(&self.delivery_events(), LambdaEvent::new(event, Context::default()))
            .await
    }

    /// The SNS event AWS delivers when `from` texts `body` to the shared number.
    pub fn sms_event(&self, from: &str, body: &str, inbound_message_id: &str) -> Value {
        infra::sms_event::inbound_sms_event(
            from,
            SHARED_NUMBER,
            body,
            inbound_message_id,
            &infra::sms_event::local_topic_arn(),
        )
    }

    /// Invokes `inbound-sms` with an SNS event, as Lambda would.
    pub async fn invoke_inbound(
        &self,
        event: Value,
    ) -> Result<Vec<Handled>, inbound_sms::handler::InboundError> {
        let event: SnsEvent = serde_json::from_value(event).expect("an SNS event");
        inbound_sms::handler::handle(&self.inbound(), LambdaEvent::new(event, Context::default())).await
    }

    /// Invokes `inbound-sms` with `event` again and again, as SNS and Lambda's async retries do
    /// when it fails, until it succeeds (at most `tries` times); its last answer.
    pub async fn invoke_inbound_until_done(
        &self,
        event: Value,
        tries: usize,
    ) -> Result<Vec<Handled>, inbound_sms::handler::InboundError> {
        let mut last = self.invoke_inbound(event.clone()).await;
        for _ in 1..tries {
            if last.is_ok() {
                break;
            }
            last = self.invoke_inbound(event.clone()).await;
        }
        last
    }

    /// `from` texts `body` to the shared number (a fresh inbound message id).
    pub async fn text(&self, from: &str, body: &str) -> Handled {
        let id = ulid::Ulid::new().to_string();
        let mut handled =
            self.invoke_inbound(self.sms_event(from, body, &id)).await.expect("inbound SMS handled");
        assert_eq!(handled.len(), 1);
        handled.remove(0)
    }

    /// A relay on the alerts table's stream that invokes the fan-out in-process, with the event
    /// source mapping settings of `template.yaml`, in execution environments of its own
    /// ([`Stack::fan_out_environments`]).
    pub async fn relay(&self) -> Relay<impl Invoker + use<>> {
        self.relay_with(fan_out_invoker(&self.fan_out_environments())).await
    }

    /// A relay as [`Stack::relay`] whose fan-out reads the time from `clock` (a fixed night, a
    /// morning): what quiet hours are tested at.
    pub async fn relay_at(&self, clock: fan_out::handler::Clock) -> Relay<impl Invoker + use<>> {
        self.relay_with(fan_out_invoker(&self.fan_out_environments_built(Rates::shared, Some(clock)))).await
    }

    /// Everything the emulator has sent so far.
    pub async fn outbox(&self) -> Outbox {
        self.moto.outbox().await.expect("outbox")
    }
}

/// How many SMS each number got, and how many emails each address got.
pub fn counts_by_recipient(outbox: &Outbox) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut sms: BTreeMap<String, usize> = BTreeMap::new();
    for s in &outbox.sms {
        *sms.entry(s.to.clone()).or_default() += 1;
    }
    let mut emails: BTreeMap<String, usize> = BTreeMap::new();
    for to in outbox.emails.iter().flat_map(|e| &e.to) {
        *emails.entry(to.clone()).or_default() += 1;
    }
    (sms, emails)
}

/// Drains the stream until nothing new comes (at most 50 drains), as Lambda would go on
/// polling; what the drains did, summed.
pub async fn drain_until_quiet<I: Invoker>(relay: &mut Relay<I>) -> DrainReport {
    let mut total = DrainReport::default();
    for _ in 0..50 {
        let report = relay.drain().await.expect("the stream is readable");
        total.records_seen += report.records_seen;
        total.delivered += report.delivered;
        total.invocations += report.invocations;
        total.retries += report.retries;
        total.bisections += report.bisections;
        total.sent_to_on_failure += report.sent_to_on_failure;
        if report.records_seen == 0 {
            break;
        }
    }
    total
}

/// Invokes the fan-out handler in-process with a stream event as JSON (no deadline), and
/// answers as Lambda.
pub async fn invoke_fan_out(
    deps: &FanOut<DynamoStore, SnsTexter, SesMailer>,
    event: Value,
) -> Result<Value, InvokeError> {
    invoke_fan_out_in(deps, event, lambda_runtime::Context::default()).await
}

/// [`invoke_fan_out`] in the invocation `context` (its deadline, its request id).
pub async fn invoke_fan_out_in(
    deps: &FanOut<DynamoStore, SnsTexter, SesMailer>,
    event: Value,
    context: lambda_runtime::Context,
) -> Result<Value, InvokeError> {
    fan_out::handler::handle_json(deps, event, context)
        .await
        .map_err(|(kind, why)| InvokeError::function(kind, why))
}

type FanOutDeps = FanOut<DynamoStore, SnsTexter, SesMailer>;

/// The fan-out's execution environments ([`infra::environments`]).
pub type Environments = infra::environments::Environments<FanOutDeps>;

/// An invoker for a relay that runs each invocation in one of `environments`, with its request
/// id and deadline in the Lambda context, as Lambda does.
pub fn fan_out_invoker(environments: &Arc<Environments>) -> impl Invoker + use<> {
    let environments = Arc::clone(environments);
    move |event: Value| {
        let environments = Arc::clone(&environments);
        async move {
            environments
                .invoke(event, |deps, event, invocation| async move {
                    let mut context = lambda_runtime::Context::default();
                    context.request_id = invocation.request_id;
                    context.deadline =
                        invocation.deadline.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
                    invoke_fan_out_in(&deps, event, context).await
                })
                .await
        }
    }
}
