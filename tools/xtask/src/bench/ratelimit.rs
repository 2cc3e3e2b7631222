//! Benchmark 4, the rate-limit ceiling: the stand-in enforces a scaled-down
//! Klaviyo limit (burst 10/s, steady 120/min) with 20 ms latency per
//! request, and the runner backfills profiles (100 per page) for a set
//! time. The steady limit allows 120 requests × 100 records a minute, 200
//! records/s; the benchmark compares what the runner achieved with that,
//! counts the stand-in's 429 answers and the runner's retries, and says
//! whether the run failed.
//!
//! The stand-in holds more profiles than the limit lets anyone read in
//! that time, so the run is stopped (killed) at the end of the duration;
//! its output up to then is what counts. The limiter's windows start at
//! the first request, so with a duration of whole minutes the limit allows
//! exactly 120 requests per minute of it.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::measure::Job;
use super::{Bench, Ctx, Section, mib, thousands, verdict};
use crate::standin::StandIn;

const BURST_PER_SECOND: u32 = 10;
const STEADY_PER_MINUTE: u32 = 120;
const LATENCY_MS: u64 = 20;
const PAGE: u32 = 100;
const TARGET: f64 = 0.9;

pub fn run(ctx: &Ctx, duration: Duration) -> Result<Section, String> {
    let mut section = Section::new(
        Bench::RateLimit,
        &format!(
            "4. Rate-limit ceiling: {BURST_PER_SECOND}/s burst, {STEADY_PER_MINUTE}/min steady, {LATENCY_MS} ms latency, profiles backfill"
        ),
        &[
            "data",
            "duration",
            "records",
            "records/s",
            "of the steady limit (200/s)",
            "requests/min (limit 120)",
            "429 answers",
            "records per 200 answer",
            "runner retries",
            "run failed",
            "peak RSS",
            "target (≥ 90%, no failure)",
        ],
    );
    let mut profiles = 0;
    for bulk in [true, false] {
        let (row, n) = backfill(ctx, duration, bulk)?;
        section.row(row);
        profiles = n;
    }
    section.notes.push(format!(
        "{} profiles on the stand-in, page size {PAGE}, emitIndividually. \"bulk imports\" is the stand-in's \
         default account: bulk imports and bulk updates give hundreds of profiles (about half of them) the same \
         `updated` second; \"spread out\" (`klaviyo-fake serve --no-bulk`) has records one by one. Where more \
         records share a second than fit on a page, the trigger proves with one more query that none moved out \
         of an offset cursor's reach while it followed it (docs/polling.md), and each query from a watermark \
         re-reads the records at it: those are the requests that carry fewer new records. Requests and 429s \
         are counted from the stand-in's request log (a 429 counts against the steady limit too, as at \
         Klaviyo), retries from the runner's warn lines. With a duration of whole minutes the limit allows \
         exactly {STEADY_PER_MINUTE} requests per minute of it.",
        thousands(profiles as f64),
    ));
    Ok(section)
}

/// One backfill: the row and the number of profiles on the stand-in.
fn backfill(ctx: &Ctx, duration: Duration, bulk: bool) -> Result<(Vec<String>, usize), String> {
    let steady_rate = f64::from(STEADY_PER_MINUTE * PAGE) / 60.0;
    // More than the limit lets through in `duration`, so the run is still
    // going when it is stopped.
    let profiles = ((duration.as_secs_f64() * steady_rate * 1.5) as usize + 1000).max(5000);
    let name = if bulk {
        "ratelimit"
    } else {
        "ratelimit-spread"
    };
    let fake_log = ctx.work.join(format!("{name}-standin.log"));
    let mut args = vec![
        "--profiles".to_owned(),
        profiles.to_string(),
        "--rate-limit".to_owned(),
        format!("{BURST_PER_SECOND}/s,{STEADY_PER_MINUTE}/m"),
        "--latency-ms".to_owned(),
        LATENCY_MS.to_string(),
        // Logs every request with its status.
        "--verbose".to_owned(),
    ];
    if !bulk {
        args.push("--no-bulk".to_owned());
    }
    let fake = StandIn::start(&ctx.fake, &args, Some(&fake_log))?;
    let out_path = ctx.work.join("out").join(format!("{name}.jsonl"));
    let log_path = ctx.work.join("out").join(format!("{name}.log"));
    let create = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let usage = ctx.measure(
        name,
        Job {
            program: &ctx.runner,
            args: vec![
                "process".to_owned(),
                "getNewAndUpdatedObjectsPolling".to_owned(),
            ],
            env: vec![("KLAVIYO_BASE_URL", fake.base_url.clone())],
            stdin: Ctx::poll_input(&fake.api_key, "profiles", "emitIndividually"),
            stdout: Stdio::from(create(&out_path)?),
            stderr: Stdio::from(create(&log_path)?),
            limit: Some(duration),
        },
    )?;
    let exited_early = !usage.killed;
    let elapsed = usage.wall;
    drop(fake);

    let out = scan_output(&out_path)?;
    let runner_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let retries = runner_log
        .lines()
        .filter(|l| l.contains("\"level\":40") && l.contains("retrying"))
        .count();
    let fake_log = std::fs::read_to_string(&fake_log).unwrap_or_default();
    let (requests, throttled) = count_requests(&fake_log);

    let secs = elapsed.as_secs_f64();
    let per_ok = out.records as f64 / requests.saturating_sub(throttled).max(1) as f64;
    let rate = out.records as f64 / secs;
    let ratio = rate / steady_rate;
    let finished = exited_early && usage.success() && out.error.is_none() && out.ended;
    let failed = (exited_early && !finished) || out.error.is_some();
    let how = if failed {
        format!(
            "FAILED after {secs:.0} s ({}{})",
            usage.describe(),
            out.error
                .as_deref()
                .map(|e| format!(", {e}"))
                .unwrap_or_default()
        )
    } else if finished {
        format!("no: finished the backfill in {secs:.0} s")
    } else {
        "no (still running, stopped at the end)".to_owned()
    };

    let row = vec![
        (if bulk { "bulk imports" } else { "spread out" }).to_owned(),
        format!("{secs:.0} s"),
        thousands(out.records as f64),
        format!("{rate:.1}"),
        format!("{:.1}%", ratio * 100.0),
        format!("{:.1}", requests as f64 / secs * 60.0),
        format!(
            "{throttled} ({:.0}% of requests)",
            percent(throttled, requests)
        ),
        format!("{per_ok:.1}"),
        retries.to_string(),
        how,
        mib(usage.maxrss),
        format!(
            "rate {}, {}",
            verdict(ratio >= TARGET),
            if failed { "failed" } else { "no failure: met" }
        ),
    ];
    Ok((row, profiles))
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

struct Scanned {
    records: usize,
    ended: bool,
    error: Option<String>,
}

/// Counts complete data lines; notes an error event and the end line.
fn scan_output(path: &Path) -> Result<Scanned, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut s = Scanned {
        records: 0,
        ended: false,
        error: None,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // A line cut short by the kill does not count.
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        if line.starts_with(b"{\"event\":\"data\"") {
            s.records += 1;
        } else if line.starts_with(b"{\"event\":\"end\"}") {
            s.ended = true;
        } else if line.starts_with(b"{\"event\":\"error\"") {
            let text = String::from_utf8_lossy(&line);
            s.error = Some(text.trim_end().chars().take(300).collect());
        }
    }
    Ok(s)
}

/// Requests and 429 answers in the stand-in's `--verbose` log (one
/// `request method=… path=… status=…` line per request).
fn count_requests(log: &str) -> (usize, usize) {
    let mut requests = 0;
    let mut throttled = 0;
    for line in log.lines().filter(|l| l.contains(" request ")) {
        if let Some(rest) = line.split(" status=").nth(1) {
            requests += 1;
            if rest.starts_with("429") {
                throttled += 1;
            }
        }
    }
    (requests, throttled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_in_the_standin_log() {
        let log = "2026-11-28T08:00:00Z DEBUG klaviyo_fake::server: request method=GET path=/api/profiles status=200 fault=None
2026-11-28T08:00:00Z DEBUG klaviyo_fake::server: request method=GET path=/api/profiles status=429 fault=None
2026-11-28T08:00:00Z  INFO klaviyo_fake: serving base_url=http://127.0.0.1:1/api";
        assert_eq!(count_requests(log), (2, 1));
    }
}
