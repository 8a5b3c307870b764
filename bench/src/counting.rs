//! Counting the AWS calls of the fan-out: an interceptor on each SDK client counts executions
//! and HTTP attempts by operation (and, for DynamoDB, by table), and notes when the last send
//! (SNS Publish, SES SendEmail) finished.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::operation as ddb;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Calls of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Operations the code asked for.
    pub calls: u64,
    /// HTTP requests sent (more than `calls` when the SDK retried).
    pub attempts: u64,
    /// Calls that ended in an error.
    pub errors: u64,
    /// Summed time from the start of each call to its end (queueing included).
    pub busy: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    tallies: BTreeMap<String, Tally>,
    last_send: Option<Instant>,
    sends: u64,
}

/// Shared by the clients it is registered on; clones count together.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<Inner>>);

#[derive(Clone, Debug)]
struct Label(String);

impl Storable for Label {
    type Storer = StoreReplace<Self>;
}

#[derive(Clone, Debug)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// "GetItem alerts", "Query members", "Publish"...: the operation, and the tables it touches.
fn label(operation: &str, input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> String {
    let mut tables: Vec<String> = Vec::new();
    if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
        tables.extend(i.table_name.clone());
    } else if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        tables.extend(i.table_name.clone());
    } else if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        tables.extend(i.table_name.clone());
    } else if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        tables.extend(i.table_name.clone());
    } else if let Some(i) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
        tables.extend(i.request_items.iter().flat_map(|m| m.keys().cloned()));
    } else if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        tables.extend(i.request_items.iter().flat_map(|m| m.keys().cloned()));
    } else if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
        for item in i.transact_items.iter().flatten() {
            tables.extend(item.put.as_ref().map(|p| p.table_name.clone()));
            tables.extend(item.update.as_ref().map(|u| u.table_name.clone()));
            tables.extend(item.delete.as_ref().map(|d| d.table_name.clone()));
            tables.extend(item.condition_check.as_ref().map(|c| c.table_name.clone()));
        }
    }
    // `<prefix>-MembersTable` → `members`.
    let mut names: Vec<String> = tables
        .iter()
        .map(|t| {
            let logical = t.rsplit('-').next().unwrap_or(t);
            logical.strip_suffix("Table").unwrap_or(logical).to_lowercase()
        })
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() { operation.to_owned() } else { format!("{operation} {}", names.join("+")) }
}

fn is_send(label: &str) -> bool {
    label == "Publish" || label == "SendEmail"
}

impl CallCounter {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every kind of call so far.
    pub fn tallies(&self) -> BTreeMap<String, Tally> {
        self.with(|i| i.tallies.clone())
    }

    /// When the last send finished, and how many sends finished.
    pub fn last_send(&self) -> (Option<Instant>, u64) {
        self.with(|i| (i.last_send, i.sends))
    }

    pub fn reset(&self) {
        self.with(|i| *i = Inner::default());
    }

    pub fn dynamodb(&self, sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(self.clone()).build(),
        )
    }

    pub fn sns(&self, sdk: &SdkConfig) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk).interceptor(self.clone()).build(),
        )
    }

    pub fn sesv2(&self, sdk: &SdkConfig) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(sdk).interceptor(self.clone()).build(),
        )
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "vigie-bench call counter"
    }

    // Not `read_before_execution`: a client's interceptors see that before the operation's
    // configuration (its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", |m| m.name()).to_owned();
        let label = label(&operation, context.input());
        self.with(|i| i.tallies.entry(label.clone()).or_default().calls += 1);
        cfg.interceptor_state().store_put(Label(label));
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let label = cfg.load::<Label>().map_or_else(|| "unknown".to_owned(), |l| l.0.clone());
        self.with(|i| i.tallies.entry(label).or_default().attempts += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let now = Instant::now();
        let label = cfg.load::<Label>().map_or_else(|| "unknown".to_owned(), |l| l.0.clone());
        let failed = matches!(context.output_or_error(), Some(Err(_)) | None);
        let busy = cfg.load::<Started>().map_or(Duration::ZERO, |s| now - s.0);
        self.with(|i| {
            let tally = i.tallies.entry(label.clone()).or_default();
            tally.busy += busy;
            if failed {
                tally.errors += 1;
            }
            if is_send(&label) {
                i.sends += 1;
                i.last_send = Some(i.last_send.map_or(now, |t| t.max(now)));
            }
        });
        Ok(())
    }
}
