#![recursion_limit = "256"]

use fan_out::handler::{FanOut, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use vigie::adapters::Adapters;
use vigie::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = vigie::adapters::sdk::load().await;
    let adapters = Adapters::new(&sdk, &config);
    let deps = FanOut::new(adapters.store, adapters.texter, adapters.mailer, config);
    run(service_fn(|event: LambdaEvent<_>| handle(&deps, event))).await
}
