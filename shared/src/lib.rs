//! vigie's shared library: the pure domain, the use cases ([`app`]), the ports they depend on,
//! and the AWS adapters behind them.

pub mod adapters;
pub mod app;
pub mod compose;
pub mod config;
pub mod domain;
pub mod model;
pub mod pace;
pub mod ports;
pub mod receipts;
pub mod secret;
