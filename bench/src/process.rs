//! Starting a function binary as Lambda would: a clean environment, the Runtime API address,
//! the function's settings; and reading its memory from /proc.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The shared number and the sender address the functions are configured with.
pub const SHARED_NUMBER: &str = "38123";
pub const SENDER_EMAIL: &str = "a@example.org";
pub const PUBLIC_BASE_URL: &str = "https://x.example.org";

/// The environment Lambda gives a function, plus vigie's settings (`template.yaml`).
pub fn lambda_env(
    function: &str,
    memory_mb: u32,
    runtime_api: &str,
    aws_endpoint: &str,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    set("AWS_LAMBDA_RUNTIME_API", runtime_api);
    set("AWS_LAMBDA_FUNCTION_NAME", function);
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory_mb.to_string());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    set("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}"));
    set("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench");
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    set("AWS_EXECUTION_ENV", "AWS_Lambda_rust");
    set("_HANDLER", "bootstrap");
    set("LANG", "en_US.UTF-8");
    set("TZ", ":UTC");
    set("PATH", "/usr/local/bin:/usr/bin:/bin");
    set("AWS_REGION", infra::stack::LOCAL_REGION);
    set("AWS_DEFAULT_REGION", infra::stack::LOCAL_REGION);
    set("AWS_ACCESS_KEY_ID", "test");
    set("AWS_SECRET_ACCESS_KEY", "test");
    set("AWS_SESSION_TOKEN", "test");
    // Every AWS endpoint, instance metadata included, on 127.0.0.1; no shared config files.
    set("AWS_ENDPOINT_URL", aws_endpoint);
    set("AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_endpoint);
    set("AWS_CONFIG_FILE", "/nonexistent/vigie-bench/config");
    set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/vigie-bench/credentials");
    set("MEMBERS_TABLE", "bench-MembersTable");
    set("ALERTS_TABLE", "bench-AlertsTable");
    set("LEDGER_TABLE", "bench-LedgerTable");
    set("SMS_SHARED_NUMBER", SHARED_NUMBER);
    set("SENDER_EMAIL", SENDER_EMAIL);
    set("PUBLIC_BASE_URL", PUBLIC_BASE_URL);
    env
}

/// Starts `binary` with exactly `env` (nothing inherited); stdout is dropped, stderr goes to
/// `stderr_log`.
pub fn spawn(binary: &Path, env: &BTreeMap<String, String>, stderr_log: &Path) -> std::io::Result<Child> {
    let log = std::fs::File::create(stderr_log)?;
    Command::new(binary).env_clear().envs(env).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn()
}

/// The last lines of a log, on one line.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// `VmHWM` (peak resident set) and `VmRSS` of a live process, in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// A port on 127.0.0.1 that takes connections and drops them at once, counting them: to a
/// client it is a port that refuses to talk (as a closed one does), and any attempt shows.
pub struct Trap {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
}

impl Trap {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Ok(Self { addr, connections })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Where the release binaries are: next to this one (`target/release`).
pub fn release_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

/// The workspace root (this crate's parent).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Kills and reaps a child.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
