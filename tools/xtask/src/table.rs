//! The rules that turn one OpenAPI file into the facts of `klaviyo-spec`.
//!
//! The types mirror `klaviyo_spec`'s public ones with owned data: the
//! generator does not depend on `klaviyo-spec` (only its tests do), so that it
//! still builds when the committed table it rewrites does not compile.

pub(crate) mod operations;

use crate::json::Json;
use crate::openapi::{Part, Spec, SpecFile};
use crate::schema;

pub(crate) struct Revision {
    pub revision: String,
    /// Input file, relative to the OpenAPI directory.
    pub file_name: String,
    pub file_size: u64,
    /// Sorted by path.
    pub collections: Vec<Collection>,
    /// Writes and gets by id, sorted by path and then method name.
    pub operations: Vec<operations::Operation>,
}

pub(crate) struct Collection {
    pub path: String,
    pub resource_type: String,
    pub query_params: Vec<String>,
    pub filter: Option<FilterParam>,
    pub sort: Vec<String>,
    pub page_size: Option<PageSize>,
    pub fixed_page_size: Option<u32>,
    pub rate_limit: Option<RateLimit>,
    pub scopes: Vec<String>,
    pub attributes: Vec<Attribute>,
    /// The resource in elastic.io's schema dialect.
    pub schema: Json,
}

pub(crate) struct FilterParam {
    pub required: bool,
    pub example: Option<String>,
    pub fields: Vec<FilterField>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FilterField {
    pub name: String,
    /// Sorted in the order of `klaviyo_spec::Operator`, without repeats.
    pub operators: Vec<Operator>,
    pub values: Vec<String>,
    pub value_type: ValueType,
}

/// `klaviyo_spec::Operator`, declared in the same order so that sorting
/// follows it (a test in `main.rs` holds the two together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operator {
    Equals,
    LessThan,
    LessOrEqual,
    GreaterThan,
    GreaterOrEqual,
    Contains,
    ContainsAny,
    ContainsAll,
    StartsWith,
    EndsWith,
    Any,
    Has,
}

impl Operator {
    pub(crate) const ALL: [Operator; 12] = [
        Operator::Equals,
        Operator::LessThan,
        Operator::LessOrEqual,
        Operator::GreaterThan,
        Operator::GreaterOrEqual,
        Operator::Contains,
        Operator::ContainsAny,
        Operator::ContainsAll,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Any,
        Operator::Has,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::LessThan => "less-than",
            Operator::LessOrEqual => "less-or-equal",
            Operator::GreaterThan => "greater-than",
            Operator::GreaterOrEqual => "greater-or-equal",
            Operator::Contains => "contains",
            Operator::ContainsAny => "contains-any",
            Operator::ContainsAll => "contains-all",
            Operator::StartsWith => "starts-with",
            Operator::EndsWith => "ends-with",
            Operator::Any => "any",
            Operator::Has => "has",
        }
    }

    fn from_name(name: &str) -> Result<Operator, String> {
        Operator::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| format!("unknown filter operator `{name}`"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    String,
    DateTime,
    Number,
    Boolean,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageSize {
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub burst_per_second: u32,
    pub steady_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
    pub nullable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKind {
    DateTime,
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Any,
}

/// The facts of one OpenAPI file.
pub(crate) fn revision(file: &SpecFile) -> Result<Revision, String> {
    let spec = Spec::new(&file.doc);
    let paths = file
        .doc
        .get("paths")
        .and_then(Json::as_object)
        .ok_or_else(|| format!("{}: no paths", file.name))?;
    let mut collections = Vec::new();
    for (path, item) in paths {
        let Some(short) = path.strip_prefix("/api") else {
            continue;
        };
        if !short.starts_with('/') || path.contains('{') {
            continue;
        }
        let Some(get) = item.get("get") else {
            continue;
        };
        let found = collection(&spec, short, item, get)
            .map_err(|e| format!("{}: GET {path}: {e}", file.name))?;
        collections.extend(found);
    }
    collections.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in collections.windows(2) {
        if pair[0].path == pair[1].path {
            return Err(format!(
                "{}: two list endpoints map to {}",
                file.name, pair[0].path
            ));
        }
    }
    let operations =
        operations::operations(&spec, paths).map_err(|e| format!("{}: {e}", file.name))?;
    Ok(Revision {
        revision: file.revision.clone(),
        file_name: file.name.clone(),
        file_size: file.size,
        collections,
        operations,
    })
}

/// The collection behind `GET /api{path}`, or `None` when its 200 response is
/// not a JSON:API document with an array of resources in `data`.
fn collection(
    spec: &Spec<'_>,
    path: &str,
    path_item: &Json,
    op: &Json,
) -> Result<Option<Collection>, String> {
    let Some(item) = list_item_schema(spec, op)? else {
        return Ok(None);
    };
    let resource_type = resource_type(&item)?;
    let attribute_schemas: &[(String, Json)] = item
        .get("properties")
        .and_then(|p| p.get("attributes"))
        .and_then(|a| a.get("properties"))
        .and_then(Json::as_object)
        .unwrap_or_default();
    let attributes = attribute_schemas
        .iter()
        .map(|(name, schema)| Attribute {
            name: name.clone(),
            kind: attribute_kind(schema),
            nullable: schema.get("nullable").and_then(Json::as_bool) == Some(true),
        })
        .collect();

    let params = query_parameters(spec, path_item, op)?;
    let param = |name: &str| params.iter().find(|p| p.name == name);

    let filter = match param("filter") {
        Some(p) => Some(
            filter_param(spec, p.node, op, attribute_schemas)
                .map_err(|e| format!("filter: {e}"))?,
        ),
        None => None,
    };
    let sort = match param("sort") {
        Some(p) => sort_values(spec, p.node).map_err(|e| format!("sort: {e}"))?,
        None => Vec::new(),
    };
    let page_size = match param("page[size]") {
        Some(p) => Some(page_size(spec, p.node).map_err(|e| format!("page[size]: {e}"))?),
        None => None,
    };
    let fixed_page_size = match page_size {
        Some(_) => None,
        None => op
            .get("description")
            .and_then(Json::as_str)
            .and_then(stated_maximum),
    };
    let rate_limit = match op.get("x-klaviyo-ratelimit") {
        Some(limit) => Some(rate_limit(limit).map_err(|e| format!("x-klaviyo-ratelimit: {e}"))?),
        None => None,
    };
    let scopes = match op.get("x-klaviyo-scopes") {
        Some(scopes) => strings(scopes).map_err(|e| format!("x-klaviyo-scopes: {e}"))?,
        None => Vec::new(),
    };

    Ok(Some(Collection {
        path: path.to_owned(),
        resource_type,
        query_params: params.iter().map(|p| p.name.clone()).collect(),
        filter,
        sort,
        page_size,
        fixed_page_size,
        rate_limit,
        scopes,
        attributes,
        schema: schema::elastic_io(&item),
    }))
}

/// The resolved schema of one item of `data` in the 200 response, if `data`
/// is an array.
fn list_item_schema(spec: &Spec<'_>, op: &Json) -> Result<Option<Json>, String> {
    let Some(response) = op.get("responses").and_then(|r| r.get("200")) else {
        return Ok(None);
    };
    let response = spec.deref(response)?;
    let Some(content) = response.get("content").and_then(Json::as_object) else {
        return Ok(None);
    };
    let Some(document) = content
        .iter()
        .find(|(media_type, _)| media_type.contains("json"))
        .and_then(|(_, media)| media.get("schema"))
    else {
        return Ok(None);
    };
    let document = spec.level(&[Part::root(document)])?;
    let Some(data) = document.property("data") else {
        return Ok(None);
    };
    let data = spec.level(data)?;
    if data.keyword("type").and_then(Json::as_str) != Some("array") || data.items.is_empty() {
        return Ok(None);
    }
    spec.flatten(&data.items, 0).map(Some)
}

fn resource_type(item: &Json) -> Result<String, String> {
    let schema = item
        .get("properties")
        .and_then(|p| p.get("type"))
        .ok_or_else(|| "the resource has no `type` property".to_owned())?;
    if let Some(constant) = schema.get("const").and_then(Json::as_str) {
        return Ok(constant.to_owned());
    }
    match schema.get("enum").and_then(Json::as_array) {
        Some([Json::String(only)]) => Ok(only.clone()),
        _ => Err(format!(
            "the resource's `type` is not a single-value enum: {}",
            schema.to_sorted_string()
        )),
    }
}

fn attribute_kind(schema: &Json) -> AttributeKind {
    match schema.get("type").and_then(Json::as_str) {
        Some("string") if schema.get("format").and_then(Json::as_str) == Some("date-time") => {
            AttributeKind::DateTime
        }
        Some("string") => AttributeKind::String,
        Some("integer") => AttributeKind::Integer,
        Some("number") => AttributeKind::Number,
        Some("boolean") => AttributeKind::Boolean,
        Some("object") => AttributeKind::Object,
        Some("array") => AttributeKind::Array,
        _ => AttributeKind::Any,
    }
}

struct Param<'a> {
    name: String,
    node: &'a Json,
}

/// The query parameters of `op`, in file order; path-level ones first unless
/// the operation redeclares them (OpenAPI's override rule).
fn query_parameters<'a>(
    spec: &Spec<'a>,
    path_item: &'a Json,
    op: &'a Json,
) -> Result<Vec<Param<'a>>, String> {
    let resolve = |list: Option<&'a Json>| -> Result<Vec<Param<'a>>, String> {
        let mut params = Vec::new();
        for node in list.and_then(Json::as_array).unwrap_or_default() {
            let node = spec.deref(node)?;
            if node.get("in").and_then(Json::as_str) != Some("query") {
                continue;
            }
            let name = node
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| "a query parameter without a name".to_owned())?;
            params.push(Param {
                name: name.to_owned(),
                node,
            });
        }
        Ok(params)
    };
    let own = resolve(op.get("parameters"))?;
    let mut params: Vec<Param<'a>> = resolve(path_item.get("parameters"))?
        .into_iter()
        .filter(|inherited| own.iter().all(|p| p.name != inherited.name))
        .collect();
    params.extend(own);
    Ok(params)
}

fn param_schema(spec: &Spec<'_>, param: &Json) -> Result<Json, String> {
    match param.get("schema") {
        Some(schema) => spec.flatten(&[Part::root(schema)], 0),
        None => Ok(Json::Object(Vec::new())),
    }
}

const ALLOWED: &str = "Allowed field(s)/operator(s):";

fn filter_param(
    spec: &Spec<'_>,
    param: &Json,
    op: &Json,
    attributes: &[(String, Json)],
) -> Result<FilterParam, String> {
    let schema = param_schema(spec, param)?;
    let example = schema
        .get("example")
        .or_else(|| param.get("example"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let described = match param.get("description").and_then(Json::as_str) {
        Some(description) => described_fields(description, attributes)?,
        None => None,
    };
    let fields = match (op.get("x-klaviyo-filters"), described) {
        (Some(extension), described) => {
            let fields =
                extension_fields(extension).map_err(|e| format!("x-klaviyo-filters: {e}"))?;
            if let Some(described) = described {
                check_agreement(&fields, &described)?;
            }
            fields
        }
        (None, Some(described)) => described.into_iter().map(|d| d.field).collect(),
        (None, None) => {
            return Err(format!(
                "neither x-klaviyo-filters nor an {ALLOWED:?} list in the description"
            ));
        }
    };
    Ok(FilterParam {
        required: param.get("required").and_then(Json::as_bool) == Some(true),
        example,
        fields,
    })
}

/// A field from the description, and whether the description stated its
/// type (otherwise the type was taken from the resource's attribute).
#[derive(Debug)]
struct Described {
    field: FilterField,
    typed: bool,
}

/// `x-klaviyo-filters`: `{field: {operators: {single|list|none: [op]},
/// value: {type, format, enum}, dynamic_keys}}`.
fn extension_fields(extension: &Json) -> Result<Vec<FilterField>, String> {
    let fields = extension
        .as_object()
        .ok_or_else(|| "not an object".to_owned())?;
    let mut out = Vec::new();
    for (name, spec) in fields {
        let in_field = |e: String| format!("`{name}`: {e}");
        let mut operators = Vec::new();
        let mut value_type = ValueType::Unknown;
        let mut values = Vec::new();
        let mut dynamic = false;
        for (key, value) in spec.as_object().unwrap_or_default() {
            match key.as_str() {
                "operators" => {
                    for (arity, ops) in value.as_object().unwrap_or_default() {
                        if !matches!(arity.as_str(), "single" | "list" | "none") {
                            return Err(in_field(format!("unknown operator group `{arity}`")));
                        }
                        for op in strings(ops).map_err(in_field)? {
                            operators.push(Operator::from_name(&op).map_err(in_field)?);
                        }
                    }
                }
                "value" => {
                    if !matches!(value, Json::Null) {
                        value_type = json_value_type(value);
                        if let Some(allowed) = value.get("enum") {
                            values = strings(allowed).map_err(in_field)?;
                        }
                    }
                }
                // `properties` with dynamic keys is written `properties.<key>`
                // in a filter, and so in the description.
                "dynamic_keys" => dynamic = value.as_bool() == Some(true),
                _ => return Err(in_field(format!("unknown key `{key}`"))),
            }
        }
        operators.sort();
        operators.dedup();
        if operators.is_empty() {
            return Err(in_field("no operators".to_owned()));
        }
        out.push(FilterField {
            name: if dynamic {
                format!("{name}.<key>")
            } else {
                name.clone()
            },
            operators,
            values,
            value_type,
        });
    }
    Ok(out)
}

fn json_value_type(schema: &Json) -> ValueType {
    match schema.get("type").and_then(Json::as_str) {
        Some("string") if schema.get("format").and_then(Json::as_str) == Some("date-time") => {
            ValueType::DateTime
        }
        Some("string") => ValueType::String,
        Some("number" | "integer") => ValueType::Number,
        Some("boolean") => ValueType::Boolean,
        _ => ValueType::Unknown,
    }
}

/// The "Allowed field(s)/operator(s):" list of a filter description: items
/// separated by `<br>`, each `` `field`: `op`, `op` `` with an optional
/// ` (type)`. `None` when the description has no such list.
fn described_fields(
    description: &str,
    attributes: &[(String, Json)],
) -> Result<Option<Vec<Described>>, String> {
    let Some((_, list)) = description.split_once(ALLOWED) else {
        return Ok(None);
    };
    let mut fields = Vec::new();
    for item in list.split("<br>").map(str::trim).filter(|i| !i.is_empty()) {
        let (name, operators, stated) = parse_described_item(item)
            .ok_or_else(|| format!("cannot read {item:?} in the {ALLOWED:?} list"))?;
        let mut operators = operators
            .iter()
            .map(|op| Operator::from_name(op))
            .collect::<Result<Vec<_>, _>>()?;
        operators.sort();
        operators.dedup();
        let (value_type, values, typed) = match stated {
            Some(stated) => {
                let (value_type, values) = stated_type(stated);
                (value_type, values, true)
            }
            None => {
                let value_type = attributes
                    .iter()
                    .find(|(attribute, _)| attribute == name)
                    .map_or(ValueType::Unknown, |(_, schema)| {
                        match attribute_kind(schema) {
                            AttributeKind::DateTime => ValueType::DateTime,
                            AttributeKind::Boolean => ValueType::Boolean,
                            AttributeKind::Integer | AttributeKind::Number => ValueType::Number,
                            AttributeKind::String => ValueType::String,
                            _ => ValueType::Unknown,
                        }
                    });
                (value_type, Vec::new(), false)
            }
        };
        fields.push(Described {
            field: FilterField {
                name: name.to_owned(),
                operators,
                values,
                value_type,
            },
            typed,
        });
    }
    if fields.is_empty() {
        return Err(format!("the {ALLOWED:?} list is empty"));
    }
    Ok(Some(fields))
}

/// `` `field`: `op`, `op` (type) `` → (field, ops, type).
fn parse_described_item(item: &str) -> Option<(&str, Vec<&str>, Option<&str>)> {
    let (name, rest) = item.strip_prefix('`')?.split_once('`')?;
    let mut rest = rest.strip_prefix(':')?.trim_start();
    let mut operators = Vec::new();
    loop {
        let (op, after) = rest.strip_prefix('`')?.split_once('`')?;
        operators.push(op);
        match after.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None => {
                rest = after.trim();
                break;
            }
        }
    }
    let stated = match rest {
        "" => None,
        _ => Some(rest.strip_prefix('(')?.strip_suffix(')')?.trim()),
    };
    if name.is_empty() {
        return None;
    }
    Some((name, operators, stated))
}

/// The type in parentheses after a described field: a JSON type name, or
/// "allowed values: `'a'`, `'b'`" (strings).
fn stated_type(stated: &str) -> (ValueType, Vec<String>) {
    if let Some(list) = stated.strip_prefix("allowed values:") {
        let values = list
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|quoted| quoted.trim_matches('\'').to_owned())
            .collect();
        return (ValueType::String, values);
    }
    let value_type = match stated {
        "date-time" => ValueType::DateTime,
        "string" => ValueType::String,
        "number" | "integer" => ValueType::Number,
        "boolean" => ValueType::Boolean,
        _ => ValueType::Unknown,
    };
    (value_type, Vec::new())
}

/// Fails when the description and `x-klaviyo-filters` name different fields
/// or operators, or state different value types.
fn check_agreement(extension: &[FilterField], described: &[Described]) -> Result<(), String> {
    let mut problems = Vec::new();
    for field in extension {
        match described.iter().find(|d| d.field.name == field.name) {
            None => problems.push(format!("`{}` is only in x-klaviyo-filters", field.name)),
            Some(d) => {
                if d.field.operators != field.operators {
                    problems.push(format!(
                        "`{}` operators: x-klaviyo-filters {}, description {}",
                        field.name,
                        operator_list(&field.operators),
                        operator_list(&d.field.operators)
                    ));
                }
                if d.typed
                    && (d.field.value_type != field.value_type
                        || (!d.field.values.is_empty() && d.field.values != field.values))
                {
                    problems.push(format!(
                        "`{}` value: x-klaviyo-filters {:?} {:?}, description {:?} {:?}",
                        field.name,
                        field.value_type,
                        field.values,
                        d.field.value_type,
                        d.field.values
                    ));
                }
            }
        }
    }
    for d in described {
        if extension.iter().all(|f| f.name != d.field.name) {
            problems.push(format!("`{}` is only in the description", d.field.name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "x-klaviyo-filters and the {ALLOWED:?} list of the description disagree: {}",
            problems.join("; ")
        ))
    }
}

fn operator_list(operators: &[Operator]) -> String {
    let names: Vec<&str> = operators.iter().map(|op| op.name()).collect();
    format!("[{}]", names.join(", "))
}

fn sort_values(spec: &Spec<'_>, param: &Json) -> Result<Vec<String>, String> {
    let schema = param_schema(spec, param)?;
    let values = schema
        .get("enum")
        .or_else(|| schema.get("items").and_then(|items| items.get("enum")));
    match values {
        Some(values) => strings(values),
        None => Ok(Vec::new()),
    }
}

fn page_size(spec: &Spec<'_>, param: &Json) -> Result<PageSize, String> {
    let schema = param_schema(spec, param)?;
    let number = |key: &str| -> Result<Option<u32>, String> {
        schema
            .get(key)
            .map(|n| {
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("`{key}` is not a small whole number"))
            })
            .transpose()
    };
    Ok(PageSize {
        default: number("default")?.ok_or_else(|| "no default".to_owned())?,
        min: number("minimum")?.unwrap_or(1),
        max: number("maximum")?.ok_or_else(|| "no maximum".to_owned())?,
    })
}

/// N in "... a maximum of N ..." (e.g. "Returns a maximum of 200 events per
/// page"), the only statement of the page size of endpoints without
/// `page[size]`.
fn stated_maximum(description: &str) -> Option<u32> {
    let words: Vec<&str> = description.split_whitespace().collect();
    words.windows(3).find_map(|w| match w {
        ["maximum", "of", n] => n.parse().ok(),
        _ => None,
    })
}

/// `{burst: "10/s", steady: "150/m"}`.
fn rate_limit(limit: &Json) -> Result<RateLimit, String> {
    let rate = |key: &str, unit: &str| -> Result<u32, String> {
        let text = limit
            .get(key)
            .and_then(Json::as_str)
            .ok_or_else(|| format!("no `{key}`"))?;
        text.strip_suffix(unit)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("`{key}` is {text:?}, expected a count followed by {unit:?}"))
    };
    Ok(RateLimit {
        burst_per_second: rate("burst", "/s")?,
        steady_per_minute: rate("steady", "/m")?,
    })
}

fn strings(list: &Json) -> Result<Vec<String>, String> {
    list.as_array()
        .ok_or_else(|| {
            format!(
                "expected a list of strings, found {}",
                list.to_sorted_string()
            )
        })?
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("expected a string, found {}", item.to_sorted_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes() -> Vec<(String, Json)> {
        let schema = Json::parse(
            r#"{
              "updated": {"type": "string", "format": "date-time"},
              "name": {"type": "string"},
              "count": {"type": "integer"},
              "archived": {"type": "boolean"},
              "meta": {"type": "object"}
            }"#,
        )
        .expect("valid fixture");
        schema.as_object().expect("object").to_vec()
    }

    #[test]
    fn reads_the_described_filter_list() {
        let description = "For more information please visit https://example.com<br>\
            Allowed field(s)/operator(s):<br>`updated`: `less-than`, `greater-than`<br>\
            `name`: `any`, `equals`<br>`count`: `equals`<br>`archived`: `equals`<br>\
            `meta`: `has`<br>`messages.channel`: `equals`<br>\
            `when`: `greater-or-equal` (date-time)<br>\
            `status`: `equals` (allowed values: `'queued'`, `'complete'`)";
        let fields = described_fields(description, &attributes())
            .expect("readable")
            .expect("has a list");
        let summary: Vec<(&str, Vec<&str>, ValueType, Vec<String>)> = fields
            .iter()
            .map(|d| {
                (
                    d.field.name.as_str(),
                    d.field.operators.iter().map(|op| op.name()).collect(),
                    d.field.value_type,
                    d.field.values.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "updated",
                    vec!["less-than", "greater-than"],
                    ValueType::DateTime,
                    vec![]
                ),
                ("name", vec!["equals", "any"], ValueType::String, vec![]),
                ("count", vec!["equals"], ValueType::Number, vec![]),
                ("archived", vec!["equals"], ValueType::Boolean, vec![]),
                ("meta", vec!["has"], ValueType::Unknown, vec![]),
                (
                    "messages.channel",
                    vec!["equals"],
                    ValueType::Unknown,
                    vec![]
                ),
                (
                    "when",
                    vec!["greater-or-equal"],
                    ValueType::DateTime,
                    vec![]
                ),
                (
                    "status",
                    vec!["equals"],
                    ValueType::String,
                    vec!["queued".to_owned(), "complete".to_owned()]
                ),
            ]
        );
    }

    #[test]
    fn rejects_an_unreadable_described_item() {
        let err = described_fields("Allowed field(s)/operator(s):<br>updated: less-than", &[])
            .expect_err("must fail");
        assert!(err.contains("updated: less-than"), "{err}");
        let err = described_fields("Allowed field(s)/operator(s):<br>`x`: `between`", &[])
            .expect_err("must fail");
        assert!(err.contains("between"), "{err}");
    }

    #[test]
    fn reads_the_filter_extension() {
        let extension = Json::parse(
            r#"{
              "created": {"operators": {"single": ["greater-than", "less-than"]},
                          "value": {"type": "string", "format": "date-time"}},
              "id": {"operators": {"list": ["any", "equals"], "single": ["equals"]},
                     "value": {"type": "string"}},
              "channel": {"operators": {"single": ["equals"]},
                          "value": {"type": "string", "enum": ["email", "sms"]}},
              "profile": {"operators": {"none": ["has"]}},
              "properties": {"operators": {"single": ["equals"]}, "dynamic_keys": true}
            }"#,
        )
        .expect("valid fixture");
        let fields = extension_fields(&extension).expect("readable");
        assert_eq!(
            fields[0].operators,
            [Operator::LessThan, Operator::GreaterThan]
        );
        assert_eq!(fields[0].value_type, ValueType::DateTime);
        assert_eq!(fields[1].operators, [Operator::Equals, Operator::Any]);
        assert_eq!(fields[2].values, ["email", "sms"]);
        assert_eq!(fields[3].value_type, ValueType::Unknown);
        assert_eq!(fields[4].name, "properties.<key>");
    }

    #[test]
    fn fails_when_the_extension_and_the_description_disagree() {
        let extension = Json::parse(
            r#"{"updated": {"operators": {"single": ["greater-than", "greater-or-equal"]},
                            "value": {"type": "string", "format": "date-time"}},
                "extra": {"operators": {"single": ["equals"]}, "value": {"type": "string"}}}"#,
        )
        .expect("valid fixture");
        let extension = extension_fields(&extension).expect("readable");
        let described = described_fields(
            "Allowed field(s)/operator(s):<br>`updated`: `greater-than`<br>`other`: `equals`",
            &attributes(),
        )
        .expect("readable")
        .expect("has a list");
        let err = check_agreement(&extension, &described).expect_err("must disagree");
        assert!(err.contains("`updated` operators"), "{err}");
        assert!(
            err.contains("`extra` is only in x-klaviyo-filters"),
            "{err}"
        );
        assert!(err.contains("`other` is only in the description"), "{err}");

        let agreeing = described_fields(
            "Allowed field(s)/operator(s):<br>`updated`: `greater-or-equal`, `greater-than` (date-time)<br>`extra`: `equals` (string)",
            &[],
        )
        .expect("readable")
        .expect("has a list");
        check_agreement(&extension, &agreeing).expect("agrees");

        let mistyped = described_fields(
            "Allowed field(s)/operator(s):<br>`updated`: `greater-or-equal`, `greater-than` (number)<br>`extra`: `equals`",
            &[],
        )
        .expect("readable")
        .expect("has a list");
        let err = check_agreement(&extension, &mistyped).expect_err("types differ");
        assert!(err.contains("`updated` value"), "{err}");
    }

    #[test]
    fn reads_rate_limits_and_stated_page_sizes() {
        let limit = Json::parse(r#"{"burst": "10/s", "steady": "150/m"}"#).expect("valid");
        assert_eq!(
            rate_limit(&limit),
            Ok(RateLimit {
                burst_per_second: 10,
                steady_per_minute: 150
            })
        );
        let hourly = Json::parse(r#"{"burst": "10/s", "steady": "150/h"}"#).expect("valid");
        assert!(rate_limit(&hourly).is_err());
        assert_eq!(
            stated_maximum("Get all events.\n\nReturns a maximum of 200 events per page."),
            Some(200)
        );
        assert_eq!(
            stated_maximum("Returns a maximum of\n10 results per page"),
            Some(10)
        );
        assert_eq!(stated_maximum("Returns all profiles"), None);
    }
}
