//! `FilterCriteria` patterns: which records the event source mapping delivers.

use serde_json::Value;

use super::RelayError;

/// One `FilterCriteria` pattern, the subset of Lambda's event-filtering syntax the relay
/// understands: nested objects, and at the leaves lists of literal values (strings, numbers,
/// booleans, null), one of which must equal the record's value. Operators (`prefix`,
/// `anything-but`, `exists`, `numeric`...) are refused when the pattern is parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterPattern(Value);

impl FilterPattern {
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
