//! Resource schemas in the JSON-schema dialect elastic.io's UI reads
//! (draft-3 style): `"required": true` on a property instead of a `required`
//! list, a `title` on every property, and only the keywords the UI uses.

use crate::json::Json;

/// Longer descriptions are cut: the UI shows them as tooltips, and the whole
/// schema file is compiled into the component.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// `schema` (already flattened: no `$ref`, no `allOf`) in elastic.io's dialect.
pub fn elastic_io(schema: &Json) -> Json {
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
}
