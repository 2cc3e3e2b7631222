//! What has been emitted, in a form that fits in a snapshot: everything
//! before the watermark, plus the records exactly at it.

use std::collections::HashSet;
use std::hash::Hasher;

use chrono::{DateTime, Utc};
use fnv::FnvHasher;

/// Records arrive in ascending order of the polled field. The tracker
/// remembers the highest value emitted (the watermark) and which records
/// carry exactly that value, so a record is emitted once even when queries
/// overlap at the watermark, and never again after a restart from a
/// snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tracker {
    watermark: DateTime<Utc>,
    /// Hashes of the ids emitted at exactly the watermark.
    seen: HashSet<u64>,
}

impl Tracker {
    /// Nothing before `start` is wanted, nothing at or after it emitted yet.
    pub(super) fn new(start: DateTime<Utc>) -> Tracker {
        Tracker {
            watermark: start,
            seen: HashSet::new(),
        }
    }

    /// Rebuild from a snapshot.
    pub(super) fn resume(watermark: DateTime<Utc>, seen: impl IntoIterator<Item = u64>) -> Tracker {
        Tracker {
            watermark,
            seen: seen.into_iter().collect(),
        }
    }

    pub(super) fn watermark(&self) -> DateTime<Utc> {
        self.watermark
    }

    /// The ids at the watermark, as hashes.
    pub(super) fn seen(&self) -> impl Iterator<Item = u64> + '_ {
        self.seen.iter().copied()
    }

    pub(super) fn seen_len(&self) -> usize {
        self.seen.len()
    }

    /// Record that `id` at `at` is being emitted; false when it already was
    /// (or lies before the watermark). Callers emit in ascending order.
    pub(super) fn admit(&mut self, at: DateTime<Utc>, id: &str) -> bool {
        if at < self.watermark {
            return false;
        }
        let hash = id_hash(id);
        if at > self.watermark {
            self.watermark = at;
            self.seen.clear();
        }
        self.seen.insert(hash)
    }
}

/// A 64-bit FNV-1a hash of an id: short enough that a few hundred fit in the
/// platform's 5 KB snapshot, stable across versions of the component.
pub(super) fn id_hash(id: &str) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(id.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid")
    }

    #[test]
    fn emits_each_version_once_in_ascending_order() {
        let mut tracker = Tracker::new(t(100));
        assert!(!tracker.admit(t(99), "a"), "before the start");
        assert!(tracker.admit(t(100), "a"), "exactly at the start is wanted");
        assert!(!tracker.admit(t(100), "a"), "already emitted");
        assert!(tracker.admit(t(100), "b"));
        assert!(tracker.admit(t(105), "a"), "a newer version of a");
        assert!(
            !tracker.clone().admit(t(100), "b"),
            "behind the watermark now"
        );
        assert!(!tracker.admit(t(105), "a"));
        assert!(tracker.clone().admit(t(105), "c"));
        assert_eq!(tracker.watermark(), t(105));
        assert_eq!(tracker.seen_len(), 1);
    }

    #[test]
    fn resumes_from_what_a_snapshot_kept() {
        let mut original = Tracker::new(t(0));
        original.admit(t(7), "x");
        original.admit(t(7), "y");
        let resumed = Tracker::resume(original.watermark(), original.seen().collect::<Vec<_>>());
        assert_eq!(resumed, original);
        assert!(!resumed.clone().admit(t(7), "x"));
        assert!(resumed.clone().admit(t(7), "z"));
    }

    #[test]
    fn hashes_are_stable() {
        assert_eq!(id_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(
            id_hash("01GDDKASAP8TKDDA2GRZDSVP4H"),
            id_hash("01GDDKASAP8TKDDA2GRZDSVP4H")
        );
        assert_ne!(id_hash("a"), id_hash("b"));
    }
}
