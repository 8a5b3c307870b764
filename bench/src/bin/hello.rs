//! The reference for cold starts: a hello-world `lambda_runtime` function, with the same
//! runtime, features, tracing set-up and release profile as vigie's functions, and nothing else.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(json!({ "message": "hello", "echo": event.payload }))
    }))
    .await
}
