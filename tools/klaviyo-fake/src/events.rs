//! `POST /api/events`: 202 with no body, as Klaviyo answers ("validated and
//! submitted for processing"). The metric is found by name or created; the
//! profile is found by its identifiers (profile-import's rules) and
//! updated with the attributes given, or created. An event whose
//! `unique_id` (or, without one, whose second: the `time` truncated) was
//! already recorded for the same profile and metric is not recorded again,
//! as the `unique_id` description says. The event shows in
//! `GET /api/events` after the visibility delay, its `datetime` the `time`
//! given (default: now), truncated to the second.

use serde_json::{Map, Value, json};

use crate::data::seed::{fnv, mix, uuid, whole};
use crate::errors::{ApiError, Source, not_found_id, store_error};
use crate::profiles::{self, Match};
use crate::request::{RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::time::{self, MICROS_PER_SEC, Micros, Style};

const YEAR: Micros = 365 * 86_400 * MICROS_PER_SEC;

pub(crate) fn create(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let a = &doc["data"]["attributes"];
    let at = event_time(a, r.now, t.rev_idx)?;
    let name = a
        .pointer("/metric/data/attributes/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.chars().count() >= 128 {
        return Err(ApiError::invalid(
            "The metric name must be less than 128 characters.",
            Source::Pointer("/data/attributes/metric/data/attributes/name".into()),
        ));
    }
    let profile_id = upsert_profile(st, a.pointer("/profile/data").unwrap_or(&Value::Null))?;
    let metric_id = metric(st, name)?;
    let unique = a
        .get("unique_id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("@{}", at / MICROS_PER_SEC), str::to_owned);
    if !st
        .event_keys
        .insert((profile_id.clone(), metric_id.clone(), unique))
    {
        return Ok(Answer::empty(202));
    }
    let mut props = a
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(v) = a.get("value").filter(|v| !v.is_null()) {
        props.insert("$value".into(), v.clone());
    }
    if let Some(u) = a.get("unique_id").filter(|v| !v.is_null()) {
        props.insert("$event_id".into(), u.clone());
    }
    let key = fnv(&format!(
        "{profile_id}|{metric_id}|{at}|{}",
        st.event_keys.len()
    ));
    let record = json!({
        "attributes": {
            "datetime": time::format_ts(at, Style::Plain),
            "timestamp": at / MICROS_PER_SEC,
            "event_properties": props,
            "uuid": uuid(mix(key)),
        },
        "relationships": {
            "profile": {"data": {"type": "profile", "id": profile_id}},
            "metric": {"data": {"type": "metric", "id": metric_id}},
        },
        "filter_only": {"profile_id": profile_id, "metric_id": metric_id},
    });
    st.store
        .insert_as("/events", record, false)
        .map_err(store_error)?;
    Ok(Answer::empty(202))
}

/// `time` truncated to the second, or now; after 2000 (1990 from the
/// 2026-07-15 files on) and at most a year ahead, as the description says.
fn event_time(a: &Value, now: Micros, rev_idx: usize) -> Result<Micros, ApiError> {
    let Some(text) = a.get("time").and_then(Value::as_str) else {
        return Ok(whole(now));
    };
    let pointer = || Source::Pointer("/data/attributes/time".into());
    let t = time::parse_stored(text).ok_or_else(|| {
        ApiError::invalid(format!("'{text}' is not a valid datetime."), pointer())
    })?;
    let since = if klaviyo_spec::revisions()[rev_idx].revision >= "2026-07-15" {
        1990
    } else {
        2000
    };
    let floor = chrono::NaiveDate::from_ymd_opt(since, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp_micros());
    if t < floor {
        return Err(ApiError::invalid(
            format!("The event time must be after the year {since}."),
            pointer(),
        ));
    }
    if t > now + YEAR {
        return Err(ApiError::invalid(
            "The event time can only be up to 1 year in the future.",
            pointer(),
        ));
    }
    Ok(whole(t))
}

/// The event's profile, found by id or identifiers and updated, or
/// created. When the identifiers name two profiles, the one named first
/// gets the event and keeps its identifiers (Klaviyo resolves events
/// asynchronously; it does not answer 409 to them).
fn upsert_profile(st: &mut State, data: &Value) -> Result<String, ApiError> {
    let mut attrs: Map<String, Value> = data
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let id = match data.get("id").and_then(Value::as_str) {
        Some(id) => {
            let ci = st.store.index_of("/profiles").map_err(store_error)?;
            if st.store.latest_slot(ci, id).is_err() {
                return Err(not_found_id("profile", id));
            }
            Some(id.to_owned())
        }
        None => match profiles::resolve(&mut st.store, &attrs) {
            Match::Nobody => None,
            Match::One(id) | Match::Two { first: id, .. } => Some(id),
        },
    };
    match id {
        Some(id) => {
            while let Some(other) = profiles::held_by_other(&mut st.store, &id, &attrs) {
                let ci = st.store.index_of("/profiles").map_err(store_error)?;
                let Some(slot) = st.store.cols[ci].slot_of(&other) else {
                    break;
                };
                let before = attrs.len();
                attrs.retain(|k, v| {
                    !(profiles::IDENTIFIERS.contains(&k.as_str())
                        && v.as_str().is_some()
                        && st.store.latest_text(ci, slot, k).as_deref() == v.as_str())
                });
                if attrs.len() == before {
                    break;
                }
            }
            profiles::update_profile(&mut st.store, &id, attrs, data.get("meta"))?;
            Ok(id)
        }
        None => {
            if !profiles::identified(&attrs) {
                return Err(profiles::unidentified(
                    "/data/attributes/profile/data/attributes",
                ));
            }
            profiles::create_profile(&mut st.store, attrs)
        }
    }
}

/// The metric named `name`, created when new (with the API integration).
fn metric(st: &mut State, name: &str) -> Result<String, ApiError> {
    let ci = st.store.index_of("/metrics").map_err(store_error)?;
    if let Some(&slot) = st.store.find_by(ci, "name", name).first() {
        return Ok(st.store.cols[ci].id_at(slot).into_owned());
    }
    st.store
        .insert_as(
            "/metrics",
            json!({"attributes": {
                "name": name,
                "integration": {"object": "integration", "id": "0rG4eQ", "key": "api",
                                "name": "API", "category": "API"},
            }}),
            true,
        )
        .map_err(store_error)
}
