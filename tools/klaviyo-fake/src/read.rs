//! `GET /api/<type>/{id}`: one visible record with the sparse fieldsets,
//! additional fields and related resources (`include`) the operation
//! declares; and the same query parameters where a write declares them.

use std::collections::HashMap;

use serde_json::Value;

use crate::data::additional_only;
use crate::document::document;
use crate::errors::{ApiError, not_found_id};
use crate::request::{Place, RequestCtx};
use crate::response::Answer;
use crate::state::State;
use crate::store::RenderOpts;

/// The checked query of an operation on one resource.
#[derive(Debug, Default)]
pub(crate) struct OneQuery {
    /// `fields[<type>]`, by type.
    pub fields: HashMap<String, Vec<String>>,
    /// `additional-fields[<primary type>]`.
    pub additional: Vec<String>,
    pub include: Vec<String>,
}

impl OneQuery {
    /// The attributes the primary resource leaves out unless asked for.
    pub(crate) fn excluded(
        &self,
        op: &klaviyo_spec::Operation,
        resource_type: &str,
    ) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = additional_only(resource_type).to_vec();
        for a in op
            .additional_fields
            .iter()
            .filter(|a| a.resource_type == resource_type)
        {
            out.extend(a.values.iter().copied());
        }
        out
    }
}

/// Checks `fields[…]`, `additional-fields[…]` and `include` (undeclared
/// parameters were refused before).
pub(crate) fn parse(
    op: &klaviyo_spec::Operation,
    primary: &str,
    rev_idx: usize,
    params: &[(String, String)],
) -> Result<OneQuery, ApiError> {
    let mut q = OneQuery::default();
    for (k, v) in params {
        let list = comma_list(v);
        if let Some(t) = k.strip_prefix("fields[").and_then(|s| s.strip_suffix(']')) {
            if let Some(tpl) = template_of(rev_idx, t)
                && let Some(f) = list
                    .iter()
                    .find(|f| tpl.attr(f.split('.').next().unwrap_or(f)).is_none())
            {
                return Err(ApiError::param(
                    k,
                    format!("'{f}' is not a valid field for the resource '{t}'."),
                ));
            }
            q.fields.insert(t.to_owned(), list);
        } else if let Some(t) = k
            .strip_prefix("additional-fields[")
            .and_then(|s| s.strip_suffix(']'))
        {
            let allowed: Vec<&str> = op
                .additional_fields
                .iter()
                .filter(|a| a.resource_type == t)
                .flat_map(|a| a.values.iter().copied())
                .collect();
            if let Some(f) = list.iter().find(|f| !allowed.contains(&f.as_str())) {
                return Err(ApiError::param(
                    k,
                    format!("'{f}' is not a valid additional field for the resource '{t}'."),
                ));
            }
            if t == primary {
                q.additional = list;
            }
        } else if k == "include" {
            // Wording as in Klaviyo's error guide.
            if let Some(f) = list.iter().find(|f| !op.can_include(f)) {
                return Err(ApiError::param(
                    "include",
                    format!("'{f}' is not an allowed include parameter for this resource."),
                ));
            }
            q.include = list;
        }
    }
    Ok(q)
}

/// The shape of the resources of type `resource_type` in the revision.
fn template_of(
    rev_idx: usize,
    resource_type: &str,
) -> Option<std::sync::Arc<crate::data::template::Template>> {
    let coll = klaviyo_spec::revisions()[rev_idx]
        .collections
        .iter()
        .find(|c| c.resource_type == resource_type)?;
    crate::data::template::for_revision(rev_idx, coll.path)
}

/// `GET /x/{id}`.
pub(crate) fn one(
    st: &mut State,
    r: &RequestCtx<'_>,
    op: &klaviyo_spec::Operation,
    p: &Place<'_>,
) -> Result<Answer, ApiError> {
    let id = p.id.unwrap_or_default();
    let q = parse(op, p.coll.resource_type, p.rev_idx, r.params)?;
    let slot = st
        .store
        .visible_slot(p.ci, id)
        .ok_or_else(|| not_found_id(p.coll.resource_type, id))?;
    let extra = extra_attributes(st, p, id, &q);
    let lists = (p.coll.path == "/profiles" && q.include.iter().any(|i| i == "lists"))
        .then(|| st.store.lists_of(id));
    let rel_data: Vec<(&str, Value)> = lists
        .iter()
        .map(|ls| {
            let data: Vec<Value> = ls
                .iter()
                .map(|l| serde_json::json!({"type": "list", "id": l}))
                .collect();
            ("lists", Value::Array(data))
        })
        .collect();
    let excluded = q.excluded(op, p.coll.resource_type);
    let opts = RenderOpts {
        fields: q.fields.get(p.coll.resource_type).map(Vec::as_slice),
        additional: &q.additional,
        excluded: &excluded,
        extra_attrs: &extra,
        rel_data: &rel_data,
    };
    let mut resource = Vec::with_capacity(2048);
    st.store
        .write_resource(&mut resource, p.ci, slot, &p.tpl, &opts);
    let included = (!q.include.is_empty()).then(|| {
        let mut inc = st.store.included(p.ci, &[slot], &q.include, p.rev_idx);
        if let Some(ls) = &lists {
            inc.extend(included_lists(st, ls, p.rev_idx));
        }
        for res in &mut inc {
            sparse(res, &q.fields);
        }
        inc
    });
    Ok(Answer::raw_json(
        200,
        document(r.base_url, p, slot, st, &resource, included.as_deref()),
    ))
}

/// Additional fields the resource's shape lacks: a list's `profile_count`
/// (its members; segments' members are not modelled, so 0).
fn extra_attributes(
    st: &State,
    p: &Place<'_>,
    id: &str,
    q: &OneQuery,
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if q.additional.iter().any(|a| a == "profile_count") && p.tpl.attr("profile_count").is_none() {
        let n = match p.coll.path {
            "/lists" => st.store.members_since(id).len(),
            _ => 0,
        };
        out.push(("profile_count", Value::from(n)));
    }
    out
}

/// The lists a profile is a member of, as included resources.
fn included_lists(st: &State, lists: &[String], rev_idx: usize) -> Vec<Value> {
    let Ok(ci) = st.store.index_of("/lists") else {
        return Vec::new();
    };
    let Some(tpl) = crate::data::template::for_revision(rev_idx, "/lists") else {
        return Vec::new();
    };
    lists
        .iter()
        .filter_map(|l| st.store.visible_slot(ci, l))
        .filter_map(|slot| {
            let mut buf = Vec::new();
            st.store
                .write_resource(&mut buf, ci, slot, &tpl, &RenderOpts::default());
            serde_json::from_slice(&buf).ok()
        })
        .collect()
}

/// Applies `fields[<type>]` to an included resource.
fn sparse(resource: &mut Value, fields: &HashMap<String, Vec<String>>) {
    let Some(t) = resource.get("type").and_then(Value::as_str) else {
        return;
    };
    let Some(wanted) = fields.get(t).cloned() else {
        return;
    };
    if let Some(Value::Object(attrs)) = resource.get_mut("attributes") {
        attrs.retain(|k, _| {
            wanted
                .iter()
                .any(|w| w == k || w.split('.').next() == Some(k))
        });
    }
}

/// `a, b,,c` → `["a", "b", "c"]`.
pub(crate) fn comma_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
