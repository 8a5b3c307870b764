//! SDK configuration for the local emulator, the SES sender identity and configuration set.

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;

/// The region the local stack uses (moto serves every region on one endpoint).
pub const LOCAL_REGION: &str = "eu-west-3";

/// The default endpoint of the local emulator (`VIGIE_AWS_ENDPOINT`).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// SDK configuration for the emulator at `endpoint`: dummy credentials `test`/`test` (without
/// them every call would first try instance metadata), region `eu-west-3`, every service at
/// `endpoint`.
pub async fn aws_config(endpoint: &str) -> SdkConfig {
    vigie::adapters::sdk::loader()
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "vigie-local"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An SES request that failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {identity} failed: {message}")]
pub struct IdentityError {
    pub operation: &'static str,
    pub identity: String,
    pub message: String,
}

/// Creates the SES v2 identities needed to send from `email`: the address itself and its
/// domain. Idempotent: an identity that exists already is left alone.
pub async fn create_sender_identity(ses: &aws_sdk_sesv2::Client, email: &str) -> Result<(), IdentityError> {
    let domain = email.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty());
    for identity in std::iter::once(email).chain(domain) {
        create_identity(ses, identity).await?;
    }
    Ok(())
}

/// The error of SES `operation` on `identity` (an identity, a configuration set).
fn ses_error(
    operation: &'static str,
    identity: &str,
) -> impl FnOnce(&dyn std::error::Error) -> IdentityError {
    move |e| IdentityError {
        operation,
        identity: identity.to_owned(),
        message: DisplayErrorContext(e).to_string(),
    }
}

async fn create_identity(ses: &aws_sdk_sesv2::Client, identity: &str) -> Result<(), IdentityError> {
    let error = |operation| ses_error(operation, identity);
    // moto accepts a second CreateEmailIdentity for the same identity (and lists it twice):
    // look first, so running `setup` twice leaves one of each.
    match ses.get_email_identity().email_identity(identity).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {}
        Err(e) => return Err(error("GetEmailIdentity")(&e)),
    }
    match ses.create_email_identity().email_identity(identity).send().await {
        Ok(_) => {
            tracing::info!(identity, "SES identity created");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(error("CreateEmailIdentity")(&e)),
    }
}

/// Creates the SES v2 configuration set `name` that every email is sent with (AWS refuses a send
/// naming a set that does not exist; the emulator does not check, so the local stack creates
/// what the sends name). Idempotent. The emulator has no event destinations
/// (CreateConfigurationSetEventDestination answers 404): receipts are fed by `vigie-local
/// receipt` instead.
pub async fn create_configuration_set(ses: &aws_sdk_sesv2::Client, name: &str) -> Result<(), IdentityError> {
    let error = |operation| ses_error(operation, name);
    // Listed rather than fetched: the emulator's GetConfigurationSet answers a `SendingEnabled`
    // the SDK cannot read.
    let listed =
        ses.list_configuration_sets().send().await.map_err(|e| error("ListConfigurationSets")(&e))?;
    if listed.configuration_sets().iter().any(|set| set == name) {
        return Ok(());
    }
    match ses.create_configuration_set().configuration_set_name(name).send().await {
        Ok(_) => {
            tracing::info!(name, "SES configuration set created");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(error("CreateConfigurationSet")(&e)),
    }
}
