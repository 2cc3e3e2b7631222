//! Backfills against a rate-limited stand-in: how close the trigger gets
//! to the steady limit, which is what a long first poll is bound by.
//!
//! 4. The rate-limit ceiling: the stand-in enforces a scaled-down limit
//!    (burst 10/s, steady 120/min) with 20 ms latency, and the runner
//!    backfills profiles (100 per page) for a set time, on bulk-imported and
//!    on spread-out records. The stand-in holds more profiles than the limit
//!    lets anyone read in that time, so the run is stopped at the end; the
//!    limiter's windows start at the first request, so with whole minutes
//!    the limit allows exactly 120 requests per minute of it.
//! 5. Latency-bound backfills: Klaviyo's own limits scaled down ten times,
//!    and 100, 300 or 500 ms per request, for events and profiles. Each
//!    backfill holds a little more than one window's allowance, so it
//!    spends the first window and finishes in the second: the first
//!    window's answers say how much of the limit the trigger used, the
//!    finished output says whether any record was lost or repeated.
//!    5b. The first poll of 6,000 events the issue measured, with a burst
//!    as large as Klaviyo's relative to the steady rate, and with one no
//!    larger than it. 5c. Events at Klaviyo's own limits, where many
//!    reads at once make what the poller holds ahead the bound.
//!
//! Requests and 429s are counted from the stand-in's request log, retries
//! from the runner's warn lines.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::measure::{Job, JobResult};
use super::{Bench, Ctx, Section, mib, thousands, verdict};
use crate::standin::StandIn;

const TARGET: f64 = 0.9;

const MINUTE: Duration = Duration::from_secs(60);

/// One backfill: what the stand-in holds, how it limits and answers, what
/// the runner polls, and for how long at most.
#[derive(Clone)]
struct Backfill<'a> {
    name: String,
    collection: &'a str,
    field: &'a str,
    revision: &'a str,
    records: usize,
    bulk: bool,
    latency_ms: u64,
    burst: u32,
    /// Requests per steady window, which lasts a minute unless
    /// `steady_window` says otherwise.
    steady: u32,
    steady_window: Duration,
    /// The limit is announced only by its 429s (no `RateLimit-*` headers).
    quiet: bool,
    page_cap: Option<usize>,
    duration: Duration,
}

/// What a backfill did.
struct Outcome {
    usage: JobResult,
    output: Scanned,
    /// Answers of the stand-in: all, 429s, and 200s in the first minute
    /// window.
    requests: usize,
    throttled: usize,
    first_window: usize,
    retries: usize,
}

impl Outcome {
    fn secs(&self) -> f64 {
        self.usage.wall.as_secs_f64()
    }

    fn finished(&self) -> bool {
        !self.usage.killed
            && self.usage.success()
            && self.output.error.is_none()
            && self.output.ended
    }

    fn failed(&self) -> bool {
        (!self.usage.killed && !self.finished()) || self.output.error.is_some()
    }

    /// Records emitted per successful answer.
    fn records_per_answer(&self) -> f64 {
        self.output.records as f64 / self.requests.saturating_sub(self.throttled).max(1) as f64
    }

    /// Of the `expected` records, how many never came out, and the
    /// repeats and records out of order: the "lost / repeated / out of
    /// order" cell.
    fn checked(&self, expected: usize) -> (usize, String) {
        let lost = expected.saturating_sub(self.output.unique.len());
        let cell = format!(
            "{lost} / {} / {}",
            self.output.repeats, self.output.backwards
        );
        (lost, cell)
    }

    /// The wall time with `decimals`, marked when the run was stopped.
    fn wall(&self, decimals: usize) -> String {
        let stopped = if self.finished() { "" } else { " (stopped)" };
        format!("{:.decimals$} s{stopped}", self.secs())
    }
}

pub(super) fn ceiling(ctx: &Ctx, duration: Duration) -> Result<Section, String> {
    const BURST: u32 = 10;
    const STEADY: u32 = 120;
    const LATENCY_MS: u64 = 20;
    const PAGE: u32 = 100;
    let mut section = Section::new(
        Bench::RateLimit,
        &format!(
            "4. Rate-limit ceiling: {BURST}/s burst, {STEADY}/min steady, {LATENCY_MS} ms latency, profiles backfill"
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
    let steady_rate = f64::from(STEADY * PAGE) / 60.0;
    // More than the limit lets through in `duration`: the run is still
    // going when it is stopped.
    let profiles = ((duration.as_secs_f64() * steady_rate * 1.5) as usize + 1000).max(5000);
    for bulk in [true, false] {
        let o = backfill(
            ctx,
            &Backfill {
                name: if bulk {
                    "ratelimit"
                } else {
                    "ratelimit-spread"
                }
                .to_owned(),
                collection: "profiles",
                field: "updated",
                revision: super::REVISION,
                records: profiles,
                bulk,
                latency_ms: LATENCY_MS,
                burst: BURST,
                steady: STEADY,
                steady_window: MINUTE,
                quiet: false,
                page_cap: None,
                duration,
            },
        )?;
        let secs = o.secs();
        let ratio = o.output.records as f64 / secs / steady_rate;
        let per_ok = o.records_per_answer();
        section.row(vec![
            (if bulk { "bulk imports" } else { "spread out" }).to_owned(),
            format!("{secs:.0} s"),
            thousands(o.output.records as f64),
            format!("{:.1}", o.output.records as f64 / secs),
            format!("{:.1}%", ratio * 100.0),
            format!("{:.1}", o.requests as f64 / secs * 60.0),
            format!(
                "{} ({:.0}% of requests)",
                o.throttled,
                percent(o.throttled, o.requests)
            ),
            format!("{per_ok:.1}"),
            o.retries.to_string(),
            how(&o),
            mib(o.usage.maxrss),
            format!(
                "rate {}, {}",
                verdict(ratio >= TARGET),
                if o.failed() {
                    "failed"
                } else {
                    "no failure: met"
                }
            ),
        ]);
    }
    section.notes.push(format!(
        "{} profiles on the stand-in, page size {PAGE}, emitIndividually. \"bulk imports\" is the stand-in's \
         default account: bulk imports and bulk updates give hundreds of profiles (about half of them) the same \
         `updated` second; \"spread out\" (`klaviyo-fake serve --no-bulk`) has records one by one. Where more \
         records share a second than fit on a page, the trigger proves with one more query that none moved out \
         of an offset cursor's reach while it followed it (docs/polling.md), and each query from a watermark \
         re-reads the records at it: those are the requests that carry fewer new records. A 429 uses none of \
         the quota (as in Django REST framework's throttling, whose words Klaviyo's 429 uses). With a duration \
         of whole minutes the limit allows exactly {STEADY} requests per minute of it.",
        thousands(profiles as f64),
    ));
    Ok(section)
}

/// Klaviyo's limits of the two collections, scaled down ten times: burst
/// per second, steady per minute, records per page (events on a revision
/// without `page[size]`, where Klaviyo's fixed page of 200 applies).
const LATENCY_CASES: &[(&str, &str, &str, u32, u32, u32)] = &[
    ("events", "datetime", "2025-10-15", 35, 350, 200),
    ("profiles", "updated", "2026-10-15", 7, 75, 100),
];

pub(super) fn latency(ctx: &Ctx, latencies: &[u64], cap: Duration) -> Result<Section, String> {
    let mut section = Section::new(
        Bench::Latency,
        "5. Latency-bound backfill: Klaviyo's limits ÷ 10 (events 35/s, 350/min; profiles 7/s, 75/min)",
        &[
            "collection",
            "latency",
            "records",
            "wall",
            "requests (429s)",
            "200s in the first minute (of the limit)",
            "records per request (of a page)",
            "of the steady limit",
            "lost / repeated / out of order",
            "peak RSS",
            "target (≥ 90%, none lost or repeated)",
        ],
    );
    for &(collection, field, revision, burst, steady, page) in LATENCY_CASES {
        // A little more than one window's allowance: the backfill spends
        // the first window and finishes in the second.
        let records = (f64::from(steady * page) * 1.3) as usize;
        for &latency_ms in latencies {
            let o = backfill(
                ctx,
                &Backfill {
                    name: format!("latency-{collection}-{latency_ms}ms"),
                    collection,
                    field,
                    revision,
                    records,
                    bulk: false,
                    latency_ms,
                    burst,
                    steady,
                    steady_window: MINUTE,
                    quiet: false,
                    page_cap: None,
                    duration: cap,
                },
            )?;
            let used = o.first_window as f64 / f64::from(steady);
            let fill = o.records_per_answer() / f64::from(page);
            let share = used.min(1.0) * fill.min(1.0);
            let (lost, checked) = o.checked(records);
            let clean =
                o.finished() && lost == 0 && o.output.repeats == 0 && o.output.backwards == 0;
            section.row(vec![
                collection.to_owned(),
                format!("{latency_ms} ms"),
                thousands(o.output.records as f64),
                o.wall(0),
                format!("{} ({})", o.requests, o.throttled),
                format!("{} ({:.0}%)", o.first_window, used * 100.0),
                format!("{:.0} ({:.0}%)", fill * f64::from(page), fill * 100.0),
                format!("{:.0}%", share * 100.0),
                checked,
                mib(o.usage.maxrss),
                format!(
                    "rate {}, {}",
                    verdict(share >= TARGET),
                    if clean {
                        "none lost or repeated: met"
                    } else {
                        "records: MISSED"
                    }
                ),
            ]);
        }
    }
    section.notes.push(
        "Spread-out records (`--no-bulk`), emitIndividually, the default reads in flight (60 for events, 14 for \
         profiles). Each backfill holds 1.3 windows' allowance of records; the run spends the first minute \
         window and finishes in the second. \"200s in the first minute\" counts the stand-in's successful \
         answers in the 60 s after the first request, against the steady limit; \"records per request\" is the \
         records emitted over the successful answers, against a full page; their product is the share of the \
         steady limit a long backfill reaches. Each output was checked: every record once (by id and \
         timestamp), in ascending order, the end line."
            .to_owned(),
    );
    Ok(section)
}

/// The first poll the issue that asked for reads at once measured: 6,000
/// events (30 of Klaviyo's fixed pages of 200) on revision 2024-10-15, 500
/// ms per request, 360 a minute steady; with a burst of ten times the
/// steady rate per second, as Klaviyo's are, and with one no larger than
/// it, where the burst window is what paces.
pub(super) fn first_poll(ctx: &Ctx, cap: Duration) -> Result<Section, String> {
    let case = |burst: u32| Backfill {
        name: format!("first-poll-{burst}s"),
        collection: "events",
        field: "datetime",
        revision: "2024-10-15",
        records: 6_000,
        bulk: false,
        latency_ms: 500,
        burst,
        steady: 360,
        steady_window: MINUTE,
        quiet: false,
        page_cap: None,
        duration: cap,
    };
    short_backfills(
        ctx,
        "5b. A first poll of 6,000 events at 500 ms per request, 360/min steady",
        "burst",
        &[("60/s", case(60)), ("6/s", case(6))],
        "Revision 2024-10-15, spread-out events (`--no-bulk`), emitIndividually. Before 1.1.0 the trigger \
         read one page after another and took 18.1 s either way; the issue's yardstick was the 30 pages at \
         the steady rate, 5 s. A poll this short may go faster where the burst allows, since the minute's \
         allowance is not used up. The trigger needs more requests than pages: each slice it reads at once \
         ends in a partly filled page.",
    )
}

/// Klaviyo's own limits for events (350/s, 3,500/min), not scaled down:
/// with as many reads at once as they allow (32 by default), what the
/// poller may hold ahead of its output is what bounds a backfill.
pub(super) fn own_limits(ctx: &Ctx, latencies: &[u64], cap: Duration) -> Result<Section, String> {
    let cases: Vec<(String, Backfill)> = latencies
        .iter()
        .map(|&latency_ms| {
            let backfill = Backfill {
                name: format!("own-limits-events-{latency_ms}ms"),
                collection: "events",
                field: "datetime",
                revision: "2025-10-15",
                records: 300_000,
                bulk: false,
                latency_ms,
                burst: 350,
                steady: 3_500,
                steady_window: MINUTE,
                quiet: false,
                page_cap: None,
                duration: cap,
            };
            (format!("{latency_ms} ms"), backfill)
        })
        .collect();
    let cases: Vec<(&str, Backfill)> = cases.iter().map(|(l, b)| (l.as_str(), b.clone())).collect();
    short_backfills(
        ctx,
        "5c. Events at Klaviyo's own limits (350/s, 3,500/min): a first poll of 300,000",
        "latency",
        &cases,
        "Revision 2025-10-15 (pages of 200), spread-out events, emitIndividually, the default 60 reads at \
         once. 1,500 pages fit in the minute's allowance, so the steady rate is the yardstick: 58.3 \
         requests a second, 11,667 records. 60 reads at once serve 75 a second at 800 ms.",
    )
}

/// A limit announced only by its 429s (no `RateLimit-*` headers, as
/// behind a proxy that strips them): 600 profiles served 10 a page, 5
/// requests a second and 20 per 10 s, 20 ms per request, `runs` times
/// (`profiles` for the smoke version, which has seconds). The
/// trigger knows only the endpoint's documented limit and Klaviyo's
/// `Retry-After`; the row says how close it gets to the 2 pages a second
/// the limit allows, in every run.
pub(super) fn unannounced(
    ctx: &Ctx,
    runs: usize,
    profiles: usize,
    cap: Duration,
) -> Result<Section, String> {
    const PAGE: usize = 10;
    const BURST: u32 = 5;
    const STEADY: u32 = 20;
    const WINDOW_SECS: u64 = 10;
    let mut section = Section::new(
        Bench::Unannounced,
        &format!(
            "4b. A limit announced only by 429s: {profiles} profiles, {PAGE} a page, {BURST}/s and {STEADY} per {WINDOW_SECS} s"
        ),
        &[
            "run",
            "wall",
            "requests (429s)",
            "pages' worth per answer",
            "of the steady limit",
            "lost / repeated / out of order",
            "peak RSS",
        ],
    );
    let per_sec = f64::from(STEADY) / WINDOW_SECS as f64;
    let pages = profiles as f64 / PAGE as f64;
    let mut shares = Vec::new();
    for run in 1..=runs.max(1) {
        let o = backfill(
            ctx,
            &Backfill {
                name: format!("unannounced-{run}"),
                collection: "profiles",
                field: "updated",
                revision: super::REVISION,
                records: profiles,
                bulk: false,
                latency_ms: 20,
                burst: BURST,
                steady: STEADY,
                steady_window: Duration::from_secs(WINDOW_SECS),
                quiet: true,
                page_cap: Some(PAGE),
                duration: cap,
            },
        )?;
        let share = o.output.records as f64 / PAGE as f64 / (per_sec * o.secs().max(0.001));
        let (lost, checked) = o.checked(profiles);
        if !o.finished() || lost > 0 || o.output.repeats > 0 || o.output.backwards > 0 {
            return Err(format!(
                "run {run}: the backfill did not finish clean ({checked})"
            ));
        }
        shares.push(share);
        let answered = o.requests.saturating_sub(o.throttled);
        section.row(vec![
            run.to_string(),
            o.wall(1),
            format!("{} ({})", o.requests, o.throttled),
            format!("{:.0}%", pages / answered.max(1) as f64 * 100.0),
            format!("{:.0}%", share * 100.0),
            checked,
            mib(o.usage.maxrss),
        ]);
    }
    shares.sort_by(f64::total_cmp);
    let median = (shares[(shares.len() - 1) / 2] + shares[shares.len() / 2]) / 2.0;
    section.notes.push(format!(
        "Spread-out profiles (`--no-bulk`), page cap {PAGE} (`--page-cap`), `--rate-limit {BURST}/s,{STEADY}/{WINDOW_SECS}s \
         --quiet-rate-limit` (fixed windows from the first request; admitted answers carry no `RateLimit-*` \
         headers), 20 ms per request, emitIndividually. \"Of the steady limit\": the records emitted over the wall \
         time, against {per_sec} pages of {PAGE} a second. \"Pages' worth per answer\": {pages} pages of records over the \
         successful answers (profiles filter only with `greater-than`, so each query from a watermark reads the \
         record at it again). Over {} runs: min {:.0}%, median {:.0}% (target ≥ 95% in every run: {}).",
        shares.len(),
        shares[0] * 100.0,
        median * 100.0,
        verdict(shares[0] >= 0.95),
    ));
    Ok(section)
}

/// A table of backfills that finish within a minute: wall time, requests
/// against the steady rate per second, how full the pages were, and every
/// record checked.
fn short_backfills(
    ctx: &Ctx,
    title: &str,
    first_column: &str,
    cases: &[(&str, Backfill)],
    note: &str,
) -> Result<Section, String> {
    let mut section = Section::new(
        Bench::Latency,
        title,
        &[
            first_column,
            "records",
            "wall",
            "requests (429s)",
            "requests per second (of the steady rate)",
            "records per request (of a page)",
            "records per second (of the steady limit)",
            "lost / repeated / out of order",
            "peak RSS",
        ],
    );
    for (label, b) in cases {
        let o = backfill(ctx, b)?;
        let per_sec = f64::from(b.steady) / 60.0;
        let page = 200.0;
        let rate = o.requests as f64 / o.secs().max(0.001);
        let fill = o.records_per_answer();
        section.row(vec![
            (*label).to_owned(),
            thousands(o.output.records as f64),
            o.wall(1),
            format!("{} ({})", o.requests, o.throttled),
            format!("{rate:.1} ({:.0}%)", rate / per_sec * 100.0),
            format!("{fill:.0} ({:.0}%)", fill / page * 100.0),
            format!(
                "{} ({:.0}%)",
                thousands(o.output.records as f64 / o.secs().max(0.001)),
                o.output.records as f64 / o.secs().max(0.001) / (per_sec * page) * 100.0
            ),
            o.checked(b.records).1,
            mib(o.usage.maxrss),
        ]);
    }
    section.notes.push(note.to_owned());
    Ok(section)
}

/// Run one backfill and read what it did.
fn backfill(ctx: &Ctx, b: &Backfill) -> Result<Outcome, String> {
    let fake_log = ctx.work.join(format!("{}-standin.log", b.name));
    let window = if b.steady_window == MINUTE {
        "m".to_owned()
    } else {
        format!("{}s", b.steady_window.as_secs())
    };
    let mut args = vec![
        format!("--{}", b.collection),
        b.records.to_string(),
        "--rate-limit".to_owned(),
        format!("{}/s,{}/{window}", b.burst, b.steady),
        "--latency-ms".to_owned(),
        b.latency_ms.to_string(),
        // Logs every request with its status.
        "--verbose".to_owned(),
    ];
    if !b.bulk {
        args.push("--no-bulk".to_owned());
    }
    if b.quiet {
        args.push("--quiet-rate-limit".to_owned());
    }
    if let Some(cap) = b.page_cap {
        args.extend(["--page-cap".to_owned(), cap.to_string()]);
    }
    let fake = StandIn::start(&ctx.fake, &args, Some(&fake_log))?;
    let out_path = ctx.work.join("out").join(format!("{}.jsonl", b.name));
    let log_path = ctx.work.join("out").join(format!("{}.log", b.name));
    let create = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let stdin = serde_json::json!({"cfg": {
        "apiKey": fake.api_key,
        "revision": b.revision,
        "objectType": b.collection,
        "pollConfig": b.field,
    }});
    let usage = ctx.measure(
        &b.name,
        Job {
            program: &ctx.runner,
            args: vec![
                "process".to_owned(),
                "getNewAndUpdatedObjectsPolling".to_owned(),
            ],
            env: vec![("KLAVIYO_BASE_URL", fake.base_url.clone())],
            stdin: stdin.to_string().into_bytes(),
            stdout: Stdio::from(create(&out_path)?),
            stderr: Stdio::from(create(&log_path)?),
            limit: Some(b.duration),
        },
    )?;
    drop(fake);
    let output = scan_output(&out_path, b.field)?;
    let runner_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let retries = runner_log
        .lines()
        .filter(|l| l.contains("\"level\":40") && l.contains("retrying"))
        .count();
    let log = std::fs::read_to_string(&fake_log).unwrap_or_default();
    let answers = answers(&log);
    let first = answers.first().map(|a| a.0);
    let first_window = answers
        .iter()
        .filter(|(at, status)| *status == 200 && first.is_some_and(|f| *at < f + 60.0))
        .count();
    Ok(Outcome {
        usage,
        output,
        requests: answers.len(),
        throttled: answers.iter().filter(|a| a.1 == 429).count(),
        first_window,
        retries,
    })
}

/// How a stopped or finished run ended, for the "run failed" column.
fn how(o: &Outcome) -> String {
    let secs = o.secs();
    if o.failed() {
        format!(
            "FAILED after {secs:.0} s ({}{})",
            o.usage.describe(),
            o.output
                .error
                .as_deref()
                .map(|e| format!(", {e}"))
                .unwrap_or_default()
        )
    } else if o.finished() {
        format!("no: finished the backfill in {secs:.0} s")
    } else {
        "no (still running, stopped at the end)".to_owned()
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A run's stdout, checked record by record.
struct Scanned {
    records: usize,
    /// (id, polled value) of every record, once.
    unique: HashSet<(String, String)>,
    repeats: usize,
    /// Records whose polled value is in a second before the one emitted
    /// before them.
    backwards: usize,
    ended: bool,
    error: Option<String>,
}

/// Reads the complete data lines: counts records, repeats and records out
/// of order by `field`; notes an error event and the end line.
fn scan_output(path: &Path, field: &str) -> Result<Scanned, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut s = Scanned {
        records: 0,
        unique: HashSet::new(),
        repeats: 0,
        backwards: 0,
        ended: false,
        error: None,
    };
    let mut last: Option<i64> = None;
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
            let event: Value =
                serde_json::from_slice(&line).map_err(|e| format!("a data line: {e}"))?;
            let body = &event["payload"]["body"];
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            let at = body["attributes"][field]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            // Klaviyo orders by the second, writing some values of a field
            // with a fraction and some without: ascending means by second.
            let when = chrono::DateTime::parse_from_rfc3339(&at.replacen(' ', "T", 1))
                .ok()
                .map(|t| t.timestamp());
            if when.is_some_and(|w| last.is_some_and(|l| w < l)) {
                s.backwards += 1;
            }
            last = when.or(last);
            if !s.unique.insert((id, at)) {
                s.repeats += 1;
            }
        } else if line.starts_with(b"{\"event\":\"end\"}") {
            s.ended = true;
        } else if line.starts_with(b"{\"event\":\"error\"") {
            let text = String::from_utf8_lossy(&line);
            s.error = Some(text.trim_end().chars().take(300).collect());
        }
    }
    Ok(s)
}

/// Every answer in the stand-in's `--verbose` log (a timestamped
/// `request method=… path=… status=…` line per request): seconds since the
/// epoch, and the status.
fn answers(log: &str) -> Vec<(f64, u16)> {
    log.lines()
        .filter(|l| l.contains(" request "))
        .filter_map(|line| {
            let at = chrono::DateTime::parse_from_rfc3339(line.split_whitespace().next()?).ok()?;
            let status = line.split(" status=").nth(1)?.get(..3)?.parse().ok()?;
            Some((at.timestamp_micros() as f64 / 1e6, status))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_answers_from_the_standin_log() {
        let log = "2026-11-28T08:00:00Z DEBUG klaviyo_fake::server: request method=GET path=/api/profiles status=200 fault=None
2026-11-28T08:00:01.5Z DEBUG klaviyo_fake::server: request method=GET path=/api/profiles status=429 fault=None
klaviyo-fake: listening on http://127.0.0.1:1/api";
        let got = answers(log);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, 429);
        assert!((got[1].0 - got[0].0 - 1.5).abs() < 1e-6);
    }
}
