//! Where a step writes its events.

use async_trait::async_trait;

use crate::{Error, Event};

/// The sink a step emits to. Emitting is awaited, so a slow consumer slows
/// the step down instead of piling events up in memory.
#[async_trait]
pub trait Emitter: Send {
    /// Hand one event to the platform. Fails with [`Error::OutputClosed`]
    /// when nobody reads the output any more; the step should then stop.
    async fn emit(&mut self, event: Event) -> Result<(), Error>;
}

/// An emitter that keeps every event in memory, for tests.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
}

#[async_trait]
impl Emitter for Recorder {
    async fn emit(&mut self, event: Event) -> Result<(), Error> {
        self.events.push(event);
        Ok(())
    }
}

impl Recorder {
    /// The bodies of the data events, parsed.
    pub fn data_bodies(&self) -> Vec<serde_json::Value> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Data(m) => serde_json::from_str(m.body.get()).ok(),
                _ => None,
            })
            .collect()
    }

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
