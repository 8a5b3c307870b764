//! The IAM contract in the harness (docs/iam.md): every function's calls go through a gateway
//! that judges them against the function's role as the SAM transform generates it from the
//! stack's template, and refuses what the role does not allow, as AWS does. The harness's own
//! calls (seeding, outbox, stream reads, `stack.store()`) go straight to the emulator.
//!
//! Each function's SDK signs with an access key id that is its name (`web`, `inbound-sms`,
//! `fan-out`): that is how the gateway knows whose role applies. [`Stack::adapters_of`] gives a
//! function's adapters, [`Stack::function_env`] a function process's environment; both point at
//! a gateway. A refused call fails the test when the [`Stack`] is dropped, naming the function,
//! the action and the resource.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use infra::gateway::iam::{Denial, IamCheck};
use infra::gateway::lost::LostAnswers;
use infra::gateway::quota::SendQuota;
use infra::gateway::roles::Environment;
use infra::gateway::sms::SmsRule;
use infra::gateway::tokens::ClientTokens;
use infra::gateway::{Gateway, Rule};
use infra::sms_account::{Identity, SmsAccount};
use vigie::adapters::Adapters;
use vigie::config::Config;

use crate::{SENDER_EMAIL, SHARED_NUMBER, Stack};

/// The functions' principals (their binaries in `template.yaml`).
pub const WEB: &str = "web";
pub const INBOUND_SMS: &str = "inbound-sms";
pub const FAN_OUT: &str = "fan-out";
pub const DELIVERY_EVENTS: &str = "delivery-events";

/// What a stack is made from.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The SAM template: its tables are created, its roles judge the functions' calls.
    pub template: PathBuf,
    /// The `SenderEmail` parameter as a town would type it (the functions' configuration reads
    /// it through `Email::parse`, which lower-cases it; the role's policy gets it as typed).
    pub sender_email: String,
    /// Other template parameters, as given to `sam deploy`.
    pub parameters: BTreeMap<String, String>,
    /// The SES account is in the sandbox (a first deploy is): recipients' identities are
    /// authorized too.
    pub ses_sandbox: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            template: infra::template::workspace_template(),
            sender_email: SENDER_EMAIL.to_owned(),
            parameters: BTreeMap::new(),
            ses_sandbox: true,
        }
    }
}

/// Where the functions' calls go once checked: the emulator, or a proxy in front of it.
#[derive(Clone, Debug)]
pub(crate) struct Routing {
    pub dynamodb: String,
    pub sends: String,
    pub retry: Option<RetryConfig>,
}

/// The check, its gateways, and each function's adapters.
pub(crate) struct Contract {
    pub check: Arc<IamCheck>,
    /// What End User Messaging does with SMS (after the IAM check, on every gateway).
    pub sms: Arc<SmsRule>,
    /// What AWS does beyond IAM, in every gateway after the check (see [`Contract::rules`]).
    pub lost: Arc<LostAnswers>,
    pub tokens: Arc<ClientTokens>,
    pub quota: Arc<SendQuota>,
    /// IAM check, then the emulator: where the functions go by default.
    pub gateway: Gateway,
    moto_endpoint: String,
    /// IAM check, then another upstream (a fault proxy, a second emulator), by upstream.
    routes: Mutex<BTreeMap<String, Gateway>>,
    /// The template the roles come from, for reports.
    template: String,
}

impl Contract {
    pub fn start(setup: &Setup, config: &Config, moto_endpoint: &str) -> Contract {
        let mut env = Environment::local("vigie");
        env.names.insert("MembersTable".into(), config.tables.members.clone());
        env.names.insert("AlertsTable".into(), config.tables.alerts.clone());
        env.names.insert("LedgerTable".into(), config.tables.ledger.clone());
        env.parameters.insert("SenderEmail".into(), setup.sender_email.clone());
        env.parameters.insert("SharedNumber".into(), SHARED_NUMBER.into());
        env.parameters.insert("AlertSenderIdentity".into(), config.sms_alert_sender.to_string());
        env.parameters.insert("PublicBaseUrl".into(), config.public_base_url.clone());
        env.parameters.extend(setup.parameters.clone());
        let check = IamCheck::from_template(&setup.template, &env, setup.ses_sandbox)
            .unwrap_or_else(|e| panic!("the IAM contract cannot read {}: {e}", setup.template.display()));
        let check = Arc::new(check);
        let sms = Arc::new(SmsRule::new(sms_account(config), moto_endpoint));
        let lost = Arc::new(LostAnswers::new(20261202));
        let tokens = Arc::new(ClientTokens::new());
        let quota = Arc::new(SendQuota::new(config.sms_parts_per_second, config.emails_per_second));
        let rules = Self::rules_of(&check, &sms, &lost, &tokens, &quota);
        let gateway = Gateway::spawn(moto_endpoint, rules).expect("the gateway starts");
        Contract {
            check,
            sms,
            lost,
            tokens,
            quota,
            gateway,
            moto_endpoint: moto_endpoint.to_owned(),
            routes: Mutex::new(BTreeMap::new()),
            template: setup.template.display().to_string(),
        }
    }

    /// The rules of every gateway, in order: the IAM check; what End User Messaging does with
    /// SMS; lost answers (inert until a test sets a rate), before the client request tokens so
    /// that these remember the real answer; the account's send quotas (those of the stack's
    /// configuration: 0, no limit, unless a test sets them), shared by every gateway as the
    /// account's are by every function.
    fn rules_of(
        check: &Arc<IamCheck>,
        sms: &Arc<SmsRule>,
        lost: &Arc<LostAnswers>,
        tokens: &Arc<ClientTokens>,
        quota: &Arc<SendQuota>,
    ) -> Vec<Arc<dyn Rule>> {
        vec![
            Arc::clone(check) as Arc<dyn Rule>,
            Arc::clone(sms) as Arc<dyn Rule>,
            Arc::clone(lost) as Arc<dyn Rule>,
            Arc::clone(tokens) as Arc<dyn Rule>,
            Arc::clone(quota) as Arc<dyn Rule>,
        ]
    }

    fn rules(&self) -> Vec<Arc<dyn Rule>> {
        Self::rules_of(&self.check, &self.sms, &self.lost, &self.tokens, &self.quota)
    }

    /// The endpoint of a gateway that checks calls, then forwards them to `upstream`.
    pub fn route(&self, upstream: &str) -> String {
        let upstream = upstream.trim_end_matches('/');
        if upstream == self.moto_endpoint {
            return self.gateway.endpoint.clone();
        }
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes
            .entry(upstream.to_owned())
            .or_insert_with(|| Gateway::spawn(upstream, self.rules()).expect("a gateway starts"))
            .endpoint
            .clone()
    }

    /// The principals of the template's functions.
    pub fn functions(&self) -> Vec<String> {
        self.check.roles().by_principal.keys().cloned().collect()
    }

    /// What to say when refusals are left at the end of a test: each (function, action,
    /// resource) once, with how often it was refused.
    pub fn report(&self, denials: &[Denial]) -> String {
        let mut lines: Vec<(String, usize)> = Vec::new();
        for d in denials {
            let line = d.to_string();
            match lines.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None => lines.push((line, 1)),
            }
        }
        let listed: Vec<String> = lines
            .iter()
            .map(|(line, n)| if *n > 1 { format!("  - {line} (x{n})") } else { format!("  - {line}") })
            .collect();
        let managed: std::collections::BTreeSet<&str> = self
            .check
            .roles()
            .by_principal
            .values()
            .flat_map(|r| r.managed.iter().map(String::as_str))
            .collect();
        format!(
            "IAM contract: the functions made {} call(s) their roles in {} do not allow; AWS would refuse them (docs/iam.md, \"Reading a failure\"):\n{}\n  (AWS-managed policies attached by SAM are not expanded: {})",
            denials.len(),
            self.template,
            listed.join("\n"),
            managed.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
}

/// The town's account as the harness has it: the shared number, two-way to the stack's topic,
/// and the alert sender if it is another identity; self-managed opt-outs, the Default opt-out
/// list, SNS allowed. They reach every country ([`Identity::anywhere`]).
fn sms_account(config: &Config) -> SmsAccount {
    let topic = infra::sms_event::local_topic_arn();
    let shared = config.sms_shared_number.identity();
    let mut identities = vec![Identity::french(shared.as_str(), Some(&topic)).anywhere()];
    if config.sms_alert_sender != shared {
        identities.push(Identity::french(config.sms_alert_sender.as_str(), None).anywhere());
    }
    SmsAccount::new(identities)
}

/// `base` with the function's credentials (access key id = its name) and `endpoint`.
pub(crate) fn function_sdk(
    base: &SdkConfig,
    function: &str,
    endpoint: &str,
    retry: Option<&RetryConfig>,
) -> SdkConfig {
    let credentials = Credentials::new(function, "test", None, None, "vigie-tests");
    let mut builder = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint);
    if let Some(retry) = retry {
        builder = builder.retry_config(retry.clone());
    }
    builder.build()
}

impl Stack {
    /// The IAM check of this stack: its refusals so far, the roles it judges with.
    pub fn iam(&self) -> &IamCheck {
        &self.contract.check
    }

    /// What End User Messaging SMS did with the functions' SMS (the gateway rule after the IAM
    /// check): the account to change, the `Publish` calls judged.
    pub fn sms(&self) -> &SmsRule {
        &self.contract.sms
    }

    /// The gateway every function's calls go through (IAM check first): other rules go after
    /// it with [`Gateway::push`] (see also [`infra::faults::FaultProxy::attach`]).
    pub fn gateway(&self) -> &Gateway {
        &self.contract.gateway
    }

    /// The lost-answer rule of every gateway: off until [`LostAnswers::set_rate`].
    pub fn lost_answers(&self) -> &LostAnswers {
        &self.contract.lost
    }

    /// The client request tokens every gateway honours (what it replayed, refused).
    pub fn client_tokens(&self) -> &ClientTokens {
        &self.contract.tokens
    }

    /// The account's send quotas every gateway enforces (the stack's configured rates): what it
    /// let through and throttled.
    pub fn send_quota(&self) -> &SendQuota {
        &self.contract.quota
    }

    /// The adapters function `function` (`web`, `inbound-sms`, `fan-out`) runs with: signed as
    /// the function, through the IAM check.
    ///
    /// # Panics
    /// If the template has no such function.
    pub fn adapters_of(&self, function: &str) -> Adapters {
        self.functions.get(function).cloned().unwrap_or_else(|| {
            panic!("no function {function} in the template (functions: {:?})", self.contract.functions())
        })
    }

    /// As [`Stack::adapters_of`], built for another configuration (other table names...).
    pub fn adapters_with(&self, function: &str, config: &Config) -> Adapters {
        self.build_adapters(function, config)
    }

    pub(crate) fn build_adapters(&self, function: &str, config: &Config) -> Adapters {
        let r = &self.routing;
        let dynamodb = function_sdk(&self.sdk, function, &self.contract.route(&r.dynamodb), r.retry.as_ref());
        let mut adapters = Adapters::new(&dynamodb, config);
        if r.sends != r.dynamodb {
            let sends = function_sdk(&self.sdk, function, &self.contract.route(&r.sends), r.retry.as_ref());
            let sending = Adapters::new(&sends, config);
            adapters.texter = sending.texter;
            adapters.replier = sending.replier;
            adapters.mailer = sending.mailer;
        }
        adapters
    }

    /// Rebuilds every function's adapters after a change of routing.
    pub(crate) fn rebuild_functions(&mut self) {
        let functions = self.contract.functions();
        self.functions =
            functions.into_iter().map(|f| (f.clone(), self.build_adapters(&f, &self.config))).collect();
    }
}

impl Drop for Stack {
    /// A test that made calls the roles do not allow fails here, naming them (or, when it is
    /// already failing, says them on stderr).
    fn drop(&mut self) {
        let denials = self.contract.check.take_denials();
        if denials.is_empty() {
            return;
        }
        let report = self.contract.report(&denials);
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}
