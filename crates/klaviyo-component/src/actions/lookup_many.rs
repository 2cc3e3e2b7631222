//! "Lookup Objects (plural)": the records of a list endpoint that match the
//! conditions mapped to the input, built from the filter fields and
//! operators the revision declares for that endpoint (and nothing else),
//! emitted one by one, in pages, or all at once; never more than the
//! maximum, and never a part of the result silently.

use std::collections::HashSet;

use component_sdk::{Config, MAX_MESSAGE_BYTES, MetaModel, SelectModel, Sink};
use klaviyo_spec::{Collection, RevisionSpec};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::action::{Action, Run, emit_raw};
use super::body::Body;
use crate::Error;
use crate::catalog::{self, Purpose};
use crate::client::Cursor;
use crate::conditions::{conditions, input_schema};
use crate::emit::{self, EmitBehavior, Emitter};
use crate::fields;
use crate::labels::humanize;
use crate::revision::Revision;

/// The largest "Page Size".
pub(crate) const MAX_PAGE_SIZE: u64 = 1_000;
/// The largest result set when "Maximum number of results" is empty.
pub(crate) const DEFAULT_MAX_RESULTS: u64 = 1_000;
/// The largest result set the action holds at once.
pub(crate) const MAX_MAX_RESULTS: u64 = 10_000;

pub(crate) struct LookupObjects;

/// What to list and how to emit it, from the step's fields, checked
/// against the revision.
struct Listing {
    key: &'static str,
    collection: &'static Collection,
    sort: Option<&'static str>,
    emit: EmitBehavior,
    max: usize,
}

impl Listing {
    fn read(cfg: &Config, spec: &'static RevisionSpec) -> Result<Listing, Error> {
        let resource = catalog::chosen(cfg, spec, Purpose::LookupMany)?;
        let collection = resource
            .list
            .ok_or_else(|| Error::internal("a Lookup Objects type without a list"))?;
        let sort = match cfg.choice(fields::SORT, collection.sort) {
            Ok(None) => None,
            Ok(Some(chosen)) => collection.sort.iter().copied().find(|s| *s == chosen),
            Err(_) if collection.sort.is_empty() => {
                return Err(Error::config(format!(
                    "\"{}\": Klaviyo's revision {} cannot sort {}; leave it empty",
                    fields::SORT.label,
                    spec.revision,
                    humanize(resource.key)
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let emit = EmitBehavior::read(
            cfg,
            emit::INDIVIDUALLY_PAGES_OR_ALL,
            fields::LOOKUP_PAGE_SIZE,
            1..=MAX_PAGE_SIZE,
        )?;
        let max = cfg
            .integer(fields::MAX_RESULTS, 1..=MAX_MAX_RESULTS)?
            .unwrap_or(DEFAULT_MAX_RESULTS) as usize;
        Ok(Listing {
            key: resource.key,
            collection,
            sort,
            emit,
            max,
        })
    }
}

pub(crate) fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::LookupMany)
}

/// `getSortValues`: the sort values of the chosen type's list endpoint.
pub(crate) fn sort_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::LookupMany)?;
    Ok(resource
        .list
        .map_or(&[][..], |c| c.sort)
        .iter()
        .map(|s| (*s, sort_label(s)))
        .collect())
}

/// `-updated` → `Updated (descending)`.
fn sort_label(value: &str) -> String {
    match value.strip_prefix('-') {
        Some(field) => format!("{} (descending)", humanize(field)),
        None => format!("{} (ascending)", humanize(value)),
    }
}

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let listing = Listing::read(cfg, spec)?;
    let record = spec
        .resource_schema(listing.collection.path)
        .map(|mut s| {
            s["title"] = Value::String(humanize(listing.key));
            s
        })
        .unwrap_or_else(|| json!({"type": "object"}));
    Ok(MetaModel {
        input: input_schema(listing.collection, "Lookup Objects conditions"),
        output: listing.emit.output_schema(record),
    })
}

impl Action for LookupObjects {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let spec = run.spec;
        let listing = Listing::read(&run.cfg, spec)?;
        let body = Body::read(&run.msg, "the conditions, one object per field")?;
        let conditions = conditions(
            body.members(),
            listing.collection,
            &run.client.revision().named(),
        )?;
        let collection = listing.collection;
        let text = conditions.render();
        let size = collection.page_size.map(|p| {
            let wanted = (listing.max as u64 + 1)
                .min(u64::from(p.max))
                .max(u64::from(p.min));
            wanted.to_string()
        });
        let mut query: Vec<(&str, &str)> = Vec::new();
        if !conditions.is_empty() {
            query.push(("filter", &text));
        }
        if let Some(sort) = listing.sort {
            query.push(("sort", sort));
        }
        if let Some(size) = &size {
            query.push(("page[size]", size));
        }
        tracing::info!(
            "\"Lookup Objects\" action started: {} where {}",
            collection.path,
            if text.is_empty() {
                "(no conditions)"
            } else {
                &text
            }
        );
        let mut records: Vec<Box<RawValue>> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut repeated = 0usize;
        let first = run.client.url(collection.path, &query);
        let mut cursor = Cursor::new(collection.path, &first);
        let mut next = Some(first);
        while let Some(url) = next {
            // links.next, verbatim: it carries the filter, sort and page size.
            let page = run.client.get_page(&url).await?;
            let ids: Vec<Option<String>> = page.records.iter().map(|r| record_id(r)).collect();
            let ends = match (ids.first(), ids.last()) {
                (Some(Some(a)), Some(Some(b))) => Some((a.as_str(), b.as_str())),
                _ => None,
            };
            next = cursor.next(ends, page.next.as_ref())?;
            for (id, record) in ids.into_iter().zip(page.records) {
                // A record that moved between pages while they were read comes
                // twice: it is one record.
                if id.is_some_and(|id| !seen.insert(id)) {
                    repeated += 1;
                } else {
                    records.push(record);
                }
            }
            if records.len() > listing.max {
                return Err(Error::config(format!(
                    "Lookup Objects found more than {} {} matching the conditions and emits none of them rather than a part: raise \"{}\" (up to {MAX_MAX_RESULTS}) or narrow the conditions",
                    listing.max,
                    humanize(listing.key).to_lowercase(),
                    fields::MAX_RESULTS.label
                )));
            }
        }
        if repeated > 0 {
            tracing::warn!(
                "Klaviyo's pages brought {repeated} record(s) a second time (they changed while the pages were read); each is emitted once"
            );
        }
        tracing::info!(
            "Lookup Objects found {} record(s) in {} request(s)",
            records.len(),
            run.client.requests_sent()
        );
        too_large(&records, listing.emit)?;
        let empty = records.is_empty();
        let mut emitter = Emitter::new(out, listing.emit);
        for record in records {
            if emitter.push(record)? {
                emitter.flush()?;
            }
        }
        emitter.flush()?;
        // Pages say "nothing matched" with an empty one; records one by one
        // say it with no message.
        if empty && listing.emit != EmitBehavior::Individually {
            emit_raw(out, emit::results(&[])?)?;
        }
        Ok(())
    }
}

/// An error, before anything is emitted, when a message of `records` as
/// `emit` groups them would be larger than the platform carries.
fn too_large(records: &[Box<RawValue>], emit: EmitBehavior) -> Result<(), Error> {
    let Some(largest) = emit::too_large(records, emit) else {
        return Ok(());
    };
    let fix = match emit {
        EmitBehavior::Individually => "a record that large cannot pass through the platform",
        EmitBehavior::Page(_) => "lower \"Page Size\"",
        EmitBehavior::All => "choose \"Emit behavior\" Emit page, or narrow the conditions",
    };
    Err(Error::config(format!(
        "Lookup Objects would emit a message of {:.1} MB, more than the platform carries in one ({:.1} MB); nothing was emitted: {fix}",
        largest as f64 / 1e6,
        MAX_MESSAGE_BYTES as f64 / 1e6
    )))
}

/// A record's `id`, as text; `None` when it has none.
fn record_id(record: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Identified {
        #[serde(default)]
        id: Option<Value>,
    }
    match serde_json::from_str::<Identified>(record.get()).ok()?.id? {
        Value::String(id) => Some(id),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(value: Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    fn spec(revision: &str) -> &'static RevisionSpec {
        klaviyo_spec::for_revision(revision)
    }

    #[test]
    fn a_message_larger_than_the_platform_carries_is_refused_before_any_is_emitted() {
        let record =
            RawValue::from_string(format!("{{\"id\":\"{}\"}}", "x".repeat(100_000))).expect("json");
        let records: Vec<Box<RawValue>> = (0..80).map(|_| record.clone()).collect();
        let all = too_large(&records, EmitBehavior::All).expect_err("8 MB at once");
        assert!(
            all.to_string()
                .starts_with("Lookup Objects would emit a message of 8.0 MB"),
            "{all}"
        );
        assert_eq!(all.kind(), component_sdk::ErrorKind::Config);
        assert!(too_large(&records, EmitBehavior::Page(10)).is_ok());
        assert!(too_large(&records, EmitBehavior::Page(100)).is_err());
        assert!(too_large(&records, EmitBehavior::Individually).is_ok());
    }

    #[test]
    fn settings() {
        let read = |value: Value| {
            Listing::read(&cfg(value), spec("2026-10-15")).map(|s| (s.emit, s.max, s.sort))
        };
        assert_eq!(
            read(json!({"objectType": "profiles"})).ok(),
            Some((EmitBehavior::Individually, 1000, None))
        );
        assert_eq!(
            read(json!({"objectType": "profiles", "emitBehavior": "fetchPage", "pageSize": "25", "maxResults": "50", "sort": "-updated"})).ok(),
            Some((EmitBehavior::Page(25), 50, Some("-updated")))
        );
        assert_eq!(
            read(json!({"objectType": "profiles", "emitBehavior": "fetchAll"})).ok(),
            Some((EmitBehavior::All, 1000, None))
        );
        let err =
            read(json!({"objectType": "profiles", "maxResults": "20000"})).expect_err("too many");
        assert_eq!(
            err.to_string(),
            "\"Maximum number of results\" must be a whole number between 1 and 10000, got \"20000\""
        );
        let err =
            read(json!({"objectType": "profiles", "sort": "nope"})).expect_err("unknown sort");
        assert!(
            err.to_string()
                .starts_with("\"Sort\" must be one of \"created\""),
            "{err}"
        );
    }

    #[test]
    fn sort_labels() {
        assert_eq!(sort_label("-updated_at"), "Updated At (descending)");
        assert_eq!(sort_label("created"), "Created (ascending)");
    }
}
