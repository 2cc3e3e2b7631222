//! "Subscribe Profiles" and "Unsubscribe Profiles": Klaviyo's bulk
//! subscription jobs (`POST /profile-subscription-bulk-create-jobs` and
//! `…-delete-jobs`), for one profile or a list of them, on the email or SMS
//! channel, optionally for a list. A list longer than the job's limit
//! (1,000 to subscribe, 100 to unsubscribe) is sent as several jobs. Setting
//! a consent is idempotent, so the jobs are retried like a PUT, and a
//! message delivered again sends the same jobs again to no effect.

use component_sdk::{Config, MetaModel, Sink};
use klaviyo_spec::{Method as SpecMethod, Operation, RevisionSpec};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::action::{Action, Run, emit_json};
use super::body::Body;
use super::request::prepare_at;
use super::write::Batches;
use super::{jsonapi, metadata, values};
use crate::Error;
use crate::fields;
use crate::revision::Revision;

/// The channels the actions set consent on, with their labels.
pub(crate) const CHANNELS: &[(&str, &str)] = &[("email", "Email"), ("sms", "SMS")];

/// The two actions: Subscribe Profiles and Unsubscribe Profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Subscribe,
    Unsubscribe,
}

impl Direction {
    fn path(self) -> &'static str {
        match self {
            Direction::Subscribe => "/profile-subscription-bulk-create-jobs",
            Direction::Unsubscribe => "/profile-subscription-bulk-delete-jobs",
        }
    }

    fn consent(self) -> &'static str {
        match self {
            Direction::Subscribe => "SUBSCRIBED",
            Direction::Unsubscribe => "UNSUBSCRIBED",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Direction::Subscribe => "Subscribe Profiles",
            Direction::Unsubscribe => "Unsubscribe Profiles",
        }
    }

    /// What happened to profiles whose job was accepted.
    fn done(self) -> &'static str {
        match self {
            Direction::Subscribe => "subscribed",
            Direction::Unsubscribe => "unsubscribed",
        }
    }
}

impl Action for Direction {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        set_consent(*self, run, out).await
    }
}

/// The job's endpoint and request schema in `spec`.
fn job(
    spec: &'static RevisionSpec,
    direction: Direction,
) -> Result<(&'static Operation, Value), Error> {
    let path = direction.path();
    let op = spec.operation(SpecMethod::Post, path);
    let schema = spec.request_schema(SpecMethod::Post, path);
    match (op, schema) {
        (Some(op), Some(schema)) => Ok((op, schema)),
        _ => Err(Error::config(format!(
            "Klaviyo's revision {} has no POST {path}",
            spec.revision
        ))),
    }
}

/// The channel chosen in `cfg`.
fn channel(cfg: &Config) -> Result<&'static str, Error> {
    let keys: Vec<&str> = CHANNELS.iter().map(|(k, _)| *k).collect();
    match cfg.choice(fields::CHANNEL, &keys)? {
        Some(chosen) => Ok(CHANNELS
            .iter()
            .map(|(k, _)| *k)
            .find(|k| *k == chosen)
            .unwrap_or("email")),
        None => Err(Error::config(format!(
            "\"{}\" is required: choose Email or SMS",
            fields::CHANNEL.label
        ))),
    }
}

/// What identifies a profile on `channel`.
fn identifier(channel: &str) -> &'static str {
    match channel {
        "sms" => "phone_number",
        _ => "email",
    }
}

/// The flattened schemas of the job: the job's own members (without the
/// profiles and the list, which the action fills in) and one profile's
/// (without its subscriptions, which the channel decides; with
/// `consented_at` where the channel's consent takes one).
fn flattened(schema: &Value, channel: &str) -> (Map<String, Value>, Map<String, Value>) {
    let flat = jsonapi::input_schema(schema).unwrap_or_default();
    let mut job: Map<String, Value> = flat["properties"].as_object().cloned().unwrap_or_default();
    job.remove("relationships");
    let profile_schema = job.remove("profiles").unwrap_or_default();
    let mut profile: Map<String, Value> = profile_schema["items"]["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let consent = profile
        .remove("subscriptions")
        .map(|s| s["properties"][channel]["properties"]["marketing"].clone())
        .unwrap_or_default();
    if let Some(at) = consent["properties"].get("consented_at") {
        profile.insert("consented_at".into(), at.clone());
    }
    (job, profile)
}

fn meta_model(cfg: &Config, direction: Direction) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let (op, schema) = job(spec, direction)?;
    let channel = channel(cfg).unwrap_or("email");
    let (job, profile) = flattened(&schema, channel);
    let limit = op.max_batch.map_or(String::new(), |b| {
        format!(
            " Klaviyo takes up to {} a job; more are sent as several jobs.",
            b.max
        )
    });
    let mut properties = profile.clone();
    properties.insert(
        "profiles".into(),
        json!({"type": "array", "description": format!("Several profiles, each with the fields above; instead of them.{limit}"), "items": {"type": "object", "properties": profile}}),
    );
    properties.extend(job);
    let input = metadata::titled(
        json!({"type": "object", "description": format!("One profile ({} on {}), or several in profiles.", identifier(channel), channel), "properties": properties}),
        direction.title(),
    );
    Ok(MetaModel {
        input,
        output: metadata::object(
            "Subscription jobs",
            &[
                (
                    "statusCode",
                    "number",
                    "202: Klaviyo accepted every job.",
                    true,
                ),
                ("channel", "string", "email or sms.", true),
                (
                    "listId",
                    "string",
                    "The list, when one is configured.",
                    false,
                ),
                (
                    "profileCount",
                    "number",
                    "How many profiles were sent.",
                    true,
                ),
                (
                    "jobs",
                    "array",
                    "One entry per job sent: its statusCode, profileCount and the jobId Klaviyo gave, if any.",
                    true,
                ),
            ],
        ),
    })
}

pub(crate) fn subscribe_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Direction::Subscribe)
}

pub(crate) fn unsubscribe_meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    meta_model(cfg, Direction::Unsubscribe)
}

async fn set_consent(direction: Direction, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
    let spec = run.spec;
    let (op, schema) = job(spec, direction)?;
    let channel = channel(&run.cfg)?;
    let list_id = run.cfg.text(fields::LIST_ID)?;
    let (_, profile_fields) = flattened(&schema, channel);
    let mut members =
        Body::read(&run.msg, "a profile's email or phone_number, or profiles")?.into_members();

    // One profile at the top, or several in `profiles`.
    let single: Map<String, Value> = profile_fields
        .keys()
        .filter_map(|k| members.remove_entry(k))
        .collect();
    let listed = members
        .remove("profiles")
        .filter(|p| !p.is_null() && p != "");
    let from_list = listed.is_some();
    let profiles: Vec<Value> = match (
        listed,
        single
            .values()
            .any(|v| !matches!(values::text(Some(v)), Ok(None))),
    ) {
        (Some(_), true) => {
            return Err(Error::input(
                "give either one profile's fields (msg.body.email, msg.body.phone_number, …) or msg.body.profiles, not both",
            ));
        }
        (Some(Value::Array(items)), false) => items,
        (Some(one), false) => vec![one],
        (None, true) => vec![Value::Object(single)],
        (None, false) => {
            return Err(Error::input(format!(
                "{} needs a profile: give {} (or msg.body.profiles, a list of profiles)",
                direction.title(),
                jsonapi::field_name(identifier(channel))
            )));
        }
    };
    let wanted = identifier(channel);
    let mut prepared = Vec::with_capacity(profiles.len());
    for (i, profile) in profiles.into_iter().enumerate() {
        let Value::Object(mut profile) = profile else {
            return Err(Error::input(format!(
                "msg.body.profiles[{i}] must be an object with the profile's {wanted}, got {}",
                component_sdk::config::describe(&profile)
            )));
        };
        if matches!(values::text(profile.get(wanted)), Ok(None)) {
            let at = if from_list {
                format!("profiles[{i}].{wanted}")
            } else {
                wanted.to_owned()
            };
            return Err(Error::input(format!(
                "{} is required to {} on {}: map a value to it",
                jsonapi::field_name(&at),
                direction
                    .title()
                    .split(' ')
                    .next()
                    .unwrap_or("subscribe")
                    .to_lowercase(),
                channel
            )));
        }
        let mut marketing = Map::new();
        marketing.insert(
            "consent".into(),
            Value::String(direction.consent().to_owned()),
        );
        if let Some(at) = profile.remove("consented_at")
            && !matches!(values::text(Some(&at)), Ok(None))
        {
            marketing.insert("consented_at".into(), at);
        }
        profile.insert(
            "subscriptions".into(),
            json!({channel: {"marketing": marketing}}),
        );
        prepared.push(Value::Object(profile));
    }
    let count = prepared.len();
    let mut job_input = members;
    job_input.insert("profiles".into(), Value::Array(prepared));
    if let Some(list) = &list_id {
        job_input.insert("relationships".into(), json!({"list": list}));
    }
    // The whole list is checked before any job is sent, so that a bad
    // profile stops the step before anything changed.
    let document = prepare_at(
        &Value::Object(job_input),
        &schema,
        &format!(
            "The message body is not what {} takes in revision {}",
            direction.title(),
            run.client.revision().named()
        ),
        &|path| mapped(path, 0, from_list),
    )?;
    let all = document["data"]["attributes"]["profiles"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // What the job schema's descriptions state, which its types do not:
    // checked for every profile here, since a later job that Klaviyo
    // refuses for it would leave a partial import behind.
    let broken = stated_rules(&document, &all, channel, chrono::Utc::now());
    if !broken.is_empty() {
        let mut sentences: Vec<String> = broken
            .iter()
            .take(5)
            .map(|(path, rule)| {
                format!(
                    "{} {rule}",
                    jsonapi::field_name(&mapped(path.clone(), 0, from_list))
                )
            })
            .collect();
        if broken.len() > 5 {
            sentences.push(format!("and {} more", broken.len() - 5));
        }
        return Err(Error::input(format!(
            "The message body is not what {} takes in revision {}: {}",
            direction.title(),
            run.client.revision().named(),
            sentences.join("; ")
        )));
    }
    let size = op.max_batch.map_or(all.len().max(1), |b| b.max as usize);
    tracing::info!(
        "\"{}\" action started: {count} profile(s) on {channel} in {} job(s)",
        direction.title(),
        all.len().div_ceil(size)
    );
    // Setting a consent again leaves it as it is: safe to repeat now. Not
    // hours later, when a rebound would deliver the message again: a
    // profile that unsubscribed meanwhile would be subscribed again.
    let answers = Batches {
        client: &run.client,
        method: Method::POST,
        path: direction.path(),
        schema: &schema,
        rebound_after_some: false,
        mapped: &|path, start| mapped(path, start, from_list),
    }
    .send(
        &all,
        size,
        |batch| {
            let mut part = document.clone();
            part["data"]["attributes"]["profiles"]["data"] = Value::Array(batch.to_vec());
            part
        },
        |sent, accepted| {
            format!(
                "Profiles 1–{sent} of {count} were {} ({accepted} job(s) accepted)",
                direction.done()
            )
        },
    )
    .await?;
    let status = answers.last().map_or(202, |(response, _)| response.status);
    let jobs: Vec<Value> = answers
        .iter()
        .map(|(response, profiles)| {
            let job_id = serde_json::from_slice::<Value>(&response.body)
                .ok()
                .and_then(|b| b["data"]["id"].as_str().map(str::to_owned));
            json!({"statusCode": response.status, "profileCount": profiles, "jobId": job_id})
        })
        .collect();
    emit_json(
        out,
        &json!({"statusCode": status, "channel": channel, "listId": list_id, "profileCount": count, "jobs": jobs}),
    )
}

/// The rules the job schema's descriptions state for the body, as
/// `(flattened path, what is wrong)` for every profile that breaks one:
/// with `historical_import` each channel's `consented_at` "is required and
/// must be in the past"; without it "providing any value for this field
/// will raise an error"; a `phone_number` "must be in E.164 format".
fn stated_rules(
    document: &Value,
    profiles: &[Value],
    channel: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let historical = document["data"]["attributes"]["historical_import"] == true;
    let mut broken = Vec::new();
    for (i, profile) in profiles.iter().enumerate() {
        let attributes = &profile["attributes"];
        let consent = &attributes["subscriptions"][channel]["marketing"];
        // Unsubscribing has no consent time: nothing to state.
        let takes_time = consent.get("consent").and_then(Value::as_str) == Some("SUBSCRIBED");
        let at = format!("profiles[{i}].subscriptions.{channel}.marketing.consented_at");
        match (historical, consent.get("consented_at")) {
            (true, None) if takes_time => broken.push((
                at,
                "is required when \"Historical Import\" (msg.body.historical_import) is true: map when the consent was given".to_owned(),
            )),
            (true, Some(time)) => {
                let parsed = time
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if parsed.is_some_and(|t| t > now) {
                    broken.push((
                        at,
                        format!(
                            "must be in the past with \"Historical Import\", got {}",
                            component_sdk::config::describe(time)
                        ),
                    ));
                }
            }
            (false, Some(_)) => broken.push((
                at,
                "may only be given with \"Historical Import\" (msg.body.historical_import) true: remove it, or set that".to_owned(),
            )),
            _ => {}
        }
        if let Some(phone) = attributes.get("phone_number").and_then(Value::as_str)
            && !is_e164(phone)
        {
            broken.push((
                format!("profiles[{i}].phone_number"),
                format!(
                    "must be in E.164 format, a + and the country code and number, digits only (such as +15005550006), got {}",
                    component_sdk::config::describe(&Value::String(phone.to_owned()))
                ),
            ));
        }
    }
    broken
}

/// `+`, then 7 to 15 digits, the first not 0 (ITU-T E.164).
fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The field the user mapped that `path` (flattened, into a job whose
/// profiles start at the message's profile `start`) names: the job's
/// `profiles[5]` is the message's `profiles[start + 5]`; one profile given
/// at the top of the message is the top (`email`, not `profiles[0].email`);
/// the consent is the action's, so its `consented_at` is the one mapped on
/// the profile and the rest of it the profile itself.
fn mapped(path: String, start: usize, from_list: bool) -> String {
    let Some((index, after)) = path
        .strip_prefix("profiles[")
        .and_then(|rest| rest.split_once(']'))
    else {
        return path;
    };
    let Ok(index) = index.parse::<usize>() else {
        return path;
    };
    let after = after.strip_prefix('.').unwrap_or(after);
    let after = match after.strip_prefix("subscriptions") {
        Some(consent) if consent.ends_with(".consented_at") => "consented_at",
        Some(_) => "",
        None => after,
    };
    match (from_list, after.is_empty()) {
        (false, _) => after.to_owned(),
        (true, true) => format!("profiles[{}]", start + index),
        (true, false) => format!("profiles[{}].{after}", start + index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_name_what_was_mapped() {
        let cases = [
            ("profiles[5].email", 1000, true, "profiles[1005].email"),
            ("profiles[5]", 1000, true, "profiles[1005]"),
            ("profiles[0].email", 0, false, "email"),
            ("profiles[0]", 0, false, ""),
            (
                "profiles[3].subscriptions.email.marketing.consented_at",
                1000,
                true,
                "profiles[1003].consented_at",
            ),
            (
                "profiles[0].subscriptions.sms.marketing.consented_at",
                0,
                false,
                "consented_at",
            ),
            (
                "profiles[2].subscriptions.email.marketing.consent",
                0,
                true,
                "profiles[2]",
            ),
            ("historical_import", 1000, true, "historical_import"),
            ("profiles[x].email", 1000, true, "profiles[x].email"),
        ];
        for (path, start, from_list, want) in cases {
            assert_eq!(mapped(path.to_owned(), start, from_list), want, "{path}");
        }
    }

    fn cfg(value: Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn metadata_per_channel_and_revision() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let model =
                subscribe_meta_model(&cfg(json!({"revision": revision, "channel": "email"})))
                    .expect("model");
            let p = &model.input["properties"];
            assert_eq!(p["email"]["title"], "Email", "{revision}");
            assert_eq!(p["consented_at"]["format"], "date-time", "{revision}");
            assert_eq!(
                p["profiles"]["items"]["properties"]["email"]["type"],
                "string"
            );
            assert!(p.get("subscriptions").is_none() && p.get("relationships").is_none());
            assert!(p["historical_import"].is_object(), "{revision}");
            let un = unsubscribe_meta_model(&cfg(json!({"revision": revision, "channel": "sms"})))
                .expect("model");
            assert!(un.input["properties"]["phone_number"].is_object());
            assert!(un.input["properties"].get("consented_at").is_none());
        }
    }
}
