//! Where a request's collection lives: the stored collection and the
//! revision's template for it, as a [`Place`] every handler works on.

use crate::data::template;
use crate::errors::ApiError;
use crate::request::{Place, RequestCtx};
use crate::state::State;

/// The stored collection `coll` in revision `rev_idx`, and the record
/// `id` if the operation names one; 404 for a collection not stored.
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
