//! What the benchmark ran on.

use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Machine {
    pub cpu: String,
    pub nproc: String,
    /// `/proc/loadavg` when the benchmark started: other work on the machine skews timings.
    pub load: String,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub date: String,
    pub commit: String,
}

fn run(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program).args(args).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn describe(root: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
        .unwrap_or("unknown")
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0));
    let nproc = run("nproc", &[], root).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or("unknown".to_owned(), |n| n.to_string())
    });
    let commit = match run("git", &["rev-parse", "--short=12", "HEAD"], root) {
        Some(head) => {
            let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"], root)
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{head} (with uncommitted changes)") } else { head }
        }
        None => "unknown (not a git checkout)".to_owned(),
    };
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".to_owned());
    Machine {
        cpu,
        nproc,
        load,
        memory,
        kernel: run("uname", &["-srm"], root).unwrap_or_else(|| "unknown".to_owned()),
        rustc: run("rustc", &["-V"], root).unwrap_or_else(|| "unknown".to_owned()),
        date: run("date", &["-u", "+%Y-%m-%d %H:%M UTC"], root).unwrap_or_else(|| "unknown".to_owned()),
        commit,
    }
}
