//! What a call asks IAM: each API request mapped to the (action, resource, condition keys) IAM
//! authorizes, as AWS's Service Authorization Reference and the services' guides say. Every row
//! and its source is in docs/iam.md; an operation that is not mapped here is refused, never
//! waved through.
//!
//! - DynamoDB: one authorization per table (or index, with `IndexName`); `BatchGetItem` and
//!   `BatchWriteItem` per table of `RequestItems`; `TransactWriteItems` per item as `PutItem`,
//!   `UpdateItem`, `DeleteItem` or `ConditionCheckItem`, `TransactGetItems` per item as `GetItem`,
//!   with `dynamodb:EnclosingOperation`.
//! - SNS `Publish`: the topic (`TopicArn`), the endpoint (`TargetArn`), or, straight to a phone
//!   number, the number itself (which only `"*"` allows); the SMS account operations on
//!   `arn:aws:sns:<region>:<account>:*`.
//! - SES v2 `SendEmail`: the identity of the From address, in the sandbox each recipient's
//!   identity too, the configuration set when one is named; `ses:FromAddress`, `ses:Recipients`.

use serde_json::Value;

use super::policy::Context;
use super::{Call, Service};

/// One authorization IAM makes for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `dynamodb:GetItem`.
    pub action: String,
    /// The resource ARN (or `*`, or a phone number for SNS `Publish`).
    pub resource: String,
    pub context: Context,
}

/// Whose call, where.
#[derive(Debug, Clone)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account: String,
    /// Whether the SES account is in the sandbox (recipients' identities are authorized too).
    pub ses_sandbox: bool,
}

/// Why a call could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {why}")]
pub struct Unmapped {
    pub operation: String,
    pub why: String,
}

/// The authorizations `call` needs, in order, without repeats.
pub fn authorizations(call: &Call, scope: &Scope) -> Result<Vec<Authorization>, Unmapped> {
    let operation = call.operation.clone().unwrap_or_else(|| format!("{} {}", call.method, call.path));
    let unmapped = |why: &str| Unmapped { operation: operation.clone(), why: why.to_owned() };
    let mut base = Context::default();
    // The few global keys the check vouches for (docs/iam.md); a condition on any other key fails
    // loudly rather than being guessed.
    base.set("aws:PrincipalAccount", [scope.account.as_str()]);
    base.set("aws:RequestedRegion", [scope.region.as_str()]);
    // Keys that a service calling on someone's behalf carries, not a function's own call.
    base.absent("aws:SourceArn");
    base.absent("aws:SourceAccount");
    let mut found = match call.service {
        Service::DynamoDb => dynamodb(call, scope, &operation, &base)?,
        Service::Sns => sns(call, scope, &operation, &base)?,
        Service::Ses => ses(call, scope, &operation, &base)?,
        Service::DynamoDbStreams => {
            return Err(unmapped(
                "DynamoDB Streams is read by Lambda's event source mapping, not by the functions; not mapped",
            ));
        }
        Service::Other => return Err(unmapped("not an AWS API the check knows")),
    };
    let mut unique = Vec::new();
    for a in found.drain(..) {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(unmapped("the request names no resource"));
    }
    Ok(unique)
}

fn table_arn(scope: &Scope, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:{}:dynamodb:{}:{}:table/{name}", scope.partition, scope.region, scope.account)
    }
}

fn dynamodb(
    call: &Call,
    scope: &Scope,
    operation: &str,
    base: &Context,
) -> Result<Vec<Authorization>, Unmapped> {
    let unmapped = |why: String| Unmapped { operation: operation.to_owned(), why };
    let body = call.json().ok_or_else(|| unmapped("the body is not JSON".into()))?;
    let text = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).map(str::to_owned);
    let mut context = base.clone();
    context.absent("dynamodb:EnclosingOperation");
    let one = |action: &str, resource: String, context: &Context| Authorization {
        action: format!("dynamodb:{action}"),
        resource,
        context: context.clone(),
    };
    let table = || text(body, "TableName").ok_or_else(|| unmapped("no TableName".into()));
    Ok(match operation {
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" | "DescribeTable" | "DescribeTimeToLive" => {
            vec![one(operation, table_arn(scope, &table()?), &context)]
        }
        "Query" | "Scan" => {
            let arn = table_arn(scope, &table()?);
            let resource = match text(body, "IndexName") {
                Some(index) => format!("{arn}/index/{index}"),
                None => arn,
            };
            vec![one(operation, resource, &context)]
        }
        "BatchGetItem" | "BatchWriteItem" => {
            let tables = body
                .get("RequestItems")
                .and_then(Value::as_object)
                .ok_or_else(|| unmapped("no RequestItems".into()))?;
            tables.keys().map(|t| one(operation, table_arn(scope, t), &context)).collect()
        }
        "TransactWriteItems" | "TransactGetItems" => {
            let items = body
                .get("TransactItems")
                .and_then(Value::as_array)
                .ok_or_else(|| unmapped("no TransactItems".into()))?;
            let mut inner = context.clone();
            inner.set("dynamodb:EnclosingOperation", [operation]);
            let kinds: &[(&str, &str)] = if operation == "TransactGetItems" {
                &[("Get", "GetItem")]
            } else {
                &[
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ]
            };
            let mut out = Vec::new();
            for item in items {
                let (part, action) = kinds
                    .iter()
                    .find_map(|(part, action)| item.get(*part).map(|p| (p, *action)))
                    .ok_or_else(|| unmapped(format!("an item of an unknown kind: {item}")))?;
                let name =
                    text(part, "TableName").ok_or_else(|| unmapped("an item without TableName".into()))?;
                out.push(one(action, table_arn(scope, &name), &inner));
            }
            out
        }
        "ListTables" => vec![one(operation, "*".into(), &context)],
        _ => {
            return Err(unmapped(
                "this DynamoDB operation is not mapped (docs/iam.md says how to add it)".into(),
            ));
        }
    })
}

fn sns(call: &Call, scope: &Scope, operation: &str, base: &Context) -> Result<Vec<Authorization>, Unmapped> {
    let unmapped = |why: &str| Unmapped { operation: operation.to_owned(), why: why.to_owned() };
    let action = format!("sns:{operation}");
    let resource = match operation {
        "Publish" => {
            let targets: Vec<&str> =
                ["TopicArn", "TargetArn", "PhoneNumber"].iter().filter_map(|p| call.param(p)).collect();
            match targets.as_slice() {
                [one] => (*one).to_owned(),
                [] => return Err(unmapped("no TopicArn, TargetArn or PhoneNumber")),
                _ => return Err(unmapped("more than one of TopicArn, TargetArn and PhoneNumber")),
            }
        }
        "CheckIfPhoneNumberIsOptedOut"
        | "ListPhoneNumbersOptedOut"
        | "OptInPhoneNumber"
        | "GetSMSAttributes"
        | "SetSMSAttributes"
        | "GetSMSSandboxAccountStatus" => {
            format!("arn:{}:sns:{}:{}:*", scope.partition, scope.region, scope.account)
        }
        _ => return Err(unmapped("this SNS operation is not mapped (docs/iam.md says how to add it)")),
    };
    Ok(vec![Authorization { action, resource, context: base.clone() }])
}

/// The address of `Name <address>` or `address`.
fn address_of(text: &str) -> String {
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close].trim().to_owned(),
        _ => text.trim().to_owned(),
    }
}

fn ses(call: &Call, scope: &Scope, operation: &str, base: &Context) -> Result<Vec<Authorization>, Unmapped> {
    let unmapped = |why: &str| Unmapped { operation: operation.to_owned(), why: why.to_owned() };
    let arn = |kind: &str, name: &str| {
        format!("arn:{}:ses:{}:{}:{kind}/{name}", scope.partition, scope.region, scope.account)
    };
    let mut context = base.clone();
    match operation {
        "SendEmail" => {
            let body = call.json().ok_or_else(|| unmapped("the body is not JSON"))?;
            let from = body.get("FromEmailAddress").and_then(Value::as_str).ok_or_else(|| {
                unmapped("no FromEmailAddress: ses:FromAddress would come from the raw message's From header, which the check does not read")
            })?;
            let address = address_of(from);
            let recipients: Vec<String> = ["ToAddresses", "CcAddresses", "BccAddresses"]
                .iter()
                .filter_map(|field| body.pointer(&format!("/Destination/{field}")).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .map(address_of)
                .collect();
            context.set("ses:FromAddress", [address.clone()]);
            if recipients.is_empty() {
                context.absent("ses:Recipients");
            } else {
                context.set("ses:Recipients", recipients.clone());
            }
            let mut resources = vec![arn("identity", &address)];
            if scope.ses_sandbox {
                resources.extend(recipients.iter().map(|r| arn("identity", r)));
            }
            if let Some(set) = body.get("ConfigurationSetName").and_then(Value::as_str) {
                resources.push(arn("configuration-set", set));
            }
            Ok(resources
                .into_iter()
                .map(|resource| Authorization {
                    action: "ses:SendEmail".into(),
                    resource,
                    context: context.clone(),
                })
                .collect())
        }
        "GetAccount" => {
            Ok(vec![Authorization { action: "ses:GetAccount".into(), resource: "*".into(), context }])
        }
        _ => Err(unmapped("this SES v2 operation is not mapped (docs/iam.md says how to add it)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderMap;
    use hyper::{Method, body::Bytes};

    fn scope() -> Scope {
        Scope {
            partition: "aws".into(),
            region: "eu-west-3".into(),
            account: "123456789012".into(),
            ses_sandbox: true,
        }
    }

    fn dynamo(op: &str, body: serde_json::Value) -> Call {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", format!("DynamoDB_20120810.{op}").parse().unwrap());
        Call::new(Method::POST, "/".into(), headers, Bytes::from(body.to_string()))
    }

    fn pairs(call: &Call) -> Vec<(String, String)> {
        authorizations(call, &scope()).unwrap().into_iter().map(|a| (a.action, a.resource)).collect()
    }

    const T: &str = "arn:aws:dynamodb:eu-west-3:123456789012:table/";

    #[test]
    fn a_query_on_an_index_is_authorized_on_the_index() {
        let call = dynamo(
            "Query",
            serde_json::json!({"TableName": "vigie-LedgerTable", "IndexName": "ByRecipient"}),
        );
        assert_eq!(
            pairs(&call),
            [("dynamodb:Query".into(), format!("{T}vigie-LedgerTable/index/ByRecipient"))]
        );
        let call = dynamo("Query", serde_json::json!({"TableName": "vigie-MembersTable"}));
        assert_eq!(pairs(&call), [("dynamodb:Query".into(), format!("{T}vigie-MembersTable"))]);
    }

    #[test]
    fn batches_are_authorized_per_table() {
        let call = dynamo(
            "BatchGetItem",
            serde_json::json!({"RequestItems": {"vigie-LedgerTable": {"Keys": []}, "vigie-AlertsTable": {"Keys": []}}}),
        );
        let mut got = pairs(&call);
        got.sort();
        assert_eq!(
            got,
            [
                ("dynamodb:BatchGetItem".into(), format!("{T}vigie-AlertsTable")),
                ("dynamodb:BatchGetItem".into(), format!("{T}vigie-LedgerTable"))
            ]
        );
    }

    #[test]
    fn a_transaction_is_authorized_item_by_item() {
        let call = dynamo(
            "TransactWriteItems",
            serde_json::json!({"TransactItems": [
                {"Put": {"TableName": "vigie-LedgerTable", "Item": {}}},
                {"Update": {"TableName": "vigie-MembersTable", "Key": {}}},
                {"ConditionCheck": {"TableName": "vigie-MembersTable", "Key": {}}},
                {"Delete": {"TableName": "vigie-MembersTable", "Key": {}}},
                {"Put": {"TableName": "vigie-LedgerTable", "Item": {}}}
            ]}),
        );
        let all = authorizations(&call, &scope()).unwrap();
        let got: Vec<(&str, &str)> = all.iter().map(|a| (a.action.as_str(), a.resource.as_str())).collect();
        let ledger = format!("{T}vigie-LedgerTable");
        let members = format!("{T}vigie-MembersTable");
        assert_eq!(
            got,
            [
                ("dynamodb:PutItem", ledger.as_str()),
                ("dynamodb:UpdateItem", members.as_str()),
                ("dynamodb:ConditionCheckItem", members.as_str()),
                ("dynamodb:DeleteItem", members.as_str())
            ]
        );
        assert_eq!(
            all[0].context.get("dynamodb:EnclosingOperation"),
            Some(&["TransactWriteItems".to_owned()][..])
        );
    }

    #[test]
    fn sms_to_a_number_is_authorized_on_the_number_and_a_topic_on_its_arn() {
        let sms = Call::new(
            Method::POST,
            "/".into(),
            HeaderMap::new(),
            Bytes::from("Action=Publish&PhoneNumber=%2B33639980001&Message=x"),
        );
        assert_eq!(pairs(&sms), [("sns:Publish".into(), "+33639980001".into())]);
        let topic = Call::new(
            Method::POST,
            "/".into(),
            HeaderMap::new(),
            Bytes::from("Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aeu-west-3%3A123456789012%3At&Message=x"),
        );
        assert_eq!(pairs(&topic), [("sns:Publish".into(), "arn:aws:sns:eu-west-3:123456789012:t".into())]);
        let unknown =
            Call::new(Method::POST, "/".into(), HeaderMap::new(), Bytes::from("Action=CreateTopic&Name=t"));
        assert!(authorizations(&unknown, &scope()).is_err());
    }

    #[test]
    fn an_email_is_authorized_on_the_sender_s_identity_and_in_the_sandbox_the_recipients() {
        let body = serde_json::json!({
            "FromEmailAddress": "alertes@vigie.example.org",
            "Destination": {"ToAddresses": ["Voisin <voisin@example.org>"]},
            "ConfigurationSetName": "vigie-events",
            "Content": {"Raw": {"Data": ""}}
        });
        let call = Call::new(
            Method::POST,
            "/v2/email/outbound-emails".into(),
            HeaderMap::new(),
            Bytes::from(body.to_string()),
        );
        let all = authorizations(&call, &scope()).unwrap();
        let resources: Vec<&str> = all.iter().map(|a| a.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "arn:aws:ses:eu-west-3:123456789012:identity/alertes@vigie.example.org",
                "arn:aws:ses:eu-west-3:123456789012:identity/voisin@example.org",
                "arn:aws:ses:eu-west-3:123456789012:configuration-set/vigie-events"
            ]
        );
        assert!(all.iter().all(|a| a.action == "ses:SendEmail"));
        assert_eq!(
            all[0].context.get("ses:FromAddress"),
            Some(&["alertes@vigie.example.org".to_owned()][..])
        );
        assert_eq!(all[0].context.get("ses:Recipients"), Some(&["voisin@example.org".to_owned()][..]));
        let mut production = scope();
        production.ses_sandbox = false;
        assert_eq!(authorizations(&call, &production).unwrap().len(), 2);
    }

    #[test]
    fn unknown_operations_are_refused_not_waved_through() {
        assert!(
            authorizations(&dynamo("DeleteTable", serde_json::json!({"TableName": "t"})), &scope()).is_err()
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", "DynamoDBStreams_20120810.GetRecords".parse().unwrap());
        let streams = Call::new(Method::POST, "/".into(), headers, Bytes::from("{}"));
        assert!(authorizations(&streams, &scope()).is_err());
        let suppression =
            Call::new(Method::PUT, "/v2/email/suppression/addresses".into(), HeaderMap::new(), Bytes::new());
        assert!(authorizations(&suppression, &scope()).is_err());
    }
}
