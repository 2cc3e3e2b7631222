//! The request log: every request as received, with the status answered.

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
}

impl RequestLog {
    pub fn new(limit: usize) -> RequestLog {
        RequestLog {
            entries: Vec::new(),
            limit,
        }
    }

    /// Appends `r`; a full log first forgets its older half at once, so
    /// that a long benchmark does not shift the whole log per request.
    pub fn push(&mut self, r: RecordedRequest) {
        let len = self.entries.len();
        if len >= self.limit {
            let drop = (len + 1)
                .saturating_sub(self.limit)
                .max(self.limit / 2)
                .min(len);
            self.entries.drain(..drop);
        }
        self.entries.push(r);
    }

    pub fn entries(&self) -> &[RecordedRequest] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
