//! SMS through Amazon SNS (which hands them to AWS End User Messaging SMS), from one origination
//! identity, and the account's SMS opt-out list.

use std::collections::HashSet;

use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, SdkError};
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use tracing::instrument;

use crate::domain::{NotForSns, OriginationIdentity, PhoneNumber, redact};
use crate::ports::{OptOuts, OptedOut, SendError, Texter};

/// Sends transactional SMS from one origination identity: the shared number (replies) or the
/// alert sender (alerts, the sender's confirmation).
#[derive(Clone, Debug)]
pub struct SnsTexter {
    client: Client,
    /// The message attribute naming the identity, or why SNS cannot send from it.
    origination: Result<(&'static str, String), NotForSns>,
}

impl SnsTexter {
    pub fn new(client: Client, origination: &OriginationIdentity) -> Self {
        let origination = origination.sns_attribute().map(|(name, value)| (name, value.to_owned()));
        Self { client, origination }
    }

    /// A texter with its own client from the SDK configuration (no network call).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, origination: &OriginationIdentity) -> Self {
        Self::new(Client::new(sdk), origination)
    }

    /// The message attributes of every `Publish`: the SMS type, and the one attribute naming the
    /// origination identity (never both a number and a sender ID: AWS Support advises against it).
    pub fn message_attributes(&self) -> Result<Vec<(&'static str, String)>, SendError> {
        let (name, value) = self.origination.as_ref().map_err(|e| SendError::Permanent(e.to_string()))?;
        Ok(vec![("AWS.SNS.SMS.SMSType", "Transactional".to_owned()), (name, value.clone())])
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError::Permanent(format!("attribute not built: {e}")))
}

/// An SNS failure as a [`SendError`], its text masked: permanent when `permanent` says the
/// service's answer can never change on a retry.
fn send_error<E, R>(err: SdkError<E, R>, permanent: impl FnOnce(&E) -> bool) -> SendError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let permanent = err.as_service_error().is_some_and(permanent);
    let message = redact(&DisplayErrorContext(&err).to_string());
    if permanent { SendError::Permanent(message) } else { SendError::Transient(message) }
}

/// Whether a Publish failure can ever succeed on a retry.
fn classify(err: SdkError<PublishError>) -> SendError {
    send_error(err, |e| {
        matches!(
            e,
            PublishError::InvalidParameterException(_)
                | PublishError::InvalidParameterValueException(_)
                | PublishError::EndpointDisabledException(_)
        )
    })
}

impl Texter for SnsTexter {
    #[instrument(skip_all, fields(to = %to.masked(), chars = body.chars().count()))]
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SendError> {
        let mut publish = self.client.publish().phone_number(to.as_str()).message(body);
        for (name, value) in self.message_attributes()? {
            publish = publish.message_attributes(name, attribute(&value)?);
        }
        let out = publish.send().await.map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }
}

impl OptOuts for SnsTexter {
    /// `ListPhoneNumbersOptedOut`, every page (100 numbers a page).
    #[instrument(skip_all)]
    async fn opted_out(&self) -> Result<OptedOut, SendError> {
        let numbers = self
            .client
            .list_phone_numbers_opted_out()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| send_error(e, |_| false))?;
        Ok(OptedOut::new(numbers.into_iter().collect::<HashSet<_>>()))
    }

    /// `OptInPhoneNumber`. AWS allows it once every 30 days per number; a refusal is permanent.
    #[instrument(skip_all, fields(phone = %phone.masked()))]
    async fn opt_in(&self, phone: &PhoneNumber) -> Result<(), SendError> {
        self.client
            .opt_in_phone_number()
            .phone_number(phone.as_str())
            .send()
            .await
            .map_err(|e| send_error(e, |e| e.is_invalid_parameter_exception()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texter(identity: &str) -> SnsTexter {
        let config = aws_sdk_sns::Config::builder().behavior_version_latest().build();
        SnsTexter::new(Client::from_conf(config), &OriginationIdentity::parse(identity).unwrap())
    }

    #[test]
    fn each_identity_goes_in_its_own_attribute() {
        assert_eq!(
            texter("38123").message_attributes().unwrap(),
            vec![
                ("AWS.SNS.SMS.SMSType", "Transactional".into()),
                ("AWS.MM.SMS.OriginationNumber", "38123".into())
            ]
        );
        assert_eq!(
            texter("+33939000000").message_attributes().unwrap()[1],
            ("AWS.MM.SMS.OriginationNumber", "+33939000000".into())
        );
        assert_eq!(
            texter("BELLERIVE").message_attributes().unwrap()[1],
            ("AWS.SNS.SMS.SenderID", "BELLERIVE".into())
        );
        let pool = texter("pool-a2a21dfe3b5d4506961fca46cb4a8bdf").message_attributes();
        assert!(matches!(pool, Err(SendError::Permanent(e)) if e.contains("phone pool")));
    }
}
