//! vigie's local stack: everything needed to run vigie on a laptop with no AWS account, the AWS
//! APIs served by moto and the functions by `cargo lambda watch`.
//!
//! - [`template`]: what local tooling reads of `template.yaml`, as typed structs: the DynamoDB
//!   tables (created as `<prefix>-<LogicalId>`) and the fan-out's stream event (the relay's settings);
//! - [`stack`]: SDK configuration for the emulator, the SES sender identity;
//! - [`relay`]: the AlertsTable stream → fan-out relay (Lambda's event source mapping, played
//!   locally, since moto never invokes a function from a stream);
//! - [`sms_event`]: the SNS event of an inbound SMS, as Lambda receives it;
//! - [`receipt_event`]: the events of SES's bounces, complaints and deliveries and of SNS's SMS
//!   delivery logs, as Lambda receives them;
//! - [`outbox`]: the SMS and emails the emulator "sent";
//! - [`moto`]: a moto server for tests;
//! - [`gateway`]: for tests, a gateway in front of the emulator that does what AWS does and the
//!   emulator does not: the IAM contract ([`gateway::iam`]), faults ([`faults`]), and the rules
//!   other tests add;
//! - [`sms_account`]: what AWS End User Messaging SMS does on the account's side (origination
//!   identities, opt-out lists), for the test harness;
//! - [`runtime_api`]: a local Lambda Runtime API, to run a function's binary as Lambda does;
//! - [`environments`]: Lambda's execution environments played in-process (one per concurrent
//!   invocation, each invocation with its deadline).
//!
//! The `vigie-local` binary puts them behind a command line (`setup`, `relay`, `sms`, `receipt`,
//! `outbox`).

pub mod environments;
pub mod gateway;
pub mod moto;
pub mod outbox;
pub mod receipt_event;
pub mod relay;
pub mod runtime_api;
pub mod sms_account;
pub mod sms_event;
pub mod stack;
pub mod template;

/// The faulting proxy's former home (`infra::faults::FaultProxy`): now a rule of the gateway.
pub use gateway::faults;
