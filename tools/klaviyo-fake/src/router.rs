//! The operations: which handler answers an endpoint. What the handlers
//! share is in modules of its own that never import a handler back
//! (`place.rs`, `document.rs`, the errors in `errors.rs`).
//!
//! Every operation the revision declares is routed here. Those on
//! collections the stand-in stores (get by id, create, update, delete) and
//! the profile, event, subscription and list-membership endpoints are
//! served; any other declared operation has its query and body checked
//! like the rest and is then answered 501, so that a test never mistakes
//! the stand-in's gap for Klaviyo's behaviour.

use serde_json::Value;

use crate::body;
use crate::errors::ApiError;
use crate::events;
use crate::listing;
use crate::members;
use crate::place::locate;
use crate::profiles;
use crate::read;
use crate::request::{Endpoint, RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::subscriptions;
use crate::write;

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
