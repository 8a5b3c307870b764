//! The `AWS::DynamoDB::Table` resources of the template: read into [`TableSpec`]s (serde for
//! the shape, then DynamoDB's own rules), and created as `<prefix>-<LogicalId>`.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_norway::Value;
use vigie::config::Tables;

use super::{Flag, Int, Literal, PartError, TemplateError, read_part};

/// The CloudFormation resource type this module reads.
pub const TABLE_TYPE: &str = "AWS::DynamoDB::Table";

/// vigie's three tables: the template must declare them all.
const VIGIE_TABLES: [&str; 3] = ["MembersTable", "AlertsTable", "LedgerTable"];

/// The type of a key attribute (`AttributeDefinitions[].AttributeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
        specs.push(TableSpec::read(id, resource)?);
    }
    Ok(specs)
}

/// Every table of the template, which must declare vigie's three tables.
pub fn vigie_table_specs(template_yaml: &str) -> Result<Vec<TableSpec>, TemplateError> {
    let specs = table_specs(template_yaml)?;
    for logical_id in VIGIE_TABLES {
        if !specs.iter().any(|s| s.logical_id == logical_id) {
            return Err(TemplateError::MissingTable(logical_id));
        }
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
    let specs = vigie_table_specs(template_yaml)?;
    let tables = Tables::with_prefix(prefix);
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

// ------------------------------------------------------------------ the template's shape

/// A table resource: `Type`, `Properties`, and the resource attributes that change nothing
/// locally. Anything else (a `Condition`...) is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[allow(dead_code)] // the ignored attributes are accepted, never read
struct TableResource {
    r#type: IgnoredAny,
    properties: Value,
    deletion_policy: Option<IgnoredAny>,
    update_replace_policy: Option<IgnoredAny>,
    depends_on: Option<IgnoredAny>,
    metadata: Option<IgnoredAny>,
}

/// A table's `Properties`: those turned into the `CreateTable` / `UpdateTimeToLive` requests
/// (literal values only), and those that mean nothing to a local emulator (accepted, ignored).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[allow(dead_code)] // the ignored properties are accepted, never read
struct TableProperties {
    attribute_definitions: Literal<Vec<AttributeDefinitionYaml>>,
    key_schema: Literal<Vec<KeyElementYaml>>,
    global_secondary_indexes: Option<Literal<Vec<IndexYaml>>>,
    billing_mode: Option<Literal<BillingModeYaml>>,
    provisioned_throughput: Option<Literal<ThroughputYaml>>,
    stream_specification: Option<Literal<StreamYaml>>,
    time_to_live_specification: Option<Literal<TtlYaml>>,
    point_in_time_recovery_specification: Option<IgnoredAny>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<IgnoredAny>,
    tags: Option<IgnoredAny>,
    deletion_protection_enabled: Option<IgnoredAny>,
    contributor_insights_specification: Option<IgnoredAny>,
    table_class: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct AttributeDefinitionYaml {
    attribute_name: String,
    attribute_type: AttributeKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct KeyElementYaml {
    attribute_name: String,
    key_type: KeyTypeYaml,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum KeyTypeYaml {
    Hash,
    Range,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[allow(dead_code)] // contributor insights are accepted, never read
struct IndexYaml {
    index_name: String,
    key_schema: Vec<KeyElementYaml>,
    projection: ProjectionYaml,
    provisioned_throughput: Option<ThroughputYaml>,
    contributor_insights_specification: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct ProjectionYaml {
    projection_type: Option<ProjectionTypeYaml>,
    non_key_attributes: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ProjectionTypeYaml {
    All,
    KeysOnly,
    Include,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum BillingModeYaml {
    PayPerRequest,
    Provisioned,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct ThroughputYaml {
    read_capacity_units: Int,
    write_capacity_units: Int,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct StreamYaml {
    stream_view_type: StreamView,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TtlYaml {
    attribute_name: Option<String>,
    enabled: Flag,
}

// ------------------------------------------------------------------ DynamoDB's rules

/// Naming the table in errors.
struct Ctx<'a> {
    table: &'a str,
}

impl Ctx<'_> {
    fn invalid(&self, path: impl Into<String>, reason: impl Into<String>) -> TemplateError {
        TemplateError::Invalid { table: self.table.to_owned(), path: path.into(), reason: reason.into() }
    }

    /// Reads a typed part of this table.
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        value: Value,
        what: &'static str,
        at: &str,
    ) -> Result<T, TemplateError> {
        read_part(value).map_err(|e| match e {
            PartError::Unsupported(names) => {
                TemplateError::Unsupported { table: self.table.to_owned(), what, names }
            }
            PartError::Invalid { path, reason } => {
                let path = match (at, path.as_str()) {
                    ("", p) => p.to_owned(),
                    (at, ".") => at.to_owned(),
                    (at, p) => format!("{at}.{p}"),
                };
                self.invalid(path, reason)
            }
        })
    }

    fn key(&self, elements: Vec<KeyElementYaml>, path: &str) -> Result<KeySpec, TemplateError> {
        let mut hash = None;
        let mut range = None;
        for (i, element) in elements.into_iter().enumerate() {
            let slot = match element.key_type {
                KeyTypeYaml::Hash => &mut hash,
                KeyTypeYaml::Range => &mut range,
            };
            if slot.replace(element.attribute_name).is_some() {
                return Err(self.invalid(format!("{path}[{i}]"), "key type given twice"));
            }
        }
        let hash = hash.ok_or_else(|| self.invalid(path, "no HASH key"))?;
        Ok(KeySpec { hash, range })
    }

    fn throughput(&self, t: ThroughputYaml, path: &str) -> Result<Throughput, TemplateError> {
        let positive = |n: Int, field: &str| {
            Some(n.0)
                .filter(|n| *n > 0)
                .ok_or_else(|| self.invalid(format!("{path}.{field}"), "expected a positive integer"))
        };
        Ok(Throughput {
            read: positive(t.read_capacity_units, "ReadCapacityUnits")?,
            write: positive(t.write_capacity_units, "WriteCapacityUnits")?,
        })
    }

    fn index(&self, index: IndexYaml, path: &str) -> Result<IndexSpec, TemplateError> {
        let key = self.key(index.key_schema, &format!("{path}.KeySchema"))?;
        let projection_path = format!("{path}.Projection");
        let projection = match (index.projection.projection_type, index.projection.non_key_attributes) {
            (Some(ProjectionTypeYaml::All), None) => ProjectionSpec::All,
            (Some(ProjectionTypeYaml::KeysOnly) | None, None) => ProjectionSpec::KeysOnly,
            (Some(ProjectionTypeYaml::Include), Some(attrs)) if !attrs.is_empty() => {
                ProjectionSpec::Include(attrs)
            }
            (Some(ProjectionTypeYaml::Include), _) => {
                return Err(self.invalid(projection_path, "INCLUDE needs NonKeyAttributes"));
            }
            (Some(other), _) => {
                return Err(self.invalid(
                    projection_path,
                    format!("ProjectionType {other:?} with these NonKeyAttributes is not valid"),
                ));
            }
            (None, Some(_)) => {
                return Err(self.invalid(projection_path, "NonKeyAttributes needs ProjectionType INCLUDE"));
            }
        };
        let throughput = index
            .provisioned_throughput
            .map(|t| self.throughput(t, &format!("{path}.ProvisionedThroughput")))
            .transpose()?;
        Ok(IndexSpec { name: index.index_name, key, projection, throughput })
    }
}

impl TableSpec {
    /// Reads table resource `id` of the template.
    fn read(id: &str, resource: &Value) -> Result<TableSpec, TemplateError> {
        let ctx = Ctx { table: id };
        let resource: TableResource = ctx.read(resource.clone(), "resource attributes", "")?;
        let props: TableProperties = ctx.read(resource.properties, "properties", "")?;

        let mut attributes: Vec<AttributeSpec> = Vec::new();
        for (i, a) in props.attribute_definitions.0.into_iter().enumerate() {
            if attributes.iter().any(|b| b.name == a.attribute_name) {
                return Err(ctx.invalid(
                    format!("AttributeDefinitions[{i}]"),
                    format!("attribute {} is defined twice", a.attribute_name),
                ));
            }
            attributes.push(AttributeSpec { name: a.attribute_name, kind: a.attribute_type });
        }
        let key = ctx.key(props.key_schema.0, "KeySchema")?;
        let global_indexes = props
            .global_secondary_indexes
            .map(|l| l.0)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, gsi)| ctx.index(gsi, &format!("GlobalSecondaryIndexes[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let provisioned =
            props.provisioned_throughput.map(|t| ctx.throughput(t.0, "ProvisionedThroughput")).transpose()?;
        let billing = match (props.billing_mode.map(|l| l.0), provisioned) {
            (Some(BillingModeYaml::PayPerRequest), None) => BillingSpec::PayPerRequest,
            (Some(BillingModeYaml::PayPerRequest), Some(_)) => {
                return Err(
                    ctx.invalid("ProvisionedThroughput", "not allowed with BillingMode PAY_PER_REQUEST")
                );
            }
            (Some(BillingModeYaml::Provisioned) | None, Some(t)) => BillingSpec::Provisioned(t),
            (Some(BillingModeYaml::Provisioned) | None, None) => {
                return Err(
                    ctx.invalid("ProvisionedThroughput", "missing (BillingMode is PROVISIONED when omitted)")
                );
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
        let stream = props.stream_specification.map(|s| s.0.stream_view_type);
        let ttl_attribute = match props.time_to_live_specification.map(|l| l.0) {
            Some(TtlYaml { enabled: Flag(true), attribute_name: Some(name) }) => Some(name),
            Some(TtlYaml { enabled: Flag(true), attribute_name: None }) => {
                return Err(ctx.invalid("TimeToLiveSpecification.AttributeName", "missing"));
            }
            Some(TtlYaml { enabled: Flag(false), .. }) | None => None,
        };

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
    use crate::template::workspace_template;

    const FIXTURE: &str = include_str!("../../tests/fixtures/template.yaml");

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
