//! Reading a partition whose field Klaviyo cannot filter from a watermark:
//! read the collection (newest first when it can sort, stopping below the
//! start), keep the oldest new records in a bounded batch, and send the
//! batch in ascending order. When more records are new than the batch
//! holds, read again for the next batch: memory stays bounded whatever the
//! collection's size. Klaviyo's cursor is the only way through such a
//! collection, so one partition is read by one reader, page after page.

use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::{Chunk, ChunkSender, End, Record, Source, Start, send};
use crate::Error;
use crate::client::Cursor;
use crate::polling::plan::Strategy;
use crate::polling::tracker::id_hash;

/// Records held per batch.
const BATCH_RECORDS: usize = 5_000;

/// Bytes of records held per batch.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Restarts of a read after Klaviyo refused its cursor.
const CURSOR_RESTARTS: u32 = 3;

/// Read the records of `partition` after `start` and before `to`, in
/// batches of at most `capacity` records, sending each batch.
pub(crate) async fn read_partition(
    src: &Source,
    partition: usize,
    mut start: Start,
    to: DateTime<Utc>,
    capacity: usize,
    out: &ChunkSender,
) -> Result<End, Error> {
    let capacity = capacity.clamp(1, BATCH_RECORDS);
    let mut restarts = 0;
    loop {
        let batch = match read_batch(src, partition, &start, to, capacity).await {
            Ok(batch) => batch,
            Err(Error::Api(e)) if e.is_cursor_error() && restarts < CURSOR_RESTARTS => {
                restarts += 1;
                tracing::warn!("{e}; reading again (restart {restarts} of {CURSOR_RESTARTS})");
                continue;
            }
            Err(e) => return Err(e),
        };
        let complete = batch.complete;
        let records = batch.into_sorted();
        let next = records.last().map(|last| {
            let at = last.at;
            let mut emitted = if at == start.at {
                std::mem::take(&mut start.emitted)
            } else {
                Default::default()
            };
            emitted.extend(
                records
                    .iter()
                    .filter(|r| r.at == at)
                    .map(|r| id_hash(&r.id)),
            );
            Start { at, emitted }
        });
        if !send(out, Chunk { records }).await {
            return Ok(End::Complete);
        }
        match next {
            Some(next) if !complete => {
                tracing::info!(
                    "more new records than one batch holds; reading again for the next batch"
                );
                start = next;
            }
            _ => return Ok(End::Complete),
        }
    }
}

async fn read_batch(
    src: &Source,
    partition: usize,
    start: &Start,
    to: DateTime<Utc>,
    capacity: usize,
) -> Result<Batch, Error> {
    let descending = src.plan.strategy == Strategy::Descending;
    let first = src.url(
        &src.plan
            .query(&src.plan.partitions[partition], start.at, to)?,
    );
    let mut cursor = Cursor::new(src.plan.collection.path, &first);
    let mut batch = Batch::new(capacity);
    let mut url = first;
    loop {
        let page = src.fetch(&url).await?;
        let next = cursor.next(page.ends(), page.next.as_ref())?;
        for record in page.records {
            if record.at >= to {
                continue;
            }
            if record.at < start.at && descending {
                // Newest first: everything after this is older still.
                return Ok(batch);
            }
            if start.is_new(&record) {
                batch.offer(record);
            }
        }
        match next {
            Some(next) => url = next,
            None => return Ok(batch),
        }
    }
}

/// A record held in a batch, ordered by (timestamp, id).
struct Entry(Record);

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.0.at, &self.0.id) == (other.0.at, &other.0.id)
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
        (self.0.at, &self.0.id).cmp(&(other.0.at, &other.0.id))
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

    fn offer(&mut self, record: Record) {
        self.bytes += size(&record.raw);
        self.heap.push(Entry(record));
        while self.heap.len() > self.capacity || (self.bytes > BATCH_BYTES && self.heap.len() > 1) {
            if let Some(dropped) = self.heap.pop() {
                self.bytes -= size(&dropped.0.raw);
                self.complete = false;
            }
        }
    }

    /// Ascending, each (timestamp, id) once: a record read twice (its page
    /// shifted during the read) is sent once.
    fn into_sorted(self) -> Vec<Record> {
        let mut entries: Vec<Entry> = self.heap.into_sorted_vec();
        entries.dedup_by(|a, b| a == b);
        entries.into_iter().map(|e| e.0).collect()
    }
}

fn size(raw: &RawValue) -> usize {
    raw.get().len()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn record(s: i64, id: &str) -> Record {
        Record {
            id: id.to_owned(),
            at: Utc.timestamp_opt(s, 0).single().expect("valid"),
            raw: RawValue::from_string(format!("{{\"id\":\"{id}\"}}")).expect("json"),
        }
    }

    #[test]
    fn keeps_the_oldest_and_knows_when_it_dropped_some() {
        let mut batch = Batch::new(3);
        for (s, id) in [(5, "e"), (1, "a"), (4, "d"), (1, "a"), (2, "b")] {
            batch.offer(record(s, id));
        }
        assert!(!batch.complete);
        let kept: Vec<(i64, String)> = batch
            .into_sorted()
            .into_iter()
            .map(|r| (r.at.timestamp(), r.id))
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
        for (s, id) in [(2, "b"), (1, "z"), (1, "a")] {
            batch.offer(record(s, id));
        }
        assert!(batch.complete);
        let ids: Vec<String> = batch.into_sorted().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, vec!["a", "z", "b"]);
    }
}
