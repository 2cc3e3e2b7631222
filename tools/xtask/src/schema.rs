//! Resource schemas in the JSON-schema dialect elastic.io's UI reads
//! (draft-3 style): `"required": true` on a property instead of a `required`
//! list, a `title` on every property, and only the keywords the UI uses; and
//! request schemas as standard JSON Schema (OpenAPI 3.0's dialect of it) for
//! validating and building request bodies.

use crate::json::Json;

/// Longer descriptions are cut: the UI shows them as tooltips, and the whole
/// schema file is compiled into the component.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 300;

/// `schema` (already flattened: no `$ref`, no `allOf`) in elastic.io's dialect.
pub(crate) fn elastic_io(schema: &Json) -> Json {
    convert(schema, None, false)
}

fn convert(schema: &Json, title: Option<&str>, required: bool) -> Json {
    let mut out = Vec::new();
    if let Some(title) = title {
        out.push(("title".to_owned(), Json::String(title.to_owned())));
    }
    if required {
        out.push(("required".to_owned(), Json::Bool(true)));
    }
    let required_names: Vec<&str> = schema
        .get("required")
        .and_then(Json::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for (key, value) in schema.as_object().unwrap_or_default() {
        match key.as_str() {
            "type" | "format" | "enum" => out.push((key.clone(), value.clone())),
            "description" => {
                if let Some(text) = value.as_str() {
                    out.push((key.clone(), Json::String(truncate(text))));
                }
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .unwrap_or_default()
                    .iter()
                    .map(|(name, property)| {
                        let required = required_names.contains(&name.as_str());
                        (name.clone(), convert(property, Some(name), required))
                    })
                    .collect();
                out.push((key.clone(), Json::Object(properties)));
            }
            "items" => out.push((key.clone(), convert(value, None, false))),
            // `nullable`, `example(s)`, `x-*`, `oneOf`, `default`, ...: the UI
            // does not read them.
            _ => {}
        }
    }
    Json::Object(out)
}

/// Keywords a request schema keeps as they are (besides the ones holding
/// schemas, and `description`, which is shortened).
const KEPT: &[&str] = &[
    "type",
    "format",
    "enum",
    "const",
    "nullable",
    "required",
    "default",
    "title",
    "deprecated",
    "readOnly",
    "writeOnly",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "discriminator",
];

/// `schema` (already flattened: no `$ref`, no `allOf`) as a request schema:
/// every validation keyword kept (`required` lists, `enum`, `type`,
/// `nullable`, `format`, `oneOf`/`anyOf`/`not`, `additionalProperties`,
/// `items`, bounds), descriptions shortened to [`MAX_DESCRIPTION_CHARS`], and
/// `example`/`examples` and `x-*` extensions dropped. A keyword not known here
/// is an error, so that a new one in Klaviyo's files is a decision, not a
/// silent loss.
pub(crate) fn request(schema: &Json) -> Result<Json, String> {
    let members = schema.as_object().ok_or_else(|| {
        format!(
            "expected a schema object, found {}",
            schema.to_sorted_string()
        )
    })?;
    let mut out = Vec::with_capacity(members.len());
    for (key, value) in members {
        let kept = match key.as_str() {
            "description" => match value.as_str() {
                Some(text) => Json::String(truncate(text)),
                None => continue,
            },
            "properties" => {
                let mut properties = Vec::new();
                for (name, property) in value.as_object().unwrap_or_default() {
                    let property = request(property).map_err(|e| format!("{name}: {e}"))?;
                    properties.push((name.clone(), property));
                }
                Json::Object(properties)
            }
            "items" | "not" => request(value).map_err(|e| format!("{key}: {e}"))?,
            "additionalProperties" => match value {
                Json::Bool(_) => value.clone(),
                _ => request(value).map_err(|e| format!("{key}: {e}"))?,
            },
            "oneOf" | "anyOf" => {
                let choices = value
                    .as_array()
                    .ok_or_else(|| format!("`{key}` is not a list"))?
                    .iter()
                    .map(request)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{key}: {e}"))?;
                Json::Array(choices)
            }
            "example" | "examples" => continue,
            _ if key.starts_with("x-") => continue,
            _ if KEPT.contains(&key.as_str()) => value.clone(),
            _ => return Err(format!("unknown schema keyword `{key}`")),
        };
        out.push((key.clone(), kept));
    }
    Ok(Json::Object(out))
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_the_elastic_io_dialect() {
        let long = "é".repeat(400);
        let schema = Json::parse(&format!(
            r#"{{
              "type": "object",
              "required": ["id"],
              "example": {{"id": "x"}},
              "x-klaviyo-thing": 1,
              "properties": {{
                "id": {{"type": "string", "nullable": true, "example": "x", "description": "{long}"}},
                "tags": {{"type": "array", "items": {{"type": "object", "required": ["name"],
                          "properties": {{"name": {{"type": "string", "enum": ["a"]}}}}}}}},
                "when": {{"type": "string", "format": "date-time", "examples": ["2024"], "oneOf": []}}
              }}
            }}"#
        ))
        .expect("valid fixture");
        let converted = elastic_io(&schema);
        let id = converted
            .get("properties")
            .and_then(|p| p.get("id"))
            .expect("id");
        let description = id.get("description").and_then(Json::as_str).expect("kept");
        assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(description.ends_with('…'));
        let without_description = converted.to_sorted_string().replace(description, "D");
        assert_eq!(
            without_description,
            concat!(
                r#"{"properties":{"#,
                r#""id":{"description":"D","required":true,"title":"id","type":"string"},"#,
                r#""tags":{"items":{"properties":{"name":{"enum":["a"],"required":true,"title":"name","type":"string"}},"type":"object"},"title":"tags","type":"array"},"#,
                r#""when":{"format":"date-time","title":"when","type":"string"}"#,
                r#"},"type":"object"}"#
            )
        );
    }

    #[test]
    fn request_schemas_keep_validation_keywords_and_drop_examples() {
        let long = "d".repeat(400);
        let schema = Json::parse(&format!(
            r#"{{
              "type": "object",
              "required": ["data"],
              "example": {{"data": 1}},
              "x-klaviyo-thing": true,
              "properties": {{
                "data": {{
                  "type": "object", "nullable": true, "description": "{long}",
                  "additionalProperties": {{"type": "string", "examples": ["a"]}},
                  "properties": {{
                    "example": {{"type": "string", "format": "email", "minLength": 1}},
                    "kind": {{"oneOf": [{{"type": "string", "enum": ["a", "b"]}}, {{"type": "integer", "default": 3}}]}},
                    "tags": {{"type": "array", "items": {{"type": "string", "readOnly": true}}}}
                  }}
                }}
              }}
            }}"#
        ))
        .expect("valid fixture");
        let converted = request(&schema).expect("converts");
        let data = converted
            .get("properties")
            .and_then(|p| p.get("data"))
            .expect("data");
        let description = data
            .get("description")
            .and_then(Json::as_str)
            .expect("kept");
        assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS);
        assert_eq!(
            converted.to_sorted_string().replace(description, "D"),
            concat!(
                r#"{"properties":{"data":{"additionalProperties":{"type":"string"},"description":"D","nullable":true,"#,
                r#""properties":{"#,
                // A property named `example` is a property, not an example.
                r#""example":{"format":"email","minLength":1,"type":"string"},"#,
                r#""kind":{"oneOf":[{"enum":["a","b"],"type":"string"},{"default":3,"type":"integer"}]},"#,
                r#""tags":{"items":{"readOnly":true,"type":"string"},"type":"array"}"#,
                r#"},"type":"object"}},"required":["data"],"type":"object"}"#
            )
        );
    }

    #[test]
    fn an_unknown_keyword_in_a_request_schema_is_an_error() {
        let schema =
            Json::parse(r#"{"properties": {"a": {"type": "string", "contentSchema": {}}}}"#)
                .expect("valid fixture");
        let err = request(&schema).expect_err("unknown keyword");
        assert!(
            err.contains("a: unknown schema keyword `contentSchema`"),
            "{err}"
        );
    }
}
