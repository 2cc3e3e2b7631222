//! Inserting, changing and deleting records, as the handle's data API and
//! the write endpoints do: timestamps set as Klaviyo sets them, fresh ids
//! of the collection's shape, and generated records materialised before
//! their first change.

use serde_json::{Map, Value};

use super::visibility::Op;
use super::{Store, StoreError};
use crate::data::seed::{self, child, make_id, mix};
use crate::data::semantic;
use crate::data::template::{self, Renderer};
use crate::data::{Body, Kind, Record};
use crate::time::{self, MICROS_PER_SEC, Micros, Style};

impl Store {
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
