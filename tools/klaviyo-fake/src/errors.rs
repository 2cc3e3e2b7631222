//! Klaviyo's JSON:API error documents.
//!
//! Real bodies carry `id`, an integer `status`, `code`, `title`, `detail`,
//! usually `source` and `meta` (reference §1.4). Wording is copied from real
//! responses where one was observed; elsewhere it is marked as the stand-in's.

use serde_json::Value;

use crate::store::StoreError;

/// Where an error points: a query parameter or a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    None,
    Parameter(String),
    Pointer(String),
}

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub title: &'static str,
    /// Boxed, as `meta` is, to keep errors small.
    pub detail: Box<str>,
    pub source: Source,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// The error's `meta` members (e.g. `duplicate_profile_id`); boxed to
    /// keep errors small.
    pub meta: Option<Box<serde_json::Map<String, Value>>>,
}

pub(crate) const INVALID_TITLE: &str = "Invalid input.";

impl ApiError {
    /// 400 `invalid`, "Invalid input.".
    pub(crate) fn invalid(detail: impl Into<String>, source: Source) -> ApiError {
        ApiError {
            status: 400,
            code: "invalid",
            title: INVALID_TITLE,
            detail: detail.into().into_boxed_str(),
            source,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 400 on a query parameter.
    pub(crate) fn param(parameter: &str, detail: impl Into<String>) -> ApiError {
        ApiError::invalid(detail, Source::Parameter(parameter.to_owned()))
    }

    /// 401 for a missing header or a scheme other than `Klaviyo-API-Key`,
    /// exactly as observed (klaviyo-api-ruby#19).
    pub(crate) fn missing_credentials() -> ApiError {
        ApiError {
            status: 401,
            code: "not_authenticated",
            title: "Authentication credentials were not provided.",
            detail: "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.".into(),
            source: Source::Pointer("/data/".into()),
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 401 for a well-formed header carrying an unknown key.
    pub(crate) fn incorrect_credentials() -> ApiError {
        ApiError {
            status: 401,
            code: "not_authenticated",
            title: "Incorrect authentication credentials.",
            detail: "Incorrect authentication credentials.".into(),
            source: Source::Pointer("/data/".into()),
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 403 for a key without the endpoint's scope.
    pub(crate) fn permission_denied(missing: &[&str]) -> ApiError {
        ApiError {
            status: 403,
            code: "permission_denied",
            title: "You do not have permission to perform this action.",
            detail: format!(
                "You do not have permission to perform this action. This API key is missing required scopes: {}.",
                missing.join(", ")
            ).into(),
            source: Source::Pointer("/data/".into()),
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 404 for an unknown path or id.
    pub(crate) fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            code: "not_found",
            title: "Not found.",
            detail: detail.into().into_boxed_str(),
            source: Source::None,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 404 for a path the revision does not serve.
    pub(crate) fn path_not_found(path: &str) -> ApiError {
        ApiError::not_found(format!("The path {path} was not found."))
    }

    /// 405 for a method the path does not serve.
    pub(crate) fn method_not_allowed(method: &str) -> ApiError {
        ApiError {
            status: 405,
            code: "method_not_allowed",
            title: "Method not allowed.",
            detail: format!("Method \"{method}\" not allowed.").into(),
            source: Source::None,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 409 for a body that contradicts the URL or the data.
    pub(crate) fn conflict(
        code: &'static str,
        detail: impl Into<String>,
        pointer: &str,
    ) -> ApiError {
        ApiError {
            status: 409,
            code,
            title: "Conflict.",
            detail: detail.into().into_boxed_str(),
            source: Source::Pointer(pointer.to_owned()),
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 415 for a body that is neither JSON:API nor JSON, worded as Django
    /// REST framework (Klaviyo's stack) does.
    pub(crate) fn unsupported_media_type(content_type: &str) -> ApiError {
        ApiError {
            status: 415,
            code: "unsupported_media_type",
            title: "Unsupported media type.",
            detail: format!("Unsupported media type \"{content_type}\" in request.").into(),
            source: Source::None,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 413 for a body over the stand-in's limit.
    pub(crate) fn too_large() -> ApiError {
        ApiError {
            status: 413,
            code: "request_too_large",
            title: "Request entity too large.",
            detail: "The request body is too large.".into(),
            source: Source::None,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// 429 `throttled`, with `Retry-After` when given.
    pub(crate) fn throttled(retry_after: Option<u64>) -> ApiError {
        let detail = match retry_after {
            Some(s) => format!("Request was throttled. Expected available in {s} seconds."),
            None => "Request was throttled.".to_owned(),
        };
        ApiError {
            status: 429,
            code: "throttled",
            title: "Request was throttled.",
            detail: detail.into(),
            source: Source::None,
            headers: retry_after
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default(),
            meta: None,
        }
    }

    /// Any status as Klaviyo words it, for injected faults.
    pub(crate) fn for_status(status: u16) -> ApiError {
        let (code, title, detail) = match status {
            400 => ("invalid", INVALID_TITLE, "Invalid input."),
            401 => (
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
            ),
            403 => (
                "permission_denied",
                "You do not have permission to perform this action.",
                "You do not have permission to perform this action.",
            ),
            404 => ("not_found", "Not found.", "Not found."),
            409 => (
                "conflict",
                "Conflict.",
                "A resource with this identifier already exists.",
            ),
            410 => ("gone", "Gone.", "This revision has been retired."),
            429 => return ApiError::throttled(None),
            500 => (
                "error",
                "A server error occurred.",
                "A server error occurred.",
            ),
            502 => ("error", "Bad gateway.", "Bad gateway."),
            503 => (
                "service_unavailable",
                "Service temporarily unavailable, try again later.",
                "Service temporarily unavailable, try again later.",
            ),
            504 => ("error", "Gateway timeout.", "Gateway timeout."),
            _ => ("error", "An error occurred.", "An error occurred."),
        };
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            source: Source::None,
            headers: Vec::new(),
            meta: None,
        }
    }

    /// The JSON:API error document, members in Klaviyo's order; `id` is a
    /// fresh UUID as on Klaviyo.
    pub(crate) fn body(&self, id: &str) -> Vec<u8> {
        let s = |v: &str| Value::String(v.to_owned()).to_string();
        let source = match &self.source {
            Source::None => String::new(),
            Source::Parameter(p) => format!(r#","source":{{"parameter":{}}}"#, s(p)),
            Source::Pointer(p) => format!(r#","source":{{"pointer":{}}}"#, s(p)),
        };
        format!(
            r#"{{"errors":[{{"id":{},"status":{},"code":{},"title":{},"detail":{}{source},"meta":{}}}]}}"#,
            s(id),
            self.status,
            s(self.code),
            s(self.title),
            s(&self.detail),
            Value::Object(self.meta.as_deref().cloned().unwrap_or_default()),
        )
        .into_bytes()
    }
}

/// 404 for the record `id` of `resource_type`.
pub(crate) fn not_found_id(resource_type: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("A {resource_type} with id {id} does not exist."))
}

/// What a failed store operation answers.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { id, .. } => {
            ApiError::not_found(format!("A resource with id {id} does not exist."))
        }
        StoreError::DuplicateId { id, .. } => ApiError::conflict(
            "conflict",
            format!("A resource with id {id} already exists."),
            "/data/id",
        ),
        StoreError::InvalidRecord(m) => ApiError::invalid(m, Source::Pointer("/data/".into())),
        StoreError::UnknownCollection(p) => ApiError::path_not_found(&p),
    }
}
