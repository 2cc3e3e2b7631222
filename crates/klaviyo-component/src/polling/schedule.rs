//! Which reads of a window to make, in which order, and how many at once.
//!
//! A window is cut into slices of time, kept in the order they are
//! emitted. A read of a keyset slice brings its first page and says where
//! that page stopped; what is left of the slice is cut again, into as many
//! pieces as the page's density says it holds pages (at most the reads
//! allowed at once, and at most [`MAX_PAGES_PER_PIECE`] pages each but the
//! last, which holds the rest; fewer where the poller says many readers of
//! large pages would hold more than it keeps ahead), so dense hours get
//! more readers and empty years cost one request. Reads start earliest
//! first, so what is read ahead is what the poller emits next; the
//! earliest slice may always start, so the poller never waits behind
//! slices it cannot emit yet.
//!
//! A partition read in full (no filter on the field) is one read: Klaviyo's
//! cursor is the only way through it.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::read::{End, Start};
use crate::polling::read::Slice;

/// The most pages, by the density of the page just read, that a piece
/// of a slice holds, but for the last, which holds the rest. Every piece
/// ends in a page that is partly empty, half on average, and costs a
/// request all the same: pieces of 16 pages spend 97% of the requests on
/// full pages, and reads of them stay within a few pages per reader of
/// what the poller emits next.
const MAX_PAGES_PER_PIECE: f64 = 16.0;

/// The fewest: pieces of 2 pages still spend 80% of the requests on full
/// pages.
const MIN_PAGES_PER_PIECE: f64 = 2.0;

/// What a node of the schedule reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A slice of a partition, filtered and sorted by Klaviyo.
    Slice(Slice),
    /// A whole partition, read through Klaviyo's cursor.
    Partition {
        partition: usize,
        start: Start,
        to: DateTime<Utc>,
    },
}

impl Work {
    pub fn partition(&self) -> usize {
        match self {
            Work::Slice(s) => s.partition,
            Work::Partition { partition, .. } => *partition,
        }
    }
}

/// A read's place in the order of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unread,
    Reading,
    /// The read ended; what it left was scheduled.
    Ended,
    /// The read failed.
    Failed,
}

#[derive(Debug)]
struct Node {
    id: NodeId,
    work: Work,
    status: Status,
}

#[derive(Debug)]
pub struct Schedule {
    nodes: VecDeque<Node>,
    next_id: u64,
    reading: usize,
    max_reading: usize,
    /// Pages a piece holds at most, but for the last.
    pages_per_piece: f64,
}

impl Schedule {
    /// A schedule of `work`, in output order, reading at most
    /// `max_reading` at once (besides the earliest).
    pub fn new(max_reading: usize, work: impl IntoIterator<Item = Work>) -> Schedule {
        let mut schedule = Schedule {
            nodes: VecDeque::new(),
            next_id: 0,
            reading: 0,
            max_reading: max_reading.max(1),
            pages_per_piece: MAX_PAGES_PER_PIECE,
        };
        for w in work {
            let node = schedule.node(w);
            schedule.nodes.push_back(node);
        }
        schedule
    }

    /// Read at most `max_reading` at once from now on (besides the
    /// earliest): as many as the rate limit can use at the latency seen.
    pub fn set_max_reading(&mut self, max_reading: usize) {
        self.max_reading = max_reading.max(1);
    }

    /// Cut pieces of at most `pages` pages from now on (within
    /// [`MIN_PAGES_PER_PIECE`] and [`MAX_PAGES_PER_PIECE`]). The output
    /// waits for the piece it reaches, read page after page, while the
    /// pieces after it are read at once and held: many readers on long
    /// pieces hold more than memory allows, and then wait.
    pub fn set_pages_per_piece(&mut self, pages: f64) {
        self.pages_per_piece = pages.clamp(MIN_PAGES_PER_PIECE, MAX_PAGES_PER_PIECE);
    }

    fn node(&mut self, work: Work) -> Node {
        self.next_id += 1;
        Node {
            id: NodeId(self.next_id),
            work,
            status: Status::Unread,
        }
    }

    /// Nodes read or being read whose records the poller has not taken yet.
    pub fn outstanding(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.status != Status::Unread)
            .count()
    }

    /// The next read to start: the earliest unread node, when it is the
    /// head or `room` allows one more read ahead; after a failure, only
    /// one before the failed node, whose records the output still reaches.
    pub fn next_read(&mut self, room: bool) -> Option<(NodeId, Work)> {
        let index = self.nodes.iter().position(|n| n.status == Status::Unread)?;
        if self
            .nodes
            .iter()
            .take(index)
            .any(|n| n.status == Status::Failed)
        {
            return None;
        }
        if index > 0 && (!room || self.reading >= self.max_reading) {
            return None;
        }
        let node = &mut self.nodes[index];
        node.status = Status::Reading;
        self.reading += 1;
        Some((node.id, node.work.clone()))
    }

    /// The node the poller emits from now, and its status.
    pub fn head(&self) -> Option<(NodeId, usize, Status)> {
        self.nodes
            .front()
            .map(|n| (n.id, n.work.partition(), n.status))
    }

    /// The head's records are all emitted.
    pub fn pop_head(&mut self) {
        self.nodes.pop_front();
    }

    /// The read of `id` failed: no read after it starts, and the poller
    /// stops when it reaches it. What is left before it is still read,
    /// so the output gets as far as the order allows.
    pub fn failed(&mut self, id: NodeId) {
        if let Some(node) = self.find(id) {
            node.status = Status::Failed;
            self.reading -= 1;
        }
    }

    /// The read of `id` ended with `end`: schedule what it left.
    pub fn ended(&mut self, id: NodeId, end: End) {
        let Some(index) = self.nodes.iter().position(|n| n.id == id) else {
            return;
        };
        self.nodes[index].status = Status::Ended;
        self.reading -= 1;
        let (End::More { first, last }, Work::Slice(slice)) = (end, self.nodes[index].work.clone())
        else {
            return;
        };
        let (pieces, length) = self.pieces(first, last, slice.to);
        let rest: Vec<Node> = cut(slice, last, pieces, length)
            .into_iter()
            .map(|s| self.node(Work::Slice(s)))
            .collect();
        for (offset, node) in rest.into_iter().enumerate() {
            self.nodes.insert(index + 1 + offset, node);
        }
    }

    /// How to cut the rest up to `to` after a full page of records from
    /// `first` to `last`: into as many pieces as its density says the rest
    /// holds pages, but no more than the reads that can start now (when
    /// all may not start, more pieces would only mean more half-full
    /// pages: the rest is then read on, full page after full page). Pieces
    /// hold at most [`MAX_PAGES_PER_PIECE`] pages, the last one excepted,
    /// which holds the rest of the slice: the reads stay close to what the
    /// poller emits next, and what is read ahead stays small however large
    /// the window. Returns the pieces and the length of all but the last.
    fn pieces(
        &self,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> (usize, Option<Duration>) {
        let covered = (last - first).max(Duration::seconds(1));
        let rest = to - last;
        let pages = (rest.num_milliseconds() as f64 / covered.num_milliseconds() as f64).ceil();
        let free = self.max_reading.saturating_sub(self.reading);
        let pieces = (pages as usize).clamp(1, free.max(1));
        if pages / pieces as f64 <= self.pages_per_piece {
            return (pieces, None);
        }
        let length = covered.num_milliseconds() as f64 * self.pages_per_piece;
        (pieces, Some(Duration::milliseconds(length as i64)))
    }

    fn find(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }
}

/// `[last, slice.to)` in `pieces` slices, on whole seconds (Klaviyo's
/// filters take whole seconds: a bound inside a second would leave part of
/// it to neither side): of about equal length, or, given a `length`, all
/// but the last of that length and the last to the end. The first starts
/// at `last`, whose records may go on past the page that reached it.
pub fn cut(
    slice: Slice,
    last: DateTime<Utc>,
    pieces: usize,
    length: Option<Duration>,
) -> Vec<Slice> {
    let from = last.timestamp();
    let to = slice.to.timestamp();
    // Whole seconds strictly between `last`'s second and the end.
    let inner = (to - from - 1).max(0) as usize;
    let pieces = pieces.clamp(1, inner + 1);
    let step = |i: usize| -> i64 {
        match length {
            Some(length) => from + (length.num_seconds().max(1) as i128 * i as i128) as i64,
            None => from + ((to - from) as i128 * i as i128 / pieces as i128) as i64,
        }
    };
    let mut bounds = vec![last];
    for i in 1..pieces {
        if let Some(at) = DateTime::from_timestamp(step(i), 0)
            && at > *bounds.last().unwrap_or(&last)
            && at < slice.to
        {
            bounds.push(at);
        }
    }
    bounds.push(slice.to);
    bounds
        .windows(2)
        .map(|w| Slice {
            partition: slice.partition,
            from: w[0],
            to: w[1],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).single().expect("valid")
    }

    fn slice(from: i64, to: i64) -> Slice {
        Slice {
            partition: 0,
            from: t(from),
            to: t(to),
        }
    }

    /// Start the first read of `s`, its head, and end it with a full page
    /// of records from `first` to `last`.
    fn full_first_page(s: &mut Schedule, first: i64, last: i64) {
        let (root, _) = s.next_read(false).expect("the head starts");
        s.ended(
            root,
            End::More {
                first: t(first),
                last: t(last),
            },
        );
    }

    fn spans(slices: &[Slice]) -> Vec<(i64, i64)> {
        slices
            .iter()
            .map(|s| (s.from.timestamp(), s.to.timestamp()))
            .collect()
    }

    #[test]
    fn cuts_fall_on_whole_seconds_and_cover_the_rest_exactly() {
        assert_eq!(
            spans(&cut(slice(0, 100), t(20), 4, None)),
            vec![(20, 40), (40, 60), (60, 80), (80, 100)]
        );
        assert_eq!(spans(&cut(slice(0, 100), t(20), 1, None)), vec![(20, 100)]);
        // No more pieces than whole seconds.
        assert_eq!(
            spans(&cut(slice(0, 23), t(20), 8, None)),
            vec![(20, 21), (21, 22), (22, 23)]
        );
        assert_eq!(spans(&cut(slice(0, 21), t(20), 8, None)), vec![(20, 21)]);
        // A last record inside a second: the first piece starts there, the
        // others on whole seconds.
        let within = Utc.timestamp_opt(20, 500_000_000).single().expect("valid");
        let pieces = cut(slice(0, 30), within, 2, None);
        assert_eq!(pieces[0].from, within);
        assert_eq!(pieces[1].from, t(25));
        assert_eq!(pieces[1].to, t(30));
    }

    #[test]
    fn reads_start_earliest_first_and_the_head_may_always_start() {
        let mut s = Schedule::new(2, [Work::Slice(slice(0, 1000))]);
        let (root, _) = s.next_read(false).expect("the head starts without room");
        assert!(s.next_read(true).is_none(), "nothing else yet");
        // The first page covered 10 s of a 1000 s slice: dense, cut into
        // as many pieces as may be read at once, the first of 16 pages
        // (160 s), the last with the rest.
        s.ended(
            root,
            End::More {
                first: t(0),
                last: t(10),
            },
        );
        let (a, wa) = s.next_read(true).expect("a");
        let (b, wb) = s.next_read(true).expect("b");
        assert!(s.next_read(true).is_none(), "two at once");
        assert_eq!(wa, Work::Slice(slice(10, 170)));
        assert_eq!(wb, Work::Slice(slice(170, 1000)));
        // With every read busy, a full page's rest is not cut: it is read
        // on in full pages.
        let mut busy = Schedule::new(1, [Work::Slice(slice(0, 1000))]);
        let (r, _) = busy.next_read(false).expect("root");
        busy.ended(
            r,
            End::More {
                first: t(0),
                last: t(10),
            },
        );
        busy.pop_head();
        let (_, rest) = busy.next_read(false).expect("the rest");
        assert_eq!(rest, Work::Slice(slice(10, 1000)), "one piece");
        assert_eq!(s.head().map(|h| h.2), Some(Status::Ended));
        s.pop_head();
        // The later piece ends first, complete; the earlier goes on.
        s.ended(b, End::Complete);
        s.ended(
            a,
            End::More {
                first: t(10),
                last: t(150),
            },
        );
        assert_eq!(s.head(), Some((a, 0, Status::Ended)));
        s.pop_head();
        let (c, wc) = s.next_read(true).expect("the rest of a");
        assert_eq!(wc, Work::Slice(slice(150, 170)));
        assert_eq!(s.head().map(|h| h.0), Some(c));
    }

    #[test]
    fn a_large_rest_is_cut_near_its_start_and_the_far_part_left_whole() {
        // 10 s per page and a year left: four pieces of 16 pages near the
        // start, and one for the rest of the year, cut again when read.
        let year = 365 * 24 * 3600;
        let mut s = Schedule::new(5, [Work::Slice(slice(0, year))]);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        let mut pieces = Vec::new();
        while let Some((_, Work::Slice(piece))) = s.next_read(true) {
            pieces.push(piece);
        }
        assert_eq!(
            spans(&pieces),
            vec![(10, 170), (170, 330), (330, 490), (490, 650), (650, year)]
        );
        // Given a length: pieces of it, the last to the end.
        assert_eq!(
            spans(&cut(slice(0, 100), t(20), 3, Some(Duration::seconds(30)))),
            vec![(20, 50), (50, 80), (80, 100)]
        );
    }

    #[test]
    fn many_readers_on_large_pages_get_shorter_pieces() {
        // The same year, with pieces of 4 pages: what many readers can hold
        // ahead of the output; and never below 2 pages.
        let year = 365 * 24 * 3600;
        let four = vec![(10, 50), (50, 90), (90, 130), (130, 170), (170, year)];
        let two = vec![(10, 30), (30, 50), (50, 70), (70, 90), (90, year)];
        for (asked, expected) in [(4.0, four), (0.5, two)] {
            let mut s = Schedule::new(5, [Work::Slice(slice(0, year))]);
            s.set_pages_per_piece(asked);
            full_first_page(&mut s, 0, 10);
            s.pop_head();
            let mut pieces = Vec::new();
            while let Some((_, Work::Slice(piece))) = s.next_read(true) {
                pieces.push(piece);
            }
            assert_eq!(spans(&pieces), expected, "{asked} pages asked");
        }
    }

    #[test]
    fn sparse_ranges_are_not_cut() {
        let mut s = Schedule::new(8, [Work::Slice(slice(0, 100))]);
        // The page covered 90 s and 10 s are left: about one more page.
        full_first_page(&mut s, 0, 90);
        s.pop_head();
        let (_, w) = s.next_read(true).expect("rest");
        assert_eq!(w, Work::Slice(slice(90, 100)));
        assert!(s.next_read(true).is_none());
    }

    #[test]
    fn fewer_reads_at_once_mean_fewer_pieces() {
        // The rate limit can use two reads at the latency seen: a dense
        // page's rest is cut in two, not eight.
        let mut s = Schedule::new(8, [Work::Slice(slice(0, 1000))]);
        s.set_max_reading(2);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        assert!(s.next_read(true).is_some());
        assert!(s.next_read(true).is_some());
        assert!(s.next_read(true).is_none(), "two at once");
    }

    #[test]
    fn without_room_only_the_head_is_read() {
        let mut s = Schedule::new(8, [Work::Slice(slice(0, 1000))]);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        assert!(s.next_read(false).is_some(), "the new head");
        assert!(s.next_read(false).is_none(), "no room for more");
        assert_eq!(s.outstanding(), 1);
    }

    #[test]
    fn a_failure_stops_new_reads_after_it() {
        let mut s = Schedule::new(4, [Work::Slice(slice(0, 1000))]);
        full_first_page(&mut s, 0, 10);
        let (a, _) = s.next_read(true).expect("a");
        let (b, Work::Slice(failed)) = s.next_read(true).expect("b") else {
            panic!("a slice");
        };
        s.failed(b);
        assert!(s.next_read(true).is_none(), "nothing after b starts");
        // What a leaves lies before b: the output still needs it.
        s.ended(
            a,
            End::More {
                first: t(10),
                last: t(20),
            },
        );
        let mut before = Vec::new();
        while let Some((_, Work::Slice(rest))) = s.next_read(true) {
            before.push(rest);
        }
        assert!(!before.is_empty(), "the rest of a is read");
        assert!(before.iter().all(|r| r.to <= failed.from), "{before:?}");
        while s.head().is_some_and(|h| h.0 != b) {
            s.pop_head();
        }
        assert_eq!(s.head().map(|h| h.2), Some(Status::Failed));
    }
}
