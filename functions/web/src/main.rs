//! The web function on Lambda, behind the HTTP API (and `cargo lambda watch` locally).

use lambda_http::{Error, run};
use vigie::adapters::{DynamoStore, SesMailer, SnsTexter};
use vigie::config::Config;
use web::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    // Building the clients makes no network call: cold start reads only the configuration.
    let store = DynamoStore::from_sdk(&sdk, config.tables.clone());
    let ses = SesMailer::from_sdk(&sdk, config.sender_email.clone(), config.email_configuration_set.clone());
    let sns = SnsTexter::from_sdk(&sdk, &config.sms_shared_number.identity());
    run(router(AppState::new(store, ses, sns, config))).await
}
