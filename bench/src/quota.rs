//! One send rate, shared, under load (issue 9): a police alert to two communities of 1,000, at
//! a quota below the emulator's ceiling, the fan-out invocations side by side (the event source
//! mapping's `ParallelizationFactor`), each in an environment of its own with its own pacers on
//! the rate shared through the ledger; the account's quotas enforced by the gateway in front of
//! the emulator (`infra::gateway::quota`), which also counts what went through each second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use fan_out::handler::FanOut;
use infra::environments::Environments;
use infra::gateway::quota::SendQuota;
use infra::gateway::{Gateway, Rule};
use infra::relay::InvokeError;
use serde_json::Value;
use vigie::adapters::{DynamoStore, SesMailer, SnsTexter, now_ms};
use vigie::domain::{
    AlertId, AlertSource, AlertText, FirstName, LastName, Member, MemberId, Role, UnsubscribeToken,
};
use vigie::model::{Alert, DeliveryCounts, InboundMessageId};
use vigie::pace::Rates;
use vigie::ports::{AlertLog, Ledger, Registry};

use crate::community::{self, BoxError, Emulator, Mix, phone_of};

/// The police alert (one SMS segment with "Sophie (police municipale) : " before it).
pub const POLICE_TEXT: &str =
    "Accident sur la D12 a la sortie du village : evitez le secteur, la gendarmerie est sur place.";
/// The goal: within this factor of the time the quota needs for what was sent.
pub const MAX_RATIO: f64 = 1.05;

#[derive(Clone, Debug)]
pub struct QuotaRun {
    pub communities: usize,
    pub members_each: usize,
    pub sms_per_second: u32,
    pub emails_per_second: u32,
    /// SMS parts and emails the gateway let through.
    pub sms_parts: u64,
    pub emails: u64,
    /// First invocation's start → first send, → last send.
    pub to_first_send: Duration,
    pub to_last_send: Duration,
    pub busiest_sms_second: u64,
    pub busiest_email_second: u64,
    pub throttled: u64,
    pub most_in_flight: usize,
    pub environments: usize,
    pub invocations: usize,
    pub failed_batches: usize,
    pub counts: Vec<DeliveryCounts>,
}

impl QuotaRun {
    /// What the quotas need for what was sent, the slower channel's time.
    pub fn physical(&self) -> Duration {
        let need = |units: u64, rate: u32| if rate == 0 { 0.0 } else { units as f64 / f64::from(rate) };
        Duration::from_secs_f64(
            need(self.sms_parts, self.sms_per_second).max(need(self.emails, self.emails_per_second)),
        )
    }

    pub fn ratio(&self) -> f64 {
        self.to_last_send.as_secs_f64() / self.physical().as_secs_f64().max(1e-9)
    }

    pub fn met(&self) -> bool {
        self.ratio() <= MAX_RATIO
            && self.throttled == 0
            && self.most_in_flight >= 2
            && self.failed_batches == 0
            && self.counts.iter().all(|c| c.pending == 0)
    }
}

type Deps = FanOut<DynamoStore, SnsTexter, SesMailer>;

/// Runs the scenario on a fresh emulator.
pub async fn measure(
    members_each: usize,
    sms_per_second: u32,
    emails_per_second: u32,
    register_concurrency: usize,
) -> Result<QuotaRun, BoxError> {
    let settings: BTreeMap<String, String> = [
        ("SMS_PARTS_PER_SECOND", sms_per_second.to_string()),
        ("EMAILS_PER_SECOND", emails_per_second.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let emulator = Emulator::start(&settings).await?;
    let mix = Mix { sms_percent: 100, email_percent: 100 };
    let mut town = Vec::new();
    for c in 0..2 {
        let id = format!("quartier-{c}");
        town.push(
            community::populate_numbered(
                &emulator.store,
                &id,
                members_each,
                c * members_each,
                mix,
                register_concurrency,
            )
            .await?,
        );
    }
    // The municipal police of both communities (a number, no address).
    let police = Member {
        id: MemberId::new(),
        communities: town.iter().map(|g| g.community.id.clone()).collect(),
        first_name: FirstName::parse("Sophie")?,
        last_name: LastName::parse("Durand")?,
        email: None,
        phone: Some(phone_of(2 * members_each + 1)?),
        hide_phone: false,
        phone_confirmed: true,
        phone_consent: None,
        sms_alerts: true,
        email_alerts: false,
        quiet_hours: false,
        role: Role::Police,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
        stands_for: None,
        town: None,
    };
    emulator.store.register(&police).await?;

    // The functions reach AWS through the gateway that enforces the account's quotas.
    let quota = Arc::new(SendQuota::new(sms_per_second, emails_per_second));
    let gateway = Gateway::start(&emulator.moto.endpoint, vec![Arc::clone(&quota) as Arc<dyn Rule>]).await?;
    let sdk = emulator.sdk.to_builder().endpoint_url(&gateway.endpoint).build();
    let config = emulator.config.clone();
    let environments: Arc<Environments<Deps>> = Environments::new(Duration::from_secs(900), move || {
        let store = DynamoStore::from_sdk(&sdk, config.tables.clone());
        let rates = Rates::shared(&store, &config);
        FanOut::new(
            store,
            SnsTexter::from_sdk(&sdk, &config.sms_alert_sender),
            SesMailer::from_sdk(&sdk, config.sender_email.clone(), config.email_configuration_set.clone()),
            config.clone(),
            rates,
        )
    });
    let first: Arc<Mutex<Option<Instant>>> = Arc::default();
    let invoker = {
        let (environments, first) = (Arc::clone(&environments), Arc::clone(&first));
        move |event: Value| {
            let (environments, first) = (Arc::clone(&environments), Arc::clone(&first));
            async move {
                first.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Instant::now);
                environments
                    .invoke(event, |deps, event, invocation| async move {
                        let mut context = lambda_runtime::Context::default();
                        context.request_id = invocation.request_id;
                        context.deadline = invocation
                            .deadline
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64);
                        fan_out::handler::handle_json(&deps, event, context)
                            .await
                            .map_err(|(kind, why)| InvokeError::function(kind, why))
                    })
                    .await
            }
        }
    };
    let mut relay = crate::fanout::relay_at_end(&emulator, invoker).await?;

    // The alert, one per community, as inbound-sms records a police officer's text.
    let inbound = InboundMessageId::parse(&format!("bench-police-{}", AlertId::new()))?;
    let alerts: Vec<Alert> = town
        .iter()
        .map(|g| {
            Ok::<_, BoxError>(Alert {
                alert_id: AlertId::new(),
                community_id: g.community.id.clone(),
                community_name: g.community.name.clone(),
                sender_id: police.id,
                sender_first_name: police.first_name.clone(),
                source: AlertSource::Police,
                text: AlertText::parse(POLICE_TEXT)?,
                created_at: now_ms(),
                inbound_message_id: Some(inbound.clone()),
                category: None,
                sms_parts: 0,
                sms_withheld: None,
                police_called: None,
                closed: None,
                withdrawn: None,
            })
        })
        .collect::<Result<_, _>>()?;
    emulator.store.record_inbound_alerts(&inbound, &alerts, None, &[], &[]).await?;
    let (invocations, failed_batches) = crate::fanout::drain_all(&mut relay).await?;
    let start = first.lock().unwrap_or_else(|p| p.into_inner()).ok_or("the fan-out never ran")?;
    let last = quota.stats.last_send().ok_or("nothing was sent")?;
    let first_send = quota.stats.first_send().ok_or("nothing was sent")?;
    let mut counts = Vec::new();
    for alert in &alerts {
        counts.push(emulator.store.tally(alert.alert_id, vigie::model::Wave::Alert).await?);
    }
    Ok(QuotaRun {
        communities: town.len(),
        members_each,
        sms_per_second,
        emails_per_second,
        sms_parts: quota.stats.sms_parts_sent.load(std::sync::atomic::Ordering::Relaxed),
        emails: quota.stats.emails_sent.load(std::sync::atomic::Ordering::Relaxed),
        to_first_send: first_send.saturating_duration_since(start),
        to_last_send: last.saturating_duration_since(start),
        busiest_sms_second: quota.stats.busiest_sms_second(),
        busiest_email_second: quota.stats.busiest_email_second(),
        throttled: quota.stats.throttled(),
        most_in_flight: environments.most_in_flight(),
        environments: environments.created(),
        invocations,
        failed_batches,
        counts,
    })
}
