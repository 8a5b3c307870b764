//! What local tooling reads from `template.yaml`: the DynamoDB tables (turned into `CreateTable`
//! requests, [`table`]) and the fan-out's stream event (the relay's settings, [`stream_event`]).
//!
//! `template.yaml` is the single source of truth for the tables: the local stack and the tests
//! create theirs from it, so the cloud and the laptop cannot drift. The parts of the template
//! whose every field we read are serde-derived structs with `deny_unknown_fields`: a table's
//! resource and properties, its indexes, stream and TTL, and the settings of a function's
//! `DynamoDB` event. A property is either read, accepted and ignored because it means nothing
//! locally (backups, encryption, tags...), or refused with an error naming it: a template change
//! the tooling does not understand fails loudly instead of being dropped. The rest of the
//! template (functions, their other properties, other resources) is read loosely, so a new
//! property on a function changes nothing here.
//!
//! The template uses CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, `!If`...);
//! `serde_norway` keeps them as tagged values, and its deserializers look through tags (a
//! `String` field would read `!Ref Foo` as `"Foo"`). Where we read a value it must be literal:
//! [`Literal`] refuses an intrinsic function there, short or long form (`{Ref: x}`,
//! `{Fn::If: ...}`).

pub mod stream_event;
pub mod table;

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_norway::Value;

pub use stream_event::{FunctionResponseType, StartingPosition, StreamEvent, stream_event};
pub use table::{
    AttributeKind, AttributeSpec, BillingSpec, IndexSpec, KeySpec, ProjectionSpec, StreamView, TABLE_TYPE,
    TableSpec, Throughput, create_table, create_tables, table_specs, vigie_table_specs,
};

/// Why the template could not be read, or its tables created.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template.yaml has no Resources mapping")]
    NoResources,
    #[error(
        "table {table}: unsupported {what} {names:?}: teach infra/src/template/ about them or remove them"
    )]
    Unsupported { table: String, what: &'static str, names: Vec<String> },
    #[error("table {table}: {path}: {reason}")]
    Invalid { table: String, path: String, reason: String },
    #[error("template.yaml declares no {0} table ({TABLE_TYPE} resource)")]
    MissingTable(&'static str),
    #[error("function {function}: {reason}")]
    Function { function: String, reason: String },
    #[error("{operation} on table {table} failed: {message}")]
    Sdk { table: String, operation: &'static str, message: String },
}

/// The workspace's `template.yaml` (next to the root `Cargo.toml`).
pub fn workspace_template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("template.yaml")
}

/// Reads a template file (a small helper that names the path in its error).
pub fn read_template(path: &std::path::Path) -> Result<String, TemplateError> {
    std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.to_owned(), source })
}

/// The `Timeout` of function `logical_id` (its own, or the template's `Globals`), as Lambda
/// gives each invocation of it: the deadline of the local invocations.
pub fn function_timeout(template_yaml: &str, logical_id: &str) -> Option<std::time::Duration> {
    let doc: Value = serde_norway::from_str(template_yaml).ok()?;
    let own = doc.get("Resources")?.get(logical_id)?.get("Properties").and_then(|p| p.get("Timeout"));
    let global = doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get("Timeout"));
    own.or(global).and_then(Value::as_u64).map(std::time::Duration::from_secs)
}

// ------------------------------------------------------------------ reading a typed part

/// Why a typed part of the template could not be read: unknown keys (all of them, named), or
/// a value that is not what the struct says (with its path).
enum PartError {
    Unsupported(Vec<String>),
    Invalid { path: String, reason: String },
}

/// Reads `value` as `T`, a struct with `deny_unknown_fields`: first every key of the mapping
/// that `T` does not know is named (serde alone stops at the first), then the fields are read,
/// an error carrying its path (`GlobalSecondaryIndexes[0].Projection`).
fn read_part<T: DeserializeOwned>(value: Value) -> Result<T, PartError> {
    if let Value::Mapping(map) = &value {
        let known = fields_of::<T>();
        let unknown: Vec<String> = map
            .keys()
            .map(|k| k.as_str().map(str::to_owned).unwrap_or_else(|| format!("{k:?}")))
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(PartError::Unsupported(unknown));
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        // A `Literal` names the path inside it in its message: `[0].AttributeType: ...`.
        match reason.split_once(": ").filter(|(inner, _)| inner.starts_with('[') || inner.starts_with('.')) {
            Some((inner, rest)) if path != "." => {
                PartError::Invalid { path: format!("{path}{inner}"), reason: rest.to_owned() }
            }
            _ => PartError::Invalid { path, reason },
        }
    })
}

/// The field names a derived `Deserialize` struct accepts: what `deny_unknown_fields` checks
/// against, asked of the derive itself so the list is written once, in the struct.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields(&'static [&'static str]);
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields = Fields(&[]);
    let _ = T::deserialize(&mut fields);
    fields.0
}

/// A value that must be written literally in the template: an intrinsic function anywhere in it
/// (`!Ref x`, `{Fn::If: ...}`) is an error, where `serde_norway` would otherwise read through
/// the tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Literal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Some((path, name)) = intrinsic(&value, String::new()) {
            let at = if path.is_empty() { String::new() } else { format!("{path}: ") };
            return Err(de::Error::custom(format!(
                "{at}intrinsic function {name} is not supported here: use a literal value"
            )));
        }
        serde_path_to_error::deserialize(value).map(Literal).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                de::Error::custom(inner)
            } else {
                let path = if path.starts_with('[') { path } else { format!(".{path}") };
                de::Error::custom(format!("{path}: {inner}"))
            }
        })
    }
}

/// The first intrinsic function in `value`, with its path: a tagged value (short form), or a
/// mapping whose only key is `Ref`, `Condition` or `Fn::...` (long form).
fn intrinsic(value: &Value, path: String) -> Option<(String, String)> {
    match value {
        Value::Tagged(tagged) => Some((path, tagged.tag.to_string())),
        Value::Mapping(map) => {
            if map.len() == 1
                && let Some(key) = map.keys().next().and_then(Value::as_str)
                && (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
            {
                return Some((path, key.to_owned()));
            }
            map.iter().find_map(|(k, v)| intrinsic(v, format!("{path}.{}", k.as_str().unwrap_or("?"))))
        }
        Value::Sequence(items) => {
            items.iter().enumerate().find_map(|(i, v)| intrinsic(v, format!("{path}[{i}]")))
        }
        _ => None,
    }
}

/// An integer, written as a number or as a string of digits (CloudFormation takes both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v).map(Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.parse().map(Int).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A boolean, written as `true`/`false` or as a string of them (any case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(Flag(true)),
                    "false" => Ok(Flag(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `Option<Literal<T>>` for `#[serde(default, deserialize_with = "literal")]` fields that are
/// plain `Option<T>`.
fn literal<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    Literal::<T>::deserialize(deserializer).map(|l| Some(l.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The broken templates both checks must refuse: `infra/tests/fixtures/broken.json`, each a
    /// single replacement in `template.yaml`, read here and by `infra/test_check_template.py`.
    #[derive(Deserialize)]
    struct Broken {
        name: String,
        old: String,
        new: String,
        rust: String,
    }

    #[test]
    fn every_broken_fixture_is_refused_with_its_reason() {
        let Ok(real) = std::fs::read_to_string(workspace_template()) else { return };
        // The unbroken template reads.
        vigie_table_specs(&real).unwrap();
        stream_event(&real, "FanOutFunction").unwrap();
        let cases: Vec<Broken> =
            serde_json::from_str(include_str!("../../tests/fixtures/broken.json")).unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            assert_eq!(real.matches(&case.old).count(), 1, "{}: expects exactly one match", case.name);
            let broken = real.replace(&case.old, &case.new);
            let errors: Vec<String> = [
                vigie_table_specs(&broken).err().map(|e| e.to_string()),
                stream_event(&broken, "FanOutFunction").err().map(|e| e.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            assert!(!errors.is_empty(), "{}: the broken template was read", case.name);
            assert!(errors.iter().any(|e| e.contains(&case.rust)), "{}: {errors:?}", case.name);
        }
    }

    #[test]
    fn function_timeouts_are_their_own_or_the_globals() {
        if let Ok(real) = std::fs::read_to_string(workspace_template()) {
            assert_eq!(function_timeout(&real, "FanOutFunction"), Some(std::time::Duration::from_secs(900)));
            assert_eq!(
                function_timeout(&real, "InboundSmsFunction"),
                Some(std::time::Duration::from_secs(30))
            );
            assert_eq!(function_timeout(&real, "Nope"), None);
        }
    }
}
