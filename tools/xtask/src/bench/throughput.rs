//! Benchmark 2, throughput and memory: a first poll of N profiles from the
//! stand-in (no added latency) in both emit modes, stdout to a file; and,
//! on the same stand-in, benchmark 3, the Python SDK baseline.
//!
//! Each poll is checked: exit 0, no error event, the end line, and exactly
//! N distinct profiles in the output.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use super::baseline::{self, Python};
use super::measure::{self, Job, median};
use super::poll::Poll;
use super::{Bench, Ctx, REVISION, Section, mib, thousands, verdict};
use crate::standin::StandIn;

const RATE_TARGET: f64 = 50_000.0;
const MEMORY_TARGET: u64 = 30 * 1024 * 1024;
const MODES: [&str; 2] = ["emitIndividually", "emitPage"];

/// Runs sizes (and the baseline, at its size) and gives the throughput
/// table and the baseline table.
pub(super) fn run(
    ctx: &Ctx,
    sizes: &[usize],
    repeat: usize,
    baseline: Option<(usize, Result<Python, String>)>,
    progress: &dyn Fn(&str),
) -> Result<Vec<Section>, String> {
    let mut table = table();
    let mut base_section = None;
    let mut peaks = Vec::new();
    for n in sizes_to_run(sizes, baseline.as_ref().map(|(n, _)| *n)) {
        let in_table = sizes.contains(&n);
        let reps = if in_table { repeat } else { 1 };
        let fake = start_standin(ctx, n, progress)?;
        let by_mode = poll_modes(ctx, &fake, n, reps, progress)?;
        if in_table {
            for (mode, polls) in MODES.iter().zip(&by_mode) {
                peaks.push(Poll::peak(polls));
                table.row(row(n, mode, polls));
            }
        }
        if let Some((_, python)) = baseline.as_ref().filter(|(size, _)| *size == n) {
            progress(&format!(
                "baseline: the Python SDK polls {} profiles",
                thousands(n as f64)
            ));
            // The baseline compares with emitIndividually, MODES[0].
            base_section = Some(baseline::run(ctx, &fake, n, python, &by_mode[0])?);
        }
    }
    let mut sections = Vec::new();
    if !table.rows.is_empty() {
        table.notes.extend(peak_note(&peaks));
        table.notes.push(method_note(repeat));
        sections.push(table);
    }
    sections.extend(base_section);
    Ok(sections)
}

/// The sizes to start a stand-in for, smallest first: the table's, and the
/// baseline's if the table does not have it.
fn sizes_to_run(sizes: &[usize], baseline: Option<usize>) -> Vec<usize> {
    let mut all: Vec<usize> = sizes.to_vec();
    if let Some(n) = baseline
        && !all.contains(&n)
    {
        all.push(n);
    }
    all.sort_unstable();
    all
}

/// The throughput table, without rows.
fn table() -> Section {
    Section::new(
        Bench::Throughput,
        "2. Throughput and memory: first poll of N profiles, stdout to a file",
        &[
            "profiles",
            "emit",
            "records/s (wall)",
            "wall",
            "runner CPU",
            "records/s per runner CPU-s",
            "peak RSS",
            "requests",
            "stand-in CPU",
            "target (≥ 50,000/s, < 30 MiB)",
        ],
    )
}

/// A stand-in with `n` profiles, its index built.
fn start_standin(ctx: &Ctx, n: usize, progress: &dyn Fn(&str)) -> Result<StandIn, String> {
    progress(&format!(
        "throughput: starting the stand-in with {} profiles",
        thousands(n as f64)
    ));
    let fake = StandIn::start(
        &ctx.fake,
        &["--profiles".to_owned(), n.to_string()],
        Some(&ctx.work.join(format!("standin-{n}.log"))),
    )?;
    progress(&format!(
        "throughput: the stand-in was ready in {:.1} s",
        fake.ready_in.as_secs_f64()
    ));
    // The first sorted query builds the stand-in's index; not ours.
    let status = fake.get(
        "/api/profiles?filter=greater-than%28updated%2C1970-01-01T00%3A00%3A00Z%29&sort=updated&page%5Bsize%5D=1",
        REVISION,
    )?;
    if status != 200 {
        return Err(format!("the stand-in's warm-up request answered {status}"));
    }
    Ok(fake)
}

/// `reps` polls of all `n` profiles in each mode, the modes taking turns so
/// that load from elsewhere falls on both alike; one list per mode, in
/// [`MODES`]' order.
fn poll_modes(
    ctx: &Ctx,
    fake: &StandIn,
    n: usize,
    reps: usize,
    progress: &dyn Fn(&str),
) -> Result<Vec<Vec<Poll>>, String> {
    let mut by_mode: Vec<Vec<Poll>> = vec![Vec::new(); MODES.len()];
    for rep in 0..reps {
        for (i, mode) in MODES.iter().enumerate() {
            progress(&format!(
                "throughput: {} profiles, {mode}, run {} of {reps}",
                thousands(n as f64),
                rep + 1
            ));
            by_mode[i].push(poll(ctx, fake, n, mode)?);
        }
    }
    Ok(by_mode)
}

/// The table's row for `n` profiles in `mode`: medians of the polls, and
/// the largest peak memory.
fn row(n: usize, mode: &str, polls: &[Poll]) -> Vec<String> {
    let rate = Poll::median_rate(polls);
    let cpu_rate = median(&polls.iter().map(Poll::cpu_rate).collect::<Vec<_>>());
    let peak = Poll::peak(polls);
    let [wall, cpu, requests] = Poll::cells(polls);
    vec![
        thousands(n as f64),
        mode.to_owned(),
        thousands(rate),
        wall,
        cpu,
        thousands(cpu_rate),
        mib(peak),
        requests,
        format!(
            "{:.2} s",
            median(&polls.iter().map(|p| p.standin_cpu).collect::<Vec<_>>())
        ),
        format!(
            "wall {}, CPU {}, memory {}",
            verdict(rate >= RATE_TARGET),
            verdict(cpu_rate >= RATE_TARGET),
            verdict(peak < MEMORY_TARGET)
        ),
    ]
}

/// Whether peak memory stays flat (within 2 MiB) across sizes and modes:
/// the runner fetches one page at a time, so it should not grow with N.
fn peak_note(peaks: &[u64]) -> Option<String> {
    let (lo, hi) = (peaks.iter().min()?, peaks.iter().max()?);
    Some(format!(
        "Peak RSS from {} to {} across sizes and modes ({:+.1} MiB): {}.",
        mib(*lo),
        mib(*hi),
        (*hi as f64 - *lo as f64) / 1024.0 / 1024.0,
        if hi - lo < 2 * 1024 * 1024 {
            "flat"
        } else {
            "it grows"
        }
    ))
}

/// How the table was measured, and what its columns count.
fn method_note(repeat: usize) -> String {
    format!(
        "Median of {repeat} run(s) each (peak RSS: the largest). Wall time includes the stand-in's work: the runner \
         fetches one page at a time, so runner and stand-in take turns. \"records/s per runner CPU-s\" is what one \
         core of the runner alone would do; \"requests\" counts every GET (the trigger re-reads the last second of \
         each page, see docs/polling.md). Each output file was checked: exit 0, no error event, the end line, \
         exactly N distinct profiles."
    )
}

/// One first poll of all `n` profiles in `mode`, checked.
fn poll(ctx: &Ctx, fake: &StandIn, n: usize, mode: &str) -> Result<Poll, String> {
    let name = format!("profiles-{n}-{mode}");
    let out_path = ctx.work.join("out").join(format!("{name}.jsonl"));
    let log_path = ctx.work.join("out").join(format!("{name}.log"));
    let create = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let cpu0 = measure::proc_cpu_secs(fake.pid());
    let m = ctx.measure(
        &name,
        Job {
            program: &ctx.runner,
            args: vec![
                "process".to_owned(),
                "getNewAndUpdatedObjectsPolling".to_owned(),
            ],
            env: vec![("KLAVIYO_BASE_URL", fake.base_url.clone())],
            stdin: Ctx::poll_input(&fake.api_key, "profiles", mode),
            stdout: Stdio::from(create(&out_path)?),
            stderr: Stdio::from(create(&log_path)?),
            limit: None,
        },
    )?;
    let standin_cpu = measure::proc_cpu_secs(fake.pid()) - cpu0;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !m.success() {
        return Err(format!(
            "{n} profiles, {mode}: klaviyo-runner ended with {}; log in {}",
            m.describe(),
            log_path.display()
        ));
    }
    let checked = check_output(&out_path, mode == "emitPage")
        .map_err(|e| format!("{n} profiles, {mode}: {e} ({})", out_path.display()))?;
    if checked.records != n || checked.distinct != n {
        return Err(format!(
            "{n} profiles, {mode}: the output holds {} records, {} distinct ({})",
            checked.records,
            checked.distinct,
            out_path.display()
        ));
    }
    // Large outputs are not kept; the check above is what they were for.
    let _ = std::fs::remove_file(&out_path);
    Ok(Poll {
        m,
        records: checked.records,
        requests: requests_in_log(&log),
        standin_cpu,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Checked {
    pub records: usize,
    pub distinct: usize,
}

/// Counts the profiles in a runner's JSON Lines output, and checks that it
/// has no error event and ends with the end line.
pub(super) fn check_output(path: &Path, paged: bool) -> Result<Checked, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let finder = memchr::memmem::Finder::new(b"{\"type\":\"profile\",\"id\":\"");
    let hasher = RandomState::new();
    let mut ids = HashSet::new();
    let mut records = 0;
    let mut line = Vec::new();
    let mut last_was_end = false;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        last_was_end = line.starts_with(b"{\"event\":\"end\"}");
        if line.starts_with(b"{\"event\":\"error\"") {
            return Err(format!(
                "an error event: {}",
                String::from_utf8_lossy(&line).trim_end()
            ));
        }
        if !line.starts_with(b"{\"event\":\"data\"") {
            continue;
        }
        let mut found = 0;
        for at in finder.find_iter(&line) {
            let rest = &line[at + finder.needle().len()..];
            let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
            ids.insert(hasher.hash_one(&rest[..end]));
            found += 1;
        }
        if !paged && found != 1 {
            return Err(format!("a data line with {found} profiles"));
        }
        records += found;
    }
    if !last_was_end {
        return Err("no end line".to_owned());
    }
    Ok(Checked {
        records,
        distinct: ids.len(),
    })
}

/// The request count of the runner's "Polling finished: N record(s)
/// emitted, M request(s) to Klaviyo" line.
pub(super) fn requests_in_log(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|l| {
        let (_, rest) = l.split_once("record(s) emitted, ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_outputs() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("out.jsonl");
        let rec = |id: &str| format!(r#"{{"type":"profile","id":"{id}","attributes":{{}}}}"#);
        let single = format!(
            "{{\"event\":\"data\",\"payload\":{{\"body\":{}}}}}\n{{\"event\":\"data\",\"payload\":{{\"body\":{}}}}}\n{{\"event\":\"snapshot\",\"payload\":{{}}}}\n{{\"event\":\"end\"}}\n",
            rec("a"),
            rec("b")
        );
        std::fs::write(&path, &single).expect("write");
        assert_eq!(
            check_output(&path, false),
            Ok(Checked {
                records: 2,
                distinct: 2
            })
        );
        let paged = format!(
            "{{\"event\":\"data\",\"payload\":{{\"body\":{{\"results\":[{},{}]}}}}}}\n{{\"event\":\"data\",\"payload\":{{\"body\":{{\"results\":[{}]}}}}}}\n{{\"event\":\"end\"}}\n",
            rec("a"),
            rec("b"),
            rec("a")
        );
        std::fs::write(&path, &paged).expect("write");
        assert_eq!(
            check_output(&path, true),
            Ok(Checked {
                records: 3,
                distinct: 2
            })
        );
        std::fs::write(
            &path,
            "{\"event\":\"error\",\"payload\":{}}\n{\"event\":\"end\"}\n",
        )
        .expect("write");
        assert!(check_output(&path, false).is_err());
        std::fs::write(&path, single.replace("{\"event\":\"end\"}\n", "")).expect("write");
        assert!(check_output(&path, false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_the_request_count() {
        let log = r#"{"msg":"Polling finished: 100000 record(s) emitted, 1537 request(s) to Klaviyo","level":30}"#;
        assert_eq!(requests_in_log(log), Some(1537));
        assert_eq!(requests_in_log("nothing"), None);
    }
}
