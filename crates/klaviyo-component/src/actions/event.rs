//! "Create Event": `POST /events`, with a `unique_id` that defaults to the
//! incoming message's id, so that a message the platform delivers again
//! (a rebound, a retried flow) records its event once: Klaviyo keeps only
//! the first event with a given `unique_id` for a profile and metric. That
//! makes the request safe to repeat, and the client retries it like a PUT.

use chrono::{SecondsFormat, Utc};
use component_sdk::{Config, MetaModel, Sink};
use klaviyo_spec::Method as SpecMethod;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::action::{Action, Run, emit_json};
use super::body::Body;
use super::request::prepare;
use super::write::write;
use super::{jsonapi, metadata, values};
use crate::Error;
use crate::catalog::PROFILE_IDENTIFIERS;
use crate::client::Repeatability;
use crate::revision::Revision;

pub(crate) const EVENTS: &str = "/events";

pub(crate) struct CreateEvent;

fn schema(spec: &'static klaviyo_spec::RevisionSpec) -> Result<Value, Error> {
    spec.request_schema(SpecMethod::Post, EVENTS)
        .ok_or_else(|| {
            Error::config(format!(
                "Klaviyo's revision {} has no POST /events",
                spec.revision
            ))
        })
}

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let schema = schema(spec)?;
    let mut flat = jsonapi::input_schema(&schema).unwrap_or_else(|| json!({"type": "object"}));
    // What the action fills in when nothing is mapped is not required.
    if let Some(Value::Array(required)) = flat.get_mut("required") {
        required.retain(|r| r != "properties");
    }
    let notes = [
        (
            "unique_id",
            "Default: the incoming message's id, so that a message delivered again records its event once. ",
        ),
        ("time", "Default: now. "),
        ("properties", "Default: none ({}). "),
    ];
    if let Some(Value::Object(properties)) = flat.get_mut("properties") {
        for (name, note) in notes {
            if let Some(Value::Object(p)) = properties.get_mut(name) {
                let was = p
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                p.insert("description".into(), Value::String(format!("{note}{was}")));
            }
        }
    }
    Ok(MetaModel {
        input: metadata::titled(flat, "Event"),
        output: metadata::object(
            "Event accepted",
            &[
                (
                    "statusCode",
                    "number",
                    "202: Klaviyo accepted the event for processing.",
                    true,
                ),
                (
                    "uniqueId",
                    "string",
                    "The unique_id the event was sent with.",
                    true,
                ),
                ("time", "string", "The time the event was sent with.", true),
            ],
        ),
    })
}

/// The `unique_id` of the event a message records when none is mapped:
/// the message's id, or, for a message without one, a digest of its body.
pub(crate) fn default_unique_id(message_id: &str, body: &str) -> String {
    if !message_id.trim().is_empty() {
        return message_id.trim().to_owned();
    }
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, body.as_bytes());
    format!("body-{:016x}", std::hash::Hasher::finish(&hasher))
}

impl Action for CreateEvent {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let spec = run.spec;
        let schema = schema(spec)?;
        let mut members = Body::read(
            &run.msg,
            "the metric, the profile and the event's properties",
        )?
        .into_members();
        let unset = |v: Option<&Value>| matches!(values::text(v), Ok(None));
        if unset(members.get("unique_id")) {
            members.insert(
                "unique_id".into(),
                Value::String(default_unique_id(&run.msg.id, run.msg.body.get())),
            );
        }
        if unset(members.get("time")) {
            members.insert(
                "time".into(),
                Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        }
        if members
            .get("properties")
            .is_none_or(|p| p.is_null() || p == "")
        {
            members.insert("properties".into(), Value::Object(Map::new()));
        }
        let document = prepare(
            &Value::Object(members),
            &schema,
            &format!(
                "The message body is not an event that revision {} accepts",
                run.client.revision().named()
            ),
        )?;
        let attributes = &document["data"]["attributes"];
        let profile = &attributes["profile"]["data"];
        let identified = PROFILE_IDENTIFIERS.iter().any(|k| {
            let value = if *k == "id" {
                &profile["id"]
            } else {
                &profile["attributes"][*k]
            };
            value.as_str().is_some_and(|s| !s.trim().is_empty())
        });
        if !identified {
            let named: Vec<String> = PROFILE_IDENTIFIERS
                .iter()
                .map(|k| jsonapi::field_name(&format!("profile.{k}")))
                .collect();
            return Err(Error::input(format!(
                "an event belongs to a profile: give at least one of {}",
                named.join(", ")
            )));
        }
        let unique_id = attributes["unique_id"].clone();
        let time = attributes["time"].clone();
        tracing::info!("\"Create Event\" action started: unique_id {unique_id}");
        // Klaviyo records an event with a given unique_id once: repeating the
        // request cannot record it twice.
        let response = write(
            &run.client,
            Method::POST,
            EVENTS,
            &document,
            &schema,
            Repeatability::Idempotent,
        )
        .await?;
        emit_json(
            out,
            &json!({"statusCode": response.status, "uniqueId": unique_id, "time": time}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unique_id_comes_from_the_message() {
        assert_eq!(default_unique_id("5f1c-9a", "{}"), "5f1c-9a");
        let a = default_unique_id("", "{\"x\":1}");
        assert_eq!(
            a,
            default_unique_id(" ", "{\"x\":1}"),
            "the same body, the same id"
        );
        assert_ne!(a, default_unique_id("", "{\"x\":2}"));
        assert!(a.starts_with("body-"));
    }

    #[test]
    fn metadata_from_the_revision() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let cfg = Config::new(
                json!({"revision": revision})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            );
            let model = meta_model(&cfg).expect("model");
            let p = &model.input["properties"];
            assert_eq!(
                p["metric"]["properties"]["name"]["required"],
                json!(true),
                "{revision}"
            );
            assert_eq!(
                p["profile"]["properties"]["email"]["title"], "Email",
                "{revision}"
            );
            assert!(
                p["unique_id"]["description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("Default: the incoming message's id"))
            );
            assert!(
                p["properties"].get("required").is_none(),
                "{revision}: defaults to {{}}"
            );
            assert_eq!(p["value"]["type"], "number");
        }
        let old = Config::new(
            json!({"revision": "2024-10-15"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert!(
            meta_model(&old).expect("model").input["properties"]
                .get("backfill")
                .is_none()
        );
    }
}
