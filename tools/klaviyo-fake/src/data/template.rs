//! A revision's resource shape, compiled from klaviyo-spec's JSON schema, and
//! the generic value generator that fills any attribute no hand-written
//! generator ([`super::semantic`]) knows about.

use serde_json::Value;

use super::seed::{child, mix, pick, unit};
use super::semantic::{self, Ctx};
use super::{Gen, Val, words, write_str};
use crate::time::{MICROS_PER_SEC, Micros, Style};

/// One node of an attribute's shape.
#[derive(Debug)]
pub(crate) enum Node {
    Object(Vec<(Box<str>, Node)>),
    /// `type: object` without declared properties (free-form, e.g. profile
    /// `properties`).
    FreeObject,
    Str {
        date_time: bool,
        uri: bool,
        choices: Vec<Box<str>>,
    },
    Int,
    Num,
    Bool,
    Array(Box<Node>),
    /// No single declared type (e.g. `oneOf`).
    Untyped,
}

/// One top-level attribute.
#[derive(Debug)]
pub(crate) struct Attr {
    pub name: Box<str>,
    pub node: Node,
    pub nullable: bool,
}

/// One relationship of the resource.
#[derive(Debug)]
pub(crate) struct Rel {
    pub name: Box<str>,
}

/// The shape of one collection's resource in one revision.
#[derive(Debug)]
pub(crate) struct Template {
    pub attrs: Vec<Attr>,
    pub rels: Vec<Rel>,
}

impl Template {
    /// Compiles the revision's schema; falls back on the table's attribute
    /// list when the schema is missing.
    pub(crate) fn compile(schema: Option<&Value>, coll: &klaviyo_spec::Collection) -> Template {
        let attr_props = schema
            .and_then(|s| s.pointer("/properties/attributes/properties"))
            .and_then(Value::as_object);
        let mut attrs = Vec::new();
        for a in coll.attributes {
            let node = match attr_props.and_then(|p| p.get(a.name)) {
                Some(s) => compile_node(s),
                None => node_for_kind(a.kind),
            };
            attrs.push(Attr {
                name: a.name.into(),
                node,
                nullable: a.nullable,
            });
        }
        // Attributes the schema has but the table does not list (should not
        // happen; kept so that nothing documented goes missing).
        if let Some(props) = attr_props {
            for (name, s) in props {
                if !attrs.iter().any(|a| &*a.name == name) {
                    attrs.push(Attr {
                        name: name.as_str().into(),
                        node: compile_node(s),
                        nullable: true,
                    });
                }
            }
        }
        let mut rels = Vec::new();
        if let Some(props) = schema
            .and_then(|s| s.pointer("/properties/relationships/properties"))
            .and_then(Value::as_object)
        {
            for name in props.keys() {
                rels.push(Rel {
                    name: name.as_str().into(),
                });
            }
        }
        Template { attrs, rels }
    }

    pub(crate) fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| &*a.name == name)
    }
}

fn node_for_kind(kind: klaviyo_spec::AttributeKind) -> Node {
    use klaviyo_spec::AttributeKind as K;
    match kind {
        K::DateTime => Node::Str {
            date_time: true,
            uri: false,
            choices: Vec::new(),
        },
        K::String => Node::Str {
            date_time: false,
            uri: false,
            choices: Vec::new(),
        },
        K::Integer => Node::Int,
        K::Number => Node::Num,
        K::Boolean => Node::Bool,
        K::Object => Node::FreeObject,
        K::Array => Node::Array(Box::new(Node::Str {
            date_time: false,
            uri: false,
            choices: Vec::new(),
        })),
        K::Any => Node::Untyped,
    }
}

fn compile_node(s: &Value) -> Node {
    let ty = s.get("type").and_then(Value::as_str);
    match ty {
        Some("object") | None if s.get("properties").is_some() => {
            let props = s.get("properties").and_then(Value::as_object);
            Node::Object(
                props
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.as_str().into(), compile_node(v)))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        Some("object") => Node::FreeObject,
        Some("string") => Node::Str {
            date_time: s.get("format").and_then(Value::as_str) == Some("date-time"),
            uri: s.get("format").and_then(Value::as_str) == Some("uri"),
            choices: s
                .get("enum")
                .and_then(Value::as_array)
                .map(|e| e.iter().filter_map(Value::as_str).map(Into::into).collect())
                .unwrap_or_default(),
        },
        Some("integer") => Node::Int,
        Some("number") => Node::Num,
        Some("boolean") => Node::Bool,
        Some("array") => Node::Array(Box::new(
            s.get("items").map(compile_node).unwrap_or(Node::Untyped),
        )),
        _ => Node::Untyped,
    }
}

/// Renders attributes, walking the template and asking the hand-written
/// generator first at each path.
pub(crate) struct Renderer<'a> {
    pub ctx: &'a Ctx<'a>,
    /// The dotted path of the node being written (reused buffer).
    path: String,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(ctx: &'a Ctx<'a>) -> Self {
        Renderer {
            ctx,
            path: String::with_capacity(64),
        }
    }

    /// Writes the value of top-level attribute `a`.
    pub(crate) fn write_attr(&mut self, out: &mut Vec<u8>, a: &Attr) {
        self.path.clear();
        self.path.push_str(&a.name);
        let h = child(self.ctx.base, &a.name);
        if let Some(g) = semantic::attr(self.ctx, &self.path, h) {
            g.write(out);
            return;
        }
        if a.nullable
            && !matches!(a.node, Node::Object(_))
            && semantic::nullable_gap(self.ctx, &a.name, h)
        {
            out.extend_from_slice(b"null");
            return;
        }
        self.write_shape(out, &a.node, &a.name, h);
    }

    fn write_node(&mut self, out: &mut Vec<u8>, node: &Node, name: &str, h: u64) {
        if let Some(g) = semantic::attr(self.ctx, &self.path, h) {
            g.write(out);
            return;
        }
        self.write_shape(out, node, name, h);
    }

    fn write_shape(&mut self, out: &mut Vec<u8>, node: &Node, name: &str, h: u64) {
        match node {
            Node::Object(props) => {
                out.push(b'{');
                for (i, (k, n)) in props.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    let len = self.path.len();
                    self.path.push('.');
                    self.path.push_str(k);
                    self.write_node(out, n, k, child(h, k));
                    self.path.truncate(len);
                }
                out.push(b'}');
            }
            Node::Array(item) => {
                let n = if matches!(**item, Node::Object(_)) {
                    pick(h, 2)
                } else {
                    1 + pick(h, 2)
                };
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_node(out, item, name, mix(h ^ i as u64));
                }
                out.push(b']');
            }
            leaf => leaf_value(self.ctx, leaf, name, h).write(out),
        }
    }
}

/// The value at a dotted `path` of the generated record, as filters see it.
pub(crate) fn lookup(ctx: &Ctx<'_>, tpl: Option<&Template>, path: &str) -> Val {
    // The hand-written generator may know paths the template does not show
    // (e.g. `messages.channel`), or own a whole subtree.
    let mut prefix_end = 0;
    let mut h = ctx.base;
    let mut node: Option<&Node> = None;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        h = child(h, seg);
        prefix_end += if i == 0 { seg.len() } else { seg.len() + 1 };
        let prefix = &path[..prefix_end];
        if let Some(g) = semantic::attr(ctx, prefix, h) {
            if i + 1 == segs.len() {
                return g.to_val();
            }
            let rest = &path[prefix_end + 1..];
            return match g.to_json() {
                Value::Object(m) => super::json_path(&m, rest)
                    .map(Val::from_json)
                    .unwrap_or(Val::Null),
                _ => Val::Null,
            };
        }
        node = match (i, node) {
            (0, _) => match tpl.and_then(|t| t.attr(seg)) {
                Some(a) => {
                    if a.nullable
                        && !matches!(a.node, Node::Object(_))
                        && semantic::nullable_gap(ctx, seg, h)
                    {
                        return Val::Null;
                    }
                    Some(&a.node)
                }
                None => None,
            },
            (_, Some(Node::Object(props))) => {
                props.iter().find(|(k, _)| &**k == *seg).map(|(_, n)| n)
            }
            _ => None,
        };
        if node.is_none() {
            // Keep asking the hand-written generator for deeper paths.
            continue;
        }
    }
    match node {
        Some(Node::Object(_)) | Some(Node::Array(_)) | None => Val::Null,
        Some(leaf) => leaf_value(ctx, leaf, segs.last().copied().unwrap_or(""), h).to_val(),
    }
}

/// A plausible value for a leaf the hand-written generators leave alone,
/// chosen from its name, format and declared choices.
pub(crate) fn leaf_value(ctx: &Ctx<'_>, node: &Node, name: &str, h: u64) -> Gen {
    match node {
        Node::Str {
            date_time,
            uri,
            choices,
        } => {
            if !choices.is_empty() {
                return Gen::Str(choices[pick(h, choices.len())].to_string());
            }
            if *date_time {
                return Gen::Time(instant_for(ctx, name, h), Style::Plain);
            }
            if *uri || name.ends_with("url") {
                return Gen::Str(format!(
                    "https://cdn.example.com/{}/{}",
                    name.replace('_', "-"),
                    h % 100_000
                ));
            }
            Gen::Str(string_for(name, h))
        }
        Node::Int => Gen::Int(if name.contains("count") || name.contains("quantity") {
            (h % 5000) as i64
        } else {
            (h % 100) as i64
        }),
        Node::Num => Gen::Num(
            if name.contains("probability") || name.contains("percentage") {
                ((h % 1000) as f64) / 1000.0
            } else if name.contains("number_of") {
                (h % 12) as f64
            } else {
                ((h % 100_000) as f64) / 100.0
            },
        ),
        Node::Bool => Gen::Bool(h & 1 == 1),
        Node::FreeObject => Gen::Json(Value::Object(Default::default())),
        Node::Untyped => match name {
            "latitude" | "longitude" => Gen::Num(((h % 18_000) as f64) / 100.0 - 90.0),
            _ => Gen::Null,
        },
        Node::Object(_) | Node::Array(_) => Gen::Null,
    }
}

/// An instant for a date-time attribute named `name`.
fn instant_for(ctx: &Ctx<'_>, name: &str, h: u64) -> Micros {
    let (c, u) = (ctx.rec.created, ctx.rec.updated);
    if name.starts_with("created") || name == "datetime" || name == "joined_group_at" {
        c
    } else if name.starts_with("updated") || name == "last_updated" {
        u
    } else if name.starts_with("expires") || name.starts_with("expected") {
        // Future instants exist (coupon expiry, predictions); they are values,
        // never filter bounds.
        super::seed::whole(ctx.anchor + (1 + (h % 180) as i64) * 86_400 * MICROS_PER_SEC)
    } else {
        let span = (u - c).max(0) as f64;
        super::seed::whole(c + (unit(h) * span) as Micros)
    }
}

fn string_for(name: &str, h: u64) -> String {
    let w = |h: u64| words::LOREM[pick(h, words::LOREM.len())];
    match name {
        "email" => format!("{}@example.com", w(h)),
        "name" | "title" | "label" => format!(
            "{} {}",
            cap(words::ADJECTIVES[pick(h, words::ADJECTIVES.len())]),
            cap(w(mix(h)))
        ),
        "status" => "active".to_owned(),
        "consent" => ["SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED"][pick(h, 3)].to_owned(),
        "method" => ["PREFERENCE_PAGE", "API", "FORM", "IMPORT"][pick(h, 4)].to_owned(),
        "reason" => [
            "USER_SUPPRESSED",
            "UNSUBSCRIBE",
            "INVALID_EMAIL",
            "HARD_BOUNCE",
        ][pick(h, 4)]
        .to_owned(),
        "currency" | "preferred_currency" => "USD".to_owned(),
        "timezone" => words::PLACES[pick(h, words::PLACES.len())].4.to_owned(),
        "locale" => words::LOCALES[pick(h, words::LOCALES.len())].to_owned(),
        "country" => words::PLACES[pick(h, words::PLACES.len())].2.to_owned(),
        "city" => words::PLACES[pick(h, words::PLACES.len())].0.to_owned(),
        "phone_number" => format!("+1555{:07}", h % 10_000_000),
        n if n == "id" || n.ends_with("_id") => {
            super::seed::make_id(super::seed::IdShape::Short, 0, h, 0, "")
        }
        n if n.contains("html") => {
            format!("<html><body><p>{} {}</p></body></html>", w(h), w(mix(h)))
        }
        _ => format!("{} {}", w(h), w(mix(h))),
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Compiled templates, shared by every stand-in in the process: they depend
/// only on klaviyo-spec's static table.
pub(crate) fn for_revision(rev_idx: usize, path: &'static str) -> Option<std::sync::Arc<Template>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static SCHEMAS: OnceLock<Vec<serde_json::Map<String, Value>>> = OnceLock::new();
    type Cache = Mutex<HashMap<(usize, &'static str), Arc<Template>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let rev = klaviyo_spec::revisions().get(rev_idx)?;
    let coll = rev.collection(path)?;
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = cache.get(&(rev_idx, path)) {
        return Some(t.clone());
    }
    let schemas = SCHEMAS.get_or_init(|| {
        klaviyo_spec::revisions()
            .iter()
            .map(|r| serde_json::from_str(r.resource_schemas_json).unwrap_or_default())
            .collect()
    });
    let t = Arc::new(Template::compile(
        schemas.get(rev_idx).and_then(|m| m.get(path)),
        coll,
    ));
    cache.insert((rev_idx, path), t.clone());
    Some(t)
}
