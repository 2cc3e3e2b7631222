//! The stretches of the lookback: which ranges of the polled field behind
//! the main window to read again, when, and what was emitted from each.
//!
//! Pure: no I/O and no clock; the poller (and the bench) pass the time.
//! Times are whole seconds since 1970.
//!
//! A stretch `[from, to)` was last read at `read_at` (by the main window or
//! a re-read), and its summary is the table of the ids emitted from it.
//! A record of the stretch that a read at R did not see reached Klaviyo
//! after R (less Klaviyo's listing lag), so it is at least `R − to` late.
//! The next read is due at `R + max(R − to, MIN_INTERVAL)`: the read ages
//! double from the stretch's end, and a record late by `d` is read at most
//! about `max(d, 1 min)` after Klaviyo received it (plus the poll interval,
//! since reads happen when the trigger runs). A last read is due at
//! `to + lookback`; after it the stretch is dropped.
//!
//! Neighbours merge while the merged stretch is short against its end's
//! age (a twelfth of it, [`SHORT`], or [`MIN_LENGTH`]): the merged
//! stretch keeps the later end and the earlier read, so its reads come no
//! later than either part's would (the guarantee holds) at the cost of
//! reading the older part more often than it needs; a lookback then holds
//! about ten stretches per doubling of age, about 110 at `P1D` (the
//! snapshot merges more where they do not fit).

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::sketch::{self, Sketch};

/// The shortest wait between two reads of a stretch.
pub(crate) const MIN_INTERVAL: i64 = 60;

/// Stretches this short merge whatever their age.
pub(crate) const MIN_LENGTH: i64 = 60;

/// Stretches merge while at most this fraction of their end's age
/// (1/12): a merged stretch is read on its younger part's clock, which
/// reads the older part early by the younger's length. Short against the
/// age, that costs less than a read per event over a lookback (the bench
/// measures 12.0 reads of each event at `P1D`, the main read among them,
/// where a quarter cost 13), for twice the stretches (about 110 at `P1D`).
const SHORT: i64 = 12;

/// The capacity of a stretch's summary when it is made, and what the
/// snapshot keeps of each before it shrinks any summary further: new ids
/// it tells apart. Three, since even a minute of a quiet account's
/// events gets a late one now and then, and a stretch that cannot tell
/// its new ids apart emits every id read again.
pub(crate) const DEFAULT_CAPACITY: usize = 3;

/// The largest time a packed stretch may hold (year 36812).
const MAX_TIME: i64 = 1 << 40;

/// The format of the packed stretches: 3, summaries as sketches.
const FORMAT: u8 = 3;

/// The format 1.2.0 packed, with IBLT summaries this version does not
/// read.
const OLDER_FORMAT: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stretch {
    pub from: i64,
    pub to: i64,
    /// When it was last read: every record Klaviyo listed then was emitted.
    pub read_at: i64,
    /// Ids emitted from it, as counted (re-emitted ones count again until
    /// the next read rebuilds the summary).
    pub count: u32,
    /// Late records found at its last re-read: where records were late,
    /// more are likely, and the summary keeps more capacity.
    pub found: u32,
    pub summary: Sketch,
}

impl Stretch {
    fn new(from: i64, to: i64, read_at: i64) -> Stretch {
        Stretch {
            from,
            to,
            read_at,
            count: 0,
            found: 0,
            summary: Sketch::new(DEFAULT_CAPACITY),
        }
    }

    /// When its next read is due, with `lookback` seconds of lookback.
    pub(crate) fn due(&self, lookback: i64) -> i64 {
        let age = self.read_at - self.to;
        (self.read_at + age.max(MIN_INTERVAL)).min(self.to + lookback)
    }

    /// Whether its last read is done.
    fn expired(&self, lookback: i64) -> bool {
        self.read_at >= self.to + lookback
    }
}

/// The most ranges a re-read asks again for the new records it found;
/// beyond, it reads its whole stretch again.
pub(crate) const MAX_FETCHES: usize = 8;

/// Where a re-read of `range` that found new records at the seconds
/// `secs` reads them whole: each run of consecutive seconds as one range
/// when there are at most [`MAX_FETCHES`], else all of `range`. The first
/// read keeps only ids (a stretch a day old holds too many records to
/// hold whole); this second one costs a request or two where a few late
/// records were found, and a stretch's pages where many were.
pub(crate) fn fetches(range: (i64, i64), secs: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let secs: std::collections::BTreeSet<i64> = secs.into_iter().collect();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for at in secs {
        match out.last_mut() {
            Some(last) if last.1 == at => last.1 = at + 1,
            _ => out.push((at, at + 1)),
        }
        if out.len() > MAX_FETCHES {
            return vec![range];
        }
    }
    out
}

/// What a re-read of a stretch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reconciled {
    /// Hashes of the ids read that were not emitted before (all of them
    /// when `at_least_once`).
    pub new: HashSet<u64>,
    /// The summary could not tell the new ids apart: every id read is
    /// emitted again.
    pub at_least_once: bool,
    /// How many of `new` were emitted before (exact unless
    /// `at_least_once` and ids were also deleted: then at most this many).
    pub repeats: u32,
    /// How many ids are new: exactly, or at least this many when
    /// `at_least_once` (ids deleted meanwhile hide as many new ones).
    pub new_count: u32,
    /// How many ids emitted from it Klaviyo no longer lists (deleted), as
    /// the summary tells; 0 when `at_least_once`.
    pub deleted: u32,
    /// The ids read, counted, and their summary at the capacity the
    /// stretch is rebuilt at once the new ones are emitted.
    read: u32,
    summary: Sketch,
}

/// Every stretch of the lookback, in order and apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stretches {
    /// Seconds; 0 is off.
    lookback: i64,
    list: Vec<Stretch>,
}

impl Stretches {
    pub(crate) fn new(lookback: i64) -> Stretches {
        Stretches {
            lookback: lookback.max(0),
            list: Vec::new(),
        }
    }

    /// As if `secs` more had passed since every read: for tests, which
    /// cannot wait the minutes between re-reads.
    pub(crate) fn aged(&mut self, secs: i64) {
        for s in &mut self.list {
            s.read_at -= secs;
        }
    }

    pub(crate) fn list(&self) -> &[Stretch] {
        &self.list
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The main window `[from, to)` is being read at `now`: cover the part
    /// of it within the lookback that no stretch covers yet (a resumed
    /// window is covered already), with pieces that grow with their age.
    pub(crate) fn open_window(&mut self, from: i64, to: i64, now: i64) {
        if self.lookback == 0 {
            return;
        }
        let start = from.max(to - self.lookback);
        let mut pieces = Vec::new();
        let mut end = to;
        while end > start {
            let length = ((now - end) / SHORT).max(MIN_LENGTH);
            let begin = (end - length).max(start);
            pieces.push((begin, end));
            end = begin;
        }
        for (begin, end) in pieces.into_iter().rev() {
            self.cover(begin, end, now);
        }
        self.tidy(now);
    }

    /// Add stretches for the parts of `[from, to)` no stretch holds.
    fn cover(&mut self, from: i64, to: i64, read_at: i64) {
        let mut gaps = Vec::new();
        let mut at = from;
        for s in &self.list {
            if s.to <= at || s.from >= to {
                continue;
            }
            if s.from > at {
                gaps.push((at, s.from));
            }
            at = at.max(s.to);
        }
        if at < to {
            gaps.push((at, to));
        }
        for (a, b) in gaps {
            self.list.push(Stretch::new(a, b, read_at));
        }
        self.list.sort_by_key(|s| s.from);
    }

    /// `id` (a hash) at `at` was emitted.
    pub(crate) fn note_emitted(&mut self, at: i64, id: u64) {
        if let Some(s) = self.stretch_mut(at) {
            s.summary.insert(id);
            s.count = s.count.saturating_add(1);
        }
    }

    fn stretch_mut(&mut self, at: i64) -> Option<&mut Stretch> {
        let i = self.list.partition_point(|s| s.to <= at);
        self.list.get_mut(i).filter(|s| s.from <= at)
    }

    /// The ranges due for a re-read at `now`, youngest first: their records
    /// are the likeliest to be late. A due stretch takes in neighbours
    /// that are short enough to merge with it and nearly due themselves
    /// (within a quarter of their wait), so stretches come to be read in
    /// step and merge as they age, at the cost of reading such a
    /// neighbour up to a quarter of its wait early. They are read as they
    /// are and merge once read ([`Stretches::tidy`]): each is reconciled
    /// against its own summary, since a merged summary has only the
    /// smaller part's cells, and merged after the rebuild has them all.
    pub(crate) fn due(&mut self, now: i64) -> Vec<(i64, i64)> {
        self.tidy(now);
        let lookback = self.lookback;
        let n = self.list.len();
        let mut read = vec![false; n];
        for i in 0..n {
            if self.list[i].due(lookback) > now {
                continue;
            }
            read[i] = true;
            let (mut first, mut last) = (i, i);
            while last + 1 < n && self.joinable(first, last + 1, now) {
                last += 1;
                read[last] = true;
            }
            while first > 0 && self.joinable(first - 1, last, now) {
                first -= 1;
                read[first] = true;
            }
        }
        let mut due: Vec<(i64, i64)> = self
            .list
            .iter()
            .zip(&read)
            .filter(|(_, r)| **r)
            .map(|(s, _)| (s.from, s.to))
            .collect();
        due.reverse();
        due
    }

    /// Whether stretches `first..=last` may be read in step at `now`, to
    /// merge into one: adjacent, short enough against the end's age, and
    /// the two ends nearly due.
    fn joinable(&self, first: usize, last: usize, now: i64) -> bool {
        let (a, b) = (&self.list[first], &self.list[last]);
        let nearly_due = |s: &Stretch| {
            let due = s.due(self.lookback);
            due <= now + (due - s.read_at) / 4
        };
        self.list[first..=last]
            .windows(2)
            .all(|w| w[0].to == w[1].from)
            && b.to - a.from <= ((now - b.to) / SHORT).max(MIN_LENGTH)
            && nearly_due(a)
            && nearly_due(b)
    }

    /// Compare the ids a re-read of `range` found (hashes) with what was
    /// emitted from it. `None` when no stretch is that range any more.
    pub(crate) fn reconcile(&self, range: (i64, i64), read: &HashSet<u64>) -> Option<Reconciled> {
        let s = self.list.iter().find(|s| (s.from, s.to) == range)?;
        // One pass over the ids read makes both the sketch to compare at
        // the stored capacity and the one to keep: the first sums of a
        // sketch are the sketch at a smaller capacity.
        let summary = Sketch::of(rebuilt_capacity(s, read.len()), read.iter().copied());
        let difference = summary.truncated(s.summary.capacity()).add(&s.summary);
        let count = read.len() as u32;
        let net = i64::from(count) - i64::from(s.count);
        Some(match difference.decode(read, net) {
            // Two ids of one stretch sharing a key, one emitted and one
            // new, are both named: one repeat, not a loss.
            Some(decoded) => {
                let new_count = (net + decoded.deleted as i64) as u32;
                Reconciled {
                    repeats: (decoded.new.len() as u32).saturating_sub(new_count),
                    at_least_once: false,
                    new: decoded.new,
                    new_count,
                    deleted: decoded.deleted as u32,
                    read: count,
                    summary,
                }
            }
            None => Reconciled {
                new: read.clone(),
                at_least_once: true,
                repeats: count.saturating_sub(net.max(0) as u32),
                new_count: net.max(0) as u32,
                deleted: 0,
                read: count,
                summary,
            },
        })
    }

    /// A re-read of `range` started at `read_at` found what `found` says,
    /// and every new id among them has been emitted: the summary is
    /// rebuilt from the ids read.
    pub(crate) fn reread_done(&mut self, range: (i64, i64), found: &Reconciled, read_at: i64) {
        let Some(s) = self.list.iter_mut().find(|s| (s.from, s.to) == range) else {
            return;
        };
        s.summary = found.summary.clone();
        s.count = found.read;
        s.found = found.new_count;
        s.read_at = read_at;
        self.tidy(read_at);
    }

    /// Drop the stretches whose last read is done and merge neighbours
    /// short against their age.
    pub(crate) fn tidy(&mut self, now: i64) {
        let lookback = self.lookback;
        self.list.retain(|s| !s.expired(lookback));
        let mut i = 0;
        while i + 1 < self.list.len() {
            let (a, b) = (&self.list[i], &self.list[i + 1]);
            let length = b.to - a.from;
            // Read together, or the older part would be read at the
            // younger's turns as well as its own.
            let in_step = (a.read_at - b.read_at).abs() < MIN_INTERVAL;
            if a.to == b.from && in_step && length <= ((now - b.to) / SHORT).max(MIN_LENGTH) {
                self.merge_at(i);
            } else {
                i += 1;
            }
        }
    }

    /// Merge stretch `i` with the next.
    fn merge_at(&mut self, i: usize) {
        let b = self.list.remove(i + 1);
        let a = &mut self.list[i];
        a.to = b.to;
        a.read_at = a.read_at.min(b.read_at);
        a.count = a.count.saturating_add(b.count);
        a.found = a.found.saturating_add(b.found);
        a.summary = a.summary.add(&b.summary);
    }

    /// The stretches packed as base64, at most `budget` characters:
    /// shrinking the summaries where no late record was found first, then merging
    /// the neighbours closest in age. `None` when even one summary of one
    /// cell per subtable does not fit.
    pub(crate) fn pack(&self, budget: usize) -> Option<String> {
        let mut fitted = self.clone();
        // Base64 without padding: 4 characters for 3 bytes, rounded up.
        while (fitted.byte_len() * 4).div_ceil(3) > budget {
            if !fitted.shrink() {
                return None;
            }
        }
        let text = STANDARD_NO_PAD.encode(fitted.to_bytes());
        (text.len() <= budget).then_some(text)
    }

    /// The length of [`Stretches::to_bytes`], without writing it.
    pub(crate) fn byte_len(&self) -> usize {
        let mut n = 1 + varint_len(self.list.len() as u64);
        let mut previous = 0i64;
        for s in &self.list {
            n += varint_len((s.from - previous).max(0) as u64)
                + varint_len((s.to - s.from).max(0) as u64)
                + varint_len(zigzag(s.read_at - s.to))
                + varint_len(u64::from(s.count))
                + varint_len(u64::from(s.found))
                + 1
                + s.summary.capacity() * sketch::ELEMENT_BYTES;
            previous = s.to;
        }
        n
    }

    /// One step smaller: shrink one summary by one, or merge two
    /// stretches.
    fn shrink(&mut self) -> bool {
        // Shrink where capacity is most plentiful for what may arrive
        // late: late records come in proportion to a stretch's length, and
        // more where some were found. Down to the default capacity first,
        // then to one.
        let shrink_above = |floor: usize| {
            self.list
                .iter()
                .enumerate()
                .filter(|(_, s)| s.summary.capacity() > floor)
                .max_by(|(_, x), (_, y)| plenty(x).total_cmp(&plenty(y)))
                .map(|(i, _)| i)
        };
        if let Some(i) = shrink_above(DEFAULT_CAPACITY).or_else(|| shrink_above(1)) {
            let s = &mut self.list[i];
            s.summary = s.summary.truncated(s.summary.capacity() - 1);
            return true;
        }
        // Merge the adjacent pair whose merged length is smallest against
        // its age. Over a gap (left by a run after more than a lookback
        // without runs) last: ids emitted from the gap were not noted, and
        // would be emitted again rather than never.
        let pair = (0..self.list.len().saturating_sub(1)).min_by_key(|&i| {
            let (a, b) = (&self.list[i], &self.list[i + 1]);
            let length = b.to - a.from;
            let age = (b.read_at - b.to).max(1);
            (a.to != b.from, length.saturating_mul(1_000) / age)
        });
        match pair {
            Some(i) => {
                self.merge_at(i);
                true
            }
            None => false,
        }
    }

    /// Format 3: the format byte, then per stretch `from` (the first
    /// absolute, then from the previous `to`), its length, `read_at − to`
    /// (zigzag), count, found as LEB128 varints, the summary's capacity as
    /// a byte and its sums (sketch.rs).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![FORMAT];
        varint(&mut out, self.list.len() as u64);
        let mut previous = 0i64;
        for s in &self.list {
            varint(&mut out, (s.from - previous).max(0) as u64);
            varint(&mut out, (s.to - s.from).max(0) as u64);
            varint(&mut out, zigzag(s.read_at - s.to));
            varint(&mut out, u64::from(s.count));
            varint(&mut out, u64::from(s.found));
            out.push(s.summary.capacity() as u8);
            s.summary.pack(&mut out);
            previous = s.to;
        }
        out
    }

    /// Whether `text` is stretches packed by 1.2.0 (format 2), whose
    /// summaries this version cannot read.
    pub(crate) fn older_format(text: &str) -> bool {
        STANDARD_NO_PAD
            .decode(text)
            .is_ok_and(|b| b.first() == Some(&OLDER_FORMAT))
    }

    /// Read what [`Stretches::pack`] wrote; `None` when it is not that.
    pub(crate) fn unpack(lookback: i64, text: &str) -> Option<Stretches> {
        let bytes = STANDARD_NO_PAD.decode(text).ok()?;
        let (&format, mut rest) = bytes.split_first()?;
        if format != FORMAT {
            return None;
        }
        let n = read_varint(&mut rest)?;
        let mut list = Vec::new();
        let mut previous = 0i64;
        for _ in 0..n {
            let from = previous.checked_add(i64::try_from(read_varint(&mut rest)?).ok()?)?;
            let to = from.checked_add(i64::try_from(read_varint(&mut rest)?).ok()?)?;
            let read_at = to.checked_add(unzigzag(read_varint(&mut rest)?))?;
            // Times far from now are not this component's: refused, so no
            // arithmetic on them can overflow.
            if [from, to, read_at].iter().any(|t| t.abs() > MAX_TIME) {
                return None;
            }
            let count = u32::try_from(read_varint(&mut rest)?).ok()?;
            let found = u32::try_from(read_varint(&mut rest)?).ok()?;
            let (&capacity, tail) = rest.split_first()?;
            let (summary, tail) = Sketch::unpack(usize::from(capacity), tail)?;
            rest = tail;
            list.push(Stretch {
                from,
                to,
                read_at,
                count,
                found,
                summary,
            });
            previous = to;
        }
        if !rest.is_empty() {
            return None;
        }
        let mut out = Stretches::new(lookback);
        if out.lookback > 0 {
            out.list = list;
        }
        Some(out)
    }
}

/// The capacity a stretch's summary is rebuilt at after a re-read: twice
/// what the snapshot last kept, more where records were found late (the
/// snapshot shrinks it again where capacity is most plentiful, `shrink`),
/// so capacity grows where records turn up late, a doubling a read, and
/// a sketch costs a product per id read for each of its sums.
fn rebuilt_capacity(s: &Stretch, read: usize) -> usize {
    let found = read.saturating_sub(s.count as usize);
    (2 * s.summary.capacity())
        .max(2 * found + DEFAULT_CAPACITY)
        .clamp(2 * DEFAULT_CAPACITY, sketch::MAX_CAPACITY)
}

/// Capacity of a stretch's summary for each second of it, less where
/// late records were found at its last read.
fn plenty(s: &Stretch) -> f64 {
    s.summary.capacity() as f64 / ((s.to - s.from).max(1) as f64 * (1.0 + f64::from(s.found)))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::sim::{NEVER, Numbers, SimConfig, SimRecord, SimReport, simulate};
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn config(lookback: i64, interval: i64) -> SimConfig {
        SimConfig {
            lookback,
            interval,
            lag: 5,
            page: 200,
            budget: 4_000,
        }
    }

    /// One on-time record a second from `from` to `to`.
    fn steady(n: &mut Numbers, from: i64, to: i64) -> Vec<SimRecord> {
        (from..to)
            .map(|at| SimRecord {
                at,
                listed: at,
                id: n.draw(),
                gone: NEVER,
            })
            .collect()
    }

    #[test]
    fn events_late_by_seconds_to_minutes_are_emitted_once_soon() {
        let mut n = Numbers(1);
        let mut records = steady(&mut n, T0, T0 + 600);
        for (i, late) in [5, 30, 90, 170].into_iter().enumerate() {
            let listed = T0 + 200 + 37 * i as i64;
            records.push(SimRecord {
                at: listed - late,
                listed,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let report = simulate(config(180, 2), records, T0, T0 + 800);
        // The one 5 s late may still be listed in time for its window.
        assert!(report.late >= 3, "{report:?}");
        assert_eq!(report.late_once, report.late, "{report:?}");
        assert_eq!(report.repeats, 0);
        assert_eq!(report.on_time_wrong, 0);
        for (delay, late) in &report.delays {
            // max(d, 1 min) + one interval + the lag, and the lag again
            // for the read that just missed it.
            assert!(
                *delay <= (*late).max(60) + 2 + 10,
                "{delay} s for {late} s late"
            );
        }
    }

    #[test]
    fn records_deleted_after_they_were_emitted_repeat_nothing() {
        // A profile deleted takes its events: ids emitted from a stretch
        // are no longer listed when it is read again, beside late ones.
        let mut n = Numbers(4);
        let mut records = steady(&mut n, T0, T0 + 1_200);
        for (i, r) in records.iter_mut().enumerate().filter(|(i, _)| i % 97 == 13) {
            r.gone = r.listed + 30 + 41 * (i as i64 % 11);
        }
        for (i, late) in [5, 30, 90, 170, 400].into_iter().enumerate() {
            let listed = T0 + 300 + 131 * i as i64;
            records.push(SimRecord {
                at: listed - late,
                listed,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let report = simulate(config(900, 2), records, T0, T0 + 2_400);
        assert_eq!(report.deleted, 13, "{report:?}");
        assert!(report.late >= 4, "{report:?}");
        assert_eq!(report.late_once, report.late, "{report:?}");
        assert_eq!(report.overflows, 0, "{report:?}");
        assert_eq!(report.repeats, 0, "{report:?}");
        assert_eq!(report.on_time_wrong, 0);
    }

    #[test]
    fn a_burst_too_large_for_the_summary_is_emitted_at_least_once() {
        let mut n = Numbers(2);
        let mut records = steady(&mut n, T0, T0 + 300);
        let listed = T0 + 150;
        for _ in 0..1_000 {
            records.push(SimRecord {
                at: listed - 40,
                listed,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let report = simulate(config(180, 2), records, T0, T0 + 500);
        assert_eq!(report.late, 1_000);
        assert_eq!(report.late_lost, 0);
        assert_eq!(report.late_once + report.late_repeated, 1_000);
        assert!(report.overflows >= 1, "{report:?}");
        // Only the stretch's on-time records come again, once.
        assert!(report.repeats <= 120, "{} repeats", report.repeats);
        assert_eq!(report.late_repeated, 0, "each late one is new once");
    }

    #[test]
    fn new_records_are_fetched_by_their_seconds_or_with_the_stretch() {
        assert_eq!(fetches((0, 100), []), vec![]);
        assert_eq!(
            fetches((0, 100), [7, 3, 4, 4, 50]),
            vec![(3, 5), (7, 8), (50, 51)]
        );
        let many = (0..MAX_FETCHES as i64 + 1).map(|i| i * 2);
        assert_eq!(fetches((0, 100), many), vec![(0, 100)]);
    }

    #[test]
    fn every_late_record_within_the_lookback_is_found_and_delays_are_bounded() {
        let mut n = Numbers(3);
        let day = 86_400;
        let mut records = Vec::new();
        for i in 0..20_000 {
            let at = T0 + (i * 4) % (2 * day);
            let late = if i % 50 == 0 {
                n.log_uniform(1.0, 2.0 * day as f64)
            } else {
                0
            };
            records.push(SimRecord {
                at,
                listed: at + late,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let report = simulate(config(day, 60), records, T0, T0 + 3 * day);
        let summary = SimReport {
            delays: Vec::new(),
            ..report.clone()
        };
        assert_eq!(report.late_lost, 0, "{summary:?}");
        assert_eq!(report.on_time_lost, 0, "{summary:?}");
        // Repeats come only from summaries that could not tell the new ids
        // apart, each of whose stretches was emitted again once.
        assert!(report.repeats == 0 || report.overflows > 0);
        for (delay, late) in &report.delays {
            if *late <= day {
                assert!(
                    *delay <= (*late).max(60) + 60 + 10,
                    "{delay} s for {late} s late"
                );
            }
        }
        assert!(report.largest_snapshot <= 4_000);
        assert!(report.most_reads <= 16);
    }

    #[test]
    fn a_busy_week_at_seven_days_stays_within_the_budget() {
        let mut n = Numbers(4);
        let day = 86_400;
        let mut records = Vec::new();
        // 30,000 a day, 2% late by up to two days, and an import of 3,000
        // spread over three days created at once.
        for i in 0..(7 * 30_000) {
            let at = T0 + i * day / 30_000;
            let late = if i % 50 == 0 {
                n.log_uniform(1.0, 2.0 * day as f64)
            } else {
                0
            };
            records.push(SimRecord {
                at,
                listed: at + late,
                id: n.draw(),
                gone: NEVER,
            });
        }
        for _ in 0..3_000 {
            let listed = T0 + 5 * day;
            records.push(SimRecord {
                at: listed - (n.unit() * 3.0 * day as f64) as i64,
                listed,
                id: n.draw(),
                gone: NEVER,
            });
        }
        let mut config = config(7 * day, 300);
        config.budget = 4_600;
        let report = simulate(config, records, T0, T0 + 8 * day);
        assert!(report.largest_snapshot <= 4_600, "{report:?}");
        assert_eq!(report.late_lost, 0);
        assert_eq!(report.on_time_lost, 0);
    }

    #[test]
    fn packs_round_trip_and_refuse_what_they_did_not_write() {
        let mut s = Stretches::new(86_400);
        s.open_window(T0 - 1_000, T0, T0 + 5);
        s.note_emitted(T0 - 10, 42);
        s.note_emitted(T0 - 900, 43);
        assert_eq!(s.byte_len(), s.to_bytes().len());
        let text = s.pack(5_000).expect("fits");
        assert_eq!(Stretches::unpack(86_400, &text), Some(s.clone()));
        assert_eq!(Stretches::unpack(0, &text), Some(Stretches::new(0)));
        assert!(Stretches::unpack(86_400, "not base64!").is_none());
        assert!(Stretches::unpack(86_400, &text[..text.len() - 4]).is_none());
        // A budget too small for the stretches shrinks and merges them.
        let small = s.pack(40).expect("shrunk and merged");
        let back = Stretches::unpack(86_400, &small).expect("reads");
        assert_eq!(back.list().len(), 1);
        assert_eq!(back.list()[0].count, 2);
        assert!(s.pack(5).is_none());
        // 1.2.0's format is told apart, not read.
        let older = STANDARD_NO_PAD.encode([OLDER_FORMAT, 0]);
        assert!(Stretches::older_format(&older));
        assert!(Stretches::unpack(86_400, &older).is_none());
        assert!(!Stretches::older_format(&text));
    }

    #[test]
    fn reads_double_from_the_stretch_end_up_to_the_lookback() {
        let day = 86_400;
        let mut s = Stretches::new(day);
        let to = T0;
        s.open_window(to - 60, to, to + 5);
        let mut reads = Vec::new();
        let mut now = to + 5;
        while !s.is_empty() && now < to + 2 * day {
            now += 60;
            for range in s.due(now) {
                reads.push(now - range.1);
                let found = s.reconcile(range, &HashSet::new()).expect("a stretch");
                s.reread_done(range, &found, now);
            }
        }
        // About 1, 3, 7, … minutes (each read's age at most twice the
        // previous one's plus the poll interval), then the last at a day:
        // 11 re-reads, 12 reads with the main window's.
        assert_eq!(reads.len(), 11, "{reads:?}");
        for pair in reads.windows(2) {
            assert!(pair[1] <= 2 * pair[0] + 60, "{reads:?}");
        }
        let last = *reads.last().expect("reads");
        assert!((day..day + 60).contains(&last), "{reads:?}");
    }
}
