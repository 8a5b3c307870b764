//! The stream relay: Lambda's DynamoDB event source mapping, played locally.
//!
//! moto keeps a DynamoDB stream per table but never invokes a function from it. The relay reads
//! the AlertsTable's stream (DescribeTable → DescribeStream → GetShardIterator → GetRecords),
//! builds the event exactly as Lambda delivers it, and invokes the fan-out with the semantics the
//! template gives its event source (`FanOutFunction.Events.AlertInserted`):
//!
//! - only records matching the `FilterCriteria` patterns are delivered (the INSERT of an item
//!   with `kind = alert`); the others are skipped;
//! - batches of up to `BatchSize` records, in stream order;
//! - `ParallelizationFactor`: up to that many batches of a shard at once, the records of one
//!   item (same `pk` and `sk`, the keys of the record) always in the same lane, in order, as
//!   Lambda guarantees for DynamoDB streams ("in-order processing at the item (partition and sort
//!   key) level", <https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html>); items are spread
//!   over the lanes in the order they first appear, so that distinct items run side by side;
//! - `ReportBatchItemFailures`: a response `{"batchItemFailures":[{"itemIdentifier": seq}]}`
//!   makes the relay retry from the lowest failed sequence number (the records before it count
//!   as delivered); an identifier that is empty or not in the batch fails the whole batch, as on
//!   AWS;
//! - an invocation error (the function returned an error, or could not be reached) fails the
//!   whole batch; a function error with more than one record is bisected first
//!   (`BisectBatchOnFunctionError`; bisecting does not use up retries, as on AWS);
//! - at most `MaximumRetryAttempts` retries with a short exponential backoff, then the records go
//!   to the "on-failure destination": an `on-failure: ...` error line in the logs and, when
//!   configured, a JSON line appended to a file; records older than `MaximumRecordAgeInSeconds`
//!   go there without an invocation.
//!
//! Tests drive it with [`Relay::drain`] and an in-process [`Invoker`] (any
//! `Fn(Value) -> impl Future<Output = Result<Value, InvokeError>>` is one); `vigie-local relay`
//! runs it against `cargo lambda watch` with [`HttpInvoker`].
//!
//! One module per part: [`invoke`] (who runs the function), [`event`] (the records as Lambda
//! delivers them), [`filter`] (`FilterCriteria`), [`config`] (the event source mapping's
//! settings), `reader` (the stream's shards), `delivery` (batches, lanes, retries, on-failure);
//! the [`Relay`] here drives them.

pub mod config;
mod delivery;
pub mod event;
pub mod filter;
pub mod invoke;
mod reader;
#[cfg(test)]
mod test_records;

use std::future::Future;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use serde_json::Value;

pub use config::{RelayConfig, StartingPosition};
use delivery::{BatchContext, deliver_stream};
pub use event::{attribute_value_json, item_json, record_json, records_event};
pub use filter::FilterPattern;
pub use invoke::{HttpInvoker, InvokeError, Invoker};
use reader::{Reader, ShardSource};

// ------------------------------------------------------------------ the relay

/// Why the relay could not read the stream.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("table {0} has no stream")]
    NoStream(String),
    #[error("{operation} failed: {message}")]
    Sdk { operation: &'static str, message: String },
    #[error("relay configuration: {0}")]
    Config(String),
}

impl RelayError {
    pub(super) fn sdk(operation: &'static str) -> impl FnOnce(&dyn std::error::Error) -> Self {
        move |e| Self::Sdk { operation, message: DisplayErrorContext(e).to_string() }
    }
}

/// What one [`Relay::drain`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Stream records read (all of them, before filtering).
    pub records_seen: usize,
    /// Records the function processed successfully.
    pub delivered: usize,
    /// Calls to the invoker.
    pub invocations: usize,
    /// Re-invocations of records after a failure (partial or whole).
    pub retries: usize,
    /// Re-invocations of half a batch after a function error (`BisectBatchOnFunctionError`).
    pub bisections: usize,
    /// Records given up on (retries or age exhausted) and sent to the on-failure destination.
    pub sent_to_on_failure: usize,
}

impl DrainReport {
    pub(super) fn add(&mut self, other: DrainReport) {
        self.records_seen += other.records_seen;
        self.delivered += other.delivered;
        self.invocations += other.invocations;
        self.retries += other.retries;
        self.bisections += other.bisections;
        self.sent_to_on_failure += other.sent_to_on_failure;
    }
}

#[derive(Debug, Default)]
pub(super) struct ShardState {
    pub(super) parent: Option<String>,
    pub(super) iterator: Option<String>,
    pub(super) last_sequence: Option<String>,
    /// The shard is closed and read to its end.
    pub(super) finished: bool,
    /// Known when the relay started (reads from `starting_position`, not the shard's start).
    pub(super) initial: bool,
}

/// Reads a table's stream and invokes a function with its records; see the module docs.
pub struct Relay<I: Invoker> {
    reader: Reader,
    invoker: I,
    cfg: RelayConfig,
    shards: Vec<(String, ShardState)>,
    started: bool,
}

impl<I: Invoker> Relay<I> {
    /// A relay on `table`'s latest stream (found with DescribeTable). Nothing is read yet.
    pub async fn new(
        streams: aws_sdk_dynamodbstreams::Client,
        dynamodb: &aws_sdk_dynamodb::Client,
        table: &str,
        invoker: I,
        cfg: RelayConfig,
    ) -> Result<Self, RelayError> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| RelayError::sdk("DescribeTable")(&e))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| RelayError::NoStream(table.to_owned()))?
            .to_owned();
        let reader = Reader { streams, stream_arn };
        Ok(Self { reader, invoker, cfg, shards: Vec::new(), started: false })
    }

    /// The ARN of the stream read (the events' `eventSourceARN`).
    pub fn stream_arn(&self) -> &str {
        &self.reader.stream_arn
    }

    pub fn config(&self) -> &RelayConfig {
        &self.cfg
    }

    /// Reads everything currently in the stream since the last call and delivers it, and what
    /// comes in while it does, until the stream is quiet and nothing runs; returns what it did.
    /// Invocation failures are handled (retries, on-failure destination) and reported, not
    /// returned: an `Err` means the stream itself could not be read.
    pub async fn drain(&mut self) -> Result<DrainReport, RelayError> {
        self.refresh_shards().await?;
        let mut report = DrainReport::default();
        for i in 0..self.shards.len() {
            let blocked = self.shards[i]
                .1
                .parent
                .as_ref()
                .is_some_and(|p| self.shards.iter().any(|(id, s)| id == p && !s.finished));
            if self.shards[i].1.finished || blocked {
                continue;
            }
            let Relay { reader, invoker, cfg, shards, .. } = &mut *self;
            let (shard_id, state) = &mut shards[i];
            let first = match reader.read_shard(shard_id, state, cfg.starting_position).await {
                Ok(records) => records,
                // Report what the other shards delivered; this one is read again next time.
                Err(e) if report.records_seen > 0 => {
                    tracing::warn!(error = %e, shard = %shard_id, "relay: could not read a shard");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let first: Vec<Value> = first.iter().map(|r| record_json(r, &reader.stream_arn)).collect();
            let batch = BatchContext { shard_id, stream_arn: &reader.stream_arn };
            let mut source = ShardSource { reader, shard_id, state, cfg };
            report.add(deliver_stream(invoker, cfg, &batch, first, &mut source).await);
        }
        self.started = true;
        Ok(report)
    }

    /// Drains every `poll_interval` until `shutdown` completes. Errors reading the stream are
    /// logged and retried at the next poll.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        tokio::pin!(shutdown);
        tracing::info!(stream = %self.reader.stream_arn, "relay started");
        // Whether the last drain failed: an unreachable stream is logged once, not every poll.
        let mut failing = false;
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                result = self.drain() => match result {
                    Ok(r) => {
                        if std::mem::take(&mut failing) {
                            tracing::info!("relay: the stream is readable again");
                        }
                        if r.records_seen > 0 {
                            tracing::info!(
                                seen = r.records_seen, delivered = r.delivered, invocations = r.invocations,
                                retries = r.retries, on_failure = r.sent_to_on_failure, "relay: stream drained"
                            );
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "relay: could not read the stream; retrying at every poll");
                    }
                    Err(_) => {}
                },
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
            }
        }
        tracing::info!("relay stopped");
        Ok(())
    }

    /// DescribeStream (all pages): adds the shards not seen yet.
    async fn refresh_shards(&mut self) -> Result<(), RelayError> {
        let mut start: Option<String> = None;
        loop {
            let out = self
                .reader
                .streams
                .describe_stream()
                .stream_arn(&self.reader.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| RelayError::sdk("DescribeStream")(&e))?;
            let Some(description) = out.stream_description else { break };
            for shard in description.shards.unwrap_or_default() {
                let Some(id) = shard.shard_id else { continue };
                if !self.shards.iter().any(|(known, _)| *known == id) {
                    tracing::debug!(shard = %id, "relay: new shard");
                    let state = ShardState {
                        parent: shard.parent_shard_id,
                        initial: !self.started,
                        ..ShardState::default()
                    };
                    self.shards.push((id, state));
                }
            }
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        Ok(())
    }
}
