#![recursion_limit = "256"]

use delivery_events::handler::{DeliveryEvents, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use vigie::adapters::DynamoStore;
use vigie::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    // The store only: this function sends nothing.
    let deps = DeliveryEvents::new(DynamoStore::from_sdk(&sdk, config.tables.clone()));
    run(service_fn(|event: LambdaEvent<_>| handle(&deps, event))).await
}
