//! Injected faults: what a real network, Cloudflare and an overloaded
//! Klaviyo do to a client, on demand and deterministically.

use std::time::Duration;

pub use hyper::Method;

use crate::errors::{ApiError, Source};

/// One kind of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 `throttled` (JSON:API body), with `Retry-After` when given.
    Status429 { retry_after: Option<u64> },
    /// Any status with a Klaviyo JSON:API error body (e.g. 500, 503),
    /// instead of the request taking effect: nothing is written.
    Status(u16),
    /// The request takes effect (a write is applied: the record is created,
    /// the event recorded), then the answer is this status with a Klaviyo
    /// error body instead: what a client sees when Klaviyo fails after the
    /// write, and must not repeat a write that is not idempotent for.
    StatusAfterApplying(u16),
    /// The request takes effect, then the connection closes without an
    /// answer (a timeout or a reset after the write).
    DropAfterApplying,
    /// Serve normally, but only after this delay.
    Slow(Duration),
    /// Close the connection without sending a response.
    Drop,
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// A Cloudflare-style `text/html` page with this status (403 adds
    /// `cf-mitigated: challenge`, as Cloudflare's bot check does).
    Html(u16),
    /// The real response's headers with its full `Content-Length`, half of
    /// its body, then the connection closes.
    Truncated,
    /// 200 whose (chunked) body never ends.
    Endless,
    /// 200 whose body (valid JSON) is exactly this many bytes.
    Oversized(usize),
    /// 400 "Invalid cursor provided.", as for a re-encoded cursor.
    InvalidCursor,
    /// An error document with this status whose `detail` and
    /// `source.parameter` quote the request's `Authorization` header, plus
    /// the same text in an `x-echo-authorization` response header: what a
    /// verbose proxy or a debugging error page does. For proving that a
    /// client never shows the key it sent, whatever the answer says. (A 2xx
    /// status serves the same document as a successful body.)
    EchoKey(u16),
}

/// When to inject a fault: the `skip`+1-th to `skip`+`times`-th requests
/// that match `method`, `path_prefix` and `only_with_cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub method: Option<Method>,
    /// Prefix of the request path, with or without `/api`
    /// (`/profiles` matches `/api/profiles/?...`).
    pub path_prefix: Option<String>,
    /// Only requests that carry `page[cursor]` (i.e. not first pages).
    pub only_with_cursor: bool,
    pub skip: usize,
    pub times: usize,
    pub fault: Fault,
}

impl FaultRule {
    /// The next matching request (any method, any path) gets `fault`, once.
    pub fn new(fault: Fault) -> FaultRule {
        FaultRule {
            method: None,
            path_prefix: None,
            only_with_cursor: false,
            skip: 0,
            times: 1,
            fault,
        }
    }

    pub fn method(mut self, m: Method) -> Self {
        self.method = Some(m);
        self
    }

    pub fn path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    pub fn with_cursor(mut self) -> Self {
        self.only_with_cursor = true;
        self
    }

    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
}

/// `/profiles` and `/api/profiles` both mean the API path `/api/profiles`.
pub(crate) fn api_prefix(prefix: &str) -> String {
    if prefix.starts_with("/api") {
        prefix.to_owned()
    } else if prefix.starts_with('/') {
        format!("/api{prefix}")
    } else {
        format!("/api/{prefix}")
    }
}

/// A rule and how often it matched.
#[derive(Debug)]
pub(crate) struct Armed {
    rule: FaultRule,
    prefix: Option<String>,
    seen: usize,
}

impl Armed {
    pub(crate) fn new(rule: FaultRule) -> Armed {
        Armed {
            prefix: rule.path_prefix.as_deref().map(api_prefix),
            rule,
            seen: 0,
        }
    }

    fn exhausted(&self) -> bool {
        self.seen >= self.rule.skip.saturating_add(self.rule.times)
    }
}

/// The fault for this request, if any rule fires; counts matches.
pub(crate) fn fire(
    rules: &mut Vec<Armed>,
    method: &Method,
    path: &str,
    has_cursor: bool,
) -> Option<Fault> {
    let mut fired = None;
    for a in rules.iter_mut() {
        let r = &a.rule;
        let matches = r.method.as_ref().is_none_or(|m| m == method)
            && a.prefix.as_deref().is_none_or(|p| path.starts_with(p))
            && (!r.only_with_cursor || has_cursor);
        if !matches || a.exhausted() {
            continue;
        }
        a.seen += 1;
        if a.seen > r.skip {
            fired = Some(r.fault.clone());
            break;
        }
    }
    rules.retain(|a| !a.exhausted());
    fired
}

/// The error of [`Fault::EchoKey`]: Klaviyo's error document, quoting
/// `authorization` (the request's header, as received) back.
pub(crate) fn echo_key_error(status: u16, authorization: Option<&str>) -> ApiError {
    let quoted = authorization.unwrap_or("(no Authorization header)");
    let mut e = ApiError::for_status(status);
    e.detail = format!(
        "The request carried \"Authorization: {quoted}\"; this header is not accepted here."
    )
    .into();
    e.source = Source::Parameter(format!("Authorization: {quoted}"));
    e.headers.push(("x-echo-authorization", quoted.to_owned()));
    e
}

/// A Cloudflare-style HTML error page.
pub(crate) fn html_page(status: u16) -> String {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    if status == 403 {
        return "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head>\
                <body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
            .to_owned();
    }
    format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_times_and_filters() {
        let mut rules = vec![Armed::new(
            FaultRule::new(Fault::Status(503))
                .path("/profiles")
                .method(Method::GET)
                .with_cursor()
                .skip(1)
                .times(2),
        )];
        let get = Method::GET;
        assert_eq!(
            fire(&mut rules, &get, "/api/profiles", false),
            None,
            "no cursor"
        );
        assert_eq!(
            fire(&mut rules, &get, "/api/lists", true),
            None,
            "other path"
        );
        assert_eq!(
            fire(&mut rules, &Method::POST, "/api/profiles", true),
            None,
            "other method"
        );
        assert_eq!(
            fire(&mut rules, &get, "/api/profiles/", true),
            None,
            "skipped"
        );
        assert_eq!(
            fire(&mut rules, &get, "/api/profiles/", true),
            Some(Fault::Status(503))
        );
        assert_eq!(
            fire(&mut rules, &get, "/api/profiles/", true),
            Some(Fault::Status(503))
        );
        assert_eq!(
            fire(&mut rules, &get, "/api/profiles/", true),
            None,
            "used up"
        );
        assert!(rules.is_empty());
    }

    #[test]
    fn echo_key_quotes_the_header_in_detail_source_and_a_header() {
        let e = echo_key_error(403, Some("Klaviyo-API-Key pk_x"));
        assert_eq!(e.status, 403);
        assert!(e.detail.contains("Authorization: Klaviyo-API-Key pk_x"));
        assert_eq!(
            e.source,
            Source::Parameter("Authorization: Klaviyo-API-Key pk_x".into())
        );
        assert_eq!(
            e.headers,
            vec![("x-echo-authorization", "Klaviyo-API-Key pk_x".to_owned())]
        );
        let body: serde_json::Value = serde_json::from_slice(&e.body("id")).expect("json");
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .expect("detail")
                .contains("pk_x")
        );
    }
}
