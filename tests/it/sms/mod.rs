//! Texting the shared number: alerts, replies and keywords, origination identities and opt-outs,
//! bad input, delivery receipts.

mod abuse;
mod bad_input;
mod pumping;
mod quiet_hours;
mod receipts;
mod sms_identity;
mod sms_path;
