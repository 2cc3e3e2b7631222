//! Injected faults, each seen by a real client and at the socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use klaviyo_fake::{Fault, FaultRule, Method};

use crate::{Api, REV};

/// Sends a raw GET and reads until the server closes or `limit` bytes or
/// 1.5 s pass. Returns (bytes, whether the server closed the connection).
fn raw_get(api: &Api, path: &str, limit: usize) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(api.fake.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Klaviyo-API-Key {}\r\nrevision: {REV}\r\nConnection: close\r\n\r\n",
        api.fake.api_key()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() >= limit {
                    return (out, false);
                }
            }
            Err(_) => return (out, false),
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap()
}

#[test]
fn status_faults_carry_klaviyo_bodies() {
    let api = Api::small();
    api.fake.push_fault(FaultRule::new(Fault::Status429 {
        retry_after: Some(7),
    }));
    let r = api.get("/profiles");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.error()["code"], "throttled");
    api.fake
        .push_fault(FaultRule::new(Fault::Status(503)).times(2));
    assert_eq!(api.get("/profiles").status, 503);
    let r = api.get("/profiles");
    assert_eq!(r.error()["status"], 503);
    assert_eq!(api.get("/profiles").status, 200, "used up");
    api.fake.push_fault(FaultRule::new(Fault::InvalidCursor));
    let r = api.get("/profiles");
    assert_eq!(r.status, 400);
    assert_eq!(r.detail(), "Invalid cursor provided.");
}

#[test]
fn faults_match_method_path_cursor_and_skip() {
    let api = Api::small();
    api.fake.push_fault(
        FaultRule::new(Fault::Status(500))
            .method(Method::GET)
            .path("/profiles")
            .with_cursor()
            .skip(1),
    );
    let first = api.get("/profiles?page%5Bsize%5D=5");
    assert_eq!(first.status, 200, "first pages carry no cursor");
    let next = first.json()["links"]["next"].as_str().unwrap().to_owned();
    assert_eq!(api.get("/lists").status, 200);
    assert_eq!(api.get(&next).status, 200, "skipped once");
    assert_eq!(api.get(&next).status, 500);
    assert_eq!(api.get(&next).status, 200);
}

#[test]
fn slow_and_latency_delay_the_answer() {
    let api = Api::small();
    api.fake
        .push_fault(FaultRule::new(Fault::Slow(Duration::from_millis(300))));
    let t = Instant::now();
    assert_eq!(api.get("/lists").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    api.fake.set_latency(Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(api.get("/lists").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[test]
fn drop_closes_without_an_answer() {
    let api = Api::small();
    api.fake.push_fault(FaultRule::new(Fault::Drop));
    let (bytes, closed) = raw_get(&api, "/api/lists", 1 << 20);
    assert!(
        closed && bytes.is_empty(),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    api.fake.push_fault(FaultRule::new(Fault::Drop));
    assert!(api.http.get(api.url("/lists")).send().is_err());
    assert_eq!(api.fake.requests().last().unwrap().status, 0);
}

#[test]
fn malformed_json_and_html_pages() {
    let api = Api::small();
    api.fake.push_fault(FaultRule::new(Fault::MalformedJson));
    let r = api.get("/profiles");
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    api.fake.push_fault(FaultRule::new(Fault::Html(403)));
    let r = api.get("/profiles");
    assert_eq!(r.status, 403);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(r.header("cf-mitigated"), Some("challenge"));
    api.fake.push_fault(FaultRule::new(Fault::Html(502)));
    let r = api.get("/profiles");
    assert_eq!(r.status, 502);
    assert!(r.text.contains("cloudflare"));
}

#[test]
fn truncated_body_is_shorter_than_its_content_length() {
    let api = Api::small();
    api.fake.push_fault(FaultRule::new(Fault::Truncated));
    let (bytes, closed) = raw_get(&api, "/api/profiles", 1 << 22);
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(closed);
    assert!(
        body.len() < content_length(head),
        "{} >= {}",
        body.len(),
        content_length(head)
    );
    api.fake.push_fault(FaultRule::new(Fault::Truncated));
    let r = api
        .http
        .get(api.url("/profiles"))
        .header(
            "authorization",
            format!("Klaviyo-API-Key {}", api.fake.api_key()),
        )
        .header("revision", REV)
        .send()
        .unwrap();
    assert!(r.text().is_err(), "reading the body fails");
}

#[test]
fn endless_body_never_ends() {
    let api = Api::small();
    api.fake.push_fault(FaultRule::new(Fault::Endless));
    let (bytes, closed) = raw_get(&api, "/api/profiles", 3 << 20);
    assert!(!closed && bytes.len() >= 3 << 20);
    assert!(String::from_utf8_lossy(&bytes[..200]).starts_with("HTTP/1.1 200"));
    // A client with a timeout gives up; the stand-in keeps serving others.
    api.fake.push_fault(FaultRule::new(Fault::Endless));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let r = client
        .get(api.url("/profiles"))
        .send()
        .and_then(|r| r.bytes());
    assert!(r.is_err());
    assert_eq!(api.get("/lists").status, 200);
}

#[test]
fn oversized_body_is_exactly_that_big_and_valid_json() {
    let api = Api::small();
    api.fake
        .push_fault(FaultRule::new(Fault::Oversized(3_000_000)));
    let r = api.get("/profiles");
    assert_eq!(r.status, 200);
    assert_eq!(r.text.len(), 3_000_000);
    assert!(r.json()["data"].as_array().unwrap().is_empty());
}

#[test]
fn echo_key_quotes_the_authorization_header_back() {
    let api = Api::small();
    let key = api.fake.api_key();
    for status in [400, 500, 200] {
        api.fake
            .push_fault(FaultRule::new(Fault::EchoKey(status)).path("/lists"));
        let r = api.get("/lists");
        assert_eq!(r.status, status);
        let quoted = format!("Klaviyo-API-Key {key}");
        assert_eq!(r.header("x-echo-authorization"), Some(quoted.as_str()));
        let error = r.error();
        assert_eq!(error["status"], status);
        assert!(r.detail().contains(&quoted), "{}", r.text);
        assert!(
            error["source"]["parameter"]
                .as_str()
                .unwrap()
                .contains(&quoted),
            "{}",
            r.text
        );
    }
    assert_eq!(api.get("/lists").status, 200, "used up");
    // Without the header there is nothing to echo, and the answer says so.
    api.fake.push_fault(FaultRule::new(Fault::EchoKey(401)));
    let r = api.request("GET", "/lists", &[("revision", REV)], None);
    assert_eq!(r.status, 401);
    assert!(r.detail().contains("no Authorization header"), "{}", r.text);
}

#[test]
fn a_fault_after_applying_lets_the_write_happen_then_fails() {
    let api = Api::small();
    let lists_before = api.fake.ids("lists").len();
    api.fake.push_fault(
        FaultRule::new(Fault::StatusAfterApplying(503))
            .method(Method::POST)
            .path("/lists"),
    );
    let body = serde_json::json!({"data": {"type": "list", "attributes": {"name": "Applied"}}});
    let r = api.send("POST", "/lists", REV, &body);
    assert_eq!(r.status, 503);
    assert_eq!(r.error()["code"], "service_unavailable");
    assert_eq!(
        api.fake.ids("lists").len(),
        lists_before + 1,
        "the list was created"
    );
    assert_eq!(api.fake.count_requests("POST", "/lists"), 1);
    // Status(…) fails before the write: nothing is created.
    api.fake
        .push_fault(FaultRule::new(Fault::Status(500)).method(Method::POST));
    assert_eq!(api.send("POST", "/lists", REV, &body).status, 500);
    assert_eq!(api.fake.ids("lists").len(), lists_before + 1);
    // A dropped connection after the write.
    api.fake
        .push_fault(FaultRule::new(Fault::DropAfterApplying).path("/profile-import"));
    let import = serde_json::json!({"data": {"type": "profile", "attributes": {"email": "dropped@example.com"}}});
    let sent = api
        .http
        .post(api.url("/profile-import"))
        .header(
            "authorization",
            format!("Klaviyo-API-Key {}", api.fake.api_key()),
        )
        .header("revision", REV)
        .header("content-type", "application/vnd.api+json")
        .body(import.to_string())
        .send();
    assert!(sent.is_err(), "no answer");
    let again = api.send("POST", "/profile-import", REV, &import);
    assert_eq!(
        again.status, 200,
        "the first attempt created it: {}",
        again.text
    );
    assert_eq!(api.fake.count_requests("post", "/api/profile-import/"), 2);
}

#[test]
fn rate_limits_and_faults_apply_to_every_endpoint() {
    let api = Api::small();
    api.fake.set_rate_limit(Some(klaviyo_fake::RateLimitRule {
        burst_per_second: 100,
        steady_per_minute: 2,
    }));
    let list = api.fake.ids("lists")[0].clone();
    let profile = api.fake.ids("profiles")[0].clone();
    let path = format!("/lists/{list}/relationships/profiles");
    let body = serde_json::json!({"data": [{"type": "profile", "id": profile}]});
    assert_eq!(api.send("POST", &path, REV, &body).status, 204);
    let r = api.send("POST", &path, REV, &body);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    let r = api.send("POST", &path, REV, &body);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // Counted per method and path template: another list's members are the
    // same endpoint, DELETE is another.
    let other = api.fake.ids("lists")[1].clone();
    let r = api.send(
        "POST",
        &format!("/lists/{other}/relationships/profiles"),
        REV,
        &body,
    );
    assert_eq!(r.status, 429, "the same endpoint");
    assert_eq!(
        api.send("DELETE", &path, REV, &body).status,
        204,
        "another endpoint"
    );
    api.fake.set_rate_limit(None);
    api.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(1),
        })
        .method(Method::POST)
        .path("/events"),
    );
    let event = serde_json::json!({"data": {"type": "event", "attributes": {"properties": {},
        "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "r@example.com"}}}}}});
    assert_eq!(api.send("POST", "/events", REV, &event).status, 429);
    assert_eq!(api.send("POST", "/events", REV, &event).status, 202);
}
