//! Schemas from Klaviyo's OpenAPI facts, in the dialect the elastic.io
//! mapper reads: `"required": true` on a property, a `title` on each, no
//! OpenAPI-only keywords.

use crate::labels::humanize;
use component_sdk::schema::to_platform_dialect;
use serde_json::{Map, Value, json};

/// `schema` (OpenAPI's dialect) in the platform's, with `title` on top.
pub(super) fn titled(schema: Value, title: &str) -> Value {
    let mut schema = to_platform_dialect(for_the_mapper(schema));
    if let Value::Object(map) = &mut schema {
        map.insert("title".into(), Value::String(title.to_owned()));
    }
    schema
}

/// Titles on every property, and nothing the mapper would misread:
/// `nullable`, `readOnly` and `writeOnly` go (read-only properties with
/// them), a `oneOf` of scalars becomes its first text type (the mapper
/// sends text, which the action turns into what fits) with the values of
/// its alternatives when each lists them, a `oneOf` of objects an object
/// that takes any members; `""` is no value to pick (it means "not set").
pub(super) fn for_the_mapper(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    for keyword in ["nullable", "readOnly", "writeOnly"] {
        map.remove(keyword);
    }
    // `""` means "not set" to the action: the mapper cannot pick it.
    if let Some(Value::Array(options)) = map.get_mut("enum") {
        options.retain(|o| o != "");
    }
    if let Some(Value::Array(alternatives)) = map.remove("oneOf") {
        let types: Vec<&str> = alternatives
            .iter()
            .filter_map(|a| a.get("type").and_then(Value::as_str))
            .collect();
        let scalar = |t: &&str| matches!(*t, "string" | "number" | "integer" | "boolean");
        let chosen = if !types.is_empty() && types.iter().all(scalar) {
            if types.contains(&"string") {
                "string"
            } else {
                types[0]
            }
        } else if types.contains(&"object") {
            "object"
        } else if types.contains(&"array") {
            "array"
        } else {
            "string"
        };
        map.insert("type".into(), Value::String(chosen.to_owned()));
        // Alternatives that are each a list of values: the mapper picks
        // from all of them.
        let enums: Vec<&Vec<Value>> = alternatives
            .iter()
            .filter_map(|a| a.get("enum").and_then(Value::as_array))
            .collect();
        if !enums.is_empty() && enums.len() == alternatives.len() {
            let mut options: Vec<Value> = Vec::new();
            for option in enums.into_iter().flatten() {
                if option != "" && !options.contains(option) {
                    options.push(option.clone());
                }
            }
            map.insert("enum".into(), Value::Array(options));
        }
        if chosen == "array"
            && let Some(items) = alternatives
                .iter()
                .find(|a| a.get("type") == Some(&json!("array")))
                .and_then(|a| a.get("items"))
        {
            map.insert("items".into(), items.clone());
        }
    }
    if let Some(Value::Object(properties)) = map.remove("properties") {
        let mut kept = Map::new();
        for (name, property) in properties {
            if super::schema::is_read_only(&property) {
                continue;
            }
            let mut property = for_the_mapper(property);
            if let Value::Object(p) = &mut property {
                p.insert("title".into(), Value::String(humanize(&name)));
            }
            kept.insert(name, property);
        }
        if let Some(Value::Array(required)) = map.get_mut("required") {
            required.retain(|r| r.as_str().is_some_and(|n| kept.contains_key(n)));
        }
        map.insert("properties".into(), Value::Object(kept));
    }
    if let Some(items) = map.remove("items") {
        map.insert("items".into(), for_the_mapper(items));
    }
    Value::Object(map)
}

/// The schema of an object the action makes itself (for writes Klaviyo
/// answers without a body), from `(name, type, description, required)`.
pub(super) fn object(title: &str, members: &[(&str, &str, &str, bool)]) -> Value {
    let mut properties = Map::new();
    for (name, kind, description, required) in members {
        let mut p = json!({"type": kind, "title": humanize(name), "description": description});
        if *required {
            p["required"] = Value::Bool(true);
        }
        properties.insert((*name).to_owned(), p);
    }
    json!({"type": "object", "title": title, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapper_gets_titles_flags_and_plain_types() {
        let schema = json!({"type": "object", "required": ["email", "created"], "properties": {
            "email": {"type": "string", "nullable": true},
            "created": {"type": "string", "readOnly": true},
            "latitude": {"oneOf": [{"type": "number"}, {"type": "string"}], "nullable": true},
            "unset": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "definition": {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "object"}]},
            "location": {"type": "object", "properties": {"zip_code": {"type": "string"}}}
        }});
        assert_eq!(
            titled(schema, "Profile"),
            json!({"type": "object", "title": "Profile", "properties": {
                "email": {"type": "string", "title": "Email", "required": true},
                "latitude": {"type": "string", "title": "Latitude"},
                "unset": {"type": "array", "title": "Unset", "items": {"type": "string"}},
                "definition": {"type": "object", "title": "Definition"},
                "location": {"type": "object", "title": "Location", "properties": {
                    "zip_code": {"type": "string", "title": "Zip Code"}
                }}
            }})
        );
    }

    #[test]
    fn a_profile_import_flattened_for_the_mapper() {
        let document = klaviyo_spec::for_revision("2026-10-15")
            .request_schema(klaviyo_spec::Method::Post, "/profile-import")
            .expect("schema");
        let flat = super::super::jsonapi::input_schema(&document).expect("a document");
        let input = titled(flat, "Profile");
        assert_eq!(input["title"], "Profile");
        assert_eq!(input["properties"]["email"]["title"], "Email");
        assert_eq!(input["properties"]["external_id"]["title"], "External ID");
        assert_eq!(input["properties"]["phone_number"]["type"], "string");
        assert!(input.get("required").is_none());
        assert!(!input.to_string().contains("nullable"));
    }
}
