//! The connection side: hyper 1 over TCP; per request, the injected fault,
//! the answer, the request log, hooks and the added delay.
//!
//! Everything that touches shared state happens under one mutex and never
//! across an `.await`; delays (latency, slow faults) are slept after the
//! lock is released, so a slow response never blocks other connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDate;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response};

use crate::api;
use crate::data::seed::{mix, uuid};
use crate::errors::ApiError;
use crate::faults::{self, Fault};
use crate::hooks;
use crate::query;
use crate::request::RequestCtx;
use crate::request_log::{Entry, RecordedRequest};
use crate::response::{Answer, DropConnection, RespBody, build};
use crate::state::Shared;
use crate::time::{self, Micros};

/// Request bodies larger than this are refused (Klaviyo's own limit is in
/// the same region for JSON payloads).
const MAX_BODY: usize = 5 * 1024 * 1024;

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, DropConnection> {
    let req = Received::read(req).await;
    let (answer, fault, delay, entry) = decide(&shared, &req);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    shared.lock().log.answered(entry, Instant::now());
    build(answer, fault, &shared.base_url)
}

/// A request as read off the connection.
struct Received {
    method: Method,
    /// Raw, as received.
    path_and_query: String,
    path: String,
    params: Vec<(String, String)>,
    headers: HeaderMap,
    /// `None` when the body was larger than [`MAX_BODY`].
    body: Option<Bytes>,
}

impl Received {
    async fn read(req: Request<Incoming>) -> Received {
        let (parts, body) = req.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => Some(b.to_bytes()),
            Err(_) => None,
        };
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let (path, raw_query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), q),
            None => (path_and_query.clone(), ""),
        };
        Received {
            method: parts.method,
            params: query::decode_params(raw_query),
            path,
            path_and_query,
            headers: parts.headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    fn ctx<'a>(&'a self, now: Micros, today: NaiveDate, shared: &'a Shared) -> RequestCtx<'a> {
        RequestCtx {
            method: &self.method,
            path: &self.path,
            params: &self.params,
            authorization: self.header("authorization"),
            revision: self.header("revision"),
            content_type: self.header("content-type"),
            body: self.body.as_deref(),
            body_too_large: self.body.is_none(),
            now,
            today,
            // Klaviyo documents the value `1`.
            fall_forward_opt_out: self
                .header("x-klaviyo-revision-fall-forward-opt-out")
                .is_some_and(|v| v.trim() == "1"),
            base_url: &shared.base_url,
            secret: shared.secret,
        }
    }

    fn record(&self, status: u16, received: Instant, latency: Duration) -> RecordedRequest {
        RecordedRequest {
            method: self.method.as_str().to_owned(),
            path_and_query: self.path_and_query.clone(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: self
                .body
                .as_ref()
                .filter(|b| !b.is_empty())
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            status,
            received,
            latency,
            answered: None,
        }
    }
}

/// Under the lock: the fault that fires (if any), the answer, the log
/// entry and the hooks; returns the answer, the fault that shapes its
/// bytes, how long to wait before sending it, and its log entry.
fn decide(shared: &Shared, req: &Received) -> (Answer, Option<Fault>, Duration, Entry) {
    let mut guard = shared.lock();
    let st = &mut *guard;
    let received = Instant::now();
    let now = time::now_micros();
    st.store.apply_due(now);
    st.errors += 1;
    let error_id = uuid(mix(shared.secret ^ st.errors));
    let has_cursor = req.params.iter().any(|(k, _)| k == "page[cursor]");
    let fault = faults::fire(&mut st.faults, &req.method, &req.path, has_cursor);
    let faulted = fault
        .as_ref()
        .and_then(|f| faulted_answer(f, &error_id, req.header("authorization").as_deref()));
    let answer = match faulted {
        Some(a) => a,
        None => {
            let ctx = req.ctx(now, today(st.today, now), shared);
            let real = api::respond(st, &ctx).unwrap_or_else(|e| Answer::error(&e, &error_id));
            match &fault {
                Some(Fault::StatusAfterApplying(code)) => {
                    Answer::error(&ApiError::for_status(*code), &error_id)
                }
                Some(Fault::DropAfterApplying) => Answer::empty(0),
                _ => real,
            }
        }
    };
    let slow = match &fault {
        Some(Fault::Slow(d)) => *d,
        _ => Duration::ZERO,
    };
    // Drawn per request from a hash of its number, so a seed gives the
    // same latencies in the same order.
    let delay = st
        .latency
        .draw(mix(shared.secret ^ 0x6c61_7465 ^ st.errors))
        + slow;
    tracing::debug!(method = %req.method, path = %req.path_and_query, status = answer.status, fault = ?fault, "request");
    let entry = st.log.push(req.record(answer.status, received, delay));
    // Hooks see only requests the client was actually served.
    if (200..300).contains(&answer.status)
        && fault.as_ref().is_none_or(|f| matches!(f, Fault::Slow(_)))
    {
        hooks::run(&mut st.hooks, &mut st.store, &req.path);
    }
    (answer, fault, delay, entry)
}

/// The stand-in's date: as configured, or the clock's (UTC).
fn today(configured: Option<NaiveDate>, now: Micros) -> NaiveDate {
    configured.unwrap_or_else(|| {
        chrono::DateTime::from_timestamp_micros(now)
            .map(|t| t.date_naive())
            .unwrap_or_default()
    })
}

/// The answer a fault puts in place of the real one; `None` for faults
/// that deliver the real answer (late, or cut short on the wire).
fn faulted_answer(fault: &Fault, error_id: &str, authorization: Option<&str>) -> Option<Answer> {
    Some(match fault {
        Fault::Slow(_)
        | Fault::Truncated
        | Fault::StatusAfterApplying(_)
        | Fault::DropAfterApplying => return None,
        Fault::Status429 { retry_after } => {
            Answer::error(&ApiError::throttled(*retry_after), error_id)
        }
        Fault::Status(code) => Answer::error(&ApiError::for_status(*code), error_id),
        Fault::InvalidCursor => Answer::error(&query::invalid_cursor(), error_id),
        Fault::EchoKey(code) => {
            Answer::error(&faults::echo_key_error(*code, authorization), error_id)
        }
        Fault::Html(code) => {
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
        Fault::MalformedJson => Answer::raw_json(
            200,
            br#"{"data":[{"type":"profile","id":"01HZX3","attributes":{"email":"a@b.c","updated":"2024-05-01T12:00:00+00:00"},"links":{"self":"#.to_vec(),
        ),
        Fault::Endless | Fault::Oversized(_) => Answer::raw_json(200, Vec::new()),
        Fault::Drop => Answer::empty(0),
    })
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
