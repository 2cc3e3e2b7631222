//! The values the platform's mapper sends, made into what the request
//! schema asks for.
//!
//! The mapper writes every value it maps as text: `"12.5"` for a number,
//! `"true"` for a boolean, `"on"` for a checked box, and `""` for a field
//! nothing was mapped to. Klaviyo wants JSON types, and an empty string
//! where a phone number goes is a malformed phone number, not "no phone
//! number". So, guided by the schema of the place each value goes:
//!
//! - `""` (or only spaces) means "not set": the member is left out;
//! - text that is a number where the schema wants a number becomes one;
//! - `true`/`on`/`false`/`off` (any case) where it wants a boolean;
//! - a number or boolean where it wants text becomes its text (a zip code
//!   mapped from a number);
//! - a single value where it wants a list becomes a list of one.
//!
//! Anything else is left as it is, for [`super::validate`] to name.
//! Members the schema does not describe, and everything inside a free-form
//! object (a profile's or an event's custom `properties`), pass unchanged.

use serde_json::{Map, Number, Value};

use super::schema::{primary_type, properties};
use super::validate;
use super::values::boolean;

/// `value` as `schema` wants it; `None` when it stands for "not set".
pub(super) fn coerce(value: Value, schema: &Value) -> Option<Value> {
    if let Value::String(s) = &value
        && s.trim().is_empty()
    {
        return None;
    }
    if let Some(Value::Array(alternatives)) = schema.get("oneOf") {
        return Some(one_of(value, alternatives));
    }
    Some(match primary_type(schema) {
        Some("integer") => match &value {
            Value::String(s) => integer(s.trim()).unwrap_or(value),
            _ => value,
        },
        Some("number") => match &value {
            Value::String(s) => number(s.trim()).unwrap_or(value),
            _ => value,
        },
        Some("boolean") => match &value {
            Value::String(s) => boolean(s).map(Value::Bool).unwrap_or(value),
            _ => value,
        },
        Some("string") => match value {
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            other => other,
        },
        Some("array") => {
            let items = schema.get("items").unwrap_or(&Value::Null);
            match value {
                Value::Array(values) => Value::Array(
                    values
                        .into_iter()
                        .filter_map(|v| coerce(v, items))
                        .collect(),
                ),
                Value::Null => Value::Null,
                single => Value::Array(coerce(single, items).into_iter().collect()),
            }
        }
        Some("object") | None => match value {
            Value::Object(members) => Value::Object(object(members, schema)),
            other => other,
        },
        Some(_) => value,
    })
}

/// The members of an object: those the schema describes coerced (and left
/// out when not set), the others untouched.
fn object(members: Map<String, Value>, schema: &Value) -> Map<String, Value> {
    let Some(properties) = properties(schema) else {
        return members;
    };
    members
        .into_iter()
        .filter_map(|(key, value)| match properties.get(&key) {
            Some(property) => coerce(value, property).map(|v| (key, v)),
            None => Some((key, value)),
        })
        .collect()
}

/// The first alternative the value can be made to fit; unchanged when it
/// fits none.
fn one_of(value: Value, alternatives: &[Value]) -> Value {
    for alternative in alternatives {
        if let Some(candidate) = coerce(value.clone(), alternative)
            && validate::check(&candidate, alternative).is_empty()
        {
            return candidate;
        }
    }
    value
}

/// `"42"` → 42; not `"4.0"`, `"4e2"` or `"0x10"`.
fn integer(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::Number(n.into()));
    }
    text.parse::<u64>().ok().map(|n| Value::Number(n.into()))
}

/// `"12.5"`, `"-3"`, `"1e3"` → the number, digit for digit.
fn number(text: &str) -> Option<Value> {
    let n: Number = serde_json::from_str(text).ok()?;
    Some(Value::Number(n))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_from_the_mapper_becomes_what_the_schema_wants() {
        let cases: &[(Value, Value, Option<Value>)] = &[
            (json!(""), json!({"type": "string"}), None),
            (json!("   "), json!({"type": "number"}), None),
            (
                json!(" Ada "),
                json!({"type": "string"}),
                Some(json!(" Ada ")),
            ),
            (json!("12.5"), json!({"type": "number"}), Some(json!(12.5))),
            (json!("-3"), json!({"type": "number"}), Some(json!(-3))),
            (json!("7"), json!({"type": "integer"}), Some(json!(7))),
            (json!("7.5"), json!({"type": "integer"}), Some(json!("7.5"))),
            (
                json!("seven"),
                json!({"type": "number"}),
                Some(json!("seven")),
            ),
            (json!("on"), json!({"type": "boolean"}), Some(json!(true))),
            (json!("TRUE"), json!({"type": "boolean"}), Some(json!(true))),
            (json!("off"), json!({"type": "boolean"}), Some(json!(false))),
            (
                json!("maybe"),
                json!({"type": "boolean"}),
                Some(json!("maybe")),
            ),
            (
                json!(12345),
                json!({"type": "string"}),
                Some(json!("12345")),
            ),
            (json!(true), json!({"type": "string"}), Some(json!("true"))),
            (
                json!("a"),
                json!({"type": "array", "items": {"type": "string"}}),
                Some(json!(["a"])),
            ),
            (
                json!(["1", "", "2"]),
                json!({"type": "array", "items": {"type": "integer"}}),
                Some(json!([1, 2])),
            ),
            (
                json!(null),
                json!({"type": "string", "nullable": true}),
                Some(json!(null)),
            ),
            // string or number: text that is a string stays text
            (
                json!("51.5"),
                json!({"oneOf": [{"type": "string"}, {"type": "number"}]}),
                Some(json!("51.5")),
            ),
            (
                json!("5"),
                json!({"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}),
                Some(json!(5)),
            ),
        ];
        for (value, schema, want) in cases {
            assert_eq!(
                coerce(value.clone(), schema),
                want.clone(),
                "{value} as {schema}"
            );
        }
    }

    #[test]
    fn objects_lose_their_unset_members_but_free_form_ones_keep_theirs() {
        let schema = json!({"type": "object", "properties": {
            "email": {"type": "string"},
            "age": {"type": "integer"},
            "location": {"type": "object", "properties": {"zip": {"type": "string"}, "latitude": {"type": "number"}}},
            "properties": {"type": "object"}
        }});
        let value = json!({
            "email": "",
            "age": "41",
            "location": {"zip": 10115, "latitude": ""},
            "properties": {"note": "", "count": "2"},
            "unknown": ""
        });
        assert_eq!(
            coerce(value, &schema),
            Some(json!({
                "age": 41,
                "location": {"zip": "10115"},
                "properties": {"note": "", "count": "2"},
                "unknown": ""
            }))
        );
    }

    #[test]
    fn numbers_beyond_i64_and_with_exponents() {
        assert_eq!(
            coerce(json!("18446744073709551615"), &json!({"type": "integer"})),
            Some(json!(18446744073709551615u64))
        );
        assert_eq!(
            coerce(json!("1e3"), &json!({"type": "number"})),
            Some(json!(1000.0))
        );
        assert_eq!(
            coerce(json!("0x10"), &json!({"type": "number"})),
            Some(json!("0x10"))
        );
    }
}
