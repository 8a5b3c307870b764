//! Reading the stream: shard iterators and GetRecords, and a shard as a [`Source`] of records
//! while its batches run.

use std::future::Future;
use std::pin::Pin;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::Value;

use super::event::record_json;
use super::{RelayConfig, RelayError, ShardState, StartingPosition};

/// Where the relay reads: the stream's client and ARN.
pub(super) struct Reader {
    pub(super) streams: aws_sdk_dynamodbstreams::Client,
    pub(super) stream_arn: String,
}

impl Reader {
    async fn shard_iterator(
        &self,
        id: &str,
        state: &ShardState,
        starting_position: StartingPosition,
    ) -> Result<String, RelayError> {
        let mut request = self.streams.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(id);
        request = match (&state.last_sequence, state.initial, starting_position) {
            (Some(seq), _, _) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq)
            }
            (None, true, StartingPosition::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
            (None, _, _) => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let out = request.send().await.map_err(|e| RelayError::sdk("GetShardIterator")(&e))?;
        out.shard_iterator
            .ok_or(RelayError::Sdk { operation: "GetShardIterator", message: "no iterator returned".into() })
    }

    /// GetRecords on shard `id` until it returns nothing new (or the shard ends).
    pub(super) async fn read_shard(
        &self,
        id: &str,
        state: &mut ShardState,
        starting_position: StartingPosition,
    ) -> Result<Vec<Record>, RelayError> {
        // A fresh position after the last record read, at every read, rather than the iterator
        // kept from the last one: moto restores a copy of the table (stream included) when it
        // cancels a transaction, and an old iterator would go on reading the abandoned copy.
        let kept = state.iterator.take();
        let mut iterator = match kept {
            Some(it) if state.last_sequence.is_none() => it,
            _ => self.shard_iterator(id, state, starting_position).await?,
        };
        let mut records = Vec::new();
        let mut renewed = false;
        loop {
            let out = match self.streams.get_records().shard_iterator(&iterator).send().await {
                Ok(out) => out,
                Err(e)
                    if !renewed
                        && e.as_service_error().is_some_and(|e| e.is_expired_iterator_exception()) =>
                {
                    renewed = true;
                    iterator = self.shard_iterator(id, state, starting_position).await?;
                    continue;
                }
                Err(e) => {
                    // Keep the position: the next read goes on from here. What was read
                    // already is delivered now.
                    state.iterator = Some(iterator);
                    let error = RelayError::sdk("GetRecords")(&e);
                    if records.is_empty() {
                        return Err(error);
                    }
                    tracing::warn!(%error, "relay: GetRecords failed; delivering what was read");
                    break;
                }
            };
            let page = out.records.unwrap_or_default();
            if let Some(seq) =
                page.last().and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number.clone())
            {
                state.last_sequence = Some(seq);
            }
            let empty = page.is_empty();
            records.extend(page);
            match out.next_shard_iterator {
                None => {
                    state.finished = true;
                    break;
                }
                Some(next) if empty => {
                    state.iterator = Some(next);
                    break;
                }
                Some(next) => iterator = next,
            }
        }
        Ok(records)
    }
}

/// More records of a shard, read while its batches run (in their Lambda form).
pub(super) trait Source: Send {
    fn more(&mut self) -> Pin<Box<dyn Future<Output = Vec<Value>> + Send + '_>>;
}

/// A shard of the stream as a [`Source`]: a read that fails is logged and tried again later.
pub(super) struct ShardSource<'a> {
    pub(super) reader: &'a Reader,
    pub(super) shard_id: &'a str,
    pub(super) state: &'a mut ShardState,
    pub(super) cfg: &'a RelayConfig,
}

impl Source for ShardSource<'_> {
    fn more(&mut self) -> Pin<Box<dyn Future<Output = Vec<Value>> + Send + '_>> {
        Box::pin(async move {
            if self.state.finished {
                return Vec::new();
            }
            match self.reader.read_shard(self.shard_id, self.state, self.cfg.starting_position).await {
                Ok(records) => records.iter().map(|r| record_json(r, &self.reader.stream_arn)).collect(),
                Err(error) => {
                    tracing::warn!(%error, shard = %self.shard_id, "relay: could not read the shard; trying again");
                    Vec::new()
                }
            }
        })
    }
}
