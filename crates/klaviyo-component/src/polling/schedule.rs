//! Which reads of a window to make, in which order, and how many at once.
//!
//! A window is cut into slices of time, kept in the order they are
//! emitted. A read of a keyset slice brings its first page and says where
//! that page stopped; what is left of the slice stays one slice, which
//! remembers how long a full page's records lasted there. Pieces are cut
//! from the front of such a slice only when a read can start, each as long
//! as the poller says a piece should be (in pages, by that density: short
//! where many reads at once would hold more than the poller keeps ahead,
//! up to [`MAX_PAGES_PER_PIECE`] where few read); what is left stays
//! unread, to be cut when the next reader is free. So the reads in flight
//! lie next to each other just ahead of what the poller emits, each
//! started as soon as a reader was free, and the chain of pages a piece
//! needs stays as short as the memory allows; dense hours get more pieces
//! and empty years cost one request. Where one read at a time is all the
//! rate limit can use, nothing is cut: the window is read on in full
//! pages, since more pieces would only end in more partly empty pages. Reads start earliest
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

/// The most pages a piece is cut to hold. Every piece ends in a page that
/// is partly empty and costs a request all the same: pieces this long
/// spend 96% of their requests on full pages.
const MAX_PAGES_PER_PIECE: usize = 16;

/// How much of a page less than its whole pages a piece is cut to hold:
/// the records of a piece vary around what the page before said (by 7% of
/// a page, measured on 300,000 events), and a piece cut to a whole page
/// spills onto a second, nearly empty one about half the time, which costs
/// a request and makes the output wait one more answer for it. A fifth of
/// a page spare keeps that to about one piece in a hundred.
const PIECE_SPARE: f64 = 0.2;

/// A slice is cut only when what is left after the piece is at least this
/// share of a piece; a shorter rest is read with it.
const SMALLEST_REST: f64 = 0.5;

/// What a node of the schedule reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Work {
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
    pub(super) fn partition(&self) -> usize {
        match self {
            Work::Slice(s) => s.partition,
            Work::Partition { partition, .. } => *partition,
        }
    }
}

/// A read's place in the order of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct NodeId(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Unread,
    Reading,
    /// The read ended; what it left was scheduled.
    Ended,
    /// The read failed.
    Failed,
}

/// The node the poller emits from: which read, of which partition, and
/// how far that read got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub id: NodeId,
    pub partition: usize,
    pub status: Status,
}

#[derive(Debug)]
struct Node {
    id: NodeId,
    work: Work,
    status: Status,
    /// How long a full page's records lasted where this slice was cut:
    /// unknown until a page of the slice it comes from was read.
    page_span: Option<Duration>,
}

#[derive(Debug)]
pub(super) struct Schedule {
    nodes: VecDeque<Node>,
    next_id: u64,
    reading: usize,
    max_reading: usize,
    /// Pages a piece is cut to hold (see [`PIECE_SPARE`]).
    pages_per_piece: f64,
}

impl Schedule {
    /// A schedule of `work`, in output order, reading at most
    /// `max_reading` at once (besides the earliest).
    pub(super) fn new(max_reading: usize, work: impl IntoIterator<Item = Work>) -> Schedule {
        let mut schedule = Schedule {
            nodes: VecDeque::new(),
            next_id: 0,
            reading: 0,
            max_reading: max_reading.max(1),
            pages_per_piece: MAX_PAGES_PER_PIECE as f64 - PIECE_SPARE,
        };
        for w in work {
            let node = schedule.node(w, None);
            schedule.nodes.push_back(node);
        }
        schedule
    }

    /// Read at most `max_reading` at once from now on (besides the
    /// earliest): as many as the rate limit can use at the latency seen.
    pub(super) fn set_max_reading(&mut self, max_reading: usize) {
        self.max_reading = max_reading.max(1);
    }

    /// Cut pieces that hold at most `pages` pages from now on: what each
    /// reader may hold ahead of the output: its whole pages (at least one,
    /// at most [`MAX_PAGES_PER_PIECE`]) less [`PIECE_SPARE`].
    pub(super) fn set_pages_per_piece(&mut self, pages: f64) {
        let whole = if pages.is_finite() {
            (pages.floor() as usize).clamp(1, MAX_PAGES_PER_PIECE)
        } else {
            MAX_PAGES_PER_PIECE
        };
        self.pages_per_piece = whole as f64 - PIECE_SPARE;
    }

    fn node(&mut self, work: Work, page_span: Option<Duration>) -> Node {
        self.next_id += 1;
        Node {
            id: NodeId(self.next_id),
            work,
            status: Status::Unread,
            page_span,
        }
    }

    /// Nodes read or being read whose records the poller has not taken yet.
    pub(super) fn outstanding(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.status != Status::Unread)
            .count()
    }

    /// The next read to start: the earliest unread node, when it is the
    /// head or `room` allows one more read ahead; after a failure, only
    /// one before the failed node, whose records the output still reaches.
    /// A long slice is cut first, unless one read at a time is all there
    /// is: then it is read on in full pages.
    pub(super) fn next_read(&mut self, room: bool) -> Option<(NodeId, Work)> {
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
        if self.max_reading > 1 {
            self.carve(index);
        }
        let node = &mut self.nodes[index];
        node.status = Status::Reading;
        self.reading += 1;
        Some((node.id, node.work.clone()))
    }

    /// Cut a piece from the front of the slice at `index`, when its density
    /// is known and it is long enough to leave a rest worth a read.
    fn carve(&mut self, index: usize) {
        let node = &self.nodes[index];
        let (Work::Slice(slice), Some(span)) = (&node.work, node.page_span) else {
            return;
        };
        let piece = span.num_milliseconds() as f64 * self.pages_per_piece;
        let length = (slice.to - slice.from).num_milliseconds() as f64;
        if length < piece * (1.0 + SMALLEST_REST) {
            return;
        }
        // On whole seconds: Klaviyo's filters take whole seconds, and a
        // bound inside a second would leave part of it to neither side.
        let at = (slice.from + Duration::milliseconds(piece as i64))
            .timestamp()
            .max(slice.from.timestamp() + 1);
        let Some(at) = DateTime::from_timestamp(at, 0).filter(|at| *at < slice.to) else {
            return;
        };
        let (front, rest) = (Slice { to: at, ..*slice }, Slice { from: at, ..*slice });
        self.nodes[index].work = Work::Slice(front);
        let rest = self.node(Work::Slice(rest), Some(span));
        self.nodes.insert(index + 1, rest);
    }

    /// The node the poller emits from now.
    pub(super) fn head(&self) -> Option<Head> {
        self.nodes.front().map(|n| Head {
            id: n.id,
            partition: n.work.partition(),
            status: n.status,
        })
    }

    /// The head's records are all emitted.
    pub(super) fn pop_head(&mut self) {
        self.nodes.pop_front();
    }

    /// The read of `id` failed: no read after it starts, and the poller
    /// stops when it reaches it. What is left before it is still read,
    /// so the output gets as far as the order allows.
    pub(super) fn failed(&mut self, id: NodeId) {
        if let Some(node) = self.find(id) {
            node.status = Status::Failed;
            self.reading -= 1;
        }
    }

    /// The read of `id` ended with `end`: what it left of its slice is one
    /// slice after it, which knows how long the page just read lasted.
    pub(super) fn ended(&mut self, id: NodeId, end: End) {
        let Some(index) = self.nodes.iter().position(|n| n.id == id) else {
            return;
        };
        self.nodes[index].status = Status::Ended;
        self.reading -= 1;
        let (End::More { first, last }, Work::Slice(slice)) = (end, &self.nodes[index].work) else {
            return;
        };
        let rest = Slice {
            from: last,
            ..*slice
        };
        let span = (last - first).max(Duration::seconds(1));
        let node = self.node(Work::Slice(rest), Some(span));
        self.nodes.insert(index + 1, node);
    }

    fn find(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }
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

    /// Every read that may start now, as (from, to) in seconds.
    fn start_all(s: &mut Schedule) -> Vec<(i64, i64)> {
        let mut started = Vec::new();
        while let Some((_, work)) = s.next_read(true) {
            let Work::Slice(piece) = work else {
                panic!("a slice");
            };
            started.push((piece.from.timestamp(), piece.to.timestamp()));
        }
        started
    }

    #[test]
    fn pieces_fall_on_whole_seconds_and_follow_each_other() {
        // A page lasted 10 s; pieces of one page are cut to 0.8 of one: 8 s.
        let mut s = Schedule::new(3, [Work::Slice(slice(0, 100))]);
        s.set_pages_per_piece(1.0);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        assert_eq!(start_all(&mut s), vec![(10, 18), (18, 26), (26, 34)]);
        // What is left waits, uncut, for the next free reader.
        assert_eq!(
            s.nodes.back().map(|n| n.work.clone()),
            Some(Work::Slice(slice(34, 100)))
        );
        // A page that lasted a second: pieces of a whole second, never less.
        let mut s = Schedule::new(3, [Work::Slice(slice(0, 100))]);
        s.set_pages_per_piece(1.0);
        full_first_page(&mut s, 5, 5);
        s.pop_head();
        assert_eq!(start_all(&mut s), vec![(5, 6), (6, 7), (7, 8)]);
    }

    #[test]
    fn reads_start_earliest_first_and_the_head_may_always_start() {
        let mut s = Schedule::new(2, [Work::Slice(slice(0, 1000))]);
        let (root, _) = s.next_read(false).expect("the head starts without room");
        assert!(s.next_read(true).is_none(), "nothing else yet");
        // The first page covered 10 s of a 1000 s slice: pieces of 16
        // pages less a fifth of one, 158 s, as many as may be read at once.
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
        assert_eq!(wa, Work::Slice(slice(10, 168)));
        assert_eq!(wb, Work::Slice(slice(168, 326)));
        assert_eq!(s.head().map(|h| h.status), Some(Status::Ended));
        s.pop_head();
        // The later piece ends first, complete; the earlier goes on.
        s.ended(b, End::Complete);
        s.ended(
            a,
            End::More {
                first: t(10),
                last: t(160),
            },
        );
        assert_eq!(
            s.head(),
            Some(Head {
                id: a,
                partition: 0,
                status: Status::Ended
            })
        );
        s.pop_head();
        let (c, wc) = s.next_read(true).expect("the rest of a");
        assert_eq!(wc, Work::Slice(slice(160, 168)));
        assert_eq!(s.head().map(|h| h.id), Some(c));
        // Then the next piece of what nobody read yet.
        let (_, wd) = s.next_read(true).expect("d");
        assert_eq!(wd, Work::Slice(slice(326, 484)));
    }

    #[test]
    fn one_read_at_a_time_reads_on_in_full_pages() {
        // The rate limit can use one read at a time: more pieces would
        // only end in more partly empty pages.
        let mut s = Schedule::new(1, [Work::Slice(slice(0, 1000))]);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        let (_, rest) = s.next_read(false).expect("the rest");
        assert_eq!(rest, Work::Slice(slice(10, 1000)), "one piece");
    }

    #[test]
    fn a_free_reader_cuts_the_next_piece_without_waiting_for_a_page() {
        // 10 s per page and a year left: five pieces near the start, the
        // rest of the year left unread; a reader that is done takes the
        // next piece at once.
        let year = 365 * 24 * 3600;
        let mut s = Schedule::new(5, [Work::Slice(slice(0, year))]);
        full_first_page(&mut s, 0, 10);
        s.pop_head();
        let mut ids = Vec::new();
        while let Some((id, _)) = s.next_read(true) {
            ids.push(id);
        }
        assert_eq!(ids.len(), 5);
        s.ended(ids[0], End::Complete);
        s.pop_head();
        assert_eq!(start_all(&mut s), vec![(800, 958)]);
    }

    #[test]
    fn many_readers_on_large_pages_get_shorter_pieces() {
        // What each reader may hold ahead of the output, in whole pages,
        // less a fifth of one: 4 pages are 38 s here; never less than one
        // page, never more than 16.
        for (asked, first) in [(4.5, (10, 48)), (0.5, (10, 18)), (100.0, (10, 168))] {
            let mut s = Schedule::new(5, [Work::Slice(slice(0, 100_000))]);
            s.set_pages_per_piece(asked);
            full_first_page(&mut s, 0, 10);
            s.pop_head();
            assert_eq!(start_all(&mut s)[0], first, "{asked} pages asked");
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
        // The rate limit can use two reads at the latency seen: two pieces
        // go, not eight.
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
        while s.head().is_some_and(|h| h.id != b) {
            s.pop_head();
        }
        assert_eq!(s.head().map(|h| h.status), Some(Status::Failed));
    }
}
