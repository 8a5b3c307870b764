//! A minimal Lambda Runtime API on 127.0.0.1 (hyper, HTTP/1.1): enough for a `lambda_runtime`
//! binary to start, ask for work, run invocations and answer them. The benchmark measures cold starts with it;
//! the crash tests run the real fan-out binary against it and kill it mid-invocation.
//!
//! - `GET /2018-06-01/runtime/invocation/next`: the time of the first one is recorded (the end
//!   of the function's init); the request is then held until an event is queued with
//!   [`RuntimeApi::invoke`].
//! - `POST /2018-06-01/runtime/invocation/<id>/response` and `.../error`: the invocation's answer.
//! - `POST /2018-06-01/runtime/init/error`: the function could not start.
//!
//! [`FunctionProcess`] starts a function binary against it the way Lambda does: a clean
//! environment with the Runtime API's address and Lambda's own variables.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::relay::InvokeError;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

type Reply = oneshot::Sender<Result<Value, InvokeError>>;

struct Job {
    event: Value,
    reply: Reply,
}

#[derive(Default)]
struct State {
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    changed: Notify,
    pending: Mutex<HashMap<String, Reply>>,
}

/// A Runtime API for one function process.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<State>,
    jobs: mpsc::UnboundedSender<Job>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let (jobs, queue) = mpsc::unbounded_channel::<Job>();
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let server = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(stream, Arc::clone(&state), Arc::clone(&queue)));
                }
            }
        });
        Ok(Self { addr, state, jobs, server })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// When the first `GET .../invocation/next` arrived, if it did.
    pub fn first_next(&self) -> Option<Instant> {
        *lock(&self.state.first_next)
    }

    /// What the function reported on `/runtime/init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        lock(&self.state.init_error).clone()
    }

    /// Waits (at most `timeout`) for the first `/next` or an init error; `None` on timeout.
    pub async fn wait_ready(&self, timeout: Duration) -> Option<Result<Instant, String>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.state.changed.notified();
            if let Some(at) = self.first_next() {
                return Some(Ok(at));
            }
            if let Some(err) = self.init_error() {
                return Some(Err(err));
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Hands `event` to the function at its next `/next` and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Result<Value, InvokeError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { event, reply })
            .map_err(|_| InvokeError::Transport("the runtime API is stopped".into()))?;
        answer.await.map_err(|_| InvokeError::Transport("the function went away mid-invocation".into()))?
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The environment Lambda gives every function: its name and settings, and where its Runtime
/// API is. [`FunctionProcess::spawn`] sets these first, then the caller's.
pub fn lambda_env(function: &str, api: &RuntimeApi) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api.host_port()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ("AWS_REGION", crate::stack::LOCAL_REGION.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// What makes a function's AWS SDK talk to the emulator (or a proxy) at `endpoint`, as
/// [`crate::stack::aws_config`] does in-process: dummy credentials, every service at `endpoint`,
/// no instance metadata, no shared config files.
pub fn emulator_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/vigie/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/vigie/credentials"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A function binary running as Lambda runs one, against a [`RuntimeApi`]. Killed (SIGKILL)
/// when dropped.
#[derive(Debug)]
pub struct FunctionProcess {
    child: Child,
    /// Its output, stdout and stderr.
    pub log: PathBuf,
}

impl FunctionProcess {
    /// Starts `binary` with nothing inherited: [`lambda_env`] for `function` on `api`, then
    /// `env` (which may override it). Its output goes to `log`.
    pub fn spawn(
        binary: &Path,
        function: &str,
        api: &RuntimeApi,
        env: &[(String, String)],
        log: &Path,
    ) -> std::io::Result<Self> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = Command::new(binary)
            .env_clear()
            .envs(lambda_env(function, api))
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Self { child, log: log.to_owned() })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has ended, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Ends it with SIGKILL, as a crash or Lambda's timeout does: no handler runs, nothing is
    /// flushed, whatever it was doing stops there. Waits until it is gone.
    pub fn kill(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.exited() {
            return Ok(status);
        }
        self.child.kill()?;
        self.child.wait()
    }

    /// The last `lines` non-empty lines of its output, on one line (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        all[all.len().saturating_sub(lines)..].join(" | ")
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Queue = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>;

/// Serves one connection of the function (hyper, HTTP/1.1): its requests come one at a time,
/// and a `/next` is held until there is work.
async fn serve(stream: TcpStream, state: Arc<State>, queue: Queue) {
    let service = service_fn(move |request| {
        let (state, queue) = (Arc::clone(&state), Arc::clone(&queue));
        async move { Ok::<_, Infallible>(answer(request, &state, &queue).await) }
    });
    // A function killed mid-request ends its connection with an error: nothing to do about it.
    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
}

/// A JSON answer with `status` and `headers`.
fn respond(
    status: StatusCode,
    headers: &[(&'static str, String)],
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let map = response.headers_mut();
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(*name, value);
        }
    }
    response
}

async fn answer(request: Request<Incoming>, state: &State, queue: &Queue) -> Response<Full<Bytes>> {
    let accepted = || respond(StatusCode::ACCEPTED, &[], &br#"{"status":"OK"}"#[..]);
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    if method == Method::GET && path == NEXT {
        {
            let mut first = lock(&state.first_next);
            if first.is_none() {
                *first = Some(Instant::now());
            }
        }
        state.changed.notify_waiters();
        // Held until there is work.
        let Some(job) = queue.lock().await.recv().await else {
            return respond(StatusCode::SERVICE_UNAVAILABLE, &[], &b"{}"[..]);
        };
        let id = ulid::Ulid::new().to_string();
        let deadline =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(900);
        let body = serde_json::to_vec(&job.event).unwrap_or_default();
        lock(&state.pending).insert(id.clone(), job.reply);
        let headers = [
            ("lambda-runtime-aws-request-id", id.clone()),
            ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                format!("arn:aws:lambda:{}:123456789012:function:local", crate::stack::LOCAL_REGION),
            ),
            ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
        ];
        return respond(StatusCode::OK, &headers, body);
    }
    let Ok(body) = request.into_body().collect().await.map(|b| b.to_bytes()) else {
        return respond(StatusCode::BAD_REQUEST, &[], &b"{}"[..]);
    };
    if method == Method::POST && path == INIT_ERROR {
        *lock(&state.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
        state.changed.notify_waiters();
        return accepted();
    }
    let Some(rest) = path.strip_prefix(INVOCATION).filter(|_| method == Method::POST) else {
        return respond(StatusCode::NOT_FOUND, &[], &b"{}"[..]);
    };
    let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
    let reply = lock(&state.pending).remove(id);
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let outcome = match kind {
        "response" => Ok(parsed),
        _ => Err(InvokeError::function(
            parsed.get("errorType").and_then(Value::as_str).unwrap_or("Unhandled"),
            parsed.get("errorMessage").and_then(Value::as_str).unwrap_or_default(),
        )),
    };
    if let Some(reply) = reply {
        let _ = reply.send(outcome);
    }
    accepted()
}
