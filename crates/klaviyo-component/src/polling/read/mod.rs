//! Reading a collection for the trigger.
//!
//! A reader gets a narrow request — a partition, from where, up to where —
//! and sends back the records it read, in ascending order of the polled
//! field. It never sees what was emitted, the output or the snapshot: the
//! poller decides what is new, emits and saves progress. Readers run as
//! their own tasks, several at once, so that while the poller writes one
//! page the next ones are already on their way.

mod keyset;
mod scan;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use url::Url;

pub(super) use self::keyset::{Slice, read_slice};
pub(super) use self::scan::read_partition;
use super::plan::{Plan, Query};
use super::record;
use super::tracker::id_hash;
use crate::Error;
use crate::client::Client;

/// What every reader reads with.
pub(super) struct Source {
    pub client: Arc<Client>,
    pub plan: Arc<Plan>,
    /// How long Klaviyo may take to list a change (the poll lag).
    pub visibility_lag: chrono::Duration,
}

/// One record as read: its id, the second of the polled field, and the
/// record itself, untouched.
#[derive(Debug)]
pub(super) struct Record {
    pub id: String,
    /// The polled field's value to the second: Klaviyo filters by whole
    /// seconds, and sorts records within a second in no order of their
    /// fractions, so the trigger places records in time by their second.
    pub at: DateTime<Utc>,
    pub raw: Box<RawValue>,
}

/// Records a reader hands over at once, in ascending order of the polled
/// field: one page, or one batch of a full read.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    pub records: Vec<Record>,
}

impl Chunk {
    /// The bytes of the records held, for the poller's memory budget.
    pub(super) fn bytes(&self) -> usize {
        self.records.iter().map(|r| r.raw.get().len()).sum()
    }
}

/// Where to start: after the records already emitted, which are those
/// before `at` and those at exactly `at` whose id hashes are in `emitted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Start {
    pub at: DateTime<Utc>,
    pub emitted: HashSet<u64>,
}

impl Start {
    pub(super) fn at(at: DateTime<Utc>) -> Start {
        Start {
            at,
            emitted: HashSet::new(),
        }
    }

    /// Whether `record` was not emitted before this start.
    fn is_new(&self, record: &Record) -> bool {
        record.at > self.at
            || (record.at == self.at && !self.emitted.contains(&id_hash(&record.id)))
    }
}

/// How a reader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Everything it was asked for was sent.
    Complete,
    /// What lies from `last` to the end of the range is left for other
    /// reads; the page read held records from `first` to `last`, which says
    /// how dense the rest may be.
    More {
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    },
}

/// Where a reader sends its chunks. A closed channel means the poller
/// stopped and needs no more: the reader then ends quietly.
pub(super) type ChunkSender = mpsc::Sender<Chunk>;

/// One page of records with a readable polled field, and where the next
/// page is.
struct Fetched {
    records: Vec<Record>,
    next: Option<Url>,
}

impl Fetched {
    /// The ids of the first and last record, as [`Cursor`] wants them.
    ///
    /// [`Cursor`]: crate::client::Cursor
    fn ends(&self) -> Option<(&str, &str)> {
        let first = self.records.first()?;
        let last = self.records.last()?;
        Some((&first.id, &last.id))
    }

    /// Whether a record lies after `at`.
    fn passes(&self, at: DateTime<Utc>) -> bool {
        self.records.iter().any(|r| r.at > at)
    }

    /// Whether a record lies at or after `to`: then everything before
    /// `to` is on this page (the page is sorted).
    fn reaches(&self, to: DateTime<Utc>) -> bool {
        self.records.iter().any(|r| r.at >= to)
    }
}

impl Source {
    /// The URL of `query`.
    fn url(&self, query: &Query) -> Url {
        self.client.url(query.path, &query.pairs())
    }

    /// GET one page and read each record's id and polled field once.
    /// Records whose field is missing or no timestamp are left out: they
    /// cannot be placed in time.
    async fn fetch(&self, url: &Url) -> Result<Fetched, Error> {
        let page = self.client.get_page(url).await?;
        let field = self.plan.field;
        let mut records = Vec::with_capacity(page.records.len());
        for raw in page.records {
            let head = record::head(&raw, field)?;
            match head.at {
                Some(at) => records.push(Record {
                    id: head.id,
                    at: crate::time::floor_seconds(at),
                    raw,
                }),
                None => {
                    if let Some(text) = &head.unreadable {
                        tracing::warn!(
                            "record {} has {field} = {text:?}, which is not a timestamp; it is skipped",
                            head.id
                        );
                    }
                }
            }
        }
        Ok(Fetched {
            records,
            next: page.next,
        })
    }
}

/// Send `chunk` unless it is empty. False when the poller is gone.
async fn send(out: &ChunkSender, chunk: Chunk) -> bool {
    chunk.records.is_empty() || out.send(chunk).await.is_ok()
}
