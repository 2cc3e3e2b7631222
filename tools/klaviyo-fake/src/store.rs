//! The stand-in's data: every collection's records, id lookup, sorted
//! indexes, and writes that become visible only after a delay.
//!
//! [`Store`] is also what a request hook receives, so tests can change data
//! between two pages of a client's paging deterministically.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use fnv::FnvHashMap;
use serde_json::{Map, Value};

use crate::data::seed::{self, child, fnv, make_id, mix, pick};
use crate::data::semantic::{self, Ctx, Refs};
use crate::data::template::{self, Renderer, Template};
use crate::data::{
    Body, Kind, Record, TimeFields, Val, Which, additional_only, json_path, write_str,
};
use crate::time::{self, MICROS_PER_SEC, Micros, Style};

/// Errors of the data API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("unknown collection {0:?}")]
    UnknownCollection(String),
    #[error("no record {id:?} in {collection}")]
    NotFound { collection: String, id: String },
    #[error("a record with id {id:?} already exists in {collection}")]
    DuplicateId { collection: String, id: String },
    #[error("invalid record: {0}")]
    InvalidRecord(String),
}

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
    idents: HashMap<&'static str, HashMap<String, Vec<u32>>>,
}

enum Op {
    Put(Record),
    Delete,
}

struct Pending {
    due: Micros,
    ci: usize,
    slot: u32,
    op: Op,
}

/// All collections of one stand-in.
pub struct Store {
    pub(crate) cols: Vec<CollData>,
    by_path: HashMap<&'static str, usize>,
    pub(crate) anchor: Micros,
    delay: Micros,
    pending: VecDeque<Pending>,
    pub(crate) base_url: String,
    /// The revision whose shape [`Store::records`] renders.
    pub(crate) revision: String,
    inserted: u64,
    /// List id → member profile id → when it joined (`joined_group_at`).
    members: HashMap<String, HashMap<String, Micros>>,
}

/// Collections the stand-in fills even when klaviyo-spec does not list them.
const BUILTIN: &[&str] = &[
    "/profiles",
    "/events",
    "/metrics",
    "/lists",
    "/segments",
    "/campaigns",
    "/flows",
    "/templates",
    "/template-universal-content",
    "/images",
    "/forms",
    "/reviews",
    "/web-feeds",
    "/catalog-items",
    "/catalog-variants",
    "/catalog-categories",
    "/coupons",
    "/coupon-codes",
    "/tags",
    "/tag-groups",
    "/accounts",
];

/// `profiles`, `/profiles`, `/api/profiles/` → `/profiles`.
pub fn normalize_path(p: &str) -> String {
    let p = p.trim().trim_end_matches('/');
    let p = p.strip_prefix("/api").unwrap_or(p);
    let p = p.strip_prefix("api/").unwrap_or(p);
    if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

/// The built-in collections and every list endpoint of any revision, sorted.
fn collection_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = BUILTIN.to_vec();
    for rev in klaviyo_spec::revisions() {
        for c in rev.collections {
            if !paths.contains(&c.path) {
                paths.push(c.path);
            }
        }
    }
    paths.sort_unstable();
    paths
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

/// Settings the store is built from.
pub(crate) struct StoreConfig<'a> {
    pub seed: u64,
    pub anchor: Micros,
    pub sizes: &'a std::collections::BTreeMap<String, usize>,
    pub default_size: Option<usize>,
    pub base_url: String,
    pub revision: String,
    /// Bulk imports and bulk updates: hundreds of records sharing a second.
    pub bulk_clusters: bool,
}

impl Store {
    /// Generates every collection the stand-in knows.
    pub(crate) fn new(cfg: StoreConfig<'_>) -> Store {
        let sizes: HashMap<String, usize> = cfg
            .sizes
            .iter()
            .map(|(k, v)| (normalize_path(k), *v))
            .collect();
        let cols: Vec<CollData> = collection_paths()
            .into_iter()
            .map(|path| {
                let kind = Kind::for_path(path);
                let n = sizes
                    .get(path)
                    .copied()
                    .or(cfg.default_size)
                    .unwrap_or_else(|| kind.default_size());
                CollData::generate(path, kind, n, &cfg)
            })
            .collect();
        for unknown in sizes
            .keys()
            .filter(|k| !cols.iter().any(|c| c.path == k.as_str()))
        {
            tracing::warn!(collection = %unknown, "size given for a collection the stand-in does not know");
        }
        let by_path = cols.iter().enumerate().map(|(i, c)| (c.path, i)).collect();
        Store {
            cols,
            by_path,
            anchor: cfg.anchor,
            delay: 0,
            pending: VecDeque::new(),
            base_url: cfg.base_url,
            revision: cfg.revision,
            inserted: 0,
            members: HashMap::new(),
        }
    }

    pub(crate) fn set_delay(&mut self, delay: Micros) {
        self.delay = delay.max(0);
    }

    /// The collection at `path` (any of `profiles`, `/profiles`, `/api/profiles`).
    pub(crate) fn index_of(&self, path: &str) -> Result<usize, StoreError> {
        let p = normalize_path(path);
        self.by_path
            .get(p.as_str())
            .copied()
            .ok_or(StoreError::UnknownCollection(path.to_owned()))
    }

    /// Paths of every collection, e.g. `/profiles`.
    pub fn collections(&self) -> Vec<&'static str> {
        self.cols.iter().map(|c| c.path).collect()
    }

    /// Applies writes whose visibility delay has passed.
    pub(crate) fn apply_due(&mut self, now: Micros) {
        while self.pending.front().is_some_and(|p| p.due <= now) {
            if let Some(p) = self.pending.pop_front() {
                self.apply(p.ci, p.slot, p.op);
            }
        }
    }

    fn submit(&mut self, ci: usize, slot: u32, op: Op) {
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

    /// Removes `slot` from every built index (before its values change).
    fn unindex(&mut self, ci: usize, slot: u32) {
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
    fn reindex(&mut self, ci: usize, slot: u32) {
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

    /// Adds profiles to a list (the list's and the profiles' newest states
    /// must exist); members already there keep their `joined_group_at`.
    /// Returns how many joined.
    pub fn add_to_list(
        &mut self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<usize, StoreError> {
        self.check_membership(list_id, profile_ids)?;
        let now = seed::whole(time::now_micros());
        let members = self.members.entry(list_id.to_owned()).or_default();
        let mut joined = 0;
        for p in profile_ids {
            if !members.contains_key(p) {
                members.insert(p.clone(), now);
                joined += 1;
            }
        }
        Ok(joined)
    }

    /// Removes profiles from a list; ids that are not members are ignored.
    /// Returns how many left.
    pub fn remove_from_list(
        &mut self,
        list_id: &str,
        profile_ids: &[String],
    ) -> Result<usize, StoreError> {
        self.check_membership(list_id, profile_ids)?;
        let Some(members) = self.members.get_mut(list_id) else {
            return Ok(0);
        };
        Ok(profile_ids
            .iter()
            .filter(|p| members.remove(p.as_str()).is_some())
            .count())
    }

    fn check_membership(&self, list_id: &str, profile_ids: &[String]) -> Result<(), StoreError> {
        let lists = self.index_of("/lists")?;
        self.latest_slot(lists, list_id)?;
        let profiles = self.index_of("/profiles")?;
        for p in profile_ids {
            self.latest_slot(profiles, p)?;
        }
        Ok(())
    }

    /// The profile ids of a list's members, in the order they joined.
    pub fn list_members(&self, list_id: &str) -> Vec<String> {
        self.members_since(list_id)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// A list's members with the instant each joined, oldest first (ties
    /// by id); members whose profile no longer exists are left out.
    pub(crate) fn members_since(&self, list_id: &str) -> Vec<(String, Micros)> {
        let Some(members) = self.members.get(list_id) else {
            return Vec::new();
        };
        let profiles = self.index_of("/profiles").ok();
        let mut out: Vec<(String, Micros)> = members
            .iter()
            .filter(|(p, _)| profiles.is_some_and(|ci| self.latest_slot(ci, p).is_ok()))
            .map(|(p, t)| (p.clone(), *t))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The ids of the lists `profile_id` is a member of, sorted.
    pub(crate) fn lists_of(&self, profile_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.contains_key(profile_id))
            .map(|(l, _)| l.clone())
            .collect();
        out.sort();
        out
    }

    /// Index of revision `rev` or the newest revision listing the collection
    /// and the field's first segment (field values do not depend on it).
    fn template_for(&self, ci: usize, field: &str, rev: Option<usize>) -> Option<Arc<Template>> {
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

    /// Number of visible records.
    pub fn len(&mut self, path: &str) -> Result<usize, StoreError> {
        self.apply_due(time::now_micros());
        Ok(self.cols[self.index_of(path)?].live.len())
    }

    /// Whether the collection has no visible record.
    pub fn is_empty(&mut self, path: &str) -> Result<bool, StoreError> {
        Ok(self.len(path)? == 0)
    }

    /// Ids of the visible records, in slot order (cheap even for a million).
    pub fn ids(&mut self, path: &str) -> Result<Vec<String>, StoreError> {
        self.apply_due(time::now_micros());
        let col = &self.cols[self.index_of(path)?];
        Ok(col
            .live
            .iter()
            .map(|&s| col.id_at(s).into_owned())
            .collect())
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

    pub(crate) fn visible_slot(&self, ci: usize, id: &str) -> Option<u32> {
        let col = &self.cols[ci];
        col.slot_of(id)
            .filter(|&s| col.records.get(s as usize).is_some_and(Option::is_some))
    }

    /// Inserts a record: a JSON:API resource object (`{"id"?, "attributes",
    /// "relationships"?, "filter_only"?}`) or a bare attributes object.
    /// Timestamps the record does not give are set to now; `filter_only`
    /// holds values filters see but responses do not (e.g. a campaign's
    /// `messages.channel`). Returns the id.
    pub fn insert(&mut self, path: &str, record: Value) -> Result<String, StoreError> {
        self.insert_as(path, record, false)
    }

    /// [`Store::insert`]; with `server_times` (a client's POST) the record's
    /// own timestamps are ignored, as Klaviyo does.
    pub(crate) fn insert_as(
        &mut self,
        path: &str,
        record: Value,
        server_times: bool,
    ) -> Result<String, StoreError> {
        let ci = self.index_of(path)?;
        let mut given = GivenRecord::from_json(record)?;
        let (created, updated) = self.stamp(ci, &mut given.attributes, server_times);
        let slot = self.cols[ci].records.len() as u32;
        let id = self.new_id(ci, given.id.take(), created, slot)?;
        let col = &mut self.cols[ci];
        col.records.push(None);
        col.custom_ids.insert(slot, id.clone().into());
        col.map_id(&id, slot);
        let rec = Record {
            created,
            updated: if col.tf.updated.is_some() {
                updated
            } else {
                created
            },
            body: Some(Box::new(Body {
                attributes: given.attributes,
                relationships: given.relationships,
                hidden: given.hidden,
                from_generator: false,
            })),
        };
        self.submit(ci, slot, Op::Put(rec));
        Ok(id)
    }

    /// The record's created and updated instants: as given, or now. Writes
    /// those it did not give (all of them for `server_times`) into its
    /// attributes, and an event's `timestamp`.
    fn stamp(
        &self,
        ci: usize,
        attributes: &mut Map<String, Value>,
        server_times: bool,
    ) -> (Micros, Micros) {
        let now = seed::whole(time::now_micros());
        let col = &self.cols[ci];
        let tf = col.tf;
        let given = |name: Option<&str>| {
            name.filter(|_| !server_times)
                .and_then(|n| attributes.get(n))
                .and_then(Value::as_str)
                .and_then(time::parse_stored)
        };
        let (given_created, given_updated) = (given(tf.created), given(tf.updated));
        let created = given_created.unwrap_or(now);
        let updated = given_updated.unwrap_or(created.max(now));
        if let Some(c) = tf.created
            && given_created.is_none()
        {
            let style = if col.kind == Kind::Events {
                Style::Plain
            } else {
                semantic::style_of(created)
            };
            attributes.insert(c.to_owned(), Value::String(time::format_ts(created, style)));
        }
        if let Some(u) = tf.updated
            && given_updated.is_none()
        {
            attributes.insert(
                u.to_owned(),
                Value::String(time::format_ts(updated, semantic::style_of(updated))),
            );
        }
        if col.kind == Kind::Events && !attributes.contains_key("timestamp") {
            attributes.insert(
                "timestamp".into(),
                Value::from(created.div_euclid(MICROS_PER_SEC)),
            );
        }
        (created, updated)
    }

    /// The given id, refused when taken; or a fresh one of the
    /// collection's shape.
    fn new_id(
        &mut self,
        ci: usize,
        given: Option<String>,
        created: Micros,
        slot: u32,
    ) -> Result<String, StoreError> {
        if let Some(id) = given {
            if self.cols[ci].slot_of(&id).is_some() {
                return Err(StoreError::DuplicateId {
                    collection: self.cols[ci].path.to_owned(),
                    id,
                });
            }
            return Ok(id);
        }
        loop {
            self.inserted += 1;
            let col = &self.cols[ci];
            let h = mix(col.salt ^ 0x1d5e_u64 ^ (self.inserted << 20));
            let ext = semantic::external_id(col.kind, slot);
            let id = make_id(col.kind.id_shape(col.path), created, h, slot, &ext);
            if col.slot_of(&id).is_none() {
                return Ok(id);
            }
        }
    }

    /// Changes a record's attributes and sets its updated timestamp(s) to
    /// now (whole seconds), as Klaviyo does on every change.
    pub fn update(
        &mut self,
        path: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), StoreError> {
        self.modify(path, id, f, true)
    }

    /// Changes a record's attributes without touching its timestamps (what
    /// Klaviyo never does; for building traps such as an `updated` that goes
    /// backwards). Timestamp attributes the closure sets are taken as given.
    pub fn edit(
        &mut self,
        path: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), StoreError> {
        self.modify(path, id, f, false)
    }

    /// Sets the updated timestamp(s) to now without other changes.
    pub fn touch(&mut self, path: &str, id: &str) -> Result<(), StoreError> {
        self.modify(path, id, |_| {}, true)
    }

    /// Deletes a record (invisible in lists after the visibility delay).
    pub fn delete(&mut self, path: &str, id: &str) -> Result<(), StoreError> {
        let ci = self.index_of(path)?;
        let slot = self.latest_slot(ci, id)?;
        self.submit(ci, slot, Op::Delete);
        if self.cols[ci].path == "/lists" {
            self.members.remove(id);
        }
        Ok(())
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

    /// Changes a record's whole body (attributes, relationships,
    /// filter-only values) and sets its updated timestamp(s) to now.
    pub(crate) fn update_body(
        &mut self,
        path: &str,
        id: &str,
        f: impl FnOnce(&mut Body),
    ) -> Result<(), StoreError> {
        self.modify_body(path, id, f, true)
    }

    fn modify(
        &mut self,
        path: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
        bump: bool,
    ) -> Result<(), StoreError> {
        self.modify_body(path, id, |b| f(&mut b.attributes), bump)
    }

    fn modify_body(
        &mut self,
        path: &str,
        id: &str,
        f: impl FnOnce(&mut Body),
        bump: bool,
    ) -> Result<(), StoreError> {
        let ci = self.index_of(path)?;
        let slot = self.latest_slot(ci, id)?;
        let Some(current) = self.latest(ci, slot).cloned() else {
            return Err(StoreError::NotFound {
                collection: self.cols[ci].path.to_owned(),
                id: id.to_owned(),
            });
        };
        let mut body = match current.body {
            Some(b) => *b,
            None => {
                // The id was derived from the record; pin it before the
                // record stops being purely generated.
                let id = self.cols[ci].id_at(slot).into_owned();
                self.cols[ci].custom_ids.insert(slot, id.into());
                self.materialize(ci, slot, &current)
            }
        };
        f(&mut body);
        let tf = self.cols[ci].tf;
        let mut rec = Record {
            created: current.created,
            updated: current.updated,
            body: None,
        };
        if bump {
            let now = seed::whole(time::now_micros());
            for name in tf.updated.into_iter().chain(["updated", "updated_at"]) {
                if tf.updated == Some(name) || body.attributes.contains_key(name) {
                    body.attributes.insert(
                        name.to_owned(),
                        Value::String(time::format_ts(now, Style::Plain)),
                    );
                }
            }
            if tf.updated.is_some() {
                rec.updated = now;
            }
        }
        let read = |name: Option<&str>| {
            name.and_then(|n| body.attributes.get(n))
                .and_then(Value::as_str)
                .and_then(time::parse_stored)
        };
        if let Some(c) = read(tf.created) {
            rec.created = c;
        }
        if let Some(u) = read(tf.updated) {
            rec.updated = u;
        } else if tf.updated.is_none() {
            rec.updated = rec.created;
        }
        rec.body = Some(Box::new(body));
        self.submit(ci, slot, Op::Put(rec));
        Ok(())
    }

    /// The union of every revision's attributes of a generated record, plus
    /// the filter-only values and relationship data it needs to keep.
    fn materialize(&self, ci: usize, slot: u32, rec: &Record) -> Body {
        let ctx = self.ctx(ci, slot, rec);
        let mut body = Body {
            from_generator: true,
            ..Body::default()
        };
        let mut rels = Map::new();
        for r in 0..klaviyo_spec::revisions().len() {
            let Some(tpl) = template::for_revision(r, self.cols[ci].path) else {
                continue;
            };
            for a in &tpl.attrs {
                if body.attributes.contains_key(&*a.name) {
                    continue;
                }
                let mut buf = Vec::new();
                Renderer::new(&ctx).write_attr(&mut buf, a);
                body.attributes.insert(
                    a.name.to_string(),
                    serde_json::from_slice(&buf).unwrap_or(Value::Null),
                );
            }
            for rel in &tpl.rels {
                if let Some(data) = semantic::relationship_data(&ctx, &rel.name) {
                    rels.insert(rel.name.to_string(), serde_json::json!({ "data": data }));
                }
            }
        }
        for h in semantic::hidden_fields(self.cols[ci].kind) {
            if let Some(g) = semantic::attr(&ctx, h, child(ctx.base, h)) {
                body.hidden.insert((*h).to_owned(), g.to_json());
            }
        }
        if !rels.is_empty() {
            body.relationships = Some(rels);
        }
        body
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

/// A record as [`Store::insert`] takes it, taken apart.
struct GivenRecord {
    id: Option<String>,
    attributes: Map<String, Value>,
    relationships: Option<Map<String, Value>>,
    hidden: Map<String, Value>,
}

impl GivenRecord {
    /// A resource object (`{"id"?, "attributes", "relationships"?,
    /// "filter_only"?}`) or a bare attributes object.
    fn from_json(record: Value) -> Result<GivenRecord, StoreError> {
        let Value::Object(mut obj) = record else {
            return Err(StoreError::InvalidRecord(
                "a record must be a JSON object".into(),
            ));
        };
        if !obj.contains_key("attributes") {
            return Ok(GivenRecord {
                id: None,
                attributes: obj,
                relationships: None,
                hidden: Map::new(),
            });
        }
        let attributes = match obj.remove("attributes") {
            Some(Value::Object(m)) => m,
            Some(Value::Null) | None => Map::new(),
            Some(_) => {
                return Err(StoreError::InvalidRecord(
                    "attributes must be an object".into(),
                ));
            }
        };
        let id = match obj.remove("id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            Some(Value::Null) | None => None,
            Some(_) => return Err(StoreError::InvalidRecord("id must be a string".into())),
        };
        let object = |v: Option<Value>| match v {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        Ok(GivenRecord {
            id,
            attributes,
            relationships: object(obj.remove("relationships")),
            hidden: object(obj.remove("filter_only")).unwrap_or_default(),
        })
    }
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

impl CollData {
    /// `n` generated records of the collection at `path`: a year of
    /// timestamps ending at the anchor, and ids derived from the slots.
    fn generate(path: &'static str, kind: Kind, n: usize, cfg: &StoreConfig<'_>) -> CollData {
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
    pub fn id_at(&self, slot: u32) -> Cow<'_, str> {
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

    pub fn slot_of(&self, id: &str) -> Option<u32> {
        if let Some(&s) = self.id_map.get(&fnv(id))
            && self.id_at(s) == id
        {
            return Some(s);
        }
        self.id_overflow.get(id).copied()
    }

    fn map_id(&mut self, id: &str, slot: u32) {
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

    fn unmap_id(&mut self, id: &str, slot: u32) {
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
