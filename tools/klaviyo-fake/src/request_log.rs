//! The request log: every request as received, with the status answered
//! and when: when it was received, how long the stand-in added before
//! answering, and when the answer went to the connection (so that tests can
//! prove that requests were in flight at the same time).

use std::time::{Duration, Instant};

/// One request as received, rejected ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Raw, as received (still percent-encoded).
    pub path_and_query: String,
    /// Names lower-case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// When the stand-in had read the whole request and decided its answer.
    pub received: Instant,
    /// The delay added before answering: the latency drawn for this request
    /// plus any slow fault's.
    pub latency: Duration,
    /// When the answer (its head; the body follows) was handed to the
    /// connection, after `latency`; `None` while the request waits.
    pub answered: Option<Instant>,
}

impl RecordedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The newest requests, at most `limit` of them.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: Vec<RecordedRequest>,
    limit: usize,
    /// The number of the request at `entries[0]` (requests are numbered
    /// from 0 in the order logged).
    first: u64,
}

/// A logged request's number, for [`RequestLog::answered`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry(u64);

impl RequestLog {
    pub(crate) fn new(limit: usize) -> RequestLog {
        RequestLog {
            entries: Vec::new(),
            limit,
            first: 0,
        }
    }

    /// Appends `r`; a full log first forgets its older half at once, so
    /// that a long benchmark does not shift the whole log per request.
    pub(crate) fn push(&mut self, r: RecordedRequest) -> Entry {
        let len = self.entries.len();
        if len >= self.limit {
            let drop = (len + 1)
                .saturating_sub(self.limit)
                .max(self.limit / 2)
                .min(len);
            self.entries.drain(..drop);
            self.first += drop as u64;
        }
        self.entries.push(r);
        Entry(self.first + self.entries.len() as u64 - 1)
    }

    /// Notes when `entry`'s answer went out (unless it was forgotten since).
    pub(crate) fn answered(&mut self, entry: Entry, at: Instant) {
        let i = entry.0.checked_sub(self.first).map(usize::try_from);
        if let Some(Ok(i)) = i
            && let Some(r) = self.entries.get_mut(i)
        {
            r.answered = Some(at);
        }
    }

    pub(crate) fn entries(&self) -> &[RecordedRequest] {
        &self.entries
    }

    pub(crate) fn clear(&mut self) {
        self.first += self.entries.len() as u64;
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(n: u16) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path_and_query: "/api/lists".into(),
            headers: Vec::new(),
            body: None,
            status: n,
            received: Instant::now(),
            latency: Duration::ZERO,
            answered: None,
        }
    }

    #[test]
    fn answers_find_their_entry_across_trims_and_clears() {
        let mut log = RequestLog::new(4);
        let entries: Vec<Entry> = (0..6).map(|n| log.push(req(n))).collect();
        // The fifth push forgot the oldest two.
        let statuses: Vec<u16> = log.entries().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [2, 3, 4, 5]);
        let t = Instant::now();
        log.answered(entries[0], t);
        log.answered(entries[4], t);
        assert!(
            log.entries()
                .iter()
                .all(|r| r.answered.is_none() || r.status == 4)
        );
        assert_eq!(log.entries()[2].answered, Some(t));
        log.clear();
        let e = log.push(req(9));
        log.answered(entries[5], t);
        assert_eq!(
            log.entries()[0].answered,
            None,
            "a cleared entry is not another's"
        );
        log.answered(e, t);
        assert_eq!(log.entries()[0].answered, Some(t));
    }
}
