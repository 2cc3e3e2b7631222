//! Bulk subscription jobs: `POST /api/profile-subscription-bulk-create-jobs`
//! (subscribe) and `-delete-jobs` (unsubscribe), 202 with no body as
//! Klaviyo answers. The files declare no endpoint to read such a job back,
//! so the stand-in records each one (`SubscriptionJob` in `jobs.rs`, through
//! `FakeKlaviyo::subscription_jobs`) and applies it at once:
//!
//! - subscribe: each profile is found by `id` (2026 files), email or phone
//!   number, or created; its consent becomes `SUBSCRIBED` on the channels
//!   given (without `subscriptions`, as the 2024 files allow: email
//!   marketing for an email, SMS marketing for a phone number), its
//!   `UNSUBSCRIBE`, `SPAM_REPORT` and `USER_SUPPRESSED` suppressions go,
//!   and it joins the list given. A list with double opt-in (or none given:
//!   the account default, single opt-in) leaves the profile waiting for its
//!   confirmation, unless `historical_import`: nothing changes until
//!   `FakeKlaviyo::confirm_pending_subscriptions`;
//! - `consented_at` only with `historical_import: true`, which requires it
//!   in the past (the descriptions' rules, 400 otherwise);
//! - unsubscribe: each profile found is taken out of the list given when it
//!   is a member (a list suppression), and otherwise unsubscribed globally,
//!   as the 2026 files warn; profiles not found are left alone;
//! - more profiles than the operation's `max_batch` (1000 to subscribe, 100
//!   to unsubscribe) is a 400 and nothing happens.

use serde_json::{Map, Value, json};

use crate::errors::{ApiError, Source, not_found_id, store_error};
use crate::jobs::{JobProfile, SubscriptionJob, SubscriptionKind};
use crate::profiles::{self, Match};
use crate::request::Target;
use crate::response::Answer;
use crate::state::State;
use crate::store::Store;
use crate::time::{self, Style};

fn too_many(max: usize, n: usize, verb: &str) -> ApiError {
    ApiError::invalid(
        format!("Too many profiles: at most {max} profiles can be {verb} per request; got {n}."),
        Source::Pointer("/data/attributes/profiles/data".into()),
    )
}

struct Job<'d> {
    items: &'d [Value],
    list_id: Option<String>,
    custom_source: Option<String>,
    historical_import: bool,
}

fn job<'d>(
    st: &State,
    op: &klaviyo_spec::Operation,
    doc: &'d Value,
    verb: &str,
) -> Result<Job<'d>, ApiError> {
    let a = &doc["data"]["attributes"];
    let items = a
        .pointer("/profiles/data")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if let Some(max) = op.max_batch.map(|b| b.max as usize)
        && items.len() > max
    {
        return Err(too_many(max, items.len(), verb));
    }
    let list_id = doc["data"]
        .pointer("/relationships/list/data/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(l) = &list_id {
        let ci = st.store.index_of("/lists").map_err(store_error)?;
        if st.store.latest_slot(ci, l).is_err() {
            return Err(not_found_id("list", l));
        }
    }
    Ok(Job {
        items,
        list_id,
        custom_source: a
            .get("custom_source")
            .and_then(Value::as_str)
            .map(str::to_owned),
        historical_import: a
            .get("historical_import")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The channels an item's `subscriptions` name (`email.marketing`, …) with
/// each one's `consented_at`; without `subscriptions`, those of its
/// identifiers.
fn channels(item_attrs: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    match item_attrs.get("subscriptions").and_then(Value::as_object) {
        Some(subs) => {
            for (channel, kinds) in subs {
                for (kind, consent) in kinds.as_object().into_iter().flatten() {
                    if !consent.is_object() {
                        continue;
                    }
                    let at = consent
                        .get("consented_at")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    out.push((format!("{channel}.{kind}"), at));
                }
            }
        }
        None => {
            if item_attrs.get("email").is_some_and(Value::is_string) {
                out.push(("email.marketing".into(), None));
            }
            if item_attrs.get("phone_number").is_some_and(Value::is_string) {
                out.push(("sms.marketing".into(), None));
            }
        }
    }
    out
}

/// `consented_at` only in a historical import, which needs it, in the past.
fn check_consent_times(job: &Job<'_>, now: i64) -> Result<(), ApiError> {
    for (i, item) in job.items.iter().enumerate() {
        let chans = channels(&item["attributes"]);
        for (channel, at) in &chans {
            let pointer = format!(
                "/data/attributes/profiles/data/{i}/attributes/subscriptions/{}/consented_at",
                channel.replace('.', "/")
            );
            match (job.historical_import, at) {
                (false, Some(_)) => {
                    return Err(ApiError::invalid(
                        "'consented_at' may only be given when 'historical_import' is true.",
                        Source::Pointer(pointer),
                    ));
                }
                (true, None) if !channel.ends_with("tracking") => {
                    return Err(ApiError::invalid(
                        "'consented_at' is required when 'historical_import' is true.",
                        Source::Pointer(pointer),
                    ));
                }
                (true, Some(t)) if time::parse_stored(t).is_none_or(|t| t > now) => {
                    return Err(ApiError::invalid(
                        "'consented_at' must be in the past.",
                        Source::Pointer(pointer),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn identifiers(item: &Value) -> Map<String, Value> {
    let a = &item["attributes"];
    let mut m = Map::new();
    for k in ["email", "phone_number"] {
        if let Some(v) = a.get(k).filter(|v| v.is_string()) {
            m.insert(k.to_owned(), v.clone());
        }
    }
    m
}

/// The profile an item names: by `id`, else by email or phone number.
fn find(st: &mut State, item: &Value, i: usize) -> Result<Option<String>, ApiError> {
    if let Some(id) = item.get("id").and_then(Value::as_str) {
        let ci = st.store.index_of("/profiles").map_err(store_error)?;
        return match st.store.latest_slot(ci, id) {
            Ok(_) => Ok(Some(id.to_owned())),
            Err(_) => Err(not_found_id("profile", id)),
        };
    }
    let ids = identifiers(item);
    if ids.is_empty() {
        return Err(profiles::unidentified(&format!(
            "/data/attributes/profiles/data/{i}/attributes"
        )));
    }
    Ok(match profiles::resolve(&mut st.store, &ids) {
        Match::Nobody => None,
        Match::One(id) | Match::Two { first: id, .. } => Some(id),
    })
}

/// `POST /api/profile-subscription-bulk-create-jobs`.
pub(crate) fn subscribe(
    st: &mut State,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let job = job(st, op, doc, "subscribed")?;
    let now = time::now_micros();
    check_consent_times(&job, now)?;
    // Every profile is checked before any is changed.
    let mut found = Vec::with_capacity(job.items.len());
    for (i, item) in job.items.iter().enumerate() {
        found.push(find(st, item, i)?);
    }
    let double = job
        .list_id
        .as_deref()
        .is_some_and(|l| double_opt_in(&mut st.store, l))
        && !job.historical_import;
    let mut profiles_out = Vec::with_capacity(job.items.len());
    for (item, existing) in job.items.iter().zip(found) {
        let ids = identifiers(item);
        let (id, created) = match existing {
            Some(id) => (id, false),
            None => (profiles::create_profile(&mut st.store, ids.clone())?, true),
        };
        let chans = channels(&item["attributes"]);
        if !created
            && !ids.is_empty()
            && profiles::held_by_other(&mut st.store, &id, &ids).is_none()
        {
            // The identifiers given are set on the profile, as the
            // descriptions say for channels left out.
            profiles::update_profile(&mut st.store, &id, ids.clone(), None)?;
        }
        if !double {
            apply_subscribe(
                &mut st.store,
                &id,
                &chans,
                job.custom_source.as_deref(),
                job.list_id.as_deref(),
            )?;
        }
        profiles_out.push(JobProfile {
            profile_id: Some(id),
            created,
            email: ids.get("email").and_then(Value::as_str).map(str::to_owned),
            phone_number: ids
                .get("phone_number")
                .and_then(Value::as_str)
                .map(str::to_owned),
            channels: chans.into_iter().map(|(c, _)| c).collect(),
            pending_confirmation: double,
        });
    }
    record(st, t, SubscriptionKind::Subscribe, job, profiles_out, doc);
    Ok(Answer::empty(202))
}

/// `POST /api/profile-subscription-bulk-delete-jobs`.
pub(crate) fn unsubscribe(
    st: &mut State,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let job = job(st, op, doc, "unsubscribed")?;
    let mut found = Vec::with_capacity(job.items.len());
    for (i, item) in job.items.iter().enumerate() {
        found.push(find(st, item, i)?);
    }
    let mut profiles_out = Vec::with_capacity(job.items.len());
    for (item, existing) in job.items.iter().zip(found) {
        let ids = identifiers(item);
        let chans = channels(&item["attributes"]);
        if let Some(id) = &existing {
            apply_unsubscribe(&mut st.store, id, &chans, job.list_id.as_deref())?;
        }
        profiles_out.push(JobProfile {
            profile_id: existing,
            created: false,
            email: ids.get("email").and_then(Value::as_str).map(str::to_owned),
            phone_number: ids
                .get("phone_number")
                .and_then(Value::as_str)
                .map(str::to_owned),
            channels: chans.into_iter().map(|(c, _)| c).collect(),
            pending_confirmation: false,
        });
    }
    record(st, t, SubscriptionKind::Unsubscribe, job, profiles_out, doc);
    Ok(Answer::empty(202))
}

fn record(
    st: &mut State,
    t: &Target,
    kind: SubscriptionKind,
    job: Job<'_>,
    profiles: Vec<JobProfile>,
    doc: &Value,
) {
    st.jobs.push(SubscriptionJob {
        kind,
        revision: t.revision.clone(),
        list_id: job.list_id,
        custom_source: job.custom_source,
        historical_import: job.historical_import,
        profiles,
        received: chrono::Utc::now(),
        body: doc.clone(),
    });
}

fn double_opt_in(store: &mut Store, list_id: &str) -> bool {
    let Ok(ci) = store.index_of("/lists") else {
        return false;
    };
    let Ok(slot) = store.latest_slot(ci, list_id) else {
        return false;
    };
    store.latest_text(ci, slot, "opt_in_process").as_deref() == Some("double_opt_in")
}

/// Confirms every subscription waiting for a double opt-in; returns how
/// many profiles were confirmed.
pub(crate) fn confirm_pending(st: &mut State) -> usize {
    let mut done = 0;
    let mut jobs = std::mem::take(&mut st.jobs);
    for job in jobs.iter_mut() {
        for p in job.profiles.iter_mut().filter(|p| p.pending_confirmation) {
            let chans: Vec<(String, Option<String>)> =
                p.channels.iter().map(|c| (c.clone(), None)).collect();
            if let Some(id) = &p.profile_id
                && apply_subscribe(
                    &mut st.store,
                    id,
                    &chans,
                    job.custom_source.as_deref(),
                    job.list_id.as_deref(),
                )
                .is_ok()
            {
                done += 1;
            }
            p.pending_confirmation = false;
        }
    }
    st.jobs = jobs;
    done
}

fn apply_subscribe(
    store: &mut Store,
    id: &str,
    channels: &[(String, Option<String>)],
    source: Option<&str>,
    list_id: Option<&str>,
) -> Result<(), ApiError> {
    let now = time::format_ts(crate::data::seed::whole(time::now_micros()), Style::Plain);
    store
        .update("/profiles", id, |a| {
            let subs = subscriptions_of(a);
            for (channel, at) in channels {
                let consent = consent_object(subs, channel);
                let stamp = at.clone().unwrap_or_else(|| now.clone());
                set_consent(consent, channel, "SUBSCRIBED", true, &stamp, &now);
                if channel == "email.marketing" {
                    consent.insert("method".into(), json!("API"));
                    consent.insert("custom_method_detail".into(), json!(source));
                    consent.insert("double_optin".into(), json!(false));
                    if let Some(Value::Array(sup)) = consent.get_mut("suppression") {
                        sup.retain(|s| {
                            !matches!(
                                s.get("reason").and_then(Value::as_str),
                                Some("UNSUBSCRIBE" | "SPAM_REPORT" | "USER_SUPPRESSED")
                            )
                        });
                    }
                    if let (Some(l), Some(Value::Array(ls))) =
                        (list_id, consent.get_mut("list_suppressions"))
                    {
                        ls.retain(|s| s.get("list_id").and_then(Value::as_str) != Some(l));
                    }
                }
            }
        })
        .map_err(store_error)?;
    if let Some(l) = list_id {
        store
            .add_to_list(l, &[id.to_owned()])
            .map_err(store_error)?;
    }
    Ok(())
}

fn apply_unsubscribe(
    store: &mut Store,
    id: &str,
    channels: &[(String, Option<String>)],
    list_id: Option<&str>,
) -> Result<(), ApiError> {
    let now = time::format_ts(crate::data::seed::whole(time::now_micros()), Style::Plain);
    let member = list_id.is_some_and(|l| store.list_members(l).iter().any(|m| m == id));
    if let (true, Some(l)) = (member, list_id) {
        store
            .remove_from_list(l, &[id.to_owned()])
            .map_err(store_error)?;
    }
    store
        .update("/profiles", id, |a| {
            let subs = subscriptions_of(a);
            for (channel, _) in channels {
                let consent = consent_object(subs, channel);
                if member && channel == "email.marketing" {
                    let entry =
                        json!({"list_id": list_id, "reason": "UNSUBSCRIBE", "timestamp": now});
                    match consent.get_mut("list_suppressions") {
                        Some(Value::Array(ls)) => ls.push(entry),
                        _ => {
                            consent.insert("list_suppressions".into(), json!([entry]));
                        }
                    }
                    continue;
                }
                set_consent(consent, channel, "UNSUBSCRIBED", false, &now, &now);
                if channel == "email.marketing" {
                    let entry = json!({"reason": "UNSUBSCRIBE", "timestamp": now});
                    match consent.get_mut("suppression") {
                        Some(Value::Array(s)) => s.push(entry),
                        _ => {
                            consent.insert("suppression".into(), json!([entry]));
                        }
                    }
                }
            }
        })
        .map_err(store_error)
}

/// The profile's `subscriptions`, made an object if it is not one.
fn subscriptions_of(a: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let subs = a
        .entry("subscriptions")
        .or_insert_with(profiles::never_subscribed);
    if !subs.is_object() {
        *subs = profiles::never_subscribed();
    }
    match subs {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// `subscriptions.<channel>.<kind>` (`mobile_push` for the requests'
/// `push`), created when missing.
fn consent_object<'a>(
    subs: &'a mut Map<String, Value>,
    channel: &str,
) -> &'a mut Map<String, Value> {
    let (c, k) = channel.split_once('.').unwrap_or((channel, "marketing"));
    let c = if c == "push" { "mobile_push" } else { c };
    let chan = subs.entry(c).or_insert_with(|| json!({}));
    if !chan.is_object() {
        *chan = json!({});
    }
    let Value::Object(chan) = chan else {
        unreachable!("made an object above")
    };
    let kind = chan.entry(k).or_insert_with(|| json!({}));
    if !kind.is_object() {
        *kind = json!({});
    }
    match kind {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

fn set_consent(
    consent: &mut Map<String, Value>,
    channel: &str,
    state: &str,
    can: bool,
    at: &str,
    now: &str,
) {
    let can_key = match channel {
        "email.marketing" => "can_receive_email_marketing",
        "sms.marketing" => "can_receive_sms_marketing",
        "sms.transactional" => "can_receive_sms_transactional",
        "push.marketing" => "can_receive_push_marketing",
        _ => "can_receive",
    };
    consent.insert(can_key.into(), json!(can));
    consent.insert("consent".into(), json!(state));
    consent.insert("consent_timestamp".into(), json!(at));
    consent.insert("last_updated".into(), json!(now));
}
