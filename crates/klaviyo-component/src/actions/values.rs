//! Field values as the platform's mapper sends them: text for everything
//! (`"12.5"`, `"on"`, `""` for nothing mapped), read as the texts, flags
//! and lists they stand for, and shown in messages in one way.

use serde_json::Value;

/// A checkbox or a boolean as text.
pub(crate) fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" => Some(true),
        "false" | "off" => Some(false),
        _ => None,
    }
}

/// A value the mapper sent as text, number or boolean, as trimmed text;
/// `None` when not set. Lists and objects are not text.
pub(crate) fn text(value: Option<&Value>) -> Result<Option<String>, &'static str> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok((!s.trim().is_empty()).then(|| s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(kind(other)),
    }
}

/// A value's JSON type, for "must be …, got <kind>": one word for each,
/// "nothing" for null as in [`component_sdk::config::describe`], which
/// shows the value itself.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The values of a multi-select field: a list of keys, or (from a text
/// field or an API client) keys separated by commas; empty entries dropped.
pub(crate) fn multi_select(value: Option<&Value>) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut push = |text: &str| {
        for part in text.split(',') {
            let part = part.trim();
            if !part.is_empty() && !out.iter().any(|o| o == part) {
                out.push(part.to_owned());
            }
        }
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push(s),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => push(s),
                    Value::Null => {}
                    _ => return Err("a list of texts"),
                }
            }
        }
        Some(_) => return Err("a list of texts"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn multi_selects() {
        assert_eq!(multi_select(None), Ok(vec![]));
        assert_eq!(multi_select(Some(&json!(""))), Ok(vec![]));
        assert_eq!(
            multi_select(Some(&json!(["lists", "segments", "lists"]))),
            Ok(vec!["lists".to_owned(), "segments".to_owned()])
        );
        assert_eq!(
            multi_select(Some(&json!("lists, segments"))),
            Ok(vec!["lists".to_owned(), "segments".to_owned()])
        );
        assert_eq!(multi_select(Some(&json!([1]))), Err("a list of texts"));
        assert_eq!(multi_select(Some(&json!({}))), Err("a list of texts"));
    }

    #[test]
    fn texts() {
        assert_eq!(text(Some(&json!(" a "))), Ok(Some("a".to_owned())));
        assert_eq!(text(Some(&json!(""))), Ok(None));
        assert_eq!(text(Some(&json!(5))), Ok(Some("5".to_owned())));
        assert_eq!(text(None), Ok(None));
        assert_eq!(text(Some(&json!([]))), Err("a list"));
    }
}
