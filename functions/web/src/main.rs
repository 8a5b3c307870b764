//! The web function on Lambda, behind the HTTP API (and `cargo lambda watch` locally).

use lambda_http::{Error, run};
use vigie::adapters::Adapters;
use vigie::config::Config;
use web::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let adapters = Adapters::new(&sdk, &config);
    run(router(AppState::new(adapters, config))).await
}
