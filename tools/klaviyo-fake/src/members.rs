//! List membership: `POST` and `DELETE /api/lists/{id}/relationships/profiles`
//! (204, idempotent: adding a member again or removing a non-member is
//! fine; an unknown list or profile is a 404; more profile ids than the
//! operation's `max_batch`, 1000, a 400), and the lists' members:
//! `GET /api/lists/{id}/profiles` (profiles with `joined_group_at`) and
//! `GET /api/lists/{id}/relationships/profiles` (their ids).
//!
//! klaviyo-spec's table describes top-level list endpoints only, so the
//! two `GET`s are described here from the OpenAPI files, where they are
//! the same in every revision: filters `email`, `phone_number`,
//! `push_token` (`any`, `equals`), `_kx` (`equals`), `joined_group_at`
//! (comparisons); sort `joined_group_at`; `page[size]` 1–100, default 20;
//! scopes `lists:read` and `profiles:read`. Membership changes show at
//! once (no visibility delay) and do not change the list's or the
//! profiles' `updated`.

use klaviyo_spec::{
    Collection, FilterField, FilterParam, Operator as O, PageSize, RateLimit, ValueType,
};
use serde_json::{Value, json};

use crate::cursor::{self, Cursor};
use crate::data::{Val, additional_only, write_str};
use crate::errors::{ApiError, Source, not_found_id, store_error};
use crate::filter;
use crate::place::place_of;
use crate::query;
use crate::request::{RequestCtx, Target};
use crate::response::Answer;
use crate::state::State;
use crate::store::RenderOpts;

const STRING_MATCH: &[O] = &[O::Any, O::Equals];
const COMPARE: &[O] = &[
    O::GreaterOrEqual,
    O::GreaterThan,
    O::LessOrEqual,
    O::LessThan,
];

const FILTERS: &[FilterField] = &[
    FilterField {
        name: "email",
        operators: STRING_MATCH,
        values: &[],
        value_type: ValueType::String,
    },
    FilterField {
        name: "phone_number",
        operators: STRING_MATCH,
        values: &[],
        value_type: ValueType::String,
    },
    FilterField {
        name: "push_token",
        operators: STRING_MATCH,
        values: &[],
        value_type: ValueType::String,
    },
    FilterField {
        name: "_kx",
        operators: &[O::Equals],
        values: &[],
        value_type: ValueType::String,
    },
    FilterField {
        name: "joined_group_at",
        operators: COMPARE,
        values: &[],
        value_type: ValueType::DateTime,
    },
];

const fn endpoint(path: &'static str, query_params: &'static [&'static str]) -> Collection {
    Collection {
        path,
        resource_type: "profile",
        query_params,
        filter: Some(FilterParam {
            required: false,
            example: Some("equals(email,['example'])"),
            fields: FILTERS,
        }),
        sort: &["joined_group_at", "-joined_group_at"],
        page_size: Some(PageSize {
            default: 20,
            min: 1,
            max: 100,
        }),
        fixed_page_size: None,
        rate_limit: Some(RateLimit {
            burst_per_second: 75,
            steady_per_minute: 750,
        }),
        scopes: &["lists:read", "profiles:read"],
        attributes: &[],
    }
}

static PROFILES: Collection = endpoint(
    "/lists/{id}/profiles",
    &[
        "additional-fields[profile]",
        "fields[profile]",
        "filter",
        "page[cursor]",
        "page[size]",
        "sort",
    ],
);
static IDS: Collection = endpoint(
    "/lists/{id}/relationships/profiles",
    &["filter", "page[cursor]", "page[size]", "sort"],
);

/// `POST` (add) or `DELETE` (remove) `/lists/{id}/relationships/profiles`.
pub(crate) fn change(
    st: &mut State,
    t: &Target,
    op: &klaviyo_spec::Operation,
    doc: &Value,
) -> Result<Answer, ApiError> {
    let list_id = t.id().unwrap_or_default();
    let items = doc["data"].as_array().map_or(&[][..], Vec::as_slice);
    if let Some(max) = op.max_batch.map(|b| b.max as usize)
        && items.len() > max
    {
        return Err(ApiError::invalid(
            format!(
                "Too many profiles: at most {max} profiles can be given per request; got {}.",
                items.len()
            ),
            Source::Pointer("/data".into()),
        ));
    }
    let lists = st.store.index_of("/lists").map_err(store_error)?;
    if st.store.latest_slot(lists, list_id).is_err() {
        return Err(not_found_id("list", list_id));
    }
    let profiles = st.store.index_of("/profiles").map_err(store_error)?;
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        if st.store.latest_slot(profiles, id).is_err() {
            return Err(not_found_id("profile", id));
        }
        ids.push(id.to_owned());
    }
    let changed = if op.method == klaviyo_spec::Method::Post {
        st.store.add_to_list(list_id, &ids)
    } else {
        st.store.remove_from_list(list_id, &ids)
    };
    changed.map_err(store_error)?;
    Ok(Answer::empty(204))
}

/// `GET /lists/{id}/profiles` and `/relationships/profiles`.
pub(crate) fn list(
    st: &mut State,
    r: &RequestCtx<'_>,
    t: &Target,
    ids_only: bool,
) -> Result<Answer, ApiError> {
    let list_id = t.id().unwrap_or_default();
    let p = place_of(st, r, "/profiles", t.rev_idx)?;
    let coll: &'static Collection = if ids_only { &IDS } else { &PROFILES };
    let q = query::parse_list(coll, &p.tpl, r.params, r.now, r.secret)?;
    let lists = st.store.index_of("/lists").map_err(store_error)?;
    if st.store.visible_slot(lists, list_id).is_none() {
        return Err(not_found_id("list", list_id));
    }
    // Members whose profile is visible, with the filter applied.
    let mut members: Vec<(u32, String, i64)> = st
        .store
        .members_since(list_id)
        .into_iter()
        .filter_map(|(id, joined)| st.store.visible_slot(p.ci, &id).map(|s| (s, id, joined)))
        .filter(|(slot, _, joined)| {
            q.preds.iter().all(|pred| {
                let v = if pred.field == "joined_group_at" {
                    Val::Time(*joined)
                } else {
                    st.store.field(p.ci, *slot, &pred.field, Some(p.rev_idx))
                };
                filter::matches(pred, &v)
            })
        })
        .collect();
    if q.sort.as_ref().is_some_and(|(_, desc)| *desc) {
        members.reverse();
    }
    let offset = match q.cursor {
        Some(Cursor::Offset(n)) => n,
        _ => 0,
    };
    let size = q.size.max(1);
    let end = offset.saturating_add(size).min(members.len());
    let page = &members[offset.min(end)..end];
    let path = format!(
        "/lists/{}/{}",
        crate::store::percent_path(list_id),
        if ids_only {
            "relationships/profiles"
        } else {
            "profiles"
        }
    );
    let scope = query::cursor_scope(coll, q.sort.as_ref().map(|(f, _)| f.as_str()));
    let mut out = Vec::with_capacity(page.len() * 1500 + 512);
    out.extend_from_slice(b"{\"data\":[");
    for (i, (slot, id, joined)) in page.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if ids_only {
            let _ = serde_json::to_writer(&mut out, &json!({"type": "profile", "id": id}));
            continue;
        }
        let extra = [(
            "joined_group_at",
            Value::String(crate::time::format_ts(*joined, crate::time::Style::Plain)),
        )];
        let opts = RenderOpts {
            fields: q.fields.as_deref(),
            additional: &q.additional,
            excluded: additional_only("profile"),
            extra_attrs: &extra,
            ..RenderOpts::default()
        };
        st.store
            .write_resource(&mut out, p.ci, *slot, &p.tpl, &opts);
    }
    out.extend_from_slice(b"],\"links\":{\"self\":");
    let requested = r
        .params
        .iter()
        .find(|(k, _)| k == "page[cursor]")
        .map(|(_, c)| c.as_str());
    write_str(
        &mut out,
        &query::link(r.base_url, &path, r.params, requested),
    );
    let next = (end < members.len()).then_some(Cursor::Offset(end));
    let prev = (offset > 0).then(|| Cursor::Offset(offset.saturating_sub(size)));
    for (name, c) in [("next", next), ("prev", prev)] {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        match c {
            Some(c) => {
                let token = cursor::encode(&c, r.secret, &scope);
                write_str(
                    &mut out,
                    &query::link(r.base_url, &path, r.params, Some(&token)),
                );
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    if klaviyo_spec::revisions()[t.rev_idx].revision >= "2026-07-15" {
        out.extend_from_slice(b",\"meta\":{\"agent_hints\":{\"next_steps\":[]}}");
    }
    out.push(b'}');
    Ok(Answer::raw_json(200, out))
}
