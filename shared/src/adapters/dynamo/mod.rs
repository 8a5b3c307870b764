//! The DynamoDB store: every storage port, on the three tables of `docs/data-model.md`.
//!
//! One module per table or concern (`docs/adapters.md`): `items` (attribute values and the item
//! mapping), `keys` (the key schema), `writes` (transactions and batches), then the ports on each
//! table: `members` and `membership` (members table), `alerts` and `feed` (alerts table),
//! `ledger`, `receipts`, `sessions`, `phone_codes`, `offers`, `rate` and `spend` (ledger table).

mod alerts;
mod erasure;
mod feed;
mod items;
mod keys;
mod ledger;
mod members;
mod membership;
mod offers;
mod phone_codes;
mod rate;
mod receipts;
mod sessions;
mod spend;
mod writes;

use aws_sdk_dynamodb::Client;

use crate::config::Tables;

pub use items::now_ms;

/// The store, cheap to clone (the SDK client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
    /// How long alerts and their delivery records are kept (`RETENTION_DAYS`).
    retention: std::time::Duration,
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables, retention: keys::DEFAULT_RETENTION }
    }

    /// The same, keeping alerts and their delivery records `retention` (the TTL purges them).
    #[must_use]
    pub fn with_retention(mut self, retention: std::time::Duration) -> Self {
        self.retention = retention;
        self
    }

    /// A store with its own client from the SDK configuration (no network call).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, tables: Tables) -> Self {
        Self::new(Client::new(sdk), tables)
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}
