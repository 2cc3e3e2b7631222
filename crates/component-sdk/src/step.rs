//! Steps: the triggers and actions of `component.json`.
//!
//! A step is one async function from its input to the events it emits.
//! Whether it is a trigger or an action is `component.json`'s business: the
//! platform starts a trigger with an empty message and an action with the
//! previous step's, and the code is the same either way.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::{Config, Env, Error, Message, Sink};

/// Everything a step gets for one run.
#[derive(Debug, Clone)]
pub struct StepInput {
    /// The credential fields and the step's fields, merged.
    pub cfg: Config,
    /// The incoming message; empty for a polling trigger.
    pub msg: Message,
    /// The snapshot the step emitted last (`{}` the first time).
    pub snapshot: Value,
    pub env: Env,
}

/// One trigger or action.
pub trait Step: Sync {
    /// Run once, emitting data, snapshots and errors to `out`. Returning an
    /// error is the same as emitting it as the last event.
    fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> impl Future<Output = Result<(), Error>>;
}

/// A boxed future that need not be `Send`: the runner drives each run on
/// one thread.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A [`Step`] behind `dyn`, so a table can hold steps of different types.
/// Every step is one; nobody implements it by hand.
pub trait DynStep: Sync {
    fn process_boxed<'a>(
        &'a self,
        input: StepInput,
        out: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<(), Error>>;
}

impl<S: Step> DynStep for S {
    fn process_boxed<'a>(
        &'a self,
        input: StepInput,
        out: &'a mut dyn Sink,
    ) -> LocalBoxFuture<'a, Result<(), Error>> {
        Box::pin(self.process(input, out))
    }
}
