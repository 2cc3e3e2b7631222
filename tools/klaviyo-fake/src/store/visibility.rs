//! Writes that become visible only after the configured delay: the queue
//! of pending writes, applying those that are due, and the newest state of
//! a record whether it is visible yet or not.

use super::{Store, StoreError};
use crate::data::Record;
use crate::time::{self, Micros};

pub(super) enum Op {
    Put(Record),
    Delete,
}

pub(super) struct Pending {
    due: Micros,
    pub(super) ci: usize,
    pub(super) slot: u32,
    op: Op,
}

impl Store {
    pub(crate) fn set_delay(&mut self, delay: Micros) {
        self.delay = delay.max(0);
    }

    /// Applies writes whose visibility delay has passed.
    pub(crate) fn apply_due(&mut self, now: Micros) {
        while self.pending.front().is_some_and(|p| p.due <= now) {
            if let Some(p) = self.pending.pop_front() {
                self.apply(p.ci, p.slot, p.op);
            }
        }
    }

    pub(super) fn submit(&mut self, ci: usize, slot: u32, op: Op) {
        if self.delay == 0 && self.pending.is_empty() {
            self.apply(ci, slot, op);
        } else {
            self.pending.push_back(Pending {
                due: time::now_micros() + self.delay,
                ci,
                slot,
                op,
            });
        }
    }

    fn apply(&mut self, ci: usize, slot: u32, op: Op) {
        let existed = self.cols[ci]
            .records
            .get(slot as usize)
            .is_some_and(Option::is_some);
        if existed {
            self.unindex(ci, slot);
        }
        match op {
            Op::Put(rec) => {
                let col = &mut self.cols[ci];
                if col.records.len() <= slot as usize {
                    col.records.resize(slot as usize + 1, None);
                }
                col.records[slot as usize] = Some(rec);
                if let Err(pos) = col.live.binary_search(&slot) {
                    col.live.insert(pos, slot);
                }
                self.reindex(ci, slot);
            }
            Op::Delete => {
                let col = &mut self.cols[ci];
                if let Some(r) = col.records.get_mut(slot as usize) {
                    *r = None;
                }
                if let Ok(pos) = col.live.binary_search(&slot) {
                    col.live.remove(pos);
                }
                let id = col.id_at(slot).into_owned();
                col.unmap_id(&id, slot);
            }
        }
    }

    pub(crate) fn visible_slot(&self, ci: usize, id: &str) -> Option<u32> {
        let col = &self.cols[ci];
        col.slot_of(id)
            .filter(|&s| col.records.get(s as usize).is_some_and(Option::is_some))
    }

    /// The slot of `id` if its latest state (pending writes included) exists.
    pub(crate) fn latest_slot(&self, ci: usize, id: &str) -> Result<u32, StoreError> {
        let not_found = || StoreError::NotFound {
            collection: self.cols[ci].path.to_owned(),
            id: id.to_owned(),
        };
        let slot = self.cols[ci].slot_of(id).ok_or_else(not_found)?;
        match self.latest(ci, slot) {
            Some(_) => Ok(slot),
            None => Err(not_found()),
        }
    }

    pub(crate) fn latest(&self, ci: usize, slot: u32) -> Option<&Record> {
        for p in self.pending.iter().rev() {
            if p.ci == ci && p.slot == slot {
                return match &p.op {
                    Op::Put(r) => Some(r),
                    Op::Delete => None,
                };
            }
        }
        self.cols[ci]
            .records
            .get(slot as usize)
            .and_then(Option::as_ref)
    }
}
