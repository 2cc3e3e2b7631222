//! "Add Profiles to List" and "Remove Profiles from List":
//! `POST` / `DELETE /lists/{id}/relationships/profiles` with profile ids,
//! at most Klaviyo's batch limit (1,000) per request, larger lists split.
//! Membership is idempotent (adding a member twice leaves one), so the
//! requests are retried like a PUT.

use std::collections::HashSet;

use component_sdk::{Config, MetaModel, Sink};
use klaviyo_spec::{Method as SpecMethod, Operation, RevisionSpec};
use reqwest::Method;
use serde_json::{Value, json};

use super::action::{Action, Run, emit_json};
use super::body::{Body, Member};
use super::request::{path_to, prepare_at};
use super::write::Batches;
use super::{metadata, values};
use crate::Error;
use crate::fields;
use crate::revision::Revision;

pub(crate) const MEMBERS: &str = "/lists/{id}/relationships/profiles";

/// The input member that carries the profile ids.
pub(crate) const PROFILE_IDS: &str = "profileIds";

const IDS: Member<'static> = Member::new(PROFILE_IDS, "Profile IDs");

/// The two actions: Add Profiles to List and Remove Profiles from List.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
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

impl Action for Change {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        change(*self, run, out).await
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

pub(crate) fn add_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Change::Add)
}

pub(crate) fn remove_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Change::Remove)
}

/// The profile ids of the message body, in order, each once.
fn profile_ids(body: &Body) -> Result<Vec<String>, Error> {
    body.only(
        &[IDS],
        &format!("the profile ids go in msg.body.{PROFILE_IDS}"),
    )?;
    let given: Vec<&Value> = match body.get(PROFILE_IDS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let mut ids: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (i, value) in given.into_iter().enumerate() {
        match values::text(Some(value)) {
            // A mapper writes a list as text: "id1,id2". Klaviyo's ids
            // hold no comma, so the text is split rather than sent as one
            // id that comes back as a 404 naming both.
            Ok(Some(text)) => {
                for id in text.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                    if id.contains('@') {
                        return Err(Error::input(format!(
                            "\"Profile IDs\" (msg.body.{PROFILE_IDS}[{i}]) holds {id:?}, an email address: \
                             lists take Klaviyo profile ids (such as 01HXYZ…); look the profile up by email \
                             first (Lookup Object, Lookup by email) and map its id"
                        )));
                    }
                    if seen.insert(id.to_owned()) {
                        ids.push(id.to_owned());
                    }
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

async fn change(change: Change, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
    let spec = run.spec;
    let (op, schema) = endpoint(spec, change)?;
    let list_id = run.cfg.text(fields::LIST_ID)?.ok_or_else(|| {
        Error::config(format!(
            "\"{}\" is required: give the id of the list (in Klaviyo, the list's page address ends with it)",
            fields::LIST_ID.label
        ))
    })?;
    let body = Body::read(&run.msg, &format!("\"{PROFILE_IDS}\""))?;
    let ids = profile_ids(&body)?;
    let document = prepare_at(
        &json!(ids),
        &schema,
        "The profile ids cannot be sent",
        &|path| mapped(path, 0),
    )?;
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
    // Membership is a set: adding or removing again changes nothing, so a
    // throttled batch rebounds the message even after others went through;
    // any other failure says how far the step got.
    let answers = Batches {
        client: &run.client,
        method,
        path: &path,
        schema: &schema,
        rebound_after_some: true,
        mapped: &mapped,
    }
    .send(
        &all,
        size,
        |batch| json!({"data": batch}),
        |sent, _| format!("Profiles 1–{sent} of {} were {}", all.len(), change.done()),
    )
    .await?;
    let status = answers.last().map_or(204, |(response, _)| response.status);
    emit_json(
        out,
        &json!({"statusCode": status, "listId": list_id, "profileCount": all.len(), "requestCount": answers.len()}),
    )
}

/// The field the user mapped that `path` (flattened, into a request whose
/// identifiers start at the message's id `start`) names: the request's
/// `[1]` is `profileIds[start + 1]`.
fn mapped(path: String, start: usize) -> String {
    let index = path
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(index, after)| index.parse::<usize>().ok().filter(|_| after.is_empty()));
    match index {
        Some(index) => format!("{PROFILE_IDS}[{}]", start + index),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_name_the_profile_id_mapped() {
        assert_eq!(mapped("[1]".to_owned(), 0), "profileIds[1]");
        assert_eq!(mapped("[1]".to_owned(), 1000), "profileIds[1001]");
        assert_eq!(
            super::super::jsonapi::field_name(&mapped("[1]".to_owned(), 0)),
            "\"Profile IDs\" (msg.body.profileIds[1])"
        );
        assert_eq!(mapped("".to_owned(), 0), "");
        // Klaviyo's pointer into the second request of 1,000 ids.
        let (_, schema) =
            endpoint(klaviyo_spec::for_revision("2026-10-15"), Change::Add).expect("the endpoint");
        let body = br#"{"errors":[{"code":"invalid","detail":"Bad id.","source":{"pointer":"/data/1/id"}}]}"#;
        let error = crate::client::ApiError::from_body(400, None, body, "");
        assert_eq!(
            super::super::write::with_labels(error, &schema, &|path| mapped(path, 1000))
                .to_string(),
            "Klaviyo answered 400 (invalid): Bad id. [\"Profile IDs\" (msg.body.profileIds[1001])]"
        );
        assert_eq!(mapped("[x]".to_owned(), 0), "[x]");
    }

    fn ids(body: Value) -> Result<Vec<String>, String> {
        profile_ids(&Body::of(body.as_object().cloned().expect("object")))
            .map_err(|e| e.to_string())
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
        // Text from a mapper: split on commas.
        assert_eq!(
            ids(json!({"profileIds": "01A, 01B,,01A"})),
            Ok(vec!["01A".to_owned(), "01B".to_owned()])
        );
        assert_eq!(
            ids(json!({"profileIds": ["01A", "ann@example.com"]})),
            Err("\"Profile IDs\" (msg.body.profileIds[1]) holds \"ann@example.com\", an email address: lists take Klaviyo profile ids (such as 01HXYZ…); look the profile up by email first (Lookup Object, Lookup by email) and map its id".to_owned())
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
