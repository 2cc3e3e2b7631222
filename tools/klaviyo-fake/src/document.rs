//! The single-resource document a get by id and a write answer with.

use serde_json::Value;

use crate::data::write_str;
use crate::request::{Place, RequestCtx};
use crate::response::Answer;
use crate::state::State;
use crate::store::{RenderOpts, percent_path};

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
