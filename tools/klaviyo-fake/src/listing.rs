//! `GET /api/<collection>`: one page of a checked list query, with the
//! links Klaviyo builds and the compound document's extras.

use crate::cursor::{self, PageRequest, PageResult};
use crate::data::{Val, additional_only, write_str};
use crate::errors::ApiError;
use crate::query::{self, ListQuery};
use crate::request::{Place, RequestCtx};
use crate::response::Answer;
use crate::state::State;
use crate::store::RenderOpts;

pub(crate) fn list(st: &mut State, r: &RequestCtx<'_>, p: &Place<'_>) -> Result<Answer, ApiError> {
    let q: ListQuery = query::parse_list(p.coll, &p.tpl, r.params, r.now, r.secret)?;
    check_metric_ids(st, p, &q)?;
    let size = served_size(p.coll, &q, st.page_cap);
    let page = cursor::page(
        &mut st.store,
        PageRequest {
            ci: p.ci,
            sort: q.sort.as_ref().map(|(f, d)| (f.as_str(), *d)),
            preds: &q.preds,
            size,
            cursor: q.cursor.clone(),
            mode: st.cursor_mode,
            rev: p.rev_idx,
        },
    );
    let mut out = Vec::with_capacity(page.slots.len() * 1500 + 512);
    write_data(st, p, &q, &page, &mut out);
    write_links(r, p, &q, &page, &mut out);
    if !q.include.is_empty() {
        out.extend_from_slice(b",\"included\":");
        let included = st.store.included(p.ci, &page.slots, &q.include, p.rev_idx);
        let _ = serde_json::to_writer(&mut out, &included);
    }
    // Only the 2026-07-15 and later files document a top-level `meta`.
    if klaviyo_spec::revisions()[p.rev_idx].revision >= "2026-07-15" {
        out.extend_from_slice(b",\"meta\":{\"agent_hints\":{\"next_steps\":[]}}");
    }
    out.push(b'}');
    Ok(Answer::raw_json(200, out))
}

/// Klaviyo checks that metric ids in an events filter exist
/// (klaviyo-api-python#41).
fn check_metric_ids(st: &State, p: &Place<'_>, q: &ListQuery) -> Result<(), ApiError> {
    if p.coll.path != "/events" {
        return Ok(());
    }
    let Some(Val::Str(m)) = q
        .preds
        .iter()
        .find(|pred| pred.field == "metric_id")
        .map(|pred| &pred.value)
    else {
        return Ok(());
    };
    let known = st
        .store
        .index_of("/metrics")
        .ok()
        .and_then(|mi| st.store.visible_slot(mi, m))
        .is_some();
    if known {
        Ok(())
    } else {
        Err(ApiError::param(
            "filter",
            format!("Metric IDs ['{m}'] do not exist."),
        ))
    }
}

/// How many records this page holds at most: endpoints without
/// `page[cursor]` answer everything at once; a page cap overrides both.
fn served_size(coll: &klaviyo_spec::Collection, q: &ListQuery, cap: Option<usize>) -> usize {
    let size = if coll.declares("page[cursor]") {
        q.size
    } else {
        usize::MAX
    };
    match cap {
        Some(cap) => size.min(cap.max(1)),
        None => size,
    }
}

/// `{"data":[…]`: the page's resources.
fn write_data(st: &State, p: &Place<'_>, q: &ListQuery, page: &PageResult, out: &mut Vec<u8>) {
    let opts = RenderOpts {
        fields: q.fields.as_deref(),
        additional: &q.additional,
        excluded: additional_only(p.coll.resource_type),
        ..RenderOpts::default()
    };
    out.extend_from_slice(b"{\"data\":[");
    for (i, &slot) in page.slots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        st.store.write_resource(out, p.ci, slot, &p.tpl, &opts);
    }
    out.push(b']');
}

/// `,"links":{…}`: `self` as requested, `next` and `prev` with fresh
/// cursors, every other parameter carried along.
fn write_links(
    r: &RequestCtx<'_>,
    p: &Place<'_>,
    q: &ListQuery,
    page: &PageResult,
    out: &mut Vec<u8>,
) {
    let path = p.coll.path;
    let requested = r
        .params
        .iter()
        .find(|(k, _)| k == "page[cursor]")
        .map(|(_, c)| c.as_str());
    out.extend_from_slice(b",\"links\":{\"self\":");
    write_str(out, &query::link(r.base_url, path, r.params, requested));
    let scope = query::cursor_scope(p.coll, q.sort.as_ref().map(|(f, _)| f.as_str()));
    for (name, c) in [("next", &page.next), ("prev", &page.prev)] {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        match c {
            Some(c) => {
                let token = cursor::encode(c, r.secret, &scope);
                write_str(out, &query::link(r.base_url, path, r.params, Some(&token)));
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
}
