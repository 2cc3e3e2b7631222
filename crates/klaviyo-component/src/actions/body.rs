//! Reading `msg.body`, the twin of the SDK's [`component_sdk::Config`] for
//! the message: a member is named by its id and label, and every error
//! names it as `"Label" (msg.body.id)` and says what to give; a member
//! that is a typo of one the action knows is refused with the one meant.

use component_sdk::Message;
use component_sdk::config::{closest, shortened};
use serde_json::{Map, Value};

use super::values;
use crate::Error;

/// A member of the message body as the readers name it: its id in
/// `msg.body` and its label, the title the input metadata gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    pub key: &'a str,
    pub label: &'a str,
}

impl<'a> Member<'a> {
    pub(crate) const fn new(key: &'a str, label: &'a str) -> Member<'a> {
        Member { key, label }
    }
}

/// The id of the object an action reads, deletes or updates.
pub(super) const ID: Member<'static> = Member::new("id", "ID");

/// The incoming message's body, an object.
#[derive(Debug)]
pub(crate) struct Body {
    members: Map<String, Value>,
}

impl Body {
    /// `msg.body`, which must be a JSON object with `wanted` (for the
    /// error when it is not).
    pub(crate) fn read(msg: &Message, wanted: &str) -> Result<Body, Error> {
        Body::parse(msg.body.get(), wanted)
    }

    /// The body from its JSON text.
    pub(crate) fn parse(text: &str, wanted: &str) -> Result<Body, Error> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| Error::input("the message body (msg.body) is not JSON"))?;
        match value {
            Value::Object(members) => Ok(Body { members }),
            other => Err(Error::input(format!(
                "the message body (msg.body) must be an object with {wanted}, got {}",
                values::kind(&other)
            ))),
        }
    }

    /// A body of these members (for tests).
    #[cfg(test)]
    pub(crate) fn of(members: Map<String, Value>) -> Body {
        Body { members }
    }

    /// Refuse a member that is a typo of one of `known` (one edit away,
    /// ignoring case and separators); others pass.
    pub(crate) fn typos(&self, known: &[Member<'_>]) -> Result<(), Error> {
        for given in self.members.keys() {
            if let Some(meant) = closest(given, known.iter().map(|m| m.key)) {
                return Err(unknown(given, meant, known));
            }
        }
        Ok(())
    }

    /// Refuse every member but `known`: a typo with the one meant, any
    /// other with `otherwise`, which says where what it holds goes.
    pub(crate) fn only(&self, known: &[Member<'_>], otherwise: &str) -> Result<(), Error> {
        self.only_or_alias(known, &[], otherwise)
    }

    /// [`Body::only`], naming the member meant also when the one given is a
    /// usual other name for it: `aliases` pairs such a name (lower case,
    /// without separators) with the key meant, as `("requestbody", "data")`.
    pub(crate) fn only_or_alias(
        &self,
        known: &[Member<'_>],
        aliases: &[(&str, &str)],
        otherwise: &str,
    ) -> Result<(), Error> {
        for given in self.members.keys() {
            if known.iter().any(|m| m.key == given) {
                continue;
            }
            let normal: String = given
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | ' '))
                .flat_map(char::to_lowercase)
                .collect();
            let meant = closest(given, known.iter().map(|m| m.key)).or_else(|| {
                aliases
                    .iter()
                    .find(|(alias, _)| *alias == normal)
                    .map(|(_, key)| *key)
            });
            return Err(match meant {
                Some(meant) => unknown(given, meant, known),
                None => Error::input(format!(
                    "unknown member `{}` of the message body: {otherwise}",
                    shortened(given, 40)
                )),
            });
        }
        Ok(())
    }

    /// A member the mapper sent as text, a number or a boolean, as trimmed
    /// text; `None` when not set.
    pub(crate) fn text(&self, member: Member<'_>) -> Result<Option<String>, Error> {
        values::text(self.members.get(member.key)).map_err(|kind| {
            Error::input(format!(
                "\"{}\" (msg.body.{}) must be text, got {kind}",
                member.label, member.key
            ))
        })
    }

    /// A required text member; `needed` says what to give.
    pub(crate) fn required_text(&self, member: Member<'_>, needed: &str) -> Result<String, Error> {
        self.text(member)?.ok_or_else(|| required(member, needed))
    }

    /// A required member that must be a JSON string, as it is (no number
    /// taken for text, nothing trimmed), taken out of the body.
    pub(crate) fn take_string(
        &mut self,
        member: Member<'_>,
        needed: &str,
    ) -> Result<String, Error> {
        match self.members.remove(member.key) {
            None | Some(Value::Null) => Err(required(member, needed)),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(Error::input(format!(
                "\"{}\" (msg.body.{}) must be text, got {}",
                member.label,
                member.key,
                values::kind(&other)
            ))),
        }
    }

    /// The member `key`, as sent, taken out of the body.
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.members.remove(key)
    }

    /// The member `key`, as sent.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.members.get(key)
    }

    /// Every member, as sent.
    pub(crate) fn members(&self) -> &Map<String, Value> {
        &self.members
    }

    /// Every member, to build a request of.
    pub(crate) fn into_members(self) -> Map<String, Value> {
        self.members
    }
}

fn required(member: Member<'_>, needed: &str) -> Error {
    Error::input(format!(
        "\"{}\" is required: give msg.body.{}, {needed}",
        member.label, member.key
    ))
}

fn unknown(given: &str, meant: &str, known: &[Member<'_>]) -> Error {
    let label = known
        .iter()
        .find(|m| m.key == meant)
        .map_or("", |m| m.label);
    Error::input(format!(
        "unknown member `{}` of the message body — did you mean `{meant}` ({label})?",
        shortened(given, 40)
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Body {
        Body::of(value.as_object().cloned().unwrap_or_default())
    }

    fn said(result: Result<impl std::fmt::Debug, Error>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn the_body_is_an_object() {
        assert_eq!(
            said(Body::parse("\"id\"", "\"id\"")),
            "the message body (msg.body) must be an object with \"id\", got text"
        );
        assert_eq!(
            said(Body::parse("{", "\"id\"")),
            "the message body (msg.body) is not JSON"
        );
        assert!(Body::parse("{\"id\": 1}", "\"id\"").is_ok());
    }

    #[test]
    fn members_are_named_by_label_and_path() {
        assert_eq!(
            said(body(json!({"Id": "x"})).typos(&[ID])),
            "unknown member `Id` of the message body — did you mean `id` (ID)?"
        );
        assert!(body(json!({"other": 1, "id": "x"})).typos(&[ID]).is_ok());
        assert_eq!(
            said(body(json!({"other": 1})).only(&[ID], "the id goes in msg.body.id")),
            "unknown member `other` of the message body: the id goes in msg.body.id"
        );
        assert_eq!(
            said(body(json!({"id": []})).text(ID)),
            "\"ID\" (msg.body.id) must be text, got a list"
        );
        assert_eq!(
            said(body(json!({"id": " "})).required_text(ID, "the id")),
            "\"ID\" is required: give msg.body.id, the id"
        );
        assert_eq!(
            body(json!({"id": 42})).required_text(ID, "the id").ok(),
            Some("42".to_owned())
        );
        assert_eq!(
            said(body(json!({"id": 42})).take_string(ID, "the id")),
            "\"ID\" (msg.body.id) must be text, got a number"
        );
    }
}
