//! Fan-out throughput (in-process, with every AWS call counted), the emulator's own ceiling,
//! and the peak memory of the release `fan-out` binary run as Lambda runs it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fan_out::handler::FanOut;
use futures::StreamExt;
use infra::relay::{InvokeError, Invoker, Relay, RelayConfig, StartingPosition};
use infra::runtime_api::RuntimeApi;
use serde_json::Value;
use vigie::adapters::{DynamoStore, SesMailer, SnsTexter};
use vigie::compose::{self, AlertEmail};
use vigie::domain::{AlertSource, Email, PhoneNumber};
use vigie::model::{Alert, DeliveryCounts};
use vigie::pace::Rates;
use vigie::ports::{Ledger, Mailer, Texter};

use crate::community::{BoxError, Emulator, Generated, email_of, phone_of};
use crate::counting::{CallCounter, Tally};
use crate::process;

/// The text of the benchmark's alert (one SMS segment once normalised).
pub const ALERT_TEXT: &str = "Deux hommes en scooter noir regardent dans les boîtes aux lettres, rue des Lilas, vers le n°12. Soyez vigilants.";

/// A relay on the alerts stream that starts at its end: earlier alerts are not replayed.
pub async fn relay_at_end<I: Invoker>(emulator: &Emulator, invoker: I) -> Result<Relay<I>, BoxError> {
    let yaml = std::fs::read_to_string(infra::template::workspace_template())?;
    let mut cfg = RelayConfig::from_template(&yaml, "FanOutFunction")?;
    cfg.starting_position = StartingPosition::Latest;
    cfg.retry_backoff = Duration::from_millis(10);
    let mut relay = Relay::new(
        aws_sdk_dynamodbstreams::Client::new(&emulator.sdk),
        &aws_sdk_dynamodb::Client::new(&emulator.sdk),
        &emulator.config.tables.alerts,
        invoker,
        cfg,
    )
    .await?;
    relay.drain().await?;
    Ok(relay)
}

/// Drains the stream until nothing new comes (the alert, then each chunk's hand-over).
pub async fn drain_all<I: Invoker>(relay: &mut Relay<I>) -> Result<(usize, usize), BoxError> {
    let (mut invocations, mut failed) = (0, 0);
    for _ in 0..10_000 {
        let report = relay.drain().await?;
        invocations += report.invocations;
        failed += report.sent_to_on_failure;
        if report.records_seen == 0 {
            break;
        }
    }
    Ok((invocations, failed))
}

/// What one fan-out delivered, from the ledger.
async fn delivered(emulator: &Emulator, alert: &Alert) -> Result<DeliveryCounts, BoxError> {
    Ok(emulator.store.tally(alert.alert_id, vigie::model::Wave::Alert).await?)
}

#[derive(Clone, Debug)]
pub struct Throughput {
    pub members: usize,
    pub mix: crate::community::Mix,
    pub sms: usize,
    pub emails: usize,
    pub counts: DeliveryCounts,
    pub invocations: usize,
    pub failed_batches: usize,
    /// From the first invocation (the stream record read) to the last send.
    pub to_last_send: Duration,
    /// From the first invocation to the end of the last one.
    pub to_done: Duration,
    pub sends: u64,
    pub calls: BTreeMap<String, Tally>,
    pub page_size: usize,
    pub concurrency: usize,
    pub chunk_members: usize,
}

/// The fan-out of one alert to `community`, in-process, driven by the stream relay as Lambda
/// would, every AWS call of the function counted.
pub async fn throughput(
    emulator: &Emulator,
    community: &Generated,
    counter: &CallCounter,
) -> Result<Throughput, BoxError> {
    let sdk = &emulator.sdk;
    let config = emulator.config.clone();
    let store = DynamoStore::new(counter.dynamodb(sdk), config.tables.clone());
    let rates = Rates::shared(&store, &config);
    let deps = Arc::new(FanOut::new(
        store,
        SnsTexter::new(counter.sns(sdk), &config.sms_alert_sender),
        SesMailer::new(
            counter.sesv2(sdk),
            config.sender_email.clone(),
            config.email_configuration_set.clone(),
        ),
        config.clone(),
        rates,
    ));
    let first_invocation: Arc<Mutex<Option<Instant>>> = Arc::default();
    let invoker = {
        let first = Arc::clone(&first_invocation);
        move |event: Value| {
            let deps = Arc::clone(&deps);
            first.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Instant::now);
            async move {
                fan_out::handler::handle_json(&deps, event, Default::default())
                    .await
                    .map_err(|(kind, why)| InvokeError::function(kind, why))
            }
        }
    };
    let mut relay = relay_at_end(emulator, invoker).await?;
    let alert = crate::community::raise_alert(&emulator.store, community, ALERT_TEXT).await?;
    counter.reset();
    let (invocations, failed_batches) = drain_all(&mut relay).await?;
    let done = Instant::now();
    let start = first_invocation.lock().unwrap_or_else(|p| p.into_inner()).ok_or("the fan-out never ran")?;
    let (last_send, sends) = counter.last_send();
    let counts = delivered(emulator, &alert).await?;
    Ok(Throughput {
        members: community.members,
        mix: community.mix,
        sms: community.sms_deliveries,
        emails: community.email_deliveries,
        counts,
        invocations,
        failed_batches,
        to_last_send: last_send.map_or(Duration::ZERO, |t| t.saturating_duration_since(start)),
        to_done: done - start,
        sends,
        calls: counter.tallies(),
        page_size: config.fanout_page_size as usize,
        concurrency: config.fanout_concurrency,
        chunk_members: config.fanout_chunk_members,
    })
}

#[derive(Clone, Debug)]
pub struct Ceiling {
    pub sends: usize,
    pub elapsed: Duration,
    pub errors: u64,
    pub concurrency: usize,
}

impl Ceiling {
    pub fn per_second(&self) -> f64 {
        self.sends as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The emulator's own ceiling: the same SNS Publish and SES SendEmail (raw) calls as the
/// fan-out's deliveries, fired by a tight concurrent loop with no other logic (the message
/// bodies are built once, before the clock starts).
pub async fn ceiling(
    emulator: &Emulator,
    community: &Generated,
    concurrency: usize,
    counter: &CallCounter,
) -> Result<Ceiling, BoxError> {
    let config = &emulator.config;
    let texter = SnsTexter::new(counter.sns(&emulator.sdk), &config.sms_alert_sender);
    let mailer = SesMailer::new(
        counter.sesv2(&emulator.sdk),
        config.sender_email.clone(),
        config.email_configuration_set.clone(),
    );
    let sender = &community.sender;
    let text = vigie::domain::AlertText::parse(ALERT_TEXT)?;
    let sms = compose::alert_sms(&sender.first_name, AlertSource::Sms, None, &text, config.sms_max_segments);
    let sample_to = email_of(&community.community.id, 1)?;
    let unsubscribe = format!("{}/unsubscribe/{}/{}", config.public_base_url, sender.id, "0".repeat(64));
    let mime = compose::alert_email(&AlertEmail {
        from: &config.sender_email,
        to: &sample_to,
        recipient_first_name: &sender.first_name,
        sender_first_name: &sender.first_name,
        source: AlertSource::Sms,
        category: None,
        community_name: &community.community.name,
        text: &text,
        created_at_ms: vigie::adapters::now_ms(),
        unsubscribe_url: &unsubscribe,
        message_id_domain: config.sender_email.domain(),
    });
    // The same sends as the fan-out, in the same order: per member, the SMS then the email.
    enum Send {
        Sms(PhoneNumber),
        Email(Email),
    }
    let mut jobs = Vec::with_capacity(community.sms_deliveries + community.email_deliveries);
    for i in 1..community.members {
        if community.mix.sms(i) {
            jobs.push(Send::Sms(phone_of(i)?));
        }
        if community.mix.email(i) {
            jobs.push(Send::Email(email_of(&community.community.id, i)?));
        }
    }
    let sends = jobs.len();
    counter.reset();
    let start = Instant::now();
    let errors = futures::stream::iter(jobs.into_iter().map(|job| {
        let (texter, mailer, sms, mime) = (&texter, &mailer, &sms, &mime);
        async move {
            match job {
                Send::Sms(to) => texter.send_sms(&to, sms).await.is_err(),
                Send::Email(to) => mailer.send_raw(&to, mime.clone()).await.is_err(),
            }
        }
    }))
    .buffer_unordered(concurrency)
    .fold(0u64, |n, failed| async move { n + u64::from(failed) })
    .await;
    Ok(Ceiling { sends, elapsed: start.elapsed(), errors, concurrency })
}

#[derive(Clone, Debug)]
pub struct Memory {
    pub members: usize,
    pub sms: usize,
    pub emails: usize,
    pub counts: DeliveryCounts,
    pub invocations: usize,
    /// Peak RSS once initialised (waiting for its first event), KiB.
    pub init_hwm_kib: u64,
    /// Peak RSS after each invocation (each chunk of members), KiB.
    pub hwm_by_invocation: Vec<u64>,
    /// Peak RSS after the whole fan-out, KiB.
    pub hwm_kib: u64,
    pub elapsed: Duration,
}

/// The release `fan-out` binary, started as Lambda starts it (against the emulator) behind the
/// local Runtime API, fed the alert's stream records by the relay; its peak RSS read from
/// /proc once the alert is done.
pub async fn memory(
    emulator: &Emulator,
    community: &Generated,
    binary: &Path,
    scratch: &Path,
) -> Result<Memory, BoxError> {
    let api = Arc::new(RuntimeApi::start().await?);
    let mut env = process::lambda_env("fan-out", 512, &api.host_port(), &emulator.moto.endpoint);
    env.extend(emulator.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let log = scratch.join(format!("fan-out-{}.log", community.members));
    let mut child = process::spawn(binary, &env, &log)?;
    let pid = child.id();
    let result = async {
        match api.wait_ready(Duration::from_secs(10)).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("fan-out init error: {e}").into()),
            None => return Err(format!("fan-out did not start: {}", process::tail(&log, 3)).into()),
        }
        let (init_hwm_kib, _) = process::memory_kib(pid).ok_or("cannot read /proc/<pid>/status")?;
        let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
        let invoker = {
            let (api, samples) = (Arc::clone(&api), Arc::clone(&samples));
            move |event: Value| {
                let (api, samples) = (Arc::clone(&api), Arc::clone(&samples));
                async move {
                    let answer = api.invoke(event).await;
                    if let Some((hwm, _)) = process::memory_kib(pid) {
                        samples.lock().unwrap_or_else(|p| p.into_inner()).push(hwm);
                    }
                    answer
                }
            }
        };
        let mut relay = relay_at_end(emulator, invoker).await?;
        let alert = crate::community::raise_alert(&emulator.store, community, ALERT_TEXT).await?;
        let start = Instant::now();
        let (invocations, _) = drain_all(&mut relay).await?;
        let elapsed = start.elapsed();
        let (hwm_kib, _) = process::memory_kib(pid).ok_or("the fan-out process is gone")?;
        let counts = delivered(emulator, &alert).await?;
        let hwm_by_invocation = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok::<_, BoxError>(Memory {
            members: community.members,
            sms: community.sms_deliveries,
            emails: community.email_deliveries,
            counts,
            invocations,
            init_hwm_kib,
            hwm_by_invocation,
            hwm_kib,
            elapsed,
        })
    }
    .await;
    process::stop(&mut child);
    result.map_err(|e| format!("{e} (log: {})", process::tail(&log, 3)).into())
}
