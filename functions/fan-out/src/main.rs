#![recursion_limit = "256"]

use fan_out::handler::{FanOut, handle_any};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use vigie::adapters::Adapters;
use vigie::config::Config;
use vigie::pace::Rates;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    let adapters = Adapters::new(&sdk, &config);
    // The account's quotas, shared with every other invocation and function through the ledger.
    let rates = Rates::shared(&adapters.store, &config);
    let deps = FanOut::new(adapters.store, adapters.texter, adapters.mailer, config, rates);
    run(service_fn(|event: LambdaEvent<_>| handle_any(&deps, event))).await
}
