//! A function's `DynamoDB` event (SAM's event source mapping on a table's stream): every setting
//! the relay plays locally, read once here.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_norway::Value;

use super::{Flag, Int, Literal, PartError, TemplateError, literal, read_part};

/// `StartingPosition`: where the mapping starts reading shards that exist when it starts (new
/// shards are always read from their start). `AT_TIMESTAMP` is not played locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// `FunctionResponseTypes`: the only one Lambda has for streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum FunctionResponseType {
    ReportBatchItemFailures,
}

/// The `Properties` of a `Type: DynamoDB` event. What the template leaves out is `None` (the
/// relay applies AWS's defaults); a setting not listed here is refused, so the relay never
/// silently plays a mapping it does not understand.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct StreamEvent {
    /// `!GetAtt <Table>.StreamArn`: the relay is given its table.
    pub stream: IgnoredAny,
    #[serde(deserialize_with = "required")]
    pub starting_position: StartingPosition,
    #[serde(default, deserialize_with = "int")]
    pub batch_size: Option<i64>,
    /// Accepted; the relay delivers what it has at each read.
    #[serde(default, deserialize_with = "int")]
    pub maximum_batching_window_in_seconds: Option<i64>,
    #[serde(default, deserialize_with = "literal")]
    pub function_response_types: Option<Vec<FunctionResponseType>>,
    #[serde(default, deserialize_with = "flag")]
    pub bisect_batch_on_function_error: Option<bool>,
    /// `-1` is unlimited.
    #[serde(default, deserialize_with = "int")]
    pub maximum_retry_attempts: Option<i64>,
    /// `-1` is unlimited.
    #[serde(default, deserialize_with = "int")]
    pub maximum_record_age_in_seconds: Option<i64>,
    #[serde(default, deserialize_with = "int")]
    pub parallelization_factor: Option<i64>,
    /// The on-failure destination: played locally by a log line and a file.
    pub destination_config: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "literal")]
    pub filter_criteria: Option<FilterCriteria>,
}

/// `FilterCriteria`: a record is delivered when one of the patterns matches.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct FilterCriteria {
    pub filters: Vec<Filter>,
}

/// One filter: its `Pattern`, a JSON string.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Filter {
    pub pattern: String,
}

fn required<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<T, D::Error> {
    Literal::<T>::deserialize(d).map(|l| l.0)
}

fn int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    literal::<D, Int>(d).map(|i| i.map(|i| i.0))
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    literal::<D, Flag>(d).map(|f| f.map(|f| f.0))
}

/// The `DynamoDB` event of function `function` (`FanOutFunction`): it must have exactly one.
pub fn stream_event(template_yaml: &str, function: &str) -> Result<StreamEvent, TemplateError> {
    let fail = |reason: String| TemplateError::Function { function: function.to_owned(), reason };
    let doc: Value = serde_norway::from_str(template_yaml)?;
    let events = doc
        .get("Resources")
        .and_then(|r| r.get(function))
        .and_then(|f| f.get("Properties"))
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .ok_or_else(|| fail("no such function, or it has no Events".into()))?;
    let mut dynamodb = events.values().filter(|e| e.get("Type").and_then(Value::as_str) == Some("DynamoDB"));
    let props = match (dynamodb.next(), dynamodb.next()) {
        (Some(event), None) => {
            event.get("Properties").ok_or_else(|| fail("its DynamoDB event has no Properties".into()))?
        }
        (None, _) => return Err(fail("no DynamoDB event".into())),
        (Some(_), Some(_)) => return Err(fail("more than one DynamoDB event".into())),
    };
    read_part(props.clone()).map_err(|e| match e {
        PartError::Unsupported(names) => fail(format!(
            "unsupported DynamoDB event settings {names:?}: teach infra/src/template/ and the relay about them or remove them"
        )),
        PartError::Invalid { path, reason } => fail(format!("DynamoDB event {path}: {reason}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(props: &str) -> Result<StreamEvent, TemplateError> {
        let yaml = format!(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 3\n      Events:\n        E:\n          Type: DynamoDB\n          Properties:\n{}",
            props.lines().map(|l| format!("            {l}\n")).collect::<String>()
        );
        stream_event(&yaml, "F")
    }

    const BASE: &str = "Stream: !GetAtt T.StreamArn\nStartingPosition: LATEST\n";

    #[test]
    fn the_fixture_reads() {
        let e = stream_event(include_str!("../../tests/fixtures/template.yaml"), "FanOutFunction").unwrap();
        assert_eq!(e.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(e.function_response_types, Some(vec![FunctionResponseType::ReportBatchItemFailures]));
        assert_eq!(e.filter_criteria.map(|f| f.filters.len()), Some(1));
    }

    #[test]
    fn settings_are_literal_numbers_or_strings_of_them() {
        let e = event(&format!("{BASE}BatchSize: \"7\"\nBisectBatchOnFunctionError: \"True\"\n")).unwrap();
        assert_eq!((e.batch_size, e.bisect_batch_on_function_error), (Some(7), Some(true)));
        assert_eq!(e.parallelization_factor, None);
        let err = event(&format!("{BASE}BatchSize: !Ref Size\n")).unwrap_err().to_string();
        assert!(err.contains("BatchSize") && err.contains("!Ref"), "{err}");
        let err = event(&format!("{BASE}FilterCriteria:\n  Filters:\n    - Pattern: !Sub '{{}}'\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("FilterCriteria") && err.contains("!Sub"), "{err}");
    }

    #[test]
    fn unknown_settings_are_named_and_a_function_may_grow() {
        let err =
            event(&format!("{BASE}TumblingWindowInSeconds: 5\nEnabled: false\n")).unwrap_err().to_string();
        assert!(err.contains("TumblingWindowInSeconds") && err.contains("Enabled"), "{err}");
        // A new property on the function itself is none of this module's business.
        let yaml = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      SnapStart: {ApplyOn: PublishedVersions}\n      Events:\n        E:\n          Type: DynamoDB\n          Properties:\n            Stream: !GetAtt T.StreamArn\n            StartingPosition: TRIM_HORIZON\n";
        assert!(stream_event(yaml, "F").is_ok());
        let err =
            event("Stream: !GetAtt T.StreamArn\nStartingPosition: AT_TIMESTAMP\n").unwrap_err().to_string();
        assert!(err.contains("AT_TIMESTAMP"), "{err}");
    }
}
