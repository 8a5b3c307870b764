//! The table `make bench` prints and writes to `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cold_start::ColdStart;
use crate::fanout::{Ceiling, Memory, Throughput};
use crate::machine::Machine;
use crate::quota::{self, QuotaRun};
use crate::size::{self, Artifact};
use crate::sms_cost::{SHORT_ALERT_CHARS, SmsCost};
use crate::stats::ms;

/// Goals of issue 4.
pub const COLD_START_MAX_RATIO: f64 = 1.5;
pub const FAN_OUT_MIN_SHARE: f64 = 0.80;
pub const SMS_ONE_SEGMENT_MIN_SHARE: f64 = 0.95;
/// "Flat": ten times the members may cost at most this much more peak memory.
pub const MEMORY_MAX_GROWTH: f64 = 1.25;

/// Everything one run measured; a part that could not run holds its error.
#[derive(Default)]
pub struct Report {
    pub machine: Option<Machine>,
    pub total: Duration,
    /// Seconds of the host release build and of the arm64 build, when `make bench` ran them.
    pub builds: (Option<u64>, Option<u64>),
    /// Which emulator the fan-out ran on.
    pub emulator: String,
    pub cold_start: Option<Result<ColdStart, String>>,
    pub throughput: Option<Result<(Throughput, Vec<Ceiling>), String>>,
    pub memory: Option<Result<Vec<Memory>, String>>,
    /// Said when the large community was measured with another channel mix.
    pub memory_note: Option<String>,
    pub sms: Option<Result<SmsCost, String>>,
    pub size: Option<Vec<Artifact>>,
    pub quota: Option<Result<QuotaRun, String>>,
    /// Why the arm64 build failed, if it did.
    pub size_error: Option<String>,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "✅ met" } else { "❌ missed" }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    /// The cold start ratios to hello world: (function, median ratio).
    fn cold_ratios(cold: &ColdStart) -> Vec<(&'static str, Option<f64>)> {
        let hello = cold.results.iter().find(|r| r.name == "hello").and_then(|r| r.init);
        cold.results
            .iter()
            .filter(|r| r.name != "hello")
            .map(|r| {
                let ratio = match (r.init, hello) {
                    (Some(f), Some(h)) => Some(f.median.as_secs_f64() / h.median.as_secs_f64()),
                    _ => None,
                };
                (r.name, ratio)
            })
            .collect()
    }

    fn best_ceiling(ceilings: &[Ceiling]) -> Option<&Ceiling> {
        ceilings.iter().max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
    }

    fn summary(&self, out: &mut String) {
        out.push_str("| # | measure | result | goal | verdict |\n|---|---|---|---|---|\n");
        match &self.cold_start {
            Some(Ok(cold)) => {
                let ratios = Self::cold_ratios(cold);
                let worst =
                    ratios.iter().filter_map(|(n, r)| r.map(|r| (n, r))).max_by(|a, b| a.1.total_cmp(&b.1));
                let failed: Vec<&str> =
                    cold.results.iter().filter(|r| r.failure.is_some()).map(|r| r.name).collect();
                let all = ratios
                    .iter()
                    .map(|(n, r)| format!("{n} {}", r.map_or("–".into(), |r| format!("{r:.2}×"))))
                    .collect::<Vec<_>>()
                    .join(", ");
                let ok = failed.is_empty()
                    && ratios.iter().all(|(_, r)| r.is_some_and(|r| r <= COLD_START_MAX_RATIO))
                    && cold.network_calls == 0;
                let _ = writeln!(
                    out,
                    "| 1 | cold start (init) vs hello world, median | {all}{} | each ≤ {COLD_START_MAX_RATIO}×, no network call | {} |",
                    worst.map_or(String::new(), |(n, r)| format!(" (worst: {n} {r:.2}×)")),
                    verdict(ok)
                );
            }
            Some(Err(e)) => {
                let _ =
                    writeln!(out, "| 1 | cold start | not measured: {e} | ≤ {COLD_START_MAX_RATIO}× | ❌ |");
            }
            None => {}
        }
        match &self.throughput {
            Some(Ok((t, ceilings))) => {
                if let Some(c) = Self::best_ceiling(ceilings) {
                    let rate = t.sends as f64 / t.to_last_send.as_secs_f64().max(1e-9);
                    let share = rate / c.per_second();
                    let _ = writeln!(
                        out,
                        "| 2 | fan-out send rate / emulator ceiling ({} members) | {:.0} / {:.0} sends/s = {} | ≥ {:.0} % | {} |",
                        thousands(t.members),
                        rate,
                        c.per_second(),
                        pct(share),
                        FAN_OUT_MIN_SHARE * 100.0,
                        verdict(share >= FAN_OUT_MIN_SHARE && t.counts.pending == 0)
                    );
                }
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "| 2 | fan-out throughput | not measured: {e} | ≥ 80 % | ❌ |");
            }
            None => {}
        }
        match &self.memory {
            Some(Ok(runs)) if runs.len() >= 2 => {
                let (small, large) = (&runs[0], &runs[runs.len() - 1]);
                let growth = large.hwm_kib as f64 / small.hwm_kib.max(1) as f64;
                let _ = writeln!(
                    out,
                    "| 3 | fan-out peak RSS, {} → {} members | {} → {} ({growth:.2}×) | flat (≤ {MEMORY_MAX_GROWTH}×) | {} |",
                    thousands(small.members),
                    thousands(large.members),
                    mib(small.hwm_kib),
                    mib(large.hwm_kib),
                    verdict(growth <= MEMORY_MAX_GROWTH)
                );
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let _ = writeln!(out, "| 3 | fan-out memory | not measured: {e} | flat | ❌ |");
            }
            None => {}
        }
        match &self.sms {
            Some(Ok(s)) => {
                let share = s.short_in_one(true);
                let _ = writeln!(
                    out,
                    "| 4 | alerts ≤ {SHORT_ALERT_CHARS} chars in one SMS segment (normalised; as typed: {}) | {} | ≥ {:.0} % | {} |",
                    pct(s.short_in_one(false)),
                    pct(share),
                    SMS_ONE_SEGMENT_MIN_SHARE * 100.0,
                    verdict(share >= SMS_ONE_SEGMENT_MIN_SHARE)
                );
                let _ = writeln!(
                    out,
                    "| 4 | cost of one alert to {} members by SMS (at {} EUR/segment, assumed) | {:.2} EUR (as typed: {:.2} EUR) | – | – |",
                    s.recipients,
                    s.price_per_segment,
                    s.cost_per_alert(true),
                    s.cost_per_alert(false)
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "| 4 | SMS cost | not measured: {e} | ≥ 95 % | ❌ |");
            }
            None => {}
        }
        match &self.quota {
            Some(Ok(q)) => {
                let _ = writeln!(
                    out,
                    "| 6 | police alert to {} × {} members at {} SMS parts/s and {} emails/s: time / what the quota needs | {:.3}× ({} / {}), {} throttled, busiest second {} SMS / {} emails, {} invocations in flight | ≤ {}×, 0 throttled, ≥ 2 in flight | {} |",
                    q.communities,
                    thousands(q.members_each),
                    q.sms_per_second,
                    q.emails_per_second,
                    q.ratio(),
                    secs(q.to_last_send),
                    secs(q.physical()),
                    q.throttled,
                    q.busiest_sms_second,
                    q.busiest_email_second,
                    q.most_in_flight,
                    quota::MAX_RATIO,
                    verdict(q.met())
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(
                    out,
                    "| 6 | shared send rate | not measured: {e} | ≤ {}× | ❌ |",
                    quota::MAX_RATIO
                );
            }
            None => {}
        }
        if let Some(artifacts) = &self.size {
            let all = artifacts
                .iter()
                .map(|a| format!("{} {}", a.function, a.bytes.map_or("missing".into(), size::mb)))
                .collect::<Vec<_>>()
                .join(", ");
            let ok = artifacts
                .iter()
                .all(|a| a.bytes.is_some_and(|b| b < size::LIMIT_BYTES) && a.machine == "aarch64");
            let _ = writeln!(out, "| 5 | arm64 bootstrap size | {all} | each < 10 MB | {} |", verdict(ok));
        }
    }

    fn details(&self, out: &mut String) {
        if let Some(Ok(cold)) = &self.cold_start {
            let _ = writeln!(
                out,
                "\n## 1. Cold start\n\nRelease binaries built for this host ({}; the functions deploy to arm64, the \
                 ratio is what matters), each started {} times, interleaved, with a clean environment as Lambda \
                 gives it, against a Runtime API played on 127.0.0.1. Init = spawn → first \
                 `GET /2018-06-01/runtime/invocation/next`. Every AWS endpoint (and instance metadata) pointed at \
                 a local port that drops connections: **{} connection(s) during all the inits**.\n",
                std::env::consts::ARCH,
                cold.runs,
                cold.network_calls
            );
            if !cold.extra_env.is_empty() {
                let env: Vec<String> = cold.extra_env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
                let _ = writeln!(out, "**Experiment**: every binary also had {}.\n", env.join(", "));
            }
            out.push_str("| binary | runs | median | p90 | min | max | ratio to hello (median) |\n|---|---|---|---|---|---|---|\n");
            let ratios = Self::cold_ratios(cold);
            for r in &cold.results {
                let ratio = ratios.iter().find(|(n, _)| *n == r.name).and_then(|(_, x)| *x);
                match (&r.init, &r.failure) {
                    (Some(s), _) => {
                        let _ = writeln!(
                            out,
                            "| {} | {} | {} | {} | {} | {} | {} |",
                            r.name,
                            s.n,
                            ms(s.median),
                            ms(s.p90),
                            ms(s.min),
                            ms(s.max),
                            ratio.map_or("1 (reference)".to_owned(), |x| format!("{x:.2}×"))
                        );
                    }
                    (None, failure) => {
                        let _ = writeln!(
                            out,
                            "| {} | failed: {} | | | | | |",
                            r.name,
                            failure.as_deref().unwrap_or("no sample").replace('|', "/")
                        );
                    }
                }
            }
        }
        if let Some(Ok((t, ceilings))) = &self.throughput {
            let rate = t.sends as f64 / t.to_last_send.as_secs_f64().max(1e-9);
            let _ = writeln!(
                out,
                "\n## 2. Fan-out throughput\n\n{} members in one community (all with an email address; email alerts on \
                 for {} % of them, a number and SMS alerts on for {} %), registered through `Registry::register`; one alert recorded with \
                 `AlertLog::record_inbound_alerts`; the fan-out handler run in-process by the stream relay with \
                 the event source mapping of `template.yaml` (page {}, concurrency {}, chunks of {} members, no \
                 send-rate limit: the emulator is slower than any quota). Every call of the function's SDK \
                 clients counted by an interceptor. Emulator: {}.\n",
                thousands(t.members),
                t.mix.email_percent,
                t.mix.sms_percent,
                t.page_size,
                t.concurrency,
                thousands(t.chunk_members),
                self.emulator
            );
            out.push_str("| | |\n|---|---|\n");
            let _ = writeln!(
                out,
                "| deliveries | {} SMS + {} emails expected; ledger: {} SMS + {} emails sent, {} failed, {} pending |",
                thousands(t.sms),
                thousands(t.emails),
                t.counts.sms_sent,
                t.counts.email_sent,
                t.counts.sms_failed + t.counts.email_failed,
                t.counts.pending
            );
            let _ =
                writeln!(out, "| invocations | {} (failed batches: {}) |", t.invocations, t.failed_batches);
            let _ = writeln!(out, "| stream record read → last send | {} |", secs(t.to_last_send));
            let _ = writeln!(out, "| stream record read → last invocation done | {} |", secs(t.to_done));
            let _ = writeln!(
                out,
                "| recipients/s | {:.0} ({} neighbours reached) |",
                t.counts.recipients as f64 / t.to_last_send.as_secs_f64().max(1e-9),
                t.counts.recipients
            );
            let _ = writeln!(out, "| sends/s (SMS + email) | {rate:.0} ({} sends) |", t.sends);
            for (i, c) in ceilings.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| emulator ceiling, run {} ({}) | {:.0} sends/s ({} sends in {}, concurrency {}, {} errors) |",
                    i + 1,
                    if i == 0 { "before the fan-out" } else { "after" },
                    c.per_second(),
                    c.sends,
                    secs(c.elapsed),
                    c.concurrency,
                    c.errors
                );
            }
            if let Some(c) = Self::best_ceiling(ceilings) {
                let _ = writeln!(out, "| fan-out / best ceiling | {} |", pct(rate / c.per_second()));
            }
            out.push_str("\nAWS calls of the function, by kind, against the minimum possible (one send per delivery, \
                          the sender's confirmation, one read of the alert, one roster page per \
                          `FANOUT_PAGE_SIZE` members). Mean time is from the call's start to its end, waiting for the \
                          emulator included:\n\n| call | count | HTTP attempts | errors | mean time | minimum |\n|---|---|---|---|---|---|\n");
            let pages = t.members.div_ceil(t.page_size.max(1));
            let minimum = |label: &str| -> usize {
                match label {
                    "Publish" => t.sms + 1,
                    "SendEmail" => t.emails,
                    "GetItem alerts" => 1,
                    "Query members" => pages,
                    _ => 0,
                }
            };
            let mut total = (0u64, 0usize);
            for (label, tally) in &t.calls {
                let min = minimum(label);
                total.0 += tally.calls;
                total.1 += min;
                let _ = writeln!(
                    out,
                    "| {label} | {} | {} | {} | {} | {} |",
                    thousands(tally.calls as usize),
                    thousands(tally.attempts as usize),
                    tally.errors,
                    ms(tally.busy / (tally.calls.max(1) as u32)),
                    thousands(min)
                );
            }
            let _ = writeln!(
                out,
                "| **total** | **{}** | | | | **{}** ({:.3} calls per minimum call; {:.3} calls per delivery) |",
                thousands(total.0 as usize),
                thousands(total.1),
                total.0 as f64 / total.1.max(1) as f64,
                total.0 as f64 / (t.sms + t.emails).max(1) as f64
            );
        }
        if let Some(Ok(runs)) = &self.memory {
            out.push_str(
                "\n## 3. Memory\n\nThe release `fan-out` binary (this host's build) started as Lambda starts it, \
                 against the emulator, behind the local Runtime API, fed the alert's stream records by the relay; \
                 each chunk of members is an invocation of the same process, as in a warm Lambda. Peak RSS = \
                 `VmHWM` of `/proc/<pid>/status`, read once initialised, after each invocation, and at the end. \
                 The last invocation also tallies the whole alert from the ledger.\n\n\
                 | members | deliveries expected | sent (SMS + email) | invocations | peak RSS at init | after the 1st invocation | before the last | at the end | wall time | sends/s |\n\
                 |---|---|---|---|---|---|---|---|---|---|\n",
            );
            for m in runs {
                let sent = m.counts.sms_sent + m.counts.email_sent;
                let n = m.hwm_by_invocation.len();
                let first = m.hwm_by_invocation.first().map_or("–".to_owned(), |k| mib(*k));
                let before_last = if n >= 2 { mib(m.hwm_by_invocation[n - 2]) } else { "–".to_owned() };
                let _ = writeln!(
                    out,
                    "| {} | {} SMS + {} emails | {} + {} | {} | {} | {} | {} | {} | {} | {:.0} |",
                    thousands(m.members),
                    thousands(m.sms),
                    thousands(m.emails),
                    m.counts.sms_sent,
                    m.counts.email_sent,
                    m.invocations,
                    mib(m.init_hwm_kib),
                    first,
                    before_last,
                    mib(m.hwm_kib),
                    secs(m.elapsed),
                    sent as f64 / m.elapsed.as_secs_f64().max(1e-9)
                );
            }
            if let Some(note) = &self.memory_note {
                let _ = writeln!(out, "\n{note}");
            }
        }
        if let Some(Ok(s)) = &self.sms {
            let short = s.short().count();
            let _ = writeln!(
                out,
                "\n## 4. SMS cost\n\n`bench/corpus/alerts-fr.txt`: {} French alerts ({} of up to {SHORT_ALERT_CHARS} \
                 characters). Each is texted as neighbours receive it: `compose::alert_sms` (\"Marie : …\", texted \
                 source, no category, at most {} segments), counted with `domain::count_segments`; \"as typed\" is \
                 the same \"Marie : …\" without the GSM-7 normalisation (nor the cut). Price: {} EUR per segment, \
                 an **assumption** (SNS price of an SMS to France), set with `--sms-price`.\n",
                s.alerts.len(),
                short,
                s.max_segments,
                s.price_per_segment
            );
            out.push_str("| | normalised (as sent) | as typed |\n|---|---|---|\n");
            let _ = writeln!(
                out,
                "| alerts ≤ {SHORT_ALERT_CHARS} chars in 1 segment | {} | {} |",
                pct(s.short_in_one(true)),
                pct(s.short_in_one(false))
            );
            let ucs2 =
                |n: bool| s.alerts.iter().filter(|a| if n { a.with_ucs2 } else { a.without_ucs2 }).count();
            let _ = writeln!(
                out,
                "| alerts sent as UCS-2 (70 chars/segment) | {} | {} |",
                ucs2(true),
                ucs2(false)
            );
            let hist = |n: bool| {
                s.histogram(n)
                    .iter()
                    .map(|(seg, count)| format!("{seg}: {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "| alerts by segments | {} | {} |", hist(true), hist(false));
            let _ = writeln!(
                out,
                "| mean segments per alert | {:.3} | {:.3} |",
                s.mean_segments(true),
                s.mean_segments(false)
            );
            let _ = writeln!(
                out,
                "| one alert to {} members | {:.2} EUR | {:.2} EUR |",
                s.recipients,
                s.cost_per_alert(true),
                s.cost_per_alert(false)
            );
            let over: Vec<_> = s.short().filter(|a| a.with > 1).collect();
            if !over.is_empty() {
                out.push_str("\nAlerts of up to 140 characters that still take more than one segment:\n\n");
                for a in over {
                    let _ = writeln!(
                        out,
                        "- {} segments{}: {}",
                        a.with,
                        if a.with_ucs2 { " (UCS-2)" } else { "" },
                        a.text.replace('\n', " ")
                    );
                }
            }
        }
        if let Some(e) = &self.size_error {
            let _ = writeln!(out, "\n**The arm64 build failed**: {e}");
        }
        if let Some(artifacts) = &self.size {
            out.push_str(
                "\n## 5. Size\n\n`cargo lambda build --release --arm64 --bin web --bin inbound-sms --bin fan-out` \
                 (with `--build-arm64`, as `make bench` does: run by vigie-bench in the background of part 3), \
                 `target/lambda/<function>/bootstrap`; 1 MB = 10^6 bytes.\n\n| function | bytes | size | machine | goal |\n|---|---|---|---|---|\n",
            );
            for a in artifacts {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    a.function,
                    a.bytes.map_or("missing".into(), |b| thousands(b as usize)),
                    a.bytes.map_or("–".into(), size::mb),
                    a.machine,
                    verdict(a.bytes.is_some_and(|b| b < size::LIMIT_BYTES))
                );
            }
        }
        if let Some(Ok(q)) = &self.quota {
            let _ = writeln!(
                out,
                "\n## 6. One send rate, shared\n\nA police alert to {} communities of {} members each (every member \
                 with a number and an address, both channels on), at {} SMS parts and {} emails a second: the \
                 fan-out handler in-process, driven by the stream relay with the event source mapping of \
                 `template.yaml` (`ParallelizationFactor`: the two communities' records side by side), each \
                 invocation in an execution environment of its own (its own clients and pacers on the rate \
                 shared through the ledger, a 900 s deadline). The functions' calls go through the gateway's \
                 send quotas (`infra::gateway::quota`: a bucket of one second of quota, AWS's throttling \
                 answers above it), which counts what it lets through. The physical limit is the time the \
                 quota needs for what was sent (the slower channel). Emulator: {}.\n",
                q.communities,
                thousands(q.members_each),
                q.sms_per_second,
                q.emails_per_second,
                self.emulator
            );
            out.push_str("| | |\n|---|---|\n");
            let _ = writeln!(
                out,
                "| SMS parts / emails sent | {} / {} |",
                thousands(q.sms_parts as usize),
                thousands(q.emails as usize)
            );
            let _ = writeln!(out, "| physical limit (what the quota needs) | {} |", secs(q.physical()));
            let _ = writeln!(
                out,
                "| first invocation → first send, → last send (the sender's count, after the tally) | {}, {} |",
                secs(q.to_first_send),
                secs(q.to_last_send)
            );
            let _ = writeln!(out, "| ratio (goal ≤ {}×) | {:.3}× |", quota::MAX_RATIO, q.ratio());
            let _ = writeln!(
                out,
                "| busiest second of the clock | {} SMS parts (quota {}), {} emails (quota {}) |",
                q.busiest_sms_second, q.sms_per_second, q.busiest_email_second, q.emails_per_second
            );
            let _ = writeln!(out, "| throttled calls | {} |", q.throttled);
            let _ = writeln!(
                out,
                "| invocations | {} in all, at most {} in flight, {} environments (failed batches: {}) |",
                q.invocations, q.most_in_flight, q.environments, q.failed_batches
            );
            for (i, c) in q.counts.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| community {} (ledger) | {} SMS + {} emails sent, {} failed, {} pending |",
                    i + 1,
                    c.sms_sent,
                    c.email_sent,
                    c.sms_failed + c.email_failed,
                    c.pending
                );
            }
        }
    }

    /// The whole generated part of `docs/benchmarks.md`.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# Benchmarks\n\nThe latest figures of `make bench` (issue 4). Everything above the notes is written by \
             `vigie-bench` (`bench/`); each ratio is taken within the same run, because these machines are noisy.\n\n",
        );
        if let Some(m) = &self.machine {
            out.push_str("| machine | |\n|---|---|\n");
            let _ = writeln!(out, "| CPU | {} |", m.cpu);
            let _ = writeln!(out, "| cores (`nproc`) | {} |", m.nproc);
            let _ = writeln!(out, "| load average at the start (1, 5, 15 min) | {} |", m.load);
            let _ = writeln!(out, "| memory | {} |", m.memory);
            let _ = writeln!(out, "| kernel | {} |", m.kernel);
            let _ = writeln!(out, "| Rust | {} |", m.rustc);
            let _ = writeln!(out, "| date | {} |", m.date);
            let _ = writeln!(out, "| commit | {} |", m.commit);
            if self.builds != (None, None) {
                let (host, arm) = self.builds;
                let host = host.map_or("–".to_owned(), |s| format!("{s} s"));
                let arm = arm.map_or("–".to_owned(), |s| format!("{s} s, in the background of part 3"));
                let _ = writeln!(
                    out,
                    "| builds | release for this host: {host}; `cargo lambda build --release --arm64`: {arm} |"
                );
            }
            let _ = writeln!(out, "| measuring | {} (after the host build) |\n", secs(self.total));
        }
        self.summary(&mut out);
        self.details(&mut out);
        out
    }
}
