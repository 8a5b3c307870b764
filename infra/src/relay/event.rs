//! The Lambda event: stream records in the JSON Lambda delivers to a function.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine as _;
use serde_json::{Map, Value, json};

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

pub(super) fn sequence_number(record: &Value) -> &str {
    record.pointer("/dynamodb/SequenceNumber").and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::dynamodb::Event;
    use aws_sdk_dynamodbstreams::primitives::Blob;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord};

    use super::*;
    use crate::relay::test_records::{ARN, alert_record, s};

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
}
