//! Fan-out of one alert: members are read page by page, each delivery is claimed in the ledger
//! before it is sent and settled after, so a replayed stream record or a crashed invocation
//! resumes without sending anything twice.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use tracing::{error, info, instrument, warn};
use vigie::compose::{self, AlertEmail};
use vigie::config::Config;
use vigie::domain::{self, Member};
use vigie::model::{Alert, Channel, Claim, DeliveryCounts, Outcome, Recipient, Task};
use vigie::ports::{AlertLog, Ledger, Mailer, MemberLookup, Roster, SendError, StoreError, Texter};

/// Outcomes are written back to the ledger in batches of this size, as they come.
const SETTLE_BATCH: usize = 25;

/// What the handler needs.
pub struct FanOut<S, T, M> {
    pub store: S,
    pub texter: T,
    pub mailer: M,
    pub config: Config,
}

/// Why an alert's fan-out did not finish.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some deliveries failed for now or are held by another invocation: retry the record.
    #[error("{pending} deliveries still pending")]
    Incomplete { pending: u32 },
}

impl FanOutError {
    pub fn is_retryable(&self) -> bool {
        match self {
            FanOutError::Store(err) => err.is_retryable(),
            FanOutError::Incomplete { .. } => true,
        }
    }
}

/// Everything the fan-out functions need from the store.
pub trait Store: MemberLookup + Roster + Ledger + AlertLog + Sync {}
impl<S: MemberLookup + Roster + Ledger + AlertLog + Sync> Store for S {}

/// Handles a batch of stream records, in order. On the first record that must be retried it
/// stops and reports that record: Lambda retries from there, and the records after it come again.
pub async fn handle<S, T, M>(
    deps: &FanOut<S, T, M>,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error>
where
    S: Store,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let mut response = DynamoDbEventResponse::default();
    for record in &event.payload.records {
        let alert = match alert_of(record) {
            Ok(Some(alert)) => alert,
            Ok(None) => continue,
            Err(reason) => {
                error!(event_id = %record.event_id, %reason, "malformed stream record dropped");
                continue;
            }
        };
        // The stored alert is the authority: a record for an alert that is not (or no longer)
        // stored fans out nothing. (The emulator even streams puts of cancelled transactions.)
        let stored = match deps.store.alert(alert.alert_id).await {
            Ok(Some(stored)) => Ok(stored),
            Ok(None) => {
                warn!(alert = %alert.alert_id, "stream record of an alert that is not stored: skipped");
                continue;
            }
            Err(err) => Err(FanOutError::from(err)),
        };
        match async { fan_out(deps, &stored?).await }.await {
            Ok(counts) => info!(alert = %alert.alert_id, ?counts, "alert fanned out"),
            Err(err) if err.is_retryable() => {
                warn!(alert = %alert.alert_id, error = %err, "fan-out incomplete, record to be retried");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier =
                    Some(record.change.sequence_number.clone().unwrap_or_else(|| record.event_id.clone()));
                response.batch_item_failures.push(failure);
                break;
            }
            Err(err) => error!(alert = %alert.alert_id, error = %err, "fan-out abandoned: cannot succeed"),
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
struct Kind {
    kind: Option<String>,
}

/// The alert a stream record announces, if it is the insertion of an alert.
fn alert_of(record: &EventRecord) -> Result<Option<Alert>, String> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let image = record.change.new_image.clone();
    let kind: Kind = serde_dynamo::from_item(image.clone()).map_err(|e| e.to_string())?;
    if kind.kind.as_deref() != Some("alert") {
        return Ok(None);
    }
    serde_dynamo::from_item(image).map(Some).map_err(|e| e.to_string())
}

/// Delivers one alert to its whole community, then tells the sender how many were reached.
#[instrument(skip_all, fields(alert = %alert.alert_id, community = %alert.community_id))]
pub async fn fan_out<S, T, M>(deps: &FanOut<S, T, M>, alert: &Alert) -> Result<DeliveryCounts, FanOutError>
where
    S: Store,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let sms = compose::alert_sms(
        &alert.sender_first_name,
        alert.source,
        alert.category,
        &alert.text,
        deps.config.sms_max_segments,
    );
    let mut after = None;
    let mut unfinished = false;
    loop {
        let page = deps.store.members_page(&alert.community_id, after, deps.config.fanout_page_size).await?;
        let mut jobs = Vec::with_capacity(page.items.len() * 2);
        for recipient in page.items.into_iter().filter(|r| r.member_id != alert.sender_id) {
            let task =
                |channel| Task::Delivery { alert: alert.alert_id, member: recipient.member_id, channel };
            if recipient.sms_target().is_some() {
                jobs.push((task(Channel::Sms), recipient.clone()));
            }
            if recipient.email_target().is_some() {
                jobs.push((task(Channel::Email), recipient));
            }
        }
        unfinished |= deliver(deps, alert, &sms, jobs).await?;
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    let counts = deps.store.tally(alert.alert_id).await?;
    if unfinished || counts.pending > 0 {
        deps.store.record_counts(alert.alert_id, &counts, false).await?;
        return Err(FanOutError::Incomplete { pending: counts.pending.max(1) });
    }
    confirm_to_sender(deps, alert, &counts).await?;
    deps.store.record_counts(alert.alert_id, &counts, true).await?;
    Ok(counts)
}

/// Claims, sends and settles one page of deliveries. True when some are left for a retry.
async fn deliver<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    sms: &str,
    jobs: Vec<(Task, Recipient)>,
) -> Result<bool, FanOutError>
where
    S: Store,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    if jobs.is_empty() {
        return Ok(false);
    }
    let tasks: Vec<Task> = jobs.iter().map(|(task, _)| task.clone()).collect();
    let claims = deps.store.claim(&tasks, deps.config.claim_lease).await?;
    let mut unfinished = claims.contains(&Claim::Busy);
    let mut acquired = Vec::with_capacity(jobs.len());
    for (job, claim) in jobs.into_iter().zip(claims) {
        if claim == Claim::Acquired {
            acquired.push(job);
        }
    }
    let mut sends = futures::stream::iter(acquired.into_iter().map(|(task, recipient)| async move {
        let outcome = send(deps, alert, sms, &task, &recipient).await;
        (task, outcome)
    }))
    .buffer_unordered(deps.config.fanout_concurrency);
    let mut settled = Vec::with_capacity(SETTLE_BATCH);
    while let Some((task, outcome)) = sends.next().await {
        unfinished |= matches!(outcome, Outcome::Released { .. });
        settled.push((task, outcome));
        if settled.len() >= SETTLE_BATCH {
            deps.store.settle(&settled).await?;
            settled.clear();
        }
    }
    if !settled.is_empty() {
        deps.store.settle(&settled).await?;
    }
    Ok(unfinished)
}

/// Sends one delivery and says how it ended.
async fn send<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    sms: &str,
    task: &Task,
    recipient: &Recipient,
) -> Outcome
where
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let result = match task {
        Task::Delivery { channel: Channel::Sms, .. } => match recipient.sms_target() {
            Some(phone) => deps.texter.send_sms(phone, sms).await,
            None => Err(SendError::Permanent("no number".into())),
        },
        Task::Delivery { channel: Channel::Email, .. } => match recipient.email_target() {
            Some(email) => {
                let unsubscribe_url = format!(
                    "{}/unsubscribe/{}/{}",
                    deps.config.public_base_url,
                    recipient.member_id,
                    recipient.unsubscribe_token.as_str()
                );
                let mime = compose::alert_email(&AlertEmail {
                    from: &deps.config.sender_email,
                    to: email,
                    recipient_first_name: &recipient.first_name,
                    sender_first_name: &alert.sender_first_name,
                    source: alert.source,
                    category: alert.category,
                    community_name: &alert.community_name,
                    text: &alert.text,
                    created_at_ms: alert.created_at,
                    unsubscribe_url: &unsubscribe_url,
                    message_id_domain: deps.config.sender_email.domain(),
                });
                deps.mailer.send_raw(email, mime).await
            }
            None => Err(SendError::Permanent("no address".into())),
        },
        _ => Err(SendError::Permanent("not a delivery".into())),
    };
    outcome(result, recipient)
}

fn outcome(result: Result<String, SendError>, recipient: &Recipient) -> Outcome {
    match result {
        Ok(message_id) => Outcome::Sent { message_id },
        Err(SendError::Permanent(error)) => {
            warn!(member = %recipient.member_id, %error, "delivery rejected, recorded as failed");
            Outcome::Failed { error }
        }
        Err(SendError::Transient(error)) => {
            warn!(member = %recipient.member_id, %error, "delivery failed for now");
            Outcome::Released { error }
        }
    }
}

/// Tells the sender how many neighbours were reached: by SMS if they have a number, else by email.
async fn confirm_to_sender<S, T, M>(
    deps: &FanOut<S, T, M>,
    alert: &Alert,
    counts: &DeliveryCounts,
) -> Result<(), FanOutError>
where
    S: Store,
    T: Texter + Sync,
    M: Mailer + Sync,
{
    let Some(sender) = deps.store.member(alert.sender_id).await? else {
        warn!(sender = %alert.sender_id, "sender no longer registered: no confirmation");
        return Ok(());
    };
    let channel = match (&sender.phone, &sender.email) {
        (Some(_), _) => Channel::Sms,
        (None, Some(_)) => Channel::Email,
        (None, None) => return Ok(()),
    };
    let task = Task::SenderConfirmation { alert: alert.alert_id, sender: sender.id, channel };
    match deps.store.claim(std::slice::from_ref(&task), deps.config.claim_lease).await?.first() {
        Some(Claim::Acquired) => {}
        Some(Claim::Done) => return Ok(()),
        _ => return Err(FanOutError::Incomplete { pending: 1 }),
    }
    let text = domain::sender_confirmation(
        counts.recipients as usize,
        counts.sms_sent as usize,
        counts.email_sent as usize,
    );
    let result = send_confirmation(deps, &sender, channel, &text).await;
    let released = matches!(result, Err(SendError::Transient(_)));
    let outcome = match result {
        Ok(message_id) => Outcome::Sent { message_id },
        Err(SendError::Permanent(error)) => Outcome::Failed { error },
        Err(SendError::Transient(error)) => Outcome::Released { error },
    };
    deps.store.settle(&[(task, outcome)]).await?;
    if released { Err(FanOutError::Incomplete { pending: 1 }) } else { Ok(()) }
}

async fn send_confirmation<S, T, M>(
    deps: &FanOut<S, T, M>,
    sender: &Member,
    channel: Channel,
    text: &str,
) -> Result<String, SendError>
where
    T: Texter + Sync,
    M: Mailer + Sync,
{
    match (channel, &sender.phone, &sender.email) {
        (Channel::Sms, Some(phone), _) => deps.texter.send_sms(phone, text).await,
        (Channel::Email, _, Some(email)) => {
            let mime = compose::sender_confirmation_email(
                &deps.config.sender_email,
                email,
                &sender.first_name,
                text,
            );
            deps.mailer.send_raw(email, mime).await
        }
        _ => Err(SendError::Permanent("no way to reach the sender".into())),
    }
}
