//! The AWS side of the ports: DynamoDB, SNS, SES v2.

pub mod dynamo;
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
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), config.tables.clone()),
            texter: SnsTexter::new(aws_sdk_sns::Client::new(sdk), config.sms_number.clone()),
            mailer: SesMailer::new(aws_sdk_sesv2::Client::new(sdk), config.sender_email.clone()),
        }
    }
}
