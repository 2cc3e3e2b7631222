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
mod keyset;
mod metadata;
mod plan;
mod record;
mod scan;
mod snapshot;
mod tracker;

use chrono::{DateTime, Utc};
use component_sdk::{Sink, Step, StepInput};
use serde_json::value::RawValue;

pub use self::catalog::{object_types_model, timestamp_fields_model};
pub use self::metadata::meta_model;

use self::batcher::{Batcher, EmitBehavior};
use self::config::PollConfig;
use self::plan::{Plan, Strategy};
use self::record::Head;
use self::snapshot::{Loaded, State, Window};
use self::tracker::Tracker;
use crate::Error;
use crate::client::{Client, Failure};
use crate::context::Context;
use crate::time::{floor_seconds, to_text};

/// What the fuzz targets and property tests check (see `crate::testing`).
pub mod testing {
    pub use super::batcher::EmitBehavior;
    pub use super::catalog::{object_types, timestamp_fields};
    pub use super::config::PollConfig;
    pub use super::plan::{Plan, Strategy};
}

/// Records a Retrieve Sample run emits at most.
pub const SAMPLE_SIZE: u64 = 10;

/// The error a Retrieve Sample run ends with when it finds nothing, in the
/// platform's words.
pub const NO_OBJECT_FOUND: &str = "No object found. Execution stopped. This error is only applicable to the Retrieve Sample. In flow executions there will be no error, just an execution skip.";

/// The trigger.
pub struct PollingTrigger;

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
        State::new(key, config.field, config.start_time)
    } else {
        match snapshot::load(&input.snapshot, key, config.field, config.start_time)? {
            Loaded::Fresh => State::new(key, config.field, config.start_time),
            Loaded::Resume(state) => state,
            Loaded::Stale(why) => {
                tracing::warn!(
                    "{why}; polling again from Start Time {}",
                    to_text(config.start_time)
                );
                State::new(key, config.field, config.start_time)
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
    let mut poller = Poller {
        client: &client,
        plan: &plan,
        sink: Batcher::new(out, emit, !sample),
        state,
        limit: sample.then_some(SAMPLE_SIZE),
        visibility_lag: chrono::Duration::from_std(settings.poll_lag).unwrap_or_default(),
    };
    poller
        .run(horizon)
        .await
        .map_err(|e| with_hint(e, &config))?;
    let emitted = poller.sink.emitted();
    tracing::info!(
        "Polling finished: {emitted} record(s) emitted, {} request(s) to Klaviyo",
        client.requests_sent()
    );
    if sample && emitted == 0 {
        return Err(Error::config(NO_OBJECT_FOUND));
    }
    Ok(())
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

/// One run's polling.
struct Poller<'a, 'o> {
    client: &'a Client,
    plan: &'a Plan,
    sink: Batcher<'o>,
    state: State,
    limit: Option<u64>,
    /// How long Klaviyo may take to list a change (the poll lag).
    visibility_lag: chrono::Duration,
}

impl Poller<'_, '_> {
    async fn run(&mut self, horizon: DateTime<Utc>) -> Result<(), Error> {
        loop {
            let next_start = self.state.next_start;
            let (to, first, tracker) = match self.state.window.take() {
                Some(window) if window.to > horizon => {
                    tracing::warn!(
                        "the saved window ends at {}, after now ({}): is the clock behind? Waiting for it.",
                        to_text(window.to),
                        to_text(horizon)
                    );
                    self.state.window = Some(window);
                    return Ok(());
                }
                Some(window) => match self
                    .plan
                    .partitions
                    .iter()
                    .position(|p| p.label == window.partition)
                {
                    Some(index) => (window.to, index, window.tracker),
                    None => {
                        tracing::warn!(
                            "the saved partition {:?} does not exist for this revision; polling the window again from {}",
                            window.partition,
                            to_text(next_start)
                        );
                        (window.to, 0, Tracker::new(next_start))
                    }
                },
                None if horizon <= next_start => {
                    tracing::info!("nothing to poll before {}", to_text(next_start));
                    break;
                }
                None => (horizon, 0, Tracker::new(next_start)),
            };
            for index in first..self.plan.partitions.len() {
                let partition = &self.plan.partitions[index];
                let tracker = if index == first {
                    tracker.clone()
                } else {
                    Tracker::new(next_start)
                };
                self.state.window = Some(Window {
                    to,
                    partition: partition.label.clone(),
                    tracker,
                });
                if !partition.label.is_empty() {
                    tracing::debug!("polling partition {}", partition.label);
                }
                match self.plan.strategy {
                    Strategy::Keyset => keyset::poll(self, index, to).await?,
                    Strategy::Descending => scan::poll(self, index, to, true).await?,
                    Strategy::Scan => scan::poll(self, index, to, false).await?,
                }
                if self.limit_reached() {
                    return self.sink.flush(None);
                }
            }
            self.state.next_start = to;
            self.state.window = None;
            self.checkpoint()?;
            if to >= horizon {
                break;
            }
        }
        self.sink.flush(self.state.to_value())
    }

    fn tracker(&self) -> &Tracker {
        &self
            .state
            .window
            .as_ref()
            .expect("a partition is being polled")
            .tracker
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.sink.emitted() >= l)
    }

    /// Emit `record` (whose head is `head`, at `at`) if it is new.
    fn offer(
        &mut self,
        head: &Head,
        at: DateTime<Utc>,
        record: Box<RawValue>,
    ) -> Result<(), Error> {
        if self.limit_reached() {
            return Ok(());
        }
        let window = self
            .state
            .window
            .as_mut()
            .expect("a partition is being polled");
        if !window.tracker.admit(at, &head.id) {
            return Ok(());
        }
        if self.sink.push(record)? {
            let progress = self.state.to_value();
            self.sink.flush(progress)?;
        }
        Ok(())
    }

    /// Save the progress made, if nothing emitted is waiting in a page.
    fn checkpoint(&mut self) -> Result<(), Error> {
        let progress = self.state.to_value();
        self.sink.checkpoint(progress)
    }
}

/// The heads of a page's records, for the polled field.
fn heads(records: &[Box<RawValue>], field: &str) -> Result<Vec<Head>, Error> {
    records
        .iter()
        .map(|r| {
            let head = record::head(r, field)?;
            if let Some(text) = &head.unreadable {
                tracing::warn!(
                    "record {} has {field} = {text:?}, which is not a timestamp; it is skipped",
                    head.id
                );
            }
            Ok(head)
        })
        .collect()
}
