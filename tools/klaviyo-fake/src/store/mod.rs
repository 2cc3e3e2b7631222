//! The stand-in's data: every collection's records, id lookup, sorted
//! indexes, list membership, and writes that become visible only after a
//! delay. [`Store`] and what builds it live here; its behaviour is split by
//! what each part holds:
//!
//! - `collection`: one collection's records and the map from ids to slots;
//! - `visibility`: the queue of writes not yet visible, and the newest
//!   state of a record (visible or not);
//! - `writes`: inserting, changing and deleting records;
//! - `fields`: a record's field values as filters and sorting see them;
//! - `indexes`: the sorted and identifier indexes built from those values;
//! - `membership`: which profiles are on which list, and since when;
//! - `render`: records as JSON:API resource objects.
//!
//! [`Store`] is also what a request hook receives, so tests can change data
//! between two pages of a client's paging deterministically.

mod collection;
mod fields;
mod indexes;
mod membership;
mod render;
mod visibility;
mod writes;

use std::collections::{HashMap, VecDeque};

use crate::data::Kind;
use crate::time::{self, Micros};

pub(crate) use collection::CollData;
pub(crate) use render::{RenderOpts, percent_path, revision_index};
use visibility::Pending;

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
pub(crate) fn normalize_path(p: &str) -> String {
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
}
