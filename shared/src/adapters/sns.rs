//! SMS through Amazon SNS, from the one shared origination number.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, SdkError};
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use tracing::instrument;

use crate::domain::{PhoneNumber, redact};
use crate::ports::{SendError, Texter};

/// Sends transactional SMS from the shared number.
#[derive(Clone, Debug)]
pub struct SnsTexter {
    client: Client,
    origination: PhoneNumber,
}

impl SnsTexter {
    pub fn new(client: Client, origination: PhoneNumber) -> Self {
        Self { client, origination }
    }

    /// A texter with its own client from the SDK configuration (no network call).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, origination: PhoneNumber) -> Self {
        Self::new(Client::new(sdk), origination)
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError::Permanent(format!("attribute not built: {e}")))
}

/// Whether a Publish failure can ever succeed on a retry.
fn classify(err: SdkError<PublishError>) -> SendError {
    let permanent = err.as_service_error().is_some_and(|e| {
        matches!(
            e,
            PublishError::InvalidParameterException(_)
                | PublishError::InvalidParameterValueException(_)
                | PublishError::EndpointDisabledException(_)
        )
    });
    let message = redact(&DisplayErrorContext(&err).to_string());
    if permanent { SendError::Permanent(message) } else { SendError::Transient(message) }
}

impl Texter for SnsTexter {
    #[instrument(skip_all, fields(to = %to.masked(), chars = body.chars().count()))]
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SendError> {
        let out = self
            .client
            .publish()
            .phone_number(to.as_str())
            .message(body)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?)
            .message_attributes("AWS.MM.SMS.OriginationNumber", attribute(self.origination.as_str())?)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }
}
