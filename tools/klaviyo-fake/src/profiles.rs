//! Profiles: `POST /api/profile-import` (create or update by Klaviyo's
//! matching rules), `POST /api/profiles` and `PATCH /api/profiles/{id}`,
//! and the identity rules that events and subscriptions share.
//!
//! Matching: by `data.id` when given (an unknown id is a 404: ids are
//! Klaviyo's, a client cannot create a profile with its own); otherwise by
//! the identifiers in the attributes, in this order: `email`,
//! `phone_number`, `external_id`, `_kx`. No match creates the profile (201);
//! one profile matched is updated (200); identifiers that name two
//! different profiles are Klaviyo's 409 `duplicate_profile`, whose
//! `meta.duplicate_profile_id` names the profile that the later identifier
//! matched (klaviyo-api-node#74, #75; klaviyo-api-php#63).
//!
//! Updating: a member set to `null` is cleared, one left out is kept (the
//! operation's description); `location` and the custom `properties` are
//! merged member by member; `meta.patch_properties` appends to, removes from
//! and unsets custom properties.

use serde_json::{Map, Value, json};

use crate::data::Body;
use crate::errors::{ApiError, Source, not_found_id, store_error};
use crate::place::place_of;
use crate::read;
use crate::request::{RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::store::Store;
use crate::write;

/// The identifiers a profile is matched by, in order of precedence.
pub(crate) const IDENTIFIERS: [&str; 4] = ["email", "phone_number", "external_id", "_kx"];

/// Attributes kept from responses but seen by filters and matching.
const HIDDEN: [&str; 2] = ["_kx", "anonymous_id"];

/// Whom a set of identifiers names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Nobody,
    One(String),
    /// `first` matched by an earlier identifier, `other` by a later one.
    Two {
        first: String,
        other: String,
    },
}

/// The profiles the non-null identifiers in `attrs` name.
pub(crate) fn resolve(store: &mut Store, attrs: &Map<String, Value>) -> Match {
    let Ok(ci) = store.index_of("/profiles") else {
        return Match::Nobody;
    };
    let mut found: Option<String> = None;
    for field in IDENTIFIERS {
        let Some(v) = attrs.get(field).and_then(Value::as_str) else {
            continue;
        };
        for slot in store.find_by(ci, field, v) {
            let id = store.cols[ci].id_at(slot).into_owned();
            match &found {
                None => found = Some(id),
                Some(f) if *f == id => {}
                Some(f) => {
                    return Match::Two {
                        first: f.clone(),
                        other: id,
                    };
                }
            }
        }
    }
    found.map_or(Match::Nobody, Match::One)
}

/// Another profile than `id` holding one of the identifiers in `attrs`.
pub(crate) fn held_by_other(
    store: &mut Store,
    id: &str,
    attrs: &Map<String, Value>,
) -> Option<String> {
    let ci = store.index_of("/profiles").ok()?;
    for field in IDENTIFIERS {
        let Some(v) = attrs.get(field).and_then(Value::as_str) else {
            continue;
        };
        for slot in store.find_by(ci, field, v) {
            let other = store.cols[ci].id_at(slot);
            if other != id {
                return Some(other.into_owned());
            }
        }
    }
    None
}

/// Whether `attrs` carry any identifier (non-null).
pub(crate) fn identified(attrs: &Map<String, Value>) -> bool {
    IDENTIFIERS
        .iter()
        .chain(&["anonymous_id"])
        .any(|f| attrs.get(*f).is_some_and(|v| !v.is_null()))
}

/// Klaviyo's 409 for identifiers that belong to another profile.
pub(crate) fn duplicate(other: &str) -> ApiError {
    let mut e = ApiError::conflict(
        "duplicate_profile",
        "A profile already exists with one of these identifiers.",
        "/data/attributes",
    );
    let mut meta = Map::new();
    meta.insert(
        "duplicate_profile_id".into(),
        Value::String(other.to_owned()),
    );
    e.meta = Some(Box::new(meta));
    e
}

/// 400 for a profile without any identifier (the stand-in's wording).
pub(crate) fn unidentified(pointer: &str) -> ApiError {
    ApiError::invalid(
        "A profile identifier is required: one of 'email', 'phone_number', 'external_id' or '_kx' (or the profile's 'id').",
        Source::Pointer(pointer.to_owned()),
    )
}

/// A new profile from `attrs`, with what Klaviyo fills in: empty custom
/// properties, a location of nulls, never-subscribed consent. Returns its id.
pub(crate) fn create_profile(
    store: &mut Store,
    attrs: Map<String, Value>,
) -> Result<String, ApiError> {
    let mut body = Body::default();
    body.attributes.insert("properties".into(), json!({}));
    body.attributes.insert("location".into(), empty_location());
    body.attributes
        .insert("subscriptions".into(), never_subscribed());
    merge(&mut body, attrs, None);
    let record = json!({
        "attributes": body.attributes,
        "filter_only": body.hidden,
    });
    store
        .insert_as("/profiles", record, true)
        .map_err(store_error)
}

/// Applies `attrs` (and `meta.patch_properties`) to profile `id`.
pub(crate) fn update_profile(
    store: &mut Store,
    id: &str,
    attrs: Map<String, Value>,
    meta: Option<&Value>,
) -> Result<(), ApiError> {
    store
        .update_body("/profiles", id, |b| merge(b, attrs, meta))
        .map_err(store_error)
}

fn merge(body: &mut Body, attrs: Map<String, Value>, meta: Option<&Value>) {
    for (k, v) in attrs {
        if HIDDEN.contains(&k.as_str()) {
            match v {
                Value::Null => body.hidden.remove(&k),
                v => body.hidden.insert(k, v),
            };
            continue;
        }
        match (k.as_str(), v) {
            ("location", Value::Null) => {
                body.attributes.insert(k, empty_location());
            }
            ("location" | "properties", Value::Object(given)) => {
                let slot = body.attributes.entry(k).or_insert_with(|| json!({}));
                if !slot.is_object() {
                    *slot = json!({});
                }
                if let Value::Object(current) = slot {
                    current.extend(given);
                }
            }
            (_, v) => {
                body.attributes.insert(k, v);
            }
        }
    }
    if let Some(patch) = meta.and_then(|m| m.get("patch_properties")) {
        patch_properties(body, patch);
    }
}

/// `meta.patch_properties`: `append` and `unappend` values to and from
/// array properties, `unset` keys.
fn patch_properties(body: &mut Body, patch: &Value) {
    let props = body
        .attributes
        .entry("properties")
        .or_insert_with(|| json!({}));
    let Value::Object(props) = props else {
        return;
    };
    let values = |v: &Value| match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    if let Some(Value::Object(append)) = patch.get("append") {
        for (k, v) in append {
            let slot = props.entry(k.clone()).or_insert_with(|| json!([]));
            if !slot.is_array() {
                *slot = Value::Array(vec![slot.clone()]);
            }
            if let Value::Array(items) = slot {
                items.extend(values(v));
            }
        }
    }
    if let Some(Value::Object(unappend)) = patch.get("unappend") {
        for (k, v) in unappend {
            if let Some(Value::Array(items)) = props.get_mut(k) {
                let gone = values(v);
                items.retain(|i| !gone.contains(i));
            }
        }
    }
    match patch.get("unset") {
        Some(Value::String(k)) => {
            props.remove(k);
        }
        Some(Value::Array(keys)) => {
            for k in keys.iter().filter_map(Value::as_str) {
                props.remove(k);
            }
        }
        _ => {}
    }
}

fn empty_location() -> Value {
    json!({"address1": null, "address2": null, "city": null, "country": null, "ip": null,
           "latitude": null, "longitude": null, "region": null, "timezone": null, "zip": null})
}

/// The consent of a profile that never subscribed.
pub(crate) fn never_subscribed() -> Value {
    let channel = |can: &str| {
        json!({can: false, "consent": "NEVER_SUBSCRIBED", "consent_timestamp": null,
               "last_updated": null, "method": null, "method_detail": null})
    };
    let mut email = channel("can_receive_email_marketing");
    email["custom_method_detail"] = Value::Null;
    email["double_optin"] = Value::Null;
    email["suppression"] = json!([]);
    email["list_suppressions"] = json!([]);
    json!({
        "email": {"marketing": email},
        "sms": {"marketing": channel("can_receive_sms_marketing"),
                "transactional": channel("can_receive_sms_transactional")},
        "mobile_push": {"marketing": {"can_receive_push_marketing": false,
                                      "consent": "NEVER_SUBSCRIBED", "consent_timestamp": null}}
    })
}

fn attributes(doc: &Value) -> Map<String, Value> {
    doc["data"]
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `POST /api/profile-import`.
pub(crate) fn import(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let p = place_of(st, r, "/profiles", t.rev_idx)?;
    let q = read::parse(op, "profile", t.rev_idx, r.params)?;
    let attrs = attributes(doc);
    let meta = doc["data"].get("meta");
    let given = doc["data"].get("id").and_then(Value::as_str);
    let target = match given {
        Some(id) => {
            if st.store.latest_slot(p.ci, id).is_err() {
                return Err(not_found_id("profile", id));
            }
            if let Some(other) = held_by_other(&mut st.store, id, &attrs) {
                return Err(duplicate(&other));
            }
            Some(id.to_owned())
        }
        None => match resolve(&mut st.store, &attrs) {
            Match::Nobody => None,
            Match::One(id) => Some(id),
            Match::Two { other, .. } => return Err(duplicate(&other)),
        },
    };
    let (id, status) = match target {
        Some(id) => {
            update_profile(&mut st.store, &id, attrs, meta)?;
            (id, 200)
        }
        None => {
            if !identified(&attrs) {
                return Err(unidentified("/data/attributes"));
            }
            let id = create_profile(&mut st.store, attrs)?;
            if meta.is_some() {
                update_profile(&mut st.store, &id, Map::new(), meta)?;
            }
            (id, 201)
        }
    };
    let slot = st.store.cols[p.ci].slot_of(&id).unwrap_or(0);
    Ok(write::answer(st, r, op, &p, slot, &q, status))
}

/// `POST /api/profiles`: 409 `duplicate_profile` when an identifier is
/// taken (what makes clients fall back to `PATCH`).
pub(crate) fn create(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let p = place_of(st, r, "/profiles", t.rev_idx)?;
    let q = read::parse(op, "profile", t.rev_idx, r.params)?;
    let attrs = attributes(doc);
    match resolve(&mut st.store, &attrs) {
        Match::Nobody => {}
        Match::One(other) | Match::Two { first: other, .. } => return Err(duplicate(&other)),
    }
    if !identified(&attrs) {
        return Err(unidentified("/data/attributes"));
    }
    let id = create_profile(&mut st.store, attrs)?;
    if let Some(meta) = doc["data"].get("meta") {
        update_profile(&mut st.store, &id, Map::new(), Some(meta))?;
    }
    let slot = st.store.cols[p.ci].slot_of(&id).unwrap_or(0);
    Ok(write::answer(st, r, op, &p, slot, &q, 201))
}

/// `PATCH /api/profiles/{id}`: 409 `duplicate_profile` when the body gives
/// an identifier another profile holds.
pub(crate) fn update(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let p = place_of(st, r, "/profiles", t.rev_idx)?;
    let id = t.id().unwrap_or_default();
    let q = read::parse(op, "profile", t.rev_idx, r.params)?;
    let slot = st
        .store
        .latest_slot(p.ci, id)
        .map_err(|_| not_found_id("profile", id))?;
    let attrs = attributes(doc);
    if let Some(other) = held_by_other(&mut st.store, id, &attrs) {
        return Err(duplicate(&other));
    }
    update_profile(&mut st.store, id, attrs, doc["data"].get("meta"))?;
    Ok(write::answer(st, r, op, &p, slot, &q, 200))
}
