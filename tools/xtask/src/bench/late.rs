//! The late-records row (issue 21): days of an account receiving 1M events
//! a day, polled every minute with `P1D`, at four loads, simulated by
//! klaviyo-component's `late_records` example through the trigger's own
//! late-record logic (polling/late/). Time is simulated and reads are
//! counted as requests of 200 events, not sent: the row measures the
//! schedule and the summaries, not HTTP, which the other rows measure.

use std::process::Command;

use serde_json::Value;

use super::{Bench, Ctx, Section, thousands, verdict};
use crate::cargo::cargo;

pub(super) fn run(ctx: &Ctx, smoke: bool, release: bool) -> Result<Vec<Section>, String> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ctx.root).args([
        "run",
        "--quiet",
        "--package",
        "klaviyo-component",
        "--example",
        "late_records",
    ]);
    if release {
        cmd.arg("--release");
    }
    cmd.arg("--");
    if smoke {
        cmd.args(["--per-day", "2000", "--days", "2", "--import", "200"]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run the late_records example: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the late_records example failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let loads: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("late_records: not JSON lines: {e}"))?;
    let mut section = Section::new(
        Bench::Late,
        "Late records: 1M events a day polled every minute, lookback P1D (simulated)",
        &[
            "load",
            "late (within P1D)",
            "once",
            "at least once (repeats)",
            "lost",
            "requests / day: main, re-reads (steady limit)",
            "largest late member",
            "delay median, p99 (bound median, p99)",
            "reads of an event: most by the schedule, most, mean; fetch reads",
            "targets",
        ],
    );
    let n = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    for load in &loads {
        let late = n(load, "late");
        let lost = n(load, "late_lost");
        let repeats = n(load, "repeats");
        let size = n(load, "largest_late_chars");
        let typical = load["load"] == "typical";
        let mut targets = vec![format!("0 lost: {}", verdict(lost == 0.0))];
        if typical {
            targets.push(format!(
                "repeats ≤ 1% of late: {}",
                verdict(repeats <= late / 100.0)
            ));
            // The schedule's reads, the main one among them; a record
            // sharing a second with a late one found in an old stretch is
            // read once more to fetch it (the column says how often).
            targets.push(format!(
                "≤ 12 reads by the schedule: {}",
                verdict(n(load, "most_scheduled_reads") <= 12.0)
            ));
        }
        // The rest of a v3 events snapshot takes about 230 bytes.
        targets.push(format!("≤ 5,120 B: {}", verdict(size + 240.0 <= 5_120.0)));
        section.row(vec![
            load["load"].as_str().unwrap_or("?").to_owned(),
            thousands(late),
            thousands(n(load, "late_once")),
            format!(
                "{} ({} repeats, {} fallback{})",
                thousands(n(load, "late_repeated") + n(load, "late_once")),
                thousands(repeats),
                thousands(n(load, "overflows")),
                if n(load, "overflows") == 1.0 { "" } else { "s" }
            ),
            thousands(lost),
            format!(
                "{}, {} ({})",
                thousands(n(load, "main_requests_per_day")),
                thousands(n(load, "reread_requests_per_day")),
                thousands(n(load, "steady_limit_per_day"))
            ),
            format!(
                "{} chars, {} stretches, capacity {}",
                thousands(size),
                thousands(n(load, "largest_stretches")),
                thousands(n(load, "largest_capacity"))
            ),
            format!(
                "{} s, {} s ({} s, {} s)",
                thousands(n(load, "median_delay")),
                thousands(n(load, "p99_delay")),
                thousands(n(load, "median_bound")),
                thousands(n(load, "p99_bound"))
            ),
            format!(
                "{}, {}, {:.2}; {}",
                thousands(n(load, "most_scheduled_reads")),
                thousands(n(load, "most_reads")),
                n(load, "mean_reads"),
                thousands(n(load, "fetch_reads"))
            ),
            targets.join("; "),
        ]);
    }
    section.notes.push(
        "Lateness is log-uniform from 1 s to 2 days; typical: 0.05% of events late, heavy: 1%, \
         import: 100,000 events created within ten minutes with times over the three days before; \
         deletions: the typical load with 0.01% of events deleted from a minute to two days after \
         Klaviyo listed them (a profile deleted takes its events). \
         Late records beyond the lookback are not counted. A summary of capacity c (6·c bytes) tells \
         apart any c ids new or deleted, exactly (late/sketch.rs); where more differ, every id \
         its stretch read is emitted again (at least once)."
            .to_owned(),
    );
    Ok(vec![section])
}
