//! Cold start: from spawning a release binary to its first `GET .../invocation/next` on a
//! Runtime API played locally ("Init Duration"), many runs, next to a hello-world function.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use infra::runtime_api::RuntimeApi;

use crate::process::{self, Trap};
use crate::stats::Summary;

/// One binary to measure.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: &'static str,
    pub binary: PathBuf,
    /// `MemorySize` of `template.yaml` (only passed through the environment).
    pub memory_mb: u32,
}

/// The init durations of one binary.
#[derive(Clone, Debug)]
pub struct Measured {
    pub name: &'static str,
    pub init: Option<Summary>,
    /// Why it could not be measured (exited before asking for work, init error...).
    pub failure: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ColdStart {
    pub runs: usize,
    pub results: Vec<Measured>,
    /// Connections to the AWS endpoint (and instance metadata) during all the inits.
    pub network_calls: usize,
    /// Extra environment given to every binary (an experiment), if any.
    pub extra_env: Vec<(String, String)>,
}

const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Spawns `subject` once; the time to its first `/next`.
async fn once(
    subject: &Subject,
    trap: &Trap,
    extra_env: &[(String, String)],
    log: &std::path::Path,
) -> Result<Duration, String> {
    let api = RuntimeApi::start().await.map_err(|e| format!("runtime API: {e}"))?;
    let mut env = process::lambda_env(subject.name, subject.memory_mb, &api.host_port(), &trap.url());
    env.extend(extra_env.iter().cloned());
    let start = Instant::now();
    let mut child = process::spawn(&subject.binary, &env, log)
        .map_err(|e| format!("cannot start {}: {e}", subject.binary.display()))?;
    let deadline = start + INIT_TIMEOUT;
    let outcome = loop {
        if let Some(ready) = api.wait_ready(Duration::from_millis(5)).await {
            break ready.map(|at| at - start).map_err(|e| format!("init error: {e}"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It may have asked just before exiting.
            if let Some(at) = api.first_next() {
                break Ok(at - start);
            }
            break Err(format!("exited before asking for work ({status}): {}", process::tail(log, 3)));
        }
        if Instant::now() > deadline {
            break Err(format!("no request for work after {INIT_TIMEOUT:?}: {}", process::tail(log, 3)));
        }
    };
    process::stop(&mut child);
    outcome
}

/// `runs` inits of each subject, interleaved (one of each, then again) so that a noisy moment
/// of the machine hits them all alike.
pub async fn measure(
    subjects: &[Subject],
    runs: usize,
    extra_env: &[(String, String)],
    scratch: &std::path::Path,
) -> ColdStart {
    let trap = Trap::start().expect("a local port for the trap endpoint");
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); subjects.len()];
    let mut failures: Vec<Option<String>> = vec![None; subjects.len()];
    // One unmeasured start each first: the binaries come into the page cache.
    for (i, subject) in subjects.iter().enumerate() {
        let log = scratch.join(format!("cold-start-{}.log", subject.name));
        if let Err(e) = once(subject, &trap, extra_env, &log).await {
            failures[i] = Some(e);
        }
    }
    for run in 0..runs {
        for k in 0..subjects.len() {
            // Rotate the order from run to run.
            let i = (k + run) % subjects.len();
            if failures[i].is_some() {
                continue;
            }
            let log = scratch.join(format!("cold-start-{}.log", subjects[i].name));
            match once(&subjects[i], &trap, extra_env, &log).await {
                Ok(d) => samples[i].push(d),
                Err(e) => failures[i] = Some(e),
            }
        }
    }
    let results = subjects
        .iter()
        .zip(samples)
        .zip(failures)
        .map(|((s, samples), failure)| Measured {
            name: s.name,
            init: if failure.is_none() { Summary::of(&samples) } else { None },
            failure,
        })
        .collect();
    ColdStart { runs, results, network_calls: trap.count(), extra_env: extra_env.to_vec() }
}
