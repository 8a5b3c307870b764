#![recursion_limit = "256"]

use inbound_sms::handler::{Inbound, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use vigie::adapters::{DynamoStore, SnsTexter};
use vigie::config::Config;
use vigie::pace::Rates;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    // Only the clients this function uses: no SES client at cold start.
    let store = DynamoStore::from_sdk(&sdk, config.tables.clone());
    // Every SMS it sends is a reply: from the shared number, which residents can answer; its
    // quota is shared with every other process through the ledger.
    let texter = SnsTexter::from_sdk(&sdk, &config.sms_shared_number.identity());
    let sms_rate = Rates::replies(&store, &config);
    let deps = Inbound { store, texter, config, sms_rate };
    run(service_fn(|event: LambdaEvent<_>| handle(&deps, event))).await
}
