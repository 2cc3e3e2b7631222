//! The stand-in over real HTTP: one binary, one stand-in per test.
#![allow(clippy::unwrap_used)]

mod api;
mod bodies;
mod cli;
mod concurrency;
mod events;
mod faults;
mod get_by_id;
mod members;
mod paging;
mod profile_import;
mod revisions;
mod subscriptions;
mod validation;
mod writes;

use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use serde_json::Value;

pub const REV: &str = "2024-10-15";

/// What [`REV`] is served as on [`TODAY`]: retired on 2026-10-15, it falls
/// forward to the oldest revision still supported.
pub const SERVED: &str = "2025-01-15";

/// A stand-in and a client for it.
pub struct Api {
    pub fake: FakeKlaviyo,
    pub http: reqwest::blocking::Client,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error object.
    pub fn error(&self) -> Value {
        self.json()["errors"][0].clone()
    }

    pub fn detail(&self) -> String {
        self.error()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn data(&self) -> Vec<Value> {
        self.json()["data"].as_array().cloned().unwrap_or_default()
    }
}

/// The stand-in's date in tests that do not set one: revisions retire by
/// the date, so the clock's would change what `REV` means as years pass.
pub const TODAY: &str = "2026-12-01";

impl Api {
    /// A stand-in whose today is `config.today`, or [`TODAY`].
    pub fn new(mut config: FakeConfig) -> Api {
        config.today.get_or_insert_with(|| day(TODAY));
        Api::with_clock(config)
    }

    /// A stand-in whose today is the clock's unless `config` says.
    pub fn with_clock(config: FakeConfig) -> Api {
        Api {
            fake: FakeKlaviyo::start(config).unwrap(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    pub fn small() -> Api {
        Api::new(FakeConfig::default())
    }

    pub fn url(&self, path_and_query: &str) -> String {
        if path_and_query.starts_with("http") {
            path_and_query.to_owned()
        } else {
            format!("{}{path_and_query}", self.fake.base_url())
        }
    }

    /// A request with exactly these headers.
    pub fn request(
        &self,
        method: &str,
        pq: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(method, self.url(pq));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                rb = rb.header("content-type", "application/vnd.api+json");
            }
            rb = rb.body(b.to_owned());
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap();
        Resp {
            status,
            headers,
            text,
        }
    }

    pub fn call(&self, method: &str, pq: &str, rev: &str, body: Option<&str>) -> Resp {
        let auth = format!("Klaviyo-API-Key {}", self.fake.api_key());
        self.request(
            method,
            pq,
            &[
                ("authorization", &auth),
                ("revision", rev),
                ("accept", "application/vnd.api+json"),
            ],
            body,
        )
    }

    pub fn get(&self, pq: &str) -> Resp {
        self.call("GET", pq, REV, None)
    }

    /// `method pq` with `body` as JSON:API, in revision `rev`.
    pub fn send(&self, method: &str, pq: &str, rev: &str, body: &Value) -> Resp {
        self.call(method, pq, rev, Some(&body.to_string()))
    }

    pub fn get_rev(&self, pq: &str, rev: &str) -> Resp {
        self.call("GET", pq, rev, None)
    }

    /// Follows `links.next` from `first` and returns every resource.
    pub fn all_pages(&self, first: &str, rev: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut url = first.to_owned();
        for _ in 0..10_000 {
            let r = self.get_rev(&url, rev);
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            let doc = r.json();
            out.extend(doc["data"].as_array().cloned().unwrap_or_default());
            match doc["links"]["next"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return out,
            }
        }
        panic!("paging did not end");
    }
}

/// An id as a path segment (catalog ids hold `$` and `:`).
pub fn seg(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// `filter=...` percent-encoded the way careful clients do.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn ids(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A date, `YYYY-MM-DD`.
pub fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
