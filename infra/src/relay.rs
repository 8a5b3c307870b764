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

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::primitives::DateTime;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine as _;
use serde_json::{Map, Value, json};

// ------------------------------------------------------------------ invoking

/// Why an invocation did not return a response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and returned an error (`{"errorType","errorMessage"}`).
    #[error("function error {error_type}: {error_message}")]
    Function { error_type: String, error_message: String },
    /// The function could not be reached, or its answer could not be read.
    #[error("could not invoke the function: {0}")]
    Transport(String),
    /// The Invoke API refused the call (e.g. 404: no such function in `cargo lambda watch`).
    #[error("the Invoke API answered {status}: {body}")]
    Http { status: u16, body: String },
}

impl InvokeError {
    /// A function error, as an in-process invoker reports a handler's `Err`.
    pub fn function(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self::Function { error_type: error_type.into(), error_message: error_message.into() }
    }
}

/// Something that runs the function on an event and returns its response (the JSON the
/// function returned, `Value::Null` for none).
///
/// Any closure `Fn(Value) -> Fut` where `Fut: Future<Output = Result<Value, InvokeError>> + Send`
/// is an `Invoker`, so a test can call a handler in-process:
/// `|event| async move { ...; Ok(serde_json::to_value(response)?) }`.
pub trait Invoker {
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send;
}

impl<F, Fut> Invoker for F
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, InvokeError>> + Send,
{
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send {
        self(event)
    }
}

/// Invokes a function through the Lambda Invoke API as `cargo lambda watch` serves it:
/// `POST {base}/2015-03-31/functions/{name}/invocations`. A function error comes back as a
/// non-2xx status (cargo-lambda) or a 200 with `X-Amz-Function-Error` (AWS), with
/// `{"errorType","errorMessage"}` as the body.
#[derive(Clone, Debug)]
pub struct HttpInvoker {
    client: reqwest::Client,
    url: String,
}

impl HttpInvoker {
    /// `base` is `cargo lambda watch`'s address (`http://127.0.0.1:9000`), `function` the binary.
    pub fn new(base: &str, function: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("{}/2015-03-31/functions/{function}/invocations", base.trim_end_matches('/')),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Invoker for HttpInvoker {
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send {
        let request = self.client.post(&self.url).json(&event);
        async move {
            let response = request.send().await.map_err(|e| InvokeError::Transport(error_chain(&e)))?;
            let status = response.status();
            let function_error = response.headers().contains_key("x-amz-function-error");
            let body = response.bytes().await.map_err(|e| InvokeError::Transport(error_chain(&e)))?;
            let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
                Some(Value::Null)
            } else {
                serde_json::from_slice(&body).ok()
            };
            if status.is_success() && !function_error {
                return parsed.ok_or_else(|| {
                    InvokeError::Transport(format!(
                        "the response is not JSON: {}",
                        String::from_utf8_lossy(&body)
                    ))
                });
            }
            match parsed
                .as_ref()
                .and_then(|v| v.get("errorType").or_else(|| v.get("errorMessage")).map(|_| v))
            {
                Some(err) => Err(InvokeError::Function {
                    error_type: err
                        .get("errorType")
                        .and_then(Value::as_str)
                        .unwrap_or("Unhandled")
                        .to_owned(),
                    error_message: err
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }),
                None => Err(InvokeError::Http {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                }),
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

// ------------------------------------------------------------------ the Lambda event

/// A DynamoDB attribute value in the stream's wire JSON (`{"S": ..}`, `{"N": ..}`, `{"B": base64}`...),
/// as Lambda puts it in `Keys` / `NewImage` / `OldImage`.
pub fn attribute_value_json(value: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute_value_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        // A type this SDK version does not know: nothing sensible to send.
        _ => Value::Null,
    }
}

/// An item (attribute name → value) in the stream's wire JSON.
pub fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    // Sorted keys: the same record always gives the same JSON.
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    Value::Object(names.into_iter().map(|k| (k.clone(), attribute_value_json(&item[k]))).collect())
}

/// One stream record as Lambda delivers it to a function: the GetRecords record, with
/// `eventVersion` 1.1 and the stream's ARN added (`awsRegion` is kept as the stream says).
pub fn record_json(record: &Record, stream_arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(s) = &record.dynamodb {
        if let Some(t) = s.approximate_creation_date_time {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
        for (name, image) in [("Keys", &s.keys), ("NewImage", &s.new_image), ("OldImage", &s.old_image)] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), item_json(image));
            }
        }
        if let Some(seq) = &s.sequence_number {
            dynamodb.insert("SequenceNumber".into(), json!(seq));
        }
        if let Some(size) = s.size_bytes {
            dynamodb.insert("SizeBytes".into(), json!(size));
        }
        if let Some(view) = &s.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    let mut out = Map::new();
    out.insert("eventID".into(), json!(record.event_id.as_deref().unwrap_or_default()));
    out.insert("eventName".into(), json!(record.event_name.as_ref().map(|n| n.as_str()).unwrap_or_default()));
    out.insert("eventVersion".into(), json!("1.1"));
    out.insert("eventSource".into(), json!("aws:dynamodb"));
    out.insert("awsRegion".into(), json!(record.aws_region.as_deref().unwrap_or_default()));
    out.insert("dynamodb".into(), Value::Object(dynamodb));
    if let Some(identity) = &record.user_identity {
        out.insert(
            "userIdentity".into(),
            json!({ "type": identity.r#type.as_deref().unwrap_or_default(), "principalId": identity.principal_id.as_deref().unwrap_or_default() }),
        );
    }
    out.insert("eventSourceARN".into(), json!(stream_arn));
    Value::Object(out)
}

/// The Lambda event for these stream records: `{"Records": [...]}` (no filtering, no batching),
/// so a test can build the event the relay delivered and deliver it again.
pub fn records_event(records: &[Record], stream_arn: &str) -> Value {
    json!({ "Records": records.iter().map(|r| record_json(r, stream_arn)).collect::<Vec<_>>() })
}

fn sequence_number(record: &Value) -> &str {
    record.pointer("/dynamodb/SequenceNumber").and_then(Value::as_str).unwrap_or_default()
}

// ------------------------------------------------------------------ filters

/// One `FilterCriteria` pattern, the subset of Lambda's event-filtering syntax the relay
/// understands: nested objects, and at the leaves lists of literal values (strings, numbers,
/// booleans, null), one of which must equal the record's value. Operators (`prefix`,
/// `anything-but`, `exists`, `numeric`...) are refused when the pattern is parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterPattern(Value);

impl FilterPattern {
    /// The fan-out's filter in `template.yaml`: the INSERT of an item with `kind = alert`.
    pub const FAN_OUT: &'static str =
        r#"{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["alert", "fanout_cursor"]}}}}"#;

    pub fn parse(pattern: &str) -> Result<Self, RelayError> {
        let value: Value = serde_json::from_str(pattern)
            .map_err(|e| RelayError::Config(format!("filter pattern {pattern:?} is not JSON: {e}")))?;
        fn check(v: &Value, path: &str) -> Result<(), String> {
            match v {
                Value::Object(map) if !map.is_empty() => {
                    map.iter().try_for_each(|(k, v)| check(v, &format!("{path}.{k}")))
                }
                Value::Array(items) if !items.is_empty() => {
                    match items.iter().find(|i| i.is_object() || i.is_array()) {
                        Some(op) => Err(format!("{path}: operator {op} is not supported by the local relay")),
                        None => Ok(()),
                    }
                }
                _ => Err(format!("{path}: expected an object or a non-empty list of values")),
            }
        }
        check(&value, "pattern").map_err(RelayError::Config)?;
        Ok(Self(value))
    }

    /// Whether a record (in its Lambda form, see [`record_json`]) matches the pattern.
    pub fn matches(&self, record: &Value) -> bool {
        fn go(pattern: &Value, value: Option<&Value>) -> bool {
            match pattern {
                Value::Object(map) => map.iter().all(|(k, p)| go(p, value.and_then(|v| v.get(k)))),
                Value::Array(allowed) => match value {
                    Some(Value::Array(values)) => values.iter().any(|v| allowed.contains(v)),
                    Some(v) => allowed.contains(v),
                    None => false,
                },
                _ => false,
            }
        }
        go(&self.0, Some(record))
    }
}

// ------------------------------------------------------------------ configuration

/// Where a relay starts reading shards that exist when it starts (new shards are always read
/// from their start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// The event source mapping's settings. [`Default`] is the fan-out's, as in `template.yaml`;
/// [`RelayConfig::from_template`] reads them from the template itself.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// `BatchSize`: at most this many records per invocation.
    pub batch_size: usize,
    /// `ParallelizationFactor`: batches of one shard invoked at the same time.
    pub parallelization_factor: usize,
    /// `MaximumRetryAttempts`: retries of a failing batch before the on-failure destination.
    pub max_retries: u32,
    /// How often [`Relay::run`] reads the stream.
    pub poll_interval: Duration,
    /// Where the on-failure destination appends its JSON lines (besides the error log line).
    pub on_failure_file: Option<PathBuf>,
    /// The first retry waits this long, each next one twice as long (at most 5 s).
    pub retry_backoff: Duration,
    /// `BisectBatchOnFunctionError`.
    pub bisect_on_function_error: bool,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: honour `batchItemFailures`.
    pub report_batch_item_failures: bool,
    /// `StartingPosition`.
    pub starting_position: StartingPosition,
    /// `MaximumRecordAgeInSeconds` (`None`: unlimited).
    pub max_record_age: Option<Duration>,
    /// `FilterCriteria.Filters`: a record is delivered when one of them matches (all when empty).
    pub filters: Vec<FilterPattern>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 10,
            parallelization_factor: 5,
            max_retries: 5,
            poll_interval: Duration::from_millis(100),
            on_failure_file: None,
            retry_backoff: Duration::from_millis(100),
            bisect_on_function_error: true,
            report_batch_item_failures: true,
            starting_position: StartingPosition::TrimHorizon,
            max_record_age: Some(Duration::from_secs(3600)),
            filters: vec![FilterPattern::parse(FilterPattern::FAN_OUT).expect("the fan-out filter is valid")],
        }
    }
}

impl RelayConfig {
    /// The settings of the `DynamoDB` event of function `function_logical_id`
    /// (`FanOutFunction`) in the template; what the template leaves out keeps the AWS default
    /// (batch 100, parallelization 1, infinite retries and age, no bisect, no filter). `poll_interval`,
    /// `retry_backoff` and `on_failure_file` are local and keep the values of [`Default`].
    pub fn from_template(template_yaml: &str, function_logical_id: &str) -> Result<Self, RelayError> {
        use serde_norway::Value as Y;
        let config = |m: String| RelayError::Config(format!("{function_logical_id}: {m}"));
        let doc: Y = serde_norway::from_str(template_yaml)
            .map_err(|e| RelayError::Config(format!("template.yaml: {e}")))?;
        let events = doc
            .get("Resources")
            .and_then(|r| r.get(function_logical_id))
            .and_then(|f| f.get("Properties"))
            .and_then(|p| p.get("Events"))
            .and_then(Y::as_mapping)
            .ok_or_else(|| config("no such function, or it has no Events".into()))?;
        let mut dynamodb = events.values().filter(|e| e.get("Type").and_then(Y::as_str) == Some("DynamoDB"));
        let props = match (dynamodb.next(), dynamodb.next()) {
            (Some(event), None) => event
                .get("Properties")
                .ok_or_else(|| config("its DynamoDB event has no Properties".into()))?,
            (None, _) => return Err(config("no DynamoDB event".into())),
            (Some(_), Some(_)) => return Err(config("more than one DynamoDB event".into())),
        };
        let literal = |key: &str| -> Result<Option<&Y>, RelayError> {
            match props.get(key) {
                Some(Y::Tagged(t)) => {
                    Err(config(format!("{key}: intrinsic function {} is not supported here", t.tag)))
                }
                other => Ok(other),
            }
        };
        let int = |key: &str| -> Result<Option<i64>, RelayError> {
            literal(key)?
                .map(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| config(format!("{key}: expected an integer")))
                })
                .transpose()
        };
        let flag = |key: &str| -> Result<Option<bool>, RelayError> {
            literal(key)?
                .map(|v| {
                    v.as_bool()
                        .or_else(|| v.as_str().and_then(|s| s.to_ascii_lowercase().parse().ok()))
                        .ok_or_else(|| config(format!("{key}: expected true or false")))
                })
                .transpose()
        };

        let mut cfg = Self {
            batch_size: int("BatchSize")?.map_or(100, |n| n.max(1) as usize),
            parallelization_factor: int("ParallelizationFactor")?.map_or(1, |n| n.clamp(1, 10) as usize),
            max_retries: match int("MaximumRetryAttempts")? {
                None | Some(-1) => u32::MAX,
                Some(n) => n.max(0) as u32,
            },
            bisect_on_function_error: flag("BisectBatchOnFunctionError")?.unwrap_or(false),
            max_record_age: match int("MaximumRecordAgeInSeconds")? {
                None | Some(-1) => None,
                Some(n) => Some(Duration::from_secs(n.max(0) as u64)),
            },
            report_batch_item_failures: false,
            filters: Vec::new(),
            ..Self::default()
        };
        cfg.starting_position = match literal("StartingPosition")?.and_then(Y::as_str) {
            Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
            Some("LATEST") => StartingPosition::Latest,
            other => return Err(config(format!("StartingPosition {other:?} is not supported locally"))),
        };
        if let Some(types) = literal("FunctionResponseTypes")? {
            let types =
                types.as_sequence().ok_or_else(|| config("FunctionResponseTypes: expected a list".into()))?;
            cfg.report_batch_item_failures =
                types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures"));
        }
        if let Some(criteria) = literal("FilterCriteria")? {
            let filters = criteria
                .get("Filters")
                .and_then(Y::as_sequence)
                .ok_or_else(|| config("FilterCriteria: expected Filters: [...]".into()))?;
            for filter in filters {
                let pattern = filter
                    .get("Pattern")
                    .and_then(|p| if let Y::Tagged(_) = p { None } else { p.as_str() })
                    .ok_or_else(|| {
                        config("FilterCriteria: each filter needs a literal Pattern string".into())
                    })?;
                cfg.filters.push(FilterPattern::parse(pattern)?);
            }
        }
        Ok(cfg)
    }

    fn backoff(&self, retry: u32) -> Duration {
        self.retry_backoff.saturating_mul(1 << retry.min(16)).min(Duration::from_secs(5))
    }

    fn wants(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(record))
    }
}

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
    fn sdk(operation: &'static str) -> impl FnOnce(&dyn std::error::Error) -> Self {
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
    fn add(&mut self, other: DrainReport) {
        self.records_seen += other.records_seen;
        self.delivered += other.delivered;
        self.invocations += other.invocations;
        self.retries += other.retries;
        self.bisections += other.bisections;
        self.sent_to_on_failure += other.sent_to_on_failure;
    }
}

#[derive(Debug, Default)]
struct ShardState {
    parent: Option<String>,
    iterator: Option<String>,
    last_sequence: Option<String>,
    /// The shard is closed and read to its end.
    finished: bool,
    /// Known when the relay started (reads from `starting_position`, not the shard's start).
    initial: bool,
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

/// Where the relay reads: the stream's client and ARN.
struct Reader {
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
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
    async fn read_shard(
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
trait Source: Send {
    fn more(&mut self) -> Pin<Box<dyn Future<Output = Vec<Value>> + Send + '_>>;
}

/// A shard of the stream as a [`Source`]: a read that fails is logged and tried again later.
struct ShardSource<'a> {
    reader: &'a Reader,
    shard_id: &'a str,
    state: &'a mut ShardState,
    cfg: &'a RelayConfig,
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

/// Delivers a shard's records (`first`, and those `source` gives while batches run) as the event
/// source mapping does: filtered, too old ones to the on-failure destination, in batches of up
/// to `BatchSize`, up to `ParallelizationFactor` batches at once ([`Lanes`]). Returns once
/// nothing runs and the source has nothing new.
async fn deliver_stream<I: Invoker>(
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
struct BatchContext<'a> {
    shard_id: &'a str,
    stream_arn: &'a str,
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
    use std::sync::{Arc, Mutex};

    use aws_lambda_events::event::dynamodb::Event;
    use aws_sdk_dynamodbstreams::primitives::Blob;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    use super::*;

    const ARN: &str =
        "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-AlertsTable/stream/2026-01-01T00:00:00.000";

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn alert_record(seq: u32, kind: &str, event: OperationType) -> Record {
        let pk = format!("ALERT#{seq:04}");
        let keys = HashMap::from([("pk".to_owned(), s(&pk)), ("sk".to_owned(), s("ALERT"))]);
        let mut image = keys.clone();
        image.insert("kind".into(), s(kind));
        Record::builder()
            .event_id(format!("id{seq}"))
            .event_name(event)
            .event_version("1.0")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_780_000_000))
                    .set_keys(Some(keys))
                    .set_new_image(Some(image))
                    .sequence_number(format!("1100000000017454423{seq:03}"))
                    .size_bytes(100)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )
            .build()
    }

    #[test]
    fn attribute_values_use_the_wire_json() {
        let item = HashMap::from([
            ("s".to_owned(), s("é")),
            ("n".to_owned(), AttributeValue::N("1.50".into())),
            ("b".to_owned(), AttributeValue::B(Blob::new(vec![0u8, 1]))),
            ("t".to_owned(), AttributeValue::Bool(false)),
            ("z".to_owned(), AttributeValue::Null(true)),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into(), "b".into()])),
            ("ns".to_owned(), AttributeValue::Ns(vec!["1".into()])),
            ("bs".to_owned(), AttributeValue::Bs(vec![Blob::new(b"a".to_vec())])),
            ("l".to_owned(), AttributeValue::L(vec![s("x"), AttributeValue::Null(true)])),
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([("k".to_owned(), AttributeValue::Bool(true))])),
            ),
        ]);
        assert_eq!(
            item_json(&item),
            json!({
                "s": {"S": "é"}, "n": {"N": "1.50"}, "b": {"B": "AAE="}, "t": {"BOOL": false},
                "z": {"NULL": true}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]}, "bs": {"BS": ["YQ=="]},
                "l": {"L": [{"S": "x"}, {"NULL": true}]}, "m": {"M": {"k": {"BOOL": true}}},
            })
        );
        // ...and serde_dynamo (through aws_lambda_events) reads every one of them back.
        let record = Record::builder()
            .event_id("e")
            .event_name(OperationType::Insert)
            .aws_region("us-east-1")
            .dynamodb(
                StreamRecord::builder()
                    .set_keys(Some(item.clone()))
                    .set_new_image(Some(item))
                    .sequence_number("1")
                    .size_bytes(1)
                    .build(),
            )
            .build();
        let event: Event = serde_json::from_value(records_event(&[record], ARN)).unwrap();
        assert_eq!(event.records[0].change.new_image.len(), 10);
    }

    #[test]
    fn the_event_is_what_lambda_delivers() {
        let event = records_event(&[alert_record(1, "alert", OperationType::Insert)], ARN);
        assert_eq!(
            event,
            json!({"Records": [{
                "eventID": "id1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_780_000_000,
                    "Keys": {"pk": {"S": "ALERT#0001"}, "sk": {"S": "ALERT"}},
                    "NewImage": {"kind": {"S": "alert"}, "pk": {"S": "ALERT#0001"}, "sk": {"S": "ALERT"}},
                    "SequenceNumber": "1100000000017454423001", "SizeBytes": 100, "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": ARN,
            }]})
        );
        let parsed: Event = serde_json::from_value(event).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.event_source_arn.as_deref(), Some(ARN));
        assert_eq!(record.event_version.as_deref(), Some("1.1"));
        assert_eq!(record.change.sequence_number.as_deref(), Some("1100000000017454423001"));
        assert_eq!(record.change.approximate_creation_date_time.timestamp(), 1_780_000_000);
        assert_eq!(record.change.new_image.len(), 3);
    }

    #[test]
    fn the_fan_out_filter_keeps_only_alert_inserts() {
        let cfg = RelayConfig::default();
        let wants = |kind, op| cfg.wants(&record_json(&alert_record(1, kind, op), ARN));
        assert!(wants("alert", OperationType::Insert));
        assert!(!wants("alert", OperationType::Modify));
        assert!(!wants("member", OperationType::Insert));
        assert!(FilterPattern::parse(r#"{"eventName": [{"prefix": "IN"}]}"#).is_err());
        assert!(FilterPattern::parse(r#"{"eventName": []}"#).is_err());
    }

    #[test]
    fn settings_come_from_the_template() {
        let yaml = include_str!("../tests/fixtures/template.yaml");
        let cfg = RelayConfig::from_template(yaml, "FanOutFunction").unwrap();
        let default = RelayConfig::default();
        assert_eq!(cfg.batch_size, default.batch_size);
        assert_eq!(cfg.max_retries, default.max_retries);
        assert_eq!(cfg.max_record_age, default.max_record_age);
        assert_eq!(cfg.filters, default.filters);
        assert!(cfg.bisect_on_function_error && cfg.report_batch_item_failures);
        assert_eq!(cfg.starting_position, StartingPosition::TrimHorizon);
        if let Ok(real) = std::fs::read_to_string(crate::template::workspace_template()) {
            let real = RelayConfig::from_template(&real, "FanOutFunction").unwrap();
            assert_eq!((real.batch_size, real.max_retries, &real.filters), (10, 5, &default.filters));
            assert_eq!(real.parallelization_factor, default.parallelization_factor);
        }
        assert!(RelayConfig::from_template(yaml, "Nope").is_err());
    }

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
