//! Request bodies checked against the revision's request schema (from
//! klaviyo-spec, OpenAPI 3.0's flavour of JSON Schema), the way Klaviyo
//! answers them: the first problem found, as a 400 whose `source.pointer`
//! is the member's JSON pointer.
//!
//! Written here rather than taken from a JSON Schema crate: the schemas use
//! only `type`, `properties`, `required`, `enum`, `items`, `nullable`,
//! `oneOf`, `format`, `readOnly`, `writeOnly`, `maxProperties` and `default`
//! (counted over every request schema of every revision), OpenAPI 3.0's
//! `nullable` is not JSON Schema's, and Klaviyo's rule for members a schema
//! does not declare (refused, though no schema says `additionalProperties:
//! false`) is its own. `anyOf`, `allOf` and `additionalProperties` are
//! handled too, for files to come.
//!
//! The rules, and where each comes from:
//! - a member the object's `properties` do not declare is refused, as
//!   Klaviyo does ("'last_name' is not a valid field for the resource
//!   'profile'.", verbb/formie#1986; klaviyo-api-node#67); an object without
//!   `properties` (e.g. a profile's custom `properties`) takes anything;
//! - `null` only where `nullable: true` (or the schema says nothing at all);
//! - types are strict: `"5"` is not an integer, `5.5` is not one either;
//! - `oneOf`/`anyOf`: at least one branch must accept the value (branches
//!   that overlap are not refused for it);
//! - `readOnly` members are accepted and ignored: they are the nullable ids
//!   a template or flow definition carries when read, and OpenAPI 3.0 says
//!   only that they SHOULD NOT be sent; a required `readOnly` member is not
//!   required in a request;
//! - `format: date-time` and `date` are checked as Klaviyo parses them
//!   (ISO 8601, `T` or a space, optional offset; a bare date for date-time
//!   too); members named `email` must look like an email address and
//!   `phone_number` like E.164 (`+` and 7 to 15 digits).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

/// The first problem found in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// JSON pointer of the offending member, e.g. `/data/attributes/email`.
    pub pointer: String,
    pub detail: String,
}

/// The request schema of `method path` in table revision `rev_idx`, parsed
/// once per process (`POST /flows` is about 1.8 MB once resolved).
pub(crate) fn request_schema(
    rev_idx: usize,
    method: klaviyo_spec::Method,
    path: &'static str,
) -> Option<Arc<Value>> {
    type Cache = Mutex<HashMap<(usize, klaviyo_spec::Method, &'static str), Option<Arc<Value>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(rev_idx, method, path))
    {
        return s.clone();
    }
    // Parsed outside the lock: other revisions' requests need not wait.
    let parsed = klaviyo_spec::revisions()
        .get(rev_idx)
        .and_then(|r| r.request_schema(method, path))
        .map(Arc::new);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((rev_idx, method, path), parsed.clone());
    parsed
}

/// Checks `doc` (the whole request body) against `schema`.
pub(crate) fn validate(schema: &Value, doc: &Value) -> Result<(), Problem> {
    Walker { path: Vec::new() }.check(schema, doc, "document", "document")
}

struct Walker {
    /// Pointer segments down to the value being checked.
    path: Vec<String>,
}

impl Walker {
    fn problem(&self, detail: String) -> Problem {
        Problem {
            pointer: pointer(&self.path),
            detail,
        }
    }

    fn at<T>(&mut self, seg: String, f: impl FnOnce(&mut Walker) -> T) -> T {
        self.path.push(seg);
        let out = f(self);
        self.path.pop();
        out
    }

    /// `value` against `schema`; `name` is the member's name for messages,
    /// `resource` what Klaviyo calls the object a member belongs to.
    fn check(
        &mut self,
        schema: &Value,
        value: &Value,
        name: &str,
        resource: &str,
    ) -> Result<(), Problem> {
        let Some(s) = schema.as_object() else {
            return Ok(());
        };
        if flag(s, "readOnly") {
            return Ok(());
        }
        if value.is_null() {
            return if flag(s, "nullable") || unconstrained(s) {
                Ok(())
            } else {
                Err(self.problem(format!("'{name}' may not be null.")))
            };
        }
        if let Some(t) = s.get("type").and_then(Value::as_str)
            && !has_type(value, t)
        {
            return Err(self.problem(format!(
                "Invalid value for '{name}': expected {}, got {}.",
                article(t),
                article(kind(value))
            )));
        }
        if let Some(choices) = s.get("enum").and_then(Value::as_array)
            && !choices.contains(value)
        {
            let list: Vec<String> = choices.iter().map(shown).collect();
            return Err(self.problem(format!(
                "{} is not a valid choice for '{name}'. Valid choices: {}.",
                shown(value),
                list.join(", ")
            )));
        }
        if let Value::String(text) = value {
            self.check_text(s, text, name)?;
        }
        self.check_branches(s, value, name, resource)?;
        match value {
            Value::Object(members) => self.check_object(s, members, resource),
            Value::Array(items) => match s.get("items") {
                Some(item_schema) => {
                    for (i, item) in items.iter().enumerate() {
                        self.at(i.to_string(), |w| {
                            w.check(item_schema, item, name, resource)
                        })?;
                    }
                    Ok(())
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Formats Klaviyo checks, and identifiers by their member's name.
    fn check_text(&self, s: &Map<String, Value>, text: &str, name: &str) -> Result<(), Problem> {
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") if !is_datetime(text) => {
                return Err(self.problem(format!(
                    "'{text}' is not a valid datetime for '{name}'; use ISO 8601, e.g. 2024-05-01T12:00:00+00:00."
                )));
            }
            Some("date") if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() => {
                return Err(self.problem(format!(
                    "'{text}' is not a valid date for '{name}'; use YYYY-MM-DD."
                )));
            }
            _ => {}
        }
        match name {
            "email" if !is_email(text) => {
                Err(self.problem(format!("Invalid email address: '{text}'.")))
            }
            "phone_number" if !is_phone(text) => Err(self.problem(format!(
                "Invalid phone number format: '{text}' (example of a valid format: +12345678901)."
            ))),
            _ => Ok(()),
        }
    }

    /// `allOf`: every branch; `oneOf`/`anyOf`: at least one. When none
    /// accepts, the problem of the branch that got furthest into the value.
    fn check_branches(
        &mut self,
        s: &Map<String, Value>,
        value: &Value,
        name: &str,
        resource: &str,
    ) -> Result<(), Problem> {
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for b in all {
                self.check(b, value, name, resource)?;
            }
        }
        for key in ["oneOf", "anyOf"] {
            let Some(branches) = s.get(key).and_then(Value::as_array) else {
                continue;
            };
            let mut best: Option<Problem> = None;
            let mut accepted = false;
            for b in branches {
                let mut w = Walker {
                    path: self.path.clone(),
                };
                match w.check(b, value, name, resource) {
                    Ok(()) => {
                        accepted = true;
                        break;
                    }
                    Err(p) => {
                        let deeper = best
                            .as_ref()
                            .is_none_or(|b| depth(&p.pointer) > depth(&b.pointer));
                        if deeper {
                            best = Some(p);
                        }
                    }
                }
            }
            if !accepted && !branches.is_empty() {
                let here = pointer(&self.path);
                return Err(match best {
                    Some(p) if p.pointer != here => p,
                    _ => self.problem(format!(
                        "Invalid value for '{name}': it matches none of the forms this field accepts."
                    )),
                });
            }
        }
        Ok(())
    }

    fn check_object(
        &mut self,
        s: &Map<String, Value>,
        members: &Map<String, Value>,
        resource: &str,
    ) -> Result<(), Problem> {
        let props = s.get("properties").and_then(Value::as_object);
        let extra = s.get("additionalProperties");
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
            && members.len() as u64 > max
        {
            return Err(self.problem(format!(
                "At most {max} members are allowed here; got {}.",
                members.len()
            )));
        }
        // Undeclared members first: Klaviyo names them before anything else.
        for (k, v) in members {
            if props.is_some_and(|p| p.contains_key(k)) {
                continue;
            }
            match extra {
                Some(Value::Bool(true)) => {}
                Some(extra @ Value::Object(_)) => {
                    self.at(k.clone(), |w| w.check(extra, v, k, k))?;
                }
                // Absent with declared properties, or `false`: refused.
                Some(Value::Bool(false)) | None if props.is_some() || extra.is_some() => {
                    return Err(self.at(k.clone(), |w| {
                        w.problem(format!(
                            "'{k}' is not a valid field for the resource '{resource}'."
                        ))
                    }));
                }
                _ => {}
            }
        }
        let Some(props) = props else {
            return Ok(());
        };
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(r) = r.as_str() else { continue };
            let read_only = props
                .get(r)
                .and_then(Value::as_object)
                .is_some_and(|p| flag(p, "readOnly"));
            if !members.contains_key(r) && !read_only {
                return Err(self.at(r.to_owned(), |w| {
                    w.problem(format!(
                        "'{r}' is a required field for the resource '{resource}'."
                    ))
                }));
            }
        }
        // What the members of `attributes` belong to: the resource `type`.
        let own_type = props
            .get("type")
            .and_then(|t| t.get("enum"))
            .and_then(Value::as_array)
            .and_then(|e| e.first())
            .and_then(Value::as_str);
        for (k, v) in members {
            let Some(ps) = props.get(k) else { continue };
            let child = if k == "attributes" {
                own_type.unwrap_or(resource).to_owned()
            } else {
                k.clone()
            };
            self.at(k.clone(), |w| w.check(ps, v, k, &child))?;
        }
        Ok(())
    }
}

/// `/data/attributes/email`, escaped as RFC 6901 says.
fn pointer(path: &[String]) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn depth(pointer: &str) -> usize {
    pointer.matches('/').count()
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A schema that says nothing about its value (`{}`, or a description only).
fn unconstrained(s: &Map<String, Value>) -> bool {
    ![
        "type",
        "enum",
        "oneOf",
        "anyOf",
        "allOf",
        "properties",
        "items",
    ]
    .iter()
    .any(|k| s.contains_key(*k))
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => true,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn article(t: &str) -> String {
    match t {
        "integer" | "array" | "object" => format!("an {t}"),
        "null" => "null".to_owned(),
        _ => format!("a {t}"),
    }
}

/// A value as an error quotes it: strings in single quotes.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// ISO 8601 as Klaviyo parses it: `crate::time::parse_stored`'s forms.
fn is_datetime(s: &str) -> bool {
    crate::time::parse_stored(s).is_some()
}

/// One `@`, something before it, a dotted domain after it, no spaces.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.contains(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// E.164: `+`, then 7 to 15 digits, the first not 0.
pub(crate) fn is_phone(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["data"], "properties": {"data": {
            "type": "object", "required": ["type", "attributes"], "properties": {
                "type": {"type": "string", "enum": ["profile"]},
                "id": {"type": "string", "nullable": true},
                "attributes": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "nullable": true},
                    "count": {"type": "integer", "nullable": true},
                    "at": {"type": "string", "format": "date-time", "nullable": true},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "lat": {"nullable": true, "oneOf": [{"type": "string"}, {"type": "number"}]},
                    "properties": {"type": "object", "nullable": true},
                    "tid": {"type": "string", "readOnly": true},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "boolean"}}}}
                }}
            }
        }}})
    }

    fn problem(doc: Value) -> Option<(String, String)> {
        validate(&schema(), &doc)
            .err()
            .map(|p| (p.pointer, p.detail))
    }

    fn attrs(a: Value) -> Value {
        json!({"data": {"type": "profile", "attributes": a}})
    }

    #[test]
    fn accepts_what_the_schema_allows() {
        for a in [
            json!({"name": "x"}),
            json!({"name": "x", "email": null, "count": 3, "at": "2024-05-01T12:00:00Z", "kind": "a",
                   "lat": 1.5, "properties": {"anything": [1, {"deep": null}]}, "tid": 7, "items": [{"x": true}]}),
            json!({"name": "x", "lat": "51.5", "at": "2024-05-01 12:00:00+02:00", "email": "a@b.co"}),
            json!({"name": "x", "at": "2024-05-01"}),
        ] {
            assert_eq!(problem(attrs(a.clone())), None, "{a}");
        }
    }

    #[test]
    fn names_the_first_problem_with_its_pointer() {
        let cases = [
            (
                json!({}),
                "/data",
                "'data' is a required field for the resource 'document'.",
            ),
            (
                json!({"data": {"type": "profile"}}),
                "/data/attributes",
                "'attributes' is a required field for the resource 'data'.",
            ),
            (
                attrs(json!({})),
                "/data/attributes/name",
                "'name' is a required field for the resource 'profile'.",
            ),
            (
                attrs(json!({"name": "x", "last": "y"})),
                "/data/attributes/last",
                "'last' is not a valid field for the resource 'profile'.",
            ),
            (
                attrs(json!({"name": null})),
                "/data/attributes/name",
                "'name' may not be null.",
            ),
            (
                attrs(json!({"name": 5})),
                "/data/attributes/name",
                "Invalid value for 'name': expected a string, got an integer.",
            ),
            (
                attrs(json!({"name": "x", "count": "5"})),
                "/data/attributes/count",
                "Invalid value for 'count': expected an integer, got a string.",
            ),
            (
                attrs(json!({"name": "x", "count": 5.5})),
                "/data/attributes/count",
                "Invalid value for 'count': expected an integer, got a number.",
            ),
            (
                attrs(json!({"name": "x", "kind": "c"})),
                "/data/attributes/kind",
                "'c' is not a valid choice for 'kind'. Valid choices: 'a', 'b'.",
            ),
            (
                attrs(json!({"name": "x", "at": "yesterday"})),
                "/data/attributes/at",
                "'yesterday' is not a valid datetime for 'at'; use ISO 8601, e.g. 2024-05-01T12:00:00+00:00.",
            ),
            (
                attrs(json!({"name": "x", "email": "nope"})),
                "/data/attributes/email",
                "Invalid email address: 'nope'.",
            ),
            (
                attrs(json!({"name": "x", "lat": true})),
                "/data/attributes/lat",
                "Invalid value for 'lat': it matches none of the forms this field accepts.",
            ),
            (
                attrs(json!({"name": "x", "items": [{"x": true}, {"x": 1}]})),
                "/data/attributes/items/1/x",
                "Invalid value for 'x': expected a boolean, got an integer.",
            ),
            (
                attrs(json!({"name": "x", "items": [{"y": 1}]})),
                "/data/attributes/items/0/y",
                "'y' is not a valid field for the resource 'items'.",
            ),
            (
                json!({"data": {"type": "list", "attributes": {"name": "x"}}}),
                "/data/type",
                "'list' is not a valid choice for 'type'. Valid choices: 'profile'.",
            ),
        ];
        for (doc, ptr, detail) in cases {
            assert_eq!(
                problem(doc.clone()),
                Some((ptr.to_owned(), detail.to_owned())),
                "{doc}"
            );
        }
    }

    #[test]
    fn one_of_reports_the_branch_that_got_furthest() {
        let s = json!({"oneOf": [
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["a"]}, "n": {"type": "integer"}}},
            {"type": "object", "required": ["other"], "properties": {"other": {"type": "string"}}}
        ]});
        let p = validate(&s, &json!({"kind": "a", "n": "x"})).expect_err("bad n");
        assert_eq!(p.pointer, "/n");
        assert!(validate(&s, &json!({"other": "y"})).is_ok());
    }

    #[test]
    fn identifiers() {
        assert!(is_email("ada.lovelace+x@example.co.uk"));
        for bad in ["", "a", "a@b", "@b.c", "a@b..c", "a b@c.d", "a@b@c.d"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_phone("+15005550006"));
        for bad in [
            "15005550006",
            "+1",
            "+1-500-555",
            "+0123456789",
            "+1234567890123456",
        ] {
            assert!(!is_phone(bad), "{bad}");
        }
    }

    #[test]
    fn every_request_schema_of_every_revision_parses_and_accepts_no_empty_body() {
        for (i, rev) in klaviyo_spec::revisions().iter().enumerate() {
            for op in rev
                .operations
                .iter()
                .filter(|o| o.body.is_some_and(|b| b.data_type.is_some()))
            {
                let s = request_schema(i, op.method, op.path).expect("schema");
                assert!(
                    validate(&s, &json!({})).is_err(),
                    "{} {} {}",
                    rev.revision,
                    op.method,
                    op.path
                );
            }
        }
    }
}
