//! `POST /x`, `PATCH /x/{id}` and `DELETE /x/{id}` on the collections the
//! stand-in stores, where the revision declares them. Bodies arrive checked
//! (`body.rs`). A write sets the record's timestamps to now and becomes
//! visible to lists and gets by id after the visibility delay; its answer
//! shows the record as written.

use serde_json::{Map, Value, json};

use crate::document::single;
use crate::errors::{ApiError, not_found_id, store_error};
use crate::read;
use crate::request::{Place, RequestCtx};
use crate::response::Answer;
use crate::schema;
use crate::state::State;
use crate::store::RenderOpts;

/// Whether `POST /x` creates a record of the collection (not a job, whose
/// request is not its resource, nor an action whose body carries another
/// type).
pub(crate) fn creatable(op: &klaviyo_spec::Operation, coll: &klaviyo_spec::Collection) -> bool {
    op.body.and_then(|b| b.data_type) == Some(coll.resource_type) && !coll.path.ends_with("-jobs")
}

/// The answer to a write: its declared success code, with the record
/// (sparse fieldsets and additional fields as requested) unless the
/// operation returns no body.
pub(crate) fn answer(
    st: &State,
    r: &RequestCtx<'_>,
    op: &klaviyo_spec::Operation,
    p: &Place<'_>,
    slot: u32,
    q: &read::OneQuery,
    status: u16,
) -> Answer {
    if op.returns.is_none() {
        return Answer::empty(status);
    }
    let excluded = q.excluded(op, p.coll.resource_type);
    let opts = RenderOpts {
        fields: q.fields.get(p.coll.resource_type).map(Vec::as_slice),
        additional: &q.additional,
        excluded: &excluded,
        ..RenderOpts::default()
    };
    single(st, r, p, slot, status, &opts)
}

fn success(op: &klaviyo_spec::Operation, default: u16) -> u16 {
    op.success.first().copied().unwrap_or(default)
}

/// `POST /x`: a new record from the body's attributes and relationships.
pub(crate) fn create(
    st: &mut State,
    r: &RequestCtx<'_>,
    op: &klaviyo_spec::Operation,
    p: &Place<'_>,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let q = read::parse(op, p.coll.resource_type, p.rev_idx, r.params)?;
    let data = &doc["data"];
    let mut attrs = data
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    apply_defaults(&mut attrs, p, op);
    let mut hidden = Map::new();
    resource_defaults(p.coll.path, &mut attrs, &mut hidden);
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| natural_id(p.coll.path, &attrs));
    if let Some(id) = &id
        && st.store.latest_slot(p.ci, id).is_ok()
    {
        return Err(ApiError::conflict(
            "conflict",
            format!("A {} with id {id} already exists.", p.coll.resource_type),
            "/data/id",
        ));
    }
    let mut record = json!({ "attributes": attrs, "filter_only": hidden });
    if let Some(id) = id {
        record["id"] = Value::String(id);
    }
    if let Some(rels) = data.get("relationships") {
        record["relationships"] = rels.clone();
    }
    let new_id = st
        .store
        .insert_as(p.coll.path, record, true)
        .map_err(store_error)?;
    let slot = st.store.cols[p.ci].slot_of(&new_id).unwrap_or(0);
    Ok(answer(st, r, op, p, slot, &q, success(op, 201)))
}

/// `PATCH /x/{id}`: the body's attributes replace the record's (a member
/// set to `null` is cleared, one left out is kept), its relationships
/// those given.
pub(crate) fn update(
    st: &mut State,
    r: &RequestCtx<'_>,
    op: &klaviyo_spec::Operation,
    p: &Place<'_>,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let id = p.id.unwrap_or_default();
    let q = read::parse(op, p.coll.resource_type, p.rev_idx, r.params)?;
    let slot = st
        .store
        .latest_slot(p.ci, id)
        .map_err(|_| not_found_id(p.coll.resource_type, id))?;
    let attrs = doc["data"]
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let rels = doc["data"]
        .get("relationships")
        .and_then(Value::as_object)
        .cloned();
    st.store
        .update_body(p.coll.path, id, |b| {
            b.attributes.extend(attrs);
            if let Some(rels) = rels {
                b.relationships.get_or_insert_default().extend(rels);
            }
        })
        .map_err(store_error)?;
    Ok(answer(st, r, op, p, slot, &q, success(op, 200)))
}

/// `DELETE /x/{id}`: 204; a deleted list loses its members.
pub(crate) fn delete(st: &mut State, p: &Place<'_>) -> Result<Answer, ApiError> {
    let id = p.id.unwrap_or_default();
    if st.store.latest_slot(p.ci, id).is_err() {
        return Err(not_found_id(p.coll.resource_type, id));
    }
    st.store.delete(p.coll.path, id).map_err(store_error)?;
    Ok(Answer::empty(204))
}

/// The `default`s the request schema declares for attributes not given.
fn apply_defaults(attrs: &mut Map<String, Value>, p: &Place<'_>, op: &klaviyo_spec::Operation) {
    let Some(s) = schema::request_schema(p.rev_idx, op.method, op.path) else {
        return;
    };
    let Some(props) = s
        .pointer("/properties/data/properties/attributes/properties")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, ps) in props {
        if let Some(d) = ps.get("default")
            && !attrs.contains_key(name)
        {
            attrs.insert(name.clone(), d.clone());
        }
    }
}

/// What Klaviyo sets on a new record the request does not: campaigns and
/// flows start as unarchived drafts (and so are listed: lists hide
/// archived ones), a campaign's channel is its first message's, a list
/// without an opt-in process gets the account's default (single opt-in).
fn resource_defaults(path: &str, attrs: &mut Map<String, Value>, hidden: &mut Map<String, Value>) {
    let set = |attrs: &mut Map<String, Value>, k: &str, v: Value| {
        if attrs.get(k).is_none_or(Value::is_null) {
            attrs.insert(k.to_owned(), v);
        }
    };
    match path {
        "/campaigns" => {
            set(attrs, "archived", json!(false));
            if let Some(Value::Object(def)) = attrs.get_mut("definition") {
                set(def, "archived", json!(false));
            }
            set(attrs, "status", json!("Draft"));
            let all = Value::Object(attrs.clone());
            let channel = all
                .pointer("/campaign-messages/data/0/attributes/channel")
                .or_else(|| all.pointer("/messages/0/variations/0/definition/details/channel"))
                .cloned()
                .unwrap_or(json!("email"));
            hidden.insert("messages.channel".into(), channel);
        }
        "/flows" => {
            set(attrs, "archived", json!(false));
            set(attrs, "status", json!("draft"));
        }
        "/lists" => set(attrs, "opt_in_process", json!("single_opt_in")),
        _ => {}
    }
}

/// Ids Klaviyo derives from the record: a catalog item's
/// `$custom:::$default:::<external_id>`, a coupon's own code.
fn natural_id(path: &str, attrs: &Map<String, Value>) -> Option<String> {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str);
    match path {
        "/catalog-items" | "/catalog-variants" | "/catalog-categories" => Some(format!(
            "{}:::{}:::{}",
            text("integration_type").unwrap_or("$custom"),
            text("catalog_type").unwrap_or("$default"),
            text("external_id")?
        )),
        "/coupons" => text("external_id").map(str::to_owned),
        _ => None,
    }
}
