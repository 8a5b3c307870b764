//! The use case "a receipt came back": what SES or SNS said became of a message is recorded on
//! its delivery (delivered, failed) and counted on the alert, and what it says of the member's
//! address or number is noted on the member (a hard bounce or a complaint turns their email
//! alerts off; permanent SMS failures are counted and stop SMS alerts at the third).
//!
//! Receipts come at least once and in any order, and one may come before the fan-out has written
//! the settlement that names its message id (SES answers a delivery within seconds; settlements
//! go in batches). The member's consequences do not need the settlement (they are found by the
//! address or number the receipt names) and are applied at once; the delivery's record waits
//! for it through Lambda's retries ([`ReceiptError::NotSettledYet`]), for
//! [`SETTLEMENT_WAIT`] after the message was sent.

use std::time::Duration;

use tracing::{info, warn};

use crate::domain::Consequence;
use crate::model::{MemberNoted, Receipt, ReceiptRecorded, Task};
use crate::ports::{Receipts, StoreError};

/// How long after its sending a message may still be waiting for its settlement. Lambda retries a
/// failed asynchronous invocation after one minute, then two more (about three minutes in all):
/// a receipt still unknown at its last attempt is past this and is let go.
pub const SETTLEMENT_WAIT: Duration = Duration::from_secs(150);

/// What became of a receipt's delivery record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryRecord {
    /// Recorded now (delivered or failed) and counted on the alert.
    Recorded,
    /// Recorded before, or a delivery after a failure: nothing changed.
    AlreadyRecorded,
    /// Nothing to record (a soft bounce, a delay...).
    NothingToRecord,
    /// A message of vigie's that is no neighbour's delivery (a sender's confirmation, a reply).
    NotADelivery,
    /// The delivery was sent again with another message since: this one's receipt is stale.
    Stale,
    /// No delivery was ever settled with this message id (a sign-in email, a message whose
    /// settlement was lost with its process): only the member's consequences were kept.
    UnknownMessage,
}

/// What applying one receipt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub delivery: DeliveryRecord,
    pub members: Vec<MemberNoted>,
}

/// Why a receipt must come again.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The fan-out has not settled this message yet: Lambda's retry will find it.
    #[error("message not settled in the ledger yet")]
    NotSettledYet,
}

impl ReceiptError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ReceiptError::Store(err) => err.is_retryable(),
            ReceiptError::NotSettledYet => true,
        }
    }
}

/// Applies one receipt, `now_ms` being the time it is handled.
pub async fn apply<S: Receipts + Sync>(
    store: &S,
    receipt: &Receipt,
    now_ms: i64,
) -> Result<Applied, ReceiptError> {
    let mut members = Vec::with_capacity(receipt.consequences.len());
    for consequence in &receipt.consequences {
        let noted = match consequence {
            Consequence::StopEmail { address, problem } => store.stop_email(address, problem).await?,
            Consequence::SmsFailure { phone, detail, at } => {
                store.note_sms_failure(phone, &receipt.message_id, detail, *at).await?
            }
        };
        if let MemberNoted::Now { member, stopped } = noted {
            info!(%member, stopped, event = receipt.event, channel = receipt.channel.as_str(), "delivery problem noted on the member");
        }
        members.push(noted);
    }
    let Some(status) = &receipt.status else {
        return Ok(Applied { delivery: DeliveryRecord::NothingToRecord, members });
    };
    let delivery = match store.sent_with(&receipt.message_id).await? {
        Some(Task::Delivery { alert, member, channel }) => {
            match store
                .record_receipt(alert, member, channel, &receipt.message_id, status, receipt.at)
                .await?
            {
                ReceiptRecorded::Now => DeliveryRecord::Recorded,
                ReceiptRecorded::AlreadyBefore => DeliveryRecord::AlreadyRecorded,
                ReceiptRecorded::NotThisMessage => DeliveryRecord::Stale,
            }
        }
        // The all clear's receipts teach about the member (above), and are not counted: the report
        // counts what its fan-out sent.
        Some(Task::FollowUp { .. } | Task::SenderConfirmation { .. } | Task::Reply { .. }) => {
            DeliveryRecord::NotADelivery
        }
        None if now_ms.saturating_sub(receipt.sent_at) < SETTLEMENT_WAIT.as_millis() as i64 => {
            return Err(ReceiptError::NotSettledYet);
        }
        None => {
            warn!(
                event = receipt.event,
                channel = receipt.channel.as_str(),
                "receipt of a message no delivery was settled with: kept for the member only"
            );
            DeliveryRecord::UnknownMessage
        }
    };
    Ok(Applied { delivery, members })
}
