//! One collection: its generated and inserted records by slot, and the
//! map from ids to slots (most ids are derived from the slot, not stored).

use std::borrow::Cow;
use std::collections::HashMap;

use fnv::FnvHashMap;

use super::{Store, StoreConfig};
use crate::data::seed::{self, fnv, make_id, mix, pick};
use crate::data::semantic::{self, Refs};
use crate::data::{Kind, Record, TimeFields};
use crate::time::MICROS_PER_SEC;

/// One collection.
pub(crate) struct CollData {
    /// Path as in klaviyo-spec, e.g. `/profiles`.
    pub path: &'static str,
    pub resource_type: String,
    pub kind: Kind,
    pub tf: TimeFields,
    pub salt: u64,
    /// Number of generated records (relationships pick among them).
    pub gen_count: u32,
    /// By slot; `None` once deleted or while an insert is not yet visible.
    pub records: Vec<Option<Record>>,
    /// Ids that are not derived from the slot (inserted or materialised
    /// records, and the rare regenerated collision).
    pub custom_ids: FnvHashMap<u32, Box<str>>,
    /// fnv(id) → slot, plus ids whose hash collided.
    id_map: FnvHashMap<u64, u32>,
    id_overflow: HashMap<Box<str>, u32>,
    /// Live slots, ascending: the order when no `sort` is given.
    pub live: Vec<u32>,
    /// Live slots sorted by (field value, slot), built on first use and
    /// maintained on every write.
    pub indexes: HashMap<String, Vec<u32>>,
    /// Live slots by the text of an identifier attribute (a profile's
    /// `email`, `phone_number`, `external_id`), built on first use and
    /// maintained on every write.
    pub(super) idents: HashMap<&'static str, HashMap<String, Vec<u32>>>,
}

/// The resource type and the created-/updated-like attributes of the
/// collection at `path`, from every revision that lists it.
fn describe(path: &str, kind: Kind) -> (String, TimeFields) {
    let mut names: Vec<&'static str> = Vec::new();
    let mut resource_type = None;
    for rev in klaviyo_spec::revisions() {
        if let Some(c) = rev.collection(path) {
            resource_type.get_or_insert(c.resource_type);
            names.extend(c.attributes.iter().map(|a| a.name));
        }
    }
    let tf = match kind {
        Kind::Events => TimeFields {
            created: Some("datetime"),
            updated: None,
        },
        _ if names.is_empty() => TimeFields {
            created: Some("created"),
            updated: Some("updated"),
        },
        _ => TimeFields::from_names(names.iter().copied()),
    };
    // A built-in collection no revision lists: `/things` holds `thing`s.
    let resource_type = resource_type.map(str::to_owned).unwrap_or_else(|| {
        let t = path.trim_start_matches('/');
        t.strip_suffix('s').unwrap_or(t).to_owned()
    });
    (resource_type, tf)
}

impl CollData {
    /// `n` generated records of the collection at `path`: a year of
    /// timestamps ending at the anchor, and ids derived from the slots.
    pub(super) fn generate(
        path: &'static str,
        kind: Kind,
        n: usize,
        cfg: &StoreConfig<'_>,
    ) -> CollData {
        let (resource_type, tf) = describe(path, kind);
        let salt = mix(cfg.seed ^ fnv(path));
        let span = 365 * 86_400 * MICROS_PER_SEC;
        let times = seed::timeline(
            &mut seed::rng(cfg.seed, salt),
            n,
            cfg.anchor,
            span,
            kind.mutable(),
            cfg.bulk_clusters,
        );
        let records = times
            .into_iter()
            .map(|(created, updated)| {
                Some(Record {
                    created,
                    updated: if tf.updated.is_some() {
                        updated
                    } else {
                        created
                    },
                    body: None,
                })
            })
            .collect();
        let mut col = CollData {
            path,
            resource_type,
            kind,
            tf,
            salt,
            gen_count: n as u32,
            records,
            custom_ids: FnvHashMap::default(),
            id_map: FnvHashMap::default(),
            id_overflow: HashMap::new(),
            live: (0..n as u32).collect(),
            indexes: HashMap::new(),
            idents: HashMap::new(),
        };
        col.map_generated_ids();
        col
    }

    /// Maps every generated record's id, in slot order. A derived short id
    /// can collide with an earlier one: it is drawn again and stored.
    fn map_generated_ids(&mut self) {
        for slot in 0..self.records.len() as u32 {
            let mut id = self.id_at(slot).into_owned();
            let mut attempt = 0u64;
            while self.slot_of(&id).is_some() {
                attempt += 1;
                // Shapes derived from an external id cannot be redrawn.
                let shape = match self.kind.id_shape(self.path) {
                    s @ (seed::IdShape::Short | seed::IdShape::Event | seed::IdShape::Uuid) => s,
                    _ => seed::IdShape::Ulid,
                };
                let created = self.records[slot as usize]
                    .as_ref()
                    .map_or(0, |r| r.created);
                id = make_id(
                    shape,
                    created,
                    mix(self.salt ^ u64::from(slot) ^ attempt << 40),
                    slot,
                    "",
                );
                self.custom_ids.insert(slot, id.clone().into());
            }
            self.map_id(&id, slot);
        }
    }

    /// The id of the record at `slot` (derived unless stored).
    pub(crate) fn id_at(&self, slot: u32) -> Cow<'_, str> {
        if let Some(id) = self.custom_ids.get(&slot) {
            return Cow::Borrowed(id);
        }
        let created = self
            .records
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map_or(0, |r| r.created);
        let ext = semantic::external_id(self.kind, slot);
        Cow::Owned(make_id(
            self.kind.id_shape(self.path),
            created,
            mix(self.salt ^ 0x1d ^ u64::from(slot)),
            slot,
            &ext,
        ))
    }

    pub(crate) fn slot_of(&self, id: &str) -> Option<u32> {
        if let Some(&s) = self.id_map.get(&fnv(id))
            && self.id_at(s) == id
        {
            return Some(s);
        }
        self.id_overflow.get(id).copied()
    }

    pub(super) fn map_id(&mut self, id: &str, slot: u32) {
        let h = fnv(id);
        match self.id_map.get(&h) {
            Some(&s) if s != slot && self.id_at(s) != id => {
                self.id_overflow.insert(id.into(), slot);
            }
            _ => {
                self.id_map.insert(h, slot);
            }
        }
    }

    pub(super) fn unmap_id(&mut self, id: &str, slot: u32) {
        let h = fnv(id);
        if self.id_map.get(&h) == Some(&slot) {
            self.id_map.remove(&h);
        } else {
            self.id_overflow.remove(id);
        }
    }
}

impl Refs for Store {
    fn pick_id(&self, path: &str, h: u64) -> Option<String> {
        let ci = *self.by_path.get(path)?;
        let col = &self.cols[ci];
        let n = col.gen_count as usize;
        if n == 0 {
            return None;
        }
        let start = pick(h, n);
        (0..n)
            .map(|i| ((start + i) % n) as u32)
            .find(|&s| col.records.get(s as usize).is_some_and(Option::is_some))
            .map(|s| col.id_at(s).into_owned())
    }
}
