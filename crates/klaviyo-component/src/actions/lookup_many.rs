//! "Lookup Objects (plural)": the records of a list endpoint that match the
//! conditions mapped to the input, built from the filter fields and
//! operators the revision declares for that endpoint (and nothing else),
//! emitted one by one, in pages, or all at once; never more than the
//! maximum, and never a part of the result silently.

use std::collections::HashSet;

use component_sdk::config::{closest, quoted_list, shortened};
use component_sdk::{Config, MAX_MESSAGE_BYTES, MetaModel, SelectModel, Sink};
use klaviyo_spec::{Collection, FilterField, Operator, RevisionSpec, ValueType};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::action::{Action, Run, emit_raw};
use super::body::Body;
use super::values;
use crate::Error;
use crate::catalog::{self, Purpose};
use crate::client::Cursor;
use crate::emit::{self, EmitBehavior, Emitter};
use crate::fields;
use crate::filter::{Filter, Literal};
use crate::labels::humanize;
use crate::revision::Revision;

/// The largest "Page Size".
pub const MAX_PAGE_SIZE: u64 = 1_000;
/// The largest result set when "Maximum number of results" is empty.
pub const DEFAULT_MAX_RESULTS: u64 = 1_000;
/// The largest result set the action holds at once.
pub const MAX_MAX_RESULTS: u64 = 10_000;

pub struct LookupObjects;

/// What to list and how to emit it, from the step's fields, checked
/// against the revision.
struct Listing {
    key: &'static str,
    collection: &'static Collection,
    sort: Option<&'static str>,
    emit: EmitBehavior,
    max: usize,
}

impl Listing {
    fn read(cfg: &Config, spec: &'static RevisionSpec) -> Result<Listing, Error> {
        let resource = catalog::chosen(cfg, spec, Purpose::LookupMany)?;
        let collection = resource
            .list
            .ok_or_else(|| Error::internal("a Lookup Objects type without a list"))?;
        let sort = match cfg.choice(fields::SORT, collection.sort) {
            Ok(None) => None,
            Ok(Some(chosen)) => collection.sort.iter().copied().find(|s| *s == chosen),
            Err(_) if collection.sort.is_empty() => {
                return Err(Error::config(format!(
                    "\"{}\": Klaviyo's revision {} cannot sort {}; leave it empty",
                    fields::SORT.label,
                    spec.revision,
                    humanize(resource.key)
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let emit = EmitBehavior::read(
            cfg,
            emit::INDIVIDUALLY_PAGES_OR_ALL,
            fields::LOOKUP_PAGE_SIZE,
            1..=MAX_PAGE_SIZE,
        )?;
        let max = cfg
            .integer(fields::MAX_RESULTS, 1..=MAX_MAX_RESULTS)?
            .unwrap_or(DEFAULT_MAX_RESULTS) as usize;
        Ok(Listing {
            key: resource.key,
            collection,
            sort,
            emit,
            max,
        })
    }
}

pub fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::LookupMany)
}

/// `getSortValues`: the sort values of the chosen type's list endpoint.
pub fn sort_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::LookupMany)?;
    Ok(resource
        .list
        .map_or(&[][..], |c| c.sort)
        .iter()
        .map(|s| (*s, sort_label(s)))
        .collect())
}

/// `-updated` → `Updated (descending)`.
fn sort_label(value: &str) -> String {
    match value.strip_prefix('-') {
        Some(field) => format!("{} (descending)", humanize(field)),
        None => format!("{} (ascending)", humanize(value)),
    }
}

/// Operators whose value is a list.
fn takes_a_list(op: Operator) -> bool {
    matches!(
        op,
        Operator::Any | Operator::ContainsAny | Operator::ContainsAll
    )
}

/// The schema of one value of `field`.
fn value_schema(field: &FilterField) -> Value {
    let mut schema = match field.value_type {
        ValueType::DateTime => json!({"type": "string", "format": "date-time"}),
        ValueType::Number => json!({"type": "number"}),
        ValueType::Boolean => json!({"type": "boolean"}),
        ValueType::String | ValueType::Unknown => json!({"type": "string"}),
    };
    if !field.values.is_empty() {
        schema["enum"] = json!(field.values);
    }
    schema
}

/// The fields a required filter must name (from the parameter's example):
/// at least one of them needs a condition.
fn required_fields(collection: &Collection) -> Vec<&'static str> {
    match &collection.filter {
        Some(filter) if filter.required => {
            let example = filter.example.unwrap_or("");
            filter
                .fields
                .iter()
                .map(|f| f.name)
                .filter(|name| example.contains(&format!("({name},")))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The input metadata: one object per filter field, with one member per
/// operator the revision allows on it.
pub fn input_schema(collection: &Collection, title: &str) -> Value {
    let required = required_fields(collection);
    let mut properties = Map::new();
    for field in collection.filter.iter().flat_map(|f| f.fields) {
        let mut operators = Map::new();
        for op in field.operators {
            let schema = match op {
                Operator::Has => {
                    json!({"type": "boolean", "description": format!("Checked: only records that have a related {}.", field.name)})
                }
                op if takes_a_list(*op) => json!({"type": "array", "items": value_schema(field)}),
                _ => value_schema(field),
            };
            let mut schema = schema;
            schema["title"] = Value::String(op.as_str().to_owned());
            operators.insert(op.as_str().to_owned(), schema);
        }
        let allowed = field
            .operators
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(prefix) = field.keyed_prefix() {
            // Any name in place of `<key>`: an object of names, each with
            // its conditions.
            properties.insert(
                prefix.to_owned(),
                json!({
                    "type": "object",
                    "title": humanize(prefix),
                    "description": format!("Conditions on {prefix} by name, e.g. {{\"order_id\": {{\"equals\": …}}}}: {allowed}."),
                    "additionalProperties": {"type": "object", "properties": operators}
                }),
            );
            continue;
        }
        let mut schema = json!({
            "type": "object",
            "title": humanize(field.name),
            "description": format!("Conditions on {}: {allowed}.", field.name),
            "properties": operators
        });
        if required.contains(&field.name) {
            schema["required"] = Value::Bool(required.len() == 1);
            schema["description"] = Value::String(format!(
                "{} Klaviyo requires a condition on {}.",
                schema["description"].as_str().unwrap_or_default(),
                quoted_list(&required)
            ));
        }
        properties.insert(field.name.to_owned(), schema);
    }
    json!({"type": "object", "title": title, "properties": properties})
}

pub fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let listing = Listing::read(cfg, spec)?;
    let record = spec
        .resource_schema(listing.collection.path)
        .map(|mut s| {
            s["title"] = Value::String(humanize(listing.key));
            s
        })
        .unwrap_or_else(|| json!({"type": "object"}));
    Ok(MetaModel {
        input: input_schema(listing.collection, "Lookup Objects conditions"),
        output: listing.emit.output_schema(record),
    })
}

/// The conditions of a lookup: those with a value, as a [`Filter`], and the
/// relationships that must exist (`has(profile)`, which takes no value).
#[derive(Debug, Default)]
struct Conditions {
    filter: Filter,
    has: Vec<&'static str>,
}

impl Conditions {
    fn is_empty(&self) -> bool {
        self.filter.is_empty() && self.has.is_empty()
    }

    /// The `filter` parameter: one condition alone, several in `and(…)`.
    fn render(&self) -> String {
        let mut parts: Vec<String> = self
            .filter
            .conditions()
            .iter()
            .map(|c| c.to_string())
            .collect();
        parts.extend(self.has.iter().map(|field| format!("has({field})")));
        match parts.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            many => format!("and({})", many.join(",")),
        }
    }

    /// Whether the condition on `field` is among them.
    fn names(&self, field: &str) -> bool {
        self.has.contains(&field) || self.filter.conditions().iter().any(|c| c.field == field)
    }
}

/// The conditions of the message body, checked against what the revision
/// allows.
fn conditions(
    members: &Map<String, Value>,
    collection: &'static Collection,
    spec: &'static RevisionSpec,
) -> Result<Conditions, Error> {
    let revision = spec.revision;
    let fields: Vec<&'static FilterField> = collection
        .filter
        .iter()
        .flat_map(|f| f.fields.iter())
        .collect();
    let mut conditions = Conditions::default();
    for (name, given) in members {
        // `properties.<key>`: `{"properties": {"order_id": {"equals": …}}}`.
        if let Some(field) = fields
            .iter()
            .find(|f| f.keyed_prefix() == Some(name.as_str()))
        {
            let by_key = match given {
                Value::Null => continue,
                Value::String(s) if s.trim().is_empty() => continue,
                Value::Object(by_key) => by_key,
                other => {
                    return Err(Error::input(format!(
                        "\"{}\" (msg.body.{name}) must be an object of names, each with its conditions, such as {{\"order_id\": {{\"equals\": …}}}}, got {}",
                        humanize(name),
                        component_sdk::config::describe(other)
                    )));
                }
            };
            for (key, given) in by_key {
                if !klaviyo_spec::is_key(key) {
                    return Err(Error::input(format!(
                        "msg.body.{name}.{} is not a name Klaviyo can filter on: use letters, digits, _, - and $",
                        shortened(key, 40)
                    )));
                }
                add(
                    &mut conditions,
                    field,
                    &format!("{name}.{key}"),
                    given,
                    revision,
                )?;
            }
            continue;
        }
        let Some(field) = collection.filter_field(name) else {
            let names: Vec<&str> = fields
                .iter()
                .map(|f| f.keyed_prefix().unwrap_or(f.name))
                .collect();
            let hint = match closest(name, names.iter().copied()) {
                Some(meant) => format!(" — did you mean `{meant}` ({})?", humanize(meant)),
                None if names.is_empty() => {
                    format!(": Klaviyo cannot filter {} at all", collection.path)
                }
                None => format!(": it can filter on {}", quoted_list(&names)),
            };
            return Err(Error::input(format!(
                "msg.body.{} is not a condition {} allows in revision {revision}{hint}",
                shortened(name, 40),
                collection.path
            )));
        };
        add(&mut conditions, field, name, given, revision)?;
    }
    let needed = required_fields(collection);
    if !needed.is_empty() && !needed.iter().any(|n| conditions.names(n)) {
        return Err(Error::input(format!(
            "Klaviyo's revision {revision} lists {} only with a condition on {}: map one, e.g. msg.body.{}",
            collection.path,
            quoted_list(&needed),
            needed[0]
        )));
    }
    let mut refused = conditions.filter.unsupported_by(collection);
    refused.extend(
        conditions
            .has
            .iter()
            .filter(|f| !collection.allows(f, Operator::Has))
            .map(|f| format!("'has' on '{f}'")),
    );
    if !refused.is_empty() {
        return Err(Error::internal(format!(
            "{} does not allow {} in revision {revision}",
            collection.path,
            refused.join(", ")
        )));
    }
    Ok(conditions)
}

/// The conditions `given` on `field`, under the name `name` (the field's,
/// or `properties.order_id` for a field named with a placeholder), added
/// to `conditions`.
fn add(
    conditions: &mut Conditions,
    field: &'static FilterField,
    name: &str,
    given: &Value,
    revision: &str,
) -> Result<(), Error> {
    let label = humanize(name);
    let operators: Vec<&str> = field.operators.iter().map(|o| o.as_str()).collect();
    let by_operator = match given {
        Value::Null => return Ok(()),
        Value::String(s) if s.trim().is_empty() => return Ok(()),
        Value::Object(members) => members,
        other => {
            return Err(Error::input(format!(
                "\"{label}\" (msg.body.{name}) must be an object of conditions such as {{\"{}\": …}}, got {}",
                operators.first().copied().unwrap_or("equals"),
                component_sdk::config::describe(other)
            )));
        }
    };
    for (op_name, value) in by_operator {
        let Some(op) = Operator::from_name(op_name).filter(|op| field.operators.contains(op))
        else {
            return Err(Error::input(format!(
                "\"{label}\" (msg.body.{name}) allows {} in revision {revision}, not {:?}",
                quoted_list(&operators),
                shortened(op_name, 40)
            )));
        };
        let at = format!("msg.body.{name}.{op_name}");
        if op == Operator::Has {
            let on = match value {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s.trim().is_empty() => Some(false),
                Value::String(s) => values::boolean(s),
                Value::Null => Some(false),
                _ => None,
            };
            match on {
                Some(true) if !conditions.has.contains(&field.name) => {
                    conditions.has.push(field.name)
                }
                Some(true) => {}
                Some(false) => {}
                None => {
                    return Err(Error::input(format!(
                        "\"{label} {op_name}\" ({at}) must be true or false, got {}",
                        component_sdk::config::describe(value)
                    )));
                }
            }
            continue;
        }
        let literal = if takes_a_list(op) {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let mut list = Vec::new();
            for item in items {
                if let Some(l) = literal(item, field, &format!("\"{label} {op_name}\" ({at})"))? {
                    list.push(l);
                }
            }
            (!list.is_empty()).then_some(Literal::List(list))
        } else {
            literal(value, field, &format!("\"{label} {op_name}\" ({at})"))?
        };
        if let Some(literal) = literal {
            conditions.filter = std::mem::take(&mut conditions.filter).and(op, name, literal);
        }
    }
    Ok(())
}

/// One value of `field`: `None` when not set.
fn literal(value: &Value, field: &FilterField, name: &str) -> Result<Option<Literal>, Error> {
    let bad = |wanted: &str| {
        Error::input(format!(
            "{name} must be {wanted}, got {}",
            component_sdk::config::describe(value)
        ))
    };
    if let Value::String(s) = value
        && s.trim().is_empty()
    {
        return Ok(None);
    }
    if value.is_null() {
        return Ok(None);
    }
    let literal = match field.value_type {
        ValueType::DateTime => {
            let text = values::text(Some(value)).map_err(|_| bad("a date and time"))?;
            match text.as_deref().and_then(crate::time::parse) {
                Some(at) => Literal::DateTime(at),
                None => {
                    return Err(bad(
                        "a date and time in ISO 8601, such as 2026-01-31T12:00:00Z",
                    ));
                }
            }
        }
        ValueType::Number => {
            let number = match value {
                Value::Number(n) => Some(n.clone()),
                Value::String(s) => serde_json::from_str::<serde_json::Number>(s.trim()).ok(),
                _ => None,
            };
            match number {
                Some(n) if n.as_i64().is_some() => Literal::Integer(n.as_i64().unwrap_or_default()),
                Some(n) => match n.as_f64() {
                    Some(f) if f.is_finite() => Literal::Number(f),
                    _ => return Err(bad("a number")),
                },
                None => return Err(bad("a number")),
            }
        }
        ValueType::Boolean => match value {
            Value::Bool(b) => Literal::Bool(*b),
            Value::String(s) => match values::boolean(s) {
                Some(b) => Literal::Bool(b),
                None => return Err(bad("true or false")),
            },
            _ => return Err(bad("true or false")),
        },
        ValueType::String | ValueType::Unknown => match values::text(Some(value)) {
            Ok(Some(text)) => Literal::Text(text),
            Ok(None) => return Ok(None),
            Err(_) => return Err(bad("text")),
        },
    };
    if !field.values.is_empty()
        && let Literal::Text(text) = &literal
        && !field.values.contains(&text.as_str())
    {
        return Err(bad(&format!("one of {}", quoted_list(field.values))));
    }
    Ok(Some(literal))
}

impl Action for LookupObjects {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        look_up(run, out).await
    }
}

async fn look_up(run: Run, out: &mut dyn Sink) -> Result<(), Error> {
    let Run {
        cfg,
        msg,
        client,
        spec,
    } = run;
    let listing = Listing::read(&cfg, spec)?;
    let body = Body::read(&msg, "the conditions, one object per field")?;
    let conditions = conditions(body.members(), listing.collection, spec)?;
    let collection = listing.collection;
    let text = conditions.render();
    let size = collection.page_size.map(|p| {
        let wanted = (listing.max as u64 + 1)
            .min(u64::from(p.max))
            .max(u64::from(p.min));
        wanted.to_string()
    });
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !conditions.is_empty() {
        query.push(("filter", &text));
    }
    if let Some(sort) = listing.sort {
        query.push(("sort", sort));
    }
    if let Some(size) = &size {
        query.push(("page[size]", size));
    }
    tracing::info!(
        "\"Lookup Objects\" action started: {} where {}",
        collection.path,
        if text.is_empty() {
            "(no conditions)"
        } else {
            &text
        }
    );
    let mut records: Vec<Box<RawValue>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut repeated = 0usize;
    let first = client.url(collection.path, &query);
    let mut cursor = Cursor::new(collection.path, &first);
    let mut next = Some(first);
    while let Some(url) = next {
        // links.next, verbatim: it carries the filter, sort and page size.
        let page = client.get_page(&url).await?;
        let ids: Vec<Option<String>> = page.records.iter().map(|r| record_id(r)).collect();
        let ends = match (ids.first(), ids.last()) {
            (Some(Some(a)), Some(Some(b))) => Some((a.as_str(), b.as_str())),
            _ => None,
        };
        next = cursor.next(ends, page.next.as_ref())?;
        for (id, record) in ids.into_iter().zip(page.records) {
            // A record that moved between pages while they were read comes
            // twice: it is one record.
            if id.is_some_and(|id| !seen.insert(id)) {
                repeated += 1;
            } else {
                records.push(record);
            }
        }
        if records.len() > listing.max {
            return Err(Error::config(format!(
                "Lookup Objects found more than {} {} matching the conditions and emits none of them rather than a part: raise \"{}\" (up to {MAX_MAX_RESULTS}) or narrow the conditions",
                listing.max,
                humanize(listing.key).to_lowercase(),
                fields::MAX_RESULTS.label
            )));
        }
    }
    if repeated > 0 {
        tracing::warn!(
            "Klaviyo's pages brought {repeated} record(s) a second time (they changed while the pages were read); each is emitted once"
        );
    }
    tracing::info!(
        "Lookup Objects found {} record(s) in {} request(s)",
        records.len(),
        client.requests_sent()
    );
    too_large(&records, listing.emit)?;
    let empty = records.is_empty();
    let mut emitter = Emitter::new(out, listing.emit);
    for record in records {
        if emitter.push(record)? {
            emitter.flush()?;
        }
    }
    emitter.flush()?;
    // Pages say "nothing matched" with an empty one; records one by one
    // say it with no message.
    if empty && listing.emit != EmitBehavior::Individually {
        emit_raw(out, emit::results(&[])?)?;
    }
    Ok(())
}

/// An error, before anything is emitted, when a message of `records` as
/// `emit` groups them would be larger than the platform carries.
fn too_large(records: &[Box<RawValue>], emit: EmitBehavior) -> Result<(), Error> {
    let Some(largest) = emit::too_large(records, emit) else {
        return Ok(());
    };
    let fix = match emit {
        EmitBehavior::Individually => "a record that large cannot pass through the platform",
        EmitBehavior::Page(_) => "lower \"Page Size\"",
        EmitBehavior::All => "choose \"Emit behavior\" Emit page, or narrow the conditions",
    };
    Err(Error::config(format!(
        "Lookup Objects would emit a message of {:.1} MB, more than the platform carries in one ({:.1} MB); nothing was emitted: {fix}",
        largest as f64 / 1e6,
        MAX_MESSAGE_BYTES as f64 / 1e6
    )))
}

/// A record's `id`, as text; `None` when it has none.
fn record_id(record: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Identified {
        #[serde(default)]
        id: Option<Value>,
    }
    match serde_json::from_str::<Identified>(record.get()).ok()?.id? {
        Value::String(id) => Some(id),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(value: Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    fn spec(revision: &str) -> &'static RevisionSpec {
        klaviyo_spec::for_revision(revision)
    }

    #[test]
    fn the_input_lists_exactly_the_fields_and_operators_of_the_revision() {
        let profiles = spec("2024-10-15")
            .collection("/profiles")
            .expect("profiles");
        let schema = input_schema(profiles, "x");
        let p = &schema["properties"];
        let ops = |field: &str| -> Vec<String> {
            p[field]["properties"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(ops("updated"), vec!["greater-than", "less-than"]);
        assert_eq!(ops("email"), vec!["any", "equals"]);
        assert_eq!(p["email"]["properties"]["any"]["type"], "array");
        assert_eq!(
            p["updated"]["properties"]["greater-than"]["format"],
            "date-time"
        );
        let fields = p.as_object().expect("fields").len();
        assert_eq!(
            fields,
            profiles.filter.as_ref().map_or(0, |f| f.fields.len())
        );
    }

    fn filter_of(revision: &str, path: &str, body: Value) -> Result<String, String> {
        let spec = spec(revision);
        let collection = spec.collection(path).expect("collection");
        conditions(body.as_object().expect("object"), collection, spec)
            .map(|c| c.render())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn conditions_become_a_filter_the_revision_accepts() {
        assert_eq!(
            filter_of(
                "2024-10-15",
                "/profiles",
                json!({"email": {"any": ["a@example.com", ""], "equals": ""}, "created": {"greater-than": "2024-01-01T00:00:00+02:00"}})
            ),
            Ok(
                "and(greater-than(created,2023-12-31T22:00:00Z),any(email,['a@example.com']))"
                    .to_owned()
            )
        );
        assert_eq!(
            filter_of("2024-10-15", "/profiles", json!({})),
            Ok(String::new())
        );
        assert_eq!(
            filter_of(
                "2024-10-15",
                "/events",
                json!({"profile": {"has": "on"}, "timestamp": {"greater-or-equal": "978354000"}})
            ),
            Ok("and(greater-or-equal(timestamp,978354000),has(profile))".to_owned())
        );
        assert_eq!(
            filter_of(
                "2024-10-15",
                "/reviews",
                json!({"rating": {"greater-or-equal": "4"}, "verified": {"equals": "true"}})
            ),
            Ok("and(greater-or-equal(rating,4),equals(verified,true))".to_owned())
        );
    }

    #[test]
    fn a_message_larger_than_the_platform_carries_is_refused_before_any_is_emitted() {
        let record =
            RawValue::from_string(format!("{{\"id\":\"{}\"}}", "x".repeat(100_000))).expect("json");
        let records: Vec<Box<RawValue>> = (0..80).map(|_| record.clone()).collect();
        let all = too_large(&records, EmitBehavior::All).expect_err("8 MB at once");
        assert!(
            all.to_string()
                .starts_with("Lookup Objects would emit a message of 8.0 MB"),
            "{all}"
        );
        assert_eq!(all.kind(), component_sdk::ErrorKind::Config);
        assert!(too_large(&records, EmitBehavior::Page(10)).is_ok());
        assert!(too_large(&records, EmitBehavior::Page(100)).is_err());
        assert!(too_large(&records, EmitBehavior::Individually).is_ok());
    }

    #[test]
    fn a_field_named_with_a_placeholder_takes_any_name() {
        // 2026-10-15 events: `properties.<key>`, by name or flattened.
        assert_eq!(
            filter_of(
                "2026-10-15",
                "/events",
                json!({"properties": {"order_id": {"equals": "A1"}}})
            ),
            Ok("equals(properties.order_id,'A1')".to_owned())
        );
        assert_eq!(
            filter_of(
                "2026-10-15",
                "/events",
                json!({"properties.order_id": {"equals": "A1"}})
            ),
            Ok("equals(properties.order_id,'A1')".to_owned())
        );
        let refused = filter_of(
            "2026-10-15",
            "/events",
            json!({"properties": {"order id,x": {"equals": "A1"}}}),
        )
        .expect_err("not a name");
        assert!(
            refused.contains("is not a name Klaviyo can filter on"),
            "{refused}"
        );
        assert!(
            filter_of(
                "2024-10-15",
                "/events",
                json!({"properties": {"order_id": {"equals": "A1"}}})
            )
            .is_err(),
            "2024-10-15 has no such filter"
        );
        let events = spec("2026-10-15").collection("/events").expect("events");
        let schema = input_schema(events, "x");
        assert!(schema["properties"].get("properties.<key>").is_none());
        assert_eq!(
            schema["properties"]["properties"]["additionalProperties"]["properties"]["equals"]["title"],
            "equals"
        );
    }

    #[test]
    fn what_the_revision_does_not_allow_is_refused_by_name() {
        let cases = [
            (
                json!({"updated": {"greater-or-equal": "2024-01-01T00:00:00Z"}}),
                "\"Updated\" (msg.body.updated) allows \"less-than\" or \"greater-than\" in revision 2024-10-15, not \"greater-or-equal\"",
            ),
            (
                json!({"emal": {"equals": "a"}}),
                "msg.body.emal is not a condition /profiles allows in revision 2024-10-15 — did you mean `email` (Email)?",
            ),
            (
                json!({"created": {"greater-than": "yesterday"}}),
                "\"Created greater-than\" (msg.body.created.greater-than) must be a date and time in ISO 8601, such as 2026-01-31T12:00:00Z, got \"yesterday\"",
            ),
            (
                json!({"email": "a@example.com"}),
                "\"Email\" (msg.body.email) must be an object of conditions such as {\"equals\": …}, got \"a@example.com\"",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                filter_of("2024-10-15", "/profiles", body.clone()),
                Err(want.to_owned()),
                "{body}"
            );
        }
    }

    #[test]
    fn a_required_condition_is_asked_for() {
        let err = filter_of("2024-10-15", "/campaigns", json!({})).expect_err("needs a channel");
        assert_eq!(
            err,
            "Klaviyo's revision 2024-10-15 lists /campaigns only with a condition on \"messages.channel\": map one, e.g. msg.body.messages.channel"
        );
        assert_eq!(
            filter_of(
                "2024-10-15",
                "/campaigns",
                json!({"messages.channel": {"equals": "email"}})
            ),
            Ok("equals(messages.channel,'email')".to_owned())
        );
        assert_eq!(
            filter_of("2026-10-15", "/campaigns", json!({})),
            Ok(String::new())
        );
    }

    #[test]
    fn settings() {
        let read = |value: Value| {
            Listing::read(&cfg(value), spec("2026-10-15")).map(|s| (s.emit, s.max, s.sort))
        };
        assert_eq!(
            read(json!({"objectType": "profiles"})).ok(),
            Some((EmitBehavior::Individually, 1000, None))
        );
        assert_eq!(
            read(json!({"objectType": "profiles", "emitBehavior": "fetchPage", "pageSize": "25", "maxResults": "50", "sort": "-updated"})).ok(),
            Some((EmitBehavior::Page(25), 50, Some("-updated")))
        );
        assert_eq!(
            read(json!({"objectType": "profiles", "emitBehavior": "fetchAll"})).ok(),
            Some((EmitBehavior::All, 1000, None))
        );
        let err =
            read(json!({"objectType": "profiles", "maxResults": "20000"})).expect_err("too many");
        assert_eq!(
            err.to_string(),
            "\"Maximum number of results\" must be a whole number between 1 and 10000, got \"20000\""
        );
        let err =
            read(json!({"objectType": "profiles", "sort": "nope"})).expect_err("unknown sort");
        assert!(
            err.to_string()
                .starts_with("\"Sort\" must be one of \"created\""),
            "{err}"
        );
    }

    #[test]
    fn sort_labels() {
        assert_eq!(sort_label("-updated_at"), "Updated At (descending)");
        assert_eq!(sort_label("created"), "Created (ascending)");
    }
}
