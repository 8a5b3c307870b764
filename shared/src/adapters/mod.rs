//! The AWS side of the ports: DynamoDB, SNS, SES v2.

pub mod dynamo;
pub mod sdk;
pub mod ses;
pub mod sns;

pub use dynamo::{DynamoStore, now_ms};
pub use ses::SesMailer;
pub use sns::SnsTexter;

use crate::config::Config;

/// Every adapter a function may need, built once at cold start from one SDK configuration.
/// Building clients makes no network call.
#[derive(Clone, Debug)]
pub struct Adapters {
    pub store: DynamoStore,
    /// Alerts and the sender's confirmation: from the alert sender identity.
    pub texter: SnsTexter,
    /// Replies to an inbound message: from the shared number, so residents can answer them.
    pub replier: SnsTexter,
    pub mailer: SesMailer,
}

impl Adapters {
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let sns = aws_sdk_sns::Client::new(sdk);
        Self {
            store: DynamoStore::from_sdk(sdk, config.tables.clone()).with_retention(config.retention),
            texter: SnsTexter::new(sns.clone(), &config.sms_alert_sender),
            replier: SnsTexter::new(sns, &config.sms_shared_number.identity()),
            mailer: SesMailer::from_sdk(
                sdk,
                config.sender_email.clone(),
                config.email_configuration_set.clone(),
            ),
        }
    }
}
