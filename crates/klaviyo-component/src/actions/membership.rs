//! "Add Profiles to List" and "Remove Profiles from List":
//! `POST` / `DELETE /lists/{id}/relationships/profiles` with profile ids,
//! at most Klaviyo's batch limit (1,000) per request, larger lists split.
//! Membership is idempotent (adding a member twice leaves one), so the
//! requests are retried like a PUT.

use std::collections::HashSet;

use component_sdk::config::{closest, shortened};
use component_sdk::{Config, MetaModel, Sink, Step, StepInput};
use klaviyo_spec::{Method as SpecMethod, Operation, RevisionSpec};
use reqwest::Method;
use serde_json::{Value, json};

use super::{body, emit_json, invalid, metadata, partly_done, path_to, validate, values, write};
use crate::Error;
use crate::client::{Failure, Repeatability};
use crate::context::Context;
use crate::fields;
use crate::outcome::finish;
use crate::revision::Revision;

pub const MEMBERS: &str = "/lists/{id}/relationships/profiles";

/// The input member that carries the profile ids.
pub const PROFILE_IDS: &str = "profileIds";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
}

impl Change {
    fn method(self) -> SpecMethod {
        match self {
            Change::Add => SpecMethod::Post,
            Change::Remove => SpecMethod::Delete,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Change::Add => "Add Profiles to List",
            Change::Remove => "Remove Profiles from List",
        }
    }

    /// What happened to profiles whose batch went through.
    fn done(self) -> &'static str {
        match self {
            Change::Add => "added to the list",
            Change::Remove => "removed from the list",
        }
    }
}

pub struct AddProfilesToList;
pub struct RemoveProfilesFromList;

impl Step for AddProfilesToList {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        let result = run(Change::Add, input, out).await;
        finish(result, out)
    }
}

impl Step for RemoveProfilesFromList {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        let result = run(Change::Remove, input, out).await;
        finish(result, out)
    }
}

fn endpoint(
    spec: &'static RevisionSpec,
    change: Change,
) -> Result<(&'static Operation, Value), Error> {
    let method = change.method();
    match (
        spec.operation(method, MEMBERS),
        spec.request_schema(method, MEMBERS),
    ) {
        (Some(op), Some(schema)) => Ok((op, schema)),
        _ => Err(Error::config(format!(
            "Klaviyo's revision {} has no {method} {MEMBERS}",
            spec.revision
        ))),
    }
}

fn meta_model(cfg: &Config, change: Change) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let (op, _) = endpoint(spec, change)?;
    let limit = op.max_batch.map_or(String::new(), |b| {
        format!(
            " Klaviyo takes up to {} per request; more are sent in several.",
            b.max
        )
    });
    Ok(MetaModel {
        input: json!({
            "type": "object",
            "title": format!("{} input", change.title()),
            "properties": {PROFILE_IDS: {
                "type": "array", "title": "Profile IDs", "required": true,
                "items": {"type": "string"},
                "description": format!("The ids of the profiles (one id, or a list).{limit}")
            }}
        }),
        output: metadata::object(
            "List membership changed",
            &[
                (
                    "statusCode",
                    "number",
                    "204: Klaviyo made every change.",
                    true,
                ),
                ("listId", "string", "The list.", true),
                (
                    "profileCount",
                    "number",
                    "How many distinct profile ids were sent.",
                    true,
                ),
                ("requestCount", "number", "How many requests it took.", true),
            ],
        ),
    })
}

pub fn add_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Change::Add)
}

pub fn remove_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Change::Remove)
}

/// The profile ids of the message body, in order, each once.
fn profile_ids(members: &serde_json::Map<String, Value>) -> Result<Vec<String>, Error> {
    for given in members.keys() {
        if given != PROFILE_IDS {
            let hint = match closest(given, [PROFILE_IDS]) {
                Some(meant) => format!(" — did you mean `{meant}` (Profile IDs)?"),
                None => format!(": the profile ids go in msg.body.{PROFILE_IDS}"),
            };
            return Err(Error::input(format!(
                "unknown member `{}` of the message body{hint}",
                shortened(given, 40)
            )));
        }
    }
    let given: Vec<&Value> = match members.get(PROFILE_IDS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let mut ids: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (i, value) in given.into_iter().enumerate() {
        match values::text(Some(value)) {
            Ok(Some(id)) => {
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
            Ok(None) => {}
            Err(kind) => {
                return Err(Error::input(format!(
                    "\"Profile IDs\" (msg.body.{PROFILE_IDS}[{i}]) must be a profile id (text), got {kind}"
                )));
            }
        }
    }
    if ids.is_empty() {
        return Err(Error::input(format!(
            "\"Profile IDs\" is required: give msg.body.{PROFILE_IDS}, a profile id or a list of them"
        )));
    }
    Ok(ids)
}

async fn run(change: Change, input: StepInput, out: &mut dyn Sink) -> Result<(), Error> {
    let Context { client, .. } = Context::new(&input.cfg, &input.env)?;
    let spec = client.revision().spec();
    let (op, schema) = endpoint(spec, change)?;
    let list_id = input.cfg.text(fields::LIST_ID)?.ok_or_else(|| {
        Error::config(format!(
            "\"{}\" is required: give the id of the list (in Klaviyo, the list's page address ends with it)",
            fields::LIST_ID.label
        ))
    })?;
    let members = body(&input, &format!("\"{PROFILE_IDS}\""))?;
    let ids = profile_ids(&members)?;
    let document = super::jsonapi::build(&json!(ids), &schema);
    let violations = validate::check(&document, &schema);
    if !violations.is_empty() {
        return Err(invalid(
            &violations,
            &schema,
            "The profile ids cannot be sent",
        ));
    }
    let path = path_to(op.path, &list_id, fields::LIST_ID.label)?;
    let size = op.max_batch.map_or(ids.len(), |b| b.max as usize).max(1);
    let all = document["data"].as_array().cloned().unwrap_or_default();
    let method = Method::from_bytes(change.method().as_str().as_bytes())
        .map_err(|e| Error::internal(e.to_string()))?;
    tracing::info!(
        "\"{}\" action started: {} profile(s), {} request(s)",
        change.title(),
        all.len(),
        all.len().div_ceil(size)
    );
    let mut status = 204;
    let mut requests = 0;
    let mut sent = 0;
    for chunk in all.chunks(size) {
        let part = json!({"data": chunk});
        // Membership is a set: adding or removing again changes nothing,
        // so a throttled batch rebounds the message even after others
        // went through; any other failure says how far the step got.
        let response = match write(
            &client,
            method.clone(),
            &path,
            &part,
            &schema,
            Repeatability::Idempotent,
        )
        .await
        {
            Ok(response) => response,
            Err(Error::Api(e)) if e.failure() == Failure::Throttled => return Err(Error::Api(e)),
            Err(e) if sent > 0 => {
                return Err(partly_done(
                    e,
                    &format!("Profiles 1–{sent} of {} were {}", all.len(), change.done()),
                ));
            }
            Err(e) => return Err(e),
        };
        sent += chunk.len();
        status = response.status;
        requests += 1;
    }
    emit_json(
        out,
        &json!({"statusCode": status, "listId": list_id, "profileCount": all.len(), "requestCount": requests}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(body: Value) -> Result<Vec<String>, String> {
        profile_ids(body.as_object().expect("object")).map_err(|e| e.to_string())
    }

    #[test]
    fn one_id_or_a_list_each_once() {
        assert_eq!(
            ids(json!({"profileIds": "01A"})),
            Ok(vec!["01A".to_owned()])
        );
        assert_eq!(
            ids(json!({"profileIds": ["01A", "", "01B", "01A"]})),
            Ok(vec!["01A".to_owned(), "01B".to_owned()])
        );
        assert_eq!(
            ids(json!({"profileIds": []})),
            Err("\"Profile IDs\" is required: give msg.body.profileIds, a profile id or a list of them".to_owned())
        );
        assert_eq!(
            ids(json!({"profileIds": [{"id": "x"}]})),
            Err("\"Profile IDs\" (msg.body.profileIds[0]) must be a profile id (text), got an object".to_owned())
        );
        assert_eq!(
            ids(json!({"profileId": ["01A"]})),
            Err("unknown member `profileId` of the message body — did you mean `profileIds` (Profile IDs)?".to_owned())
        );
    }

    #[test]
    fn the_batch_limit_comes_from_the_revision() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let spec = klaviyo_spec::for_revision(revision);
            for change in [Change::Add, Change::Remove] {
                let (op, _) = endpoint(spec, change).expect("endpoint");
                assert_eq!(
                    op.max_batch.map(|b| b.max),
                    Some(1000),
                    "{revision} {change:?}"
                );
            }
        }
    }
}
