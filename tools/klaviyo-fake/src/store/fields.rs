//! A record's field values as filters and sorting see them: stored values
//! for written records, generated ones (through the revision's template)
//! for the rest.

use std::sync::Arc;

use super::Store;
use crate::data::seed::mix;
use crate::data::semantic::Ctx;
use crate::data::template::{self, Template};
use crate::data::{Kind, Record, Val, Which, json_path};
use crate::time::MICROS_PER_SEC;

impl Store {
    /// Index of revision `rev` or the newest revision listing the collection
    /// and the field's first segment (field values do not depend on it).
    pub(super) fn template_for(
        &self,
        ci: usize,
        field: &str,
        rev: Option<usize>,
    ) -> Option<Arc<Template>> {
        let path = self.cols[ci].path;
        if let Some(r) = rev
            && let Some(t) = template::for_revision(r, path)
        {
            return Some(t);
        }
        let first = field.split('.').next().unwrap_or(field);
        let n = klaviyo_spec::revisions().len();
        let mut fallback = None;
        for r in (0..n).rev() {
            if let Some(t) = template::for_revision(r, path) {
                if t.attr(first).is_some() {
                    return Some(t);
                }
                fallback.get_or_insert(t);
            }
        }
        fallback
    }

    pub(crate) fn ctx<'a>(&'a self, ci: usize, slot: u32, rec: &'a Record) -> Ctx<'a> {
        let col = &self.cols[ci];
        Ctx {
            kind: col.kind,
            tf: col.tf,
            base: mix(col.salt ^ u64::from(slot)),
            slot,
            rec,
            anchor: self.anchor,
            refs: self,
        }
    }

    /// The value of `field` of the record at `slot`, as filters and sorting
    /// see it. `rev` selects the template for generated values; any works.
    pub(crate) fn field(&self, ci: usize, slot: u32, field: &str, rev: Option<usize>) -> Val {
        let col = &self.cols[ci];
        let Some(Some(rec)) = col.records.get(slot as usize) else {
            return Val::Null;
        };
        if field == "id" || field == "ids" {
            return Val::Str(col.id_at(slot).into_owned());
        }
        if col.kind == Kind::Events && field == "timestamp" {
            return Val::Num(rec.created.div_euclid(MICROS_PER_SEC) as f64);
        }
        if let Some(w) = col.tf.which(field) {
            return Val::Time(if w == Which::Created {
                rec.created
            } else {
                rec.updated
            });
        }
        match &rec.body {
            Some(body) => {
                // A body holds every revision's attributes; a revision whose
                // resource nests them in `definition` (2026-10-15 campaigns)
                // filters on the nested ones.
                let nested = format!("definition.{field}");
                let first = field.split('.').next().unwrap_or(field);
                let prefer_nested = rev
                    .and_then(|r| template::for_revision(r, col.path))
                    .is_some_and(|t| t.attr(first).is_none() && t.attr("definition").is_some());
                let (a, b) = if prefer_nested {
                    (nested.as_str(), field)
                } else {
                    (field, nested.as_str())
                };
                json_path(&body.attributes, a)
                    .or_else(|| json_path(&body.attributes, b))
                    .or_else(|| body.hidden.get(field))
                    .map(Val::from_json)
                    .unwrap_or(Val::Null)
            }
            None => {
                let ctx = self.ctx(ci, slot, rec);
                let tpl = self.template_for(ci, field, rev);
                template::lookup(&ctx, tpl.as_deref(), field)
            }
        }
    }
}
