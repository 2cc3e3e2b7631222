//! The wire format: what one line of stdout looks like. Serialization only.

use component_sdk::{Event, SelectModel};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One line of `process` output.
#[derive(Serialize)]
#[serde(tag = "event", content = "payload")]
pub(crate) enum WireEvent<'a> {
    #[serde(rename = "data")]
    Data(WireMessage<'a>),
    #[serde(rename = "snapshot")]
    Snapshot(&'a Value),
    #[serde(rename = "updateSnapshot")]
    UpdateSnapshot(&'a Map<String, Value>),
    #[serde(rename = "rebound")]
    Rebound { reason: &'a str },
    #[serde(rename = "error")]
    Error {
        name: &'a str,
        message: &'a str,
        stack: &'static str,
    },
    #[serde(rename = "end")]
    End,
}

#[derive(Serialize)]
pub(crate) struct WireMessage<'a> {
    id: &'a str,
    body: &'a RawValue,
    headers: &'a Map<String, Value>,
    attachments: &'a Map<String, Value>,
}

/// elastic.io has no stack traces to give: the field is kept for the shape.
pub(crate) const NO_STACK: &str = "Not Available";

impl<'a> WireEvent<'a> {
    pub(crate) fn from_event(event: &'a Event) -> WireEvent<'a> {
        match event {
            Event::Data(m) => WireEvent::Data(WireMessage {
                id: &m.id,
                body: &m.body,
                headers: &m.headers,
                attachments: &m.attachments,
            }),
            Event::Snapshot(s) => WireEvent::Snapshot(s),
            Event::UpdateSnapshot(s) => WireEvent::UpdateSnapshot(s),
            Event::Rebound { reason } => WireEvent::Rebound { reason },
            Event::Error(e) => WireEvent::error(&e.name, &e.message),
        }
    }

    pub(crate) fn error(name: &'a str, message: &'a str) -> WireEvent<'a> {
        WireEvent::Error {
            name,
            message,
            stack: NO_STACK,
        }
    }
}

/// The one object a service command writes.
#[derive(Serialize)]
#[serde(tag = "status", content = "data", rename_all = "lowercase")]
pub(crate) enum Envelope<T: Serialize> {
    Success(T),
    Error { message: String },
}

/// `verifyCredentials` data.
#[derive(Serialize)]
pub(crate) struct Verification<'a> {
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// `getMetaModel` data.
#[derive(Serialize)]
pub(crate) struct MetaModel<'a> {
    #[serde(rename = "in")]
    pub input: &'a Value,
    pub out: &'a Value,
}

/// `selectModel` data: an object whose keys keep the model's order.
pub(crate) struct Options<'a>(pub &'a SelectModel);

impl Serialize for Options<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.0.len()))?;
        for (key, label) in &self.0.0 {
            map.serialize_entry(key, label)?;
        }
        map.end()
    }
}
