//! Finding and reading Klaviyo's OpenAPI files, and resolving their `$ref`s
//! and `allOf`s into plain schemas.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::json::Json;

/// Schemas nested deeper than this (counted in `properties`/`items` steps
/// from the resource) are cut to `{}`. Counting nesting rather than `$ref`s
/// bounds the output the same way whether Klaviyo writes a sub-schema inline
/// or as a component.
pub(crate) const MAX_DEPTH: usize = 12;

/// How [`Spec::flatten_within`] ends at its depth limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtLimit {
    /// The schema there is `{}` (anything).
    Cut,
    /// Resolving fails: the caller wants the whole schema.
    Fail,
}

/// One OpenAPI file.
pub(crate) struct SpecFile {
    /// Path relative to the OpenAPI directory, with `/` separators, e.g.
    /// `2024-10-15/stable.json`.
    pub name: String,
    pub size: u64,
    /// `info.version`.
    pub revision: String,
    pub doc: Json,
}

/// `KLAVIYO_OPENAPI_DIR`, else `../shared/klaviyo-openapi` beside the
/// workspace.
pub(crate) fn openapi_dir(workspace_root: &Path) -> PathBuf {
    match std::env::var_os("KLAVIYO_OPENAPI_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root.join("../shared/klaviyo-openapi"),
    }
}

/// Every `stable.json` in `dir` and its immediate subdirectories, oldest
/// revision first.
pub(crate) fn load_all(dir: &Path) -> Result<Vec<SpecFile>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "the OpenAPI directory {} does not exist (set KLAVIYO_OPENAPI_DIR)",
            dir.display()
        ));
    }
    let mut names = Vec::new();
    if dir.join("stable.json").is_file() {
        names.push("stable.json".to_owned());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if entry.path().join("stable.json").is_file() {
            let sub = entry.file_name().into_string().map_err(|name| {
                format!("{}: directory name {name:?} is not UTF-8", dir.display())
            })?;
            names.push(format!("{sub}/stable.json"));
        }
    }
    if names.is_empty() {
        return Err(format!(
            "{}: no stable.json in the directory or its subdirectories",
            dir.display()
        ));
    }

    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc = Json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let revision = doc
            .get("info")
            .and_then(|info| info.get("version"))
            .and_then(Json::as_str)
            .ok_or_else(|| format!("{}: no info.version", path.display()))?
            .to_owned();
        // `klaviyo_spec::for_revision` orders revisions as strings, and the
        // revision names the schema file.
        if !is_date(&revision) {
            return Err(format!(
                "{}: info.version {revision:?} is not a YYYY-MM-DD date",
                path.display()
            ));
        }
        files.push(SpecFile {
            name,
            size: text.len() as u64,
            revision,
            doc,
        });
    }
    files.sort_by(|a, b| a.revision.cmp(&b.revision));
    for pair in files.windows(2) {
        if pair[0].revision == pair[1].revision {
            return Err(format!(
                "{} and {} both have info.version {}",
                pair[0].name, pair[1].name, pair[0].revision
            ));
        }
    }
    Ok(files)
}

fn is_date(s: &str) -> bool {
    s.len() == 10
        && s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        })
}

/// An OpenAPI document with its components indexed for `$ref` lookups.
pub(crate) struct Spec<'a> {
    doc: &'a Json,
    components: HashMap<String, &'a Json>,
}

/// One schema contributing to a merged schema, with the `$ref`s followed to
/// reach it: a `$ref` already among them is a cycle.
#[derive(Clone)]
pub(crate) struct Part<'a> {
    node: &'a Json,
    via: Rc<Vec<&'a str>>,
}

impl<'a> Part<'a> {
    pub(crate) fn root(node: &'a Json) -> Part<'a> {
        Part {
            node,
            via: Rc::new(Vec::new()),
        }
    }
}

/// One level of a schema after `$ref`s and `allOf`s are merged: its own
/// keywords, and the parts that make up each property and the items, still
/// unresolved.
#[derive(Default)]
pub(crate) struct Level<'a> {
    /// Keywords other than `properties`, `items`, `required`, `$ref` and
    /// `allOf`; where parts disagree the first part wins, so that siblings of a
    /// `$ref` (`nullable`, `description`) override the referenced schema. Each
    /// keeps the `$ref`s followed to reach it, so that schemas inside it
    /// (`oneOf`, `additionalProperties`) can still be resolved with the cycle
    /// guard.
    pub keywords: Vec<(String, Part<'a>)>,
    pub properties: Vec<(String, Vec<Part<'a>>)>,
    pub items: Vec<Part<'a>>,
    pub required: Vec<String>,
}

impl<'a> Level<'a> {
    pub(crate) fn keyword(&self, name: &str) -> Option<&'a Json> {
        self.keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.node)
    }

    pub(crate) fn property(&self, name: &str) -> Option<&[Part<'a>]> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, parts)| parts.as_slice())
    }
}

impl<'a> Spec<'a> {
    pub(crate) fn new(doc: &'a Json) -> Spec<'a> {
        let mut components = HashMap::new();
        for (kind, members) in doc
            .get("components")
            .and_then(Json::as_object)
            .unwrap_or_default()
        {
            for (name, value) in members.as_object().unwrap_or_default() {
                components.insert(format!("#/components/{kind}/{name}"), value);
            }
        }
        Spec { doc, components }
    }

    /// The value `reference` (a local JSON pointer such as
    /// `#/components/schemas/Profile`) points at.
    pub(crate) fn lookup(&self, reference: &str) -> Result<&'a Json, String> {
        if let Some(node) = self.components.get(reference) {
            return Ok(node);
        }
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("$ref {reference:?} is not local to the file"))?;
        let mut node = self.doc;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Json::Object(_) => node.get(&token),
                Json::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("$ref {reference:?} points at nothing"))?;
        }
        Ok(node)
    }

    /// `node`, or what its `$ref` chain ends at (responses and parameters,
    /// whose `$ref`s have no siblings worth keeping).
    pub(crate) fn deref(&self, mut node: &'a Json) -> Result<&'a Json, String> {
        let mut seen = Vec::new();
        while let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            if seen.contains(&reference) {
                return Err(format!("$ref cycle through {reference:?}"));
            }
            seen.push(reference);
            node = self.lookup(reference)?;
        }
        Ok(node)
    }

    /// Merges `parts` (each with its `$ref`s and `allOf`s) into one level.
    pub(crate) fn level(&self, parts: &[Part<'a>]) -> Result<Level<'a>, String> {
        let mut level = Level::default();
        for part in parts {
            self.collect(part.clone(), &mut level)?;
        }
        Ok(level)
    }

    fn collect(&self, part: Part<'a>, level: &mut Level<'a>) -> Result<(), String> {
        let members = part.node.as_object().ok_or_else(|| {
            format!(
                "expected a schema object, found {}",
                part.node.to_sorted_string()
            )
        })?;
        for (key, value) in members {
            match key.as_str() {
                "$ref" | "allOf" => {}
                "properties" => {
                    for (name, child) in value.as_object().unwrap_or_default() {
                        let child = Part {
                            node: child,
                            via: Rc::clone(&part.via),
                        };
                        match level.properties.iter_mut().find(|(k, _)| k == name) {
                            Some((_, parts)) => parts.push(child),
                            None => level.properties.push((name.clone(), vec![child])),
                        }
                    }
                }
                "items" => level.items.push(Part {
                    node: value,
                    via: Rc::clone(&part.via),
                }),
                "required" => {
                    for name in value.as_array().unwrap_or_default() {
                        if let Some(name) = name.as_str()
                            && !level.required.iter().any(|r| r == name)
                        {
                            level.required.push(name.to_owned());
                        }
                    }
                }
                _ => {
                    if level.keyword(key).is_none() {
                        let value = Part {
                            node: value,
                            via: Rc::clone(&part.via),
                        };
                        level.keywords.push((key.clone(), value));
                    }
                }
            }
        }
        if let Some(reference) = part.node.get("$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| "$ref is not a string".to_owned())?;
            // A cycle contributes nothing, which leaves `{}` where it closes.
            if !part.via.contains(&reference) {
                let mut via = (*part.via).clone();
                via.push(reference);
                let target = Part {
                    node: self.lookup(reference)?,
                    via: Rc::new(via),
                };
                self.collect(target, level)?;
            }
        }
        if let Some(all_of) = part.node.get("allOf") {
            let all_of = all_of
                .as_array()
                .ok_or_else(|| "allOf is not an array".to_owned())?;
            for node in all_of {
                let sub = Part {
                    node,
                    via: Rc::clone(&part.via),
                };
                self.collect(sub, level)?;
            }
        }
        Ok(())
    }

    /// The schema made of `parts` with every `$ref` and `allOf` resolved
    /// inline, down to [`MAX_DEPTH`], also inside `oneOf`, `anyOf`, `not` and
    /// `additionalProperties`. Keywords keep their OpenAPI meaning (`required`
    /// is still a list, `nullable` is kept).
    pub(crate) fn flatten(&self, parts: &[Part<'a>], depth: usize) -> Result<Json, String> {
        self.flatten_within(parts, depth, MAX_DEPTH, AtLimit::Cut)
    }

    /// [`Spec::flatten`] down to `limit` nesting steps (`properties`, `items`,
    /// each `oneOf`/`anyOf` choice, `not`, `additionalProperties`), ending
    /// there as `at_limit` says. A `$ref` cycle still closes with `{}`.
    pub(crate) fn flatten_within(
        &self,
        parts: &[Part<'a>],
        depth: usize,
        limit: usize,
        at_limit: AtLimit,
    ) -> Result<Json, String> {
        if depth >= limit {
            return match at_limit {
                AtLimit::Cut => Ok(Json::Object(Vec::new())),
                AtLimit::Fail => Err(format!("the schema nests deeper than {limit} levels")),
            };
        }
        let deeper = |parts: &[Part<'a>]| self.flatten_within(parts, depth + 1, limit, at_limit);
        let level = self.level(parts)?;
        let mut members = Vec::with_capacity(level.keywords.len() + 3);
        for (key, value) in level.keywords {
            let resolved = match (key.as_str(), value.node) {
                ("oneOf" | "anyOf", Json::Array(choices)) => {
                    let mut resolved = Vec::with_capacity(choices.len());
                    for node in choices {
                        let choice = Part {
                            node,
                            via: Rc::clone(&value.via),
                        };
                        resolved.push(deeper(&[choice])?);
                    }
                    Json::Array(resolved)
                }
                ("additionalProperties" | "not", Json::Object(_)) => deeper(&[value])?,
                (_, node) => node.clone(),
            };
            members.push((key, resolved));
        }
        if !level.properties.is_empty() {
            let mut properties = Vec::with_capacity(level.properties.len());
            for (name, parts) in &level.properties {
                properties.push((name.clone(), deeper(parts)?));
            }
            members.push(("properties".to_owned(), Json::Object(properties)));
        }
        if !level.items.is_empty() {
            members.push(("items".to_owned(), deeper(&level.items)?));
        }
        if !level.required.is_empty() {
            let required = level.required.into_iter().map(Json::String).collect();
            members.push(("required".to_owned(), Json::Array(required)));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Json {
        Json::parse(
            r##"{
              "components": {"schemas": {
                "Base": {"type": "object", "required": ["a"], "properties": {
                  "a": {"type": "string", "format": "date-time", "nullable": true},
                  "b": {"$ref": "#/components/schemas/Named", "nullable": true, "description": "own"}
                }},
                "Named": {"type": "string", "description": "shared", "enum": ["x"]},
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}},
                "Deep": {"type": "object", "properties": {"d": {"$ref": "#/components/schemas/Deep2"}}},
                "Deep2": {"type": "object", "properties": {"e": {"$ref": "#/components/schemas/Deep"}}}
              }},
              "merged": {"allOf": [
                {"properties": {"c": {"type": "boolean"}, "a": {"description": "first wins"}}, "required": ["c"]},
                {"$ref": "#/components/schemas/Base"}
              ]},
              "node": {"$ref": "#/components/schemas/Node"}
            }"##,
        )
        .expect("valid fixture")
    }

    #[test]
    fn merges_all_of_in_order_and_keeps_ref_siblings() {
        let doc = doc();
        let spec = Spec::new(&doc);
        let merged = doc.get("merged").expect("fixture");
        let schema = spec.flatten(&[Part::root(merged)], 0).expect("resolves");
        let properties = schema.get("properties").expect("properties");
        let names: Vec<&str> = properties
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["c", "a", "b"]);
        let a = properties.get("a").expect("a");
        assert_eq!(
            a.get("description").and_then(Json::as_str),
            Some("first wins")
        );
        assert_eq!(a.get("format").and_then(Json::as_str), Some("date-time"));
        let b = properties.get("b").expect("b");
        assert_eq!(b.get("description").and_then(Json::as_str), Some("own"));
        assert_eq!(b.get("nullable").and_then(Json::as_bool), Some(true));
        assert_eq!(b.get("type").and_then(Json::as_str), Some("string"));
        assert_eq!(
            schema
                .get("required")
                .map(Json::to_sorted_string)
                .as_deref(),
            Some(r#"["c","a"]"#)
        );
    }

    #[test]
    fn cuts_cycles_with_an_empty_schema() {
        let doc = doc();
        let spec = Spec::new(&doc);
        let node = doc.get("node").expect("fixture");
        let schema = spec.flatten(&[Part::root(node)], 0).expect("resolves");
        assert_eq!(
            schema.to_sorted_string(),
            r#"{"properties":{"child":{}},"type":"object"}"#
        );
    }

    #[test]
    fn cuts_at_max_depth() {
        let doc = doc();
        let spec = Spec::new(&doc);
        let deep = spec.lookup("#/components/schemas/Deep").expect("fixture");
        // Deep -> Deep2 -> (Deep again is a cycle), so start below the limit
        // and check the cut happens exactly at it.
        let schema = spec
            .flatten(&[Part::root(deep)], MAX_DEPTH - 1)
            .expect("resolves");
        assert_eq!(
            schema.to_sorted_string(),
            r#"{"properties":{"d":{}},"type":"object"}"#
        );
        let cut = spec
            .flatten(&[Part::root(deep)], MAX_DEPTH)
            .expect("resolves");
        assert_eq!(cut.to_sorted_string(), "{}");
    }

    #[test]
    fn resolves_refs_inside_one_of_and_additional_properties() {
        let doc = Json::parse(
            r##"{
              "components": {"schemas": {
                "Named": {"type": "string", "enum": ["x"]},
                "Tree": {"type": "object", "properties": {
                  "kind": {"oneOf": [{"$ref": "#/components/schemas/Named"}, {"type": "integer"}]},
                  "map": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Named"}},
                  "open": {"type": "object", "additionalProperties": true},
                  "next": {"anyOf": [{"$ref": "#/components/schemas/Tree"}]}
                }}
              }},
              "tree": {"$ref": "#/components/schemas/Tree"}
            }"##,
        )
        .expect("valid fixture");
        let spec = Spec::new(&doc);
        let tree = doc.get("tree").expect("fixture");
        let schema = spec.flatten(&[Part::root(tree)], 0).expect("resolves");
        assert_eq!(
            schema.to_sorted_string(),
            concat!(
                r#"{"properties":{"#,
                r#""kind":{"oneOf":[{"enum":["x"],"type":"string"},{"type":"integer"}]},"#,
                r#""map":{"additionalProperties":{"enum":["x"],"type":"string"},"type":"object"},"#,
                // The cycle back to Tree closes with `{}` inside anyOf too.
                r#""next":{"anyOf":[{}]},"#,
                r#""open":{"additionalProperties":true,"type":"object"}"#,
                r#"},"type":"object"}"#
            )
        );
    }

    #[test]
    fn fails_at_the_limit_when_asked_to() {
        let doc = doc();
        let spec = Spec::new(&doc);
        let base = spec.lookup("#/components/schemas/Base").expect("fixture");
        // Base -> b: two levels.
        assert!(
            spec.flatten_within(&[Part::root(base)], 0, 2, AtLimit::Fail)
                .is_ok()
        );
        let err = spec
            .flatten_within(&[Part::root(base)], 0, 1, AtLimit::Fail)
            .expect_err("too deep");
        assert!(err.contains("deeper than 1"), "{err}");
    }

    #[test]
    fn reports_dangling_refs() {
        let doc = Json::parse(r##"{"s": {"$ref": "#/components/schemas/Missing"}}"##)
            .expect("valid fixture");
        let spec = Spec::new(&doc);
        let s = doc.get("s").expect("fixture");
        let err = spec
            .flatten(&[Part::root(s)], 0)
            .expect_err("must not resolve");
        assert!(err.contains("Missing"), "{err}");
    }

    #[test]
    fn finds_stable_json_in_the_directory_and_its_subdirectories() {
        let dir = std::env::temp_dir().join(format!("xtask-openapi-{}", std::process::id()));
        let write = |rel: &str, version: &str| {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(path, format!(r#"{{"info": {{"version": "{version}"}}}}"#))
                .expect("write");
        };
        write("stable.json", "2026-07-15");
        write("2024-10-15/stable.json", "2024-10-15");
        write("2026-10-15/stable.json", "2026-10-15");
        write("2026-10-15/deeper/stable.json", "2099-01-01");
        let files = load_all(&dir);
        write("2027-01-15/stable.json", "2027-01-15.pre");
        let beta = load_all(&dir);
        std::fs::remove_dir_all(&dir).expect("clean up");
        let err = beta.err().expect("a beta revision is refused");
        assert!(err.contains("2027-01-15.pre"), "{err}");
        let files = files.expect("loads");
        let found: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.revision.as_str(), f.name.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("2024-10-15", "2024-10-15/stable.json"),
                ("2026-07-15", "stable.json"),
                ("2026-10-15", "2026-10-15/stable.json"),
            ]
        );
    }
}
