//! The conditions of Lookup Objects: the input that names, per filter
//! field the revision declares for a list endpoint, a value per operator it
//! allows there (its schema, [`input_schema`]), and the compiler that turns
//! a message body of them into Klaviyo's `filter` parameter
//! ([`conditions`]), refusing, by name, anything the revision does not
//! allow. [`crate::filter`] holds the filter itself.

use component_sdk::config::{closest, describe, quoted_list, shortened};
use klaviyo_spec::{Collection, FilterField, Operator, ValueType};
use serde_json::{Map, Value, json};

use crate::Error;
use crate::actions::values;
use crate::catalog::required_filter_fields;
use crate::filter::{Filter, Literal};
use crate::labels::humanize;

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

/// The input metadata: one object per filter field, with one member per
/// operator the revision allows on it.
pub(crate) fn input_schema(collection: &Collection, title: &str) -> Value {
    let required = required_filter_fields(collection);
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

/// The conditions of a lookup: those with a value, as a [`Filter`], and the
/// relationships that must exist (`has(profile)`, which takes no value).
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    filter: Filter,
    has: Vec<&'static str>,
}

impl Conditions {
    pub(crate) fn is_empty(&self) -> bool {
        self.filter.is_empty() && self.has.is_empty()
    }

    /// The `filter` parameter: one condition alone, several in `and(…)`.
    pub(crate) fn render(&self) -> String {
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
/// allows; `revision` is how messages name it (`Revision::named`).
pub(crate) fn conditions(
    members: &Map<String, Value>,
    collection: &'static Collection,
    revision: &str,
) -> Result<Conditions, Error> {
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
                        describe(other)
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
    let needed = required_filter_fields(collection);
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
                describe(other)
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
                        describe(value)
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
    let bad =
        |wanted: &str| Error::input(format!("{name} must be {wanted}, got {}", describe(value)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(revision: &str) -> &'static klaviyo_spec::RevisionSpec {
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
        conditions(body.as_object().expect("object"), collection, spec.revision)
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
}
