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
    pub texter: SnsTexter,
    pub mailer: SesMailer,
}

impl Adapters {
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        Self {
            store: DynamoStore::from_sdk(sdk, config.tables.clone()),
            texter: SnsTexter::from_sdk(sdk, config.sms_number.clone()),
            mailer: SesMailer::from_sdk(
                sdk,
                config.sender_email.clone(),
                config.email_configuration_set.clone(),
            ),
        }
    }
}
