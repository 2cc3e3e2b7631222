//! The indexes built from field values on first use and kept on every
//! write: live slots sorted by a field, and live slots by the text of an
//! identifier attribute (how a write finds a profile by email).

use std::collections::HashMap;

use serde_json::Value;

use super::Store;
use crate::data::Val;

impl Store {
    /// Removes `slot` from every built index (before its values change).
    pub(super) fn unindex(&mut self, ci: usize, slot: u32) {
        let mut idents = std::mem::take(&mut self.cols[ci].idents);
        for (field, by_value) in idents.iter_mut() {
            if let Val::Str(v) = self.field(ci, slot, field, None)
                && let Some(slots) = by_value.get_mut(&v)
            {
                slots.retain(|s| *s != slot);
                if slots.is_empty() {
                    by_value.remove(&v);
                }
            }
        }
        self.cols[ci].idents = idents;
        let mut indexes = std::mem::take(&mut self.cols[ci].indexes);
        for (field, order) in indexes.iter_mut() {
            let key = self.field(ci, slot, field, None);
            match self.position(ci, order, field, &key, slot) {
                Ok(pos) => {
                    order.remove(pos);
                }
                Err(_) => order.retain(|s| *s != slot),
            }
        }
        self.cols[ci].indexes = indexes;
    }

    /// Inserts `slot` into every built index (after its values changed).
    pub(super) fn reindex(&mut self, ci: usize, slot: u32) {
        let mut idents = std::mem::take(&mut self.cols[ci].idents);
        for (field, by_value) in idents.iter_mut() {
            if let Val::Str(v) = self.field(ci, slot, field, None) {
                by_value.entry(v).or_default().push(slot);
            }
        }
        self.cols[ci].idents = idents;
        let mut indexes = std::mem::take(&mut self.cols[ci].indexes);
        for (field, order) in indexes.iter_mut() {
            let key = self.field(ci, slot, field, None);
            if let Err(pos) = self.position(ci, order, field, &key, slot) {
                order.insert(pos, slot);
            }
        }
        self.cols[ci].indexes = indexes;
    }

    /// Binary search for (key, slot) in a sorted index.
    pub(crate) fn position(
        &self,
        ci: usize,
        order: &[u32],
        field: &str,
        key: &Val,
        slot: u32,
    ) -> Result<usize, usize> {
        order.binary_search_by(|&s| {
            self.field(ci, s, field, None)
                .total_cmp(key)
                .then(s.cmp(&slot))
        })
    }

    /// The slots of collection `ci` sorted by `field` (ascending, ties by
    /// slot), building the index on first use.
    pub(crate) fn ensure_index(&mut self, ci: usize, field: &str, rev: Option<usize>) {
        if self.cols[ci].indexes.contains_key(field) {
            return;
        }
        let live = self.cols[ci].live.clone();
        let mut keyed: Vec<(Val, u32)> = live
            .into_iter()
            .map(|s| (self.field(ci, s, field, rev), s))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let order = keyed.into_iter().map(|(_, s)| s).collect();
        self.cols[ci].indexes.insert(field.to_owned(), order);
    }

    /// Slots of the records of `ci` whose `field` is `value` in their
    /// newest state (writes not yet visible included): how a write finds
    /// a profile by email, phone number or external id.
    pub(crate) fn find_by(&mut self, ci: usize, field: &'static str, value: &str) -> Vec<u32> {
        if !self.cols[ci].idents.contains_key(field) {
            let mut by_value: HashMap<String, Vec<u32>> = HashMap::new();
            for &slot in &self.cols[ci].live {
                if let Val::Str(v) = self.field(ci, slot, field, None) {
                    by_value.entry(v).or_default().push(slot);
                }
            }
            self.cols[ci].idents.insert(field, by_value);
        }
        let mut found: Vec<u32> = self.cols[ci].idents[field]
            .get(value)
            .cloned()
            .unwrap_or_default();
        found.extend(self.pending.iter().filter(|p| p.ci == ci).map(|p| p.slot));
        found.sort_unstable();
        found.dedup();
        found.retain(|&s| self.latest_text(ci, s, field).as_deref() == Some(value));
        found
    }

    /// The text of `field` of the newest state of the record at `slot`.
    pub(crate) fn latest_text(&self, ci: usize, slot: u32, field: &str) -> Option<String> {
        let pending = self.pending.iter().any(|p| p.ci == ci && p.slot == slot);
        if !pending {
            return match self.field(ci, slot, field, None) {
                Val::Str(s) => Some(s),
                _ => None,
            };
        }
        let body = self.latest(ci, slot)?.body.as_ref()?;
        body.attributes
            .get(field)
            .or_else(|| body.hidden.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}
