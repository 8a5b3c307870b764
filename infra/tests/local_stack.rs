//! The local stack against a real moto server (started by `infra::moto::Moto`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeyType, ProjectionType, StreamViewType, TimeToLiveStatus,
};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use infra::moto::Moto;
use infra::relay::{DrainReport, HttpInvoker, InvokeError, Invoker, Relay, RelayConfig};
use infra::template::create_tables;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/template.yaml");

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

#[tokio::test]
async fn create_tables_from_the_fixture() {
    let config = Moto::shared().sdk_config().await;
    let db = aws_sdk_dynamodb::Client::new(&config);
    let prefix = Moto::unique_prefix("tables");
    let tables = create_tables(&db, FIXTURE, &prefix).await.unwrap();
    assert_eq!(tables, vigie::config::Tables::with_prefix(&prefix));
    // Idempotent.
    create_tables(&db, FIXTURE, &prefix).await.unwrap();

    let describe = |name: String| {
        let db = db.clone();
        async move { db.describe_table().table_name(name).send().await.unwrap().table.unwrap() }
    };
    let key = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, KeyType)> {
        schema.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().clone())).collect()
    };

    let members = describe(tables.members.clone()).await;
    assert_eq!(key(members.key_schema()), [("pk".into(), KeyType::Hash), ("sk".into(), KeyType::Range)]);
    assert_eq!(
        members.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let mut gsis: Vec<_> = members
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap().to_owned(),
                key(g.key_schema()),
                g.projection().unwrap().projection_type().cloned(),
            )
        })
        .collect();
    gsis.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        gsis,
        [
            ("ByEmail".into(), vec![("email_key".into(), KeyType::Hash)], Some(ProjectionType::All)),
            ("ByPhone".into(), vec![("phone_key".into(), KeyType::Hash)], Some(ProjectionType::All)),
        ]
    );
    assert!(members.stream_specification().is_none_or(|s| !s.stream_enabled()));

    let alerts = describe(tables.alerts.clone()).await;
    let stream = alerts.stream_specification().unwrap();
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type(), Some(&StreamViewType::NewImage));
    assert!(alerts.latest_stream_arn().is_some());
    let by_community = &alerts.global_secondary_indexes()[0];
    assert_eq!(by_community.index_name(), Some("ByCommunity"));
    assert_eq!(
        key(by_community.key_schema()),
        [("feed_pk".into(), KeyType::Hash), ("feed_sk".into(), KeyType::Range)]
    );

    let ledger = describe(tables.ledger.clone()).await;
    let by_recipient = &ledger.global_secondary_indexes()[0];
    assert_eq!(
        key(by_recipient.key_schema()),
        [("recipient".into(), KeyType::Hash), ("sent_at".into(), KeyType::Range)]
    );
    let projection = by_recipient.projection().unwrap();
    assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
    assert_eq!(projection.non_key_attributes(), ["alert_id"]);
    let sent_at = ledger.attribute_definitions().iter().find(|a| a.attribute_name() == "sent_at").unwrap();
    assert_eq!(sent_at.attribute_type(), &aws_sdk_dynamodb::types::ScalarAttributeType::N);
    let ttl = db.describe_time_to_live().table_name(&tables.ledger).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

async fn put_alert(db: &aws_sdk_dynamodb::Client, table: &str, id: &str, kind: &str) {
    let item = HashMap::from([
        ("pk".to_owned(), s(&format!("ALERT#{id}"))),
        ("sk".to_owned(), s("ALERT")),
        ("kind".to_owned(), s(kind)),
        ("text".to_owned(), s("Rôdeur rue des Lilas")),
        ("created_at".to_owned(), AttributeValue::N("1780000000000".into())),
    ]);
    db.put_item().table_name(table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn the_relay_delivers_alert_inserts_and_retries_from_the_failed_record() {
    let config = Moto::shared().sdk_config().await;
    let db = aws_sdk_dynamodb::Client::new(&config);
    let tables = create_tables(&db, FIXTURE, &Moto::unique_prefix("relay")).await.unwrap();

    put_alert(&db, &tables.alerts, "A1", "alert").await;
    put_alert(&db, &tables.alerts, "A2", "alert").await;
    put_alert(&db, &tables.alerts, "X1", "not-an-alert").await;
    put_alert(&db, &tables.alerts, "A3", "alert").await;
    // A MODIFY of an alert (the fan-out writing its counts): filtered out.
    db.update_item()
        .table_name(&tables.alerts)
        .key("pk", s("ALERT#A1"))
        .key("sk", s("ALERT"))
        .update_expression("SET sms_sent = :n")
        .expression_attribute_values(":n", AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();

    // The function fails A2 the first time it sees it.
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = events.clone();
    let invoker = move |event: Value| {
        let mut seen = seen.lock().unwrap();
        let first_time = seen.is_empty();
        seen.push(event.clone());
        let response = if first_time {
            let a2 = event["Records"][1]["dynamodb"]["SequenceNumber"].clone();
            json!({"batchItemFailures": [{"itemIdentifier": a2}]})
        } else {
            json!({"batchItemFailures": []})
        };
        async move { Ok::<_, InvokeError>(response) }
    };
    let cfg = RelayConfig {
        retry_backoff: Duration::from_millis(1),
        ..RelayConfig::from_template(FIXTURE, "FanOutFunction").unwrap()
    };
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let mut relay = Relay::new(streams, &db, &tables.alerts, invoker, cfg).await.unwrap();

    let report = relay.drain().await.unwrap();
    assert_eq!(
        report,
        DrainReport { records_seen: 5, delivered: 3, invocations: 2, retries: 1, ..DrainReport::default() }
    );
    {
        let events = events.lock().unwrap();
        let pks = |e: &Value| -> Vec<String> {
            e["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(pks(&events[0]), ["ALERT#A1", "ALERT#A2", "ALERT#A3"]);
        // The retry starts at the failed record.
        assert_eq!(pks(&events[1]), ["ALERT#A2", "ALERT#A3"]);
        assert_eq!(events[1]["Records"][0], events[0]["Records"][1]);

        // What the function gets is a Lambda DynamoDB event.
        let parsed: Event = serde_json::from_value(events[0].clone()).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.event_name, "INSERT");
        assert_eq!(record.event_source_arn.as_deref(), Some(relay.stream_arn()));
        assert_eq!(record.event_version.as_deref(), Some("1.1"));
        assert_eq!(record.aws_region, "us-east-1");
        let image = serde_json::to_value(&record.change.new_image).unwrap();
        assert_eq!(image["kind"], json!({"S": "alert"}));
        assert!(record.change.approximate_creation_date_time.timestamp() > 1_700_000_000);
    }

    // Nothing new: nothing delivered.
    assert_eq!(relay.drain().await.unwrap(), DrainReport::default());

    // A new alert: delivered alone, from where the relay stopped.
    put_alert(&db, &tables.alerts, "A4", "alert").await;
    let report = relay.drain().await.unwrap();
    assert_eq!(
        report,
        DrainReport { records_seen: 1, delivered: 1, invocations: 1, ..DrainReport::default() }
    );
    assert_eq!(events.lock().unwrap()[2]["Records"][0]["dynamodb"]["Keys"]["pk"]["S"], "ALERT#A4");
}

#[tokio::test]
async fn records_given_up_on_go_to_the_on_failure_file() {
    let config = Moto::shared().sdk_config().await;
    let db = aws_sdk_dynamodb::Client::new(&config);
    let tables = create_tables(&db, FIXTURE, &Moto::unique_prefix("onfailure")).await.unwrap();
    put_alert(&db, &tables.alerts, "B1", "alert").await;

    let file = std::env::temp_dir().join(format!("vigie-on-failure-{}.jsonl", ulid::Ulid::new()));
    let cfg = RelayConfig {
        retry_backoff: Duration::from_millis(1),
        max_retries: 1,
        on_failure_file: Some(file.clone()),
        ..RelayConfig::default()
    };
    let invoker =
        |_event: Value| async { Err::<Value, _>(InvokeError::function("Boom", "the function panicked")) };
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let mut relay = Relay::new(streams, &db, &tables.alerts, invoker, cfg).await.unwrap();
    let report = relay.drain().await.unwrap();
    assert_eq!(
        report,
        DrainReport {
            records_seen: 1,
            invocations: 2,
            retries: 1,
            sent_to_on_failure: 1,
            ..DrainReport::default()
        }
    );
    let line = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let entry: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(entry["DDBStreamBatchInfo"]["streamArn"], relay.stream_arn());
    assert_eq!(entry["records"][0]["dynamodb"]["Keys"]["pk"]["S"], "ALERT#B1");
}

#[tokio::test]
async fn the_outbox_shows_an_sms_and_a_raw_email() {
    // A private server: this test wants an empty outbox.
    let moto = Moto::start().unwrap();
    let config = moto.sdk_config().await;
    let ses = aws_sdk_sesv2::Client::new(&config);
    infra::stack::create_sender_identity(&ses, "alertes@vigie.example.org").await.unwrap();
    infra::stack::create_sender_identity(&ses, "alertes@vigie.example.org").await.unwrap();
    let identities = ses.list_email_identities().send().await.unwrap();
    let mut names: Vec<_> = identities.email_identities().iter().filter_map(|i| i.identity_name()).collect();
    names.sort();
    assert_eq!(names, ["alertes@vigie.example.org", "vigie.example.org"]);

    let sns = aws_sdk_sns::Client::new(&config);
    sns.publish()
        .phone_number("+33612345678")
        .message("Vigie Lilas: rôdeur rue des Lilas")
        .send()
        .await
        .unwrap();

    let raw = "From: Vigie <alertes@vigie.example.org>\r\n\
               To: Ann <ann@example.com>\r\n\
               Subject: =?utf-8?Q?Alerte_=C3=A0_Lilas_:_r=C3=B4deur?=\r\n =?utf-8?B?IHJ1ZSBkZXMgTGlsYXM=?=\r\n\
               List-Unsubscribe: <https://vigie.example.org/u/tok>,\r\n <mailto:stop@vigie.example.org>\r\n\
               List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
               MIME-Version: 1.0\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\
               Content-Transfer-Encoding: quoted-printable\r\n\r\n\
               R=C3=B4deur rue des Lilas.\r\n";
    ses.send_email()
        .from_email_address("alertes@vigie.example.org")
        .destination(Destination::builder().to_addresses("ann@example.com").build())
        .content(
            EmailContent::builder().raw(RawMessage::builder().data(Blob::new(raw)).build().unwrap()).build(),
        )
        .send()
        .await
        .unwrap();

    let outbox = moto.outbox().await.unwrap();
    assert_eq!(outbox.sms.len(), 1);
    assert_eq!(outbox.sms[0].to, "+33612345678");
    assert_eq!(outbox.sms[0].body, "Vigie Lilas: rôdeur rue des Lilas");
    assert_eq!(outbox.emails.len(), 1);
    let email = &outbox.emails[0];
    assert_eq!(email.to, ["ann@example.com"]);
    assert_eq!(email.from, "alertes@vigie.example.org");
    assert_eq!(email.subject, "Alerte à Lilas : rôdeur rue des Lilas");
    assert_eq!(
        email.list_unsubscribe.as_deref(),
        Some("<https://vigie.example.org/u/tok>, <mailto:stop@vigie.example.org>")
    );
    assert_eq!(email.list_unsubscribe_post.as_deref(), Some("List-Unsubscribe=One-Click"));
    assert_eq!(email.text.as_deref(), Some("Rôdeur rue des Lilas.\r\n"));
    assert_eq!(email.raw, raw);

    moto.reset().await.unwrap();
    assert_eq!(moto.outbox().await.unwrap(), infra::outbox::Outbox::default());
}

/// A one-shot HTTP server answering `status` and `body` to the first request; returns its URL
/// and the request it received.
fn answer_once(status: u16, body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut request_body = vec![0; length];
        reader.read_exact(&mut request_body).unwrap();
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        reader.get_mut().write_all(response.as_bytes()).unwrap();
        format!("{head}{}", String::from_utf8(request_body).unwrap())
    });
    (url, handle)
}

#[tokio::test]
async fn the_http_invoker_speaks_cargo_lambdas_invoke_api() {
    let (url, server) = answer_once(200, r#"{"batchItemFailures":[]}"#);
    let response = HttpInvoker::new(&url, "fan-out").invoke(json!({"Records": []})).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /2015-03-31/functions/fan-out/invocations HTTP/1.1"), "{request}");
    assert!(request.ends_with(r#"{"Records":[]}"#), "{request}");

    let (url, _server) =
        answer_once(500, r#"{"errorType":"fan_out::Error","errorMessage":"DynamoDB is down"}"#);
    let err = HttpInvoker::new(&url, "fan-out").invoke(json!({})).await.unwrap_err();
    assert!(
        matches!(&err, InvokeError::Function { error_type, error_message } if error_type == "fan_out::Error" && error_message == "DynamoDB is down"),
        "{err:?}"
    );

    let (url, _server) = answer_once(404, r#"{"title":"Missing function","detail":"..."}"#);
    let err = HttpInvoker::new(&url, "nope").invoke(json!({})).await.unwrap_err();
    assert!(matches!(err, InvokeError::Http { status: 404, .. }), "{err:?}");

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = HttpInvoker::new(&format!("http://{closed}"), "fan-out").invoke(json!({})).await.unwrap_err();
    assert!(matches!(err, InvokeError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn run_polls_the_stream_until_shutdown() {
    let config = Moto::shared().sdk_config().await;
    let db = aws_sdk_dynamodb::Client::new(&config);
    let tables = create_tables(&db, FIXTURE, &Moto::unique_prefix("run")).await.unwrap();
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let invoker = move |event: Value| {
        got_tx.send(event).unwrap();
        async { Ok::<_, InvokeError>(Value::Null) }
    };
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let cfg = RelayConfig { poll_interval: Duration::from_millis(20), ..RelayConfig::default() };
    let relay = Relay::new(streams, &db, &tables.alerts, invoker, cfg).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The relay runs in its own task (its future is Send).
    let task = tokio::spawn(relay.run(async {
        let _ = stop_rx.await;
    }));

    put_alert(&db, &tables.alerts, "R1", "alert").await;
    let event = tokio::time::timeout(Duration::from_secs(10), got_rx.recv()).await.unwrap().unwrap();
    assert_eq!(event["Records"][0]["dynamodb"]["Keys"]["pk"]["S"], "ALERT#R1");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
}
