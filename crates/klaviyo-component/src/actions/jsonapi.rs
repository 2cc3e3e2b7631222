//! The JSON:API envelope, which the actions build so the mapper does not
//! have to.
//!
//! Klaviyo's request bodies are JSON:API documents:
//! `{"data": {"type": "profile", "id": …, "attributes": {…},
//! "relationships": {…}, "meta": {…}}}`, and attributes can hold documents
//! of their own (an event's `metric` and `profile`; a subscription job's
//! `profiles`). The input metadata of an action is the same schema
//! *flattened*: a resource becomes an object of its attributes, plus `id`,
//! `relationships` (each relationship as the id, or list of ids, it points
//! at) and `meta` when the resource has them; a document becomes what its
//! `data` becomes. So `email` is mapped, not `data.attributes.email`, and an
//! event's metric name is `metric.name`.
//!
//! Three functions walk a request schema by the same rules, and agree:
//! [`input_schema`] (the flattened schema, for the metadata), [`build`]
//! (the document from a flattened input) and [`input_path`] (the flattened
//! field a pointer into the document names, for the errors of
//! [`super::validate`] and Klaviyo's `source.pointer`).

use serde_json::{Map, Value, json};

use super::schema::{is_read_only, is_required, properties, unescape};

/// What a document's `data` holds.
enum Data<'a> {
    /// One resource with attributes (or at least an id and a type).
    Resource(&'a Value),
    /// One `{type, id}`, the resource it points at.
    Identifier(&'a str),
    /// A list of resources.
    Resources(&'a Value),
    /// A list of `{type, id}`.
    Identifiers(&'a str),
}

/// The JSON:API type a resource schema's `type` enum allows, when it allows
/// one.
fn single_type(resource: &Value) -> Option<&str> {
    match properties(resource)?
        .get("type")?
        .get("enum")?
        .as_array()?
        .as_slice()
    {
        [Value::String(t)] => Some(t),
        _ => None,
    }
}

/// The schema of `data` when `schema` is a document: an object whose only
/// member is `data`.
fn document_data(schema: &Value) -> Option<&Value> {
    let props = properties(schema)?;
    (props.len() == 1).then(|| props.get("data")).flatten()
}

fn data_shape(data: &Value) -> Option<Data<'_>> {
    // A resource has attributes, or at least relationships or meta to send
    // (a mapped metric is its id and the metric it points at); a `{type,
    // id}` has nothing else.
    let resource = |schema: &Value| {
        let props = properties(schema)?;
        props.get("type")?;
        if ["attributes", "relationships", "meta"]
            .iter()
            .any(|m| props.contains_key(*m))
        {
            Some(false)
        } else if props.contains_key("id") {
            Some(true)
        } else {
            None
        }
    };
    match data.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = data.get("items")?;
            match resource(items)? {
                false => Some(Data::Resources(items)),
                true => Some(Data::Identifiers(single_type(items).unwrap_or_default())),
            }
        }
        _ => match resource(data)? {
            false => Some(Data::Resource(data)),
            true => Some(Data::Identifier(single_type(data).unwrap_or_default())),
        },
    }
}

/// The members of a flattened resource that are not attributes.
pub(super) const ENVELOPE_MEMBERS: &[&str] = &["id", "relationships", "meta"];

// ---------------------------------------------------------------------------
// The flattened schema.

/// The flattened schema of the request `document` (OpenAPI's dialect still:
/// `required` lists, `nullable`), or `None` when it is no JSON:API document.
pub(super) fn input_schema(document: &Value) -> Option<Value> {
    document_data(document)?;
    Some(flatten_document(document))
}

fn flatten_document(document: &Value) -> Value {
    let Some(data) = document_data(document) else {
        return document.clone();
    };
    let mut flat = match data_shape(data) {
        Some(Data::Resource(resource)) => flatten_resource(resource),
        Some(Data::Identifier(_)) => id_schema(data),
        Some(Data::Resources(resource)) => {
            json!({"type": "array", "items": flatten_resource(resource)})
        }
        Some(Data::Identifiers(_)) => {
            json!({"type": "array", "items": id_schema(data.get("items").unwrap_or(&Value::Null))})
        }
        None => return document.clone(),
    };
    if let (Value::Object(flat), Some(description)) = (&mut flat, document.get("description")) {
        flat.entry("description")
            .or_insert_with(|| description.clone());
    }
    if document.get("nullable") == Some(&Value::Bool(true))
        && let Value::Object(flat) = &mut flat
    {
        flat.insert("nullable".into(), Value::Bool(true));
    }
    flat
}

/// The schema of the id a `{type, id}` carries.
fn id_schema(identifier: &Value) -> Value {
    let mut id = properties(identifier)
        .and_then(|p| p.get("id"))
        .cloned()
        .unwrap_or_else(|| json!({"type": "string"}));
    if let Value::Object(map) = &mut id {
        map.remove("nullable");
    }
    id
}

fn flatten_resource(resource: &Value) -> Value {
    let mut flat = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let props = properties(resource).cloned().unwrap_or_default();
    if let Some(id) = props.get("id").filter(|id| !is_read_only(id)) {
        flat.insert("id".into(), id.clone());
        if is_required(resource, "id") {
            required.push("id".into());
        }
    }
    if let Some(attributes) = props.get("attributes") {
        for (name, attribute) in properties(attributes).into_iter().flatten() {
            if is_read_only(attribute) || ENVELOPE_MEMBERS.contains(&name.as_str()) {
                continue;
            }
            flat.insert(name.clone(), flatten_value(attribute));
            if is_required(attributes, name) {
                required.push(name.clone().into());
            }
        }
    }
    if let Some(relationships) = props.get("relationships") {
        let mut members = Map::new();
        let mut needed: Vec<Value> = Vec::new();
        for (name, relationship) in properties(relationships).into_iter().flatten() {
            members.insert(name.clone(), flatten_value(relationship));
            if is_required(relationships, name) {
                needed.push(name.clone().into());
            }
        }
        let mut schema = json!({"type": "object", "properties": members});
        if !needed.is_empty() {
            schema["required"] = Value::Array(needed);
        }
        if let Some(d) = relationships.get("description") {
            schema["description"] = d.clone();
        }
        flat.insert("relationships".into(), schema);
        if is_required(resource, "relationships") {
            required.push("relationships".into());
        }
    }
    if let Some(meta) = props.get("meta") {
        flat.insert("meta".into(), meta.clone());
        if is_required(resource, "meta") {
            required.push("meta".into());
        }
    }
    let mut schema = json!({"type": "object", "properties": flat});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    if let Some(d) = resource.get("description") {
        schema["description"] = d.clone();
    }
    schema
}

/// A member's schema, flattened when it is a document.
fn flatten_value(schema: &Value) -> Value {
    if document_data(schema).and_then(data_shape).is_some() {
        flatten_document(schema)
    } else {
        schema.clone()
    }
}

// ---------------------------------------------------------------------------
// The document from the flattened input.

/// The request document for `input` (flattened as [`input_schema`] says) by
/// `document`, the request schema: every member the schema does not know is
/// kept among the attributes, where [`super::validate`] names it.
pub(super) fn build(input: &Value, document: &Value) -> Value {
    match document_data(document) {
        Some(data) => json!({"data": build_data(input, data)}),
        None => input.clone(),
    }
}

fn build_data(input: &Value, data: &Value) -> Value {
    match data_shape(data) {
        Some(Data::Resource(resource)) => build_resource(input, resource),
        Some(Data::Identifier(t)) => identifier(t, input),
        Some(Data::Resources(resource)) => Value::Array(
            as_list(input)
                .iter()
                .map(|item| build_resource(item, resource))
                .collect(),
        ),
        Some(Data::Identifiers(t)) => {
            Value::Array(as_list(input).iter().map(|id| identifier(t, id)).collect())
        }
        None => input.clone(),
    }
}

fn as_list(input: &Value) -> Vec<Value> {
    match input {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

fn identifier(t: &str, id: &Value) -> Value {
    json!({"type": t, "id": id})
}

fn build_resource(input: &Value, resource: &Value) -> Value {
    let Value::Object(members) = input else {
        return input.clone();
    };
    let props = properties(resource).cloned().unwrap_or_default();
    let attribute_schemas = props.get("attributes").and_then(properties);
    let mut out = Map::new();
    if let Some(t) = single_type(resource) {
        out.insert("type".into(), Value::String(t.to_owned()));
    }
    let mut attributes = Map::new();
    for (name, value) in members {
        match name.as_str() {
            "id" if props.contains_key("id") => {
                out.insert("id".into(), value.clone());
            }
            "meta" if props.contains_key("meta") => {
                out.insert("meta".into(), value.clone());
            }
            "relationships" if props.contains_key("relationships") => {
                let schemas = props.get("relationships").and_then(properties);
                let built = match value {
                    Value::Object(relationships) => Value::Object(
                        relationships
                            .iter()
                            .map(|(r, v)| {
                                let built = match schemas.and_then(|s| s.get(r)) {
                                    Some(schema) => build(v, schema),
                                    None => v.clone(),
                                };
                                (r.clone(), built)
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                };
                out.insert("relationships".into(), built);
            }
            _ => {
                let built = match attribute_schemas.and_then(|s| s.get(name)) {
                    Some(schema) if document_data(schema).is_some() && !value.is_null() => {
                        build(value, schema)
                    }
                    _ => value.clone(),
                };
                attributes.insert(name.clone(), built);
            }
        }
    }
    // A required nested document that nothing was mapped to is built empty,
    // so that what it needs is reported by name (`metric.name`), not as
    // the whole of it missing.
    if let Some(attrs) = props.get("attributes") {
        for (name, schema) in properties(attrs).into_iter().flatten() {
            if is_required(attrs, name)
                && !attributes.contains_key(name)
                && document_data(schema)
                    .and_then(data_shape)
                    .is_some_and(|d| matches!(d, Data::Resource(_)))
            {
                attributes.insert(name.clone(), build(&Value::Object(Map::new()), schema));
            }
        }
        out.insert("attributes".into(), Value::Object(attributes));
    } else {
        // No attributes to put them in: left beside the id, where the
        // check names each as a field the schema does not have.
        out.extend(attributes);
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// From a pointer into the document back to the flattened field.

/// The flattened field (`location.city`, `profiles[2].email`,
/// `relationships.list`; `""` for the whole input) that a JSON pointer into
/// the document built from it names, by the request schema `document`.
pub(super) fn input_path(pointer: &str, document: &Value) -> Option<String> {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(unescape)
        .collect();
    in_document(&segments, document, String::new())
}

fn in_document(segments: &[String], document: &Value, prefix: String) -> Option<String> {
    match segments.split_first() {
        None => Some(prefix),
        Some((first, rest)) if first == "data" => match document_data(document) {
            Some(data) => in_data(rest, data, prefix),
            None => Some(generic(segments, prefix)),
        },
        Some(_) => Some(generic(segments, prefix)),
    }
}

fn in_data(segments: &[String], data: &Value, prefix: String) -> Option<String> {
    match data_shape(data) {
        Some(Data::Resource(resource)) => in_resource(segments, resource, prefix),
        Some(Data::Identifier(_)) => Some(prefix),
        Some(Data::Resources(resource)) => match segments.split_first() {
            None => Some(prefix),
            Some((index, rest)) => in_resource(rest, resource, format!("{prefix}[{index}]")),
        },
        Some(Data::Identifiers(_)) => match segments.first() {
            None => Some(prefix),
            Some(index) => Some(format!("{prefix}[{index}]")),
        },
        None => Some(generic(segments, prefix)),
    }
}

fn in_resource(segments: &[String], resource: &Value, prefix: String) -> Option<String> {
    let props = properties(resource);
    match segments {
        [] => Some(prefix),
        [member, ..] if member == "id" || member == "type" => Some(join(&prefix, member)),
        [member] if member == "attributes" => Some(prefix),
        [member, name, rest @ ..] if member == "attributes" => {
            let path = join(&prefix, name);
            let schema = props
                .and_then(|p| p.get("attributes"))
                .and_then(properties)
                .and_then(|a| a.get(name));
            match schema {
                Some(schema) if document_data(schema).is_some() => in_document(rest, schema, path),
                _ => Some(generic(rest, path)),
            }
        }
        [member, name, ..] if member == "relationships" => {
            Some(join(&join(&prefix, "relationships"), name))
        }
        [member, rest @ ..] if member == "meta" => Some(generic(rest, join(&prefix, "meta"))),
        _ => Some(generic(segments, prefix)),
    }
}

/// Segments as a dotted path, indexes in brackets.
fn generic(segments: &[String], prefix: String) -> String {
    segments.iter().fold(prefix, |path, s| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            format!("{path}[{s}]")
        } else {
            join(&path, s)
        }
    })
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The label of a flattened field: the title the input metadata gives it
/// (its last name, humanized: `location.city` → `City`).
pub(super) fn label_of(path: &str) -> String {
    let last = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or_default();
    crate::labels::humanize(last)
}

/// How an error names a flattened field: `"City" (msg.body.location.city)`.
pub(super) fn field_name(path: &str) -> String {
    if path.is_empty() {
        "the message body (msg.body)".to_owned()
    } else {
        format!("\"{}\" (msg.body.{path})", label_of(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(revision: &str) -> &'static klaviyo_spec::RevisionSpec {
        klaviyo_spec::for_revision(revision)
    }

    fn schema(revision: &str, method: klaviyo_spec::Method, path: &str) -> Value {
        spec(revision)
            .request_schema(method, path)
            .unwrap_or_else(|| panic!("{method} {path}"))
    }

    #[test]
    fn a_profile_is_its_attributes_an_id_and_meta() {
        let document = schema("2024-10-15", klaviyo_spec::Method::Post, "/profile-import");
        let flat = input_schema(&document).expect("a document");
        let names: Vec<&String> = flat["properties"]
            .as_object()
            .expect("props")
            .keys()
            .collect();
        for name in [
            "id",
            "email",
            "phone_number",
            "external_id",
            "first_name",
            "location",
            "properties",
            "meta",
        ] {
            assert!(names.iter().any(|n| *n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| *n == "attributes" || *n == "type"));
        assert_eq!(
            flat["properties"]["location"]["properties"]["city"]["type"],
            "string"
        );
    }

    #[test]
    fn an_event_s_metric_and_profile_are_flattened_too() {
        let document = schema("2026-10-15", klaviyo_spec::Method::Post, "/events");
        let flat = input_schema(&document).expect("a document");
        let p = &flat["properties"];
        assert_eq!(p["metric"]["properties"]["name"]["type"], "string");
        assert_eq!(p["metric"]["required"], json!(["name"]));
        assert_eq!(p["profile"]["properties"]["email"]["type"], "string");
        assert_eq!(p["profile"]["properties"]["id"]["type"], "string");
        assert!(p["unique_id"].is_object() && p["time"].is_object());
        let required = flat["required"].as_array().expect("required");
        assert!(required.contains(&json!("metric")) && required.contains(&json!("profile")));
    }

    #[test]
    fn building_puts_every_member_in_its_place() {
        let document = schema("2026-10-15", klaviyo_spec::Method::Post, "/events");
        let input = json!({
            "metric": {"name": "Placed Order"},
            "profile": {"email": "ada@example.com", "id": "01ABC"},
            "properties": {"items": 2},
            "value": 9.5,
            "unique_id": "m1"
        });
        assert_eq!(
            build(&input, &document),
            json!({"data": {"type": "event", "attributes": {
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "id": "01ABC", "attributes": {"email": "ada@example.com"}}},
                "properties": {"items": 2},
                "value": 9.5,
                "unique_id": "m1"
            }}})
        );
        // Nothing mapped to the metric: it is built empty, so the check
        // names its name.
        let built = build(
            &json!({"profile": {"email": "a@b.c"}, "properties": {}}),
            &document,
        );
        let violations = super::super::validate::check(&built, &document);
        let paths: Vec<Option<String>> = violations
            .iter()
            .map(|v| input_path(&v.pointer, &document))
            .collect();
        assert_eq!(paths, vec![Some("metric.name".to_owned())]);
    }

    #[test]
    fn relationships_are_ids() {
        let document = schema(
            "2024-10-15",
            klaviyo_spec::Method::Post,
            "/profile-subscription-bulk-create-jobs",
        );
        let flat = input_schema(&document).expect("a document");
        assert_eq!(
            flat["properties"]["relationships"]["properties"]["list"]["type"],
            "string"
        );
        assert_eq!(flat["properties"]["profiles"]["type"], "array");
        assert_eq!(
            flat["properties"]["profiles"]["items"]["properties"]["email"]["type"],
            "string"
        );
        let built = build(
            &json!({"profiles": [{"email": "a@b.c"}], "relationships": {"list": "L1"}}),
            &document,
        );
        assert_eq!(
            built,
            json!({"data": {"type": "profile-subscription-bulk-create-job", "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {"email": "a@b.c"}}]}
            }, "relationships": {"list": {"data": {"type": "list", "id": "L1"}}}}})
        );
    }

    #[test]
    fn pointers_name_the_flattened_field() {
        let events = schema("2026-10-15", klaviyo_spec::Method::Post, "/events");
        let jobs = schema(
            "2024-10-15",
            klaviyo_spec::Method::Post,
            "/profile-subscription-bulk-create-jobs",
        );
        let import = schema("2024-10-15", klaviyo_spec::Method::Post, "/profile-import");
        let cases: &[(&Value, &str, &str)] = &[
            (&import, "/data/attributes/email", "email"),
            (&import, "/data/attributes/location/city", "location.city"),
            (&import, "/data/id", "id"),
            (
                &import,
                "/data/meta/patch_properties/append",
                "meta.patch_properties.append",
            ),
            (&import, "/data", ""),
            (&import, "/data/", ""),
            (
                &events,
                "/data/attributes/metric/data/attributes/name",
                "metric.name",
            ),
            (&events, "/data/attributes/profile/data/id", "profile.id"),
            (
                &events,
                "/data/attributes/properties/items/0",
                "properties.items[0]",
            ),
            (
                &jobs,
                "/data/attributes/profiles/data/3/attributes/email",
                "profiles[3].email",
            ),
            (
                &jobs,
                "/data/relationships/list/data/id",
                "relationships.list",
            ),
        ];
        for (document, pointer, want) in cases {
            assert_eq!(
                input_path(pointer, document).as_deref(),
                Some(*want),
                "{pointer}"
            );
        }
        assert_eq!(
            field_name("location.city"),
            "\"City\" (msg.body.location.city)"
        );
        assert_eq!(
            field_name("profiles[3].phone_number"),
            "\"Phone Number\" (msg.body.profiles[3].phone_number)"
        );
        assert_eq!(field_name(""), "the message body (msg.body)");
    }
}
