//! A simulated account polled with a lookback: the trigger's late-record
//! logic ([`Stretches`]) driven over records whose arrival at Klaviyo is
//! chosen, without HTTP. The unit tests and `cargo xtask bench` use it;
//! reads are counted as requests of `page` records each, not sent.

use std::collections::{HashMap, HashSet};

use super::stretches::{Stretches, fetches};

/// A deterministic stream of numbers (SplitMix64) for simulated
/// accounts: the unit tests and the bench draw ids and lateness from it.
pub struct Numbers(pub u64);

impl Numbers {
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.draw() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform in [lo, hi], rounded to a whole number.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> i64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp().round() as i64
    }
}

/// One record of the simulated account.
#[derive(Debug, Clone, Copy)]
pub struct SimRecord {
    /// The polled field (an event's `datetime`), seconds.
    pub at: i64,
    /// When Klaviyo lists it, seconds.
    pub listed: i64,
    pub id: u64,
    /// When Klaviyo deletes it (a profile deleted takes its events), or
    /// [`NEVER`]: from then on no read lists it.
    pub gone: i64,
}

/// A [`SimRecord::gone`] that never comes.
pub const NEVER: i64 = i64::MAX;

impl SimRecord {
    /// Whether a read at `now` lists it.
    fn listed_at(&self, now: i64) -> bool {
        self.listed <= now && now < self.gone
    }
}

/// How a simulation ran.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    /// Late records (listed after the main window passed their time)
    /// emitted once, more than once, never (within the lookback); and
    /// those later than the lookback, which may be lost.
    pub late: usize,
    pub beyond_lookback: usize,
    pub late_once: usize,
    pub late_repeated: usize,
    pub late_lost: usize,
    /// Late ones not emitted yet whose stretch is still to be read.
    pub late_pending: usize,
    /// The lost ones: the polled field and when Klaviyo listed them.
    pub lost: Vec<(i64, i64)>,
    /// Emissions beyond the first, all records.
    pub repeats: usize,
    /// Records Klaviyo deleted, left out of the other counts but repeats.
    pub deleted: usize,
    /// On-time records emitted other than once.
    pub on_time_wrong: usize,
    /// On-time records never emitted.
    pub on_time_lost: usize,
    /// Requests: by the main window, by re-reads.
    pub main_requests: u64,
    pub reread_requests: u64,
    /// Re-reads that fell back to emitting every id read.
    pub overflows: u64,
    pub largest_snapshot: usize,
    pub largest_stretches: usize,
    /// The most summary capacity (new ids told apart, summed over the
    /// stretches) a snapshot held.
    pub largest_capacity: usize,
    /// Seconds from being listed to being emitted, per late record
    /// emitted, with its lateness (listed − at).
    pub delays: Vec<(i64, i64)>,
    /// Reads of each record (main and re-reads), most and mean.
    pub most_reads: u32,
    pub mean_reads: f64,
    /// The most reads of a record by the schedule alone: the main read and
    /// the re-reads, without the second reads that fetch new records.
    pub most_scheduled_reads: u32,
    /// Records read a second time to fetch new ones (those sharing their
    /// seconds, or a stretch that fell back), summed.
    pub fetch_reads: u64,
}

/// The simulation's settings.
#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    pub lookback: i64,
    pub interval: i64,
    /// The trigger's poll lag.
    pub lag: i64,
    /// Records per request.
    pub page: u64,
    /// Characters the packed stretches may take.
    pub budget: usize,
}

/// Poll `records` every `interval` seconds from `start` to `end`.
pub fn simulate(config: SimConfig, mut records: Vec<SimRecord>, start: i64, end: i64) -> SimReport {
    records.sort_by_key(|r| (r.at, r.id));
    let mut stretches = Stretches::new(config.lookback);
    let mut emitted: HashMap<u64, (u32, i64)> = HashMap::new();
    let mut reads: HashMap<u64, u32> = HashMap::new();
    let mut fetched: HashMap<u64, u32> = HashMap::new();
    let mut on_time: HashSet<u64> = HashSet::new();
    let mut report = SimReport::default();
    let mut next_start = start;
    let mut now = start;
    let requests = |n: usize| (n as u64).div_ceil(config.page).max(1);
    let emit = |id: u64, now: i64, emitted: &mut HashMap<u64, (u32, i64)>| {
        let e = emitted.entry(id).or_insert((0, now));
        e.0 += 1;
    };
    while now <= end {
        let to = now - config.lag;
        if to > next_start {
            stretches.open_window(next_start, to, now);
            let lo = records.partition_point(|r| r.at < next_start);
            let hi = records.partition_point(|r| r.at < to);
            let mut n = 0;
            for r in &records[lo..hi] {
                if r.listed_at(now) {
                    n += 1;
                    on_time.insert(r.id);
                    *reads.entry(r.id).or_default() += 1;
                    emit(r.id, now, &mut emitted);
                    stretches.note_emitted(r.at, r.id);
                }
            }
            report.main_requests += requests(n);
            next_start = to;
        }
        for range in stretches.due(now) {
            let lo = records.partition_point(|r| r.at < range.0);
            let hi = records.partition_point(|r| r.at < range.1);
            let visible: Vec<&SimRecord> = records[lo..hi]
                .iter()
                .filter(|r| r.listed_at(now))
                .collect();
            let read: HashSet<u64> = visible.iter().map(|r| r.id).collect();
            for r in &visible {
                *reads.entry(r.id).or_default() += 1;
            }
            report.reread_requests += requests(read.len());
            let Some(found) = stretches.reconcile(range, &read) else {
                continue;
            };
            if found.at_least_once {
                report.overflows += 1;
            }
            // The trigger reads the ids first, then the new records by
            // their seconds, or the stretch again (poller.rs, `fetches`).
            let at = visible
                .iter()
                .filter(|r| found.new.contains(&r.id))
                .map(|r| r.at);
            for fetch in fetches(range, at) {
                let again: Vec<&&SimRecord> = visible
                    .iter()
                    .filter(|r| r.at >= fetch.0 && r.at < fetch.1)
                    .collect();
                for r in &again {
                    *reads.entry(r.id).or_default() += 1;
                    *fetched.entry(r.id).or_default() += 1;
                }
                report.reread_requests += requests(again.len());
            }
            for r in &visible {
                if found.new.contains(&r.id) {
                    emit(r.id, now, &mut emitted);
                    stretches.note_emitted(r.at, r.id);
                }
            }
            stretches.reread_done(range, &found, now);
        }
        stretches.tidy(now);
        // What the next run starts from is the snapshot: folded and merged
        // to fit.
        match stretches.pack(config.budget) {
            Some(packed) => {
                report.largest_snapshot = report.largest_snapshot.max(packed.len());
                stretches = Stretches::unpack(config.lookback, &packed).expect("reads its own");
                let capacity = stretches.list().iter().map(|s| s.summary.capacity()).sum();
                report.largest_capacity = report.largest_capacity.max(capacity);
            }
            None => report.largest_snapshot = usize::MAX,
        }
        report.largest_stretches = report.largest_stretches.max(stretches.list().len());
        now += config.interval;
    }
    let mut total_reads = 0u64;
    for r in &records {
        if r.listed > end {
            continue;
        }
        let n = reads.get(&r.id).copied().unwrap_or(0);
        report.most_reads = report.most_reads.max(n);
        let again = fetched.get(&r.id).copied().unwrap_or(0);
        report.most_scheduled_reads = report.most_scheduled_reads.max(n - again);
        report.fetch_reads += u64::from(again);
        total_reads += u64::from(n);
        let (times, first) = emitted.get(&r.id).copied().unwrap_or((0, 0));
        report.repeats += times.saturating_sub(1) as usize;
        // A deleted record may go before any read lists it: it is neither
        // lost nor late, only its repeats count.
        if r.gone != NEVER {
            report.deleted += 1;
            continue;
        }
        // Late: not listed yet when the main window read its time.
        let late = !on_time.contains(&r.id);
        if late && r.listed - r.at > config.lookback {
            report.beyond_lookback += 1;
        } else if late {
            report.late += 1;
            match times {
                0 => {
                    // Lost if a final read has happened since.
                    if r.at + config.lookback + config.interval * 2 < end {
                        report.late_lost += 1;
                        report.lost.push((r.at, r.listed));
                    }
                }
                1 => {
                    report.late_once += 1;
                    report.delays.push((first - r.listed, r.listed - r.at));
                }
                _ => {
                    report.late_repeated += 1;
                    report.delays.push((first - r.listed, r.listed - r.at));
                }
            }
        } else if times != 1 {
            report.on_time_wrong += 1;
            if times == 0 {
                report.on_time_lost += 1;
            }
        }
    }
    report.mean_reads = total_reads as f64 / records.len().max(1) as f64;
    report
}
