//! The message a step receives and emits.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::Error;

/// The most JSON one message may hold on the platform: sailor refuses an
/// emit over 10 MiB (`OUTGOING_MESSAGE_SIZE_LIMIT`, 10,485,760 bytes) once
/// encrypted and base64-encoded, which is about 7.8 MB of JSON; less a
/// margin for the headers and passthrough around the body.
pub const MAX_MESSAGE_BYTES: usize = 7_000_000;

/// An elastic.io message: `id`, `body`, `headers`, `attachments`.
///
/// The body is kept as raw JSON text: a polling trigger passes Klaviyo's
/// records through byte for byte, and re-encoding every record would cost
/// more than everything else the trigger does.
#[derive(Debug, Clone)]
pub struct Message {
    /// A UUID v4 for messages a step creates; whatever the platform sent for
    /// incoming ones, empty when it sent none (on elastic.io, messages from
    /// actions and mappers carry none).
    pub id: String,
    pub body: Box<RawValue>,
    pub headers: Map<String, Value>,
    pub attachments: Map<String, Value>,
}

impl Message {
    /// A new message with a fresh id and empty headers and attachments.
    pub fn new(body: Box<RawValue>) -> Message {
        Message {
            id: uuid::Uuid::new_v4().to_string(),
            body,
            headers: Map::new(),
            attachments: Map::new(),
        }
    }

    /// A new message whose body is `body` serialized as JSON.
    pub fn with_body<T: Serialize + ?Sized>(body: &T) -> Result<Message, Error> {
        let raw = serde_json::value::to_raw_value(body)
            .map_err(|e| Error::internal(format!("cannot encode a message body: {e}")))?;
        Ok(Message::new(raw))
    }

    /// The empty message a polling trigger receives.
    pub fn empty() -> Message {
        Message::new(empty_object())
    }

    /// The body decoded as `T`.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.body.get())
    }
}

/// `{}` as raw JSON.
fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("`{}` is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_messages_get_distinct_uuid_v4_ids() {
        let a = Message::empty();
        let b = Message::empty();
        assert_ne!(a.id, b.id);
        let parsed = uuid::Uuid::parse_str(&a.id).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn with_body_keeps_the_json_and_body_as_reads_it_back() {
        let msg = Message::with_body(&serde_json::json!({"a": [1, 2]})).expect("encodes");
        assert_eq!(msg.body.get(), r#"{"a":[1,2]}"#);
        let back: Value = msg.body_as().expect("decodes");
        assert_eq!(back["a"][1], 2);
    }
}
