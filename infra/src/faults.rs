//! A faulting proxy for tests: it stands between the SDK and the emulator and makes a chosen
//! share of DynamoDB, SNS and SES calls fail the way AWS does (HTTP 500, 503, throttling, a
//! dropped connection), before they reach the emulator — so a failed call has done nothing, as
//! when AWS refuses it. Everything else (DynamoDB Streams, the emulator's own API) goes through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// The AWS services a request is for, as the proxy tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sns,
    Ses,
    /// DynamoDB Streams, the emulator's API, anything else: never faulted.
    Other,
}

/// What the proxy did, by service.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub forwarded: AtomicU64,
    pub dynamodb_faults: AtomicU64,
    pub sns_faults: AtomicU64,
    pub ses_faults: AtomicU64,
}

impl FaultStats {
    pub fn injected(&self) -> u64 {
        self.dynamodb_faults.load(Ordering::Relaxed)
            + self.sns_faults.load(Ordering::Relaxed)
            + self.ses_faults.load(Ordering::Relaxed)
    }
}

/// A running faulting proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: point the SDK here instead of at the emulator.
    pub endpoint: String,
    pub stats: Arc<FaultStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A small deterministic generator (xorshift), so a failing run can be replayed with its seed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Shared {
    upstream: String,
    rate: f64,
    /// Sends (SNS, SES) whose body holds one of these always fail: a poison no retry cures.
    poison: Vec<Vec<u8>>,
    dice: Mutex<Dice>,
    client: reqwest::Client,
    stats: Arc<FaultStats>,
}

impl FaultProxy {
    /// Proxies to `upstream`, failing each DynamoDB, SNS and SES call with probability `rate`.
    pub async fn start(upstream: &str, rate: f64, seed: u64) -> std::io::Result<FaultProxy> {
        Self::start_poisoned(upstream, rate, seed, &[]).await
    }

    /// As [`FaultProxy::start`], and every send (SNS Publish, SES SendEmail) whose body contains
    /// one of `poison` (a word of an SMS, an address) fails, always, with a 503.
    pub async fn start_poisoned(
        upstream: &str,
        rate: f64,
        seed: u64,
        poison: &[&str],
    ) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(FaultStats::default());
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rate,
            poison: poison.iter().map(|p| p.as_bytes().to_vec()).collect(),
            dice: Mutex::new(Dice(seed.max(1))),
            client: reqwest::Client::new(),
            stats: Arc::clone(&stats),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
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
        Ok(FaultProxy { endpoint, stats, task })
    }
}

fn service_of(parts: &hyper::http::request::Parts, body: &[u8]) -> Service {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target.starts_with("DynamoDB_") {
        Service::DynamoDb
    } else if target.starts_with("DynamoDBStreams") || parts.uri.path().starts_with("/moto-api") {
        Service::Other
    } else if parts.uri.path().starts_with("/v2/email") {
        Service::Ses
    } else if body.starts_with(b"Action=") || body.windows(7).any(|w| w == b"Action=") {
        Service::Sns
    } else {
        Service::Other
    }
}

/// A fault as the service would answer it.
fn fault(service: Service, pick: f64) -> Option<Response<Full<Bytes>>> {
    let (status, content_type, body) = match (service, (pick * 4.0) as u8) {
        // A dropped connection: the caller sees an I/O error.
        (_, 3) => return None,
        (_, 0) => (StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "injected fault".to_owned()),
        (_, 1) => (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "injected fault".to_owned()),
        (Service::DynamoDb, _) => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded (injected)"}"#
                .to_owned(),
        ),
        (Service::Sns, _) => (
            StatusCode::BAD_REQUEST,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error><RequestId>x</RequestId></ErrorResponse>".to_owned(),
        ),
        (_, _) => (
            StatusCode::TOO_MANY_REQUESTS,
            "application/json",
            r#"{"message":"Too many requests (injected)"}"#.to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", content_type.parse().ok()?);
    if service == Service::Ses && status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert("x-amzn-errortype", "TooManyRequestsException".parse().ok()?);
    }
    Some(response)
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let service = service_of(&parts, &body);
    if service != Service::Other {
        let (roll, pick) = {
            let mut dice = shared.dice.lock().await;
            (dice.roll(), dice.roll())
        };
        let poisoned = matches!(service, Service::Sns | Service::Ses)
            && shared.poison.iter().any(|p| body.windows(p.len()).any(|w| w == p.as_slice()));
        if poisoned || roll < shared.rate {
            let pick = if poisoned { 0.3 } else { pick };
            let counter = match service {
                Service::DynamoDb => &shared.stats.dynamodb_faults,
                Service::Sns => &shared.stats.sns_faults,
                _ => &shared.stats.ses_faults,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return fault(service, pick).ok_or_else(|| std::io::Error::other("injected: connection dropped"));
        }
    }
    shared.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    let url = format!("{}{}", shared.upstream, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut forward = shared.client.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let upstream = forward.send().await.map_err(std::io::Error::other)?;
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    let bytes = upstream.bytes().await.map_err(std::io::Error::other)?;
    response.body(Full::new(bytes)).map_err(std::io::Error::other)
}
