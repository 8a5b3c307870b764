//! The event source mapping's settings, as the template gives them.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{FilterPattern, RelayError};
pub use crate::template::StartingPosition;
use crate::template::{FunctionResponseType, stream_event};

/// The event source mapping's settings, read from a template by [`RelayConfig::from_template`];
/// [`Default`] is the fan-out's in the workspace's `template.yaml`.
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

/// The workspace's `template.yaml`, embedded: [`RelayConfig::default`] is its fan-out event.
const WORKSPACE_TEMPLATE: &str = include_str!("../../../template.yaml");
/// Local settings, not the template's: how often [`Relay::run`] reads the stream, and the first
/// retry's wait.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

impl Default for RelayConfig {
    /// The fan-out's settings, read from the workspace's `template.yaml` (embedded at build
    /// time), so that the relay's defaults and the template cannot say different things.
    fn default() -> Self {
        Self::from_template(WORKSPACE_TEMPLATE, "FanOutFunction")
            .expect("template.yaml's fan-out event reads (template::tests checks it)")
    }
}

impl RelayConfig {
    /// The settings of the `DynamoDB` event of function `function_logical_id`
    /// (`FanOutFunction`) in the template; what the template leaves out keeps the AWS default
    /// (batch 100, parallelization 1, infinite retries and age, no bisect, no filter). `poll_interval`,
    /// `retry_backoff` and `on_failure_file` are local: 100 ms, 100 ms and none.
    pub fn from_template(template_yaml: &str, function_logical_id: &str) -> Result<Self, RelayError> {
        let event = stream_event(template_yaml, function_logical_id)
            .map_err(|e| RelayError::Config(e.to_string()))?;
        let filters = event
            .filter_criteria
            .map(|c| {
                c.filters.iter().map(|f| FilterPattern::parse(&f.pattern)).collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            batch_size: event.batch_size.map_or(100, |n| n.max(1) as usize),
            parallelization_factor: event.parallelization_factor.map_or(1, |n| n.clamp(1, 10) as usize),
            max_retries: match event.maximum_retry_attempts {
                None | Some(-1) => u32::MAX,
                Some(n) => n.max(0) as u32,
            },
            bisect_on_function_error: event.bisect_batch_on_function_error.unwrap_or(false),
            max_record_age: match event.maximum_record_age_in_seconds {
                None | Some(-1) => None,
                Some(n) => Some(Duration::from_secs(n.max(0) as u64)),
            },
            report_batch_item_failures: event
                .function_response_types
                .is_some_and(|types| types.contains(&FunctionResponseType::ReportBatchItemFailures)),
            starting_position: event.starting_position,
            filters,
            poll_interval: POLL_INTERVAL,
            retry_backoff: RETRY_BACKOFF,
            on_failure_file: None,
        })
    }

    pub(super) fn backoff(&self, retry: u32) -> Duration {
        self.retry_backoff.saturating_mul(1 << retry.min(16)).min(Duration::from_secs(5))
    }

    pub(super) fn wants(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(record))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::OperationType;

    use super::*;
    use crate::relay::record_json;
    use crate::relay::test_records::{ARN, alert_record};

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
        let yaml = include_str!("../../tests/fixtures/template.yaml");
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
}
