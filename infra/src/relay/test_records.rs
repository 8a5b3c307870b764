//! Stream records for the relay's tests.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::primitives::DateTime;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, Record, StreamRecord, StreamViewType};

pub(super) const ARN: &str =
    "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-AlertsTable/stream/2026-01-01T00:00:00.000";

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn alert_record(seq: u32, kind: &str, event: OperationType) -> Record {
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
