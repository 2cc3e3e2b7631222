//! JSON schemas in the dialect the elastic.io UI reads.
//!
//! The platform's mapper understands draft-3 style schemas: a property is
//! required when it carries `"required": true`, not when it is listed in the
//! object's `required` array. Schemas for Rust types come from schemars and
//! are rewritten here.

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The platform schema of `T`.
pub fn platform_schema<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("$schema");
        map.remove("definitions");
        map.remove("$defs");
    }
    to_platform_dialect(value)
}

/// Rewrite `required: [..]` arrays into `"required": true` on each property,
/// at every level.
pub fn to_platform_dialect(value: Value) -> Value {
    match value {
        Value::Object(mut map) => {
            let required: Vec<String> = match map.get("required") {
                Some(Value::Array(names)) => names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            if matches!(map.get("required"), Some(Value::Array(_))) {
                map.remove("required");
            }
            let mut out = Map::new();
            for (key, child) in map {
                let child = to_platform_dialect(child);
                out.insert(key, child);
            }
            if let Some(Value::Object(props)) = out.get_mut("properties") {
                for name in required {
                    if let Some(Value::Object(prop)) = props.get_mut(&name) {
                        prop.insert("required".to_owned(), Value::Bool(true));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(to_platform_dialect).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn required_arrays_become_required_flags_at_every_level() {
        let schema = json!({
            "type": "object",
            "required": ["a"],
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "object", "required": ["c"], "properties": {"c": {"type": "number"}}}
            }
        });
        assert_eq!(
            to_platform_dialect(schema),
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string", "required": true},
                    "b": {"type": "object", "properties": {"c": {"type": "number", "required": true}}}
                }
            })
        );
    }

    #[test]
    fn a_property_named_required_is_left_alone() {
        let schema = json!({"type": "object", "properties": {"required": {"type": "boolean"}}});
        assert_eq!(to_platform_dialect(schema.clone()), schema);
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Example {
        /// The name.
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn rust_types_get_platform_schemas() {
        let schema = platform_schema::<Example>();
        assert_eq!(schema["properties"]["name"]["required"], json!(true));
        assert!(schema["properties"]["count"].get("required").is_none());
        assert!(schema.get("$schema").is_none());
    }
}
