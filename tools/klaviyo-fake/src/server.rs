//! The HTTP side: hyper 1 over TCP, routing, Klaviyo's checks in Klaviyo's
//! order, faults at the connection level, the request log and hooks.
//!
//! Everything that touches shared state happens under one mutex and never
//! across an `.await`; delays (latency, slow faults) are slept after the
//! lock is released, so a slow response never blocks other connections.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::cursor::{self, CursorMode, PageRequest};
use crate::data::seed::{mix, uuid};
use crate::data::template;
use crate::errors::ApiError;
use crate::faults::{self, Armed, Fault};
use crate::query::{self, ListQuery};
use crate::rate_limit::{Limiter, RateLimitRule, Verdict};
use crate::store::{RenderOpts, Store, StoreError, percent_path, revision_index};
use crate::time::{self, Micros};
use crate::{ApiKey, Hook, HookAction, RecordedRequest};

/// Request bodies larger than this are refused (Klaviyo's own limit is in
/// the same region for JSON payloads).
const MAX_BODY: usize = 5 * 1024 * 1024;

/// State shared by the server and the handle.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub secret: u64,
    pub base_url: String,
}

pub(crate) struct State {
    pub store: Store,
    pub api_key: String,
    pub extra_keys: Vec<ApiKey>,
    pub faults: Vec<Armed>,
    pub hooks: Vec<HookState>,
    pub limiter: Limiter,
    pub rate_rule: Option<RateLimitRule>,
    pub latency: Duration,
    pub page_cap: Option<usize>,
    pub cursor_mode: CursorMode,
    pub log: Vec<RecordedRequest>,
    pub log_limit: usize,
    pub errors: u64,
}

pub(crate) struct HookState {
    pub prefix: String,
    pub after: usize,
    pub seen: usize,
    pub action: Option<HookAction>,
}

impl HookState {
    pub fn new(h: Hook) -> HookState {
        HookState {
            prefix: faults::api_prefix(&h.path_prefix),
            after: h.after.max(1),
            seen: 0,
            action: Some(h.action),
        }
    }
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking hook must not take the stand-in down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The connection is closed without a response (hyper does so when the
/// service fails).
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Response bodies, including the misbehaving ones.
pub(crate) enum RespBody {
    Full(Option<Bytes>),
    /// Sends `part`, waits for it to be flushed, then fails so that hyper
    /// closes the connection short of the announced `Content-Length`.
    Truncated(Option<Bytes>, Option<Pin<Box<tokio::time::Sleep>>>),
    /// Sends `head`, then `chunk` forever.
    Endless {
        head: Option<Bytes>,
        chunk: Bytes,
    },
    /// Sends `head`, `pad` bytes of padding, then `tail`.
    Padded {
        head: Option<Bytes>,
        pad: usize,
        tail: Option<Bytes>,
    },
}

const PAD_CHUNK: usize = 64 * 1024;

impl hyper::body::Body for RespBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = |b: Bytes| Poll::Ready(Some(Ok(Frame::data(b))));
        match this {
            RespBody::Full(b) => match b.take() {
                Some(b) => frame(b),
                None => Poll::Ready(None),
            },
            RespBody::Truncated(b, pause) => {
                if let Some(b) = b.take() {
                    return frame(b);
                }
                // Failing right away would discard the part still in
                // hyper's write buffer; give it time to reach the socket.
                let sleep = pause
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "truncated by an injected fault",
                    )))),
                }
            }
            RespBody::Endless { head, chunk } => match head.take() {
                Some(h) => frame(h),
                None => frame(chunk.clone()),
            },
            RespBody::Padded { head, pad, tail } => {
                if let Some(h) = head.take() {
                    return frame(h);
                }
                if *pad > 0 {
                    let n = (*pad).min(PAD_CHUNK);
                    *pad -= n;
                    return frame(Bytes::from(vec![b'x'; n]));
                }
                match tail.take() {
                    Some(t) => frame(t),
                    None => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RespBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            RespBody::Full(None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// A computed answer before faults shape it into bytes on the wire.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub content_type: Option<&'static str>,
}

impl Answer {
    fn raw_json(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
            content_type: Some(JSON_API),
        }
    }

    fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
        }
    }

    fn error(e: &ApiError, id: &str) -> Answer {
        let mut a = Answer::raw_json(e.status, e.body(id));
        a.headers.extend(e.headers.iter().cloned());
        a
    }
}

const JSON_API: &str = "application/vnd.api+json";

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => Some(b.to_bytes()),
        Err(_) => None,
    };
    let method = parts.method.clone();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let (path, raw_query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (path_and_query.clone(), String::new()),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let params = query::decode_params(&raw_query);
    let has_cursor = params.iter().any(|(k, _)| k == "page[cursor]");
    let body_text = body
        .as_ref()
        .filter(|b| !b.is_empty())
        .map(|b| String::from_utf8_lossy(b).into_owned());

    let (answer, fault, delay) = {
        let mut st = shared.lock();
        let now = time::now_micros();
        st.store.apply_due(now);
        st.errors += 1;
        let error_id = uuid(mix(shared.secret ^ st.errors));
        let fault = faults::fire(&mut st.faults, &method, &path, has_cursor);
        let answer = match &fault {
            None | Some(Fault::Slow(_)) | Some(Fault::Truncated) => {
                let ctx = RequestCtx {
                    method: &method,
                    path: &path,
                    params: &params,
                    authorization: header("authorization"),
                    revision: header("revision"),
                    content_type: header("content-type"),
                    body: body.as_deref(),
                    body_too_large: body.is_none(),
                    now,
                    base_url: &shared.base_url,
                    secret: shared.secret,
                };
                respond(&mut st, &ctx).unwrap_or_else(|e| Answer::error(&e, &error_id))
            }
            Some(Fault::Status429 { retry_after }) => Answer::error(&ApiError::throttled(*retry_after), &error_id),
            Some(Fault::Status(code)) => Answer::error(&ApiError::for_status(*code), &error_id),
            Some(Fault::InvalidCursor) => Answer::error(&query::invalid_cursor(), &error_id),
            Some(Fault::EchoKey(code)) => Answer::error(
                &faults::echo_key_error(*code, header("authorization").as_deref()),
                &error_id,
            ),
            Some(Fault::Html(code)) => {
                let mut a = Answer {
                    status: *code,
                    headers: vec![("server", "cloudflare".to_owned())],
                    body: faults::html_page(*code).into_bytes(),
                    content_type: Some("text/html; charset=UTF-8"),
                };
                if *code == 403 {
                    a.headers.push(("cf-mitigated", "challenge".to_owned()));
                }
                a
            }
            Some(Fault::MalformedJson) => Answer::raw_json(
                200,
                br#"{"data":[{"type":"profile","id":"01HZX3","attributes":{"email":"a@b.c","updated":"2024-05-01T12:00:00+00:00"},"links":{"self":"#.to_vec(),
            ),
            Some(Fault::Endless) | Some(Fault::Oversized(_)) => Answer::raw_json(200, Vec::new()),
            Some(Fault::Drop) => Answer::empty(0),
        };
        tracing::debug!(method = %method, path = %path_and_query, status = answer.status, fault = ?fault, "request");
        if st.log.len() >= st.log_limit {
            let drop = (st.log.len() + 1)
                .saturating_sub(st.log_limit)
                .max(st.log_limit / 2)
                .min(st.log.len());
            st.log.drain(..drop);
        }
        st.log.push(RecordedRequest {
            method: method.as_str().to_owned(),
            path_and_query: path_and_query.clone(),
            headers,
            body: body_text,
            status: answer.status,
        });
        // Hooks see only requests the client was actually served.
        if (200..300).contains(&answer.status)
            && fault.as_ref().is_none_or(|f| matches!(f, Fault::Slow(_)))
        {
            run_hooks(&mut st, &path);
        }
        let delay = st.latency
            + match &fault {
                Some(Fault::Slow(d)) => *d,
                _ => Duration::ZERO,
            };
        (answer, fault, delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    build(answer, fault, &shared.base_url)
}

fn run_hooks(st: &mut State, path: &str) {
    let mut due = Vec::new();
    for h in st.hooks.iter_mut() {
        if h.action.is_some() && path.starts_with(&h.prefix) {
            h.seen += 1;
            if h.seen == h.after
                && let Some(a) = h.action.take()
            {
                due.push(a);
            }
        }
    }
    st.hooks.retain(|h| h.action.is_some());
    for action in due {
        action(&mut st.store);
    }
}

fn build(
    answer: Answer,
    fault: Option<Fault>,
    base_url: &str,
) -> Result<Response<RespBody>, DropConnection> {
    if matches!(fault, Some(Fault::Drop)) {
        return Err(DropConnection);
    }
    let mut resp =
        Response::builder().status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK));
    if let Some(ct) = answer.content_type {
        resp = resp.header("content-type", ct);
    }
    resp = resp.header("date", time::http_date());
    for (k, v) in &answer.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp = resp.header(k, v);
        }
    }
    let body = match fault {
        Some(Fault::Truncated) => {
            let full = answer.body.len().max(2);
            let half = Bytes::from(answer.body[..answer.body.len() / 2].to_vec());
            resp = resp.header("content-length", full.to_string());
            RespBody::Truncated(Some(half), None)
        }
        Some(Fault::Endless) => {
            let mut chunk = String::new();
            while chunk.len() < 16 * 1024 {
                chunk.push_str(&format!(
                    r#"{{"type":"profile","id":"01HZENDLESS","attributes":{{"email":"loop@example.com"}},"links":{{"self":"{base_url}/profiles/01HZENDLESS/"}}}},"#
                ));
            }
            RespBody::Endless {
                head: Some(Bytes::from_static(b"{\"data\":[")),
                chunk: Bytes::from(chunk),
            }
        }
        Some(Fault::Oversized(n)) => {
            let head = format!(
                r#"{{"data":[],"links":{{"self":"{base_url}/","next":null,"prev":null}},"meta":{{"padding":""#
            );
            let tail = "\"}}";
            let pad = n.saturating_sub(head.len() + tail.len());
            let total = head.len() + pad + tail.len();
            resp = resp.header("content-length", total.to_string());
            RespBody::Padded {
                head: Some(Bytes::from(head)),
                pad,
                tail: Some(Bytes::from_static(tail.as_bytes())),
            }
        }
        _ if answer.body.is_empty() => RespBody::Full(None),
        _ => RespBody::Full(Some(Bytes::from(answer.body))),
    };
    resp.body(body).map_err(|_| DropConnection)
}

/// What `respond` needs from the request.
struct RequestCtx<'a> {
    method: &'a Method,
    path: &'a str,
    params: &'a [(String, String)],
    authorization: Option<String>,
    revision: Option<String>,
    content_type: Option<String>,
    body: Option<&'a [u8]>,
    body_too_large: bool,
    now: Micros,
    base_url: &'a str,
    secret: u64,
}

/// Klaviyo's checks, in order: path, credentials, revision, endpoint,
/// scope, rate limit, parameters; then the operation.
fn respond(st: &mut State, r: &RequestCtx<'_>) -> Result<Answer, ApiError> {
    let Some(rest) =
        r.path
            .strip_prefix("/api/")
            .or(if r.path == "/api" { Some("") } else { None })
    else {
        return Err(ApiError::not_found(format!(
            "The path {} was not found.",
            r.path
        )));
    };

    // Credentials.
    let scopes: Option<Vec<String>> = match r
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Klaviyo-API-Key "))
    {
        None => return Err(ApiError::missing_credentials()),
        Some(key) => {
            let key = key.trim();
            if key == st.api_key {
                None
            } else if let Some(k) = st.extra_keys.iter().find(|k| k.key == key) {
                Some(k.scopes.clone())
            } else {
                return Err(ApiError::incorrect_credentials());
            }
        }
    };

    // Revision.
    let revision = r.revision.as_deref().map(str::trim).unwrap_or("");
    if revision.is_empty() {
        return Err(ApiError::invalid(
            "Missing required header 'revision'. Use the format YYYY-MM-DD[.suffix], e.g. 2024-10-15.",
            crate::errors::Source::Parameter("revision".into()),
        ));
    }
    if !valid_revision(revision, r.now) {
        return Err(ApiError::invalid(
            format!(
                "Invalid revision '{revision}'. Use the format YYYY-MM-DD[.suffix] and a released revision, e.g. 2024-10-15."
            ),
            crate::errors::Source::Parameter("revision".into()),
        ));
    }
    let spec = klaviyo_spec::for_revision(revision);
    let rev_idx = revision_index(revision);

    // Endpoint.
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (name, id) = match segs.as_slice() {
        [name] => (*name, None),
        [name, id] => (*name, Some(percent_decode(id))),
        _ => {
            return Err(ApiError::not_found(format!(
                "The path {} was not found.",
                r.path
            )));
        }
    };
    let coll_path = format!("/{name}");
    let Some(coll) = spec.collection(&coll_path) else {
        return Err(ApiError::not_found(format!(
            "The path {} was not found.",
            r.path
        )));
    };
    let write = !matches!(*r.method, Method::GET | Method::HEAD);
    if let Some(granted) = &scopes {
        let needed: Vec<String> = coll
            .scopes
            .iter()
            .map(|s| {
                if write {
                    s.replace(":read", ":write")
                } else {
                    (*s).to_owned()
                }
            })
            .collect();
        let missing: Vec<&str> = needed
            .iter()
            .filter(|s| {
                !granted
                    .iter()
                    .any(|g| g == *s || (!write && g == &s.replace(":read", ":write")))
            })
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::permission_denied(&missing));
        }
    }

    // Rate limit, per endpoint (method and path template).
    let mut extra_headers = vec![("x-klaviyo-api-revision", revision.to_owned())];
    if let Some(rule) = st.rate_rule {
        let endpoint = format!(
            "{} {}{}",
            r.method,
            coll_path,
            if id.is_some() { "/{id}" } else { "" }
        );
        match st.limiter.check(&endpoint, rule, Instant::now()) {
            Verdict::Allowed(h) => extra_headers.extend(h),
            Verdict::Throttled { retry_after } => {
                return Err(ApiError::throttled(Some(retry_after)));
            }
        }
    }

    let ci = st
        .store
        .index_of(&coll_path)
        .map_err(|_| ApiError::not_found(format!("The path {} was not found.", r.path)))?;
    let Some(tpl) = template::for_revision(rev_idx, coll.path) else {
        return Err(ApiError::not_found(format!(
            "The path {} was not found.",
            r.path
        )));
    };

    let mut answer = match (r.method.clone(), id) {
        (Method::GET, None) => list(st, r, coll, ci, &tpl, rev_idx)?,
        (Method::GET, Some(id)) => {
            let Some(slot) = st.store.visible_slot(ci, &id) else {
                return Err(not_found_id(coll.resource_type, &id));
            };
            single(st, r, ci, slot, &tpl, 200, coll.resource_type)?
        }
        (Method::POST, None) => {
            let data = body_data(r)?;
            check_type(&data, coll.resource_type)?;
            if coll.path == "/events" {
                let record = event_from_request(&data);
                st.store
                    .insert_as(&coll_path, record, false)
                    .map_err(store_error)?;
                Answer::empty(202)
            } else {
                let id = st
                    .store
                    .insert_as(&coll_path, data, true)
                    .map_err(store_error)?;
                let slot = st.store.cols[ci].slot_of(&id).unwrap_or(0);
                single(st, r, ci, slot, &tpl, 201, coll.resource_type)?
            }
        }
        (Method::PATCH | Method::PUT, Some(id)) => {
            let data = body_data(r)?;
            check_type(&data, coll.resource_type)?;
            if let Some(body_id) = data.get("id").and_then(Value::as_str)
                && body_id != id
            {
                return Err(ApiError {
                    status: 409,
                    code: "conflict",
                    title: "Conflict.",
                    detail: format!(
                        "The id '{body_id}' in the body does not match the id '{id}' in the URL."
                    ),
                    source: crate::errors::Source::Pointer("/data/id".into()),
                    headers: Vec::new(),
                });
            }
            let attrs = match data.get("attributes") {
                Some(Value::Object(m)) => m.clone(),
                _ => serde_json::Map::new(),
            };
            if st.store.visible_slot(ci, &id).is_none() {
                return Err(not_found_id(coll.resource_type, &id));
            }
            st.store
                .update(&coll_path, &id, |a| {
                    for (k, v) in attrs {
                        a.insert(k, v);
                    }
                })
                .map_err(store_error)?;
            let slot = st.store.cols[ci].slot_of(&id).unwrap_or(0);
            single(st, r, ci, slot, &tpl, 200, coll.resource_type)?
        }
        (Method::DELETE, Some(id)) => {
            if st.store.visible_slot(ci, &id).is_none() {
                return Err(not_found_id(coll.resource_type, &id));
            }
            st.store.delete(&coll_path, &id).map_err(store_error)?;
            Answer::empty(204)
        }
        (m, _) => return Err(ApiError::method_not_allowed(m.as_str())),
    };
    answer.headers.extend(extra_headers);
    Ok(answer)
}

/// `YYYY-MM-DD` (a real date, not after today) with an optional `.suffix`.
fn valid_revision(rev: &str, now: Micros) -> bool {
    let (date, suffix) = match rev.split_once('.') {
        Some((d, s)) => (d, Some(s)),
        None => (rev, None),
    };
    if suffix.is_some_and(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return false;
    }
    if date.len() != 10 || date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return false;
    }
    match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) => {
            let today = chrono::DateTime::from_timestamp_micros(now).map(|t| t.date_naive());
            today.is_none_or(|t| d <= t)
        }
        Err(_) => false,
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn not_found_id(resource_type: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("A {resource_type} with id {id} does not exist."))
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { id, .. } => {
            ApiError::not_found(format!("A resource with id {id} does not exist."))
        }
        StoreError::DuplicateId { id, .. } => ApiError {
            status: 409,
            code: "duplicate_profile",
            title: "Conflict.",
            detail: format!("A resource with id {id} already exists."),
            source: crate::errors::Source::Pointer("/data/id".into()),
            headers: Vec::new(),
        },
        StoreError::InvalidRecord(m) => {
            ApiError::invalid(m, crate::errors::Source::Pointer("/data/".into()))
        }
        StoreError::UnknownCollection(p) => {
            ApiError::not_found(format!("The path {p} was not found."))
        }
    }
}

/// The `data` member of a JSON request body.
fn body_data(r: &RequestCtx<'_>) -> Result<Value, ApiError> {
    // JSON:API's media type or plain JSON; anything else is 415, worded as
    // Django REST framework (Klaviyo's stack) does.
    let ct = r.content_type.as_deref().unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/vnd.api+json" && media != "application/json" {
        return Err(ApiError {
            status: 415,
            code: "unsupported_media_type",
            title: "Unsupported media type.",
            detail: format!("Unsupported media type \"{ct}\" in request."),
            source: crate::errors::Source::None,
            headers: Vec::new(),
        });
    }
    if r.body_too_large {
        return Err(ApiError {
            status: 413,
            code: "request_too_large",
            title: "Request entity too large.",
            detail: "The request body is too large.".into(),
            source: crate::errors::Source::None,
            headers: Vec::new(),
        });
    }
    let bytes = r.body.unwrap_or_default();
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(
            format!("JSON parse error - {e}"),
            crate::errors::Source::Pointer("/data".into()),
        )
    })?;
    match v.get("data") {
        Some(d @ Value::Object(_)) => Ok(d.clone()),
        _ => Err(ApiError::invalid(
            "The request body must be a JSON:API document with a 'data' object.",
            crate::errors::Source::Pointer("/data".into()),
        )),
    }
}

fn check_type(data: &Value, resource_type: &str) -> Result<(), ApiError> {
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == resource_type || (resource_type == "event" && t == "event") => Ok(()),
        Some(t) => Err(ApiError {
            status: 409,
            code: "conflict",
            title: "Conflict.",
            detail: format!(
                "The type '{t}' does not match the endpoint's resource type '{resource_type}'."
            ),
            source: crate::errors::Source::Pointer("/data/type".into()),
            headers: Vec::new(),
        }),
        None => Err(ApiError::invalid(
            "Missing required field 'type'.",
            crate::errors::Source::Pointer("/data/type".into()),
        )),
    }
}

/// An event-create document as a stored event: its `time` (possibly in the
/// past: the backdated-event trap) becomes `datetime`.
fn event_from_request(data: &Value) -> Value {
    let a = data.get("attributes").cloned().unwrap_or(Value::Null);
    let mut attrs = serde_json::Map::new();
    if let Some(t) = a.get("time").and_then(Value::as_str) {
        attrs.insert("datetime".into(), Value::String(t.to_owned()));
    }
    attrs.insert(
        "event_properties".into(),
        a.get("properties").cloned().unwrap_or_else(|| json!({})),
    );
    if let Some(u) = a.get("unique_id") {
        attrs.insert("uuid".into(), u.clone());
    }
    json!({ "attributes": attrs })
}

fn single(
    st: &mut State,
    r: &RequestCtx<'_>,
    ci: usize,
    slot: u32,
    tpl: &template::Template,
    status: u16,
    rtype: &str,
) -> Result<Answer, ApiError> {
    let excluded = query::additional_only(rtype);
    let opts = RenderOpts {
        fields: None,
        additional: &[],
        excluded,
    };
    let mut out = Vec::with_capacity(2048);
    out.extend_from_slice(b"{\"data\":");
    st.store.write_latest(&mut out, ci, slot, tpl, &opts);
    let id = st.store.cols[ci].id_at(slot).into_owned();
    out.extend_from_slice(b",\"links\":{\"self\":");
    crate::data::write_str(
        &mut out,
        &format!(
            "{}{}/{}/",
            r.base_url,
            st.store.cols[ci].path,
            percent_path(&id)
        ),
    );
    out.extend_from_slice(b"}}");
    Ok(Answer::raw_json(status, out))
}

fn list(
    st: &mut State,
    r: &RequestCtx<'_>,
    coll: &klaviyo_spec::Collection,
    ci: usize,
    tpl: &template::Template,
    rev_idx: usize,
) -> Result<Answer, ApiError> {
    let q: ListQuery = query::parse_list(coll, tpl, r.params, r.now, r.secret)?;
    // Klaviyo checks metric ids exist (klaviyo-api-python#41).
    if coll.path == "/events"
        && let Some(p) = q.preds.iter().find(|p| p.field == "metric_id")
        && let crate::data::Val::Str(m) = &p.value
    {
        let metrics = st.store.index_of("/metrics").ok();
        if metrics
            .and_then(|mi| st.store.visible_slot(mi, m))
            .is_none()
        {
            return Err(ApiError::param(
                "filter",
                format!("Metric IDs ['{m}'] do not exist."),
            ));
        }
    }
    // Endpoints without `page[cursor]` answer everything at once.
    let size = if coll.declares("page[cursor]") {
        q.size
    } else {
        usize::MAX
    };
    let size = match st.page_cap {
        Some(cap) => size.min(cap.max(1)),
        None => size,
    };
    let sort_field = q.sort.as_ref().map(|(f, _)| f.as_str());
    let scope = query::cursor_scope(coll, sort_field);
    let page = cursor::page(
        &mut st.store,
        PageRequest {
            ci,
            sort: q.sort.as_ref().map(|(f, d)| (f.as_str(), *d)),
            preds: &q.preds,
            size,
            cursor: q.cursor.clone(),
            mode: st.cursor_mode,
            rev: rev_idx,
        },
    );
    let excluded = query::additional_only(coll.resource_type);
    let opts = RenderOpts {
        fields: q.fields.as_deref(),
        additional: &q.additional,
        excluded,
    };
    let mut out = Vec::with_capacity(page.slots.len() * 1500 + 512);
    out.extend_from_slice(b"{\"data\":[");
    for (i, &slot) in page.slots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        st.store.write_resource(&mut out, ci, slot, tpl, &opts);
    }
    out.extend_from_slice(b"],\"links\":{\"self\":");
    let self_link = query::link(r.base_url, coll.path, r.params, None);
    let self_link = match r.params.iter().find(|(k, _)| k == "page[cursor]") {
        Some((_, c)) => query::link(r.base_url, coll.path, r.params, Some(c)),
        None => self_link,
    };
    crate::data::write_str(&mut out, &self_link);
    for (name, c) in [("next", &page.next), ("prev", &page.prev)] {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        match c {
            Some(c) => {
                let token = cursor::encode(c, r.secret, &scope);
                crate::data::write_str(
                    &mut out,
                    &query::link(r.base_url, coll.path, r.params, Some(&token)),
                );
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    if !q.include.is_empty() {
        out.extend_from_slice(b",\"included\":");
        let included = st.store.included(ci, &page.slots, &q.include, rev_idx);
        let _ = serde_json::to_writer(&mut out, &included);
    }
    // Only the 2026-07-15 and later files document a top-level `meta`.
    if klaviyo_spec::revisions()[rev_idx].revision >= "2026-07-15" {
        out.extend_from_slice(b",\"meta\":{\"agent_hints\":{\"next_steps\":[]}}");
    }
    out.push(b'}');
    Ok(Answer::raw_json(200, out))
}

/// Accepts connections until `shutdown` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> State {
        let sizes = std::collections::BTreeMap::new();
        State {
            store: Store::new(crate::store::StoreConfig {
                seed: 3,
                anchor: time::now_micros(),
                sizes: &sizes,
                default_size: Some(15),
                base_url: "http://127.0.0.1:1/api".into(),
                revision: "2024-10-15".into(),
                bulk_clusters: true,
            }),
            api_key: "k".into(),
            extra_keys: Vec::new(),
            faults: Vec::new(),
            hooks: Vec::new(),
            limiter: Limiter::default(),
            rate_rule: None,
            latency: Duration::ZERO,
            page_cap: None,
            cursor_mode: CursorMode::Keyset,
            log: Vec::new(),
            log_limit: 10,
            errors: 0,
        }
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z\\[\\]]{1,12}=[ -~]{0,20}",
            "filter=[a-z(),'\"\\\\\\[\\] 0-9.:+TZ_-]{0,60}",
            Just("filter=and(equals(messages.channel,'email'),greater-than(updated_at,2024-01-01T00:00:00Z))".to_owned()),
            Just("filter=any(email,['a','b'])".to_owned()),
            "sort=-?[a-z_.]{0,12}",
            "page%5Bsize%5D=-?[0-9]{0,4}",
            "page%5Bcursor%5D=[A-Za-z0-9_-]{0,40}",
            "include=[a-z,-]{0,20}",
            "fields%5B[a-z-]{1,10}%5D=[a-z,._]{0,20}",
            "[%0-9A-Fa-f&=+]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// No request input makes the stand-in panic.
        #[test]
        fn random_requests_never_panic(
            path in prop_oneof![
                Just("/api/profiles".to_owned()), Just("/api/campaigns/".to_owned()), Just("/api/events".to_owned()),
                Just("/api/lists/x".to_owned()), Just("/api/catalog-items".to_owned()), "/api/[a-z-]{0,15}(/[ -~]{0,10})?",
                "[ -~]{0,20}",
            ],
            parts in proptest::collection::vec(fragment(), 0..4),
            method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::PATCH), Just(Method::DELETE), Just(Method::PUT)],
            rev in prop_oneof![Just("2024-10-15".to_owned()), Just("2026-07-15".to_owned()), Just("2026-10-15".to_owned()), "[0-9.-]{0,14}"],
            body in proptest::option::of("[ -~]{0,40}"),
        ) {
            let mut st = state();
            let query = parts.join("&");
            let params = query::decode_params(&query);
            let ctx = RequestCtx {
                method: &method,
                path: &path,
                params: &params,
                authorization: Some("Klaviyo-API-Key k".into()),
                revision: Some(rev.clone()),
                content_type: Some("application/vnd.api+json".into()),
                body: body.as_deref().map(str::as_bytes),
                body_too_large: false,
                now: time::now_micros(),
                base_url: "http://127.0.0.1:1/api",
                secret: 1,
            };
            if let Ok(a) = respond(&mut st, &ctx) {
                prop_assert!((200..300).contains(&a.status));
                if !a.body.is_empty() {
                    prop_assert!(serde_json::from_slice::<Value>(&a.body).is_ok(), "invalid JSON served");
                }
            }
        }
    }
}
