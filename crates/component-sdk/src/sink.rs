//! Where a step writes its events.

use crate::{Error, Event};

/// The place a step emits to, one event at a time, in order. Emitting is
/// synchronous: the runner writes each event out before `emit` returns, so
/// a slow reader slows the step down instead of piling events up in memory.
pub trait Sink {
    /// Hand one event to the platform. Fails with
    /// [`ErrorKind::OutputClosed`](crate::ErrorKind::OutputClosed) when
    /// nobody reads the output any more; the step should then stop.
    fn emit(&mut self, event: Event) -> Result<(), Error>;
}

/// A sink that keeps every event in memory, for tests.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
}

impl Sink for Recorder {
    fn emit(&mut self, event: Event) -> Result<(), Error> {
        self.events.push(event);
        Ok(())
    }
}

impl Recorder {
    /// The snapshots, in order.
    pub fn snapshots(&self) -> Vec<&serde_json::Value> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Snapshot(s) => Some(s),
                _ => None,
            })
            .collect()
    }
}
