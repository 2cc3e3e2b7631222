//! Reading what the trigger needs from a record (its id and polled field)
//! without building the record in memory: the record itself is passed on
//! as the raw text Klaviyo sent.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::Error;

/// The id and the polled timestamp of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub id: String,
    /// `None` when the attribute is missing, `null`, or not a datetime.
    pub at: Option<DateTime<Utc>>,
    /// The attribute's text when it was present but not a datetime.
    pub unreadable: Option<String>,
}

/// Read the head of `record` for the attribute `field`.
pub(super) fn head(record: &RawValue, field: &str) -> Result<Head, Error> {
    let mut de = serde_json::Deserializer::from_str(record.get());
    let (id, value) = HeadSeed { field }
        .deserialize(&mut de)
        .map_err(|e| Error::Response(format!("a record is not a JSON:API resource ({e})")))?;
    let id = id.ok_or_else(|| Error::Response("a record has no id".to_owned()))?;
    let (at, unreadable) = match value {
        None => (None, None),
        Some(text) => match crate::time::parse(&text) {
            Some(at) => (Some(at), None),
            None => (None, Some(text)),
        },
    };
    Ok(Head { id, at, unreadable })
}

struct HeadSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for HeadSeed<'_> {
    type Value = (Option<String>, Option<String>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeadSeed<'_> {
    type Value = (Option<String>, Option<String>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON:API resource object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        let mut at = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "id" => id = map.next_value::<Scalar>()?.0,
                "attributes" => at = map.next_value_seed(AttributeSeed { field: self.field })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((id, at))
    }
}

struct AttributeSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for AttributeSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttributeSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the attributes object")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.field {
                found = map.next_value::<Scalar>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A string, a number as text, or nothing for anything else.
struct Scalar(Option<String>);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_owned())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("json")
    }

    #[test]
    fn reads_id_and_field_whatever_else_is_there() {
        let r = raw(
            r#"{"type":"profile","id":"01ABC","attributes":{"email":"a@b.c","updated":"2024-01-02 03:04:05+00:00","location":{"updated":"nested is ignored"}},"relationships":{"lists":{"data":[]}},"links":{"self":"x"}}"#,
        );
        let h = head(&r, "updated").expect("reads");
        assert_eq!(h.id, "01ABC");
        assert_eq!(
            h.at.map(crate::time::to_text).as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
    }

    #[test]
    fn attributes_before_id_and_escaped_keys() {
        let r = raw(r#"{"attributes":{"up\u0064ated":"2024-01-02T03:04:05Z"},"id":"x"}"#);
        let h = head(&r, "updated").expect("reads");
        assert_eq!(h.id, "x");
        assert!(h.at.is_some());
    }

    #[test]
    fn missing_null_and_unreadable_fields() {
        let cases = [
            (r#"{"id":"1","attributes":{}}"#, None, None),
            (r#"{"id":"1","attributes":{"updated":null}}"#, None, None),
            (r#"{"id":"1"}"#, None, None),
            (r#"{"id":"1","attributes":null}"#, None, None),
            (
                r#"{"id":"1","attributes":{"updated":"soon"}}"#,
                None,
                Some("soon"),
            ),
            (r#"{"id":"1","attributes":{"updated":{"a":1}}}"#, None, None),
        ];
        for (text, at, unreadable) in cases {
            let h = head(&raw(text), "updated").expect(text);
            assert_eq!(h.at, at, "{text}");
            assert_eq!(h.unreadable.as_deref(), unreadable, "{text}");
        }
    }

    #[test]
    fn numeric_ids_become_text_and_missing_ids_are_errors() {
        assert_eq!(
            head(&raw(r#"{"id":42}"#), "updated").expect("reads").id,
            "42"
        );
        assert!(head(&raw(r#"{"type":"x"}"#), "updated").is_err());
        assert!(head(&raw(r#"[1,2]"#), "updated").is_err());
    }
}
