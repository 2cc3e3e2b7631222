//! Reading the request schemas of Klaviyo's revisions (OpenAPI 3.0's
//! dialect of JSON Schema, as `klaviyo_spec::RevisionSpec::request_schema`
//! gives them) and pointing into the documents they describe. The leaf
//! under the schema code: [`super::validate`] checks a document against a
//! schema, [`super::coerce`] makes the mapper's text what a schema wants,
//! [`super::jsonapi`] flattens and builds the JSON:API envelope.

use serde_json::{Map, Value};

/// The members a schema declares.
pub(super) fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Whether `schema` requires its member `name`.
pub(super) fn is_required(schema: &Value, name: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|n| n == name))
}

/// Whether Klaviyo sets the member `schema` describes and a request may not.
pub(super) fn is_read_only(schema: &Value) -> bool {
    schema.get("readOnly") == Some(&Value::Bool(true))
}

/// The schema's type, or the first non-null one of a list of types.
pub(super) fn primary_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// A member name as a JSON pointer segment.
pub(super) fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer segment as the member name.
pub(super) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(unescape("a~1b~0c"), "a/b~c");
    }

    #[test]
    fn types_and_flags() {
        assert_eq!(
            primary_type(&json!({"type": ["null", "string"]})),
            Some("string")
        );
        assert_eq!(primary_type(&json!({})), None);
        let s = json!({"required": ["a"], "properties": {"a": {"readOnly": true}}});
        assert!(is_required(&s, "a") && !is_required(&s, "b"));
        assert!(is_read_only(&s["properties"]["a"]));
    }
}
