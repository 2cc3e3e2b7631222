//! What Klaviyo's REST API accepts, per revision: the list endpoints, their
//! query parameters, filter fields and operators, sort values, page sizes, rate
//! limits and resource attributes, plus a JSON schema of each resource; and
//! every operation that writes or gets one resource by id ([`Operation`]),
//! with the JSON Schema of its request body and of the resource it returns.
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
    /// Every operation under `/api` (not `/client`) that writes (`POST`,
    /// `PUT`, `PATCH`, `DELETE`) or gets one resource by id (a `GET` of a path
    /// whose last segment is a path parameter, e.g. `/profiles/{id}`), sorted
    /// by path and then by method name. List endpoints are in
    /// [`RevisionSpec::collections`] instead. See [`RevisionSpec::operation`]
    /// and [`RevisionSpec::resource`].
    pub operations: &'static [Operation],
    /// The request body schema of each operation that has a body, as a JSON
    /// object keyed by `"METHOD path"` (e.g. `"POST /profile-import"`), one
    /// member per line. Sub-schemas that repeat are stored once, as members
    /// keyed `#/$defs/<digest>` that the schemas point at with
    /// `{"$ref": "#/$defs/<digest>"}`; read it through
    /// [`RevisionSpec::request_schema`], which puts them back in place.
    pub request_schemas_json: &'static str,
    /// The schema of the resource each `GET` by id returns, as a JSON object
    /// keyed by path (e.g. `"/profiles/{id}"`), one member per line; where it
    /// is the resource of the list endpoint `/x`, the value is that path (a
    /// string) and the schema is in [`RevisionSpec::resource_schemas_json`].
    /// Read it through [`RevisionSpec::returned_schema`].
    pub returned_schemas_json: &'static str,
}

/// An HTTP method of an [`Operation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The method's name in upper case, as sent: `GET`, `POST`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method named `name`, in any case (`post`, `POST`).
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation of the OpenAPI file (`paths.<path>.<method>`) that writes or
/// gets one resource by id, e.g. `POST /api/profile-import`.
#[derive(Debug)]
pub struct Operation {
    pub method: Method,
    /// Path relative to the API base `https://a.klaviyo.com/api`, with its
    /// parameters as the file names them, e.g. `/profiles/{id}`,
    /// `/lists/{id}/relationships/profiles`,
    /// `/catalog-item-bulk-create-jobs/{job_id}`.
    pub path: &'static str,
    /// `operationId`, e.g. `create_or_update_profile`.
    pub operation_id: &'static str,
    /// `summary`, e.g. `Create or Update Profile`.
    pub summary: &'static str,
    /// The names of the path parameters, in path order, e.g. `["id"]`.
    pub path_params: &'static [&'static str],
    /// Every declared query parameter name (operation- and path-level), e.g.
    /// `include`, `fields[profile]`, `additional-fields[profile]`.
    pub query_params: &'static [&'static str],
    /// The values of the `include` parameter's enum (related resources that
    /// can be included, e.g. `lists`, `segments`); empty when it has none.
    pub include: &'static [&'static str],
    /// The `X` of every declared sparse-fieldset parameter `fields[X]`, e.g.
    /// `profile`, `list`. (Their enums of field names are not kept.)
    pub sparse_fieldsets: &'static [&'static str],
    /// Every declared `additional-fields[X]` parameter with its enum.
    pub additional_fields: &'static [AdditionalFields],
    /// `x-klaviyo-scopes`: the API key scopes the operation needs.
    pub scopes: &'static [&'static str],
    /// `x-klaviyo-ratelimit` `burst` and `steady`.
    pub rate_limit: Option<RateLimit>,
    /// `x-klaviyo-ratelimit.daily`: requests per day, where Klaviyo states a
    /// daily limit (e.g. `POST /lists`, `POST /images`).
    pub daily_limit: Option<u32>,
    /// The declared 2xx response codes, ascending, e.g. `[200, 201]` for
    /// `POST /profile-import` (updated, created), `[202]` for `POST /events`,
    /// `[204]` for deletes and relationship changes.
    pub success: &'static [u16],
    /// `requestBody`, when the operation takes one.
    pub body: Option<RequestBody>,
    /// The JSON:API `type` of the one resource in `data` of the 2xx response,
    /// e.g. `profile` for `GET /profiles/{id}` and `POST /profile-import`;
    /// `None` when the response has no body (204) or no single resource. Every
    /// `GET` by id has one.
    pub returns: Option<&'static str>,
    /// The most items one request may carry, where the description states it
    /// (parsed from wordings such as "accepts a maximum of 1000 profiles per
    /// call" or "Maximum number of profiles per call: 100").
    pub max_batch: Option<BatchLimit>,
}

/// An `additional-fields[X]` query parameter: fields of `X` that the response
/// leaves out unless asked for.
#[derive(Debug)]
pub struct AdditionalFields {
    /// `X`, e.g. `profile`.
    pub resource_type: &'static str,
    /// The parameter's enum, e.g. `subscriptions`, `predictive_analytics`.
    pub values: &'static [&'static str],
}

/// The facts of an operation's `requestBody`. Its schema is
/// [`RevisionSpec::request_schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBody {
    /// The one media type of `content`: `application/vnd.api+json`, or
    /// `multipart/form-data` for `POST /image-upload`.
    pub content_type: &'static str,
    /// `requestBody.required`.
    pub required: bool,
    /// The JSON:API `type` that `data` (or each item of it) must carry, e.g.
    /// `profile` for `POST /profile-import`, `event` for `POST /events`,
    /// `profile-subscription-bulk-create-job` for
    /// `POST /profile-subscription-bulk-create-jobs`. It is not always the
    /// path's resource: `POST /campaign-clone` carries a `campaign`,
    /// `POST /lists/{id}/relationships/profiles` a list of `profile`s. `None`
    /// when the body has no `data` (the multipart image upload).
    pub data_type: Option<&'static str>,
    /// Whether `data` is a list of resource identifiers (relationship
    /// endpoints) rather than one resource.
    pub data_is_array: bool,
}

/// A batch size the description states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimit {
    /// The most items per request, e.g. `1000`.
    pub max: u32,
    /// What is counted, as the description words it, e.g. `profiles`,
    /// `catalog items`, `Email address`.
    pub items: &'static str,
}

/// The operations of one resource type found by the `/x` and `/x/{id}`
/// convention (see [`RevisionSpec::resource`]).
///
/// Klaviyo departs from the convention in places, which this does not paper
/// over:
/// - profiles cannot be deleted through the API (no `DELETE /profiles/{id}`);
///   `POST /profile-import` ("Create or Update Profile": given attributes and
///   optionally an id) answers 201 when it created a profile and 200 when it
///   updated one, and is its own key `profile-import`;
/// - events can only be created (`POST /events`, 202) and read, never
///   updated or deleted;
/// - images are created from a URL by `POST /images` or uploaded as
///   `multipart/form-data` by `POST /image-upload`, and cannot be deleted;
/// - bulk jobs are created at `/<x>-jobs` and read at `/<x>-jobs/{job_id}`;
///   some job types (subscriptions) have no `GET` by id at all;
/// - actions such as `/campaign-clone` or `/template-render` are keys with
///   only a `create`, and their body `data` carries another type.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    /// The first path segment, e.g. `profiles`.
    pub key: &'a str,
    /// `GET /<key>`.
    pub list: Option<&'a Collection>,
    /// `GET /<key>/{id}`.
    pub get_one: Option<&'a Operation>,
    /// `POST /<key>`.
    pub create: Option<&'a Operation>,
    /// `PATCH /<key>/{id}` (or `PUT`, which no file has so far).
    pub update: Option<&'a Operation>,
    /// `DELETE /<key>/{id}`.
    pub delete: Option<&'a Operation>,
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

impl FilterField {
    /// For a field named with a placeholder (`properties.<key>`), what
    /// comes before it (`properties`).
    pub fn keyed_prefix(&self) -> Option<&'static str> {
        self.name.strip_suffix(".<key>")
    }
}

/// Whether `key` can take the place of `<key>` in a filter field: a name of
/// letters, digits, `_`, `-` and `$`, which a filter expression can hold
/// without quoting.
pub fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$'))
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

impl RevisionSpec {
    /// The operation `method path` (e.g. `Method::Post`, `/profile-import`),
    /// when it is a write or a get by id.
    pub fn operation(&self, method: Method, path: &str) -> Option<&Operation> {
        self.operations
            .binary_search_by(|op| (op.path, op.method.as_str()).cmp(&(path, method.as_str())))
            .ok()
            .map(|i| &self.operations[i])
    }

    /// The JSON Schema of the request body of `method path` (the whole
    /// document, `{"data": …}`), for validating and building bodies: OpenAPI
    /// 3.0's dialect of JSON Schema (`required` lists; `nullable: true` allows
    /// `null` besides `type`), with every `$ref` resolved in place and each
    /// `allOf` merged into one schema; `type`, `enum`, `format`, `oneOf`,
    /// `anyOf`, `additionalProperties`, `items`, `default`, `readOnly` and
    /// bounds as in the file. Dropped: `example`/`examples` and `x-*`
    /// extensions; descriptions are cut to 300 characters. Nothing is cut for
    /// depth; only a `$ref` cycle closes with `{}` (anything), which in the
    /// current files happens once, at the nested `steps` of a form version.
    ///
    /// `None` when the operation is unknown or takes no body. Each call parses
    /// only the lines it needs (about 0.1–0.3 ms for `POST /profile-import`);
    /// the largest schema, `POST /flows`, is about 1.8 MB once resolved.
    pub fn request_schema(&self, method: Method, path: &str) -> Option<serde_json::Value> {
        let key = format!("{} {path}", method.as_str());
        let mut schema = keyed_line(self.request_schemas_json, &key)?;
        let mut defs = std::collections::HashMap::new();
        inline_defs(&mut schema, self.request_schemas_json, &mut defs)?;
        Some(schema)
    }

    /// The JSON schema (elastic.io's draft-3 dialect, like
    /// [`RevisionSpec::resource_schema`]) of the resource that the `GET` by id
    /// at `path` (e.g. `/profiles/{id}`) returns in `data`.
    pub fn returned_schema(&self, path: &str) -> Option<serde_json::Value> {
        match keyed_line(self.returned_schemas_json, path)? {
            serde_json::Value::String(listed) => keyed_line(self.resource_schemas_json, &listed),
            schema => Some(schema),
        }
    }

    /// The list, get-by-id, create, update and delete endpoints of the
    /// resource type `key` (the first path segment, e.g. `profiles`), by the
    /// `/x` and `/x/{id}` convention; `None` when no endpoint has the key.
    /// See [`Resource`] for where Klaviyo departs from the convention.
    pub fn resource(&self, key: &str) -> Option<Resource<'_>> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let base = format!("/{key}");
        let list = self.collection(&base);
        let mut resource = Resource {
            key: list.map_or("", |c| &c.path[1..]),
            list,
            get_one: None,
            create: None,
            update: None,
            delete: None,
        };
        for op in self.operations {
            let Some((op_key, by_id)) = resource_key(op.path) else {
                continue;
            };
            if op_key != key {
                continue;
            }
            resource.key = op_key;
            let slot = match (op.method, by_id) {
                (Method::Get, true) => &mut resource.get_one,
                (Method::Post, false) => &mut resource.create,
                (Method::Patch, true) => &mut resource.update,
                (Method::Put, true) if resource.update.is_none() => &mut resource.update,
                (Method::Delete, true) => &mut resource.delete,
                _ => continue,
            };
            *slot = Some(op);
        }
        let found = resource.list.is_some()
            || resource.get_one.is_some()
            || resource.create.is_some()
            || resource.update.is_some()
            || resource.delete.is_some();
        found.then_some(resource)
    }

    /// [`RevisionSpec::resource`] of every key that has a list, get-by-id,
    /// create, update or delete endpoint, sorted by key.
    pub fn resources(&self) -> Vec<Resource<'_>> {
        let mut keys: Vec<&str> = self
            .collections
            .iter()
            .map(|c| &c.path[1..])
            .chain(self.operations.iter().filter_map(|op| {
                let (key, by_id) = resource_key(op.path)?;
                let conventional = matches!(
                    (op.method, by_id),
                    (
                        Method::Get | Method::Patch | Method::Put | Method::Delete,
                        true
                    ) | (Method::Post, false)
                );
                conventional.then_some(key)
            }))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter_map(|key| self.resource(key))
            .collect()
    }
}

/// `("profiles", false)` for `/profiles`, `("profiles", true)` for
/// `/profiles/{id}`, `None` for longer paths.
fn resource_key(path: &str) -> Option<(&str, bool)> {
    let rest = path.strip_prefix('/')?;
    match rest.split_once('/') {
        None => Some((rest, false)),
        Some((key, param))
            if param.len() > 2
                && param.starts_with('{')
                && param.ends_with('}')
                && !param.contains('/') =>
        {
            Some((key, true))
        }
        Some(_) => None,
    }
}

/// The value of member `key` of a generated JSON object, parsing only that
/// member. The generator writes such objects as `{`, then one member per line
/// (`  "key": value,`) sorted by key, then `}`, with keys that need no JSON
/// escapes (a test holds it to that), so the member is found by a binary
/// search over the lines.
fn keyed_line(json: &str, key: &str) -> Option<serde_json::Value> {
    let body = json.strip_prefix("{\n")?;
    let bytes = body.as_bytes();
    // `lo` and `hi` are always at the start of a line (or the end).
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[lo..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = bytes[start..hi]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |i| start + i);
        // '\n' is never part of a multi-byte character, so `start` and `end`
        // are character boundaries.
        let line = &body[start..end];
        let member = line
            .strip_prefix("  \"")
            .and_then(|rest| rest.split_once("\": "));
        match member {
            // The closing `}`, after every member.
            None => hi = start,
            Some((line_key, value)) => match line_key.cmp(key) {
                std::cmp::Ordering::Less => lo = end + 1,
                std::cmp::Ordering::Greater => hi = start,
                std::cmp::Ordering::Equal => {
                    let value = value.strip_suffix(',').unwrap_or(value);
                    return serde_json::from_str(value).ok();
                }
            },
        }
    }
    None
}

/// What the `$ref`s of shared request sub-schemas start with.
const DEFS_PREFIX: &str = "#/$defs/";

/// `value` with every `{"$ref": "#/$defs/…"}` replaced by that member of
/// `json` (itself with its references replaced); `defs` keeps the ones
/// already read. `None` when a reference is missing. The shared sub-schemas
/// were cut from trees, so they cannot refer to themselves.
fn inline_defs(
    value: &mut serde_json::Value,
    json: &str,
    defs: &mut std::collections::HashMap<String, serde_json::Value>,
) -> Option<()> {
    match value {
        serde_json::Value::Object(members) => {
            let reference = match members.get("$ref") {
                Some(serde_json::Value::String(r)) if members.len() == 1 => {
                    r.starts_with(DEFS_PREFIX).then(|| r.clone())
                }
                _ => None,
            };
            match reference {
                Some(reference) => {
                    let def = match defs.get(&reference) {
                        Some(def) => def.clone(),
                        None => {
                            let mut def = keyed_line(json, &reference)?;
                            inline_defs(&mut def, json, defs)?;
                            defs.insert(reference, def.clone());
                            def
                        }
                    };
                    *value = def;
                }
                None => {
                    for member in members.values_mut() {
                        inline_defs(member, json, defs)?;
                    }
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                inline_defs(item, json, defs)?;
            }
        }
        _ => {}
    }
    Some(())
}

impl Operation {
    /// Whether this is a `GET` of one resource by id.
    pub fn is_get_by_id(&self) -> bool {
        self.method == Method::Get
    }

    /// Whether the query parameter `name` is declared.
    pub fn declares(&self, name: &str) -> bool {
        self.query_params.contains(&name)
    }

    /// Whether `value` is in the `include` enum.
    pub fn can_include(&self, value: &str) -> bool {
        self.include.contains(&value)
    }

    /// Whether `status` is a declared success code.
    pub fn succeeds_with(&self, status: u16) -> bool {
        self.success.contains(&status)
    }
}

impl Collection {
    /// The filter field named `name`, when the endpoint can filter on it.
    /// A field the OpenAPI file names with a placeholder
    /// (`properties.<key>`, events from 2026-10-15) stands for every name
    /// in its place (`properties.order_id`).
    pub fn filter_field(&self, name: &str) -> Option<&FilterField> {
        let fields = self.filter.as_ref()?.fields;
        fields.iter().find(|f| f.name == name).or_else(|| {
            fields.iter().find(|f| {
                f.keyed_prefix()
                    .and_then(|prefix| name.strip_prefix(prefix))
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(is_key)
            })
        })
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
