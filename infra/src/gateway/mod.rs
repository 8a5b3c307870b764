//! The gateway: an HTTP server the functions' SDK clients talk to in tests, in front of the
//! emulator. It does what AWS does and the emulator does not, then forwards what passes to the
//! emulator unchanged.
//!
//! Each request is read once into a [`Call`] (service, operation, the principal that signed it,
//! the body) and handed to an ordered list of [`Rule`]s. A rule either lets the call go on
//! ([`Verdict::Continue`]), answers it itself as AWS would ([`Verdict::Answer`]: a refusal, a
//! fault, a cached answer) or drops the connection ([`Verdict::Drop`]). A call every rule lets
//! through is forwarded to the upstream (the emulator); the upstream's answer then goes back
//! through the rules' [`Rule::after`] hooks, last rule first, each of which may replace it (a
//! lost answer: the write is done, the caller is told 503) or drop it.
//!
//! The rules of the tests, in their order:
//! - [`iam::IamCheck`] (first): the call is judged against the role of the function that signed
//!   it, as the SAM transform generates the role from `template.yaml`; a refused call is answered
//!   with the service's own AccessDenied error and recorded (docs/iam.md);
//! - [`sms::SmsRule`]: what AWS End User Messaging SMS does with an SMS `Publish` (the
//!   origination identity must be the account's; nothing reaches a number on its opt-out list)
//!   and with `OptInPhoneNumber` (once every 30 days), from [`crate::sms_account`];
//! - [`faults::Faults`]: a share of calls fails as AWS fails them, poisons, held sends;
//! - [`lost::LostAnswers`]: for the lost-answer tests, a write carried out whose answer is lost;
//! - [`tokens::ClientTokens`]: DynamoDB's client request tokens as AWS honours them;
//! - [`quota::SendQuota`]: the account's SMS and email send rates, throttled as AWS throttles;
//! - other rules go after these with [`Gateway::push`].
//!
//! The principal is the function, named as AWS names it, by its credentials: in the tests each
//! function's SDK signs with an access key id that is its name (`web`, `inbound-sms`, `fan-out`,
//! the binaries of `template.yaml`), read back from the SigV4 `Authorization` header.

pub mod actions;
pub mod faults;
pub mod iam;
pub mod lost;
pub mod policy;
pub mod quota;
pub mod roles;
pub mod sms;
pub mod tokens;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The AWS services a call is for, as the gateway tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    DynamoDb,
    Sns,
    Ses,
    /// DynamoDB Streams (`DynamoDBStreams_20120810.*`).
    DynamoDbStreams,
    /// The emulator's own API (`/moto-api`), anything else.
    Other,
}

impl Service {
    /// The service's prefix in IAM actions (`dynamodb:GetItem`).
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Service::DynamoDb | Service::DynamoDbStreams => "dynamodb",
            Service::Sns => "sns",
            Service::Ses => "ses",
            Service::Other => "",
        }
    }
}

/// One request to the gateway, read once.
#[derive(Debug)]
pub struct Call {
    pub service: Service,
    /// The API operation (`GetItem`, `Publish`, `SendEmail`), if the gateway recognises it.
    pub operation: Option<String>,
    /// The access key id the request was signed with: the function's name in the tests.
    pub principal: Option<String>,
    /// The region of the signature's credential scope.
    pub region: Option<String>,
    pub method: Method,
    /// Path and query, as received.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    json: Option<serde_json::Value>,
    form: Vec<(String, String)>,
}

impl Call {
    /// Reads a request's parts and body into a call.
    pub fn new(method: Method, path: String, headers: HeaderMap, body: Bytes) -> Call {
        let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let (principal, region, signing_service) = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(credential_scope)
            .unwrap_or_default();
        let bare_path = path.split('?').next().unwrap_or_default().to_owned();
        let mut form = Vec::new();
        let mut json = None;
        let (service, operation) = if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
            json = serde_json::from_slice(&body).ok();
            (Service::DynamoDb, Some(op.to_owned()))
        } else if let Some(op) = target.strip_prefix("DynamoDBStreams_20120810.") {
            (Service::DynamoDbStreams, Some(op.to_owned()))
        } else if bare_path.starts_with("/moto-api") {
            (Service::Other, None)
        } else if bare_path.starts_with("/v2/email") {
            json = serde_json::from_slice(&body).ok();
            (Service::Ses, ses_v2_operation(&method, &bare_path).map(str::to_owned))
        } else if signing_service.as_deref() == Some("sns") || body.windows(7).any(|w| w == b"Action=") {
            form = url::form_urlencoded::parse(&body).into_owned().collect();
            let action = form.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone());
            (Service::Sns, action)
        } else {
            (Service::Other, None)
        };
        Call { service, operation, principal, region, method, path, headers, body, json, form }
    }

    /// The body as JSON (DynamoDB, SES v2), if it is JSON.
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.json.as_ref()
    }

    /// A parameter of a query-protocol body (SNS): the first with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every parameter of a query-protocol body (SNS), in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.form
    }

    /// Whether the raw body contains `needle` (a marker word, an address).
    pub fn body_contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty() && self.body.windows(needle.len()).any(|w| w == needle)
    }

    /// `Publish` or SES `SendEmail`: a message leaves. (Other SNS calls, such as the fan-out's
    /// read of the SMS opt-out list, are not sends: the crash tests count and hold sends.)
    pub fn is_send(&self) -> bool {
        matches!(
            (self.service, self.operation.as_deref()),
            (Service::Sns, Some("Publish")) | (Service::Ses, Some("SendEmail"))
        )
    }

    /// A short label for logs and reports: `fan-out DynamoDB GetItem`.
    pub fn label(&self) -> String {
        format!(
            "{} {:?} {}",
            self.principal.as_deref().unwrap_or("(unsigned)"),
            self.service,
            self.operation.as_deref().unwrap_or("(unknown operation)")
        )
    }
}

/// (access key id, region, service) of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=<AKID>/<date>/<region>/<service>/aws4_request, ...`.
fn credential_scope(authorization: &str) -> (Option<String>, Option<String>, Option<String>) {
    let Some(at) = authorization.find("Credential=") else { return (None, None, None) };
    let scope = authorization[at + "Credential=".len()..].split([',', ' ']).next().unwrap_or_default();
    let mut parts = scope.split('/');
    let akid = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let _date = parts.next();
    let region = parts.next().map(str::to_owned);
    let service = parts.next().map(str::to_owned);
    (akid, region, service)
}

/// The SES v2 operations the gateway recognises, from the REST method and path.
fn ses_v2_operation(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/v2/email/")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    Some(match (method.as_str(), segments.as_slice()) {
        ("POST", ["outbound-emails"]) => "SendEmail",
        ("GET", ["account"]) => "GetAccount",
        ("POST", ["identities"]) => "CreateEmailIdentity",
        ("GET", ["identities"]) => "ListEmailIdentities",
        ("GET", ["identities", _]) => "GetEmailIdentity",
        ("POST", ["configuration-sets"]) => "CreateConfigurationSet",
        ("GET", ["configuration-sets"]) => "ListConfigurationSets",
        ("GET", ["configuration-sets", _]) => "GetConfigurationSet",
        _ => return None,
    })
}

/// An answer, from the upstream or made by a rule.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// An answer with one `content-type` header.
    pub fn new(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Ok(value) = content_type.parse() {
            headers.insert(hyper::header::CONTENT_TYPE, value);
        }
        Answer { status, headers, body: body.into() }
    }

    /// Adds a header (ignored if it is not a valid header).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Answer {
        if let Ok(value) = value.parse() {
            self.headers.insert(name, value);
        }
        self
    }

    fn into_response(self) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                response = response.header(name, value);
            }
        }
        response.body(Full::new(self.body)).map_err(std::io::Error::other)
    }
}

/// What a rule decides about a call.
#[derive(Debug)]
pub enum Verdict {
    /// Next rule; the upstream once every rule agreed (or, after, the answer as it is).
    Continue,
    /// This answer, and nothing forwarded (or, after, instead of the upstream's).
    Answer(Answer),
    /// The connection is dropped: the caller sees an I/O error.
    Drop,
}

/// A future a rule returns.
pub type RuleFuture<'a> = Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

/// One thing AWS does that the emulator does not. See the module docs.
pub trait Rule: Send + Sync + 'static {
    /// Before the call is forwarded (in the rules' order).
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a>;

    /// After the upstream answered a call every rule let through (last rule first). By default,
    /// the answer goes on as it is.
    fn after<'a>(&'a self, _call: &'a Call, _answer: &'a Answer) -> RuleFuture<'a> {
        Box::pin(async { Verdict::Continue })
    }
}

struct Shared {
    upstream: RwLock<String>,
    rules: RwLock<Vec<Arc<dyn Rule>>>,
    client: reqwest::Client,
}

/// A running gateway; stops when dropped.
pub struct Gateway {
    /// `http://127.0.0.1:<port>`: point the SDK here instead of at the emulator.
    pub endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("endpoint", &self.endpoint)
            .field("upstream", &self.upstream())
            .finish()
    }
}

impl Gateway {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` what `rules` let through.
    /// Runs on the current Tokio runtime.
    pub async fn start(upstream: &str, rules: Vec<Arc<dyn Rule>>) -> std::io::Result<Gateway> {
        Self::spawn(upstream, rules)
    }

    /// As [`Gateway::start`], from synchronous code running inside a Tokio runtime.
    pub fn spawn(upstream: &str, rules: Vec<Arc<dyn Rule>>) -> std::io::Result<Gateway> {
        Self::serve(std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?, upstream, rules)
    }

    /// As [`Gateway::spawn`], on a listener of the caller's (a given port: `vigie-local gateway`).
    pub fn serve(
        listener: std::net::TcpListener,
        upstream: &str,
        rules: Vec<Arc<dyn Rule>>,
    ) -> std::io::Result<Gateway> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            upstream: RwLock::new(upstream.trim_end_matches('/').to_owned()),
            rules: RwLock::new(rules),
            client: reqwest::Client::new(),
        });
        let serving = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = Arc::clone(&shared);
                        async move { handle(&shared, request).await }
                    });
                    // A dropped connection is one of the faults: its error ends here.
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Gateway { endpoint, shared, task })
    }

    /// Adds a rule after the others.
    pub fn push(&self, rule: Arc<dyn Rule>) {
        self.shared.rules.write().unwrap_or_else(|p| p.into_inner()).push(rule);
    }

    /// Where allowed calls go (the emulator, or another gateway or proxy in front of it).
    pub fn upstream(&self) -> String {
        self.shared.upstream.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forwards from now on to `upstream`.
    pub fn set_upstream(&self, upstream: &str) {
        *self.shared.upstream.write().unwrap_or_else(|p| p.into_inner()) =
            upstream.trim_end_matches('/').to_owned();
    }
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let call = Call::new(parts.method, path, parts.headers, body);
    let rules: Vec<Arc<dyn Rule>> = shared.rules.read().unwrap_or_else(|p| p.into_inner()).clone();
    for rule in &rules {
        match rule.before(&call).await {
            Verdict::Continue => {}
            Verdict::Answer(answer) => return answer.into_response(),
            Verdict::Drop => return Err(std::io::Error::other("connection dropped (gateway rule)")),
        }
    }
    let mut answer = forward(shared, &call).await?;
    for rule in rules.iter().rev() {
        match rule.after(&call, &answer).await {
            Verdict::Continue => {}
            Verdict::Answer(replaced) => answer = replaced,
            Verdict::Drop => return Err(std::io::Error::other("answer dropped (gateway rule)")),
        }
    }
    answer.into_response()
}

/// The call, unchanged, to the upstream; its answer.
async fn forward(shared: &Shared, call: &Call) -> Result<Answer, std::io::Error> {
    let upstream = shared.upstream.read().unwrap_or_else(|p| p.into_inner()).clone();
    let mut request = shared
        .client
        .request(call.method.clone(), format!("{upstream}{}", call.path))
        .body(call.body.clone());
    for (name, value) in &call.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let upstream = request.send().await.map_err(std::io::Error::other)?;
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let body = upstream.bytes().await.map_err(std::io::Error::other)?;
    Ok(Answer { status, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(headers: &[(&'static str, &str)], path: &str, body: &str) -> Call {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Call::new(Method::POST, path.to_owned(), map, Bytes::from(body.to_owned()))
    }

    const SIGNED_BY_FAN_OUT: &str = "AWS4-HMAC-SHA256 Credential=fan-out/20261201/eu-west-3/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn the_principal_is_the_access_key_id_of_the_signature() {
        let c = call(
            &[("authorization", SIGNED_BY_FAN_OUT), ("x-amz-target", "DynamoDB_20120810.BatchGetItem")],
            "/",
            r#"{"RequestItems":{}}"#,
        );
        assert_eq!(c.principal.as_deref(), Some("fan-out"));
        assert_eq!(c.region.as_deref(), Some("eu-west-3"));
        assert_eq!((c.service, c.operation.as_deref()), (Service::DynamoDb, Some("BatchGetItem")));
        assert!(c.json().is_some());
    }

    #[test]
    fn services_and_operations_are_told_apart() {
        let sns = call(&[], "/", "Action=Publish&PhoneNumber=%2B33639980001&Message=hi");
        assert_eq!((sns.service, sns.operation.as_deref()), (Service::Sns, Some("Publish")));
        assert_eq!(sns.param("PhoneNumber"), Some("+33639980001"));
        let ses = call(&[], "/v2/email/outbound-emails", "{}");
        assert_eq!((ses.service, ses.operation.as_deref()), (Service::Ses, Some("SendEmail")));
        let unknown_ses = call(&[], "/v2/email/suppression/addresses", "{}");
        assert_eq!((unknown_ses.service, unknown_ses.operation), (Service::Ses, None));
        let streams = call(&[("x-amz-target", "DynamoDBStreams_20120810.GetRecords")], "/", "{}");
        assert_eq!(streams.service, Service::DynamoDbStreams);
        let moto = call(&[], "/moto-api/data.json", "");
        assert_eq!(moto.service, Service::Other);
        assert_eq!(moto.principal, None);
    }
}
