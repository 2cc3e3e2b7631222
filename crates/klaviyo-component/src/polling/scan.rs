//! Polling a partition whose field Klaviyo cannot filter from a watermark:
//! read the collection (newest first when it can sort, stopping below the
//! watermark), keep the oldest new records in a bounded batch, and emit the
//! batch in ascending order. When more records are new than the batch
//! holds, read again for the next batch: memory stays bounded whatever the
//! collection's size.

use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::value::RawValue;

use super::Poller;
use super::record::Head;
use crate::Error;

/// Records held per batch.
const BATCH_RECORDS: usize = 5_000;

/// Bytes of records held per batch.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Restarts of a read after Klaviyo refused its cursor.
const CURSOR_RESTARTS: u32 = 3;

pub async fn poll(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
    descending: bool,
) -> Result<(), Error> {
    let capacity = p.limit.map_or(BATCH_RECORDS, |l| l as usize);
    let mut restarts = 0;
    loop {
        let batch = match read_batch(p, partition, to, descending, capacity).await {
            Ok(batch) => batch,
            Err(Error::Api(e)) if e.is_cursor_error() && restarts < CURSOR_RESTARTS => {
                restarts += 1;
                tracing::warn!("{e}; reading again (restart {restarts} of {CURSOR_RESTARTS})");
                continue;
            }
            Err(e) => return Err(e),
        };
        let complete = batch.complete;
        for entry in batch.into_sorted() {
            let head = Head {
                id: entry.id,
                at: Some(entry.at),
                unreadable: None,
            };
            p.offer(&head, entry.at, entry.record)?;
        }
        p.checkpoint()?;
        if complete || p.limit_reached() {
            return Ok(());
        }
        tracing::info!("more new records than one batch holds; reading again for the next batch");
    }
}

async fn read_batch(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
    descending: bool,
    capacity: usize,
) -> Result<Batch, Error> {
    let watermark = p.tracker().watermark();
    let url = p.plan.query(
        p.client,
        &p.plan.partitions[partition],
        Some(watermark),
        to,
        descending,
    )?;
    let client = p.client;
    let field = p.plan.field;
    let mut batch = Batch::new(capacity);
    let mut pages = std::pin::pin!(client.pages(url));
    'pages: while let Some(page) = pages.next().await {
        let page = page?;
        let heads = super::heads(&page.records, field)?;
        for (record, head) in page.records.into_iter().zip(heads) {
            let Some(at) = head.at else { continue };
            if at >= to {
                continue;
            }
            if at < watermark {
                if descending {
                    // Newest first: everything after this is older still.
                    break 'pages;
                }
                continue;
            }
            if p.tracker().is_new(at, &head.id) {
                batch.offer(at, head.id, record);
            }
        }
    }
    Ok(batch)
}

struct Entry {
    at: DateTime<Utc>,
    id: String,
    record: Box<RawValue>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, &self.id) == (other.at, &other.id)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, &self.id).cmp(&(other.at, &other.id))
    }
}

/// The oldest new records seen, by (timestamp, id), within a size limit.
struct Batch {
    heap: BinaryHeap<Entry>,
    capacity: usize,
    bytes: usize,
    /// False once a record was left out to stay within the limit.
    complete: bool,
}

impl Batch {
    fn new(capacity: usize) -> Batch {
        Batch {
            heap: BinaryHeap::new(),
            capacity: capacity.max(1),
            bytes: 0,
            complete: true,
        }
    }

    fn offer(&mut self, at: DateTime<Utc>, id: String, record: Box<RawValue>) {
        self.bytes += record.get().len();
        self.heap.push(Entry { at, id, record });
        while self.heap.len() > self.capacity || (self.bytes > BATCH_BYTES && self.heap.len() > 1) {
            if let Some(dropped) = self.heap.pop() {
                self.bytes -= dropped.record.get().len();
                self.complete = false;
            }
        }
    }

    /// Ascending, each (timestamp, id) once: a record read twice (its page
    /// shifted during the read) is emitted once.
    fn into_sorted(self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self.heap.into_sorted_vec();
        entries.dedup_by(|a, b| a == b);
        entries
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).single().expect("valid")
    }

    fn raw(id: &str) -> Box<RawValue> {
        RawValue::from_string(format!("{{\"id\":\"{id}\"}}")).expect("json")
    }

    #[test]
    fn keeps_the_oldest_and_knows_when_it_dropped_some() {
        let mut batch = Batch::new(3);
        for (s, id) in [(5, "e"), (1, "a"), (4, "d"), (1, "a"), (2, "b")] {
            batch.offer(t(s), id.to_owned(), raw(id));
        }
        assert!(!batch.complete);
        let kept: Vec<(i64, String)> = batch
            .into_sorted()
            .into_iter()
            .map(|e| (e.at.timestamp(), e.id))
            .collect();
        assert_eq!(
            kept,
            vec![(1, "a".to_owned()), (2, "b".to_owned())],
            "duplicate a kept once"
        );
    }

    #[test]
    fn complete_when_everything_fits() {
        let mut batch = Batch::new(10);
        batch.offer(t(2), "b".into(), raw("b"));
        batch.offer(t(1), "z".into(), raw("z"));
        batch.offer(t(1), "a".into(), raw("a"));
        assert!(batch.complete);
        let ids: Vec<String> = batch.into_sorted().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec!["a", "z", "b"]);
    }
}
