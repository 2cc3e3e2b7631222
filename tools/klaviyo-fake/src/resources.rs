//! The operations: which handler answers an endpoint, and what they share
//! (where a collection lives, the single-resource document, errors).
//!
//! Every operation the revision declares is routed here. Those on
//! collections the stand-in stores (get by id, create, update, delete) and
//! the profile, event, subscription and list-membership endpoints are
//! served; any other declared operation has its query and body checked
//! like the rest and is then answered 501, so that a test never mistakes
//! the stand-in's gap for Klaviyo's behaviour.

use serde_json::Value;

use crate::body;
use crate::data::write_str;
use crate::errors::ApiError;
use crate::listing;
use crate::members;
use crate::profiles;
use crate::read;
use crate::request::{Endpoint, Place, RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::store::{RenderOpts, StoreError, percent_path};
use crate::subscriptions;
use crate::write;
use crate::{data::template, events};

/// Runs the operation the target names.
pub(crate) fn operate(st: &mut State, r: &RequestCtx<'_>, t: &Target) -> Result<Answer, ApiError> {
    match t.endpoint {
        Endpoint::List(coll) => {
            let place = locate(st, r, coll, t.rev_idx, None)?;
            listing::list(st, r, &place)
        }
        Endpoint::Members { ids_only } => members::list(st, r, t, ids_only),
        Endpoint::Op(op) => operation(st, r, t, op),
    }
}

fn operation(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    op: &'static klaviyo_spec::Operation,
) -> Result<Answer, ApiError> {
    use klaviyo_spec::Method as M;
    refuse_undeclared(op, r.params)?;
    let doc = body::read(r, op, t)?;
    match (op.method, op.path) {
        (M::Post, "/profile-import") => profiles::import(st, r, t, op, &doc),
        (M::Post, "/profiles") => profiles::create(st, r, t, op, &doc),
        (M::Patch, "/profiles/{id}") => profiles::update(st, r, t, op, &doc),
        (M::Post, "/events") => events::create(st, r, t, &doc),
        (M::Post, "/profile-subscription-bulk-create-jobs") => {
            subscriptions::subscribe(st, t, op, &doc)
        }
        (M::Post, "/profile-subscription-bulk-delete-jobs") => {
            subscriptions::unsubscribe(st, t, op, &doc)
        }
        (M::Post | M::Delete, "/lists/{id}/relationships/profiles") => {
            members::change(st, t, op, &doc)
        }
        _ => on_collection(st, r, t, op, &doc),
    }
}

/// `GET`, `PATCH`, `DELETE /x/{id}` and `POST /x` on a collection the
/// stand-in stores; 501 for anything else.
fn on_collection(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    op: &'static klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    use klaviyo_spec::Method as M;
    let segs: Vec<&str> = op.path.split('/').filter(|s| !s.is_empty()).collect();
    let by_id = matches!(segs.as_slice(), [_, p] if p.starts_with('{'));
    let key = segs.first().copied().unwrap_or("");
    let spec = &klaviyo_spec::revisions()[t.rev_idx];
    let stored = spec
        .collection(&format!("/{key}"))
        .filter(|c| st.store.index_of(c.path).is_ok());
    let Some(coll) = stored.filter(|_| by_id || segs.len() == 1) else {
        return Err(not_implemented(op, spec.revision));
    };
    let place = locate(st, r, coll, t.rev_idx, t.id())?;
    match (op.method, by_id) {
        (M::Get, true) => read::one(st, r, op, &place),
        (M::Post, false) if write::creatable(op, coll) => write::create(st, r, op, &place, doc),
        (M::Patch, true) => write::update(st, r, op, &place, doc),
        (M::Delete, true) => write::delete(st, &place),
        _ => Err(not_implemented(op, spec.revision)),
    }
}

/// A declared operation the stand-in does not carry out.
fn not_implemented(op: &klaviyo_spec::Operation, revision: &str) -> ApiError {
    ApiError {
        status: 501,
        code: "not_implemented",
        title: "Not implemented by the stand-in.",
        detail: format!(
            "Revision {revision} declares {} {} ({}); the stand-in checked the request but does not carry it out.",
            op.method, op.path, op.operation_id
        ).into(),
        source: crate::errors::Source::None,
        headers: Vec::new(),
        meta: None,
    }
}

/// Any query parameter the operation does not declare is a 400, as on a
/// list endpoint.
fn refuse_undeclared(
    op: &klaviyo_spec::Operation,
    params: &[(String, String)],
) -> Result<(), ApiError> {
    match params.iter().find(|(k, _)| !op.declares(k)) {
        Some((k, _)) => Err(ApiError::param(
            k,
            format!("'{k}' is not a valid query parameter for this endpoint."),
        )),
        None => Ok(()),
    }
}

pub(crate) fn locate<'t>(
    st: &State,
    r: &RequestCtx<'_>,
    coll: &'static klaviyo_spec::Collection,
    rev_idx: usize,
    id: Option<&'t str>,
) -> Result<Place<'t>, ApiError> {
    let ci = st
        .store
        .index_of(coll.path)
        .map_err(|_| ApiError::path_not_found(r.path))?;
    let tpl = template::for_revision(rev_idx, coll.path)
        .ok_or_else(|| ApiError::path_not_found(r.path))?;
    Ok(Place {
        coll,
        ci,
        tpl,
        rev_idx,
        id,
    })
}

/// The stored collection at `path` in the serving revision (e.g. the
/// profiles of `POST /profile-import`).
pub(crate) fn place_of<'t>(
    st: &State,
    r: &RequestCtx<'_>,
    path: &str,
    rev_idx: usize,
) -> Result<Place<'t>, ApiError> {
    let coll = klaviyo_spec::revisions()[rev_idx]
        .collection(path)
        .ok_or_else(|| ApiError::path_not_found(r.path))?;
    locate(st, r, coll, rev_idx, None)
}

/// `{"data": <resource>, "links": {"self": …}}` (and from 2026-07-15 the
/// top-level `meta` those files declare) for the record at `slot`, in its
/// newest state (what a write answers with; a get by id renders the
/// visible state through [`document`]).
pub(crate) fn single(
    st: &State,
    r: &RequestCtx<'_>,
    p: &Place<'_>,
    slot: u32,
    status: u16,
    opts: &RenderOpts<'_>,
) -> Answer {
    let mut resource = Vec::with_capacity(2048);
    st.store
        .write_latest(&mut resource, p.ci, slot, &p.tpl, opts);
    Answer::raw_json(status, document(r.base_url, p, slot, st, &resource, None))
}

/// The single-resource document around `resource` (already rendered).
pub(crate) fn document(
    base_url: &str,
    p: &Place<'_>,
    slot: u32,
    st: &State,
    resource: &[u8],
    included: Option<&[Value]>,
) -> Vec<u8> {
    let col = &st.store.cols[p.ci];
    let id = col.id_at(slot);
    let mut out = Vec::with_capacity(resource.len() + 256);
    out.extend_from_slice(b"{\"data\":");
    out.extend_from_slice(resource);
    out.extend_from_slice(b",\"links\":{\"self\":");
    write_str(
        &mut out,
        &format!("{base_url}{}/{}/", col.path, percent_path(&id)),
    );
    out.push(b'}');
    if let Some(inc) = included {
        out.extend_from_slice(b",\"included\":");
        let _ = serde_json::to_writer(&mut out, inc);
    }
    if klaviyo_spec::revisions()[p.rev_idx].revision >= "2026-07-15" {
        out.extend_from_slice(b",\"meta\":{\"agent_hints\":{\"next_steps\":[]}}");
    }
    out.push(b'}');
    out
}

pub(crate) fn not_found_id(resource_type: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("A {resource_type} with id {id} does not exist."))
}

pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { id, .. } => {
            ApiError::not_found(format!("A resource with id {id} does not exist."))
        }
        StoreError::DuplicateId { id, .. } => ApiError::conflict(
            "conflict",
            format!("A resource with id {id} already exists."),
            "/data/id",
        ),
        StoreError::InvalidRecord(m) => {
            ApiError::invalid(m, crate::errors::Source::Pointer("/data/".into()))
        }
        StoreError::UnknownCollection(p) => ApiError::path_not_found(&p),
    }
}
