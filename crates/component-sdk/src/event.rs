//! The events a step emits.

use serde_json::{Map, Value};

use crate::{Error, Message};

/// One thing a step tells the platform, in the order it happens.
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
    /// The step is done. The runner writes the end of the output itself,
    /// exactly once, so a step never has to emit this.
    End,
}

/// The payload of an error event: `{name, message, stack}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPayload {
    pub name: String,
    pub message: String,
}

impl From<&Error> for ErrorPayload {
    fn from(error: &Error) -> ErrorPayload {
        ErrorPayload {
            name: error.name().to_owned(),
            message: error.to_string(),
        }
    }
}

impl Event {
    /// The event's name on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Data(_) => "data",
            Event::Snapshot(_) => "snapshot",
            Event::UpdateSnapshot(_) => "updateSnapshot",
            Event::Rebound { .. } => "rebound",
            Event::Error(_) => "error",
            Event::End => "end",
        }
    }
}
