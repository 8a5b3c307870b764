//! Retention and the privacy page, against the emulator: an alert and every record of its
//! delivery carry the TTL of the town's retention (`RETENTION_DAYS`), the alerts table purges by
//! it, an alert past it shows as archived, and the privacy page says who answers for the data,
//! for how long it is kept and how to exercise one's rights.

use std::time::Duration;

use axum::http::StatusCode;
use vigie::adapters::now_ms;
use vigie::domain::AlertSource;
use vigie::ports::Feed;
use vigie_tests::web_client::WebClient;
use vigie_tests::{DEMO_SEED, Stack, drain_until_quiet};

const DAY_S: i64 = 86_400;

#[tokio::test]
async fn an_alert_and_its_records_expire_with_the_towns_retention_and_the_privacy_page_says_so() {
    let mut stack = Stack::start_with(|c| {
        c.retention = Duration::from_secs(2 * DAY_S as u64);
        c.data_controller = "la mairie de Bellerive".into();
    })
    .await;
    stack.seed(DEMO_SEED).await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres").await;
    drain_until_quiet(&mut relay).await;
    let page = stack.store().community_alerts(&"les-tilleuls".parse().unwrap(), None, 1).await.unwrap();
    let alert = page.items[0].alert.clone();

    // The alerts table purges by `expires_at`, and the alert carries its own.
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let ttl = dynamodb.describe_time_to_live().table_name(&stack.config.tables.alerts).send().await.unwrap();
    let ttl = ttl.time_to_live_description().and_then(|d| d.attribute_name()).map(str::to_owned);
    assert_eq!(ttl.as_deref(), Some("expires_at"));
    let expires = |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok())
    };
    let pk = aws_sdk_dynamodb::types::AttributeValue::S(format!("ALERT#{}", alert.alert_id));
    let item = dynamodb
        .get_item()
        .table_name(&stack.config.tables.alerts)
        .key("pk", pk.clone())
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ALERT".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(expires(item.item().unwrap()), Some(alert.created_at / 1000 + 2 * DAY_S));
    // So does every record of its delivery in the ledger (deliveries, the sender's confirmation).
    let records = dynamodb
        .query()
        .table_name(&stack.config.tables.ledger)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", pk)
        .send()
        .await
        .unwrap();
    let records = records.items();
    assert!(records.len() >= 5, "{} records", records.len());
    let now_s = now_ms() / 1000;
    for record in records {
        let at = expires(record).expect("every record expires");
        assert!((now_s + 2 * DAY_S - 300..=now_s + 2 * DAY_S + 5).contains(&at), "{record:?}");
    }

    // An alert older than the retention, not purged yet, no longer shows its words.
    let three_days_ago = now_ms() - 3 * DAY_S * 1000;
    stack.record_alert("Karim", "Vieille alerte du marché", (AlertSource::Web, None), three_days_ago).await;
    let mut lucas = WebClient::new(&stack);
    lucas.sign_in(&stack, "Lucas").await;
    let feed = lucas.get("/").await.body;
    assert!(feed.contains("Alerte archivée") && !feed.contains("Vieille alerte du marché"), "{feed}");
    assert!(feed.contains("boîtes aux lettres"), "the recent one shows");

    // The privacy page, open to anyone, linked from every page and from the join form.
    let mut anonymous = WebClient::new(&stack);
    let privacy = anonymous.get("/privacy").await;
    assert_eq!(privacy.status, StatusCode::OK);
    assert!(privacy.body.contains("Responsable du traitement : la mairie de Bellerive."), "{}", privacy.body);
    assert!(privacy.body.contains("sont effacés 2 jours après l&#39;alerte"), "{}", privacy.body);
    assert!(anonymous.get("/signin").await.body.contains(r#"/privacy">Vos données</a>"#));
    assert!(feed.contains(r#"/privacy">Vos données</a>"#));
    let join = anonymous.get("/join").await;
    assert!(join.body.contains("Ce que vigie fait de vos données"), "{}", join.body);
}

/// A community's alerts are counted per month as they are raised: the count stays when the
/// retention purges the alerts themselves (here deleted as the TTL would), and the referent
/// reads it on their page.
#[tokio::test]
async fn a_communitys_monthly_alert_counts_outlive_the_purge_of_its_alerts() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    stack.text(&stack.phone("Karim"), "Un homme regarde dans les boîtes aux lettres").await;
    stack.text(&stack.phone("Jeanne"), "Fumée derrière les garages").await;
    drain_until_quiet(&mut relay).await;
    // Raised twice by the same message: counted once.
    let replay = stack.sms_event(&stack.phone("Gérard"), "Chien perdu près du lavoir", "in-gerard-1");
    for _ in 0..2 {
        stack.invoke_inbound_until_done(replay.clone(), 3).await.expect("applied");
    }
    drain_until_quiet(&mut relay).await;

    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let alerts = dynamodb.scan().table_name(&stack.config.tables.alerts).send().await.unwrap();
    for item in alerts.items() {
        let key = [("pk", item["pk"].clone()), ("sk", item["sk"].clone())];
        dynamodb
            .delete_item()
            .table_name(&stack.config.tables.alerts)
            .set_key(Some(key.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .send()
            .await
            .unwrap();
    }
    let tilleuls = "les-tilleuls".parse().unwrap();
    assert!(stack.store().community_alerts(&tilleuls, None, 10).await.unwrap().items.is_empty(), "purged");

    let months = vigie::ports::AlertStats::alert_months(stack.store(), &tilleuls, 12).await.unwrap();
    assert_eq!((months.len(), months[0].alerts, months[0].sms, months[0].web), (1, 2, 2, 0), "{months:?}");
    let moulin = "le-moulin".parse().unwrap();
    let months = vigie::ports::AlertStats::alert_months(stack.store(), &moulin, 12).await.unwrap();
    assert_eq!(months[0].alerts, 1, "the message applied twice counts once: {months:?}");

    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let admin = marie.get("/admin").await.body;
    let table = &admin[admin.find("id=\"alert-months-table\"").expect("the table")..];
    let row = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split('<').next().unwrap()).collect();
    assert_eq!(cells, ["2", "2", "0", "0"], "{row}");
}
