//! The client against the stand-in, over real HTTP on 127.0.0.1: headers,
//! pagination, error shapes, retries and pacing.

use std::time::{Duration, Instant};

use component_sdk::{Config, Env};
use klaviyo_fake::{FakeConfig, FakeKlaviyo, Fault, FaultRule, Method, RateLimitRule};
use serde_json::json;

use super::{Client, Credentials, TransportKind};
use crate::Error;
use crate::settings::Settings;

/// A stand-in and the environment that points the client at it.
struct Harness {
    fake: FakeKlaviyo,
    env: Env,
}

impl Harness {
    fn new(config: FakeConfig) -> Harness {
        let fake = FakeKlaviyo::start(config).expect("the stand-in starts");
        let env = Env::default()
            .with("KLAVIYO_BASE_URL", fake.base_url())
            // Retries in tests wait milliseconds, not seconds.
            .with("API_RETRY_DELAY", "5");
        Harness { fake, env }
    }

    fn with_env(mut self, name: &str, value: &str) -> Harness {
        self.env = self.env.with(name, value);
        self
    }
}

/// At most `limit` pages from `first`, following `links.next`.
async fn follow(c: &Client, first: url::Url, limit: usize) -> Vec<Result<super::Page, Error>> {
    let mut pages = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next.take().filter(|_| pages.len() < limit) {
        let page = c.get_page(&url).await;
        next = page.as_ref().ok().and_then(|p| p.next.clone());
        pages.push(page);
    }
    pages
}

fn client(h: &Harness, revision: &str) -> Client {
    let cfg = Config::new(
        json!({"apiKey": h.fake.api_key(), "revision": revision})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let settings = Settings::from_env(&h.env).expect("settings");
    Client::new(
        Credentials::from_config(&cfg).expect("credentials"),
        &settings,
    )
    .expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_carries_the_key_revision_media_type_and_user_agent() {
    let h = Harness::new(FakeConfig::default().size("profiles", 45));
    h.fake.set_page_cap(Some(10));
    let c = client(&h, "2026-07-15");
    let url = c.url("/profiles", &[("page[size]", "100")]);
    let pages = follow(&c, url, usize::MAX).await;
    assert_eq!(pages.len(), 5, "45 records in pages of at most 10");
    let total: usize = pages
        .into_iter()
        .map(|p| p.expect("page").records.len())
        .sum();
    assert_eq!(total, 45);
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 5);
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Klaviyo-API-Key {}", h.fake.api_key()).as_str())
        );
        assert_eq!(r.header("revision"), Some("2026-07-15"));
        assert_eq!(r.header("accept"), Some("application/vnd.api+json"));
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("klaviyo-component/")),
            "{r:?}"
        );
        assert_eq!(r.header("content-type"), None, "no body, no content type");
    }
    for r in &requests[1..] {
        assert!(
            r.path_and_query.contains("page%5Bcursor%5D="),
            "links.next followed verbatim: {}",
            r.path_and_query
        );
        assert!(
            r.path_and_query.contains("page%5Bsize%5D=100"),
            "the original parameters stay: {}",
            r.path_and_query
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_shape_becomes_a_readable_message() {
    let h = Harness::new(FakeConfig::default()).with_env("API_RETRIES_COUNT", "0");
    let c = client(&h, "2024-10-15");
    let bad_filter = c.url(
        "/profiles",
        &[("filter", "greater-or-equal(updated,2024-01-01T00:00:00Z)")],
    );
    let err = c.get_page(&bad_filter).await.expect_err("400");
    assert_eq!(
        err.to_string(),
        "Klaviyo answered 400 (invalid): 'greater-or-equal' operator for filter field 'updated' not supported [filter]"
    );
    let url = c.url("/profiles", &[]);
    let cases: Vec<(Fault, &str)> = vec![
        (
            Fault::Html(503),
            "Klaviyo answered 503 with a text/html body instead of JSON: ",
        ),
        (Fault::Status(500), "Klaviyo answered 500 ("),
        (
            Fault::MalformedJson,
            "Klaviyo's answer is not the JSON:API document it documents",
        ),
    ];
    for (fault, start) in cases {
        h.fake.push_fault(FaultRule::new(fault.clone()));
        let err = c.get_page(&url).await.expect_err("fails");
        assert!(err.to_string().starts_with(start), "{fault:?}: {err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
    h.fake.push_fault(FaultRule::new(Fault::Truncated));
    let err = c.get_page(&url).await.expect_err("truncated");
    assert!(
        matches!(err, Error::Transport(ref t) if t.kind == TransportKind::ConnectionLost),
        "{err}"
    );
    h.fake.push_fault(FaultRule::new(Fault::Drop));
    let err = c.get_page(&url).await.expect_err("dropped");
    assert!(matches!(err, Error::Transport(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_error_body() {
    let h = Harness::new(FakeConfig::default()).with_env("API_RETRIES_COUNT", "0");
    let c = client(&h, "2024-10-15");
    let err = c
        .get_page(&c.url("/nowhere-at-all", &[]))
        .await
        .expect_err("404");
    assert!(err.to_string().starts_with("Klaviyo answered 404"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_follow_the_policy() {
    let h = Harness::new(FakeConfig::default());
    let c = client(&h, "2024-10-15");
    let url = c.url("/lists", &[]);
    // Transient failures on a GET: retried, then success.
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).times(2));
    h.fake.push_fault(FaultRule::new(Fault::Drop));
    c.get_page(&url).await.expect("succeeds after retries");
    // One more than the budget: the last failure stands.
    h.fake.clear_requests();
    h.fake
        .push_fault(FaultRule::new(Fault::Status(502)).times(4));
    let err = c.get_page(&url).await.expect_err("retries exhausted");
    assert!(err.to_string().starts_with("Klaviyo answered 502"), "{err}");
    assert_eq!(
        h.fake.requests().len(),
        4,
        "1 attempt + API_RETRIES_COUNT (3) retries"
    );
    // A POST is not repeated after a 5xx: Klaviyo may have acted.
    h.fake.clear_requests();
    h.fake
        .push_fault(FaultRule::new(Fault::Status(500)).method(Method::POST));
    let post = c.url("/lists", &[]);
    let response = c
        .send(
            reqwest::Method::POST,
            &post,
            Some(br#"{"data":{"type":"list","attributes":{"name":"x"}}}"#),
        )
        .await
        .expect("an answer");
    assert_eq!(response.status, 500);
    assert_eq!(h.fake.requests().len(), 1);
    // …but it is after a 429, which says Klaviyo did nothing.
    h.fake.clear_requests();
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(0),
        })
        .method(Method::POST),
    );
    let response = c
        .send(
            reqwest::Method::POST,
            &post,
            Some(br#"{"data":{"type":"list","attributes":{"name":"y"}}}"#),
        )
        .await
        .expect("an answer");
    assert_eq!(response.status, 201);
    assert_eq!(h.fake.requests().len(), 2);
    // A POST its caller declares idempotent is repeated after a 5xx, like a
    // PUT: the same list is named twice, the stand-in counts both attempts.
    h.fake.clear_requests();
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).method(Method::POST));
    let response = c
        .send_as(
            reqwest::Method::POST,
            &post,
            Some(br#"{"data":{"type":"list","attributes":{"name":"z"}}}"#),
            super::Repeatability::Idempotent,
        )
        .await
        .expect("an answer");
    assert_eq!(response.status, 201);
    assert_eq!(h.fake.requests().len(), 2, "503, then the retry");
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_waited_for() {
    let h = Harness::new(FakeConfig::default());
    let c = client(&h, "2024-10-15");
    h.fake.push_fault(FaultRule::new(Fault::Status429 {
        retry_after: Some(2),
    }));
    let started = Instant::now();
    c.get_page(&c.url("/lists", &[]))
        .await
        .expect("succeeds after waiting");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2), "waited {waited:?}");
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");
    let times: Vec<_> = h.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(times, vec![429, 200]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_limit_fails_at_once() {
    let h = Harness::new(FakeConfig::default()).with_env("API_MAX_RETRY_AFTER", "5");
    let c = client(&h, "2024-10-15");
    h.fake.push_fault(FaultRule::new(Fault::Status429 {
        retry_after: Some(600),
    }));
    let started = Instant::now();
    let err = c.get_page(&c.url("/lists", &[])).await.expect_err("fails");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.to_string().starts_with("Klaviyo answered 429"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pacing_slows_down_before_the_window_runs_out() {
    let h = Harness::new(FakeConfig::default().size("profiles", 20));
    // A scaled-down window of 12 requests a minute: after the third request
    // fewer than 10 remain, and the client spreads them over the minute.
    h.fake.set_rate_limit(Some(RateLimitRule {
        burst_per_second: 50,
        steady_per_minute: 12,
    }));
    h.fake.set_page_cap(Some(1));
    let c = client(&h, "2024-10-15");
    let started = Instant::now();
    let pages = follow(&c, c.url("/profiles", &[]), 4).await;
    assert!(pages.iter().all(Result::is_ok));
    let statuses: Vec<u16> = h.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200; 4], "no 429");
    let waited = started.elapsed();
    // 9 left with ~59 s to go: about 5.9 s before the 4th request.
    assert!(
        waited > Duration::from_secs(4) && waited < Duration::from_secs(9),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_asked_at_once_keep_to_the_burst_window_the_answers_name() {
    let h = Harness::new(FakeConfig::default().size("profiles", 20));
    // A burst window no larger than the steady rate, which is then what
    // paces: its report is half a window old when it comes back.
    h.fake.set_rate_limit(Some(RateLimitRule {
        burst_per_second: 3,
        steady_per_minute: 600,
    }));
    h.fake.set_latency(Duration::from_millis(300));
    let c = std::sync::Arc::new(client(&h, "2026-10-15"));
    // One answer first, as the trigger's first page: it names the windows.
    let first = c.url("/profiles", &[]);
    assert!(c.get_page(&first).await.is_ok());
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..9 {
        let (c, url) = (c.clone(), first.clone());
        reads.spawn(async move { c.get_page(&url).await.map(|_| ()) });
    }
    while let Some(read) = reads.join_next().await {
        assert!(matches!(read, Ok(Ok(()))), "{read:?}");
    }
    let statuses: Vec<u16> = h.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200; 10], "no 429, no retry");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_link_off_the_api_is_not_followed() {
    let h = Harness::new(FakeConfig::default());
    let c = client(&h, "2024-10-15");
    let elsewhere = url::Url::parse("http://127.0.0.1:9/api/profiles").expect("url");
    let err = c
        .send(reqwest::Method::GET, &elsewhere, None)
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("refusing to send the API key"),
        "{err}"
    );
    assert!(h.fake.requests().is_empty());
}
