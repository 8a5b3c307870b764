//! A faulting proxy for tests: it stands between the SDK and the emulator and makes a chosen
//! share of DynamoDB, SNS and SES calls fail the way AWS does (HTTP 500, 503, throttling, a
//! dropped connection), before they reach the emulator — so a failed call has done nothing, as
//! when AWS refuses it. Everything else (DynamoDB Streams, the emulator's own API) goes through.
//!
//! It can also hold the sends ([`FaultProxy::limit_sends`]): past a number of SNS and SES calls,
//! the next ones wait, unanswered and not forwarded, so a test knows exactly which messages left
//! when it kills the function that sends them.

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
use tokio::sync::{Mutex, Notify};

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
    /// SNS and SES calls forwarded and answered by the emulator: messages that left.
    pub sends_forwarded: AtomicU64,
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
    shared: Arc<Shared>,
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

/// How many sends may go through ([`FaultProxy::limit_sends`]); the others wait for more.
struct SendGate {
    limit: AtomicU64,
    admitted: AtomicU64,
    raised: Notify,
}

impl SendGate {
    /// Waits until this send may go through, and counts it.
    async fn admit(&self) {
        loop {
            let raised = self.raised.notified();
            let admitted = self.admitted.load(Ordering::SeqCst);
            if admitted < self.limit.load(Ordering::SeqCst) {
                if self
                    .admitted
                    .compare_exchange(admitted, admitted + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            raised.await;
        }
    }
}

struct Shared {
    upstream: String,
    /// The share of calls failed, an `f64` as bits: [`FaultProxy::set_rate`] changes it.
    rate: AtomicU64,
    /// Sends (SNS, SES) whose body holds one of these always fail: a poison no retry cures.
    poison: Vec<Vec<u8>>,
    /// Any call (DynamoDB, SNS, SES) whose body holds this fails, for as long as it is set
    /// ([`FaultProxy::refuse_calls_with`]).
    refused: std::sync::Mutex<Option<Vec<u8>>>,
    dice: Mutex<Dice>,
    client: reqwest::Client,
    stats: Arc<FaultStats>,
    gate: SendGate,
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
            rate: AtomicU64::new(rate.to_bits()),
            poison: poison.iter().map(|p| p.as_bytes().to_vec()).collect(),
            refused: std::sync::Mutex::new(None),
            dice: Mutex::new(Dice(seed.max(1))),
            client: reqwest::Client::new(),
            stats: Arc::clone(&stats),
            gate: SendGate {
                limit: AtomicU64::new(u64::MAX),
                admitted: AtomicU64::new(0),
                raised: Notify::new(),
            },
        });
        let serving = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
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
        Ok(FaultProxy { endpoint, stats, shared, task })
    }

    /// Lets `n` sends (SNS and SES calls that are not failed) through in all, counting those
    /// already through: the next ones wait, unanswered and not forwarded, until the limit is
    /// raised (`u64::MAX`: no limit, the default). A send held when its caller goes away never
    /// reaches the emulator.
    pub fn limit_sends(&self, n: u64) {
        self.shared.gate.limit.store(n, Ordering::SeqCst);
        self.shared.gate.raised.notify_waiters();
    }

    /// From now on, every DynamoDB, SNS and SES call whose body contains `marker` (a word of an
    /// alert, say) fails with a 503, however often it is tried; `None` lifts it.
    pub fn refuse_calls_with(&self, marker: Option<&str>) {
        *self.shared.refused.lock().unwrap_or_else(|p| p.into_inner()) =
            marker.map(|m| m.as_bytes().to_vec());
    }

    /// Fails each DynamoDB, SNS and SES call with probability `rate` from now on.
    pub fn set_rate(&self, rate: f64) {
        self.shared.rate.store(rate.to_bits(), Ordering::SeqCst);
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
        let holds = |p: &[u8]| !p.is_empty() && body.windows(p.len()).any(|w| w == p);
        let refused = shared.refused.lock().unwrap_or_else(|p| p.into_inner()).as_deref().is_some_and(holds);
        let poisoned = refused
            || (matches!(service, Service::Sns | Service::Ses) && shared.poison.iter().any(|p| holds(p)));
        if poisoned || roll < f64::from_bits(shared.rate.load(Ordering::SeqCst)) {
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
    let send = matches!(service, Service::Sns | Service::Ses);
    if send {
        shared.gate.admit().await;
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
    if send {
        shared.stats.sends_forwarded.fetch_add(1, Ordering::SeqCst);
    }
    response.body(Full::new(bytes)).map_err(std::io::Error::other)
}
