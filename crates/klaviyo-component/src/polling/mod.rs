//! The "Get New and Updated Objects Polling" trigger.
//!
//! Each run polls the window `[nextStartTime, now − lag)` of the chosen
//! object type, partition by partition, in ascending order of the polled
//! field, emits every record version it has not emitted before, and saves
//! its progress in the snapshot after each page, so a run that is killed
//! resumes where its last snapshot says. docs/polling.md explains the
//! guarantees; the Klaviyo quirks they rest on are in the API reference.

mod batcher;
mod catalog;
mod config;
mod late;
mod metadata;
mod plan;
mod poller;
mod read;
mod record;
mod schedule;
mod snapshot;
mod tracker;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use component_sdk::{Sink, Step, StepInput};

pub(crate) use self::catalog::{object_types_model, timestamp_fields_model};
pub(crate) use self::metadata::meta_model;

use self::batcher::Batcher;
use self::config::PollConfig;
use self::plan::{Plan, Strategy};
use self::poller::Poller;
use self::read::Source;
use self::snapshot::{Loaded, State};
use crate::Error;
use crate::client::Failure;
use crate::context::Context;
use crate::emit::EmitBehavior;
use crate::time::{floor_seconds, to_text};

/// What the fuzz targets and property tests check (see `crate::testing`).
pub(crate) mod testing {
    pub use super::catalog::{object_types, timestamp_fields};
    pub use super::config::PollConfig;
    pub use super::late::sim;
    pub use super::plan::{Plan, Strategy};
    pub use super::snapshot::aged as aged_snapshot;
}

/// Records a Retrieve Sample run emits at most.
pub(crate) const SAMPLE_SIZE: u64 = 10;

/// The error a Retrieve Sample run ends with when it finds nothing, in the
/// platform's words.
pub(crate) const NO_OBJECT_FOUND: &str = "No object found. Execution stopped. This error is only applicable to the Retrieve Sample. In flow executions there will be no error, just an execution skip.";

/// The trigger.
pub(crate) struct PollingTrigger;

impl Step for PollingTrigger {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        run(input, out).await.map_err(Into::into)
    }
}

async fn run(input: StepInput, out: &mut dyn Sink) -> Result<(), Error> {
    let Context { settings, client } = Context::new(&input.cfg, &input.env)?;
    let config = PollConfig::from_config(&input.cfg, client.revision(), Utc::now())?;
    let sample = input.env.is_sample_run();
    let plan = Plan::new(config.object_type.collection, config.field);
    let key = config.object_type.key;

    let state = if sample {
        // A sample shows what the flow would start with; it neither reads
        // nor moves the flow's progress.
        State::new(key, config.field, config.start_time, 0)
    } else {
        let lookback = config.lookback as i64;
        match snapshot::load(
            &input.snapshot,
            key,
            config.field,
            config.start_time,
            lookback,
        )? {
            Loaded::Fresh => State::new(key, config.field, config.start_time, lookback),
            Loaded::Resume(state) => state,
            Loaded::Stale(why) => {
                tracing::warn!(
                    "{why}; polling again from Start Time {}",
                    to_text(config.start_time)
                );
                State::new(key, config.field, config.start_time, config.lookback as i64)
            }
        }
    };
    let horizon = floor_seconds(
        Utc::now() - chrono::Duration::from_std(settings.poll_lag).unwrap_or_default(),
    );
    check_not_from_the_future(&state, horizon)?;
    tracing::info!(
        "\"Get New and Updated Objects\" trigger started: {} on {} from {} ({}; {} partition(s); revision {})",
        config.object_type.label(),
        config.field,
        to_text(
            state
                .window
                .as_ref()
                .map(|w| w.tracker.watermark())
                .unwrap_or(state.next_start)
        ),
        match plan.strategy {
            Strategy::Keyset => "filtered and sorted by Klaviyo",
            Strategy::Descending => "sorted by Klaviyo, filtered here",
            Strategy::Scan => "read in full and filtered here",
        },
        plan.partitions.len(),
        client.revision().as_str(),
    );

    let emit = match (config.emit, sample) {
        (EmitBehavior::Page(size), true) => EmitBehavior::Page(size.min(SAMPLE_SIZE as usize)),
        (emit, _) => emit,
    };
    // A sample stops after ten records: reading ahead would be wasted.
    let max_in_flight = if sample {
        1
    } else {
        settings
            .max_in_flight
            .unwrap_or_else(|| default_in_flight(config.object_type.collection))
    };
    let client = Arc::new(client);
    let source = Arc::new(Source {
        client: client.clone(),
        plan: Arc::new(plan),
        visibility_lag: chrono::Duration::from_std(settings.poll_lag).unwrap_or_default(),
    });
    let mut poller = Poller::new(
        source,
        Batcher::new(out, emit, !sample),
        state,
        sample.then_some(SAMPLE_SIZE),
        max_in_flight,
    );
    poller
        .run(horizon)
        .await
        .map_err(|e| with_hint(e, &config))?;
    let emitted = poller.batcher.emitted();
    let late_text = if config.lookback == 0 || sample {
        String::new()
    } else {
        poller.late.summary()
    };
    tracing::info!(
        "Polling finished: {emitted} record(s) emitted, {} request(s) to Klaviyo{late_text}; snapshot {} bytes",
        client.requests_sent(),
        poller.state.size()
    );
    if sample && emitted == 0 {
        return Err(Error::config(NO_OBJECT_FOUND));
    }
    Ok(())
}

/// Reads in flight when the operator sets none: what the client finds
/// useful (the steady rate times the latency, with a quarter to spare,
/// and one for the read the output waits for) at Klaviyo's slower answers
/// (0.8 s): 60 for events (3,500/min), 14 for profiles (750/min), 4 for
/// 150/min, 1 for the smallest tiers. The client's pacing keeps them under the limit, and
/// the poller's read-ahead bounds what they hold.
fn default_in_flight(collection: &klaviyo_spec::Collection) -> usize {
    let per_minute = collection.rate_limit.map_or(60, |l| l.steady_per_minute);
    let busy = f64::from(per_minute) / 60.0 * 0.8 * 1.25;
    if busy <= crate::client::ONE_KEEPS_UP {
        return 1;
    }
    (busy.ceil() as usize + 1).clamp(1, 64)
}

/// How far ahead of now a saved position may be before it is taken for a
/// wrong clock or an edited snapshot rather than a moment of clock skew.
const FUTURE_TOLERANCE: chrono::Duration = chrono::Duration::minutes(10);

/// A snapshot saved by a machine whose clock ran ahead would otherwise make
/// every run wait, silently, until that time comes.
fn check_not_from_the_future(state: &State, horizon: DateTime<Utc>) -> Result<(), Error> {
    let limit = horizon + FUTURE_TOLERANCE;
    let saved = state
        .window
        .as_ref()
        .map(|w| w.to)
        // A Start Time in the future is the user's choice, not a stale clock.
        .or((state.next_start != state.start_time).then_some(state.next_start));
    match saved {
        Some(at) if at > limit => Err(Error::config(format!(
            "the step's snapshot says polling reached {}, which is after now ({}): the clock was ahead when it was \
             saved, or the snapshot was edited. Clear the step's snapshot to poll again from \"{}\"",
            to_text(at),
            to_text(horizon),
            crate::fields::START_TIME.label
        ))),
        _ => Ok(()),
    }
}

/// Say which scope the key lacks when Klaviyo refuses it the collection.
fn with_hint(error: Error, config: &PollConfig) -> Error {
    match error {
        Error::Api(api) if api.failure() == Failure::MissingScope => {
            let scopes = config.object_type.collection.scopes.join(", ");
            Error::Api(api.with_hint(format!(
                "Polling {} needs an API key with the scope(s) {scopes}",
                config.object_type.label()
            )))
        }
        other => other,
    }
}
