//! Triggers and actions.

use async_trait::async_trait;
use serde_json::Value;

use crate::{Config, Emitter, Env, Error, Message};

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

impl StepInput {
    pub fn new(cfg: Config, env: Env) -> StepInput {
        StepInput {
            cfg,
            msg: Message::empty(),
            snapshot: Value::Object(Default::default()),
            env,
        }
    }
}

/// A step that starts a flow: the platform runs it on a schedule (polling)
/// with an empty message and the step's last snapshot.
#[async_trait]
pub trait Trigger: Send + Sync {
    /// Run once, emitting data, snapshots and errors. Returning an error is
    /// the same as emitting it as the last event.
    async fn process(&self, input: StepInput, out: &mut dyn Emitter) -> Result<(), Error>;
}

/// A step in the middle of a flow: the platform runs it once per incoming
/// message.
#[async_trait]
pub trait Action: Send + Sync {
    /// Handle one message. Returning an error is the same as emitting it as
    /// the last event.
    async fn process(&self, input: StepInput, out: &mut dyn Emitter) -> Result<(), Error>;
}
