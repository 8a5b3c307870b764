//! What the IAM gateway costs a call: DynamoDB `PutItem` + `GetItem` pairs straight to the
//! emulator and through the gateway (IAM check with the real template's fan-out role),
//! interleaved in rounds so that the machine's load weighs on both alike. Not part of
//! `make test`; its figures are in docs/iam.md:
//!
//!     cargo test -p infra --test gateway_overhead -- --ignored --nocapture

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::AttributeValue;
use infra::gateway::iam::IamCheck;
use infra::gateway::roles::Environment;
use infra::gateway::{Gateway, Rule};
use infra::moto::Moto;

const ROUNDS: usize = 8;
const PAIRS: usize = 40;

async fn pairs(client: &aws_sdk_dynamodb::Client, table: &str, round: usize) -> Duration {
    let started = Instant::now();
    for i in 0..PAIRS {
        let pk = AttributeValue::S(format!("OVERHEAD#{round}-{i}"));
        let sk = AttributeValue::S("X".into());
        client
            .put_item()
            .table_name(table)
            .item("pk", pk.clone())
            .item("sk", sk.clone())
            .send()
            .await
            .unwrap();
        client.get_item().table_name(table).key("pk", pk).key("sk", sk).send().await.unwrap();
    }
    started.elapsed()
}

#[tokio::test]
#[ignore = "a measurement, not a test: see docs/iam.md"]
async fn what_the_gateway_adds_to_a_call() {
    let moto = Moto::start().unwrap();
    let sdk = moto.sdk_config().await;
    let yaml = std::fs::read_to_string(infra::template::workspace_template()).unwrap();
    let tables =
        infra::template::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &yaml, "vigie").await.unwrap();
    let mut env = Environment::local("vigie");
    env.parameters.insert("SenderEmail".into(), "alertes@vigie.example.org".into());
    let check =
        Arc::new(IamCheck::from_template(&infra::template::workspace_template(), &env, true).unwrap());
    let gateway = Gateway::start(&moto.endpoint, vec![Arc::clone(&check) as Arc<dyn Rule>]).await.unwrap();
    let direct = aws_sdk_dynamodb::Client::new(&sdk);
    let fan_out = sdk
        .to_builder()
        .endpoint_url(&gateway.endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "fan-out", "x", None, None, "t",
        )))
        .build();
    let checked = aws_sdk_dynamodb::Client::new(&fan_out);
    // Warm both paths (connections, the emulator's first call).
    pairs(&direct, &tables.ledger, 100).await;
    pairs(&checked, &tables.ledger, 101).await;
    let (mut straight, mut through) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        straight += pairs(&direct, &tables.ledger, 2 * round).await;
        through += pairs(&checked, &tables.ledger, 2 * round + 1).await;
    }
    assert!(check.denials().is_empty(), "{:?}", check.denials());
    let calls = (ROUNDS * PAIRS * 2) as f64;
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / calls;
    println!(
        "{} calls each way: straight {:.2} ms a call, through the gateway {:.2} ms a call (+{:.2} ms, x{:.2})",
        calls,
        per(straight),
        per(through),
        per(through) - per(straight),
        through.as_secs_f64() / straight.as_secs_f64()
    );
}

#[test]
#[ignore = "a measurement"]
fn what_judging_a_call_costs() {
    let mut env = Environment::local("vigie");
    env.parameters.insert("SenderEmail".into(), "alertes@vigie.example.org".into());
    let check = IamCheck::from_template(&infra::template::workspace_template(), &env, true).unwrap();
    let mut headers = hyper::header::HeaderMap::new();
    headers.insert("x-amz-target", "DynamoDB_20120810.GetItem".parse().unwrap());
    headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=fan-out/20261201/eu-west-3/dynamodb/aws4_request, SignedHeaders=host, Signature=x".parse().unwrap());
    let body = r#"{"TableName":"vigie-LedgerTable","Key":{"pk":{"S":"ALERT#1"},"sk":{"S":"D#2#sms"}},"ConsistentRead":true}"#;
    let started = Instant::now();
    let n = 10_000;
    for _ in 0..n {
        let call = infra::gateway::Call::new(hyper::Method::POST, "/".into(), headers.clone(), body.into());
        assert!(check.judge(&call).is_empty());
    }
    println!("judge: {:.1} µs a call", started.elapsed().as_secs_f64() * 1e6 / n as f64);
}
