//! The stand-in's records: compact storage, deterministic generation and
//! rendering as JSON:API resources per revision.
//!
//! A generated record stores only its id and its two timestamps; every other
//! attribute is derived on demand from the seed, the record's slot and the
//! attribute's path (see [`template`] and [`semantic`]), so a million profiles
//! cost tens of bytes each. A record that a test or a client changes is
//! materialised into a JSON [`Body`] holding the union of the attributes of
//! every revision's shape; each revision then serves its own attributes.

pub(crate) mod seed;
pub(crate) mod semantic;
pub(crate) mod template;
pub(crate) mod words;

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::time::{self, Micros, Style};
use seed::IdShape;

/// A field's value, as filters and sorting see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Time(Micros),
    List(Vec<Val>),
}

impl Val {
    /// The value of a JSON attribute; strings that are timestamps compare as
    /// instants.
    pub(crate) fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => match time::parse_stored(s) {
                Some(t) if s.len() >= 19 => Val::Time(t),
                _ => Val::Str(s.clone()),
            },
            Value::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            Value::Object(_) => Val::Str(v.to_string()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(_) => 1,
            Val::Num(_) => 2,
            Val::Time(_) => 3,
            Val::Str(_) => 4,
            Val::List(_) => 5,
        }
    }

    /// A total order: nulls first, then by type, then by value. Sorted
    /// indexes rely on it being total.
    pub(crate) fn total_cmp(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Num(a), Val::Num(b)) => a.total_cmp(b),
            (Val::Time(a), Val::Time(b)) => a.cmp(b),
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::List(a), Val::List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.total_cmp(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A generated value, written straight into a response.
#[derive(Debug, Clone)]
pub(crate) enum Gen {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Static(&'static str),
    Time(Micros, Style),
    Json(Value),
    /// Already-serialised JSON (see [`Obj`]), for hot objects.
    Raw(Vec<u8>),
}

impl Gen {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Gen::Null => out.extend_from_slice(b"null"),
            Gen::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Gen::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Gen::Num(f) => write_json(out, &Value::from(*f)),
            Gen::Str(s) => write_str(out, s),
            Gen::Static(s) => write_str(out, s),
            Gen::Time(t, style) => {
                out.push(b'"');
                time::write_ts(out, *t, *style);
                out.push(b'"');
            }
            Gen::Json(v) => write_json(out, v),
            Gen::Raw(b) => out.extend_from_slice(b),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        match self {
            Gen::Null => Value::Null,
            Gen::Bool(b) => Value::Bool(*b),
            Gen::Int(i) => Value::from(*i),
            Gen::Num(f) => Value::from(*f),
            Gen::Str(s) => Value::String(s.clone()),
            Gen::Static(s) => Value::String((*s).to_owned()),
            Gen::Time(t, style) => Value::String(time::format_ts(*t, *style)),
            Gen::Json(v) => v.clone(),
            Gen::Raw(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        }
    }

    pub(crate) fn to_val(&self) -> Val {
        match self {
            Gen::Null => Val::Null,
            Gen::Bool(b) => Val::Bool(*b),
            Gen::Int(i) => Val::Num(*i as f64),
            Gen::Num(f) => Val::Num(*f),
            Gen::Str(s) => Val::Str(s.clone()),
            Gen::Static(s) => Val::Str((*s).to_owned()),
            Gen::Time(t, _) => Val::Time(*t),
            Gen::Json(v) => Val::from_json(v),
            Gen::Raw(_) => Val::from_json(&self.to_json()),
        }
    }
}

/// Writes a JSON object member by member, without building a `Value`.
pub(crate) struct Obj {
    buf: Vec<u8>,
}

impl Obj {
    pub(crate) fn new() -> Obj {
        let mut buf = Vec::with_capacity(256);
        buf.push(b'{');
        Obj { buf }
    }

    fn key(&mut self, k: &str) {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        write_str(&mut self.buf, k);
        self.buf.push(b':');
    }

    pub(crate) fn str(mut self, k: &str, v: &str) -> Obj {
        self.key(k);
        write_str(&mut self.buf, v);
        self
    }

    pub(crate) fn opt_str(mut self, k: &str, v: Option<&str>) -> Obj {
        self.key(k);
        match v {
            Some(v) => write_str(&mut self.buf, v),
            None => self.buf.extend_from_slice(b"null"),
        }
        self
    }

    pub(crate) fn num(mut self, k: &str, v: f64) -> Obj {
        self.key(k);
        write_json(&mut self.buf, &Value::from(v));
        self
    }

    pub(crate) fn raw(mut self, k: &str, json: &[u8]) -> Obj {
        self.key(k);
        self.buf.extend_from_slice(json);
        self
    }

    pub(crate) fn done(mut self) -> Gen {
        self.buf.push(b'}');
        Gen::Raw(self.buf)
    }
}

/// Writes `s` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping is the reference; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes any JSON value.
pub(crate) fn write_json(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// What the stand-in knows about a collection beyond the spec table: which
/// hand-written generator fills it and how its ids look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Profiles,
    Events,
    Metrics,
    Lists,
    Segments,
    Campaigns,
    Flows,
    Templates,
    UniversalContent,
    Images,
    Forms,
    Reviews,
    WebFeeds,
    CatalogItems,
    CatalogVariants,
    CatalogCategories,
    Coupons,
    CouponCodes,
    Tags,
    TagGroups,
    Accounts,
    Generic,
}

impl Kind {
    pub(crate) fn for_path(path: &str) -> Kind {
        match path {
            "/profiles" => Kind::Profiles,
            "/events" => Kind::Events,
            "/metrics" => Kind::Metrics,
            "/lists" => Kind::Lists,
            "/segments" => Kind::Segments,
            "/campaigns" => Kind::Campaigns,
            "/flows" => Kind::Flows,
            "/templates" => Kind::Templates,
            "/template-universal-content" => Kind::UniversalContent,
            "/images" => Kind::Images,
            "/forms" => Kind::Forms,
            "/reviews" => Kind::Reviews,
            "/web-feeds" => Kind::WebFeeds,
            "/catalog-items" => Kind::CatalogItems,
            "/catalog-variants" => Kind::CatalogVariants,
            "/catalog-categories" => Kind::CatalogCategories,
            "/coupons" => Kind::Coupons,
            "/coupon-codes" => Kind::CouponCodes,
            "/tags" => Kind::Tags,
            "/tag-groups" => Kind::TagGroups,
            "/accounts" => Kind::Accounts,
            _ => Kind::Generic,
        }
    }

    pub(crate) fn id_shape(self, path: &str) -> IdShape {
        match self {
            Kind::Profiles | Kind::Campaigns | Kind::UniversalContent | Kind::WebFeeds => {
                IdShape::Ulid
            }
            Kind::Events => IdShape::Event,
            Kind::Metrics
            | Kind::Lists
            | Kind::Segments
            | Kind::Flows
            | Kind::Templates
            | Kind::Forms
            | Kind::Accounts => IdShape::Short,
            Kind::Images | Kind::Reviews => IdShape::Numeric,
            Kind::CatalogItems | Kind::CatalogVariants | Kind::CatalogCategories => {
                IdShape::Catalog
            }
            Kind::Tags | Kind::TagGroups => IdShape::Uuid,
            Kind::Coupons | Kind::CouponCodes => IdShape::Code,
            Kind::Generic if path.contains("metrics") => IdShape::Short,
            Kind::Generic => IdShape::Ulid,
        }
    }

    /// Whether records change after creation (events never do).
    pub(crate) fn mutable(self) -> bool {
        !matches!(self, Kind::Events)
    }

    /// Default number of records when the configuration does not say.
    pub(crate) fn default_size(self) -> usize {
        match self {
            Kind::Profiles => 500,
            Kind::Events => 1500,
            Kind::Metrics => 25,
            Kind::Lists | Kind::Segments => 30,
            Kind::Campaigns => 300,
            Kind::Flows => 60,
            Kind::Templates => 80,
            Kind::UniversalContent | Kind::Images | Kind::Forms => 40,
            Kind::Reviews => 200,
            Kind::WebFeeds => 8,
            Kind::CatalogItems => 300,
            Kind::CatalogVariants => 600,
            Kind::CatalogCategories => 20,
            Kind::Coupons => 10,
            Kind::CouponCodes => 200,
            Kind::Tags => 30,
            Kind::TagGroups => 5,
            Kind::Accounts => 1,
            Kind::Generic => 12,
        }
    }
}

/// One stored record. Its attributes are either generated (no body) or a
/// materialised JSON body. Its id lives beside it (see `store::CollData`):
/// generated ids are derived from the slot rather than stored.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The created-like instant (`created`, `created_at`, events' `datetime`).
    pub created: Micros,
    /// The updated-like instant (`updated`, `updated_at`); equals `created`
    /// for resources without one.
    pub updated: Micros,
    pub body: Option<Box<Body>>,
}

/// A materialised record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    /// The union of the attributes of every revision's shape.
    pub attributes: Map<String, Value>,
    /// Relationships as given; `None` renders the generated ones.
    pub relationships: Option<Map<String, Value>>,
    /// Values that filters see but responses do not show, e.g. a campaign's
    /// `messages.channel` (which Klaviyo derives from the campaign's messages).
    pub hidden: Map<String, Value>,
    /// Whether the body was materialised from a generated record (and so
    /// may be completed from the generator for attributes it lacks).
    pub from_generator: bool,
}

/// Names of a collection's created-like and updated-like attributes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimeFields {
    pub created: Option<&'static str>,
    pub updated: Option<&'static str>,
}

impl TimeFields {
    /// Picks the fields from the attribute names a revision lists.
    pub(crate) fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> TimeFields {
        let mut tf = TimeFields::default();
        for n in names {
            match n {
                "created" => tf.created = Some("created"),
                "created_at" if tf.created.is_none() => tf.created = Some("created_at"),
                "datetime" if tf.created.is_none() => tf.created = Some("datetime"),
                "updated" => tf.updated = Some("updated"),
                "updated_at" if tf.updated.is_none() => tf.updated = Some("updated_at"),
                _ => {}
            }
        }
        tf
    }

    /// Whether `name` is one of the cached instants, and which.
    pub(crate) fn which(&self, name: &str) -> Option<Which> {
        if Some(name) == self.created {
            Some(Which::Created)
        } else if Some(name) == self.updated {
            Some(Which::Updated)
        } else {
            match name {
                "created" | "created_at" if self.created.is_some() => Some(Which::Created),
                "updated" | "updated_at" if self.updated.is_some() => Some(Which::Updated),
                _ => None,
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Created,
    Updated,
}

/// Attributes served only on request via `additional-fields[<type>]`.
pub(crate) fn additional_only(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "profile" => &["subscriptions", "predictive_analytics"],
        "template" => &["definition"],
        _ => &[],
    }
}

/// Follows a dotted path into a JSON object.
pub(crate) fn json_path<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}
