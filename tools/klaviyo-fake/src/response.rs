//! An answer, and how it goes on the wire: headers, and the bodies of the
//! faults that misbehave at the byte level (truncated, endless, padded).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use crate::errors::ApiError;
use crate::faults::Fault;
use crate::time;

pub(crate) const JSON_API: &str = "application/vnd.api+json";

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
    pub(crate) fn raw_json(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
            content_type: Some(JSON_API),
        }
    }

    pub(crate) fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
        }
    }

    pub(crate) fn error(e: &ApiError, id: &str) -> Answer {
        let mut a = Answer::raw_json(e.status, e.body(id));
        a.headers.extend(e.headers.iter().cloned());
        a
    }
}

/// The response for `answer`, shaped by `fault`; a dropped connection is
/// an error, which makes hyper close it without answering.
pub(crate) fn build(
    answer: Answer,
    fault: Option<Fault>,
    base_url: &str,
) -> Result<Response<RespBody>, DropConnection> {
    if matches!(fault, Some(Fault::Drop | Fault::DropAfterApplying)) {
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
