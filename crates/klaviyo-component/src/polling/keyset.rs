//! Polling a partition whose field Klaviyo can filter from a watermark and
//! sort ascending.
//!
//! Every query starts at the watermark and only its first page is trusted:
//! a cursor that is an offset shifts when records change between requests,
//! and the record pushed past the cursor would be lost. When the records at
//! or below the watermark fill more than a page (hundreds of records sharing
//! one second), the cursor has to be followed; that walk is then repeated
//! until two walks see the same records in the same order, which proves no
//! record moved during the last one.

use chrono::{DateTime, Utc};

use super::record::Head;
use super::tracker::id_hash;
use super::{Poller, heads};
use crate::Error;
use crate::client::{ApiError, Page};

/// Restarts of a query after Klaviyo refused its cursor.
const CURSOR_RESTARTS: u32 = 3;

/// Walks of one crowded watermark before giving up for this run.
const MAX_WALKS: u32 = 8;

pub async fn poll(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
) -> Result<(), Error> {
    let mut restarts = 0;
    loop {
        match step(p, partition, to).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(Error::Api(e)) if is_cursor_error(&e) && restarts < CURSOR_RESTARTS => {
                restarts += 1;
                tracing::warn!(
                    "{e}; querying again from the watermark (restart {restarts} of {CURSOR_RESTARTS})"
                );
            }
            Err(e) => return Err(e),
        }
        if p.limit_reached() {
            return Ok(());
        }
    }
}

/// One query from the watermark. True when the partition is done.
async fn step(p: &mut Poller<'_, '_>, partition: usize, to: DateTime<Utc>) -> Result<bool, Error> {
    let watermark = p.tracker().watermark();
    let url = p.plan.query(
        p.client,
        &p.plan.partitions[partition],
        Some(watermark),
        to,
        false,
    )?;
    let mut page = p.client.get_page(&url).await?;
    let mut heads = heads(&page.records, p.plan.field)?;
    if page.next.is_some() && !reaches_past(&heads, watermark) {
        page = walk(p, partition, to, page).await?;
        heads = super::heads(&page.records, p.plan.field)?;
    }
    check_ascending(&heads, p.plan.collection.path, p.plan.field)?;
    let more = page.next.is_some();
    let mut reached_end = false;
    for (record, head) in page.records.into_iter().zip(&heads) {
        let Some(at) = head.at else { continue };
        if at >= to {
            reached_end = true;
            break;
        }
        if p.tracker().is_new(at, &head.id) {
            p.offer(head, at, record).await?;
        }
    }
    p.checkpoint().await?;
    Ok(reached_end || !more)
}

/// Whether a page holds a record past `watermark`: then its last record is
/// a safe place to query from next.
fn reaches_past(heads: &[Head], watermark: DateTime<Utc>) -> bool {
    heads.iter().any(|h| h.at.is_some_and(|at| at > watermark))
}

/// Follow the cursor through the records at or below the watermark,
/// emitting those at it that are new, until a walk sees exactly what the
/// walk before it saw. Returns the page where the last walk left the
/// watermark behind (or the last page).
async fn walk(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
    first: Page,
) -> Result<Page, Error> {
    let watermark = p.tracker().watermark();
    let field = p.plan.field;
    let mut previous: Option<Vec<u64>> = None;
    let mut page = first;
    for walks in 1..=MAX_WALKS {
        let mut sequence = Vec::new();
        loop {
            let heads = heads(&page.records, field)?;
            check_ascending(&heads, p.plan.collection.path, field)?;
            let mut left_watermark = false;
            for (record, head) in page.records.iter().zip(&heads) {
                match head.at {
                    Some(at) if at > watermark => {
                        left_watermark = true;
                        break;
                    }
                    Some(at) if at == watermark && p.tracker().is_new(at, &head.id) => {
                        p.offer(head, at, record.clone()).await?;
                    }
                    _ => {}
                }
                sequence.push(id_hash(&head.id));
            }
            let Some(next) = page.next.clone().filter(|_| !left_watermark) else {
                break;
            };
            p.checkpoint().await?;
            page = p.client.get_page(&next).await?;
        }
        if previous.as_ref() == Some(&sequence) {
            return Ok(page);
        }
        if walks > 1 {
            tracing::info!(
                "records at {} changed while they were read; reading them again",
                crate::time::to_text(watermark)
            );
        }
        previous = Some(sequence);
        let url = p.plan.query(
            p.client,
            &p.plan.partitions[partition],
            Some(watermark),
            to,
            false,
        )?;
        page = p.client.get_page(&url).await?;
        if page.next.is_none() || reaches_past(&heads(&page.records, field)?, watermark) {
            // Everything at the watermark now fits on one page, which
            // Klaviyo produces in one piece.
            return Ok(page);
        }
    }
    Err(Error::Response(format!(
        "the records of {} at {} kept changing while they were read ({MAX_WALKS} attempts); the next run reads them again",
        p.plan.collection.path,
        crate::time::to_text(watermark)
    )))
}

/// Klaviyo must return a sorted page; an unsorted one would make the
/// watermark skip records, so it stops the run instead.
fn check_ascending(heads: &[Head], path: &str, field: &str) -> Result<(), Error> {
    let mut last: Option<DateTime<Utc>> = None;
    for head in heads {
        if let Some(at) = head.at {
            if last.is_some_and(|l| at < l) {
                return Err(Error::Response(format!(
                    "Klaviyo returned {path} out of order by {field} (record {} at {}); stopping so no record is skipped",
                    head.id,
                    crate::time::to_text(at)
                )));
            }
            last = Some(at);
        }
    }
    Ok(())
}

/// "Invalid cursor provided.": the cursor expired or was refused; the query
/// can start again from the watermark.
pub fn is_cursor_error(error: &ApiError) -> bool {
    error.status == 400 && (error.mentions("cursor") || error.mentions("Cursor"))
}
