//! A moto server for tests: started on a free port, stopped when the test process ends.
//!
//! ```no_run
//! # async fn demo() {
//! use infra::moto::Moto;
//! // One server for the whole test binary (started on first use, about half a second)...
//! let moto = Moto::shared();
//! // ...so isolate each test with its own tables:
//! let config = moto.sdk_config().await;
//! let dynamodb = aws_sdk_dynamodb::Client::new(&config);
//! let prefix = Moto::unique_prefix("register");
//! let yaml = std::fs::read_to_string(infra::template::workspace_template()).unwrap();
//! let tables = infra::template::create_tables(&dynamodb, &yaml, &prefix).await.unwrap();
//! # }
//! ```
//!
//! - **Which binary**: `$VIGIE_MOTO_SERVER` if set, else the workspace's `infra/moto/moto_server`
//!   (the `.venv`'s moto with one DynamoDB request at a time, as transactions are isolated on
//!   AWS: see `infra/moto/moto_server.py`) if the `.venv` exists, else `moto_server` on the
//!   `PATH` (`python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'`).
//! - **Lifetime**: the server runs under `sh`, which kills it as soon as the pipe to its stdin
//!   closes: when the [`Moto`] is dropped, or when the test process exits in any way (even
//!   killed), so no server outlives its tests. [`Moto::shared`] is never dropped and lives until
//!   the process exits.
//! - **State is global to a server**: every test that uses [`Moto::shared`] sees the others'
//!   tables, SMS and emails. Use unique table prefixes ([`Moto::unique_prefix`]) and unique phone
//!   numbers / addresses, and filter the outbox by recipient ([`crate::outbox::Outbox::sms_to`]).
//!   Never [`Moto::reset`] a shared server; start a private one ([`Moto::start`]) for tests that
//!   need an empty emulator.
//! - **SDK clients**: build them per test (from [`Moto::sdk_config`]). Each `#[tokio::test]` has
//!   its own runtime, and an SDK client keeps connections bound to the runtime that opened them.
//! - **Logs**: the server's output goes to `$TMPDIR/vigie-moto-<port>.log`.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::outbox::{Outbox, OutboxError};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs moto in the background and kills it when the pipe to this script's stdin closes.
/// Background jobs of a non-interactive shell get /dev/null as stdin, hence fd 3.
const SUPERVISOR: &str = r#"exec 3<&0
"$0" -H 127.0.0.1 -p "$1" </dev/null &
p=$!
( read _ <&3; kill "$p" 2>/dev/null ) &
wait "$p""#;

/// A running moto server. See the module docs.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:<port>`: the endpoint of every AWS service.
    pub endpoint: String,
    pub port: u16,
    /// The server's output.
    pub log: PathBuf,
    child: Child,
    /// Closing it stops the server.
    stdin: Option<ChildStdin>,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("cannot find a free port: {0}")]
    Port(std::io::Error),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{binary} did not start on port {port} (see {log}): {detail}")]
    NotReady { binary: String, port: u16, log: String, detail: String },
}

impl Moto {
    /// The server binary: `$VIGIE_MOTO_SERVER`, else the workspace's `infra/moto/moto_server`
    /// (with `.venv`), else `moto_server`.
    pub fn binary() -> String {
        if let Ok(bin) = std::env::var("VIGIE_MOTO_SERVER")
            && !bin.is_empty()
        {
            return bin;
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        if root.join(".venv/bin/moto_server").exists() {
            root.join("infra/moto/moto_server").to_string_lossy().into_owned()
        } else {
            "moto_server".to_owned()
        }
    }

    /// Starts a private server on a free port and waits until it accepts connections.
    /// Blocks the calling thread (about half a second).
    pub fn start() -> Result<Self, MotoError> {
        let binary = Self::binary();
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(MotoError::Port)?
            .port();
        let log = std::env::temp_dir().join(format!("vigie-moto-{port}.log"));
        let spawn = |source| MotoError::Spawn { binary: binary.clone(), source };
        let out = File::create(&log).map_err(spawn)?;
        let err = out.try_clone().map_err(spawn)?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(&binary)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(spawn)?;
        let stdin = child.stdin.take();
        let mut moto = Self { endpoint: format!("http://127.0.0.1:{port}"), port, log, child, stdin };

        let not_ready = |moto: &Self, detail: String| MotoError::NotReady {
            binary: binary.clone(),
            port,
            log: moto.log.display().to_string(),
            detail,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                tracing::debug!(endpoint = %moto.endpoint, "moto is up");
                return Ok(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                let tail = std::fs::read_to_string(&moto.log).unwrap_or_default();
                let tail: String = tail
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(" | ");
                return Err(not_ready(&moto, format!("it exited ({status}): {tail}")));
            }
            if Instant::now() > deadline {
                return Err(not_ready(&moto, format!("nothing listening after {START_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process-wide server, started on first use; lives until the process exits.
    ///
    /// # Panics
    /// If the server cannot start (the message says how to install it).
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| {
            Moto::start().unwrap_or_else(|e| {
                panic!(
                    "{e}\nInstall moto: python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5', or set VIGIE_MOTO_SERVER"
                )
            })
        })
    }

    /// A fresh table prefix (`<label>-<ulid>`, lower case) so tests sharing a server don't
    /// share tables.
    pub fn unique_prefix(label: &str) -> String {
        format!("{label}-{}", ulid::Ulid::new().to_string().to_lowercase())
    }

    /// SDK configuration pointing at this server (see [`crate::stack::aws_config`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        crate::stack::aws_config(&self.endpoint).await
    }

    /// What this server has "sent" so far.
    pub async fn outbox(&self) -> Result<Outbox, OutboxError> {
        crate::outbox::fetch_outbox(&self.endpoint).await
    }

    /// Wipes all the server's state (`POST /moto-api/reset`). Only for a private server.
    pub async fn reset(&self) -> Result<(), reqwest::Error> {
        reqwest::Client::new()
            .post(format!("{}/moto-api/reset", self.endpoint))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing the pipe makes the supervisor kill the server, then exit.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
