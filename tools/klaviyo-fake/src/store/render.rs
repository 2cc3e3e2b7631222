//! Records as JSON:API resource objects: the attributes of the revision's
//! shape the request wants, relationships and links, and related
//! resources for `include=`.

use std::borrow::Cow;

use serde_json::Value;

use super::{Store, StoreError};
use crate::data::semantic::{self, Ctx};
use crate::data::template::{self, Renderer, Template};
use crate::data::{Record, additional_only, write_str};
use crate::time;

impl Store {
    /// Applies pending writes that are due, then returns the collection's
    /// records as served (in the configured revision's shape).
    pub fn records(&mut self, path: &str) -> Result<Vec<Value>, StoreError> {
        self.apply_due(time::now_micros());
        let ci = self.index_of(path)?;
        let rev = revision_index(&self.revision);
        let Some(tpl) = template::for_revision(rev, self.cols[ci].path)
            .or_else(|| self.template_for(ci, "", None))
        else {
            return Ok(Vec::new());
        };
        let opts = RenderOpts {
            fields: None,
            additional: &[],
            excluded: additional_only(&self.cols[ci].resource_type),
            ..RenderOpts::default()
        };
        let mut out = Vec::new();
        for &slot in &self.cols[ci].live {
            let mut buf = Vec::with_capacity(1024);
            self.write_resource(&mut buf, ci, slot, &tpl, &opts);
            out.push(serde_json::from_slice(&buf).unwrap_or(Value::Null));
        }
        Ok(out)
    }

    /// One record as served, if visible.
    pub fn get(&mut self, path: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.apply_due(time::now_micros());
        let ci = self.index_of(path)?;
        let Some(slot) = self.visible_slot(ci, id) else {
            return Ok(None);
        };
        let rev = revision_index(&self.revision);
        let Some(tpl) = template::for_revision(rev, self.cols[ci].path)
            .or_else(|| self.template_for(ci, "", None))
        else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        let opts = RenderOpts {
            fields: None,
            additional: &[],
            excluded: additional_only(&self.cols[ci].resource_type),
            ..RenderOpts::default()
        };
        self.write_resource(&mut buf, ci, slot, &tpl, &opts);
        Ok(serde_json::from_slice(&buf).ok())
    }

    /// Writes the visible record at `slot` as a JSON:API resource object.
    pub(crate) fn write_resource(
        &self,
        out: &mut Vec<u8>,
        ci: usize,
        slot: u32,
        tpl: &Template,
        opts: &RenderOpts<'_>,
    ) {
        match self.cols[ci].records.get(slot as usize) {
            Some(Some(rec)) => self.write_record(out, ci, slot, rec, tpl, opts),
            _ => out.extend_from_slice(b"null"),
        }
    }

    /// Writes the newest state of the record at `slot`, visible or not yet
    /// (what a POST or PATCH answers with).
    pub(crate) fn write_latest(
        &self,
        out: &mut Vec<u8>,
        ci: usize,
        slot: u32,
        tpl: &Template,
        opts: &RenderOpts<'_>,
    ) {
        match self.latest(ci, slot) {
            Some(rec) => self.write_record(out, ci, slot, rec, tpl, opts),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// Related resources for `include=`, where the relationship's data is
    /// known (an event's profile and metric); others are left out.
    pub(crate) fn included(
        &self,
        ci: usize,
        slots: &[u32],
        include: &[String],
        rev: usize,
    ) -> Vec<Value> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for &slot in slots {
            let Some(Some(rec)) = self.cols[ci].records.get(slot as usize) else {
                continue;
            };
            let ctx = self.ctx(ci, slot, rec);
            for rel in include {
                let data = match &rec.body {
                    Some(b) => b
                        .relationships
                        .as_ref()
                        .and_then(|m| m.get(rel))
                        .and_then(|v| v.get("data"))
                        .cloned(),
                    None => semantic::relationship_data(&ctx, rel),
                };
                let items = match data {
                    Some(Value::Array(a)) => a,
                    Some(v @ Value::Object(_)) => vec![v],
                    _ => continue,
                };
                for item in items {
                    let (Some(t), Some(id)) = (
                        item.get("type").and_then(Value::as_str),
                        item.get("id").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    if !seen.insert((t.to_owned(), id.to_owned())) {
                        continue;
                    }
                    let Some(rci) = self.cols.iter().position(|c| c.resource_type == t) else {
                        continue;
                    };
                    let (Some(rslot), Some(tpl)) = (
                        self.visible_slot(rci, id),
                        template::for_revision(rev, self.cols[rci].path)
                            .or_else(|| self.template_for(rci, "", None)),
                    ) else {
                        continue;
                    };
                    let mut buf = Vec::new();
                    let opts = RenderOpts {
                        fields: None,
                        additional: &[],
                        excluded: additional_only(t),
                        ..RenderOpts::default()
                    };
                    self.write_resource(&mut buf, rci, rslot, &tpl, &opts);
                    if let Ok(v) = serde_json::from_slice(&buf) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    fn write_record(
        &self,
        out: &mut Vec<u8>,
        ci: usize,
        slot: u32,
        rec: &Record,
        tpl: &Template,
        opts: &RenderOpts<'_>,
    ) {
        let col = &self.cols[ci];
        let id = col.id_at(slot);
        let ctx = self.ctx(ci, slot, rec);
        out.extend_from_slice(b"{\"type\":");
        write_str(out, &col.resource_type);
        out.extend_from_slice(b",\"id\":");
        write_str(out, &id);
        out.extend_from_slice(b",\"attributes\":");
        write_attributes(out, &ctx, tpl, opts);
        // URLs need no JSON escaping: the base is ours, ids are
        // percent-encoded and relationship names are `[a-z-]`.
        let mut self_url = Vec::with_capacity(96);
        self_url.push(b'"');
        self_url.extend_from_slice(self.base_url.as_bytes());
        self_url.extend_from_slice(col.path.as_bytes());
        self_url.push(b'/');
        self_url.extend_from_slice(percent_path(&id).as_bytes());
        self_url.push(b'/');
        if !tpl.rels.is_empty() {
            out.extend_from_slice(b",\"relationships\":");
            write_relationships(out, &ctx, tpl, &self_url, opts.rel_data);
        }
        out.extend_from_slice(b",\"links\":{\"self\":");
        out.extend_from_slice(&self_url);
        out.extend_from_slice(b"\"}}");
    }
}

/// The attributes the revision's shape has and the request wants: stored
/// ones as stored, the rest generated.
fn write_attributes(out: &mut Vec<u8>, ctx: &Ctx<'_>, tpl: &Template, opts: &RenderOpts<'_>) {
    let mut r = Renderer::new(ctx);
    out.push(b'{');
    let mut first = true;
    for a in tpl.attrs.iter().filter(|a| opts.wants(&a.name)) {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, &a.name);
        out.push(b':');
        match &ctx.rec.body {
            None => r.write_attr(out, a),
            Some(body) => match body.attributes.get(&*a.name) {
                Some(v) => {
                    let _ = serde_json::to_writer(&mut *out, v);
                }
                None if body.from_generator => r.write_attr(out, a),
                None => out.extend_from_slice(b"null"),
            },
        }
    }
    for (name, v) in opts.extra_attrs.iter().filter(|(n, _)| opts.wants_extra(n)) {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, v);
    }
    out.push(b'}');
}

/// Each relationship of the shape: its data where known, and its links
/// under `open_url` (the record's self URL, quote opened, not closed).
fn write_relationships(
    out: &mut Vec<u8>,
    ctx: &Ctx<'_>,
    tpl: &Template,
    open_url: &[u8],
    given: &[(&str, Value)],
) {
    out.push(b'{');
    for (i, rel) in tpl.rels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, &rel.name);
        out.extend_from_slice(b":{");
        let overridden = given
            .iter()
            .find(|(n, _)| *n == &*rel.name)
            .map(|(_, v)| v.clone());
        let data = overridden.or_else(|| match &ctx.rec.body {
            Some(b) => b
                .relationships
                .as_ref()
                .and_then(|m| m.get(&*rel.name))
                .and_then(|v| v.get("data"))
                .cloned(),
            None => semantic::relationship_data(ctx, &rel.name),
        });
        if let Some(d) = data {
            out.extend_from_slice(b"\"data\":");
            let _ = serde_json::to_writer(&mut *out, &d);
            out.push(b',');
        }
        out.extend_from_slice(b"\"links\":{\"self\":");
        out.extend_from_slice(open_url);
        out.extend_from_slice(b"relationships/");
        out.extend_from_slice(rel.name.as_bytes());
        out.extend_from_slice(b"/\",\"related\":");
        out.extend_from_slice(open_url);
        out.extend_from_slice(rel.name.as_bytes());
        out.extend_from_slice(b"/\"}}");
    }
    out.push(b'}');
}

/// What to render of a resource.
#[derive(Default)]
pub(crate) struct RenderOpts<'a> {
    /// Sparse fieldset (`fields[type]=a,b`), if requested.
    pub fields: Option<&'a [String]>,
    /// `additional-fields[type]` values requested.
    pub additional: &'a [String],
    /// Attributes served only when requested via `additional-fields`.
    pub excluded: &'a [&'a str],
    /// Attributes the shape does not have, appended (e.g. a list's
    /// `profile_count`, a member's `joined_group_at`).
    pub extra_attrs: &'a [(&'a str, Value)],
    /// Relationship data to serve instead of the stored or generated one
    /// (e.g. a profile's `lists` when they are included).
    pub rel_data: &'a [(&'a str, Value)],
}

impl RenderOpts<'_> {
    /// Whether the attribute `name` is served: named by the sparse
    /// fieldset (itself or a dotted part of it), or else not one of those
    /// served only on request unless requested.
    fn wants(&self, name: &str) -> bool {
        match self.fields {
            Some(f) => f
                .iter()
                .any(|w| w == name || w.split('.').next() == Some(name)),
            None => !self.excluded.contains(&name) || self.additional.iter().any(|x| x == name),
        }
    }

    /// Whether an appended attribute is served: a sparse fieldset must name
    /// it too.
    fn wants_extra(&self, name: &str) -> bool {
        self.fields.is_none_or(|f| f.iter().any(|w| w == name))
    }
}

/// Index of the newest table revision not newer than `revision`.
pub(crate) fn revision_index(revision: &str) -> usize {
    let spec = klaviyo_spec::for_revision(revision);
    klaviyo_spec::revisions()
        .iter()
        .position(|r| std::ptr::eq(r, spec))
        .unwrap_or(0)
}

/// Percent-encodes an id for use in a URL path (catalog ids hold `$` and `:`).
pub(crate) fn percent_path(id: &str) -> Cow<'_, str> {
    if id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    {
        Cow::Borrowed(id)
    } else {
        let mut s = String::with_capacity(id.len() * 3);
        for b in id.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        Cow::Owned(s)
    }
}
