//! The request an action sends: its path, and its document built from the
//! flattened input ([`super::jsonapi`]), made of the types the schema wants
//! ([`super::coerce`]) and checked against it ([`super::validate`]) before
//! anything is sent, with errors that name each field by its label.

use serde_json::{Map, Value};

use super::validate::{self, Problem, Violation};
use super::{coerce, jsonapi};
use crate::Error;

/// The request document for the flattened `input` by the request schema
/// `schema`: built ([`jsonapi::build`]), made of the types the schema wants
/// ([`coerce::coerce`]) and checked ([`validate::check`]), so that nothing
/// is sent that the revision's schema rejects. `what` starts the error.
pub(super) fn prepare(input: &Value, schema: &Value, what: &str) -> Result<Value, Error> {
    prepare_at(input, schema, what, &|path| path)
}

/// [`prepare`], the violations' paths translated by `at` ([`Mapped`]).
pub(super) fn prepare_at(
    input: &Value,
    schema: &Value,
    what: &str,
    at: Mapped,
) -> Result<Value, Error> {
    let nested;
    let input = match (input, jsonapi::input_schema(schema)) {
        (Value::Object(members), Some(flat)) => {
            nested = Value::Object(nest_dotted(members, &flat)?);
            &nested
        }
        _ => input,
    };
    let built = jsonapi::build(input, schema);
    let document = coerce::coerce(built, schema).unwrap_or_else(|| Value::Object(Map::new()));
    let violations = validate::check(&document, schema);
    if violations.is_empty() {
        Ok(document)
    } else {
        Err(invalid(&violations, schema, what, at))
    }
}

/// The members of a flattened input with the flat dotted names a mapper
/// with a flat list of fields sends (`"metric.name"`,
/// `"profile.location.city"`) nested as the input schema `flat` has them
/// (`{"metric": {"name": …}}`): through every object the schema declares
/// members of, the rest of the name one key of the object it reaches (a
/// custom property may hold dots). A name the schema has as it is, or
/// whose first part it does not have, stays as it is.
fn nest_dotted(members: &Map<String, Value>, flat: &Value) -> Result<Map<String, Value>, Error> {
    let declared = |schema: &Value, name: &str| -> bool {
        super::schema::properties(schema).is_some_and(|p| p.contains_key(name))
    };
    let mut out = Map::new();
    let mut dotted = Vec::new();
    for (name, value) in members {
        match name.split_once('.') {
            Some((first, _)) if !declared(flat, name) && declared(flat, first) => {
                dotted.push((name, value));
            }
            _ => {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    for (name, value) in dotted {
        let twice = || {
            Error::input(format!(
                "msg.body.{name} is given twice, as a name of its own and within msg.body.{}: give one of them",
                name.split('.').next().unwrap_or_default()
            ))
        };
        let mut schema = flat;
        let mut into = &mut out;
        let mut rest = name.as_str();
        loop {
            let (first, after) = match rest.split_once('.') {
                Some((first, after)) if declared(schema, first) => (first, Some(after)),
                _ => (rest, None),
            };
            let Some(after) = after else {
                if into.contains_key(first) {
                    return Err(twice());
                }
                into.insert(first.to_owned(), value.clone());
                break;
            };
            schema = &schema["properties"][first];
            let slot = into
                .entry(first.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            // Not set (null, the mapper's empty text): the dotted one is.
            if slot.is_null() || slot.as_str().is_some_and(|s| s.trim().is_empty()) {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(members) = slot else {
                return Err(twice());
            };
            into = members;
            rest = after;
        }
    }
    Ok(out)
}
/// The input field a flattened path into the document sent names, where
/// the action built the document from something else than the flattened
/// schema: a batch's `profiles[5]` is the message's `profiles[1005]`, a
/// list of identifiers `[1]` is `profileIds[1]`, one profile given at the
/// top is the top. Used for the action's own checks ([`prepare_at`]) and
/// for Klaviyo's pointers ([`super::write::Batches`]).
pub(super) type Mapped<'a> = &'a dyn Fn(String) -> String;

/// The path of an operation (`/lists/{id}/relationships/profiles`) with
/// its one path parameter, the `id` given as `label`, filled in as one
/// path segment.
pub(super) fn path_to(template: &str, id: &str, label: &str) -> Result<String, Error> {
    let segment = segment(id, label)?;
    Ok(match (template.find('{'), template.find('}')) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{segment}{}", &template[..start], &template[end + 1..])
        }
        _ => template.to_owned(),
    })
}

/// `id` as one path segment: every byte but unreserved characters
/// percent-encoded, so an id can never name another path (`../lists`).
fn segment(id: &str, label: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::input(format!("\"{label}\" is empty")));
    }
    if id == "." || id == ".." {
        return Err(Error::input(format!("\"{label}\" {id:?} is not an id")));
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

/// The violations of a request body as one error that names each field by
/// its label and says what to do, each path translated by `at`
/// ([`Mapped`]) into the field mapped.
pub(super) fn invalid(violations: &[Violation], document: &Value, what: &str, at: Mapped) -> Error {
    let mut sentences: Vec<String> = violations
        .iter()
        .take(5)
        .map(|v| explain(v, document, at))
        .collect();
    if violations.len() > 5 {
        sentences.push(format!("and {} more", violations.len() - 5));
    }
    Error::input(format!("{what}: {}", sentences.join("; ")))
}

fn explain(violation: &Violation, document: &Value, at: Mapped) -> String {
    let path = at(jsonapi::input_path(&violation.pointer, document).unwrap_or_default());
    let name = jsonapi::field_name(&path);
    match &violation.problem {
        Problem::Missing => format!("{name} is required: map a value to it"),
        Problem::WrongType { expected, got } => format!("{name} must be {expected}, got {got}"),
        Problem::NotAllowed { allowed, got } => {
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            format!(
                "{name} must be one of {}, got {got}",
                component_sdk::config::quoted_list(&allowed)
            )
        }
        Problem::Format { expected, got } => format!("{name} must be {expected}, got {got}"),
        Problem::ReadOnly => format!("{name} is set by Klaviyo and cannot be written: remove it"),
        Problem::Unknown { suggestion } => {
            let shown = format!("msg.body.{path}");
            match suggestion {
                Some(meant) => {
                    let parent = path
                        .rsplit_once('.')
                        .map(|(p, _)| format!("{p}."))
                        .unwrap_or_default();
                    format!(
                        "{shown} is not a field here — did you mean {}?",
                        jsonapi::field_name(&format!("{parent}{meant}"))
                    )
                }
                None => format!("{shown} is not a field the revision's schema has: remove it"),
            }
        }
        Problem::TooMany { max } => format!("{name} may have at most {max} members"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        let cases = [
            ("01GDDKASAP8TKDDA2GRZDSVP4H", "01GDDKASAP8TKDDA2GRZDSVP4H"),
            (
                "$custom:::$default:::SKU-1",
                "%24custom%3A%3A%3A%24default%3A%3A%3ASKU-1",
            ),
            ("../lists", "..%2Flists"),
            ("a b/c?d#e", "a%20b%2Fc%3Fd%23e"),
            ("é", "%C3%A9"),
        ];
        for (id, want) in cases {
            assert_eq!(segment(id, "ID").expect(id), want);
        }
        for bad in ["", "  ", ".", ".."] {
            assert!(segment(bad, "ID").is_err(), "{bad:?}");
        }
        let path = |template: &str, id: &str| path_to(template, id, "ID").expect(id);
        assert_eq!(path("/profiles/{id}", "01AB"), "/profiles/01AB");
        assert_eq!(path("/catalog-items/{id}/", "x/y"), "/catalog-items/x%2Fy/");
        assert_eq!(path("/lists", "x"), "/lists");
    }

    #[test]
    fn flat_dotted_names_are_the_nested_ones() {
        let events = klaviyo_spec::for_revision("2026-10-15")
            .request_schema(klaviyo_spec::Method::Post, "/events")
            .expect("schema");
        let nested = json!({"metric": {"name": "Placed Order"}, "profile": {"email": "a@b.c"},
            "properties": {"order.id": "A1"}});
        let flat = json!({"metric.name": "Placed Order", "profile.email": "a@b.c",
            "properties.order.id": "A1"});
        let want = prepare(&nested, &events, "x").expect("nested");
        assert_eq!(
            prepare(&flat, &events, "x").map_err(|e| e.to_string()),
            Ok(want.clone())
        );
        // Beside an empty nested one, and mixed with it.
        let mixed = json!({"metric": "", "metric.name": "Placed Order",
            "profile": {"email": "a@b.c"}, "properties": {"order.id": "A1"}});
        assert_eq!(
            prepare(&mixed, &events, "x").map_err(|e| e.to_string()),
            Ok(want)
        );
        let twice = json!({"metric": {"name": "A"}, "metric.name": "B", "profile.email": "a@b.c",
            "properties": {}});
        assert_eq!(
            prepare(&twice, &events, "x").map_err(|e| e.to_string()),
            Err("msg.body.metric.name is given twice, as a name of its own and within msg.body.metric: give one of them".to_owned())
        );
        let unknown = json!({"metric.nam": "A", "profile.email": "a@b.c", "properties": {}});
        let said = prepare(&unknown, &events, "x")
            .expect_err("a typo")
            .to_string();
        assert!(said.contains("msg.body.metric.nam is not a field here — did you mean \"Name\" (msg.body.metric.name)?"), "{said}");
    }
}
