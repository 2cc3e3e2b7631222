//! The operations on a collection: list, read, create, update, delete; and
//! the request bodies they read.

use hyper::Method;
use serde_json::{Map, Value, json};

use crate::data::template;
use crate::data::{additional_only, write_str};
use crate::errors::{ApiError, Source};
use crate::listing;
use crate::request::{Place, RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::store::{RenderOpts, StoreError, percent_path};

/// Runs the operation the method names on the target.
pub(crate) fn operate(st: &mut State, r: &RequestCtx<'_>, t: &Target) -> Result<Answer, ApiError> {
    let place = locate(st, r, t)?;
    match (r.method.clone(), place.id) {
        (Method::GET, None) => listing::list(st, r, &place),
        (Method::GET, Some(id)) => read_one(st, r, &place, id),
        (Method::POST, None) => create(st, r, &place),
        (Method::PATCH | Method::PUT, Some(id)) => update(st, r, &place, id),
        (Method::DELETE, Some(id)) => delete(st, &place, id),
        (m, _) => Err(ApiError::method_not_allowed(m.as_str())),
    }
}

fn locate<'t>(st: &State, r: &RequestCtx<'_>, t: &'t Target) -> Result<Place<'t>, ApiError> {
    let ci = st
        .store
        .index_of(t.coll.path)
        .map_err(|_| ApiError::path_not_found(r.path))?;
    let tpl = template::for_revision(t.rev_idx, t.coll.path)
        .ok_or_else(|| ApiError::path_not_found(r.path))?;
    Ok(Place {
        coll: t.coll,
        ci,
        tpl,
        rev_idx: t.rev_idx,
        id: t.id.as_deref(),
    })
}

fn read_one(
    st: &mut State,
    r: &RequestCtx<'_>,
    p: &Place<'_>,
    id: &str,
) -> Result<Answer, ApiError> {
    let slot = st
        .store
        .visible_slot(p.ci, id)
        .ok_or_else(|| not_found_id(p.coll.resource_type, id))?;
    Ok(single(st, r, p, slot, 200))
}

/// POST: events are accepted for processing (202, no body), as Klaviyo
/// does; other resources are created with server-set timestamps (201).
fn create(st: &mut State, r: &RequestCtx<'_>, p: &Place<'_>) -> Result<Answer, ApiError> {
    let data = body_data(r)?;
    check_type(&data, p.coll.resource_type)?;
    if p.coll.path == "/events" {
        st.store
            .insert_as(p.coll.path, event_from_request(&data), false)
            .map_err(store_error)?;
        return Ok(Answer::empty(202));
    }
    let id = st
        .store
        .insert_as(p.coll.path, data, true)
        .map_err(store_error)?;
    let slot = st.store.cols[p.ci].slot_of(&id).unwrap_or(0);
    Ok(single(st, r, p, slot, 201))
}

/// PATCH (and PUT): merges the body's attributes into the record.
fn update(st: &mut State, r: &RequestCtx<'_>, p: &Place<'_>, id: &str) -> Result<Answer, ApiError> {
    let data = body_data(r)?;
    check_type(&data, p.coll.resource_type)?;
    if let Some(body_id) = data.get("id").and_then(Value::as_str)
        && body_id != id
    {
        return Err(ApiError::conflict(
            "conflict",
            format!("The id '{body_id}' in the body does not match the id '{id}' in the URL."),
            "/data/id",
        ));
    }
    let attrs = match data.get("attributes") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if st.store.visible_slot(p.ci, id).is_none() {
        return Err(not_found_id(p.coll.resource_type, id));
    }
    st.store
        .update(p.coll.path, id, |a| a.extend(attrs))
        .map_err(store_error)?;
    let slot = st.store.cols[p.ci].slot_of(id).unwrap_or(0);
    Ok(single(st, r, p, slot, 200))
}

fn delete(st: &mut State, p: &Place<'_>, id: &str) -> Result<Answer, ApiError> {
    if st.store.visible_slot(p.ci, id).is_none() {
        return Err(not_found_id(p.coll.resource_type, id));
    }
    st.store.delete(p.coll.path, id).map_err(store_error)?;
    Ok(Answer::empty(204))
}

/// `{"data": <resource>, "links": {"self": …}}` for the record at `slot`,
/// in its newest state (what a POST or PATCH answers with).
fn single(st: &State, r: &RequestCtx<'_>, p: &Place<'_>, slot: u32, status: u16) -> Answer {
    let opts = RenderOpts {
        fields: None,
        additional: &[],
        excluded: additional_only(p.coll.resource_type),
    };
    let mut out = Vec::with_capacity(2048);
    out.extend_from_slice(b"{\"data\":");
    st.store.write_latest(&mut out, p.ci, slot, &p.tpl, &opts);
    let col = &st.store.cols[p.ci];
    let id = col.id_at(slot);
    out.extend_from_slice(b",\"links\":{\"self\":");
    write_str(
        &mut out,
        &format!("{}{}/{}/", r.base_url, col.path, percent_path(&id)),
    );
    out.extend_from_slice(b"}}");
    Answer::raw_json(status, out)
}

pub(crate) fn not_found_id(resource_type: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("A {resource_type} with id {id} does not exist."))
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { id, .. } => {
            ApiError::not_found(format!("A resource with id {id} does not exist."))
        }
        StoreError::DuplicateId { id, .. } => ApiError::conflict(
            "duplicate_profile",
            format!("A resource with id {id} already exists."),
            "/data/id",
        ),
        StoreError::InvalidRecord(m) => ApiError::invalid(m, Source::Pointer("/data/".into())),
        StoreError::UnknownCollection(p) => ApiError::path_not_found(&p),
    }
}

/// The `data` member of a JSON request body.
fn body_data(r: &RequestCtx<'_>) -> Result<Value, ApiError> {
    // JSON:API's media type or plain JSON; anything else is 415.
    let ct = r.content_type.as_deref().unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/vnd.api+json" && media != "application/json" {
        return Err(ApiError::unsupported_media_type(ct));
    }
    if r.body_too_large {
        return Err(ApiError::too_large());
    }
    let bytes = r.body.unwrap_or_default();
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(
            format!("JSON parse error - {e}"),
            Source::Pointer("/data".into()),
        )
    })?;
    match v.get("data") {
        Some(d @ Value::Object(_)) => Ok(d.clone()),
        _ => Err(ApiError::invalid(
            "The request body must be a JSON:API document with a 'data' object.",
            Source::Pointer("/data".into()),
        )),
    }
}

fn check_type(data: &Value, resource_type: &str) -> Result<(), ApiError> {
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == resource_type => Ok(()),
        Some(t) => Err(ApiError::conflict(
            "conflict",
            format!(
                "The type '{t}' does not match the endpoint's resource type '{resource_type}'."
            ),
            "/data/type",
        )),
        None => Err(ApiError::invalid(
            "Missing required field 'type'.",
            Source::Pointer("/data/type".into()),
        )),
    }
}

/// An event-create document as a stored event: its `time` (possibly in the
/// past: the backdated-event trap) becomes `datetime`.
fn event_from_request(data: &Value) -> Value {
    let a = data.get("attributes").cloned().unwrap_or(Value::Null);
    let mut attrs = Map::new();
    if let Some(t) = a.get("time").and_then(Value::as_str) {
        attrs.insert("datetime".into(), Value::String(t.to_owned()));
    }
    attrs.insert(
        "event_properties".into(),
        a.get("properties").cloned().unwrap_or_else(|| json!({})),
    );
    if let Some(u) = a.get("unique_id") {
        attrs.insert("uuid".into(), u.clone());
    }
    json!({ "attributes": attrs })
}
