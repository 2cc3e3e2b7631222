//! "Lookup Object (at most one)": one record by id, or for profiles by
//! email, phone number or external id, with its related resources if
//! asked for.

use component_sdk::config::{closest, quoted_list, shortened};
use component_sdk::{Config, ErrorKind, MetaModel, SelectModel, Sink};
use klaviyo_spec::{Operator, Resource, RevisionSpec};
use reqwest::Method;
use serde_json::{Value, json};

use super::action::{Action, Run, emit_json, emit_raw};
use super::answer::Single;
use super::body::{Body, Member};
use super::request::path_to;
use super::values;
use crate::Error;
use crate::catalog::{self, Purpose};
use crate::fields;
use crate::filter::{Filter, Literal};
use crate::labels::humanize;
use crate::revision::Revision;

/// What a record can be looked up by besides its id, where the type's list
/// endpoint can filter on it with `equals` (profiles, in every revision so
/// far).
pub(crate) const CRITERIA: &[&str] = &["email", "phone_number", "external_id"];

pub(crate) struct LookupObject;

/// What to look up, from the step's fields, checked against the revision.
struct Lookup {
    resource: Resource<'static>,
    criterion: &'static str,
    include: Vec<&'static str>,
    allow_zero: bool,
}

/// The criteria `resource` can be looked up by: its id, and those of
/// [`CRITERIA`] its list endpoint can filter on.
pub(crate) fn criteria(resource: &Resource<'static>) -> Vec<&'static str> {
    let mut out = vec!["id"];
    if let Some(list) = resource.list {
        out.extend(
            CRITERIA
                .iter()
                .copied()
                .filter(|c| list.allows(c, Operator::Equals)),
        );
    }
    out
}

/// A "Lookup by" another type has ("email" on lists) refused with which
/// types have it: "must be one of \"id\"" alone reads as if email were
/// misspelt.
fn only_some_by(
    error: component_sdk::Error,
    cfg: &Config,
    spec: &'static RevisionSpec,
    resource: &Resource<'static>,
) -> Error {
    let given = match cfg.text(fields::LOOKUP_BY) {
        Ok(Some(given)) if CRITERIA.contains(&given.as_str()) => given,
        _ => return error.into(),
    };
    let having: Vec<String> = catalog::object_types(spec, Purpose::LookupOne)
        .iter()
        .filter(|r| criteria(r).contains(&given.as_str()))
        .map(|r| r.key.replace('-', " "))
        .collect();
    let only = match having.split_last() {
        None => format!("no object type is looked up by {}", given.replace('_', " ")),
        Some((last, [])) => format!("only {last} are looked up by {}", given.replace('_', " ")),
        Some((last, rest)) => format!(
            "only {} and {last} are looked up by {}",
            rest.join(", "),
            given.replace('_', " ")
        ),
    };
    Error::config(format!(
        "{error}: {only}; a {} is looked up by its id",
        catalog::singular(resource)
    ))
}

impl Lookup {
    fn read(cfg: &Config, spec: &'static RevisionSpec) -> Result<Lookup, Error> {
        let resource = catalog::chosen(cfg, spec, Purpose::LookupOne)?;
        let allowed = criteria(&resource);
        let criterion = match cfg
            .choice(fields::LOOKUP_BY, &allowed)
            .map_err(|e| only_some_by(e, cfg, spec, &resource))?
        {
            None => "id",
            Some(chosen) => allowed
                .iter()
                .copied()
                .find(|c| *c == chosen)
                .unwrap_or("id"),
        };
        let offered = resource.get_one.map_or(&[][..], |op| op.include);
        let label = fields::INCLUDE.label;
        let chosen = values::multi_select(cfg.raw(fields::INCLUDE.key)).map_err(|kind| {
            Error::config(format!(
                "\"{label}\" must be a list of related resources, got {kind}"
            ))
        })?;
        let mut include = Vec::new();
        for value in chosen {
            match offered.iter().find(|o| **o == value) {
                Some(found) => include.push(*found),
                None if offered.is_empty() => {
                    return Err(Error::config(format!(
                        "\"{label}\": Klaviyo's revision {} includes no related resources with {}; leave it empty",
                        spec.revision,
                        humanize(resource.key)
                    )));
                }
                None => {
                    let suggestion = closest(&value, offered.iter().copied())
                        .map(|m| format!(" — did you mean \"{m}\"?"))
                        .unwrap_or_else(|| format!(": choose from {}", quoted_list(offered)));
                    return Err(Error::config(format!(
                        "\"{label}\" has no {:?} for {} in revision {}{suggestion}",
                        shortened(&value, 40),
                        humanize(resource.key),
                        spec.revision
                    )));
                }
            }
        }
        Ok(Lookup {
            resource,
            criterion,
            include,
            allow_zero: cfg.checkbox(fields::ALLOW_ZERO_RESULTS)?,
        })
    }
}

pub(crate) fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::LookupOne)
}

/// `getLookupCriteria`: id, and for profiles email, phone number and
/// external id.
pub(crate) fn criteria_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::LookupOne)?;
    Ok(criteria(&resource)
        .into_iter()
        .map(|c| (c, humanize(c)))
        .collect())
}

/// `getIncludes`: the related resources the get-by-id endpoint can include.
pub(crate) fn includes_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::LookupOne)?;
    Ok(resource
        .get_one
        .map_or(&[][..], |op| op.include)
        .iter()
        .map(|i| (*i, humanize(i)))
        .collect())
}

/// The schema of one record of `resource`, as its get-by-id endpoint (or
/// else its list endpoint) returns it.
pub(crate) fn record_schema(spec: &'static RevisionSpec, resource: &Resource<'static>) -> Value {
    let schema = resource
        .get_one
        .and_then(|op| spec.returned_schema(op.path))
        .or_else(|| resource.list.and_then(|c| spec.resource_schema(c.path)))
        .unwrap_or_else(|| json!({"type": "object"}));
    with_title(schema, &humanize(resource.key))
}

fn with_title(mut schema: Value, title: &str) -> Value {
    if let Value::Object(map) = &mut schema {
        map.insert("title".into(), Value::String(title.to_owned()));
    }
    schema
}

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let lookup = Lookup::read(cfg, spec)?;
    let criterion = lookup.criterion;
    let description = match criterion {
        "id" => format!(
            "The id of the {} to look up.",
            catalog::singular(&lookup.resource)
        ),
        other => format!(
            "The {} to look the record up by; at most one may have it.",
            humanize(other).to_lowercase()
        ),
    };
    let input = json!({
        "type": "object",
        "title": "Lookup Object input",
        "properties": {criterion: {"type": "string", "title": humanize(criterion), "required": true, "description": description}}
    });
    let record = record_schema(spec, &lookup.resource);
    let output = if lookup.include.is_empty() {
        record
    } else {
        json!({
            "type": "object",
            "title": format!("{} with related resources", humanize(lookup.resource.key)),
            "properties": {
                "data": record,
                "included": {"type": "array", "title": "Included", "description": "The related resources Klaviyo included.", "items": {"type": "object"}},
                "links": {"type": "object", "title": "Links"}
            }
        })
    };
    Ok(MetaModel { input, output })
}

/// What a lookup found.
enum Found {
    /// One record, or the whole compound document when resources were
    /// included.
    One(Box<serde_json::value::RawValue>),
    /// Nothing: the error to report unless zero results are allowed.
    Nothing(Error),
}

impl Action for LookupObject {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let spec = run.spec;
        let lookup = Lookup::read(&run.cfg, spec)?;
        let criterion = lookup.criterion;
        let label = humanize(criterion);
        let member = Member::new(criterion, &label);
        let body = Body::read(&run.msg, &format!("\"{criterion}\""))?;
        body.typos(&[member])?;
        let value = body.required_text(
            member,
            &format!(
                "the value to look the {} up by",
                catalog::singular(&lookup.resource)
            ),
        )?;
        tracing::info!(
            "\"Lookup Object\" action started: {} by {criterion}",
            lookup.resource.key
        );
        let found = if criterion == "id" {
            by_id(&run.client, &lookup, &value).await?
        } else {
            by_filter(&run.client, spec, &lookup, &value).await?
        };
        match found {
            Found::One(record) => emit_raw(out, record),
            Found::Nothing(_) if lookup.allow_zero => emit_json(out, &json!({})),
            Found::Nothing(error) => Err(error),
        }
    }
}

async fn by_id(client: &crate::client::Client, lookup: &Lookup, id: &str) -> Result<Found, Error> {
    let op = lookup
        .resource
        .get_one
        .ok_or_else(|| Error::internal("a lookup type without a get-by-id endpoint"))?;
    let path = path_to(op.path, id, "ID")?;
    let include = lookup.include.join(",");
    let query: Vec<(&str, &str)> = if include.is_empty() || !op.declares("include") {
        Vec::new()
    } else {
        vec![("include", include.as_str())]
    };
    let url = client.url(&path, &query);
    let response = client.send(Method::GET, &url, None).await?;
    if response.status == 404 {
        let error = client.api_error(&response).with_hint(format!(
            "Check the id, or check \"{}\" to emit an empty message when nothing is found",
            fields::ALLOW_ZERO_RESULTS.label
        ));
        return Ok(Found::Nothing(error.into()));
    }
    if !(200..300).contains(&response.status) {
        return Err(client.api_error(&response).into());
    }
    let single = Single::parse(&response)?;
    match (lookup.include.is_empty(), single.data) {
        (_, None) => Err(Error::Response(format!(
            "Klaviyo answered {} for {} without the record",
            response.status, op.path
        ))),
        (true, Some(record)) => Ok(Found::One(record)),
        (false, Some(_)) => Ok(Found::One(single.document)),
    }
}

async fn by_filter(
    client: &crate::client::Client,
    spec: &'static RevisionSpec,
    lookup: &Lookup,
    value: &str,
) -> Result<Found, Error> {
    let criterion = lookup.criterion;
    let list = lookup
        .resource
        .list
        .ok_or_else(|| Error::internal("a lookup criterion without a list endpoint"))?;
    let filter = Filter::new().and(Operator::Equals, criterion, Literal::Text(value.to_owned()));
    let refused = filter.unsupported_by(list);
    if !refused.is_empty() {
        return Err(Error::internal(format!(
            "{} does not filter by {} in revision {}",
            list.path,
            refused.join(", "),
            spec.revision
        )));
    }
    let text = filter.to_string();
    let size = list.page_size.map(|p| p.max.to_string());
    let mut query = vec![("filter", text.as_str())];
    if let Some(size) = &size {
        query.push(("page[size]", size));
    }
    let page = client.get_page(&client.url(list.path, &query)).await?;
    let one = catalog::singular(&lookup.resource);
    let what = humanize(lookup.resource.key).to_lowercase();
    let shown = format!("\"{}\" {:?}", humanize(criterion), shortened(value, 60));
    match page.records.as_slice() {
        [] => Ok(Found::Nothing(Error::Sdk(component_sdk::Error::new(
            ErrorKind::Upstream,
            format!(
                "No {one} has {shown}. Check the value, or check \"{}\" to emit an empty message when nothing is found",
                fields::ALLOW_ZERO_RESULTS.label
            ),
        )))),
        [record] if lookup.include.is_empty() => Ok(Found::One(record.clone())),
        [record] => {
            #[derive(serde::Deserialize)]
            struct Id {
                id: String,
            }
            let id: Id = serde_json::from_str(record.get())
                .map_err(|_| Error::Response(format!("a record of {} has no id", list.path)))?;
            by_id(client, lookup, &id.id).await
        }
        many => {
            let count = if page.next.is_some() {
                format!("more than {}", many.len())
            } else {
                many.len().to_string()
            };
            Err(Error::input(format!(
                "Lookup Object found {count} {what} with {shown}, and emits at most one: use Lookup Objects (plural) to get all of them"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(value: Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn profiles_are_looked_up_by_id_email_phone_or_external_id() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let keys: Vec<String> = criteria_model(&cfg(
                json!({"revision": revision, "objectType": "profiles"}),
            ))
            .expect("model")
            .keys()
            .map(str::to_owned)
            .collect();
            assert_eq!(
                keys,
                vec!["id", "email", "phone_number", "external_id"],
                "{revision}"
            );
            let lists: Vec<String> =
                criteria_model(&cfg(json!({"revision": revision, "objectType": "lists"})))
                    .expect("model")
                    .keys()
                    .map(str::to_owned)
                    .collect();
            assert_eq!(lists, vec!["id"]);
        }
    }

    #[test]
    fn includes_come_from_the_revision() {
        let keys: Vec<String> = includes_model(&cfg(
            json!({"revision": "2024-10-15", "objectType": "profiles"}),
        ))
        .expect("model")
        .keys()
        .map(str::to_owned)
        .collect();
        assert_eq!(keys, vec!["lists", "segments"]);
        let err = meta_model(&cfg(json!({"objectType": "profiles", "include": ["list"]})))
            .expect_err("typo");
        assert_eq!(
            err.to_string(),
            "\"Include related resources\" has no \"list\" for Profiles in revision 2026-10-15 — did you mean \"lists\"?"
        );
    }

    #[test]
    fn metadata_follows_the_criterion_and_the_includes() {
        let by_email = meta_model(&cfg(json!({"objectType": "profiles", "lookupBy": "email"})))
            .expect("model");
        assert_eq!(
            by_email.input["properties"]["email"]["required"],
            json!(true)
        );
        assert_eq!(by_email.input["properties"]["email"]["title"], "Email");
        assert_eq!(by_email.output["title"], "Profiles");
        assert!(by_email.output["properties"]["attributes"]["properties"]["email"].is_object());
        let with_lists =
            meta_model(&cfg(json!({"objectType": "profiles", "include": "lists"}))).expect("model");
        assert!(with_lists.input["properties"]["id"].is_object());
        assert_eq!(with_lists.output["properties"]["data"], by_email.output);
        assert_eq!(with_lists.output["properties"]["included"]["type"], "array");
        let err = meta_model(&cfg(json!({"objectType": "lists", "lookupBy": "email"})))
            .expect_err("no email");
        assert_eq!(
            err.to_string(),
            "\"Lookup by\" must be one of \"id\", got \"email\": only profiles are looked up by email; a list is looked up by its id"
        );
    }

    #[test]
    fn paths_get_their_id() {}
}
