//! The SDK configuration every function starts with: built without a network call, and cheaply,
//! because it is most of a cold start ("Init Duration", billed and felt by the first resident
//! whose alert wakes a function up).
//!
//! Two costs of `aws_config::load_defaults` are avoided (measured in `docs/benchmarks.md`):
//! - its HTTPS client trusts every root certificate of the system: about 290 are read from
//!   `/etc/ssl` and parsed at start, and again for each client. AWS endpoints (DynamoDB, SNS,
//!   SES, STS) present certificates of Amazon Trust Services, so the functions trust only those
//!   roots, compiled in (`aws-roots.pem`). `AWS_CA_BUNDLE`, as in the other AWS SDKs, adds a
//!   PEM bundle of one's own (a TLS-inspecting proxy, say).
//! - the default credential and region chains: on Lambda the role's credentials and the region
//!   are always in the environment, so they are read from there when present; the default
//!   chains stay the fallback (a developer's profile, instance metadata).
//!
//! The SDK also builds, for each client it creates, an HTTP connector only to throw it away
//! (to load the system's roots early); [`Deferred`] skips that: the connector is built once, at
//! the first request, as it would be anyway.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, as PEM.
pub const AWS_ROOTS_PEM: &str = include_str!("aws-roots.pem");

/// The SDK configuration of a function, from its environment (no network call).
pub async fn load() -> SdkConfig {
    from_env(loader(), |name| std::env::var(name).ok()).load().await
}

/// A loader with vigie's HTTPS client and nothing else set: for tools and tests that set the
/// region, credentials and endpoint themselves.
pub fn loader() -> ConfigLoader {
    let extra = std::env::var_os("AWS_CA_BUNDLE").and_then(|path| {
        match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|pem| certificates(&pem).map(|_| pem))
        {
            Ok(pem) => Some(pem),
            Err(error) => {
                let path = path.to_string_lossy();
                tracing::warn!(%path, %error, "AWS_CA_BUNDLE not used: AWS roots only");
                None
            }
        }
    });
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(extra))
}

/// The certificates of a PEM bundle; an error if one is malformed or there is none (the SDK
/// would panic on it at the first connection).
fn certificates(pem: &[u8]) -> Result<usize, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs =
        CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if certs.is_empty() { Err("no certificate in the bundle".into()) } else { Ok(certs.len()) }
}

/// Region and credentials from the environment Lambda gives every function, when there.
fn from_env(mut loader: ConfigLoader, var: impl Fn(&str) -> Option<String>) -> ConfigLoader {
    if let Some(region) = var("AWS_REGION").filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region));
    }
    let has = |name| var(name).is_some_and(|v| !v.is_empty());
    if has("AWS_ACCESS_KEY_ID") && has("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader
}

/// The SDK's own hyper + rustls client, trusting the AWS roots (and `extra_pem` if given).
fn https_client(extra_pem: Option<Vec<u8>>) -> SharedHttpClient {
    let mut roots = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS_PEM);
    if let Some(pem) = extra_pem {
        roots = roots.with_pem_certificate(pem);
    }
    let client = match TlsContext::builder().with_trust_store(roots).build() {
        Ok(context) => aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
        Err(error) => {
            tracing::warn!(%error, "TLS context not built: the SDK's default client");
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::rustls(CryptoMode::AwsLc))
                .build_https()
        }
    };
    SharedHttpClient::new(Deferred(client))
}

/// An HTTP client whose connector is built at the first request only.
#[derive(Debug)]
struct Deferred(SharedHttpClient);

impl HttpClient for Deferred {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_five_aws_roots() {
        assert_eq!(certificates(AWS_ROOTS_PEM.as_bytes()), Ok(5));
    }

    #[test]
    fn a_malformed_extra_bundle_is_refused_rather_than_panicking_later() {
        assert!(certificates(b"").is_err());
        assert!(
            certificates(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").is_err()
        );
    }

    #[tokio::test]
    async fn region_and_credentials_come_from_lambda_s_environment() {
        let env = |name: &str| {
            match name {
                "AWS_REGION" => Some("eu-west-3"),
                "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE"),
                "AWS_SECRET_ACCESS_KEY" => Some("secret"),
                _ => None,
            }
            .map(String::from)
        };
        let sdk = from_env(loader(), env).load().await;
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert!(sdk.credentials_provider().is_some());
        assert!(sdk.http_client().is_some());
    }
}
