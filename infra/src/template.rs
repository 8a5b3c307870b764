//! The DynamoDB tables of `template.yaml`, turned into `CreateTable` requests.
//!
//! `template.yaml` is the single source of truth for the tables: the local stack and the tests
//! create theirs from it, so the cloud and the laptop cannot drift. Every property of an
//! `AWS::DynamoDB::Table` resource is either understood here, ignored because it means nothing
//! locally (backups, encryption, tags...), or refused with an error naming it: a template change
//! the tooling does not understand fails loudly instead of being dropped.
//!
//! The template uses CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, `!If`...)
//! elsewhere; `serde_norway` keeps them as tagged values, which is all this module needs. Inside a
//! table's properties an intrinsic function (short or long form) is an error: the tooling only
//! deals with literal values.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_norway::{Mapping, Value};
use vigie::config::Tables;

/// The CloudFormation resource type this module reads.
pub const TABLE_TYPE: &str = "AWS::DynamoDB::Table";

/// Table properties that mean nothing to a local emulator: accepted and ignored.
const IGNORED_PROPERTIES: &[&str] = &[
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "Tags",
    "DeletionProtectionEnabled",
    "ContributorInsightsSpecification",
    "TableClass",
];

/// Table properties turned into the `CreateTable` / `UpdateTimeToLive` requests.
const KNOWN_PROPERTIES: &[&str] = &[
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
    "TimeToLiveSpecification",
];

/// Resource-level attributes (siblings of `Type` and `Properties`) that change nothing locally.
const IGNORED_RESOURCE_ATTRIBUTES: &[&str] =
    &["DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Metadata"];

/// Why the tables of a template could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template.yaml has no Resources mapping")]
    NoResources,
    #[error(
        "table {table}: unsupported {what} {names:?}: teach infra/src/template.rs about them or remove them"
    )]
    Unsupported { table: String, what: &'static str, names: Vec<String> },
    #[error("table {table}: {path}: {reason}")]
    Invalid { table: String, path: String, reason: String },
    #[error("template.yaml declares no {0} table ({TABLE_TYPE} resource)")]
    MissingTable(&'static str),
    #[error("{operation} on table {table} failed: {message}")]
    Sdk { table: String, operation: &'static str, message: String },
}

/// The type of a key attribute (`AttributeDefinitions[].AttributeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    S,
    N,
    B,
}

/// One entry of `AttributeDefinitions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeSpec {
    pub name: String,
    pub kind: AttributeKind,
}

/// A key schema: a partition key and an optional sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub hash: String,
    pub range: Option<String>,
}

/// What a secondary index copies from the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionSpec {
    All,
    KeysOnly,
    /// The keys plus these attributes (`NonKeyAttributes`).
    Include(Vec<String>),
}

/// Read and write capacity (provisioned billing only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throughput {
    pub read: i64,
    pub write: i64,
}

/// One entry of `GlobalSecondaryIndexes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key: KeySpec,
    pub projection: ProjectionSpec,
    pub throughput: Option<Throughput>,
}

/// `BillingMode` (with `ProvisionedThroughput` when provisioned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingSpec {
    PayPerRequest,
    Provisioned(Throughput),
}

/// `StreamSpecification.StreamViewType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamView {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

/// One `AWS::DynamoDB::Table` resource of the template, as the local stack creates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The resource's logical ID (`MembersTable`); the local table is `<prefix>-<logical_id>`.
    pub logical_id: String,
    pub attributes: Vec<AttributeSpec>,
    pub key: KeySpec,
    pub global_indexes: Vec<IndexSpec>,
    pub billing: BillingSpec,
    /// `Some` when the table has a stream (CloudFormation's `StreamSpecification`).
    pub stream: Option<StreamView>,
    /// The TTL attribute, when `TimeToLiveSpecification` is there and enabled.
    pub ttl_attribute: Option<String>,
}

impl TableSpec {
    /// The local table name: `<prefix>-<LogicalId>`, as [`Tables::with_prefix`] names them.
    pub fn table_name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.logical_id)
    }

    /// The `CreateTable` request for this table, named `table_name`. The CreateTable API needs
    /// `StreamEnabled: true` besides the view type, which CloudFormation implies.
    pub fn create_table(
        &self,
        client: &Client,
        table_name: &str,
    ) -> Result<CreateTableFluentBuilder, TemplateError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| TemplateError::Invalid {
            table: self.logical_id.clone(),
            path: "Properties".into(),
            reason: e.to_string(),
        };
        let mut req = client.create_table().table_name(table_name);
        for attr in &self.attributes {
            let kind = match attr.kind {
                AttributeKind::S => ScalarAttributeType::S,
                AttributeKind::N => ScalarAttributeType::N,
                AttributeKind::B => ScalarAttributeType::B,
            };
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&attr.name)
                    .attribute_type(kind)
                    .build()
                    .map_err(build)?,
            );
        }
        for element in key_schema(&self.key).map_err(build)? {
            req = req.key_schema(element);
        }
        for index in &self.global_indexes {
            let projection = match &index.projection {
                ProjectionSpec::All => Projection::builder().projection_type(ProjectionType::All).build(),
                ProjectionSpec::KeysOnly => {
                    Projection::builder().projection_type(ProjectionType::KeysOnly).build()
                }
                ProjectionSpec::Include(attrs) => Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(attrs.clone()))
                    .build(),
            };
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key).map_err(build)?))
                .projection(projection);
            if let Some(t) = index.throughput {
                gsi = gsi.provisioned_throughput(throughput(t).map_err(build)?);
            }
            req = req.global_secondary_indexes(gsi.build().map_err(build)?);
        }
        req = match self.billing {
            BillingSpec::PayPerRequest => req.billing_mode(BillingMode::PayPerRequest),
            BillingSpec::Provisioned(t) => req
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(throughput(t).map_err(build)?),
        };
        if let Some(view) = self.stream {
            req = req.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()
                    .map_err(build)?,
            );
        }
        Ok(req)
    }
}

fn key_schema(key: &KeySpec) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    let mut out =
        vec![KeySchemaElement::builder().attribute_name(&key.hash).key_type(KeyType::Hash).build()?];
    if let Some(range) = &key.range {
        out.push(KeySchemaElement::builder().attribute_name(range).key_type(KeyType::Range).build()?);
    }
    Ok(out)
}

fn throughput(t: Throughput) -> Result<ProvisionedThroughput, aws_sdk_dynamodb::error::BuildError> {
    ProvisionedThroughput::builder().read_capacity_units(t.read).write_capacity_units(t.write).build()
}

/// The workspace's `template.yaml` (next to the root `Cargo.toml`).
pub fn workspace_template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("template.yaml")
}

/// Reads a template file (a small helper that names the path in its error).
pub fn read_template(path: &std::path::Path) -> Result<String, TemplateError> {
    std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.to_owned(), source })
}

/// The `Timeout` of function `logical_id` (its own, or the template's `Globals`), as Lambda
/// gives each invocation of it: the deadline of the local invocations.
pub fn function_timeout(template_yaml: &str, logical_id: &str) -> Option<std::time::Duration> {
    let doc: Value = serde_norway::from_str(template_yaml).ok()?;
    let own = doc.get("Resources")?.get(logical_id)?.get("Properties").and_then(|p| p.get("Timeout"));
    let global = doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get("Timeout"));
    own.or(global).and_then(Value::as_u64).map(std::time::Duration::from_secs)
}

/// Every `AWS::DynamoDB::Table` resource of the template, in the template's order.
pub fn table_specs(template_yaml: &str) -> Result<Vec<TableSpec>, TemplateError> {
    let doc: Value = serde_norway::from_str(template_yaml)?;
    let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or(TemplateError::NoResources)?;
    let mut specs = Vec::new();
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        if resource.get("Type").and_then(Value::as_str) != Some(TABLE_TYPE) {
            continue;
        }
        specs.push(parse_table(id, resource)?);
    }
    Ok(specs)
}

/// Creates (if missing) every table of the template as `<prefix>-<LogicalId>`, with its streams,
/// indexes and TTL, and returns the names of vigie's three tables. Idempotent: an existing table
/// is left as it is (its TTL is still switched on if the template asks for it).
pub async fn create_tables(
    client: &Client,
    template_yaml: &str,
    prefix: &str,
) -> Result<Tables, TemplateError> {
    let specs = table_specs(template_yaml)?;
    let tables = Tables::with_prefix(prefix);
    for logical_id in ["MembersTable", "AlertsTable", "LedgerTable"] {
        if !specs.iter().any(|s| s.logical_id == logical_id) {
            return Err(TemplateError::MissingTable(logical_id));
        }
    }
    for spec in &specs {
        create_table(client, spec, &spec.table_name(prefix)).await?;
    }
    Ok(tables)
}

/// Creates one table (if missing) and switches its TTL on when the spec has one.
pub async fn create_table(client: &Client, spec: &TableSpec, table_name: &str) -> Result<(), TemplateError> {
    let sdk = |operation: &'static str| {
        move |e: &dyn std::error::Error| TemplateError::Sdk {
            table: table_name.to_owned(),
            operation,
            message: DisplayErrorContext(e).to_string(),
        }
    };
    match spec.create_table(client, table_name)?.send().await {
        Ok(_) => tracing::info!(table = table_name, "table created"),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            tracing::info!(table = table_name, "table already exists")
        }
        Err(e) => return Err(sdk("CreateTable")(&e)),
    }
    let Some(attribute) = &spec.ttl_attribute else { return Ok(()) };
    let current = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| sdk("DescribeTimeToLive")(&e))?;
    let enabled = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(attribute.as_str())
            && matches!(
                d.time_to_live_status(),
                Some(
                    aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled
                        | aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling
                )
            )
    });
    if !enabled {
        let ttl =
            TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build().map_err(
                |e| TemplateError::Invalid {
                    table: spec.logical_id.clone(),
                    path: "TimeToLiveSpecification".into(),
                    reason: e.to_string(),
                },
            )?;
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| sdk("UpdateTimeToLive")(&e))?;
    }
    Ok(())
}

// ------------------------------------------------------------------ parsing

/// Parsing context: which table, to name it in errors.
struct Ctx<'a> {
    table: &'a str,
}

impl Ctx<'_> {
    fn invalid(&self, path: impl Into<String>, reason: impl Into<String>) -> TemplateError {
        TemplateError::Invalid { table: self.table.to_owned(), path: path.into(), reason: reason.into() }
    }

    fn unsupported(&self, what: &'static str, names: Vec<String>) -> TemplateError {
        TemplateError::Unsupported { table: self.table.to_owned(), what, names }
    }

    fn mapping<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Mapping, TemplateError> {
        value.as_mapping().ok_or_else(|| self.invalid(path, "expected a mapping"))
    }

    fn sequence<'v>(&self, value: &'v Value, path: &str) -> Result<&'v [Value], TemplateError> {
        value.as_sequence().map(Vec::as_slice).ok_or_else(|| self.invalid(path, "expected a list"))
    }

    fn string<'v>(&self, value: &'v Value, path: &str) -> Result<&'v str, TemplateError> {
        value.as_str().ok_or_else(|| self.invalid(path, "expected a string"))
    }

    fn required<'v>(&self, map: &'v Mapping, key: &str, path: &str) -> Result<&'v Value, TemplateError> {
        map.get(key).ok_or_else(|| self.invalid(format!("{path}.{key}"), "missing"))
    }

    /// Fails on keys of `map` outside `known`.
    fn only(&self, map: &Mapping, known: &[&str], what: &'static str) -> Result<(), TemplateError> {
        let unknown: Vec<String> = map
            .keys()
            .map(|k| k.as_str().map(str::to_owned).unwrap_or_else(|| format!("{k:?}")))
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        if unknown.is_empty() { Ok(()) } else { Err(self.unsupported(what, unknown)) }
    }

    fn bool(&self, value: &Value, path: &str) -> Result<bool, TemplateError> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.invalid(path, "expected true or false")),
        }
    }

    fn int(&self, value: &Value, path: &str) -> Result<i64, TemplateError> {
        match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .filter(|n| *n > 0)
        .ok_or_else(|| self.invalid(path, "expected a positive integer"))
    }
}

/// Refuses intrinsic functions anywhere in a table's properties: short form (`!Ref x`, a tagged
/// value) or long form (`{Ref: x}`, `{Fn::If: ...}`). `serde_norway`'s accessors look through
/// tags, so without this check `!Ref Foo` would silently read as the string `Foo`.
fn reject_intrinsics(ctx: &Ctx<'_>, value: &Value, path: &str) -> Result<(), TemplateError> {
    match value {
        Value::Tagged(tagged) => Err(ctx.invalid(
            path,
            format!("intrinsic function {} is not supported here: use a literal value", tagged.tag),
        )),
        Value::Mapping(map) => {
            if map.len() == 1
                && let Some(key) = map.keys().next().and_then(Value::as_str)
                && (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
            {
                return Err(ctx.invalid(
                    path,
                    format!("intrinsic function {key} is not supported here: use a literal value"),
                ));
            }
            for (k, v) in map {
                let key = k.as_str().unwrap_or("?");
                reject_intrinsics(ctx, v, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                reject_intrinsics(ctx, v, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn parse_table(id: &str, resource: &Value) -> Result<TableSpec, TemplateError> {
    let ctx = Ctx { table: id };
    let resource = ctx.mapping(resource, "")?;
    let mut attrs = vec!["Type", "Properties"];
    attrs.extend_from_slice(IGNORED_RESOURCE_ATTRIBUTES);
    ctx.only(resource, &attrs, "resource attributes")?;
    let props = ctx.mapping(ctx.required(resource, "Properties", "")?, "Properties")?;
    let mut known = KNOWN_PROPERTIES.to_vec();
    known.extend_from_slice(IGNORED_PROPERTIES);
    ctx.only(props, &known, "properties")?;
    for key in KNOWN_PROPERTIES {
        if let Some(v) = props.get(*key) {
            reject_intrinsics(&ctx, v, key)?;
        }
    }

    let attributes = parse_attributes(&ctx, ctx.required(props, "AttributeDefinitions", "Properties")?)?;
    let key = parse_key_schema(&ctx, ctx.required(props, "KeySchema", "Properties")?, "KeySchema")?;
    let global_indexes = match props.get("GlobalSecondaryIndexes") {
        None => Vec::new(),
        Some(v) => ctx
            .sequence(v, "GlobalSecondaryIndexes")?
            .iter()
            .enumerate()
            .map(|(i, gsi)| parse_index(&ctx, gsi, &format!("GlobalSecondaryIndexes[{i}]")))
            .collect::<Result<_, _>>()?,
    };
    let provisioned = props
        .get("ProvisionedThroughput")
        .map(|v| parse_throughput(&ctx, v, "ProvisionedThroughput"))
        .transpose()?;
    let billing =
        match (props.get("BillingMode").map(|v| ctx.string(v, "BillingMode")).transpose()?, provisioned) {
            (Some("PAY_PER_REQUEST"), None) => BillingSpec::PayPerRequest,
            (Some("PAY_PER_REQUEST"), Some(_)) => {
                return Err(
                    ctx.invalid("ProvisionedThroughput", "not allowed with BillingMode PAY_PER_REQUEST")
                );
            }
            (Some("PROVISIONED") | None, Some(t)) => BillingSpec::Provisioned(t),
            (Some("PROVISIONED") | None, None) => {
                return Err(
                    ctx.invalid("ProvisionedThroughput", "missing (BillingMode is PROVISIONED when omitted)")
                );
            }
            (Some(other), _) => {
                return Err(ctx.invalid("BillingMode", format!("unknown billing mode {other:?}")));
            }
        };
    for gsi in &global_indexes {
        match (billing, gsi.throughput) {
            (BillingSpec::Provisioned(_), None) => {
                return Err(ctx.invalid(
                    format!("GlobalSecondaryIndexes[{}]", gsi.name),
                    "ProvisionedThroughput missing",
                ));
            }
            (BillingSpec::PayPerRequest, Some(_)) => {
                return Err(ctx.invalid(
                    format!("GlobalSecondaryIndexes[{}]", gsi.name),
                    "ProvisionedThroughput not allowed with PAY_PER_REQUEST",
                ));
            }
            _ => {}
        }
    }
    let stream = props.get("StreamSpecification").map(|v| parse_stream(&ctx, v)).transpose()?;
    let ttl_attribute =
        props.get("TimeToLiveSpecification").map(|v| parse_ttl(&ctx, v)).transpose()?.flatten();

    let spec = TableSpec {
        logical_id: id.to_owned(),
        attributes,
        key,
        global_indexes,
        billing,
        stream,
        ttl_attribute,
    };
    check_attributes(&ctx, &spec)?;
    Ok(spec)
}

fn parse_attributes(ctx: &Ctx<'_>, value: &Value) -> Result<Vec<AttributeSpec>, TemplateError> {
    let mut out: Vec<AttributeSpec> = Vec::new();
    for (i, item) in ctx.sequence(value, "AttributeDefinitions")?.iter().enumerate() {
        let path = format!("AttributeDefinitions[{i}]");
        let map = ctx.mapping(item, &path)?;
        ctx.only(map, &["AttributeName", "AttributeType"], "attribute definition keys")?;
        let name = ctx.string(ctx.required(map, "AttributeName", &path)?, &path)?.to_owned();
        let kind = match ctx.string(ctx.required(map, "AttributeType", &path)?, &path)? {
            "S" => AttributeKind::S,
            "N" => AttributeKind::N,
            "B" => AttributeKind::B,
            other => {
                return Err(ctx
                    .invalid(format!("{path}.AttributeType"), format!("expected S, N or B, got {other:?}")));
            }
        };
        if out.iter().any(|a| a.name == name) {
            return Err(ctx.invalid(path, format!("attribute {name} is defined twice")));
        }
        out.push(AttributeSpec { name, kind });
    }
    Ok(out)
}

fn parse_key_schema(ctx: &Ctx<'_>, value: &Value, path: &str) -> Result<KeySpec, TemplateError> {
    let mut hash = None;
    let mut range = None;
    for (i, item) in ctx.sequence(value, path)?.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let map = ctx.mapping(item, &item_path)?;
        ctx.only(map, &["AttributeName", "KeyType"], "key schema keys")?;
        let name = ctx.string(ctx.required(map, "AttributeName", &item_path)?, &item_path)?.to_owned();
        let slot = match ctx.string(ctx.required(map, "KeyType", &item_path)?, &item_path)? {
            "HASH" => &mut hash,
            "RANGE" => &mut range,
            other => {
                return Err(ctx.invalid(
                    format!("{item_path}.KeyType"),
                    format!("expected HASH or RANGE, got {other:?}"),
                ));
            }
        };
        if slot.replace(name).is_some() {
            return Err(ctx.invalid(item_path, "key type given twice"));
        }
    }
    let hash = hash.ok_or_else(|| ctx.invalid(path, "no HASH key"))?;
    Ok(KeySpec { hash, range })
}

fn parse_index(ctx: &Ctx<'_>, value: &Value, path: &str) -> Result<IndexSpec, TemplateError> {
    let map = ctx.mapping(value, path)?;
    ctx.only(
        map,
        &[
            "IndexName",
            "KeySchema",
            "Projection",
            "ProvisionedThroughput",
            "ContributorInsightsSpecification",
        ],
        "index keys",
    )?;
    let name = ctx.string(ctx.required(map, "IndexName", path)?, &format!("{path}.IndexName"))?.to_owned();
    let key = parse_key_schema(ctx, ctx.required(map, "KeySchema", path)?, &format!("{path}.KeySchema"))?;
    let projection_path = format!("{path}.Projection");
    let projection = ctx.mapping(ctx.required(map, "Projection", path)?, &projection_path)?;
    ctx.only(projection, &["ProjectionType", "NonKeyAttributes"], "projection keys")?;
    let non_key = projection
        .get("NonKeyAttributes")
        .map(|v| {
            ctx.sequence(v, &format!("{projection_path}.NonKeyAttributes"))?
                .iter()
                .map(|a| ctx.string(a, &format!("{projection_path}.NonKeyAttributes")).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let kind = projection.get("ProjectionType").map(|v| ctx.string(v, &projection_path)).transpose()?;
    let projection = match (kind, non_key) {
        (Some("ALL"), None) => ProjectionSpec::All,
        (Some("KEYS_ONLY") | None, None) => ProjectionSpec::KeysOnly,
        (Some("INCLUDE"), Some(attrs)) if !attrs.is_empty() => ProjectionSpec::Include(attrs),
        (Some("INCLUDE"), _) => return Err(ctx.invalid(projection_path, "INCLUDE needs NonKeyAttributes")),
        (Some(other), _) => {
            return Err(ctx.invalid(
                projection_path,
                format!("ProjectionType {other:?} with these NonKeyAttributes is not valid"),
            ));
        }
        (None, Some(_)) => {
            return Err(ctx.invalid(projection_path, "NonKeyAttributes needs ProjectionType INCLUDE"));
        }
    };
    let throughput = map
        .get("ProvisionedThroughput")
        .map(|v| parse_throughput(ctx, v, &format!("{path}.ProvisionedThroughput")))
        .transpose()?;
    Ok(IndexSpec { name, key, projection, throughput })
}

fn parse_throughput(ctx: &Ctx<'_>, value: &Value, path: &str) -> Result<Throughput, TemplateError> {
    let map = ctx.mapping(value, path)?;
    ctx.only(map, &["ReadCapacityUnits", "WriteCapacityUnits"], "provisioned throughput keys")?;
    Ok(Throughput {
        read: ctx.int(ctx.required(map, "ReadCapacityUnits", path)?, &format!("{path}.ReadCapacityUnits"))?,
        write: ctx
            .int(ctx.required(map, "WriteCapacityUnits", path)?, &format!("{path}.WriteCapacityUnits"))?,
    })
}

fn parse_stream(ctx: &Ctx<'_>, value: &Value) -> Result<StreamView, TemplateError> {
    let map = ctx.mapping(value, "StreamSpecification")?;
    ctx.only(map, &["StreamViewType"], "stream specification keys")?;
    match ctx.string(
        ctx.required(map, "StreamViewType", "StreamSpecification")?,
        "StreamSpecification.StreamViewType",
    )? {
        "KEYS_ONLY" => Ok(StreamView::KeysOnly),
        "NEW_IMAGE" => Ok(StreamView::NewImage),
        "OLD_IMAGE" => Ok(StreamView::OldImage),
        "NEW_AND_OLD_IMAGES" => Ok(StreamView::NewAndOldImages),
        other => {
            Err(ctx.invalid("StreamSpecification.StreamViewType", format!("unknown view type {other:?}")))
        }
    }
}

fn parse_ttl(ctx: &Ctx<'_>, value: &Value) -> Result<Option<String>, TemplateError> {
    let map = ctx.mapping(value, "TimeToLiveSpecification")?;
    ctx.only(map, &["AttributeName", "Enabled"], "time to live keys")?;
    let enabled = ctx
        .bool(ctx.required(map, "Enabled", "TimeToLiveSpecification")?, "TimeToLiveSpecification.Enabled")?;
    let name = map
        .get("AttributeName")
        .map(|v| ctx.string(v, "TimeToLiveSpecification.AttributeName"))
        .transpose()?;
    match (enabled, name) {
        (true, Some(name)) => Ok(Some(name.to_owned())),
        (true, None) => Err(ctx.invalid("TimeToLiveSpecification.AttributeName", "missing")),
        (false, _) => Ok(None),
    }
}

/// DynamoDB's own rule: every key attribute is defined, and every definition is a key somewhere.
fn check_attributes(ctx: &Ctx<'_>, spec: &TableSpec) -> Result<(), TemplateError> {
    let defined: BTreeSet<&str> = spec.attributes.iter().map(|a| a.name.as_str()).collect();
    let mut used = BTreeSet::new();
    for key in std::iter::once(&spec.key).chain(spec.global_indexes.iter().map(|g| &g.key)) {
        used.insert(key.hash.as_str());
        used.extend(key.range.as_deref());
    }
    if let Some(missing) = used.difference(&defined).next() {
        return Err(ctx.invalid("AttributeDefinitions", format!("key attribute {missing} is not defined")));
    }
    if let Some(unused) = defined.difference(&used).next() {
        return Err(ctx.invalid(
            "AttributeDefinitions",
            format!("{unused} is defined but is no key of the table or an index"),
        ));
    }
    let mut names = BTreeSet::new();
    for gsi in &spec.global_indexes {
        if !names.insert(gsi.name.as_str()) {
            return Err(ctx.invalid("GlobalSecondaryIndexes", format!("index {} is defined twice", gsi.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/template.yaml");

    fn table(yaml_props: &str) -> Result<Vec<TableSpec>, TemplateError> {
        let yaml = format!(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n{}",
            yaml_props.lines().map(|l| format!("      {l}\n")).collect::<String>()
        );
        table_specs(&yaml)
    }

    const BASE: &str = "AttributeDefinitions:\n  - {AttributeName: pk, AttributeType: S}\nKeySchema:\n  - {AttributeName: pk, KeyType: HASH}\nBillingMode: PAY_PER_REQUEST\n";

    #[test]
    fn fixture_has_the_three_tables_as_specified() {
        let specs = table_specs(FIXTURE).unwrap();
        let ids: Vec<_> = specs.iter().map(|s| s.logical_id.as_str()).collect();
        assert_eq!(ids, ["MembersTable", "AlertsTable", "LedgerTable"]);
        let pk_sk = KeySpec { hash: "pk".into(), range: Some("sk".into()) };
        for spec in &specs {
            assert_eq!(spec.key, pk_sk);
            assert_eq!(spec.billing, BillingSpec::PayPerRequest);
        }

        let members = &specs[0];
        assert_eq!(members.stream, None);
        assert_eq!(members.ttl_attribute, None);
        assert_eq!(
            members.global_indexes,
            [
                IndexSpec {
                    name: "ByPhone".into(),
                    key: KeySpec { hash: "phone_key".into(), range: None },
                    projection: ProjectionSpec::All,
                    throughput: None
                },
                IndexSpec {
                    name: "ByEmail".into(),
                    key: KeySpec { hash: "email_key".into(), range: None },
                    projection: ProjectionSpec::All,
                    throughput: None
                },
            ]
        );

        let alerts = &specs[1];
        assert_eq!(alerts.stream, Some(StreamView::NewImage));
        assert_eq!(
            alerts.global_indexes[0].key,
            KeySpec { hash: "feed_pk".into(), range: Some("feed_sk".into()) }
        );

        let ledger = &specs[2];
        assert_eq!(ledger.ttl_attribute.as_deref(), Some("expires_at"));
        assert_eq!(ledger.global_indexes[0].projection, ProjectionSpec::Include(vec!["alert_id".into()]));
        assert_eq!(
            ledger.global_indexes[1],
            IndexSpec {
                name: "ByMessageId".into(),
                key: KeySpec { hash: "message_id".into(), range: None },
                projection: ProjectionSpec::Include(vec!["member_id".into()]),
                throughput: None
            }
        );
        assert!(
            ledger.attributes.contains(&AttributeSpec { name: "sent_at".into(), kind: AttributeKind::N })
        );
    }

    #[test]
    fn the_workspace_template_parses_like_the_fixture() {
        // The real template may carry more than the fixture (other resources, tags), but its
        // tables must read the same.
        let Ok(real) = std::fs::read_to_string(workspace_template()) else { return };
        assert_eq!(table_specs(&real).unwrap(), table_specs(FIXTURE).unwrap());
    }

    #[test]
    fn short_form_tags_elsewhere_are_tolerated() {
        let yaml = format!(
            "Conditions:\n  C: !Not [!Equals [!Ref X, \"\"]]\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Env: !If [C, !Sub \"${{A}}\", !GetAtt B.Arn]\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n{}",
            BASE.lines().map(|l| format!("      {l}\n")).collect::<String>()
        );
        assert_eq!(table_specs(&yaml).unwrap().len(), 1);
    }

    #[test]
    fn unknown_properties_are_named() {
        let err = table(&format!("{BASE}TableName: foo\nLocalSecondaryIndexes: []\nTags: []\n")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("TableName") && msg.contains("LocalSecondaryIndexes"), "{msg}");
        assert!(!msg.contains("Tags"), "{msg}");
    }

    #[test]
    fn irrelevant_properties_are_ignored() {
        let specs = table(&format!(
            "{BASE}PointInTimeRecoverySpecification: {{PointInTimeRecoveryEnabled: true}}\nSSESpecification: {{SSEEnabled: true}}\nTags: [{{Key: a, Value: !Ref Stage}}]\n"
        ))
        .unwrap();
        assert_eq!(specs[0].stream, None);
    }

    #[test]
    fn function_timeouts_are_their_own_or_the_globals() {
        if let Ok(real) = std::fs::read_to_string(workspace_template()) {
            assert_eq!(function_timeout(&real, "FanOutFunction"), Some(std::time::Duration::from_secs(900)));
            assert_eq!(
                function_timeout(&real, "InboundSmsFunction"),
                Some(std::time::Duration::from_secs(30))
            );
            assert_eq!(function_timeout(&real, "Nope"), None);
        }
    }

    #[test]
    fn intrinsics_inside_table_properties_are_refused() {
        let err = table(&BASE.replace("PAY_PER_REQUEST", "!Ref Billing")).unwrap_err();
        assert!(err.to_string().contains("!Ref"), "{err}");
        let err = table(&BASE.replace("PAY_PER_REQUEST", "{\"Fn::If\": [C, A, B]}")).unwrap_err();
        assert!(err.to_string().contains("Fn::If"), "{err}");
    }

    #[test]
    fn undefined_or_unused_attributes_are_errors() {
        let err = table(&BASE.replace("pk, KeyType", "id, KeyType")).unwrap_err();
        assert!(err.to_string().contains("key attribute id is not defined"), "{err}");
        let err = table(&BASE.replace(
            "AttributeDefinitions:\n",
            "AttributeDefinitions:\n  - {AttributeName: x, AttributeType: S}\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("x is defined but is no key"), "{err}");
    }

    #[test]
    fn ttl_disabled_means_no_ttl_and_provisioned_billing_is_read() {
        let specs = table(&format!(
            "{}ProvisionedThroughput: {{ReadCapacityUnits: 5, WriteCapacityUnits: \"2\"}}\nTimeToLiveSpecification: {{AttributeName: e, Enabled: false}}\n",
            BASE.replace("BillingMode: PAY_PER_REQUEST\n", "")
        ))
        .unwrap();
        assert_eq!(specs[0].billing, BillingSpec::Provisioned(Throughput { read: 5, write: 2 }));
        assert_eq!(specs[0].ttl_attribute, None);
    }

    #[test]
    fn a_resource_condition_is_refused() {
        let yaml = format!(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Condition: IsProd\n    Properties:\n{}",
            BASE.lines().map(|l| format!("      {l}\n")).collect::<String>()
        );
        assert!(table_specs(&yaml).unwrap_err().to_string().contains("Condition"));
    }

    #[test]
    fn include_without_attributes_is_invalid() {
        let yaml = format!(
            "{}GlobalSecondaryIndexes:\n  - IndexName: I\n    KeySchema: [{{AttributeName: pk, KeyType: HASH}}]\n    Projection: {{ProjectionType: INCLUDE}}\n",
            BASE
        );
        assert!(table(&yaml).unwrap_err().to_string().contains("NonKeyAttributes"));
    }
}
