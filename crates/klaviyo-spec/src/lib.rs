//! What Klaviyo's REST API accepts, per revision: the list endpoints, their
//! query parameters, filter fields and operators, sort values, page sizes, rate
//! limits and resource attributes, plus a JSON schema of each resource.
//!
//! Everything in [`generated`] is written by `cargo xtask codegen` from
//! Klaviyo's official OpenAPI files (one file per revision) and committed, so
//! this crate builds without them. A test in `tools/xtask` regenerates the
//! table and fails when it differs from the committed one.
//!
//! Klaviyo publishes a revision every quarter but only some revisions' files
//! are kept here. [`for_revision`] answers for any revision with the newest
//! file that is not newer than it: a parameter that a later revision added is
//! then not used, which is the safe direction (Klaviyo rejects undeclared
//! parameters and operators, it never requires a parameter it added later
//! without a new revision).

#[rustfmt::skip]
mod generated;

/// The facts of one revision's OpenAPI file.
#[derive(Debug)]
pub struct RevisionSpec {
    /// `info.version` of the OpenAPI file, e.g. `2024-10-15`.
    pub revision: &'static str,
    /// Every top-level `GET /api/<collection>` list endpoint, sorted by path.
    pub collections: &'static [Collection],
    /// The JSON schema of each collection's resource, as a JSON object keyed
    /// by [`Collection::path`]. See [`RevisionSpec::resource_schema`].
    pub resource_schemas_json: &'static str,
}

/// One `GET` list endpoint without path parameters, e.g. `GET /api/profiles`.
#[derive(Debug)]
pub struct Collection {
    /// Path relative to the API base `https://a.klaviyo.com/api`, e.g. `/profiles`.
    pub path: &'static str,
    /// JSON:API `type` of the resources in `data`, e.g. `profile`.
    pub resource_type: &'static str,
    /// Every declared query parameter name, e.g. `filter`, `sort`,
    /// `page[size]`, `page[cursor]`, `fields[profile]`, `include`.
    pub query_params: &'static [&'static str],
    /// The `filter` parameter, when declared.
    pub filter: Option<FilterParam>,
    /// The values of the `sort` enum, e.g. `created`, `-created`; empty when
    /// the endpoint cannot be sorted.
    pub sort: &'static [&'static str],
    /// The `page[size]` parameter, when declared.
    pub page_size: Option<PageSize>,
    /// Without a `page[size]` parameter: the fixed page size that the
    /// description states ("Returns a maximum of N results per page"), if any.
    pub fixed_page_size: Option<u32>,
    /// `x-klaviyo-ratelimit`.
    pub rate_limit: Option<RateLimit>,
    /// `x-klaviyo-scopes`.
    pub scopes: &'static [&'static str],
    /// Top-level attributes of the resource, in the order of the schema.
    pub attributes: &'static [Attribute],
}

/// The `filter` query parameter of one endpoint.
#[derive(Debug)]
pub struct FilterParam {
    /// Whether the parameter is `required: true` in the OpenAPI file.
    pub required: bool,
    /// The parameter's example, e.g. `equals(messages.channel,'sms')`; the
    /// fields it names are the ones a required filter must contain.
    pub example: Option<&'static str>,
    /// Allowed fields and operators ("Allowed field(s)/operator(s)" in the
    /// description, or `x-klaviyo-filters` where present).
    pub fields: &'static [FilterField],
}

/// One filterable field and the operators it accepts.
#[derive(Debug)]
pub struct FilterField {
    /// Field name as written in a filter, e.g. `updated` or `messages.channel`.
    pub name: &'static str,
    pub operators: &'static [Operator],
    /// Allowed values when the file declares an enum (`x-klaviyo-filters`);
    /// empty means any value of [`FilterField::value_type`].
    pub values: &'static [&'static str],
    pub value_type: ValueType,
}

/// A filter operator of Klaviyo's filter syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
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
    pub const ALL: [Operator; 12] = [
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

    /// The operator's name in Klaviyo's filter syntax, e.g. `greater-or-equal`.
    pub fn as_str(self) -> &'static str {
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

    /// The operator named `name` in Klaviyo's filter syntax.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// The type of a filter field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    DateTime,
    Number,
    Boolean,
    /// The file does not say.
    Unknown,
}

/// A declared `page[size]` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

/// `x-klaviyo-ratelimit`: requests per second (burst) and per minute (steady).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst_per_second: u32,
    pub steady_per_minute: u32,
}

/// A top-level attribute of a resource.
#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttributeKind,
    pub nullable: bool,
}

/// The JSON type of an attribute; `DateTime` is a string with
/// `format: date-time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    DateTime,
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    /// No single type (e.g. `oneOf`) or not stated.
    Any,
}

/// Every revision whose OpenAPI file the table was generated from, oldest
/// first.
pub fn revisions() -> &'static [RevisionSpec] {
    generated::REVISIONS
}

/// The facts to use for `revision` (`YYYY-MM-DD`, optionally with a
/// `.suffix`): those of the newest generated revision not newer than it, or of
/// the oldest one when `revision` predates them all.
pub fn for_revision(revision: &str) -> &'static RevisionSpec {
    let date = revision.split('.').next().unwrap_or(revision);
    let all = revisions();
    all.iter()
        .rev()
        .find(|spec| spec.revision <= date)
        .unwrap_or(&all[0])
}

impl RevisionSpec {
    /// The list endpoint at `path` (e.g. `/profiles`).
    pub fn collection(&self, path: &str) -> Option<&Collection> {
        self.collections
            .binary_search_by(|c| c.path.cmp(path))
            .ok()
            .map(|i| &self.collections[i])
    }

    /// The JSON schema (elastic.io's draft-3 dialect: `"required": true` on
    /// properties) of the resource listed at `path`.
    pub fn resource_schema(&self, path: &str) -> Option<serde_json::Value> {
        // Parsed on demand: only `getMetaModel` needs it, and it must not
        // cost anything at start-up.
        let mut all: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(self.resource_schemas_json).ok()?;
        all.remove(path)
    }
}

impl Collection {
    /// The filter field named `name`, when the endpoint can filter on it.
    pub fn filter_field(&self, name: &str) -> Option<&FilterField> {
        self.filter
            .as_ref()
            .and_then(|f| f.fields.iter().find(|field| field.name == name))
    }

    /// Whether `field` accepts `op`.
    pub fn allows(&self, field: &str, op: Operator) -> bool {
        self.filter_field(field)
            .is_some_and(|f| f.operators.contains(&op))
    }

    /// Whether `value` (e.g. `-updated`) is a declared sort value.
    pub fn can_sort(&self, value: &str) -> bool {
        self.sort.contains(&value)
    }

    /// Whether the query parameter `name` is declared.
    pub fn declares(&self, name: &str) -> bool {
        self.query_params.contains(&name)
    }

    /// The attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}
