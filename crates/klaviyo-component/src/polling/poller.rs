//! The one place that decides what is new, emits it in order, saves
//! progress, and owns all concurrency.
//!
//! Readers run as tasks, several at once (see schedule.rs); each sends its
//! records through its own channel. The poller takes them in the
//! schedule's order only, so records leave in ascending order of the polled
//! field whatever order the reads finish in, and the snapshot after every
//! page says exactly how far the output got. A read ahead waits, holding
//! one chunk, until the poller gets to it, and no read ahead starts while
//! the chunks held would pass [`READ_AHEAD_BYTES`]: memory stays bounded
//! however large the backlog.
//!
//! After the main window, the stretches of the lookback that are due are
//! read again the same way (late/stretches.rs says when); what a re-read
//! finds that was never emitted is emitted then, out of order with the
//! main output by nature.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::batcher::Batcher;
use super::late::stretches::fetches;
use super::plan::Strategy;
use super::read::{self, Chunk, End, Record, Slice, Source, Start};
use super::schedule::{Head, NodeId, Schedule, Status, Work};
use super::snapshot::{State, Window};
use super::tracker::{Tracker, id_hash};
use crate::Error;
use crate::time::to_text;

/// Bytes of records the poller lets readers hold ahead of what it emits.
const READ_AHEAD_BYTES: usize = 16 * 1024 * 1024;

/// The size a page is assumed to have before one was read.
const FIRST_PAGE_GUESS: usize = 512 * 1024;

pub(super) struct Poller<'o> {
    pub source: Arc<Source>,
    /// Groups what is emitted into the platform's messages.
    pub batcher: Batcher<'o>,
    pub state: State,
    /// Retrieve Sample: stop after this many records.
    pub limit: Option<u64>,
    /// Reads in flight at most, besides the earliest.
    pub max_in_flight: usize,
    /// Average bytes of the chunks taken so far.
    chunk_bytes: Average,
    /// When the run began: what the main window reads was listed by then.
    started: DateTime<Utc>,
    /// What the re-reads of the lookback found.
    pub late: LateReport,
}

/// What the re-reads of a run found, for its summary line.
#[derive(Debug, Default)]
pub(super) struct LateReport {
    /// Stretches read again.
    pub stretches: usize,
    /// Records found that had not been emitted.
    pub found: u64,
    /// The stretches they were found in, as `from/to`.
    pub from: Vec<String>,
    /// Records emitted again where a summary could not tell the new apart.
    pub repeats: u64,
    /// Records emitted before that Klaviyo no longer lists (deleted).
    pub deleted: u64,
}

impl LateReport {
    /// Its part of the run's summary line.
    pub(super) fn summary(&self) -> String {
        let mut out = format!(
            "; {} late record(s) found in {} stretch(es) read again",
            self.found, self.stretches
        );
        if !self.from.is_empty() {
            out.push_str(&format!(" ({})", self.from.join(", ")));
        }
        if self.repeats > 0 {
            out.push_str(&format!(", up to {} emitted a second time", self.repeats));
        }
        if self.deleted > 0 {
            out.push_str(&format!(
                ", {} emitted earlier no longer listed (deleted)",
                self.deleted
            ));
        }
        out
    }
}

impl<'o> Poller<'o> {
    pub(super) fn new(
        source: Arc<Source>,
        batcher: Batcher<'o>,
        state: State,
        limit: Option<u64>,
        max_in_flight: usize,
    ) -> Poller<'o> {
        Poller {
            source,
            batcher,
            state,
            limit,
            max_in_flight,
            chunk_bytes: Average::default(),
            started: Utc::now(),
            late: LateReport::default(),
        }
    }

    /// Poll up to `horizon`: the saved window first, then a window from
    /// where it ended.
    pub(super) async fn run(&mut self, horizon: DateTime<Utc>) -> Result<(), Error> {
        loop {
            let next_start = self.state.next_start;
            let (to, first, tracker) = match self.state.window.take() {
                Some(window) if window.to > horizon => {
                    tracing::warn!(
                        "the saved window ends at {}, after now ({}): is the clock behind? Waiting for it.",
                        to_text(window.to),
                        to_text(horizon)
                    );
                    self.state.window = Some(window);
                    return Ok(());
                }
                Some(window) => match self.source.plan.partition_index(&window.partition) {
                    Some(index) => (window.to, index, window.tracker),
                    None => {
                        tracing::warn!(
                            "the saved partition {:?} does not exist for this revision; polling the window again from {}",
                            window.partition,
                            to_text(next_start)
                        );
                        (window.to, 0, Tracker::new(next_start))
                    }
                },
                None if horizon <= next_start => {
                    tracing::info!("nothing to poll before {}", to_text(next_start));
                    break;
                }
                None => (horizon, 0, Tracker::new(next_start)),
            };
            self.poll_window(to, first, tracker).await?;
            if self.limit_reached() {
                return self.batcher.flush(None);
            }
            self.state.next_start = to;
            self.state.window = None;
            self.checkpoint()?;
            if to >= horizon {
                break;
            }
        }
        if self.limit.is_none() {
            self.reread().await?;
        }
        self.batcher.flush(self.state.to_value())
    }

    /// Read again the stretches of the lookback that are due, and emit
    /// what was never emitted from them.
    async fn reread(&mut self) -> Result<(), Error> {
        for range in self.state.late.due(self.started.timestamp()) {
            let read_at = Utc::now();
            // The ids first, which is all a re-read that finds nothing new
            // (most of them) needs: a stretch a day old can hold hundreds
            // of thousands of records, too many to hold whole.
            let (seconds, _) = self.read_range(range, &|_| false).await?;
            let read: HashSet<u64> = seconds.keys().copied().collect();
            let Some(found) = self.state.late.reconcile(range, &read) else {
                continue;
            };
            // Then the new records themselves, read again by their seconds
            // (`fetches`): one that arrived between the two reads is not in
            // `read`, so it stays new for the next re-read; one deleted
            // between them is not emitted.
            let mut records = Vec::new();
            let at = found
                .new
                .iter()
                .filter_map(|hash| seconds.get(hash).copied());
            for fetch in fetches(range, at) {
                let (_, some) = self
                    .read_range(fetch, &|hash| found.new.contains(&hash))
                    .await?;
                records.extend(some);
            }
            records.sort_by_key(|r| r.at);
            let label = format!("{}/{}", text_of(range.0), text_of(range.1));
            if found.at_least_once {
                tracing::warn!(
                    "the records read again from {label} differ from those emitted from it in more ids \
                     than its summary tells apart (at least {} new; records deleted since count too): \
                     all {} read are emitted again, up to {} of them a second time (at least once, none lost); \
                     a destination that does not de-duplicate by id may want a shorter \"{}\"",
                    found.new_count,
                    found.new.len(),
                    found.repeats,
                    crate::fields::LOOKBACK.label
                );
                self.late.repeats += u64::from(found.repeats);
            }
            self.late.stretches += 1;
            self.late.deleted += u64::from(found.deleted);
            let mut emitted = HashSet::new();
            for record in records {
                let hash = id_hash(&record.id);
                if !found.new.contains(&hash) || !emitted.insert(hash) {
                    continue;
                }
                self.state.late.note_emitted(record.at.timestamp(), hash);
                if self.batcher.push(record.raw)? {
                    let progress = self.state.to_value();
                    self.batcher.flush(progress)?;
                }
            }
            if found.new_count > 0 {
                self.late.found += u64::from(found.new_count);
                self.late
                    .from
                    .push(format!("{label} ({})", found.new_count));
            }
            self.state
                .late
                .reread_done(range, &found, read_at.timestamp());
            self.checkpoint()?;
        }
        Ok(())
    }

    /// The id hashes, with their seconds, of every record of every
    /// partition whose field lies in `range`, and the records whose hash
    /// `keep` wants, read through the same schedule and pacer as the main
    /// window.
    async fn read_range(
        &mut self,
        range: (i64, i64),
        keep: &dyn Fn(u64) -> bool,
    ) -> Result<(HashMap<u64, i64>, Vec<Record>), Error> {
        let mut read = HashMap::new();
        let (Some(from), Some(to)) = (at_second(range.0), at_second(range.1)) else {
            return Ok((read, Vec::new()));
        };
        let plan = self.source.plan.clone();
        let work = (0..plan.partitions.len()).map(|partition| match plan.strategy {
            Strategy::Keyset => Work::Slice(Slice {
                partition,
                from,
                to,
            }),
            Strategy::Descending | Strategy::Scan => Work::Partition {
                partition,
                start: Start::at(from),
                to,
            },
        });
        let mut records = Vec::new();
        let schedule = Schedule::new(self.max_in_flight, work);
        self.drive(schedule, &mut |poller, seen| {
            if let Seen::Chunk(chunk) = seen {
                poller.chunk_bytes.add(chunk.bytes());
                for record in chunk.records {
                    if record.at < from || record.at >= to {
                        continue;
                    }
                    let hash = id_hash(&record.id);
                    read.insert(hash, record.at.timestamp());
                    if keep(hash) {
                        records.push(record);
                    }
                }
            }
            Ok(Flow::Continue)
        })
        .await?;
        Ok((read, records))
    }

    /// Poll the partitions from `first` (resumed from `tracker`) of the
    /// window ending at `to`.
    async fn poll_window(
        &mut self,
        to: DateTime<Utc>,
        first: usize,
        tracker: Tracker,
    ) -> Result<(), Error> {
        let plan = self.source.plan.clone();
        let next_start = self.state.next_start;
        let work = (first..plan.partitions.len()).map(|partition| {
            let start = if partition == first {
                Start {
                    at: tracker.watermark(),
                    emitted: tracker.seen().collect(),
                }
            } else {
                Start::at(next_start)
            };
            match plan.strategy {
                Strategy::Keyset => Work::Slice(Slice {
                    partition,
                    from: start.at,
                    to,
                }),
                Strategy::Descending | Strategy::Scan => Work::Partition {
                    partition,
                    start,
                    to,
                },
            }
        });
        let schedule = Schedule::new(self.max_in_flight, work);
        self.state.late.open_window(
            next_start.timestamp(),
            to.timestamp(),
            self.started.timestamp(),
        );
        self.state.window = Some(Window {
            to,
            partition: plan.partitions[first].label.clone(),
            tracker,
        });
        self.drive(schedule, &mut |poller, seen| match seen {
            Seen::Head(partition) => {
                poller.enter_partition(partition, to);
                Ok(Flow::Continue)
            }
            Seen::Chunk(chunk) => {
                poller.admit(chunk)?;
                Ok(if poller.limit_reached() {
                    Flow::Stop
                } else {
                    Flow::Continue
                })
            }
        })
        .await
    }

    /// Run the reads of `schedule`, earliest first, handing `see` the
    /// partition of each head before its chunks are awaited and then each
    /// chunk the head sends, in the schedule's order: the one loop of the
    /// main window and of re-reads alike. Ends when every read is taken,
    /// at the first failure in the order, or when `see` says stop.
    async fn drive(
        &mut self,
        mut schedule: Schedule,
        see: &mut dyn FnMut(&mut Self, Seen) -> Result<Flow, Error>,
    ) -> Result<(), Error> {
        let mut reads = Reads::default();
        loop {
            self.start_reads(&mut schedule, &mut reads);
            let Some(Head {
                id: head,
                partition,
                status,
            }) = schedule.head()
            else {
                return Ok(());
            };
            see(self, Seen::Head(partition))?;
            if status == Status::Failed && reads.drained(head) {
                return Err(reads.take_failure(head));
            }
            match reads.next(head).await {
                Next::Joined(joined) => reads.finished(joined, &mut schedule),
                Next::Chunk(chunk) => {
                    if see(self, Seen::Chunk(chunk))? == Flow::Stop {
                        return Ok(());
                    }
                }
                Next::Drained => reads.mark_drained(head),
                Next::Idle => {
                    return Err(Error::internal(
                        "the trigger waited for a read that was never started",
                    ));
                }
            }
            if reads.drained(head) && schedule.head().map(|h| h.status) == Some(Status::Ended) {
                schedule.pop_head();
                reads.forget(head);
            }
        }
    }

    /// Start the reads the schedule, the rate limit and the memory budget
    /// allow. Reads beyond what the steady limit can serve would only wait
    /// for their turn, holding memory and taking turns from the earliest
    /// read, which the output waits for.
    fn start_reads(&self, schedule: &mut Schedule, reads: &mut Reads) {
        // A server that announces no limit (a proxy, a stand-in) is taken
        // to have the endpoint's documented one.
        let documented =
            (self.source.plan.collection.rate_limit).map(|l| f64::from(l.steady_per_minute) / 60.0);
        let useful = self.source.client.useful_in_flight(documented);
        let cap = useful.map_or(self.max_in_flight, |n| n.clamp(1, self.max_in_flight));
        schedule.set_max_reading(cap);
        let chunk_bytes = self.chunk_bytes.get(FIRST_PAGE_GUESS);
        // Pieces no longer than each reader's share of what may be held
        // ahead: a reader holds the pages of its piece it has read until
        // the output reaches them, and the one it is reading.
        schedule.set_pages_per_piece(READ_AHEAD_BYTES as f64 / (cap * chunk_bytes) as f64);
        loop {
            let ahead = (schedule.outstanding() + 1) * chunk_bytes;
            let room = ahead <= READ_AHEAD_BYTES;
            let Some((id, work)) = schedule.next_read(room) else {
                return;
            };
            reads.start(id, work, self.source.clone(), self.limit);
        }
    }

    /// Make the window's progress that of `partition` once the poller
    /// reaches it: every partition starts at the window's start.
    fn enter_partition(&mut self, partition: usize, to: DateTime<Utc>) {
        let label = &self.source.plan.partitions[partition].label;
        let window = self.state.window.get_or_insert_with(|| Window {
            to,
            partition: label.clone(),
            tracker: Tracker::new(self.state.next_start),
        });
        if &window.partition != label {
            if !label.is_empty() {
                tracing::debug!("polling partition {label}");
            }
            *window = Window {
                to,
                partition: label.clone(),
                tracker: Tracker::new(self.state.next_start),
            };
        }
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.batcher.emitted() >= l)
    }

    /// Emit the records of `chunk` not emitted before, then save the
    /// progress if no emitted record waits in a page.
    fn admit(&mut self, chunk: Chunk) -> Result<(), Error> {
        self.chunk_bytes.add(chunk.bytes());
        for record in chunk.records {
            if self.limit_reached() {
                break;
            }
            let window = self
                .state
                .window
                .as_mut()
                .expect("a partition is being polled");
            if !window.tracker.admit(record.at, &record.id) {
                continue;
            }
            self.state
                .late
                .note_emitted(record.at.timestamp(), id_hash(&record.id));
            if self.batcher.push(record.raw)? {
                let progress = self.state.to_value();
                self.batcher.flush(progress)?;
            }
        }
        self.checkpoint()
    }

    /// Save the progress made, if nothing emitted is waiting in a page.
    fn checkpoint(&mut self) -> Result<(), Error> {
        let progress = self.state.to_value();
        self.batcher.checkpoint(progress)
    }
}

/// A second of the lookback as a time.
fn at_second(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

fn text_of(secs: i64) -> String {
    at_second(secs)
        .map(to_text)
        .unwrap_or_else(|| secs.to_string())
}

/// What a read's task returns: which node it read, and how it ended.
type Outcome = (NodeId, Result<End, Error>);

/// What [`Poller::drive`] shows the caller.
enum Seen {
    /// The earliest read now is of this partition.
    Head(usize),
    /// The earliest read sent these records.
    Chunk(Chunk),
}

/// Whether [`Poller::drive`] goes on.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// What happened next among the reads.
enum Next {
    /// A read's task ended.
    Joined(Option<Result<Outcome, tokio::task::JoinError>>),
    /// The head sent a chunk.
    Chunk(Chunk),
    /// The head's channel is closed: it sends no more.
    Drained,
    /// Nothing can happen: no task runs and the head sends nothing.
    Idle,
}

/// The reads in flight: their tasks, and the channel each sends through.
#[derive(Default)]
struct Reads {
    tasks: JoinSet<Outcome>,
    channels: HashMap<NodeId, mpsc::Receiver<Chunk>>,
    /// Which node each task reads, to place a task that panicked.
    nodes: HashMap<tokio::task::Id, NodeId>,
    /// Nodes whose channel was read to its end.
    drained: Vec<NodeId>,
    failures: HashMap<NodeId, Error>,
}

impl Reads {
    fn start(&mut self, id: NodeId, work: Work, source: Arc<Source>, limit: Option<u64>) {
        // One chunk in the channel: a read ahead waits for the poller.
        let (tx, rx) = mpsc::channel(1);
        self.channels.insert(id, rx);
        let task = self.tasks.spawn(async move {
            let result = match work {
                Work::Slice(slice) => read::read_slice(&source, slice, &tx).await,
                Work::Partition {
                    partition,
                    start,
                    to,
                } => {
                    let capacity = limit.map_or(usize::MAX, |l| l as usize);
                    read::read_partition(&source, partition, start, to, capacity, &tx).await
                }
            };
            (id, result)
        });
        self.nodes.insert(task.id(), id);
    }

    /// Record how a task ended in the schedule.
    fn finished(
        &mut self,
        joined: Option<Result<Outcome, tokio::task::JoinError>>,
        schedule: &mut Schedule,
    ) {
        let (id, result) = match joined {
            None => return,
            Some(Ok((id, result))) => (id, result),
            Some(Err(e)) => {
                let Some(id) = self.nodes.get(&e.id()).copied() else {
                    return;
                };
                (
                    id,
                    Err(Error::internal(
                        "a reader of the trigger failed unexpectedly",
                    )),
                )
            }
        };
        match result {
            Ok(end) => schedule.ended(id, end),
            Err(e) => {
                schedule.failed(id);
                self.failures.insert(id, e);
            }
        }
    }

    /// Wait for the next task to end or the head's next chunk, whichever
    /// comes first.
    async fn next(&mut self, head: NodeId) -> Next {
        let receive = !self.drained(head);
        let channel = self.channels.get_mut(&head);
        let tasks = &mut self.tasks;
        tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() => Next::Joined(joined),
            chunk = async { channel?.recv().await }, if receive => match chunk {
                Some(chunk) => Next::Chunk(chunk),
                None => Next::Drained,
            },
            else => Next::Idle,
        }
    }

    fn drained(&self, id: NodeId) -> bool {
        self.drained.contains(&id)
    }

    fn mark_drained(&mut self, id: NodeId) {
        self.drained.push(id);
    }

    fn forget(&mut self, id: NodeId) {
        self.channels.remove(&id);
        self.drained.retain(|d| *d != id);
    }

    fn take_failure(&mut self, id: NodeId) -> Error {
        self.failures
            .remove(&id)
            .unwrap_or_else(|| Error::internal("a read failed without a reason"))
    }
}

/// A running mean.
#[derive(Default)]
struct Average {
    total: usize,
    count: usize,
}

impl Average {
    fn add(&mut self, value: usize) {
        self.total = self.total.saturating_add(value);
        self.count += 1;
    }

    fn get(&self, otherwise: usize) -> usize {
        self.total
            .checked_div(self.count)
            .unwrap_or(otherwise)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::LateReport;

    #[test]
    fn the_summary_says_what_was_found_repeated_and_deleted() {
        assert_eq!(
            LateReport::default().summary(),
            "; 0 late record(s) found in 0 stretch(es) read again"
        );
        let report = LateReport {
            stretches: 4,
            found: 3,
            from: vec!["2026-12-08T01:00:00Z/2026-12-08T01:01:00Z (3)".to_owned()],
            repeats: 17,
            deleted: 2,
        };
        assert_eq!(
            report.summary(),
            "; 3 late record(s) found in 4 stretch(es) read again \
             (2026-12-08T01:00:00Z/2026-12-08T01:01:00Z (3)), up to 17 emitted a second time, \
             2 emitted earlier no longer listed (deleted)"
        );
    }
}
