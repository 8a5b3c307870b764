//! Size of the Lambda artifacts `cargo lambda build --release --arm64` leaves in
//! `target/lambda/<function>/bootstrap`.

use std::path::Path;

/// Goal: each bootstrap under 10 MB.
pub const LIMIT_BYTES: u64 = 10_000_000;

#[derive(Clone, Debug)]
pub struct Artifact {
    pub function: &'static str,
    /// `None` when the file is missing.
    pub bytes: Option<u64>,
    /// The ELF machine, e.g. "aarch64".
    pub machine: String,
}

fn elf_machine(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else { return "unreadable".to_owned() };
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return "not an ELF file".to_owned();
    }
    // e_machine, little-endian on every target vigie builds for.
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0xB7 => "aarch64".to_owned(),
        0x3E => "x86_64".to_owned(),
        other => format!("ELF machine {other:#x}"),
    }
}

pub fn measure(lambda_dir: &Path, functions: &[&'static str]) -> Vec<Artifact> {
    functions
        .iter()
        .map(|&function| {
            let path = lambda_dir.join(function).join("bootstrap");
            let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
            let machine = if bytes.is_some() { elf_machine(&path) } else { "missing".to_owned() };
            Artifact { function, bytes, machine }
        })
        .collect()
}

pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// `cargo lambda build --release --arm64` of the three functions, running in the background.
pub struct Build {
    child: std::process::Child,
    started: std::time::Instant,
    log: std::path::PathBuf,
}

impl Build {
    /// Starts it in `root`, with `.venv-run/bin` (cargo-lambda and zig) first on the PATH; its
    /// output goes to `<scratch>/arm64-build.log`.
    pub fn start(root: &Path, scratch: &Path) -> std::io::Result<Self> {
        let log = scratch.join("arm64-build.log");
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![root.join(".venv-run/bin")];
        dirs.extend(std::env::split_paths(&path));
        let child = std::process::Command::new("cargo")
            .args(["lambda", "build", "--release", "--arm64"])
            .args(["--bin", "web", "--bin", "inbound-sms", "--bin", "fan-out"])
            .current_dir(root)
            .env("PATH", std::env::join_paths(dirs).map_err(std::io::Error::other)?)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Self { child, started: std::time::Instant::now(), log })
    }

    /// Waits for it; how long it took, in seconds.
    pub fn wait(mut self) -> Result<u64, String> {
        let status = self.child.wait().map_err(|e| format!("cargo lambda build: {e}"))?;
        if status.success() {
            Ok(self.started.elapsed().as_secs())
        } else {
            Err(format!(
                "cargo lambda build failed ({status}), see {}: {}",
                self.log.display(),
                crate::process::tail(&self.log, 3)
            ))
        }
    }
}
