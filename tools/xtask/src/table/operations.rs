//! The rules that turn one OpenAPI file into `klaviyo_spec::Operation`s: every
//! `/api` operation that writes (`POST`, `PUT`, `PATCH`, `DELETE`) or reads one
//! resource by id (`GET` of a path ending in a path parameter).

use crate::json::Json;
use crate::openapi::{AtLimit, Part, Spec};
use crate::schema;

use super::{RateLimit, query_parameters, rate_limit, resource_type, strings};

/// Request bodies are resolved completely: every schema of the current files
/// ends within 32 nesting steps (flows, forms and universal content nest the
/// deepest), so reaching this bound means a new file nests deeper, which
/// should be looked at rather than silently cut.
pub(crate) const REQUEST_MAX_DEPTH: usize = 64;

/// The methods kept, in the spelling of the OpenAPI file's path items.
const METHODS: [(&str, Method); 5] = [
    ("get", Method::Get),
    ("post", Method::Post),
    ("put", Method::Put),
    ("patch", Method::Patch),
    ("delete", Method::Delete),
];

/// `klaviyo_spec::Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The upper-case name, which also orders operations of one path.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

pub(crate) struct Operation {
    pub method: Method,
    /// Relative to `/api`.
    pub path: String,
    pub operation_id: String,
    pub summary: String,
    pub path_params: Vec<String>,
    pub query_params: Vec<String>,
    pub include: Vec<String>,
    pub sparse_fieldsets: Vec<String>,
    pub additional_fields: Vec<AdditionalFields>,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    pub daily_limit: Option<u32>,
    /// Sorted.
    pub success: Vec<u16>,
    pub body: Option<RequestBody>,
    pub returns: Option<String>,
    pub max_batch: Option<BatchLimit>,
    /// The request body as standard JSON Schema.
    pub request_schema: Option<Json>,
    /// For a `GET` by id: the resource in elastic.io's schema dialect.
    pub returned_schema: Option<Json>,
}

impl Operation {
    /// The key of the operation in the request schema file, e.g.
    /// `POST /profile-import`.
    pub(crate) fn key(&self) -> String {
        format!("{} {}", self.method.name(), self.path)
    }
}

pub(crate) struct AdditionalFields {
    pub resource_type: String,
    pub values: Vec<String>,
}

pub(crate) struct RequestBody {
    pub content_type: String,
    pub required: bool,
    pub data_type: Option<String>,
    pub data_is_array: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchLimit {
    pub max: u32,
    pub items: String,
}

/// Every write and get-by-id operation under `/api` of `paths`, sorted by path
/// and then method name.
pub(crate) fn operations(
    spec: &Spec<'_>,
    paths: &[(String, Json)],
) -> Result<Vec<Operation>, String> {
    let mut out = Vec::new();
    for (path, item) in paths {
        let Some(short) = path.strip_prefix("/api") else {
            continue;
        };
        if !short.starts_with('/') {
            continue;
        }
        for (name, method) in METHODS {
            let Some(op) = item.get(name) else {
                continue;
            };
            if method == Method::Get && !ends_in_parameter(short) {
                continue;
            }
            let found = operation(spec, method, short, item, op)
                .map_err(|e| format!("{} {path}: {e}", method.name()))?;
            out.push(found);
        }
    }
    out.sort_by(|a, b| (&a.path, a.method.name()).cmp(&(&b.path, b.method.name())));
    Ok(out)
}

/// Whether the last segment of `path` is one path parameter, as in
/// `/profiles/{id}` or `/catalog-item-bulk-create-jobs/{job_id}`.
fn ends_in_parameter(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| {
        last.len() > 2
            && last.starts_with('{')
            && last.ends_with('}')
            && last.matches('{').count() == 1
    })
}

fn operation(
    spec: &Spec<'_>,
    method: Method,
    path: &str,
    path_item: &Json,
    op: &Json,
) -> Result<Operation, String> {
    let text = |key: &str| op.get(key).and_then(Json::as_str).unwrap_or_default();
    let operation_id = text("operationId");
    if operation_id.is_empty() {
        return Err("no operationId".to_owned());
    }
    let path_params = path_parameters(path)?;

    let params = query_parameters(spec, path_item, op)?;
    let mut include = Vec::new();
    let mut sparse_fieldsets = Vec::new();
    let mut additional_fields = Vec::new();
    for param in &params {
        let name = param.name.as_str();
        if name == "include" {
            include = enum_values(spec, param.node).map_err(|e| format!("include: {e}"))?;
        } else if let Some(kind) = bracketed(name, "fields") {
            sparse_fieldsets.push(kind.to_owned());
        } else if let Some(kind) = bracketed(name, "additional-fields") {
            additional_fields.push(AdditionalFields {
                resource_type: kind.to_owned(),
                values: enum_values(spec, param.node).map_err(|e| format!("{name}: {e}"))?,
            });
        }
    }

    let (rate_limit, daily_limit) = match op.get("x-klaviyo-ratelimit") {
        Some(limit) => {
            let daily = match limit.get("daily") {
                Some(daily) => Some(
                    per_unit(daily, "/d").map_err(|e| format!("x-klaviyo-ratelimit daily: {e}"))?,
                ),
                None => None,
            };
            (
                Some(rate_limit(limit).map_err(|e| format!("x-klaviyo-ratelimit: {e}"))?),
                daily,
            )
        }
        None => (None, None),
    };
    let scopes = match op.get("x-klaviyo-scopes") {
        Some(scopes) => strings(scopes).map_err(|e| format!("x-klaviyo-scopes: {e}"))?,
        None => Vec::new(),
    };

    let (success, returns) = responses(spec, op)?;
    if method == Method::Get && returns.is_none() {
        return Err("a GET by id whose 200 response is not one JSON:API resource".to_owned());
    }
    let (body, request_schema) = match op.get("requestBody") {
        Some(body) => {
            let (body, schema) =
                request_body(spec, body).map_err(|e| format!("requestBody: {e}"))?;
            (Some(body), Some(schema))
        }
        None => (None, None),
    };
    let returned_schema = match method {
        Method::Get => Some(schema::elastic_io(&returned_resource(spec, op)?)),
        _ => None,
    };

    Ok(Operation {
        method,
        path: path.to_owned(),
        operation_id: operation_id.to_owned(),
        summary: text("summary").to_owned(),
        path_params,
        query_params: params.iter().map(|p| p.name.clone()).collect(),
        include,
        sparse_fieldsets,
        additional_fields,
        scopes,
        rate_limit,
        daily_limit,
        success,
        body,
        returns,
        max_batch: batch_limit(text("description"))?,
        request_schema,
        returned_schema,
    })
}

/// The `{name}`s of `path`, in order.
fn path_parameters(path: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for segment in path.split('/') {
        if segment.contains(['{', '}']) {
            let name = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .filter(|name| !name.is_empty() && !name.contains(['{', '}']))
                .ok_or_else(|| format!("path segment {segment:?} is not one parameter"))?;
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// `kind` in `prefix[kind]`.
fn bracketed<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    name.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
}

/// The `enum` of a parameter's schema, or of its items for an array.
fn enum_values(spec: &Spec<'_>, param: &Json) -> Result<Vec<String>, String> {
    let Some(schema) = param.get("schema") else {
        return Ok(Vec::new());
    };
    let schema = spec.flatten(&[Part::root(schema)], 0)?;
    match schema
        .get("enum")
        .or_else(|| schema.get("items").and_then(|items| items.get("enum")))
    {
        Some(values) => strings(values),
        None => Ok(Vec::new()),
    }
}

/// `"100/d"` → 100.
fn per_unit(value: &Json, unit: &str) -> Result<u32, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("expected a string, found {}", value.to_sorted_string()))?;
    text.strip_suffix(unit)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{text:?}, expected a count followed by {unit:?}"))
}

/// The 2xx status codes, and the JSON:API `type` of the one resource in
/// `data` of those that have a body (the same in all of them).
fn responses(spec: &Spec<'_>, op: &Json) -> Result<(Vec<u16>, Option<String>), String> {
    let mut success = Vec::new();
    let mut returns: Option<String> = None;
    for (code, response) in op
        .get("responses")
        .and_then(Json::as_object)
        .unwrap_or_default()
    {
        if !code.starts_with('2') {
            continue;
        }
        let status = code
            .parse::<u16>()
            .map_err(|_| format!("response code {code:?} is not a number"))?;
        success.push(status);
        let Some(resource) = single_resource(spec, response)? else {
            continue;
        };
        let found = resource_type(&resource).map_err(|e| format!("{code} response: {e}"))?;
        match &returns {
            Some(earlier) if *earlier != found => {
                return Err(format!(
                    "2xx responses carry different types: {earlier}, {found}"
                ));
            }
            _ => returns = Some(found),
        }
    }
    if success.is_empty() {
        return Err("no 2xx response".to_owned());
    }
    success.sort_unstable();
    Ok((success, returns))
}

/// The resolved schema of `data` in `response`'s JSON body, when `data` is
/// one resource object (not a list).
fn single_resource(spec: &Spec<'_>, response: &Json) -> Result<Option<Json>, String> {
    let Some(document) = json_content(spec.deref(response)?) else {
        return Ok(None);
    };
    let document = spec.level(&[Part::root(document)])?;
    let Some(data) = document.property("data") else {
        return Ok(None);
    };
    let level = spec.level(data)?;
    if level.keyword("type").and_then(Json::as_str) == Some("array") {
        return Ok(None);
    }
    spec.flatten(data, 0).map(Some)
}

/// The resource a `GET` by id returns, from its `200` response.
fn returned_resource(spec: &Spec<'_>, op: &Json) -> Result<Json, String> {
    let response = op
        .get("responses")
        .and_then(|r| r.get("200"))
        .ok_or_else(|| "a GET by id without a 200 response".to_owned())?;
    single_resource(spec, response)?.ok_or_else(|| "the 200 response has no resource".to_owned())
}

/// The schema of the first JSON media type of `node.content`.
fn json_content(node: &Json) -> Option<&Json> {
    node.get("content")
        .and_then(Json::as_object)?
        .iter()
        .find(|(media_type, _)| media_type.contains("json"))
        .and_then(|(_, media)| media.get("schema"))
}

/// The facts of a `requestBody` and its schema as standard JSON Schema.
fn request_body(spec: &Spec<'_>, body: &Json) -> Result<(RequestBody, Json), String> {
    let body = spec.deref(body)?;
    let content = body
        .get("content")
        .and_then(Json::as_object)
        .unwrap_or_default();
    let [(content_type, media)] = content else {
        return Err(format!("expected one media type, found {}", content.len()));
    };
    let document = media
        .get("schema")
        .ok_or_else(|| format!("{content_type} has no schema"))?;
    let resolved =
        spec.flatten_within(&[Part::root(document)], 0, REQUEST_MAX_DEPTH, AtLimit::Fail)?;
    let (data_type, data_is_array) = match resolved.get("properties").and_then(|p| p.get("data")) {
        None => (None, false),
        Some(data) => match data.get("type").and_then(Json::as_str) {
            Some("array") => {
                let item = data
                    .get("items")
                    .ok_or_else(|| "`data` is a list without items".to_owned())?;
                (
                    Some(resource_type(item).map_err(|e| format!("data items: {e}"))?),
                    true,
                )
            }
            _ => (
                Some(resource_type(data).map_err(|e| format!("data: {e}"))?),
                false,
            ),
        },
    };
    let facts = RequestBody {
        content_type: content_type.clone(),
        required: body.get("required").and_then(Json::as_bool) == Some(true),
        data_type,
        data_is_array,
    };
    Ok((facts, schema::request(&resolved)?))
}

/// The largest number of items one request may carry, as the description
/// states it. Klaviyo words it in several ways:
/// - "This endpoint accepts a maximum of 1000 profiles per call."
/// - "Accepts up to 1,000 events per request."
/// - "Email address per request limit: 100"
/// - "Maximum number of profiles can be submitted for subscription: 1000"
/// - "Maximum number of profiles per call: 100"
///
/// A sentence that speaks of a count per request or call in another way is an
/// error, so that a new wording is read rather than missed. Limits on payload
/// size ("The maximum allowed payload size is 5MB") and on jobs in progress
/// are not batch sizes.
pub(crate) fn batch_limit(description: &str) -> Result<Option<BatchLimit>, String> {
    let mut found: Option<BatchLimit> = None;
    for sentence in sentences(description) {
        let limit = stated_batch(&sentence);
        let speaks_of_batch = [
            "per request",
            "per call",
            "can be submitted",
            "accepts up to",
        ]
        .iter()
        .any(|phrase| sentence.to_lowercase().contains(phrase))
            && sentence.chars().any(|c| c.is_ascii_digit());
        let limit = match (limit, speaks_of_batch) {
            (Some(limit), _) => limit,
            (None, false) => continue,
            (None, true) => {
                return Err(format!(
                    "cannot read the batch size in {sentence:?} (extend `stated_batch`)"
                ));
            }
        };
        match &found {
            Some(earlier) if *earlier != limit => {
                return Err(format!(
                    "two batch sizes stated: {} {} and {} {}",
                    earlier.max, earlier.items, limit.max, limit.items
                ));
            }
            _ => found = Some(limit),
        }
    }
    Ok(found)
}

/// The description cut into sentences at line breaks (`\n`, `<br>`) and at
/// `. ` (never inside a number, "1,000" keeps its comma).
fn sentences(description: &str) -> Vec<String> {
    description
        .replace("<br>", "\n")
        .split('\n')
        .flat_map(|line| line.split(". "))
        .map(|s| s.trim().trim_end_matches('.').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One sentence's batch size, in the wordings [`batch_limit`] lists.
fn stated_batch(sentence: &str) -> Option<BatchLimit> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    // Lower case without trailing punctuation, for matching.
    let lower: Vec<String> = words
        .iter()
        .map(|w| w.trim_end_matches([':', '.', ',']).to_lowercase())
        .collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let number = |word: &str| {
        word.trim_end_matches([':', '.', ','])
            .replace(',', "")
            .parse::<u32>()
            .ok()
    };
    let per = |i: usize| matches!(lower.get(i..i + 2), Some(["per", "request" | "call"]));
    let phrase = |from: usize, to: usize| words[from..to].join(" ");

    // "... maximum of N <items> per call" / "... up to N <items> per request".
    for (i, pair) in lower.windows(2).enumerate() {
        if matches!(pair, ["maximum", "of"] | ["up", "to"])
            && let Some(max) = words.get(i + 2).and_then(|w| number(w))
            && let Some(end) = (i + 3..words.len()).find(|&j| per(j))
            && end > i + 3
        {
            return Some(BatchLimit {
                max,
                items: phrase(i + 3, end),
            });
        }
    }
    // "<items> per request limit: N".
    if let Some(end) = (0..words.len()).find(|&j| per(j))
        && end > 0
        && lower.get(end + 2) == Some(&"limit")
        && words[end + 2].ends_with(':')
        && let Some(max) = words.get(end + 3).and_then(|w| number(w))
        && words.len() == end + 4
    {
        return Some(BatchLimit {
            max,
            items: phrase(0, end),
        });
    }
    // "Maximum number of <items> can be submitted for ...: N",
    // "Maximum number of <items> per call: N".
    if lower.starts_with(&["maximum", "number", "of"])
        && let Some((last, rest)) = words.split_last()
        && let Some(max) = number(last)
        && rest.last().is_some_and(|w| w.ends_with(':'))
    {
        let end = (3..rest.len())
            .find(|&j| per(j) || matches!(lower.get(j..j + 3), Some(["can", "be", "submitted"])))?;
        if end > 3 {
            return Some(BatchLimit {
                max,
                items: phrase(3, end),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(description: &str) -> Option<(u32, String)> {
        batch_limit(description)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|b| (b.max, b.items))
    }

    #[test]
    fn reads_every_wording_of_a_batch_size() {
        assert_eq!(
            limit(
                "Add a profile to a list.\n\nThis endpoint accepts a maximum of 1000 profiles per call.<br><br>*Rate limits*"
            ),
            Some((1000, "profiles".to_owned()))
        );
        assert_eq!(
            limit(
                "Create a job.\nAccepts up to 1,000 events per request. The maximum allowed payload size is 5MB."
            ),
            Some((1000, "events".to_owned()))
        );
        assert_eq!(
            limit(
                "Accepts up to 100 catalog items per request.\nThe maximum number of jobs in progress at one time is 500."
            ),
            Some((100, "catalog items".to_owned()))
        );
        assert_eq!(
            limit("Suppress.\n\nEmail address per request limit: 100<br><br>*Rate limits*"),
            Some((100, "Email address".to_owned()))
        );
        assert_eq!(
            limit(
                "Subscribe.\n\nMaximum number of profiles can be submitted for subscription: 1000\n\nThis endpoint"
            ),
            Some((1000, "profiles".to_owned()))
        );
        assert_eq!(
            limit(
                "Maximum number of profile can be submitted for unsubscription: 100<br><br>*Rate limits*"
            ),
            Some((100, "profile".to_owned()))
        );
        assert_eq!(
            limit("Unsubscribe.\n\nMaximum number of profiles per call: 100<br><br>"),
            Some((100, "profiles".to_owned()))
        );
    }

    #[test]
    fn payload_sizes_and_other_limits_are_not_batch_sizes() {
        assert_eq!(limit("The maximum allowed payload size is 5MB."), None);
        assert_eq!(
            limit(
                "If there are 1,000 or more templates in an account, creation will fail as there is a limit of 1,000 templates"
            ),
            None
        );
        assert_eq!(limit("Rate limited to 1 request per minute."), None);
        assert_eq!(
            limit("*Rate limits*:<br>Burst: `10/s`<br>Steady: `150/m`"),
            None
        );
    }

    #[test]
    fn an_unread_wording_is_an_error() {
        let err = batch_limit("You may send at most 50 profiles per request.").expect_err("unread");
        assert!(err.contains("at most 50"), "{err}");
        let err =
            batch_limit("Accepts up to 10 profiles per call.\nAccepts up to 20 profiles per call.")
                .expect_err("two sizes");
        assert!(err.contains("two batch sizes"), "{err}");
    }

    #[test]
    fn recognises_get_by_id_paths() {
        assert!(ends_in_parameter("/profiles/{id}"));
        assert!(ends_in_parameter("/catalog-item-bulk-create-jobs/{job_id}"));
        assert!(!ends_in_parameter("/profiles"));
        assert!(!ends_in_parameter("/lists/{id}/relationships/profiles"));
        assert!(!ends_in_parameter("/x/{a}{b}"));
        assert_eq!(
            path_parameters("/lists/{id}/relationships/profiles"),
            Ok(vec!["id".to_owned()])
        );
        assert!(path_parameters("/x/a{id}").is_err());
    }
}
