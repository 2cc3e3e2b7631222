//! One measured poll of the runner, and the figures of repeated ones: what
//! the throughput table (benchmark 2) measures and the baseline table
//! (benchmark 3) divides the Python SDK's polls into. Its own module so
//! that both tables lean on it and neither on the other's internals.

use super::measure::{JobResult, median};
use super::thousands;

/// One measured poll.
#[derive(Debug, Clone, Copy)]
pub(super) struct Poll {
    pub m: JobResult,
    pub records: usize,
    pub requests: Option<usize>,
    /// CPU seconds the stand-in spent meanwhile.
    pub standin_cpu: f64,
}

impl Poll {
    pub(super) fn rate(&self) -> f64 {
        self.records as f64 / self.m.wall.as_secs_f64()
    }

    pub(super) fn cpu_rate(&self) -> f64 {
        self.records as f64 / self.m.cpu.as_secs_f64()
    }

    /// The median of repeated polls' rates.
    pub(super) fn median_rate(polls: &[Poll]) -> f64 {
        median(&polls.iter().map(Poll::rate).collect::<Vec<_>>())
    }

    /// The largest peak memory of repeated polls.
    pub(super) fn peak(polls: &[Poll]) -> u64 {
        polls.iter().map(|p| p.m.maxrss).max().unwrap_or(0)
    }

    /// The table cells of repeated polls: median wall time, median CPU
    /// time, and the requests of the first (every repeat makes the same).
    pub(super) fn cells(polls: &[Poll]) -> [String; 3] {
        let secs = |of: fn(&Poll) -> f64| {
            format!("{:.2} s", median(&polls.iter().map(of).collect::<Vec<_>>()))
        };
        [
            secs(|p| p.m.wall.as_secs_f64()),
            secs(|p| p.m.cpu.as_secs_f64()),
            polls
                .first()
                .and_then(|p| p.requests)
                .map_or("—".to_owned(), |r| thousands(r as f64)),
        ]
    }
}
