//! The web function on Lambda, behind the HTTP API (and `cargo lambda watch` locally).

use lambda_http::{Error, run};
use vigie::adapters::{DynamoStore, SesMailer};
use vigie::config::Config;
use web::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    // Only the clients the web function uses (no SNS client at cold start).
    let store = DynamoStore::from_sdk(&sdk, config.tables.clone());
    let ses = SesMailer::from_sdk(&sdk, config.sender_email.clone(), config.email_configuration_set.clone());
    run(router(AppState::new(store, ses, config))).await
}
