//! `inbound-sms`: an SMS texted to the shared number, delivered by SNS, becomes an alert in the
//! sender's community, a settings change (STOP/START), a help text or an acknowledgement.

pub mod handler;
