//! The events a step emits.

use serde_json::{Map, Value};

use crate::{Error, Message};

/// One thing a step tells the platform, in the order it happens. The end of
/// a run is not an event: the runner writes it once the step returns.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message for the next step.
    Data(Message),
    /// Replace the step's snapshot (the state that survives until the next
    /// run).
    Snapshot(Value),
    /// Merge these keys into the step's snapshot.
    UpdateSnapshot(Map<String, Value>),
    /// Ask the platform to deliver the incoming message again later.
    Rebound { reason: String },
    /// Report a failure; the step may go on emitting.
    Error(ErrorPayload),
}

/// The payload of an error event: `{name, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPayload {
    pub name: String,
    pub message: String,
}

impl From<&Error> for ErrorPayload {
    fn from(error: &Error) -> ErrorPayload {
        ErrorPayload {
            name: error.kind().name().to_owned(),
            message: error.message().to_owned(),
        }
    }
}
