//! The web function on Lambda, behind the HTTP API (and `cargo lambda watch` locally).

use lambda_http::{Error, run};
use vigie::adapters::{DynamoStore, SesMailer};
use vigie::config::Config;
use vigie::pace::{PacedMailer, Rates};
use web::{AppState, SIGNIN_EMAIL_PATIENCE, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    // Only the clients the web function uses (no SNS client at cold start).
    let store = DynamoStore::from_sdk(&sdk, config.tables.clone());
    // Sign-in emails take their slot of the account's email quota (shared with the fan-out),
    // waiting at most a few seconds: past that the link is not sent and the visitor asks again.
    let rate = Rates::shared(&store, &config).email;
    let ses = SesMailer::from_sdk(&sdk, config.sender_email.clone(), config.email_configuration_set.clone());
    let mailer = PacedMailer::new(ses, rate, SIGNIN_EMAIL_PATIENCE);
    run(router(AppState::new((store, mailer), config))).await
}
