//! Delivering a shard's records as the event source mapping does: filtering, batches, lanes
//! (`ParallelizationFactor`), partial failures, retries, bisection, the on-failure destination.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodbstreams::primitives::DateTime;
use serde_json::{Value, json};

use super::event::sequence_number;
use super::reader::Source;
use super::{DrainReport, InvokeError, Invoker, RelayConfig};

/// Delivers a shard's records (`first`, and those `source` gives while batches run) as the event
/// source mapping does: filtered, too old ones to the on-failure destination, in batches of up
/// to `BatchSize`, up to `ParallelizationFactor` batches at once ([`Lanes`]). Returns once
/// nothing runs and the source has nothing new.
pub(super) async fn deliver_stream<I: Invoker>(
    invoker: &I,
    cfg: &RelayConfig,
    batch: &BatchContext<'_>,
    first: Vec<Value>,
    source: &mut (dyn Source + Send),
) -> DrainReport {
    let mut report = DrainReport::default();
    let mut lanes = Lanes::new(cfg.parallelization_factor);
    let take = |records: Vec<Value>, lanes: &mut Lanes, report: &mut DrainReport| {
        report.records_seen += records.len();
        let now = SystemTime::now();
        let mut too_old = Vec::new();
        for record in records {
            let created = record.pointer("/dynamodb/ApproximateCreationDateTime").and_then(Value::as_i64);
            let old = match (cfg.max_record_age, created) {
                (Some(max), Some(secs)) => now
                    .duration_since(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
                    .is_ok_and(|age| age > max),
                _ => false,
            };
            if !cfg.wants(&record) {
                tracing::debug!(seq = sequence_number(&record), "relay: record filtered out");
            } else if old {
                too_old.push(record);
            } else {
                lanes.push(record);
            }
        }
        if !too_old.is_empty() {
            report.sent_to_on_failure += too_old.len();
            on_failure(cfg, batch, &too_old, "RecordAgeExceeded", 0, "older than MaximumRecordAgeInSeconds");
        }
    };
    take(first, &mut lanes, &mut report);
    let mut running = futures::stream::FuturesUnordered::new();
    let mut poll = tokio::time::interval(cfg.poll_interval);
    poll.tick().await;
    loop {
        while let Some((lane, records)) = lanes.next_batch(cfg.batch_size) {
            running.push(async move {
                let mut done = DrainReport::default();
                deliver(invoker, cfg, batch, records, &mut done).await;
                (lane, done)
            });
        }
        if running.is_empty() {
            let more = source.more().await;
            if more.is_empty() {
                break;
            }
            take(more, &mut lanes, &mut report);
            continue;
        }
        tokio::select! {
            Some((lane, done)) = futures::StreamExt::next(&mut running) => {
                lanes.finished(lane);
                report.add(done);
            }
            _ = poll.tick() => {
                let more = source.more().await;
                take(more, &mut lanes, &mut report);
            }
        }
    }
    report
}

/// The concurrent batches of one shard: up to `ParallelizationFactor` lanes, each running one
/// batch at a time. The records of one item (its `Keys`) stay in one lane, in order, for as long
/// as some of them wait or run there; a new item goes to an idle lane if there is one (else the
/// shortest queue), so distinct items run side by side.
struct Lanes {
    queues: Vec<VecDeque<Value>>,
    busy: Vec<bool>,
    lane_of: HashMap<String, usize>,
}

impl Lanes {
    fn new(n: usize) -> Self {
        let n = n.max(1);
        Self { queues: vec![VecDeque::new(); n], busy: vec![false; n], lane_of: HashMap::new() }
    }

    fn push(&mut self, record: Value) {
        let item = record.pointer("/dynamodb/Keys").map(Value::to_string).unwrap_or_default();
        let lane = match self.lane_of.get(&item) {
            Some(&lane) if self.busy[lane] || !self.queues[lane].is_empty() => lane,
            _ => (0..self.queues.len())
                .min_by_key(|&l| (self.busy[l], self.queues[l].len()))
                .unwrap_or_default(),
        };
        self.lane_of.insert(item, lane);
        self.queues[lane].push_back(record);
    }

    /// The next batch of an idle lane with records waiting (the lane is then busy).
    fn next_batch(&mut self, size: usize) -> Option<(usize, Vec<Value>)> {
        let lane = (0..self.queues.len()).find(|&l| !self.busy[l] && !self.queues[l].is_empty())?;
        let queue = &mut self.queues[lane];
        let records: Vec<Value> = queue.drain(..size.max(1).min(queue.len())).collect();
        self.busy[lane] = true;
        Some((lane, records))
    }

    fn finished(&mut self, lane: usize) {
        self.busy[lane] = false;
    }
}

/// Where a batch comes from (for the on-failure record).
pub(super) struct BatchContext<'a> {
    pub(super) shard_id: &'a str,
    pub(super) stream_arn: &'a str,
}

/// Which records of a batch failed, from the function's response: `None` when all succeeded,
/// `Some(i)` to retry from record `i` (the lowest failed sequence number).
fn first_failure(response: &Value, records: &[Value]) -> Option<usize> {
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(f)) if f.is_empty() => return None,
        Some(Value::Array(f)) => f,
        Some(_) => return Some(0),
    };
    let mut first = usize::MAX;
    for failure in failures {
        let id = failure.get("itemIdentifier").and_then(Value::as_str).unwrap_or_default();
        match records.iter().position(|r| !id.is_empty() && sequence_number(r) == id) {
            Some(i) => first = first.min(i),
            // An empty, null or unknown identifier fails the whole batch (as on AWS).
            None => return Some(0),
        }
    }
    Some(first)
}

/// Invokes the function with one batch, with retries, bisection and the on-failure destination.
async fn deliver<I: Invoker>(
    invoker: &I,
    cfg: &RelayConfig,
    batch: &BatchContext<'_>,
    records: Vec<Value>,
    report: &mut DrainReport,
) {
    // (records, retries already spent on them)
    let mut queue: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(records, 0)]);
    while let Some((records, retries)) = queue.pop_front() {
        report.invocations += 1;
        let seqs: Vec<&str> = records.iter().map(sequence_number).collect();
        tracing::debug!(?seqs, retries, "relay: invoking");
        let failure = match invoker.invoke(json!({ "Records": records })).await {
            Ok(_) if !cfg.report_batch_item_failures => None,
            Ok(response) => first_failure(&response, &records).map(|i| (i, "batchItemFailures".to_owned())),
            Err(InvokeError::Function { error_type, error_message })
                if cfg.bisect_on_function_error && records.len() > 1 =>
            {
                tracing::warn!(%error_type, %error_message, records = records.len(), "relay: function error; bisecting the batch");
                let mut first = records;
                let second = first.split_off(first.len() / 2);
                report.bisections += 2;
                queue.push_front((second, retries));
                queue.push_front((first, retries));
                continue;
            }
            Err(e) => Some((0, e.to_string())),
        };
        let Some((from, reason)) = failure else {
            report.delivered += records.len();
            continue;
        };
        report.delivered += from;
        let rest = records[from..].to_vec();
        if retries < cfg.max_retries {
            let wait = cfg.backoff(retries);
            tracing::warn!(from = sequence_number(&rest[0]), records = rest.len(), %reason, retry = retries + 1, ?wait, "relay: batch failed; retrying");
            tokio::time::sleep(wait).await;
            report.retries += 1;
            queue.push_front((rest, retries + 1));
        } else {
            report.sent_to_on_failure += rest.len();
            on_failure(cfg, batch, &rest, "RetryAttemptsExhausted", retries + 1, &reason);
        }
    }
}

/// The on-failure destination: an error log line and, when configured, a JSON line in a file,
/// shaped like Lambda's on-failure record for stream sources (plus the records themselves).
fn on_failure(
    cfg: &RelayConfig,
    batch: &BatchContext<'_>,
    records: &[Value],
    condition: &str,
    attempts: u32,
    reason: &str,
) {
    let seqs: Vec<&str> = records.iter().map(sequence_number).collect();
    let pks: Vec<&str> =
        records.iter().filter_map(|r| r.pointer("/dynamodb/Keys/pk/S").and_then(Value::as_str)).collect();
    tracing::error!(
        "on-failure: {} record(s) {:?} (alerts {:?}) of {} after {} invocation(s), {}: {}",
        records.len(),
        seqs,
        pks,
        batch.shard_id,
        attempts,
        condition,
        reason
    );
    let Some(path) = &cfg.on_failure_file else { return };
    let arrival = |r: Option<&Value>| {
        r.and_then(|r| r.pointer("/dynamodb/ApproximateCreationDateTime")).and_then(Value::as_i64).map(|s| {
            DateTime::from_secs(s)
                .fmt(aws_sdk_dynamodbstreams::primitives::DateTimeFormat::DateTime)
                .unwrap_or_default()
        })
    };
    let entry = json!({
        "requestContext": {
            "requestId": ulid::Ulid::new().to_string(),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": { "reason": reason },
        "version": "1.0",
        "timestamp": crate::sms_event::timestamp(SystemTime::now()),
        "DDBStreamBatchInfo": {
            "shardId": batch.shard_id,
            "startSequenceNumber": seqs.first(),
            "endSequenceNumber": seqs.last(),
            "approximateArrivalOfFirstRecord": arrival(records.first()),
            "approximateArrivalOfLastRecord": arrival(records.last()),
            "batchSize": records.len(),
            "streamArn": batch.stream_arn,
        },
        "records": records,
    });
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{entry}"));
    if let Err(e) = written {
        tracing::error!(path = %path.display(), error = %e, "on-failure: could not append to the on-failure file");
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use aws_sdk_dynamodbstreams::types::OperationType;

    use super::*;
    use crate::relay::record_json;
    use crate::relay::test_records::{ARN, alert_record};

    #[test]
    fn failures_point_at_the_lowest_failed_record() {
        let records: Vec<Value> =
            (1..=4).map(|i| record_json(&alert_record(i, "alert", OperationType::Insert), ARN)).collect();
        let fail = |ids: &[&str]| json!({"batchItemFailures": ids.iter().map(|i| json!({"itemIdentifier": i})).collect::<Vec<_>>()});
        assert_eq!(first_failure(&Value::Null, &records), None);
        assert_eq!(first_failure(&json!({"batchItemFailures": []}), &records), None);
        assert_eq!(
            first_failure(&fail(&["1100000000017454423004", "1100000000017454423002"]), &records),
            Some(1)
        );
        assert_eq!(first_failure(&fail(&[""]), &records), Some(0));
        assert_eq!(first_failure(&fail(&["42"]), &records), Some(0));
    }

    /// An invoker that answers from a script and keeps the sequence numbers it was called with.
    fn scripted(answers: Vec<Result<Value, InvokeError>>) -> (impl Invoker, Arc<Mutex<Vec<Vec<String>>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let seen = calls.clone();
        let invoker = move |event: Value| {
            let seqs =
                event["Records"].as_array().unwrap().iter().map(|r| sequence_number(r).to_owned()).collect();
            seen.lock().unwrap().push(seqs);
            let answer = answers.lock().unwrap().pop_front().unwrap_or(Ok(Value::Null));
            async move { answer }
        };
        (invoker, calls)
    }

    fn batch(n: u32) -> Vec<Value> {
        (1..=n).map(|i| record_json(&alert_record(i, "alert", OperationType::Insert), ARN)).collect()
    }

    fn fast() -> RelayConfig {
        RelayConfig { retry_backoff: Duration::from_millis(1), ..RelayConfig::default() }
    }

    const CTX: BatchContext<'static> = BatchContext { shard_id: "shard-1", stream_arn: ARN };

    #[tokio::test]
    async fn a_partial_failure_is_retried_from_the_failed_record() {
        let (invoker, calls) =
            scripted(vec![Ok(json!({"batchItemFailures": [{"itemIdentifier": "1100000000017454423002"}]}))]);
        let mut report = DrainReport::default();
        deliver(&invoker, &fast(), &CTX, batch(3), &mut report).await;
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1], ["1100000000017454423002", "1100000000017454423003"]);
        assert_eq!(
            report,
            DrainReport { delivered: 3, invocations: 2, retries: 1, ..DrainReport::default() }
        );
    }

    #[tokio::test]
    async fn exhausted_retries_go_to_the_on_failure_file() {
        let file = std::env::temp_dir().join(format!("vigie-on-failure-{}.jsonl", ulid::Ulid::new()));
        let cfg = RelayConfig { on_failure_file: Some(file.clone()), max_retries: 2, ..fast() };
        let error = || Err(InvokeError::Transport("connection refused".into()));
        let (invoker, calls) = scripted(vec![error(), error(), error()]);
        let mut report = DrainReport::default();
        deliver(&invoker, &cfg, &CTX, batch(2), &mut report).await;
        assert_eq!(calls.lock().unwrap().len(), 3);
        assert_eq!(
            report,
            DrainReport { invocations: 3, retries: 2, sent_to_on_failure: 2, ..DrainReport::default() }
        );
        let written = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let entry: Value = serde_json::from_str(written.trim()).unwrap();
        assert_eq!(entry["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(entry["DDBStreamBatchInfo"]["startSequenceNumber"], "1100000000017454423001");
        assert_eq!(entry["DDBStreamBatchInfo"]["batchSize"], 2);
        assert_eq!(entry["records"][1]["dynamodb"]["Keys"]["pk"]["S"], "ALERT#0002");
    }

    /// A record of item `(pk, sk)`.
    fn item_record(seq: u32, pk: &str, sk: &str) -> Value {
        let mut record = record_json(&alert_record(seq, "alert", OperationType::Insert), ARN);
        record["dynamodb"]["Keys"] = json!({"pk": {"S": pk}, "sk": {"S": sk}});
        record
    }

    #[test]
    fn the_records_of_one_item_share_a_lane_in_order() {
        let mut lanes = Lanes::new(2);
        for (seq, pk, sk) in [(1, "ALERT#a", "ALERT"), (2, "ALERT#b", "ALERT"), (3, "ALERT#a", "ALERT")] {
            lanes.push(item_record(seq, pk, sk));
        }
        let seqs =
            |batch: &[Value]| batch.iter().map(|r| sequence_number(r)[19..].to_owned()).collect::<Vec<_>>();
        // Item a in lane 0 (both its records, in order), b in lane 1: both lanes start at once.
        let (lane, first) = lanes.next_batch(10).unwrap();
        assert_eq!((lane, seqs(&first)), (0, vec!["001".to_owned(), "003".to_owned()]));
        let (lane, second) = lanes.next_batch(10).unwrap();
        assert_eq!((lane, seqs(&second)), (1, vec!["002".to_owned()]));
        assert!(lanes.next_batch(10).is_none(), "each lane runs one batch at a time");
        // A new record of a while its lane runs waits behind it; a new item takes a free lane.
        lanes.push(item_record(4, "ALERT#a", "ALERT"));
        lanes.finished(1);
        lanes.push(item_record(5, "ALERT#c", "ALERT"));
        assert_eq!(lanes.next_batch(10).map(|(l, b)| (l, seqs(&b))), Some((1, vec!["005".to_owned()])));
        lanes.finished(0);
        assert_eq!(lanes.next_batch(10).map(|(l, b)| (l, seqs(&b))), Some((0, vec!["004".to_owned()])));
        // One lane: everything in order.
        let mut one = Lanes::new(1);
        for seq in 1..=3 {
            one.push(item_record(seq, &format!("ALERT#{seq}"), "ALERT"));
        }
        assert_eq!(
            one.next_batch(2).map(|(l, b)| (l, seqs(&b))),
            Some((0, vec!["001".to_owned(), "002".to_owned()]))
        );
    }

    /// Records given out in rounds, as a stream read while batches run.
    struct Rounds(VecDeque<Vec<Value>>);

    impl Source for Rounds {
        fn more(&mut self) -> Pin<Box<dyn Future<Output = Vec<Value>> + Send + '_>> {
            let next = self.0.pop_front().unwrap_or_default();
            Box::pin(async move { next })
        }
    }

    #[tokio::test]
    async fn distinct_items_are_invoked_side_by_side_one_items_in_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let invoker = {
            let (in_flight, most, order) = (in_flight.clone(), most.clone(), order.clone());
            move |event: Value| {
                let (in_flight, most, order) = (in_flight.clone(), most.clone(), order.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    for r in event["Records"].as_array().unwrap() {
                        order.lock().unwrap().push(sequence_number(r).to_owned());
                    }
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Ok(Value::Null)
                }
            }
        };
        let cfg = RelayConfig {
            batch_size: 1,
            parallelization_factor: 5,
            poll_interval: Duration::from_millis(10),
            max_record_age: None,
            ..fast()
        };
        let first = vec![item_record(1, "ALERT#a", "ALERT"), item_record(2, "ALERT#a", "ALERT")];
        // Read while a's batches run: another item, which must not wait for them.
        let mut later = Rounds(VecDeque::from([vec![item_record(3, "ALERT#b", "ALERT")]]));
        let report = deliver_stream(&invoker, &cfg, &CTX, first, &mut later).await;
        assert_eq!(most.load(Ordering::SeqCst), 2, "b ran beside a");
        assert_eq!((report.delivered, report.records_seen, report.invocations), (3, 3, 3));
        let order = order.lock().unwrap();
        let position = |seq: u32| order.iter().position(|s| s.ends_with(&format!("{seq:03}"))).unwrap();
        assert!(position(1) < position(2), "one item's records in order: {order:?}");
        assert!(position(3) < position(2), "b did not wait for a's second batch: {order:?}");
    }

    #[tokio::test]
    async fn a_function_error_bisects_the_batch() {
        let (invoker, calls) =
            scripted(vec![Err(InvokeError::function("Boom", "boom")), Ok(Value::Null), Ok(Value::Null)]);
        let mut report = DrainReport::default();
        deliver(&invoker, &fast(), &CTX, batch(4), &mut report).await;
        let calls = calls.lock().unwrap();
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2, 2]);
        assert_eq!(calls[2][0], "1100000000017454423003");
        assert_eq!(
            report,
            DrainReport { delivered: 4, invocations: 3, bisections: 2, ..DrainReport::default() }
        );
    }
}
