//! Polling a partition whose field Klaviyo can filter from a watermark and
//! sort ascending.
//!
//! Every query starts at the watermark and only its first page is trusted:
//! a cursor that is an offset shifts when records change between requests,
//! and the record pushed past the cursor would be lost. When the records at
//! or below the watermark fill more than a page (hundreds of records sharing
//! one second), the cursor has to be followed. A walk along it is proven
//! complete when nothing can have moved during it: the field never changes
//! (`created`), or a query for records changed since the walk began finds
//! none of those walked (`updated`, which jumps to now on every change).
//! Otherwise the walk is repeated until two walks see the same records in
//! the same order.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::plan::{Movement, Plan};
use super::record::Head;
use super::tracker::id_hash;
use super::{Poller, heads};
use crate::Error;
use crate::client::{Client, Page};

/// Restarts of a query after Klaviyo refused its cursor.
const CURSOR_RESTARTS: u32 = 3;

/// Walks of one crowded watermark before giving up for this run.
const MAX_WALKS: u32 = 8;

/// A page with the heads of its records, read once.
struct Read {
    page: Page,
    heads: Vec<Head>,
}

impl Read {
    async fn fetch(client: &Client, plan: &Plan, url: &url::Url) -> Result<Read, Error> {
        let page = client.get_page(url).await?;
        let heads = heads(&page.records, plan.field)?;
        check_ascending(&heads, plan.collection.path, plan.field)?;
        Ok(Read { page, heads })
    }

    /// Whether a record lies past `watermark`: then the page's last record
    /// is a safe place to query from next.
    fn reaches_past(&self, watermark: DateTime<Utc>) -> bool {
        self.heads
            .iter()
            .any(|h| h.at.is_some_and(|at| at > watermark))
    }
}

pub async fn poll(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
) -> Result<(), Error> {
    let mut restarts = 0;
    let mut ahead = None;
    loop {
        match step(p, partition, to, ahead.take()).await {
            Ok(Next::Done) => return Ok(()),
            Ok(Next::Query(read)) => ahead = read,
            Err(Error::Api(e)) if e.is_cursor_error() && restarts < CURSOR_RESTARTS => {
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

/// What follows a step.
enum Next {
    /// The partition is done.
    Done,
    /// Query again from the new watermark; its first page, when it was
    /// fetched while this step emitted.
    Query(Option<Read>),
}

/// Records emitted between two chances for the next page's request to make
/// progress on the single-threaded runtime.
const YIELD_EVERY: usize = 16;

/// One query from the watermark (whose first page may already be `ahead`).
async fn step(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
    ahead: Option<Read>,
) -> Result<Next, Error> {
    let watermark = p.tracker().watermark();
    let mut read = match ahead {
        // Fetched from the watermark this step would query from.
        Some(read) => read,
        None => {
            let url = p.plan.query(
                p.client,
                &p.plan.partitions[partition],
                Some(watermark),
                to,
                false,
            )?;
            Read::fetch(p.client, p.plan, &url).await?
        }
    };
    if read.page.next.is_some() && !read.reaches_past(watermark) {
        read = walk(p, partition, to, read).await?;
    }
    let reached_end = read.heads.iter().any(|h| h.at.is_some_and(|at| at >= to));
    let more = read.page.next.is_some() && !reached_end;
    // Every record on the page before `to` is emitted or already was, so
    // the next query's watermark is known now: fetch its first page while
    // this one is emitted (not for a sample, which stops after ten).
    let next_from = read
        .heads
        .iter()
        .filter_map(|h| h.at)
        .filter(|at| *at < to)
        .max();
    let next_url = match next_from {
        Some(from) if more && p.limit.is_none() => Some(p.plan.query(
            p.client,
            &p.plan.partitions[partition],
            Some(from),
            to,
            false,
        )?),
        _ => None,
    };
    let (client, plan) = (p.client, p.plan);
    let prefetch = async move {
        match next_url {
            Some(url) => Some(Read::fetch(client, plan, &url).await),
            None => None,
        }
    };
    let emit = async {
        for (n, (record, head)) in read.page.records.into_iter().zip(&read.heads).enumerate() {
            let Some(at) = head.at else { continue };
            if at >= to {
                break;
            }
            if p.tracker().is_new(at, &head.id) {
                p.offer(head, at, record)?;
            }
            if n % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
        }
        p.checkpoint()
    };
    // Both run to the end: a failed prefetch must not cut a page's emission
    // short, and the page's progress is saved before any error is reported.
    let (fetched, emitted) = futures::join!(prefetch, emit);
    emitted?;
    if !more {
        return Ok(Next::Done);
    }
    Ok(Next::Query(fetched.transpose()?))
}

/// Follow the cursor through the records at or below the watermark,
/// emitting those at it that are new, until the walk is proven complete.
/// Returns the page where the last walk left the watermark behind (or the
/// last page).
async fn walk(
    p: &mut Poller<'_, '_>,
    partition: usize,
    to: DateTime<Utc>,
    first: Read,
) -> Result<Read, Error> {
    let watermark = p.tracker().watermark();
    let started = Utc::now();
    let mut previous: Option<Vec<u64>> = None;
    let mut read = first;
    for walks in 1..=MAX_WALKS {
        let mut sequence = Vec::new();
        loop {
            let mut left_watermark = false;
            for (record, head) in read.page.records.iter().zip(&read.heads) {
                match head.at {
                    Some(at) if at > watermark => {
                        left_watermark = true;
                        break;
                    }
                    Some(at) if at == watermark && p.tracker().is_new(at, &head.id) => {
                        p.offer(head, at, record.clone())?;
                    }
                    _ => {}
                }
                sequence.push(id_hash(&head.id));
            }
            let Some(next) = read.page.next.clone().filter(|_| !left_watermark) else {
                break;
            };
            p.checkpoint()?;
            read = Read::fetch(p.client, p.plan, &next).await?;
        }
        if previous.as_ref() == Some(&sequence) {
            return Ok(read);
        }
        if walks == 1
            && nothing_moved(
                p.client,
                p.plan,
                partition,
                &sequence,
                started - p.visibility_lag,
            )
            .await?
        {
            return Ok(read);
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
        read = Read::fetch(p.client, p.plan, &url).await?;
        if read.page.next.is_none() || read.reaches_past(watermark) {
            // Everything at the watermark now fits on one page, which
            // Klaviyo produces in one piece.
            return Ok(read);
        }
    }
    Err(Error::Response(format!(
        "the records of {} at {} kept changing while they were read ({MAX_WALKS} attempts); the next run reads them again",
        p.plan.collection.path,
        crate::time::to_text(watermark)
    )))
}

/// Whether no record walked (`sequence`, id hashes) can have moved since
/// `since` (the walk's start, less the time Klaviyo may take to list a
/// change made just before it), so the walk skipped nothing.
async fn nothing_moved(
    client: &Client,
    plan: &Plan,
    partition: usize,
    sequence: &[u64],
    since: DateTime<Utc>,
) -> Result<bool, Error> {
    match plan.movement {
        Movement::Never => Ok(true),
        Movement::Anywhere => Ok(false),
        Movement::ToNow => {
            let since = since - chrono::Duration::seconds(1);
            let url = plan.changes_since(client, &plan.partitions[partition], since)?;
            let changed = client.get_page(&url).await?;
            if changed.next.is_some() {
                // More changes than a page: too many to tell; walk again.
                return Ok(false);
            }
            let walked: HashSet<u64> = sequence.iter().copied().collect();
            for record in &changed.records {
                let head = super::record::head(record, plan.field)?;
                if walked.contains(&id_hash(&head.id)) {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
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
