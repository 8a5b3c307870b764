//! IAM policy documents and their evaluation, as IAM evaluates the identity-based policies of a
//! role in its own account (no resource policy, boundary or SCP in play):
//! an explicit `Deny` wins, then any `Allow`, else the call is implicitly denied.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>
//!
//! - `Action` / `NotAction`: `service:Operation` patterns with `*` and `?`, case-insensitive.
//! - `Resource` / `NotResource`: ARN patterns with `*` and `?` inside a colon-separated segment;
//!   a `*` that ends a segment may match beyond the colons
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>).
//! - `Condition`: the string, ARN, boolean, numeric and null operators, their `...IfExists`
//!   forms and the `ForAnyValue:` / `ForAllValues:` qualifiers, with IAM's rule for a key the
//!   request does not carry: no match, except for the negated operators and `...IfExists`
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>).
//!
//! What this evaluator does not know fails loudly instead of being allowed or ignored: an
//! unknown operator or element is a [`PolicyError`] when the policy is read; a condition on a key
//! the request context does not model (the mapping in `actions.rs` says which keys it vouches
//! for, present or absent) is an [`EvalError`] when a call is judged.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {policy}: {what}")]
    Malformed { policy: String, what: String },
    #[error(
        "policy {policy}: condition operator {operator} is not known to the check (docs/iam.md lists those it evaluates)"
    )]
    UnknownOperator { policy: String, operator: String },
    #[error("policy {policy}: {value} uses a policy variable, which the check does not evaluate")]
    Variable { policy: String, value: String },
}

/// Why a call could not be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("statement {statement} has a condition on {key}, which the check does not model for {action}")]
    UnmodeledKey { statement: String, key: String, action: String },
    #[error(
        "statement {statement}: {key} has several values in the request; the condition needs ForAnyValue: or ForAllValues:"
    )]
    MultivaluedKey { statement: String, key: String },
}

/// A policy statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
enum Patterns {
    /// `Action` / `Resource`: one of them must match.
    Any(Vec<String>),
    /// `NotAction` / `NotResource`: none may match.
    None(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone)]
struct Operator {
    base: Base,
    negated: bool,
    if_exists: bool,
    qualifier: Option<Qualifier>,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        let (qualifier, rest) = match text.split_once(':') {
            Some(("ForAnyValue", rest)) => (Some(Qualifier::ForAnyValue), rest),
            Some(("ForAllValues", rest)) => (Some(Qualifier::ForAllValues), rest),
            Some(_) => return None,
            None => (None, text),
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (base, negated) = match rest {
            "StringEquals" => (Base::StringEquals, false),
            "StringNotEquals" => (Base::StringEquals, true),
            "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
            "StringLike" => (Base::StringLike, false),
            "StringNotLike" => (Base::StringLike, true),
            // ArnEquals and ArnLike behave alike: both match segment by segment, wildcards allowed.
            "ArnEquals" | "ArnLike" => (Base::ArnLike, false),
            "ArnNotEquals" | "ArnNotLike" => (Base::ArnLike, true),
            "Bool" => (Base::Bool, false),
            "NumericEquals" => (Base::NumericEquals, false),
            "NumericNotEquals" => (Base::NumericEquals, true),
            "NumericLessThan" => (Base::NumericLessThan, false),
            "NumericLessThanEquals" => (Base::NumericLessThanEquals, false),
            "NumericGreaterThan" => (Base::NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (Base::NumericGreaterThanEquals, false),
            "Null" if qualifier.is_none() && !if_exists => (Base::Null, false),
            _ => return None,
        };
        Some(Operator { base, negated, if_exists, qualifier })
    }

    /// Whether one request value matches one of the policy's values (before negation).
    fn matches_one(&self, value: &str, wanted: &[String]) -> bool {
        wanted.iter().any(|w| match self.base {
            Base::StringEquals => value == w,
            Base::StringEqualsIgnoreCase => {
                value.eq_ignore_ascii_case(w) || value.to_lowercase() == w.to_lowercase()
            }
            Base::StringLike => glob(w.as_bytes(), value.as_bytes(), false, false),
            Base::ArnLike => arn_like(w, value),
            Base::Bool => value.eq_ignore_ascii_case(w),
            Base::NumericEquals
            | Base::NumericLessThan
            | Base::NumericLessThanEquals
            | Base::NumericGreaterThan
            | Base::NumericGreaterThanEquals => match (value.parse::<f64>(), w.parse::<f64>()) {
                (Ok(v), Ok(w)) => match self.base {
                    Base::NumericEquals => v == w,
                    Base::NumericLessThan => v < w,
                    Base::NumericLessThanEquals => v <= w,
                    Base::NumericGreaterThan => v > w,
                    _ => v >= w,
                },
                _ => false,
            },
            Base::Null => false,
        })
    }

    /// One value, negation applied.
    fn holds_for(&self, value: &str, wanted: &[String]) -> bool {
        self.matches_one(value, wanted) != self.negated
    }
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    /// As written (for messages); compared lower-cased: condition keys are case-insensitive.
    key: String,
    values: Vec<String>,
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    /// `<policy name>/<Sid>` or `<policy name>/#<index>`: how reports name it.
    pub name: String,
    pub effect: Effect,
    actions: Patterns,
    resources: Patterns,
    conditions: Vec<Condition>,
}

/// A policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub statements: Vec<Statement>,
}

/// The request context of one authorization: its condition keys and values, and the keys whose
/// absence is known (so a condition on them is judged, not refused as unmodeled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
    vouched: BTreeSet<String>,
}

impl Context {
    /// Sets `key` to `values` (several for a multivalued key such as `ses:Recipients`).
    pub fn set(&mut self, key: &str, values: impl IntoIterator<Item = impl Into<String>>) {
        let key = key.to_lowercase();
        self.values.insert(key.clone(), values.into_iter().map(Into::into).collect());
        self.vouched.insert(key);
    }

    /// `key` is known to be absent from this request.
    pub fn absent(&mut self, key: &str) {
        let key = key.to_lowercase();
        self.values.remove(&key);
        self.vouched.insert(key);
    }

    /// The values of `key`, if the request carries it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_lowercase()).map(Vec::as_slice)
    }

    fn knows(&self, key: &str) -> bool {
        self.vouched.contains(&key.to_lowercase())
    }
}

/// What the policies decide about one (action, resource, context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed { by: String },
    ExplicitDeny { by: String },
    ImplicitDeny,
}

/// Evaluates `policies` together for one request, as IAM does.
pub fn evaluate(
    policies: &[Policy],
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<Decision, EvalError> {
    let mut allowed_by = None;
    for statement in policies.iter().flat_map(|p| &p.statements) {
        if !statement.applies_to(action, resource) {
            continue;
        }
        if !statement.conditions_hold(action, context)? {
            continue;
        }
        match statement.effect {
            Effect::Deny => return Ok(Decision::ExplicitDeny { by: statement.name.clone() }),
            Effect::Allow => {
                allowed_by.get_or_insert_with(|| statement.name.clone());
            }
        }
    }
    Ok(allowed_by.map_or(Decision::ImplicitDeny, |by| Decision::Allowed { by }))
}

impl Statement {
    fn applies_to(&self, action: &str, resource: &str) -> bool {
        let action_matches = |p: &String| glob(p.as_bytes(), action.as_bytes(), true, false);
        let resource_matches = |p: &String| resource_like(p, resource);
        let actions = match &self.actions {
            Patterns::Any(patterns) => patterns.iter().any(action_matches),
            Patterns::None(patterns) => !patterns.iter().any(action_matches),
        };
        actions
            && match &self.resources {
                Patterns::Any(patterns) => patterns.iter().any(resource_matches),
                Patterns::None(patterns) => !patterns.iter().any(resource_matches),
            }
    }

    fn conditions_hold(&self, action: &str, context: &Context) -> Result<bool, EvalError> {
        for condition in &self.conditions {
            if !context.knows(&condition.key) {
                return Err(EvalError::UnmodeledKey {
                    statement: self.name.clone(),
                    key: condition.key.clone(),
                    action: action.to_owned(),
                });
            }
            let op = &condition.operator;
            let present = context.get(&condition.key).filter(|v| !v.is_empty());
            let holds = match (op.base, op.qualifier, present) {
                (Base::Null, _, present) => {
                    let wants_absent = condition.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
                    wants_absent == present.is_none()
                }
                (_, Some(Qualifier::ForAnyValue), None) => false,
                (_, Some(Qualifier::ForAllValues), None) => true,
                (_, Some(Qualifier::ForAnyValue), Some(values)) => {
                    values.iter().any(|v| op.holds_for(v, &condition.values))
                }
                (_, Some(Qualifier::ForAllValues), Some(values)) => {
                    values.iter().all(|v| op.holds_for(v, &condition.values))
                }
                (_, None, None) => op.if_exists || op.negated,
                (_, None, Some([value])) => op.holds_for(value, &condition.values),
                (_, None, Some(_)) => {
                    return Err(EvalError::MultivaluedKey {
                        statement: self.name.clone(),
                        key: condition.key.clone(),
                    });
                }
            };
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Policy {
    /// Reads a policy document (already free of CloudFormation intrinsics) named `name`.
    pub fn parse(name: &str, document: &Value) -> Result<Policy, PolicyError> {
        let malformed = |what: String| PolicyError::Malformed { policy: name.to_owned(), what };
        let doc = document.as_object().ok_or_else(|| malformed("not a JSON object".into()))?;
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
                return Err(malformed(format!("unknown element {key}")));
            }
        }
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err(malformed("no Statement".into())),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::parse(name, i, s))
            .collect::<Result<_, _>>()?;
        Ok(Policy { name: name.to_owned(), statements })
    }
}

impl Statement {
    fn parse(policy: &str, index: usize, value: &Value) -> Result<Statement, PolicyError> {
        let malformed = |what: String| PolicyError::Malformed { policy: policy.to_owned(), what };
        let object =
            value.as_object().ok_or_else(|| malformed(format!("statement #{index} is not an object")))?;
        for key in object.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition" => {}
                "Principal" | "NotPrincipal" => {
                    return Err(malformed(format!(
                        "statement #{index} names a {key}: not an identity-based policy"
                    )));
                }
                other => return Err(malformed(format!("statement #{index} has an unknown element {other}"))),
            }
        }
        let sid = object.get("Sid").and_then(Value::as_str);
        let name = match sid {
            Some(sid) => format!("{policy}/{sid}"),
            None => format!("{policy}/#{index}"),
        };
        let effect = match object.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(malformed(format!("{name}: Effect {other:?}"))),
        };
        let patterns = |yes: &str, no: &str| -> Result<Patterns, PolicyError> {
            match (object.get(yes), object.get(no)) {
                (Some(v), None) => Ok(Patterns::Any(strings(policy, &name, yes, v)?)),
                (None, Some(v)) => Ok(Patterns::None(strings(policy, &name, no, v)?)),
                _ => Err(malformed(format!("{name}: exactly one of {yes} and {no} is needed"))),
            }
        };
        let actions = patterns("Action", "NotAction")?;
        let resources = patterns("Resource", "NotResource")?;
        let mut conditions = Vec::new();
        if let Some(block) = object.get("Condition") {
            let block =
                block.as_object().ok_or_else(|| malformed(format!("{name}: Condition is not an object")))?;
            for (operator_text, keys) in block {
                let operator =
                    Operator::parse(operator_text).ok_or_else(|| PolicyError::UnknownOperator {
                        policy: policy.to_owned(),
                        operator: operator_text.clone(),
                    })?;
                let keys = keys
                    .as_object()
                    .ok_or_else(|| malformed(format!("{name}: {operator_text} is not an object")))?;
                for (key, values) in keys {
                    conditions.push(Condition {
                        operator: operator.clone(),
                        key: key.clone(),
                        values: strings(policy, &name, key, values)?,
                    });
                }
            }
        }
        Ok(Statement { name, effect, actions, resources, conditions })
    }
}

/// A string or a list of strings (numbers and booleans as IAM reads them: their text).
fn strings(policy: &str, statement: &str, element: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| -> Result<String, PolicyError> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(PolicyError::Malformed {
                    policy: policy.to_owned(),
                    what: format!("{statement}: {element} holds {other}, not a string"),
                });
            }
        };
        if text.contains("${") {
            return Err(PolicyError::Variable { policy: policy.to_owned(), value: text });
        }
        Ok(text)
    };
    match value {
        Value::Array(list) => list.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// `pattern` (with `*` and `?`) against `value`. With `segments`, a wildcard stays inside a
/// colon-separated segment, except a `*` that ends a segment, which may match beyond it.
fn glob(pattern: &[u8], value: &[u8], ignore_case: bool, segments: bool) -> bool {
    let eq = |a: u8, b: u8| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let same = |a: &[u8], b: &[u8]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| eq(*x, *y));
    // Most patterns are a literal, or a literal then one final `*`.
    match pattern.iter().position(|c| *c == b'*' || *c == b'?') {
        None => return same(pattern, value),
        Some(at) if at + 1 == pattern.len() && pattern[at] == b'*' => {
            return value.len() >= at && same(&pattern[..at], &value[..at]);
        }
        _ => {}
    }
    // matches[v]: whether pattern[..p] matches value[..v], row by row over p.
    let mut matches = vec![false; value.len() + 1];
    let mut next = vec![false; value.len() + 1];
    matches[0] = true;
    for (p, &c) in pattern.iter().enumerate() {
        if c == b'*' {
            let crosses = !segments || p + 1 == pattern.len() || pattern[p + 1] == b':';
            next[0] = matches[0];
            for v in 1..=value.len() {
                next[v] = matches[v] || (next[v - 1] && (crosses || value[v - 1] != b':'));
            }
        } else {
            next[0] = false;
            for v in 1..=value.len() {
                let one = if c == b'?' { !(segments && value[v - 1] == b':') } else { eq(c, value[v - 1]) };
                next[v] = matches[v - 1] && one;
            }
        }
        std::mem::swap(&mut matches, &mut next);
    }
    matches[value.len()]
}

/// The `Resource` element's matching.
fn resource_like(pattern: &str, resource: &str) -> bool {
    pattern == "*" || glob(pattern.as_bytes(), resource.as_bytes(), false, true)
}

/// `ArnLike` / `ArnEquals`: each of the six colon-separated parts matched on its own.
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6
        && v.len() == 6
        && p.iter().zip(&v).all(|(p, v)| glob(p.as_bytes(), v.as_bytes(), false, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statements: Value) -> Policy {
        Policy::parse("P", &json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    fn decide(policy: &Policy, action: &str, resource: &str, context: &Context) -> Decision {
        evaluate(std::slice::from_ref(policy), action, resource, context).unwrap()
    }

    const TABLE: &str = "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-LedgerTable";

    #[test]
    fn an_explicit_deny_wins_over_an_allow() {
        let p = policy(json!([
            {"Sid": "SendSms", "Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            {"Sid": "NoOwnTopics", "Effect": "Deny", "Action": "sns:Publish",
             "Resource": "arn:aws:sns:eu-west-3:123456789012:vigie-InboundSmsTopic"}
        ]));
        let none = Context::default();
        assert_eq!(
            decide(&p, "sns:Publish", "+33639980001", &none),
            Decision::Allowed { by: "P/SendSms".into() }
        );
        assert_eq!(
            decide(&p, "sns:Publish", "arn:aws:sns:eu-west-3:123456789012:vigie-InboundSmsTopic", &none),
            Decision::ExplicitDeny { by: "P/NoOwnTopics".into() }
        );
        assert_eq!(decide(&p, "sns:CreateTopic", "*", &none), Decision::ImplicitDeny);
    }

    #[test]
    fn actions_match_with_wildcards_ignoring_case() {
        let p = policy(
            json!({"Effect": "Allow", "Action": ["dynamodb:Get*", "DYNAMODB:batch?etitem"], "Resource": TABLE}),
        );
        let none = Context::default();
        for action in
            ["dynamodb:GetItem", "dynamodb:getitem", "dynamodb:BatchGetItem", "dynamodb:BatchSetItem"]
        {
            assert!(matches!(decide(&p, action, TABLE, &none), Decision::Allowed { .. }), "{action}");
        }
        for action in ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "sns:GetTopicAttributes"] {
            assert_eq!(decide(&p, action, TABLE, &none), Decision::ImplicitDeny, "{action}");
        }
    }

    #[test]
    fn a_table_does_not_grant_its_indexes() {
        let p = policy(json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": TABLE}));
        let none = Context::default();
        assert!(matches!(decide(&p, "dynamodb:Query", TABLE, &none), Decision::Allowed { .. }));
        assert_eq!(
            decide(&p, "dynamodb:Query", &format!("{TABLE}/index/ByRecipient"), &none),
            Decision::ImplicitDeny
        );
        let indexes = policy(
            json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": format!("{TABLE}/index/*")}),
        );
        assert!(matches!(
            decide(&indexes, "dynamodb:Query", &format!("{TABLE}/index/ByRecipient"), &none),
            Decision::Allowed { .. }
        ));
        assert_eq!(decide(&indexes, "dynamodb:Query", TABLE, &none), Decision::ImplicitDeny);
        // Resource ARNs are case-sensitive.
        assert_eq!(decide(&p, "dynamodb:Query", &TABLE.to_lowercase(), &none), Decision::ImplicitDeny);
    }

    #[test]
    fn resource_wildcards_stay_in_their_segment_unless_they_end_it() {
        let none = Context::default();
        let region_star = policy(
            json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:dynamodb:*:123456789012:table/vigie-*"}),
        );
        assert!(matches!(decide(&region_star, "dynamodb:GetItem", TABLE, &none), Decision::Allowed { .. }));
        assert_eq!(
            decide(
                &region_star,
                "dynamodb:GetItem",
                "arn:aws:dynamodb:eu-west-3:999999999999:table/vigie-LedgerTable",
                &none
            ),
            Decision::ImplicitDeny
        );
        // A * inside a segment does not swallow a colon...
        let inner =
            policy(json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:sns:eu-west-3:1*2:topic"}));
        assert_eq!(
            decide(&inner, "sns:Publish", "arn:aws:sns:eu-west-3:1:x:2:topic", &none),
            Decision::ImplicitDeny
        );
        // ...one that ends a segment does.
        let trailing = policy(json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:sns:*"}));
        assert!(matches!(
            decide(&trailing, "sns:Publish", "arn:aws:sns:eu-west-3:123456789012:t", &none),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn not_resource_and_not_action_invert_the_match() {
        let p = policy(json!([
            {"Sid": "AllButLedger", "Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE},
            {"Sid": "NoDeletes", "Effect": "Deny", "NotAction": ["dynamodb:Get*", "dynamodb:Query"], "Resource": "*"}
        ]));
        let members = "arn:aws:dynamodb:eu-west-3:123456789012:table/vigie-MembersTable";
        let none = Context::default();
        assert!(matches!(decide(&p, "dynamodb:GetItem", members, &none), Decision::Allowed { .. }));
        assert_eq!(decide(&p, "dynamodb:GetItem", TABLE, &none), Decision::ImplicitDeny);
        assert_eq!(
            decide(&p, "dynamodb:DeleteItem", members, &none),
            Decision::ExplicitDeny { by: "P/NoDeletes".into() }
        );
    }

    #[test]
    fn string_conditions_and_their_case() {
        let exact = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"StringEquals": {"ses:FromAddress": "Alertes@Vigie.example.org"}}}));
        let ignoring = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"StringEqualsIgnoreCase": {"SES:FROMADDRESS": "Alertes@Vigie.example.org"}}}));
        let like = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"StringLike": {"ses:FromAddress": "*@vigie.example.org"}}}));
        let mut lower = Context::default();
        lower.set("ses:FromAddress", ["alertes@vigie.example.org"]);
        assert_eq!(decide(&exact, "ses:SendEmail", "*", &lower), Decision::ImplicitDeny);
        assert!(matches!(decide(&ignoring, "ses:SendEmail", "*", &lower), Decision::Allowed { .. }));
        assert!(matches!(decide(&like, "ses:SendEmail", "*", &lower), Decision::Allowed { .. }));
        let mut other = Context::default();
        other.set("ses:FromAddress", ["alertes@evil.example.org"]);
        assert_eq!(decide(&like, "ses:SendEmail", "*", &other), Decision::ImplicitDeny);
    }

    #[test]
    fn a_missing_key_fails_a_condition_except_negated_and_if_exists() {
        let mut no_source = Context::default();
        no_source.absent("aws:SourceArn");
        let arn = "arn:aws:sms-voice:eu-west-3:123456789012:phone-number/*";
        let cases = [
            ("ArnLike", false),
            ("ArnNotLike", true),
            ("ArnLikeIfExists", true),
            ("ArnEquals", false),
            ("StringEquals", false),
            ("StringNotEquals", true),
        ];
        for (operator, allowed) in cases {
            let p = policy(json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
                "Condition": {operator: {"aws:SourceArn": arn}}}));
            assert_eq!(
                matches!(decide(&p, "sns:Publish", "*", &no_source), Decision::Allowed { .. }),
                allowed,
                "{operator}"
            );
        }
        let mut with_source = Context::default();
        with_source.set("aws:SourceArn", ["arn:aws:sms-voice:eu-west-3:123456789012:phone-number/phone-abc"]);
        let like = policy(json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": arn}}}));
        assert!(matches!(decide(&like, "sns:Publish", "*", &with_source), Decision::Allowed { .. }));
        let null = policy(
            json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:SourceArn": "true"}}}),
        );
        assert!(matches!(decide(&null, "sns:Publish", "*", &no_source), Decision::ExplicitDeny { .. }));
        assert_eq!(decide(&null, "sns:Publish", "*", &with_source), Decision::ImplicitDeny);
    }

    #[test]
    fn arn_conditions_match_part_by_part() {
        assert!(arn_like(
            "arn:aws:sms-voice:*:123456789012:*",
            "arn:aws:sms-voice:eu-west-3:123456789012:pool/pool-1"
        ));
        assert!(!arn_like(
            "arn:aws:sms-voice:*:123456789012:*",
            "arn:aws:sms-voice:eu-west-3:999999999999:pool/pool-1"
        ));
        assert!(!arn_like("arn:aws:sms-voice:*:*:*", "not an arn"));
    }

    #[test]
    fn multivalued_keys_need_a_set_qualifier() {
        let mut recipients = Context::default();
        recipients.set("ses:Recipients", ["a@example.org", "b@elsewhere.example"]);
        let all = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"ForAllValues:StringLike": {"ses:Recipients": "*@example.org"}}}));
        let any = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"ForAnyValue:StringLike": {"ses:Recipients": "*@example.org"}}}));
        assert_eq!(decide(&all, "ses:SendEmail", "*", &recipients), Decision::ImplicitDeny);
        assert!(matches!(decide(&any, "ses:SendEmail", "*", &recipients), Decision::Allowed { .. }));
        let bare = policy(json!({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"StringLike": {"ses:Recipients": "*@example.org"}}}));
        assert!(matches!(
            evaluate(&[bare], "ses:SendEmail", "*", &recipients),
            Err(EvalError::MultivaluedKey { .. })
        ));
    }

    #[test]
    fn what_the_check_does_not_know_fails_loudly() {
        let date = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}});
        assert!(
            matches!(Policy::parse("P", &date), Err(PolicyError::UnknownOperator { operator, .. }) if operator == "DateLessThan")
        );
        let typo = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEqual": {"ses:FromAddress": "a@b.c"}}}});
        assert!(matches!(Policy::parse("P", &typo), Err(PolicyError::UnknownOperator { .. })));
        let variable = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}});
        assert!(matches!(Policy::parse("P", &variable), Err(PolicyError::Variable { .. })));
        let principal =
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}});
        assert!(matches!(Policy::parse("P", &principal), Err(PolicyError::Malformed { .. })));
        let both =
            json!({"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}});
        assert!(matches!(Policy::parse("P", &both), Err(PolicyError::Malformed { .. })));
        // A condition on a key the request context does not model: refused, not guessed.
        let leading = policy(json!({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "SESSION#*"}}}));
        assert!(matches!(
            evaluate(&[leading], "dynamodb:GetItem", TABLE, &Context::default()),
            Err(EvalError::UnmodeledKey { key, .. }) if key == "dynamodb:LeadingKeys"
        ));
    }

    /// The cases moto's evaluator is also checked on (infra/test_iam_cases.py).
    #[test]
    fn the_shared_cases_are_decided_as_expected() {
        let cases: Value = serde_json::from_str(include_str!("../../tests/fixtures/iam_cases.json")).unwrap();
        let cases = cases["cases"].as_array().unwrap();
        assert!(cases.len() >= 15);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let policy = Policy::parse(name, &case["policy"]).unwrap();
            let mut context = Context::default();
            for (key, values) in case["context"].as_object().into_iter().flatten() {
                context.set(key, values.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()));
            }
            let decision = decide(
                &policy,
                case["action"].as_str().unwrap(),
                case["resource"].as_str().unwrap(),
                &context,
            );
            let got = match decision {
                Decision::Allowed { .. } => "allow",
                Decision::ExplicitDeny { .. } => "deny",
                Decision::ImplicitDeny => "implicit",
            };
            assert_eq!(got, case["expected"].as_str().unwrap(), "{name}");
        }
    }

    #[test]
    fn glob_corner_cases() {
        assert!(glob(b"*", b"", false, false));
        assert!(glob(b"a*b*c", b"aXXbYYc", false, false));
        assert!(!glob(b"a*b*c", b"aXXbYY", false, false));
        assert!(glob(b"a?c", b"abc", false, false));
        assert!(!glob(b"a?c", b"ac", false, false));
        assert!(glob(b"ses:Send*", b"SES:SENDEMAIL", true, false));
        assert!(!glob(b"ses:Send*", b"SES:SENDEMAIL", false, false));
    }
}
