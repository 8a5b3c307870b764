//! `vigie-bench`: the measurements behind `make bench` (issue 4). Prints a table and writes it,
//! with the machine it ran on, to `docs/benchmarks.md`.
//!
//! Expects the release binaries next to itself (`cargo build --release -p web -p inbound-sms
//! -p fan-out -p vigie-bench`), moto in `.venv` and, for the size part, the output of
//! `cargo lambda build --release --arm64`. `make bench` does all of that.

#![recursion_limit = "256"]

mod cold_start;
mod community;
mod counting;
mod fanout;
mod machine;
mod process;
mod quota;
mod report;
mod size;
mod sms_cost;
mod stats;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use crate::community::{BoxError, Emulator, Mix};
use crate::counting::CallCounter;
use crate::report::Report;

/// The parts of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    ColdStart,
    FanOut,
    Memory,
    Sms,
    Size,
    Quota,
}

#[derive(Parser, Debug)]
#[command(
    about = "vigie's benchmarks: cold start, fan-out throughput, memory, SMS cost, size, shared send rate"
)]
struct Args {
    /// Parts to run (all by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
    /// Cold starts per binary.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Members of the community of the throughput and first memory run.
    #[arg(long, default_value_t = 2_000)]
    members: usize,
    /// Members of the large community of the second memory run.
    #[arg(long, default_value_t = 20_000)]
    large_members: usize,
    /// Percentage of members with SMS alerts on.
    #[arg(long, default_value_t = 60)]
    sms_percent: usize,
    /// Percentage of members with email alerts on.
    #[arg(long, default_value_t = 100)]
    email_percent: usize,
    /// Percentage with SMS alerts on in the large community (reduced to keep make bench short).
    #[arg(long, default_value_t = 6)]
    large_sms_percent: usize,
    /// Percentage with email alerts on in the large community.
    #[arg(long, default_value_t = 10)]
    large_email_percent: usize,
    /// Members of each of the two communities of the shared-rate run (a police alert to both).
    #[arg(long, default_value_t = 1_000)]
    quota_members: usize,
    /// SMS parts per second of the shared-rate run (the template's default; below the
    /// emulator's ceiling).
    #[arg(long, default_value_t = 20)]
    quota_sms: u32,
    /// Emails per second of the shared-rate run.
    #[arg(long, default_value_t = 20)]
    quota_emails: u32,
    /// Price of one SMS segment, EUR (an assumption: SNS price of an SMS to France).
    #[arg(long, default_value_t = 0.0725)]
    sms_price: f64,
    /// Members an alert is texted to, for the cost estimate.
    #[arg(long, default_value_t = 500)]
    recipients: usize,
    /// The corpus of alerts (one per line).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Where the release binaries are (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Where cargo lambda put the artifacts (`target/lambda`).
    #[arg(long)]
    lambda_dir: Option<PathBuf>,
    /// The report (relative to the workspace root).
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Print the table only.
    #[arg(long)]
    no_write: bool,
    /// Extra environment for the function processes of the cold start (an experiment, e.g.
    /// `--function-env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt`); said in the report.
    #[arg(long, value_parser = parse_key_value)]
    function_env: Vec<(String, String)>,
    /// Run the fan-out on plain moto rather than bench/moto/moto_server (moto without its costs
    /// that grow with a table's size; see bench/moto/scale.py). Plain moto copies the whole table
    /// once per item of every transaction: registering 2,000 members takes far too long.
    #[arg(long)]
    plain_moto: bool,
    /// How long the host release build took (`make bench` passes it, for the report).
    #[arg(long)]
    host_build_secs: Option<u64>,
    /// Run `cargo lambda build --release --arm64` for the size part, in the background once the
    /// timing-sensitive parts are done (cargo-lambda from `.venv-run`); otherwise the size part
    /// reads what an earlier build left in `target/lambda`.
    #[arg(long)]
    build_arm64: bool,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// Notes below this line in `docs/benchmarks.md` are kept from run to run.
const NOTES_MARKER: &str = "<!-- notes: kept by make bench -->";

fn progress(start: Instant, what: &str) {
    eprintln!("[{:>6.1} s] {what}", start.elapsed().as_secs_f64());
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let emulator = if args.plain_moto {
        format!("plain moto (`{}`)", infra::moto::Moto::binary())
    } else {
        let server = process::workspace_root().join("bench/moto/moto_server");
        // SAFETY: no other thread exists yet (the runtime is built below), so nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("VIGIE_MOTO_SERVER", &server) };
        "moto 5.2 with `bench/moto/scale.py`: no cost that grows with a table's size (a \
         TransactWriteItems backs up the items it names, not the whole table once per item; a \
         Query reads its partition from the start key, not the whole table sorted), and no \
         per-request directory listing or access log (they slow every call alike). Same items, \
         streams and pages as plain moto, checked by `bench/moto/test_scale.py`"
            .to_owned()
    };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args, emulator))
}

async fn run(args: Args, emulator: String) -> Result<(), BoxError> {
    let wants = |p: Part| args.only.is_empty() || args.only.contains(&p);
    let root = process::workspace_root();
    let release = args.bin_dir.clone().unwrap_or_else(process::release_dir);
    let target = release.parent().map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let scratch = target.join("bench");
    std::fs::create_dir_all(&scratch)?;
    let start = Instant::now();
    let mut report = Report {
        machine: Some(machine::describe(&root)),
        builds: (args.host_build_secs, None),
        emulator,
        ..Report::default()
    };

    // First, while nothing else runs: cold starts.
    if wants(Part::ColdStart) {
        progress(start, &format!("cold start: {} runs of 4 binaries", args.runs));
        let subject = |name: &'static str, memory_mb| cold_start::Subject {
            name,
            binary: release.join(name),
            memory_mb,
        };
        let subjects = [
            subject("hello", 128),
            subject("web", 256),
            subject("inbound-sms", 256),
            subject("fan-out", 512),
        ];
        let missing: Vec<String> =
            subjects.iter().filter(|s| !s.binary.exists()).map(|s| s.binary.display().to_string()).collect();
        report.cold_start = Some(if missing.is_empty() {
            Ok(cold_start::measure(&subjects, args.runs, &args.function_env, &scratch).await)
        } else {
            Err(format!("missing {} (cargo build --release)", missing.join(", ")))
        });
    }

    if wants(Part::Sms) {
        progress(start, "SMS cost");
        let path = args.corpus.clone().unwrap_or_else(|| root.join("bench/corpus/alerts-fr.txt"));
        report.sms = Some(match std::fs::read_to_string(&path) {
            Ok(text) => {
                sms_cost::measure(&sms_cost::corpus(&text), "Marie", 3, args.sms_price, args.recipients)
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        });
    }

    // No send-rate limit: the emulator is slower than the account's quotas, and the point is
    // to measure the fan-out against the emulator's own ceiling.
    let settings: BTreeMap<String, String> = [("SMS_PARTS_PER_SECOND", "0"), ("EMAILS_PER_SECOND", "0")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let fan_out_binary = release.join("fan-out");
    // Plain moto breaks under concurrent transactions (its whole-table copies race).
    let register_concurrency = if args.plain_moto { 1 } else { 4 };
    let small_mix = Mix { sms_percent: args.sms_percent, email_percent: args.email_percent };
    let large_mix = Mix { sms_percent: args.large_sms_percent, email_percent: args.large_email_percent };

    // The timing-sensitive part first, on a quiet machine: throughput against the ceiling.
    let mut small = None;
    if wants(Part::FanOut) || wants(Part::Memory) {
        progress(start, &format!("emulator: registering {} members", args.members));
        let setup = async {
            let emulator = Emulator::start(&settings).await?;
            let community = community::populate(
                &emulator.store,
                "quartier-petit",
                args.members,
                small_mix,
                register_concurrency,
            )
            .await?;
            Ok::<_, BoxError>((emulator, community))
        }
        .await;
        match setup {
            Ok(setup) => small = Some(setup),
            Err(e) => {
                if wants(Part::FanOut) {
                    report.throughput = Some(Err(e.to_string()));
                }
                if wants(Part::Memory) {
                    report.memory = Some(Err(e.to_string()));
                }
            }
        }
    }
    if let (true, Some((emulator, community))) = (wants(Part::FanOut), &small) {
        let concurrency = emulator.config.fanout_concurrency;
        let result = async {
            let mut ceilings = Vec::new();
            progress(start, "emulator ceiling (before)");
            ceilings.push(fanout::ceiling(emulator, community, concurrency, &CallCounter::default()).await?);
            progress(start, "fan-out throughput (in-process)");
            let t = fanout::throughput(emulator, community, &CallCounter::default()).await?;
            progress(start, "emulator ceiling (after)");
            ceilings.push(fanout::ceiling(emulator, community, concurrency, &CallCounter::default()).await?);
            Ok::<_, BoxError>((t, ceilings))
        }
        .await;
        report.throughput = Some(result.map_err(|e| e.to_string()));
    }

    // The shared send rate: paced, so it does not depend on a quiet machine as much.
    if wants(Part::Quota) {
        progress(
            start,
            &format!(
                "shared send rate: a police alert to 2 × {} members at {} SMS parts and {} emails a second",
                args.quota_members, args.quota_sms, args.quota_emails
            ),
        );
        let run =
            quota::measure(args.quota_members, args.quota_sms, args.quota_emails, register_concurrency).await;
        report.quota = Some(run.map_err(|e| e.to_string()));
    }

    // Then the arm64 build, in the background: peak memory does not depend on a busy CPU.
    let arm64_build = if wants(Part::Size) && args.build_arm64 {
        progress(start, "cargo lambda build --release --arm64 (in the background)");
        Some(size::Build::start(&root, &scratch)?)
    } else {
        None
    };

    if let (true, Some((emulator, community))) = (wants(Part::Memory), &small) {
        let result = async {
            progress(start, &format!("memory: release fan-out, {} members", args.members));
            let small_run = fanout::memory(emulator, community, &fan_out_binary, &scratch).await?;
            progress(start, &format!("emulator: registering {} members", args.large_members));
            let emulator = Emulator::start(&settings).await?;
            let community = community::populate(
                &emulator.store,
                "quartier-grand",
                args.large_members,
                large_mix,
                register_concurrency,
            )
            .await?;
            progress(start, &format!("memory: release fan-out, {} members", args.large_members));
            let large_run = fanout::memory(&emulator, &community, &fan_out_binary, &scratch).await?;
            Ok::<_, BoxError>(vec![small_run, large_run])
        }
        .await;
        report.memory = Some(result.map_err(|e| e.to_string()));
        if large_mix != small_mix {
            report.memory_note = Some(format!(
                "To keep `make bench` short, the large community had another channel mix: SMS on for {} % \
                 of its members and email alerts on for {} % (the small one: {} % and {} %), so that both \
                 alerts make about the same number of sends while the fan-out walks ten times the members. \
                 Every send is still a real call to the emulator. Full mix: `vigie-bench --only memory \
                 --large-sms-percent {} --large-email-percent {}`.",
                large_mix.sms_percent,
                large_mix.email_percent,
                small_mix.sms_percent,
                small_mix.email_percent,
                small_mix.sms_percent,
                small_mix.email_percent,
            ));
        }
    }
    drop(small);

    if wants(Part::Size) {
        if let Some(build) = arm64_build {
            progress(start, "waiting for the arm64 build");
            match build.wait() {
                Ok(secs) => report.builds.1 = Some(secs),
                Err(e) => report.size_error = Some(e.to_string()),
            }
        }
        let dir = args.lambda_dir.clone().unwrap_or_else(|| target.join("lambda"));
        report.size = Some(size::measure(&dir, &["web", "inbound-sms", "fan-out"]));
    }

    report.total = start.elapsed();
    progress(start, "done");
    let generated = report.render();
    println!("{generated}");
    if !args.no_write {
        let path = root.join(&args.out);
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let notes = match previous.split_once(NOTES_MARKER) {
            Some((_, notes)) => notes.to_owned(),
            None => "\n\n## Notes\n\n(Analyses of the figures above; kept by `make bench`.)\n".to_owned(),
        };
        std::fs::write(&path, format!("{generated}\n{NOTES_MARKER}{notes}"))?;
        eprintln!("written to {}", path.display());
    }
    Ok(())
}
