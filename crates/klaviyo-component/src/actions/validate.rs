//! Checking a request body against the revision's request schema before it
//! is sent, so that nothing goes out that the OpenAPI file says Klaviyo
//! rejects, and the user learns which field to fix from us, in words, rather
//! than from a 400.
//!
//! The schemas are OpenAPI 3.0's dialect of JSON Schema as
//! `klaviyo_spec::RevisionSpec::request_schema` gives them: `type`,
//! `nullable`, `enum`, `format`, `required`, `properties`, `items`,
//! `oneOf`, `readOnly`, `maxProperties`. An object that declares its
//! properties takes no others (Klaviyo refuses unknown attributes); one that
//! declares none (custom `properties`) takes anything. `oneOf` is satisfied
//! by any alternative, as Klaviyo's own parser is.
//!
//! [`check`] reports where (a JSON pointer into the body, the form Klaviyo's
//! own `source.pointer` takes) and what; [`super::jsonapi`] turns the
//! pointer into the field of the input metadata.

use serde_json::Value;

use component_sdk::config::describe;

use super::schema::{escape, is_read_only, primary_type, properties};

/// One thing wrong with a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Violation {
    /// Where, as a JSON pointer into the body: `/data/attributes/email`.
    pub pointer: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// A required member is absent.
    Missing,
    /// `expected` is "text", "a number", …; `got` describes the value.
    WrongType { expected: String, got: String },
    /// Not one of the enum's values.
    NotAllowed { allowed: Vec<String>, got: String },
    /// A string that is not in the declared format.
    Format { expected: &'static str, got: String },
    /// Klaviyo sets this member; a request may not.
    ReadOnly,
    /// The object declares its members and this is none of them;
    /// `suggestion` is the member it is most likely a typo of.
    Unknown { suggestion: Option<String> },
    /// More members than `maxProperties`.
    TooMany { max: u64 },
}

/// Everything wrong with `value` as an instance of `schema`, in document
/// order; empty when it is valid.
pub(super) fn check(value: &Value, schema: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    walk(value, schema, &mut String::new(), &mut out);
    out
}

fn walk(value: &Value, schema: &Value, pointer: &mut String, out: &mut Vec<Violation>) {
    if let Some(Value::Array(alternatives)) = schema.get("oneOf") {
        let mut best: Option<Vec<Violation>> = None;
        for alternative in alternatives {
            let mut found = Vec::new();
            walk(value, alternative, pointer, &mut found);
            if found.is_empty() {
                return;
            }
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        out.extend(best.unwrap_or_default());
        return;
    }
    let violation = |problem| Violation {
        pointer: pointer.clone(),
        problem,
    };
    if value.is_null() {
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        if primary_type(schema).is_some() && !nullable {
            out.push(violation(Problem::WrongType {
                expected: expected(schema),
                got: describe(value),
            }));
        }
        return;
    }
    if let Some(t) = primary_type(schema)
        && !has_type(value, t)
    {
        out.push(violation(Problem::WrongType {
            expected: expected(schema),
            got: describe(value),
        }));
        return;
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        out.push(violation(Problem::NotAllowed {
            allowed: allowed.iter().map(shown).collect(),
            got: describe(value),
        }));
        return;
    }
    if let (Some(format), Value::String(text)) =
        (schema.get("format").and_then(Value::as_str), value)
        && let Some(expected) = bad_format(format, text)
    {
        out.push(violation(Problem::Format {
            expected,
            got: describe(value),
        }));
        return;
    }
    match value {
        Value::Object(members) => {
            let properties = properties(schema);
            if let Some(Value::Array(required)) = schema.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !members.contains_key(name) {
                        let at = child(pointer, name);
                        out.push(Violation {
                            pointer: at,
                            problem: Problem::Missing,
                        });
                    }
                }
            }
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && members.len() as u64 > max
            {
                out.push(violation(Problem::TooMany { max }));
            }
            let open = match schema.get("additionalProperties") {
                None => properties.is_none(),
                Some(Value::Bool(b)) => *b,
                Some(_) => true,
            };
            for (name, member) in members {
                let before = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape(name));
                match properties.and_then(|p| p.get(name)) {
                    Some(property) if is_read_only(property) => {
                        out.push(Violation {
                            pointer: pointer.clone(),
                            problem: Problem::ReadOnly,
                        });
                    }
                    Some(property) => walk(member, property, pointer, out),
                    None if open => {
                        if let Some(extra) =
                            schema.get("additionalProperties").filter(|a| a.is_object())
                        {
                            walk(member, extra, pointer, out);
                        }
                    }
                    None => {
                        let names = properties
                            .into_iter()
                            .flat_map(|p| p.iter())
                            .filter(|(_, p)| !is_read_only(p))
                            .map(|(k, _)| k.as_str());
                        out.push(Violation {
                            pointer: pointer.clone(),
                            problem: Problem::Unknown {
                                suggestion: component_sdk::config::closest(name, names)
                                    .map(str::to_owned),
                            },
                        });
                    }
                }
                pointer.truncate(before);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let before = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    walk(item, item_schema, pointer, out);
                    pointer.truncate(before);
                }
            }
        }
        _ => {}
    }
}

fn child(pointer: &str, name: &str) -> String {
    format!("{pointer}/{}", escape(name))
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// What the schema wants, in words.
fn expected(schema: &Value) -> String {
    match primary_type(schema) {
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "a date and time (ISO 8601)".to_owned(),
            Some("date") => "a date (YYYY-MM-DD)".to_owned(),
            _ => "text".to_owned(),
        },
        Some("integer") => "a whole number".to_owned(),
        Some("number") => "a number".to_owned(),
        Some("boolean") => "true or false".to_owned(),
        Some("array") => "a list".to_owned(),
        Some("object") => "an object".to_owned(),
        Some(other) => other.to_owned(),
        None => "a value".to_owned(),
    }
}

/// The expected form when `text` is not in `format`.
fn bad_format(format: &str, text: &str) -> Option<&'static str> {
    match format {
        "date-time" if crate::time::parse(text).is_none() => {
            Some("a date and time in ISO 8601, such as 2026-01-31T12:00:00Z")
        }
        "date" if chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_err() => {
            Some("a date such as 2026-01-31")
        }
        _ => None,
    }
}

/// An enum value as a message lists it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["data"], "properties": {"data": {
            "type": "object", "required": ["type", "attributes"],
            "properties": {
                "type": {"type": "string", "enum": ["profile"]},
                "id": {"type": "string", "nullable": true},
                "attributes": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "nullable": true},
                    "age": {"type": "integer"},
                    "score": {"type": "number", "nullable": true},
                    "opted": {"type": "boolean"},
                    "when": {"type": "string", "format": "date-time"},
                    "born": {"type": "string", "format": "date"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "created": {"type": "string", "readOnly": true},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "latitude": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                    "properties": {"type": "object"},
                    "location": {"type": "object", "properties": {"city": {"type": "string"}}}
                }}
            }
        }}})
    }

    fn problems(attributes: Value) -> Vec<(String, Problem)> {
        let body = json!({"data": {"type": "profile", "attributes": attributes}});
        check(&body, &schema())
            .into_iter()
            .map(|v| (v.pointer, v.problem))
            .collect()
    }

    #[test]
    fn a_valid_body_has_no_violations() {
        assert_eq!(
            problems(json!({
                "name": "Ada", "email": null, "age": 41, "score": 2.5, "opted": true,
                "when": "2026-01-31T12:00:00Z", "born": "1815-12-10", "kind": "a",
                "tags": ["x"], "latitude": 51.5, "properties": {"anything": [1, {"x": null}]},
                "location": {"city": "London"}
            })),
            vec![]
        );
        assert_eq!(problems(json!({"name": "Ada", "latitude": "51.5"})), vec![]);
    }

    #[test]
    fn each_violation_says_where_and_what() {
        let at = |name: &str| format!("/data/attributes/{name}");
        let cases: Vec<(Value, Vec<(String, Problem)>)> = vec![
            (json!({}), vec![(at("name"), Problem::Missing)]),
            (
                json!({"name": 5}),
                vec![(
                    at("name"),
                    Problem::WrongType {
                        expected: "text".into(),
                        got: "5".into(),
                    },
                )],
            ),
            (
                json!({"name": null}),
                vec![(
                    at("name"),
                    Problem::WrongType {
                        expected: "text".into(),
                        got: "nothing".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "age": 4.5}),
                vec![(
                    at("age"),
                    Problem::WrongType {
                        expected: "a whole number".into(),
                        got: "4.5".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "opted": "yes"}),
                vec![(
                    at("opted"),
                    Problem::WrongType {
                        expected: "true or false".into(),
                        got: "\"yes\"".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "kind": "c"}),
                vec![(
                    at("kind"),
                    Problem::NotAllowed {
                        allowed: vec!["a".into(), "b".into()],
                        got: "\"c\"".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "when": "tomorrow"}),
                vec![(
                    at("when"),
                    Problem::Format {
                        expected: "a date and time in ISO 8601, such as 2026-01-31T12:00:00Z",
                        got: "\"tomorrow\"".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "born": "10/12/1815"}),
                vec![(
                    at("born"),
                    Problem::Format {
                        expected: "a date such as 2026-01-31",
                        got: "\"10/12/1815\"".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "created": "2026-01-01"}),
                vec![(at("created"), Problem::ReadOnly)],
            ),
            (
                json!({"name": "x", "emal": "a@b.c"}),
                vec![(
                    at("emal"),
                    Problem::Unknown {
                        suggestion: Some("email".into()),
                    },
                )],
            ),
            (
                json!({"name": "x", "nonsense": 1}),
                vec![(at("nonsense"), Problem::Unknown { suggestion: None })],
            ),
            (
                json!({"name": "x", "tags": ["a", 2]}),
                vec![(
                    format!("{}/1", at("tags")),
                    Problem::WrongType {
                        expected: "text".into(),
                        got: "2".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "latitude": true}),
                vec![(
                    at("latitude"),
                    Problem::WrongType {
                        expected: "text".into(),
                        got: "true".into(),
                    },
                )],
            ),
            (
                json!({"name": "x", "location": {"town": "x"}}),
                vec![(
                    format!("{}/town", at("location")),
                    Problem::Unknown { suggestion: None },
                )],
            ),
        ];
        for (attributes, want) in cases {
            assert_eq!(problems(attributes.clone()), want, "{attributes}");
        }
    }

    #[test]
    fn the_envelope_is_checked_too() {
        let body = json!({"data": {"type": "list", "attributes": {"name": "x"}}});
        assert_eq!(
            check(&body, &schema()),
            vec![Violation {
                pointer: "/data/type".into(),
                problem: Problem::NotAllowed {
                    allowed: vec!["profile".into()],
                    got: "\"list\"".into()
                }
            }]
        );
        assert_eq!(
            check(&json!({}), &schema()),
            vec![Violation {
                pointer: "/data".into(),
                problem: Problem::Missing
            }]
        );
    }
}
