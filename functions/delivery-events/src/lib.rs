//! `delivery-events`: what became of the SMS and emails sent. SES's bounces, complaints and
//! deliveries (configuration set → SNS topic) and SNS's SMS delivery status logs (CloudWatch
//! Logs subscription) update each delivery of the ledger, the alert's report, and the members
//! whose address or number no longer receives.

pub mod events;
pub mod handler;
