//! Email through Amazon SES v2, as raw MIME (so the List-Unsubscribe headers go through).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use tracing::instrument;

use crate::domain::{Email, redact};
use crate::ports::{Mailer, SendError};

/// Sends raw emails from the service's verified identity, with the service's configuration set
/// (whose event destination sends the bounces, complaints and deliveries back to vigie).
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: Email,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: Email, configuration_set: Option<String>) -> Self {
        Self { client, from, configuration_set }
    }

    /// A mailer with its own client from the SDK configuration (no network call).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, from: Email, configuration_set: Option<String>) -> Self {
        Self::new(Client::new(sdk), from, configuration_set)
    }
}

/// Whether a SendEmail failure can ever succeed on a retry.
fn classify(err: SdkError<SendEmailError>) -> SendError {
    let permanent = err.as_service_error().is_some_and(|e| {
        matches!(e, SendEmailError::BadRequestException(_) | SendEmailError::MessageRejected(_))
    });
    let message = redact(&DisplayErrorContext(&err).to_string());
    if permanent { SendError::Permanent(message) } else { SendError::Transient(message) }
}

impl Mailer for SesMailer {
    #[instrument(skip_all, fields(to = %to.masked(), bytes = mime.len()))]
    async fn send_raw(&self, to: &Email, mime: Vec<u8>) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| SendError::Permanent(format!("raw message not built: {e}")))?;
        let out = self
            .client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }
}
