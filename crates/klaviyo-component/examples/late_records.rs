//! The late-records bench's simulation (`cargo xtask bench --only late`):
//! an account receiving `--per-day` events a day, polled every minute with
//! a lookback of a day, at four loads, driven through the trigger's own
//! late-record logic without HTTP (reads are counted as requests of 200
//! records, not sent). Prints one JSON object per load.
//!
//! Time is simulated, not waited: a day of polls takes seconds.

// Its output is what it is for: the bench reads stdout.
#![allow(clippy::print_stdout)]

use klaviyo_component::testing::sim::{NEVER, Numbers, SimConfig, SimRecord, simulate};
use serde_json::json;

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

/// Lateness, log-uniform from 1 s to two days.
fn lateness(n: &mut Numbers) -> i64 {
    n.log_uniform(1.0, 2.0 * DAY as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: i64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    let per_day = value("--per-day", 1_000_000);
    let days = value("--days", 3);
    let import = value("--import", 100_000);
    let config = SimConfig {
        lookback: DAY,
        interval: 60,
        lag: 5,
        page: 200,
        // What a v3 events snapshot leaves of 5,120 bytes besides `late`
        // (the rest takes about 230 bytes; see snapshot.rs).
        budget: 4_800,
    };
    // The typical load, and besides it records deleted: a profile deleted
    // (a GDPR request, a clean-up) takes its events with it.
    for (load, late_share, import, deleted_share) in [
        ("typical", 0.0005, 0, 0.0),
        ("heavy", 0.01, 0, 0.0),
        ("import", 0.0005, import, 0.0),
        ("deletions", 0.0005, 0, 0.0001),
    ] {
        let mut n = Numbers(7);
        let total = per_day * days;
        let mut records: Vec<SimRecord> = (0..total)
            .map(|i| {
                let at = T0 + i * DAY / per_day;
                let late = if n.unit() < late_share {
                    lateness(&mut n)
                } else {
                    0
                };
                let listed = at + late;
                // Deleted from a minute to two days after it was listed.
                // Drawn only where records are deleted: the other loads' draws, and
                // so their figures, are unchanged.
                let gone = if deleted_share > 0.0 && n.unit() < deleted_share {
                    listed + n.log_uniform(60.0, 2.0 * DAY as f64)
                } else {
                    NEVER
                };
                SimRecord {
                    at,
                    listed,
                    id: n.draw(),
                    gone,
                }
            })
            .collect();
        // An import: created within ten minutes on the last day, with
        // times spread over the three days before.
        let created = T0 + (days - 1) * DAY;
        for _ in 0..import {
            let listed = created + (n.unit() * 600.0) as i64;
            records.push(SimRecord {
                at: listed - (n.unit() * 3.0 * DAY as f64) as i64,
                listed,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let started = std::time::Instant::now();
        let end = T0 + days * DAY + config.lookback + 3_600;
        let mut r = simulate(config, records, T0, end);
        let mut delays: Vec<i64> = r.delays.iter().map(|d| d.0).collect();
        let mut bounds: Vec<i64> = r.delays.iter().map(|d| d.1.max(60)).collect();
        let within = r
            .delays
            .iter()
            .filter(|(delay, late)| *delay <= (*late).max(60) + config.interval + 2 * config.lag)
            .count();
        delays.sort_unstable();
        bounds.sort_unstable();
        let pct = |v: &[i64], p: f64| {
            v.get(((v.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        let simulated_days = (end - T0) as f64 / DAY as f64;
        r.delays.clear();
        println!(
            "{}",
            json!({
                "load": load,
                "events": total + import,
                "late": r.late,
                "late_once": r.late_once,
                "late_repeated": r.late_repeated,
                "late_lost": r.late_lost,
                "late_pending": r.late_pending,
                "beyond_lookback": r.beyond_lookback,
                "repeats": r.repeats,
                "deleted": r.deleted,
                "overflows": r.overflows,
                "main_requests_per_day": r.main_requests as f64 / simulated_days,
                "reread_requests_per_day": r.reread_requests as f64 / simulated_days,
                "steady_limit_per_day": 3_500.0 * 1_440.0,
                "largest_late_chars": r.largest_snapshot,
                "largest_stretches": r.largest_stretches,
                "largest_capacity": r.largest_capacity,
                "median_delay": pct(&delays, 0.5),
                "p99_delay": pct(&delays, 0.99),
                "median_bound": pct(&bounds, 0.5),
                "p99_bound": pct(&bounds, 0.99),
                "within_bound": within,
                "most_reads": r.most_reads,
                "mean_reads": r.mean_reads,
                "most_scheduled_reads": r.most_scheduled_reads,
                "fetch_reads": r.fetch_reads,
                "wall_seconds": started.elapsed().as_secs_f64(),
            })
        );
    }
}
