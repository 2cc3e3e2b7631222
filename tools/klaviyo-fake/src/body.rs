//! A write's request body, checked in Klaviyo's order: media type (415),
//! size (413), JSON (400), primary data (400), the resource type (409),
//! the id against the URL's (400, 409), then the revision's request schema
//! (400 naming the first problem, see [`crate::schema`]).

use serde_json::Value;

use crate::errors::{ApiError, Source};
use crate::request::{RequestCtx, Target};
use crate::schema;

/// The checked document (`{"data": …}`), or `Value::Null` for an
/// operation without a body (a DELETE by id): whatever was sent is ignored.
pub(crate) fn read(
    r: &RequestCtx<'_>,
    op: &klaviyo_spec::Operation,
    t: &Target,
) -> Result<Value, ApiError> {
    let Some(body) = op.body else {
        return Ok(Value::Null);
    };
    check_media_type(r, body.content_type)?;
    if r.body_too_large {
        return Err(ApiError::too_large());
    }
    let doc: Value = serde_json::from_slice(r.body.unwrap_or_default()).map_err(|e| {
        ApiError::invalid(
            format!("JSON parse error - {e}"),
            Source::Pointer("/data".into()),
        )
    })?;
    let Some(data) = doc.get("data") else {
        // Django REST framework JSON:API's wording.
        return Err(ApiError::invalid(
            "Received document does not contain primary data",
            Source::Pointer("/data".into()),
        ));
    };
    if let Some(expected) = body.data_type {
        check_types(data, expected)?;
    }
    if let Some(path_id) = by_id(op, t) {
        check_id(data, path_id)?;
    }
    if let Some(s) = schema::request_schema(t.rev_idx, op.method, op.path)
        && let Err(p) = schema::validate(&s, &doc)
    {
        return Err(ApiError::invalid(p.detail, Source::Pointer(p.pointer)));
    }
    Ok(doc)
}

/// JSON:API's media type, or plain JSON (which Klaviyo also parses:
/// Segment's and PostHog's Klaviyo destinations send `application/json`).
fn check_media_type(r: &RequestCtx<'_>, declared: &str) -> Result<(), ApiError> {
    let ct = r.content_type.as_deref().unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = if declared == crate::response::JSON_API {
        media == crate::response::JSON_API || media == "application/json"
    } else {
        media == declared
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(ct))
    }
}

/// Every resource object's `type` is the one the endpoint takes: else 409,
/// worded as Django REST framework JSON:API words it. A missing `type` is
/// left to the schema (400).
fn check_types(data: &Value, expected: &str) -> Result<(), ApiError> {
    let mismatch = |t: &str, pointer: String| {
        ApiError::conflict(
            "conflict",
            format!(
                "The resource object's type ({t}) is not the type that constitute the collection represented by the endpoint ({expected})."
            ),
            &pointer,
        )
    };
    match data {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(t) = item.get("type").and_then(Value::as_str)
                    && t != expected
                {
                    return Err(mismatch(t, format!("/data/{i}/type")));
                }
            }
            Ok(())
        }
        _ => match data.get("type").and_then(Value::as_str) {
            Some(t) if t != expected => Err(mismatch(t, "/data/type".into())),
            _ => Ok(()),
        },
    }
}

/// The URL's id when the operation works on one resource by id (`PATCH
/// /lists/{id}`, not `POST /lists/{id}/relationships/profiles`).
fn by_id<'t>(op: &klaviyo_spec::Operation, t: &'t Target) -> Option<&'t str> {
    let last = op.path.rsplit('/').next().unwrap_or("");
    (op.method == klaviyo_spec::Method::Patch && last.starts_with('{'))
        .then(|| t.params.last().map(String::as_str))
        .flatten()
}

/// `data.id` must be there and be the URL's (Django REST framework
/// JSON:API's checks and wording).
fn check_id(data: &Value, path_id: &str) -> Result<(), ApiError> {
    match data.get("id") {
        None | Some(Value::Null) => Err(ApiError::invalid(
            "The resource identifier object must contain an 'id' member",
            Source::Pointer("/data/id".into()),
        )),
        Some(Value::String(id)) if id == path_id => Ok(()),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            Err(ApiError::conflict(
                "conflict",
                format!(
                    "The resource object's id ({shown}) does not match the endpoint's id ({path_id})."
                ),
                "/data/id",
            ))
        }
    }
}
