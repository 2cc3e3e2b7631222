//! "Upsert Object": profiles are created or updated through
//! `POST /profile-import`, which matches them by id, email, phone number or
//! external id; every other writable type is created (`POST /x`) when no id
//! is given and updated (`PATCH /x/{id}`) when one is. The input is the
//! revision's request schema, flattened; the action builds the envelope.

use component_sdk::{Config, MetaModel, SelectModel, Sink};
use klaviyo_spec::{Method as SpecMethod, Resource, RevisionSpec};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::action::{Action, Run, emit_json, emit_raw};
use super::answer::Single;
use super::body::{Body, ID};
use super::lookup::record_schema;
use super::request::{path_to, prepare};
use super::write::write;
use super::{jsonapi, metadata, values};
use crate::Error;
use crate::catalog::{self, PROFILE_IDENTIFIERS, PROFILE_IMPORT, Purpose};
use crate::client::Repeatability;
use crate::fields;
use crate::labels::humanize;
use crate::revision::Revision;

pub(crate) struct UpsertObject;

pub(crate) fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::Upsert)
}

/// The request schemas of the type's create and update, as far as it has
/// them (profiles: `/profile-import` for both).
struct Schemas {
    create: Option<(String, Value)>,
    update: Option<(String, Value)>,
}

/// The "Operation" field: what Upsert Object does with a type other than
/// profiles, which Klaviyo matches by their identifiers and creates or
/// updates in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// Create without an id, update with one (the default).
    CreateOrUpdate,
    Create,
    Update,
}

/// The accepted values of "Operation".
const OPERATIONS: &[&str] = &["createOrUpdate", "create", "update"];

impl Operation {
    fn read(cfg: &Config) -> Result<Operation, Error> {
        Ok(
            match cfg.choice(fields::OPERATION, OPERATIONS)?.as_deref() {
                None | Some("createOrUpdate") => Operation::CreateOrUpdate,
                Some("create") => Operation::Create,
                Some(_) => Operation::Update,
            },
        )
    }
}

/// The schemas of the type for the operation chosen in `cfg`: only the
/// create's or only the update's when one is chosen, and an error that
/// says so when the revision lacks it.
fn chosen_schemas(
    cfg: &Config,
    spec: &'static RevisionSpec,
    resource: &Resource<'static>,
) -> Result<(Schemas, Operation), Error> {
    let operation = Operation::read(cfg)?;
    let all = schemas(spec, resource);
    let label = fields::OPERATION.label;
    let name = humanize(resource.key);
    let revision = spec.revision;
    if resource.key == "profiles" {
        if operation != Operation::CreateOrUpdate {
            return Err(Error::config(format!(
                "\"{label}\": profiles are matched by their identifiers and created or updated in one request ({PROFILE_IMPORT}); choose Create or update"
            )));
        }
        return Ok((all, operation));
    }
    let chosen = match operation {
        Operation::CreateOrUpdate => all,
        Operation::Create if all.create.is_none() => {
            return Err(Error::config(format!(
                "\"{label}\": Klaviyo's revision {revision} cannot create {name}, only update them; choose Update"
            )));
        }
        Operation::Create => Schemas {
            create: all.create,
            update: None,
        },
        Operation::Update if all.update.is_none() => {
            return Err(Error::config(format!(
                "\"{label}\": Klaviyo's revision {revision} cannot update {name}, only create them; choose Create"
            )));
        }
        Operation::Update => Schemas {
            create: None,
            update: all.update,
        },
    };
    Ok((chosen, operation))
}

fn schemas(spec: &'static RevisionSpec, resource: &Resource<'static>) -> Schemas {
    if resource.key == "profiles" {
        let import = spec
            .request_schema(SpecMethod::Post, PROFILE_IMPORT)
            .map(|s| (PROFILE_IMPORT.to_owned(), s));
        return Schemas {
            create: import,
            update: None,
        };
    }
    let schema = |op: Option<&klaviyo_spec::Operation>| {
        op.and_then(|op| {
            spec.request_schema(op.method, op.path)
                .map(|s| (op.path.to_owned(), s))
        })
    };
    let t = catalog::resource_type(resource);
    let fits = |op: &&klaviyo_spec::Operation| op.body.and_then(|b| b.data_type) == t;
    Schemas {
        create: schema(resource.create.filter(|op| fits(op) && op.returns == t)),
        update: schema(resource.update.filter(fits)),
    }
}

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::Upsert)?;
    let (schemas, operation) = chosen_schemas(cfg, spec, &resource)?;
    let name = humanize(resource.key);
    let flat = match (&schemas.create, &schemas.update) {
        // A create is sent without an id (the action leaves it out).
        (Some((_, create)), None) if resource.key != "profiles" => jsonapi::input_schema(create)
            .map(|mut flat| {
                if let Some(Value::Object(properties)) = flat.get_mut("properties") {
                    properties.remove("id");
                }
                if let Some(Value::Array(required)) = flat.get_mut("required") {
                    required.retain(|r| r != "id");
                }
                flat
            }),
        (Some((_, create)), None) => jsonapi::input_schema(create),
        // An update names the object it updates.
        (None, Some((_, update))) => jsonapi::input_schema(update).map(|mut flat| {
            match flat.get_mut("required") {
                Some(Value::Array(required)) if !required.contains(&json!("id")) => {
                    required.push(json!("id"));
                }
                Some(_) => {}
                None => flat["required"] = json!(["id"]),
            }
            flat
        }),
        (Some((_, create)), Some((_, update))) => {
            let mut merged =
                jsonapi::input_schema(create).unwrap_or_else(|| json!({"type": "object"}));
            let update = jsonapi::input_schema(update).unwrap_or_default();
            if let (Some(Value::Object(into)), Some(Value::Object(from))) =
                (merged.get_mut("properties"), update.get("properties"))
            {
                for (key, schema) in from {
                    into.entry(key.clone()).or_insert_with(|| schema.clone());
                }
                if let Some(Value::Object(id)) = into.get_mut("id") {
                    id.insert(
                        "description".into(),
                        Value::String(format!(
                            "The id of the {} to update; leave it empty to create one.",
                            catalog::singular(&resource)
                        )),
                    );
                }
            }
            Some(merged)
        }
        (None, None) => None,
    }
    .unwrap_or_else(|| json!({"type": "object"}));
    let doing = match operation {
        Operation::CreateOrUpdate => "create or update",
        Operation::Create => "create",
        Operation::Update => "update",
    };
    let input = metadata::titled(flat, &format!("{name} to {doing}"));
    Ok(MetaModel {
        input,
        output: record_schema(spec, &resource),
    })
}

impl Action for UpsertObject {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let spec = run.spec;
        let resource = catalog::chosen(&run.cfg, spec, Purpose::Upsert)?;
        let (schemas, operation) = chosen_schemas(&run.cfg, spec, &resource)?;
        let body = Body::read(&run.msg, "the fields of the object")?;
        let name = humanize(resource.key);
        let revision = run.client.revision().named();
        let id = body.text(ID)?;
        let mut members = body.into_members();
        let (method, path, schema, repeatability) = if resource.key == "profiles" {
            let Some((path, schema)) = schemas.create else {
                return Err(Error::internal("profiles without /profile-import"));
            };
            let identifiers: Vec<&str> = PROFILE_IDENTIFIERS
                .iter()
                .copied()
                .filter(|k| values::text(members.get(*k)).ok().flatten().is_some())
                .collect();
            if identifiers.is_empty() {
                let named: Vec<String> = PROFILE_IDENTIFIERS
                    .iter()
                    .map(|k| jsonapi::field_name(k))
                    .collect();
                return Err(Error::input(format!(
                    "a profile is matched by its identifiers: give at least one of {}",
                    named.join(", ")
                )));
            }
            // Matched by its identifiers, the same profile is created once and
            // updated with the same values however often the request arrives;
            // not so a value appended to a list property, which a repeat would
            // append again.
            let repeatability = if appends(&members) {
                Repeatability::Unsafe
            } else {
                Repeatability::Idempotent
            };
            (Method::POST, path, schema, repeatability)
        } else {
            match (id, schemas.create, schemas.update) {
                (Some(id), _, Some((template, schema))) => {
                    members.insert("id".into(), Value::String(id.clone()));
                    (
                        Method::PATCH,
                        path_to(&template, &id, "ID")?,
                        schema,
                        Repeatability::Unsafe,
                    )
                }
                (Some(_), Some(_), None) if operation == Operation::Create => {
                    return Err(Error::input(format!(
                        "\"ID\" (msg.body.id) is given, but \"{}\" is Create: leave it empty, or choose Update",
                        fields::OPERATION.label
                    )));
                }
                (Some(_), _, None) => {
                    return Err(Error::input(format!(
                        "{name} cannot be updated: Klaviyo's revision {revision} has no PATCH for them. Leave \"ID\" (msg.body.id) empty to create one"
                    )));
                }
                (None, Some((path, schema)), _) => {
                    members.remove("id");
                    (Method::POST, path, schema, Repeatability::Unsafe)
                }
                (None, None, Some(_)) if operation == Operation::Update => {
                    return Err(Error::input(format!(
                        "\"ID\" is required: give msg.body.id, the id of the {} to update",
                        catalog::singular(&resource)
                    )));
                }
                (None, None, _) => {
                    return Err(Error::input(format!(
                        "{name} can only be updated in revision {revision}: give the \"ID\" (msg.body.id) of the one to update"
                    )));
                }
            }
        };
        let document = prepare(
            &Value::Object(members),
            &schema,
            &format!(
                "The message body is not a {} that revision {revision} accepts",
                catalog::singular(&resource)
            ),
        )?;
        tracing::info!("\"Upsert Object\" action started: {method} {path}");
        let response = write(
            &run.client,
            method,
            &path,
            &document,
            &schema,
            repeatability,
        )
        .await?;
        match Single::parse(&response)?.data {
            Some(record) => emit_raw(out, record),
            None => {
                let mut answer = Map::new();
                answer.insert("statusCode".into(), response.status.into());
                if let Some(id) = document["data"].get("id") {
                    answer.insert("id".into(), id.clone());
                }
                emit_json(out, &Value::Object(answer))
            }
        }
    }
}

/// Whether a profile's input appends to a property
/// (`meta.patch_properties.append`), which is not safe to repeat.
fn appends(members: &Map<String, Value>) -> bool {
    match members.get("meta").and_then(|m| m.get("patch_properties")) {
        Some(patch) => match patch.get("append") {
            Some(Value::Object(append)) => !append.is_empty(),
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        },
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(value: Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn profiles_are_their_import_schema_flattened() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let model = meta_model(&cfg(
                json!({"revision": revision, "objectType": "profiles"}),
            ))
            .expect("model");
            let p = &model.input["properties"];
            assert_eq!(p["email"]["title"], "Email", "{revision}");
            assert_eq!(p["id"]["type"], "string", "{revision}");
            assert!(
                p["location"]["properties"]["city"].is_object(),
                "{revision}"
            );
            assert!(
                p.get("attributes").is_none() && p.get("type").is_none(),
                "{revision}"
            );
            assert_eq!(model.output["title"], "Profiles");
            assert!(model.output["properties"]["attributes"].is_object());
        }
    }

    #[test]
    fn only_appending_makes_a_profile_import_unsafe_to_repeat() {
        let members = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(!appends(&members(json!({"email": "a@example.com"}))));
        assert!(!appends(&members(
            json!({"meta": {"patch_properties": {"unset": "x", "append": ""}}})
        )));
        assert!(appends(&members(
            json!({"meta": {"patch_properties": {"append": {"tags": "vip"}}}})
        )));
    }

    #[test]
    fn other_types_merge_create_and_update() {
        let model = meta_model(&cfg(json!({"objectType": "lists"}))).expect("model");
        let p = &model.input["properties"];
        assert_eq!(p["name"]["required"], json!(true), "required to create");
        assert!(
            p["id"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("leave it empty to create")),
            "{}",
            p["id"]
        );
        assert!(p["id"].get("required").is_none());
    }

    #[test]
    fn every_offered_type_takes_an_object_of_its_fields() {
        // Each type's input is an object of members (what the action reads
        // from msg.body), never the schema of one of them.
        for spec in klaviyo_spec::revisions() {
            for resource in catalog::object_types(spec, Purpose::Upsert) {
                let model = meta_model(&cfg(
                    json!({"revision": spec.revision, "objectType": resource.key}),
                ))
                .expect("model");
                assert_eq!(
                    model.input["type"], "object",
                    "{} {}: {}",
                    spec.revision, resource.key, model.input
                );
                assert!(
                    model.input["properties"]
                        .as_object()
                        .is_some_and(|p| !p.is_empty()),
                    "{} {}: {}",
                    spec.revision,
                    resource.key,
                    model.input
                );
            }
        }
    }

    #[test]
    fn a_mapped_metric_is_its_kind_and_the_metric_it_points_at() {
        // PATCH /mapped-metrics/{id}: no attributes, an id that is an enum,
        // and relationships.
        for revision in ["2026-07-15", "2026-10-15"] {
            let spec = klaviyo_spec::for_revision(revision);
            let model = meta_model(&cfg(
                json!({"revision": revision, "objectType": "mapped-metrics"}),
            ))
            .expect("model");
            let p = &model.input["properties"];
            assert_eq!(p["id"]["enum"][0], "added_to_cart", "{revision}");
            assert_eq!(
                p["relationships"]["properties"]["metric"]["type"], "string",
                "{revision}: {}",
                model.input
            );
            let resource = spec.resource("mapped-metrics").expect("type");
            let (_, schema) = schemas(spec, &resource).update.expect("PATCH");
            let input = json!({"id": "revenue", "relationships": {"metric": "M1"}});
            assert_eq!(
                super::super::request::prepare(&input, &schema, "refused")
                    .map_err(|e| e.to_string()),
                Ok(json!({"data": {"type": "mapped-metric", "id": "revenue",
                    "relationships": {"metric": {"data": {"type": "metric", "id": "M1"}}}}}))
            );
            let unknown = json!({"id": "revenue", "name": "x"});
            assert_eq!(
                super::super::request::prepare(&unknown, &schema, "refused")
                    .map_err(|e| e.to_string()),
                Err(
                    "refused: msg.body.name is not a field the revision's schema has: remove it"
                        .to_owned()
                )
            );
        }
    }

    #[test]
    fn the_operation_chosen_is_the_schema_offered() {
        let model = |operation: &str, key: &str| {
            meta_model(&cfg(
                json!({"revision": "2026-10-15", "objectType": key, "operation": operation}),
            ))
            .map(|m| m.input)
            .map_err(|e| e.to_string())
        };
        // Creating a coupon code takes a unique code; updating one does not.
        let create = model("create", "coupon-codes").expect("create");
        let update = model("update", "coupon-codes").expect("update");
        assert!(create["properties"]["unique_code"].is_object(), "{create}");
        assert!(create["properties"].get("id").is_none(), "{create}");
        assert!(
            update["properties"].get("unique_code").is_none(),
            "{update}"
        );
        assert_eq!(
            update["properties"]["id"]["required"],
            json!(true),
            "{update}"
        );
        assert_eq!(update["title"], "Coupon Codes to update");
        // What only the update requires is marked there.
        let flows = model("update", "flows").expect("flows");
        assert_eq!(
            flows["properties"]["status"]["required"],
            json!(true),
            "{flows}"
        );
        assert!(
            model("createOrUpdate", "flows").expect("both")["properties"]["status"]
                .get("required")
                .is_none()
        );
        // Mapped metrics are only updated.
        assert_eq!(
            model("create", "mapped-metrics"),
            Err("\"Operation\": Klaviyo's revision 2026-10-15 cannot create Mapped Metrics, only update them; choose Update".to_owned())
        );
        assert!(
            model("update", "profiles").is_err(),
            "one request for profiles"
        );
        assert!(model("sideways", "lists").is_err());
    }

    #[test]
    fn the_mapper_can_pick_every_value_klaviyo_takes() {
        let input = meta_model(&cfg(
            json!({"revision": "2026-10-15", "objectType": "flows", "operation": "create"}),
        ))
        .expect("flows")
        .input;
        assert_eq!(
            input["properties"]["definition"]["properties"]["reentry_criteria"]["properties"]["unit"]
                ["enum"],
            json!(["day", "hour", "week", "alltime"])
        );
        let buttons = meta_model(&cfg(
            json!({"revision": "2026-10-15", "objectType": "brand-buttons", "operation": "create"}),
        ))
        .expect("brand buttons")
        .input;
        let decoration = &buttons["properties"]["text"]["properties"]["text_decoration"]["enum"];
        assert!(
            decoration
                .as_array()
                .is_some_and(|d| !d.contains(&json!(""))),
            "{decoration}"
        );
    }
}
