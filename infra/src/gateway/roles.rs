//! Each function's role as AWS creates it: `template.yaml` transformed by SAM
//! (`infra/transform.py`, the same offline transform as `infra/check_template.py`), then each
//! `AWS::Lambda::Function`'s `Role` followed to its `AWS::IAM::Role`, whose inline `Policies`
//! (SAM's `Policies` and the destination policies it adds) and any `AWS::IAM::Policy` attached
//! to it are read with their intrinsics resolved for a fixed fake account, the test's table
//! names, topics and parameters.
//!
//! The principal of a function is its binary (`Metadata.BuildProperties.Binary`: `web`,
//! `inbound-sms`, `fan-out`), which is the access key id its SDK signs with in the tests.
//! AWS-managed policies (`ManagedPolicyArns`: basic execution, DynamoDB stream reading) are
//! listed, not expanded: the functions' own code calls nothing they grant (docs/iam.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use super::policy::{Policy, PolicyError};

/// The fake account of the tests.
pub const ACCOUNT: &str = "123456789012";
/// The region of the tests (as `infra::stack::LOCAL_REGION`).
pub const REGION: &str = "eu-west-3";
pub const PARTITION: &str = "aws";

/// Why the roles could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("cannot transform {template}: {why}")]
    Transform { template: String, why: String },
    #[error("{function}: {why}")]
    Function { function: String, why: String },
    #[error("cannot resolve {what}: {why}")]
    Intrinsic { what: String, why: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// What the intrinsics resolve to: the deploy the tests play.
#[derive(Debug, Clone)]
pub struct Environment {
    pub account: String,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
    /// Template parameters; a parameter not given takes its `Default`.
    pub parameters: BTreeMap<String, String>,
    /// Physical names by logical id (tables, topics, queues...); the others are
    /// `<prefix>-<LogicalId>`, as `infra::template::create_tables` names the tables.
    pub names: BTreeMap<String, String>,
    pub prefix: String,
}

impl Environment {
    /// Account 123456789012, eu-west-3, stack `vigie`, names `<prefix>-<LogicalId>`.
    pub fn local(prefix: &str) -> Environment {
        Environment {
            account: ACCOUNT.into(),
            region: REGION.into(),
            partition: PARTITION.into(),
            stack_name: "vigie".into(),
            parameters: BTreeMap::new(),
            names: BTreeMap::new(),
            prefix: prefix.into(),
        }
    }

    fn name_of(&self, logical_id: &str) -> String {
        self.names.get(logical_id).cloned().unwrap_or_else(|| format!("{}-{logical_id}", self.prefix))
    }
}

/// One function's role.
#[derive(Debug, Clone)]
pub struct Role {
    /// The function's logical id (`FanOutFunction`).
    pub function: String,
    /// The access key id its SDK signs with (`fan-out`).
    pub principal: String,
    /// The role's logical id (`FanOutFunctionRole`).
    pub role: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<function name>`, as AWS names the caller.
    pub caller_arn: String,
    pub role_arn: String,
    pub policies: Vec<Policy>,
    /// AWS-managed policies attached by ARN, not expanded.
    pub managed: Vec<String>,
}

/// Every function's role, by principal.
#[derive(Debug, Clone)]
pub struct Roles {
    pub by_principal: BTreeMap<String, Role>,
}

impl Roles {
    /// The roles of the transformed template `cfn` in `env`.
    pub fn from_transformed(cfn: &Value, env: &Environment) -> Result<Roles, RoleError> {
        let resolver = Resolver { cfn, env };
        let resources = cfn.get("Resources").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut by_principal = BTreeMap::new();
        for (logical_id, resource) in &resources {
            if resource.get("Type").and_then(Value::as_str) != Some("AWS::Lambda::Function") {
                continue;
            }
            let fail = |why: String| RoleError::Function { function: logical_id.clone(), why };
            let principal = resource
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .unwrap_or(logical_id)
                .to_owned();
            let role = match resource.pointer("/Properties/Role") {
                Some(Value::Object(o)) => match o.get("Fn::GetAtt") {
                    Some(Value::Array(a)) if a.get(1).and_then(Value::as_str) == Some("Arn") => {
                        a[0].as_str().map(str::to_owned)
                    }
                    Some(Value::String(s)) => s.strip_suffix(".Arn").map(str::to_owned),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| {
                fail("its Role is not the Arn of a role of this template: the check cannot read it".into())
            })?;
            let role_resource = resources
                .get(&role)
                .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::IAM::Role"))
                .ok_or_else(|| fail(format!("{role} is not an AWS::IAM::Role of the template")))?;
            let props = role_resource.get("Properties").cloned().unwrap_or(Value::Null);
            if props.get("PermissionsBoundary").is_some() {
                return Err(fail(format!(
                    "{role} has a PermissionsBoundary, which the check does not evaluate"
                )));
            }
            let mut policies = Vec::new();
            for (i, inline) in
                props.get("Policies").and_then(Value::as_array).into_iter().flatten().enumerate()
            {
                let name = inline
                    .get("PolicyName")
                    .and_then(Value::as_str)
                    .map_or(format!("{role}#{i}"), str::to_owned);
                let document =
                    resolver.resolve_value(inline.get("PolicyDocument").unwrap_or(&Value::Null), &name)?;
                policies.push(Policy::parse(&name, &document)?);
            }
            for (policy_id, resource) in &resources {
                let kind = resource.get("Type").and_then(Value::as_str);
                let attached =
                    resource.pointer("/Properties/Roles").and_then(Value::as_array).is_some_and(|roles| {
                        roles.iter().any(|r| r.get("Ref").and_then(Value::as_str) == Some(role.as_str()))
                    });
                if matches!(kind, Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy")) && attached {
                    let doc = resource.pointer("/Properties/PolicyDocument").unwrap_or(&Value::Null);
                    policies.push(Policy::parse(policy_id, &resolver.resolve_value(doc, policy_id)?)?);
                }
            }
            let mut managed = Vec::new();
            for arn in props.get("ManagedPolicyArns").and_then(Value::as_array).into_iter().flatten() {
                if let Some(local) =
                    arn.get("Ref").and_then(Value::as_str).filter(|id| resources.contains_key(*id))
                {
                    let doc = resources[local].pointer("/Properties/PolicyDocument").unwrap_or(&Value::Null);
                    policies.push(Policy::parse(local, &resolver.resolve_value(doc, local)?)?);
                } else {
                    managed.push(resolver.resolve_string(arn, &format!("{role} ManagedPolicyArns"))?);
                }
            }
            let role_name = env.name_of(&role);
            let function_name = env.name_of(logical_id);
            let role_arn = format!("arn:{}:iam::{}:role/{role_name}", env.partition, env.account);
            let caller_arn = format!(
                "arn:{}:sts::{}:assumed-role/{role_name}/{function_name}",
                env.partition, env.account
            );
            let entry = Role {
                function: logical_id.clone(),
                principal: principal.clone(),
                role,
                caller_arn,
                role_arn,
                policies,
                managed,
            };
            if by_principal.insert(principal.clone(), entry).is_some() {
                return Err(fail(format!("two functions build the binary {principal}")));
            }
        }
        Ok(Roles { by_principal })
    }
}

/// The value at JSON `pointer` of the transformed template `cfn` (a topic policy's document,
/// say), its intrinsics resolved in `env`.
pub fn resolve(cfn: &Value, env: &Environment, pointer: &str) -> Result<Value, RoleError> {
    let value = cfn.pointer(pointer).ok_or_else(|| RoleError::Intrinsic {
        what: pointer.to_owned(),
        why: "no such element in the template".into(),
    })?;
    Resolver { cfn, env }.resolve_value(value, pointer)
}

/// The label of a stream in the ARNs the tests give (`.../stream/<label>`).
const STREAM_LABEL: &str = "1970-01-01T00:00:00.000";

struct Resolver<'a> {
    cfn: &'a Value,
    env: &'a Environment,
}

impl Resolver<'_> {
    fn fail(&self, what: &str, why: impl Into<String>) -> RoleError {
        RoleError::Intrinsic { what: what.to_owned(), why: why.into() }
    }

    fn resolve_value(&self, value: &Value, what: &str) -> Result<Value, RoleError> {
        Ok(self.resolve(value, what)?.unwrap_or(Value::Null))
    }

    fn resolve_string(&self, value: &Value, what: &str) -> Result<String, RoleError> {
        match self.resolve(value, what)? {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            other => Err(self.fail(what, format!("expected a string, found {other:?}"))),
        }
    }

    /// `None` is `AWS::NoValue`: the element disappears from its list or object.
    fn resolve(&self, value: &Value, what: &str) -> Result<Option<Value>, RoleError> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(v) = self.resolve(item, what)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(object) if object.len() == 1 => {
                let (key, arg) = object.iter().next().expect("one entry");
                if key == "Ref" || key.starts_with("Fn::") {
                    self.intrinsic(key, arg, what)
                } else {
                    self.object(object, what)
                }
            }
            Value::Object(object) => self.object(object, what),
            other => Ok(Some(other.clone())),
        }
    }

    fn object(&self, object: &Map<String, Value>, what: &str) -> Result<Option<Value>, RoleError> {
        let mut out = Map::new();
        for (k, v) in object {
            if let Some(v) = self.resolve(v, what)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn intrinsic(&self, name: &str, arg: &Value, what: &str) -> Result<Option<Value>, RoleError> {
        let string = |s: String| Ok(Some(Value::String(s)));
        match name {
            "Ref" => {
                let target = arg.as_str().ok_or_else(|| self.fail(what, "Ref of a non-string"))?;
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                string(self.reference(target, what)?)
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = match arg {
                    Value::Array(a) if a.len() == 2 => {
                        (a[0].as_str().unwrap_or_default().to_owned(), self.resolve_string(&a[1], what)?)
                    }
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_owned(), a.to_owned()),
                        None => return Err(self.fail(what, format!("Fn::GetAtt {s}"))),
                    },
                    _ => return Err(self.fail(what, "malformed Fn::GetAtt")),
                };
                string(self.attribute(&resource, &attribute, what)?)
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().ok_or_else(|| self.fail(what, "Fn::Sub of a non-string"))?.to_owned(),
                        a[1].as_object().cloned().unwrap_or_default(),
                    ),
                    _ => return Err(self.fail(what, "malformed Fn::Sub")),
                };
                string(self.substitute(&template, &vars, what)?)
            }
            "Fn::Join" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| self.fail(what, "malformed Fn::Join"))?;
                let separator = a[0].as_str().unwrap_or_default();
                let items = match self.resolve(&a[1], what)? {
                    Some(Value::Array(items)) => items,
                    other => return Err(self.fail(what, format!("Fn::Join of {other:?}"))),
                };
                let parts = items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| self.fail(what, format!("Fn::Join of {i}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                string(parts.join(separator))
            }
            "Fn::Select" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| self.fail(what, "malformed Fn::Select"))?;
                let index: usize = self
                    .resolve_string(&a[0], what)?
                    .parse()
                    .map_err(|_| self.fail(what, "Fn::Select index"))?;
                match self.resolve(&a[1], what)? {
                    Some(Value::Array(items)) => items
                        .get(index)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| self.fail(what, "Fn::Select out of range")),
                    other => Err(self.fail(what, format!("Fn::Select of {other:?}"))),
                }
            }
            "Fn::Split" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| self.fail(what, "malformed Fn::Split"))?;
                let separator = a[0].as_str().unwrap_or_default();
                let text = self.resolve_string(&a[1], what)?;
                Ok(Some(Value::Array(text.split(separator).map(|s| Value::String(s.to_owned())).collect())))
            }
            "Fn::If" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| self.fail(what, "malformed Fn::If"))?;
                let condition = a[0].as_str().ok_or_else(|| self.fail(what, "Fn::If on a non-string"))?;
                let branch = if self.condition(condition, what)? { &a[1] } else { &a[2] };
                self.resolve(branch, what)
            }
            "Fn::FindInMap" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| self.fail(what, "malformed Fn::FindInMap"))?;
                let keys = a.iter().map(|k| self.resolve_string(k, what)).collect::<Result<Vec<_>, _>>()?;
                let found = self
                    .cfn
                    .get("Mappings")
                    .and_then(|m| m.get(&keys[0]))
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]));
                found.cloned().map(Some).ok_or_else(|| self.fail(what, format!("no mapping {keys:?}")))
            }
            other => Err(self.fail(what, format!("{other} is not resolved by the check"))),
        }
    }

    fn condition(&self, name: &str, what: &str) -> Result<bool, RoleError> {
        let definition = self
            .cfn
            .pointer(&format!("/Conditions/{name}"))
            .ok_or_else(|| self.fail(what, format!("no condition {name}")))?;
        self.truth(definition, what)
    }

    fn truth(&self, value: &Value, what: &str) -> Result<bool, RoleError> {
        let object = value
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| self.fail(what, format!("condition {value}")))?;
        let (name, arg) = object.iter().next().expect("one entry");
        let args = || arg.as_array().cloned().unwrap_or_default();
        match name.as_str() {
            "Fn::Equals" => {
                let a = args();
                if a.len() != 2 {
                    return Err(self.fail(what, "malformed Fn::Equals"));
                }
                Ok(self.resolve_value(&a[0], what)? == self.resolve_value(&a[1], what)?)
            }
            "Fn::Not" => {
                Ok(!self.truth(args().first().ok_or_else(|| self.fail(what, "malformed Fn::Not"))?, what)?)
            }
            "Fn::And" => args().iter().try_fold(true, |acc, c| Ok(acc && self.truth(c, what)?)),
            "Fn::Or" => args().iter().try_fold(false, |acc, c| Ok(acc || self.truth(c, what)?)),
            "Condition" => self.condition(arg.as_str().unwrap_or_default(), what),
            other => Err(self.fail(what, format!("condition function {other}"))),
        }
    }

    fn substitute(&self, template: &str, vars: &Map<String, Value>, what: &str) -> Result<String, RoleError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end =
                after.find('}').ok_or_else(|| self.fail(what, format!("unclosed ${{ in {template}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = vars.get(name) {
                out.push_str(&self.resolve_string(value, what)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute, what)?);
            } else {
                out.push_str(&self.reference(name, what)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.cfn.pointer(&format!("/Resources/{logical_id}/Type")).and_then(Value::as_str)
    }

    fn reference(&self, target: &str, what: &str) -> Result<String, RoleError> {
        let env = self.env;
        match target {
            "AWS::AccountId" => return Ok(env.account.clone()),
            "AWS::Region" => return Ok(env.region.clone()),
            "AWS::Partition" => return Ok(env.partition.clone()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::StackName" => return Ok(env.stack_name.clone()),
            "AWS::StackId" => {
                return Ok(format!(
                    "arn:{}:cloudformation:{}:{}:stack/{}/local",
                    env.partition, env.region, env.account, env.stack_name
                ));
            }
            _ => {}
        }
        if let Some(parameter) = self.cfn.pointer(&format!("/Parameters/{target}")) {
            if let Some(value) = env.parameters.get(target) {
                return Ok(value.clone());
            }
            return match parameter.get("Default") {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => {
                    Err(self.fail(what, format!("parameter {target} has no default: the test must give it")))
                }
            };
        }
        let name = env.name_of(target);
        match self.resource_type(target) {
            Some("AWS::SNS::Topic") => {
                Ok(format!("arn:{}:sns:{}:{}:{name}", env.partition, env.region, env.account))
            }
            Some("AWS::SQS::Queue") => {
                Ok(format!("https://sqs.{}.amazonaws.com/{}/{name}", env.region, env.account))
            }
            Some(_) => Ok(name),
            None => Err(self.fail(what, format!("Ref {target}: no such parameter or resource"))),
        }
    }

    fn attribute(&self, resource: &str, attribute: &str, what: &str) -> Result<String, RoleError> {
        let env = self.env;
        let (p, r, a) = (&env.partition, &env.region, &env.account);
        let name = env.name_of(resource);
        let kind =
            self.resource_type(resource).ok_or_else(|| self.fail(what, format!("no resource {resource}")))?;
        Ok(match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:{p}:dynamodb:{r}:{a}:table/{name}"),
            ("AWS::DynamoDB::Table", "StreamArn") => {
                format!("arn:{p}:dynamodb:{r}:{a}:table/{name}/stream/{STREAM_LABEL}")
            }
            ("AWS::SNS::Topic", "TopicArn") => format!("arn:{p}:sns:{r}:{a}:{name}"),
            ("AWS::SNS::Topic", "TopicName") => name,
            ("AWS::SQS::Queue", "Arn") => format!("arn:{p}:sqs:{r}:{a}:{name}"),
            ("AWS::SQS::Queue", "QueueName") => name,
            ("AWS::SQS::Queue", "QueueUrl") => format!("https://sqs.{r}.amazonaws.com/{a}/{name}"),
            ("AWS::Lambda::Function", "Arn") => format!("arn:{p}:lambda:{r}:{a}:function:{name}"),
            ("AWS::IAM::Role", "Arn") => format!("arn:{p}:iam::{a}:role/{name}"),
            ("AWS::Logs::LogGroup", "Arn") => format!("arn:{p}:logs:{r}:{a}:log-group:{name}:*"),
            _ => {
                return Err(self.fail(
                    what,
                    format!("Fn::GetAtt {resource}.{attribute} ({kind}) is not resolved by the check"),
                ));
            }
        })
    }
}

/// The workspace's `template.yaml`, transformed by SAM: `.venv/bin/python infra/transform.py`
/// (or `$VIGIE_PYTHON`), run once per process and template, and cached across processes under
/// `target/vigie-iam/`, keyed by a hash of the template and of the transform's own sources.
pub fn transformed(template: &Path) -> Result<Value, RoleError> {
    static CACHE: OnceLock<Mutex<BTreeMap<u64, Value>>> = OnceLock::new();
    let fail = |why: String| RoleError::Transform { template: template.display().to_string(), why };
    let text = std::fs::read(template).map_err(|e| fail(e.to_string()))?;
    let infra = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut key_material = text.clone();
    for source in ["transform.py", "check_template.py", "requirements-test.txt"] {
        key_material.extend(std::fs::read(infra.join(source)).unwrap_or_default());
    }
    let key = fnv1a(&key_material);
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(cfn) = cache.get(&key) {
        return Ok(cfn.clone());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| infra.join("../target"));
    let dir = target.join("vigie-iam");
    let file = dir.join(format!("transformed-{key:016x}.json"));
    let cfn = match std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) {
        Some(cfn) => cfn,
        None => {
            std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            let python = std::env::var_os("VIGIE_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| infra.join("../.venv/bin/python"));
            let partial = dir.join(format!("transformed-{key:016x}.{}.tmp", std::process::id()));
            let out = std::process::Command::new(&python)
                .arg(infra.join("transform.py"))
                .arg(template)
                .arg("-o")
                .arg(&partial)
                .output()
                .map_err(|e| {
                    fail(format!("{} ({e}): make venv installs it, or set VIGIE_PYTHON", python.display()))
                })?;
            if !out.status.success() {
                return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
            }
            let bytes = std::fs::read(&partial).map_err(|e| fail(e.to_string()))?;
            let cfn: Value = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
            // Another test process may be writing the same file: renaming is atomic.
            std::fs::rename(&partial, &file).map_err(|e| fail(e.to_string()))?;
            cfn
        }
    };
    cache.insert(key, cfn.clone());
    Ok(cfn)
}

/// 64-bit FNV-1a: a stable hash for cache file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfn() -> Value {
        json!({
            "Parameters": {"SenderEmail": {"Type": "String"}, "Stage": {"Type": "String", "Default": "prod"},
                           "Alarm": {"Type": "String", "Default": ""}},
            "Conditions": {"HasAlarm": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Alarm"}, ""]}]}},
            "Resources": {
                "Ledger": {"Type": "AWS::DynamoDB::Table"},
                "Topic": {"Type": "AWS::SNS::Topic"},
                "Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"BuildProperties": {"Binary": "fan-out"}},
                       "Properties": {"Role": {"Fn::GetAtt": ["FnRole", "Arn"]}}},
                "FnRole": {"Type": "AWS::IAM::Role", "Properties": {
                    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
                    "Policies": [{"PolicyName": "FnRolePolicy0", "PolicyDocument": {"Statement": [
                        {"Sid": "Ledger", "Effect": "Allow", "Action": "dynamodb:Query",
                         "Resource": [{"Fn::GetAtt": ["Ledger", "Arn"]}, {"Fn::Sub": "${Ledger.Arn}/index/*"}]},
                        {"Sid": "Mail", "Effect": "Allow", "Action": "ses:SendEmail",
                         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
                         "Condition": {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}},
                        {"Sid": "NoTopic", "Effect": "Deny", "Action": "sns:Publish",
                         "Resource": {"Fn::If": ["HasAlarm", {"Ref": "Topic"}, {"Fn::Join": [":", ["arn", "aws", "sns", {"Ref": "AWS::Region"}, "1", "none"]]}]}}
                    ]}}]
                }}
            }
        })
    }

    #[test]
    fn a_function_s_role_is_read_with_its_intrinsics_resolved() {
        let mut env = Environment::local("vigie");
        env.parameters.insert("SenderEmail".into(), "Alertes@vigie.example.org".into());
        env.names.insert("Ledger".into(), "vigie-LedgerTable".into());
        let roles = Roles::from_transformed(&cfn(), &env).unwrap();
        let role = &roles.by_principal["fan-out"];
        assert_eq!((role.function.as_str(), role.role.as_str()), ("Fn", "FnRole"));
        assert_eq!(role.caller_arn, "arn:aws:sts::123456789012:assumed-role/vigie-FnRole/vigie-Fn");
        assert_eq!(role.managed, ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
        let resolver = Resolver { cfn: &cfn(), env: &env };
        let doc = resolver
            .resolve_value(
                cfn().pointer("/Resources/FnRole/Properties/Policies/0/PolicyDocument").unwrap(),
                "t",
            )
            .unwrap();
        assert_eq!(
            doc.pointer("/Statement/0/Resource").unwrap(),
            &json!([
                "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-LedgerTable",
                "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-LedgerTable/index/*"
            ])
        );
        assert_eq!(
            doc.pointer("/Statement/1/Condition/StringEquals/ses:FromAddress").unwrap(),
            "Alertes@vigie.example.org"
        );
        assert_eq!(doc.pointer("/Statement/2/Resource").unwrap(), "arn:aws:sns:eu-west-3:1:none");
        assert_eq!(
            resolver.resolve_value(&json!({"Fn::Sub": "a-${!Literal}-${AWS::AccountId}"}), "t").unwrap(),
            "a-${Literal}-123456789012"
        );
        env.parameters.insert("Alarm".into(), "ops@example.org".into());
        let doc = Resolver { cfn: &cfn(), env: &env }
            .resolve_value(
                cfn().pointer("/Resources/FnRole/Properties/Policies/0/PolicyDocument").unwrap(),
                "t",
            )
            .unwrap();
        assert_eq!(
            doc.pointer("/Statement/2/Resource").unwrap(),
            "arn:aws:sns:eu-west-3:123456789012:vigie-Topic"
        );
    }

    #[test]
    fn a_parameter_without_value_or_default_is_an_error() {
        let env = Environment::local("vigie");
        assert!(matches!(
            Roles::from_transformed(&cfn(), &env),
            Err(RoleError::Intrinsic { why, .. }) if why.contains("SenderEmail")
        ));
    }

    #[test]
    fn an_unknown_intrinsic_is_an_error() {
        let env = Environment::local("vigie");
        let resolver = Resolver { cfn: &Value::Null, env: &env };
        assert!(resolver.resolve(&json!({"Fn::ImportValue": "x"}), "t").is_err());
    }
}
