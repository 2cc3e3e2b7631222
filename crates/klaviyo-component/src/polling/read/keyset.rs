//! Reading a slice of a collection whose field Klaviyo can filter from a
//! watermark and sort ascending.
//!
//! A slice `[from, to)` is read with one query from `from`, and only its
//! first page is trusted: a cursor that is an offset shifts when records
//! change between requests, and the record pushed past the cursor would be
//! lost. What the page leaves of the slice is read by further queries
//! (the poller splits it so that several run at once). When more records
//! share the slice's first second than a page holds (hundreds of records
//! with one timestamp), the cursor has to be followed through them. Such
//! a walk is proven complete when nothing can have moved during it: the
//! field never changes (`created`), or a query for records changed since
//! the walk began finds none of those walked (`updated`, which jumps to now
//! on every change). Otherwise the walk is repeated until two walks see the
//! same records in the same order.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Chunk, ChunkSender, End, Fetched, Record, Source, send};
use crate::Error;
use crate::client::Cursor;
use crate::polling::plan::Movement;
use crate::polling::tracker::id_hash;
use crate::time::to_text;

/// Restarts of a slice after Klaviyo refused its cursor.
const CURSOR_RESTARTS: u32 = 3;

/// Walks of one crowded second before giving up for this run.
const MAX_WALKS: u32 = 8;

/// A range of one partition to read: records whose field is at or after
/// `from` and before `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slice {
    pub partition: usize,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Read the first page of `slice` (walking the cursor through a crowded
/// first second), send its records in `[from, to)`, and say what is left.
pub(crate) async fn read_slice(
    src: &Source,
    slice: Slice,
    out: &ChunkSender,
) -> Result<End, Error> {
    let mut restarts = 0;
    loop {
        match read_once(src, slice, out).await {
            Err(Error::Api(e)) if e.is_cursor_error() && restarts < CURSOR_RESTARTS => {
                restarts += 1;
                tracing::warn!(
                    "{e}; querying again from {} (restart {restarts} of {CURSOR_RESTARTS})",
                    to_text(slice.from)
                );
            }
            other => return other,
        }
    }
}

async fn read_once(src: &Source, slice: Slice, out: &ChunkSender) -> Result<End, Error> {
    let partition = &src.plan.partitions[slice.partition];
    let first = src.url(&src.plan.query(partition, slice.from, slice.to)?);
    let mut page = fetch_sorted(src, &first).await?;
    if page.next.is_some() && !page.reaches(slice.to) && !page.passes(slice.from) {
        match walk(src, slice, &first, page, out).await? {
            Some(rest) => page = rest,
            None => return Ok(End::Complete),
        }
    }
    let before = || {
        page.records
            .iter()
            .map(|r| r.at)
            .filter(|at| *at < slice.to)
    };
    let end = match (before().min(), before().max()) {
        (Some(first), Some(last)) if page.next.is_some() && !page.reaches(slice.to) => {
            End::More { first, last }
        }
        // Nothing before `to` on a page that goes on: the rest lies at or
        // after `to` (a filter without an upper bound).
        _ => End::Complete,
    };
    let chunk = within(page.records, slice);
    if !send(out, chunk).await {
        return Ok(End::Complete);
    }
    Ok(end)
}

/// The records of `slice`.
fn within(records: Vec<Record>, slice: Slice) -> Chunk {
    Chunk {
        records: records
            .into_iter()
            .filter(|r| r.at >= slice.from && r.at < slice.to)
            .collect(),
    }
}

/// Follow the cursor through the records at `slice.from`, sending them,
/// until the walk is proven complete. Returns the page where the last walk
/// left that second behind, still to be sent; `None` when the query ended
/// inside it.
async fn walk(
    src: &Source,
    slice: Slice,
    first_url: &url::Url,
    first: Fetched,
    out: &ChunkSender,
) -> Result<Option<Fetched>, Error> {
    let at = slice.from;
    let started = Utc::now();
    let path = src.plan.collection.path;
    let mut previous: Option<Vec<u64>> = None;
    let mut page = first;
    for walks in 1..=MAX_WALKS {
        let mut sequence = Vec::new();
        let mut cursor = Cursor::new(path, first_url);
        loop {
            if page.passes(at) {
                sequence.extend(
                    page.records
                        .iter()
                        .filter(|r| r.at <= at)
                        .map(|r| id_hash(&r.id)),
                );
                break;
            }
            sequence.extend(page.records.iter().map(|r| id_hash(&r.id)));
            let Some(next) = cursor.next(page.ends(), page.next.as_ref())? else {
                break;
            };
            let consumed = std::mem::replace(&mut page, fetch_sorted(src, &next).await?);
            if !send(out, within(consumed.records, slice)).await {
                return Ok(None);
            }
        }
        if previous.as_ref() == Some(&sequence)
            || (walks == 1 && nothing_moved(src, slice, &sequence, started).await?)
        {
            return Ok(finish(page, slice, out).await);
        }
        if walks > 1 {
            tracing::info!(
                "records at {} changed while they were read; reading them again",
                to_text(at)
            );
        }
        previous = Some(sequence);
        // Only the crowded second's records: what lies past it is read once
        // the second is proven, or the watermark would pass records that
        // moved into it.
        let crowded = page.records.into_iter().filter(|r| r.at == at).collect();
        if !send(out, Chunk { records: crowded }).await {
            return Ok(None);
        }
        page = fetch_sorted(src, first_url).await?;
        if page.next.is_none() || page.passes(at) {
            // Everything at that second now fits on one page, which Klaviyo
            // produces in one piece.
            return Ok(Some(page));
        }
    }
    Err(Error::Response(format!(
        "the records of {path} at {} kept changing while they were read ({MAX_WALKS} attempts); the next run reads them again",
        to_text(at)
    )))
}

/// The walk's last page: handed back when it goes past the crowded second,
/// sent here when it is the query's last.
async fn finish(page: Fetched, slice: Slice, out: &ChunkSender) -> Option<Fetched> {
    if page.passes(slice.from) {
        return Some(page);
    }
    send(out, within(page.records, slice)).await;
    None
}

/// Whether no record walked (`sequence`, id hashes) can have moved since
/// the walk began (less the time Klaviyo may take to list a change made
/// just before it), so the walk skipped nothing.
async fn nothing_moved(
    src: &Source,
    slice: Slice,
    sequence: &[u64],
    started: DateTime<Utc>,
) -> Result<bool, Error> {
    match src.plan.movement {
        Movement::Never => Ok(true),
        Movement::Anywhere => Ok(false),
        Movement::ToNow => {
            let since = started - src.visibility_lag - chrono::Duration::seconds(1);
            let partition = &src.plan.partitions[slice.partition];
            let changed = src
                .fetch(&src.url(&src.plan.changes_since(partition, since)?))
                .await?;
            if changed.next.is_some() {
                // More changes than a page: too many to tell; walk again.
                return Ok(false);
            }
            let walked: HashSet<u64> = sequence.iter().copied().collect();
            Ok(!changed
                .records
                .iter()
                .any(|r| walked.contains(&id_hash(&r.id))))
        }
    }
}

/// A page, refused unless Klaviyo sorted it: an unsorted page would make
/// the watermark skip records.
async fn fetch_sorted(src: &Source, url: &url::Url) -> Result<Fetched, Error> {
    let page = src.fetch(url).await?;
    if let Some(pair) = page.records.windows(2).find(|w| w[1].at < w[0].at) {
        return Err(Error::Response(format!(
            "Klaviyo returned {} out of order by {} (record {} at {}); stopping so no record is skipped",
            src.plan.collection.path,
            src.plan.field,
            pair[1].id,
            to_text(pair[1].at)
        )));
    }
    Ok(page)
}
