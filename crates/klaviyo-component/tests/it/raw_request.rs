//! Make Raw Request against the stand-in.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

fn output(out: &Outcome) -> Value {
    out.assert_ok();
    let bodies = out.bodies();
    assert_eq!(bodies.len(), 1, "one message");
    let body = bodies.into_iter().next().expect("one");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, vec!["headers", "responseBody", "statusCode"]);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn every_method() {
    let h = Harness::new(FakeConfig::default());
    let list_id = h.fake.ids("lists")[0].clone();

    let got = output(
        &h.raw(
            json!({}),
            json!({"url": "/profiles?page[size]=20", "method": "get"}),
        )
        .await,
    );
    assert_eq!(got["statusCode"], 200);
    assert_eq!(
        got["responseBody"]["data"].as_array().map(Vec::len),
        Some(20)
    );
    assert_eq!(got["headers"]["content-type"], "application/vnd.api+json");

    let created = output(
        &h.raw(
            json!({}),
            json!({"url": "profiles", "method": "POST",
                   "data": {"data": {"type": "profile", "attributes": {"email": "new@example.com"}}}}),
        )
        .await,
    );
    assert_eq!(created["statusCode"], 201);
    let id = created["responseBody"]["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(h.fake.get("profiles", &id).is_some());

    let patched = output(
        &h.raw(
            json!({}),
            json!({"url": format!("/profiles/{id}"), "method": "PATCH",
                   "data": {"data": {"type": "profile", "id": id, "attributes": {"first_name": "Ada"}}}}),
        )
        .await,
    );
    assert_eq!(patched["statusCode"], 200);
    let put = output(
        &h.raw(
            json!({}),
            json!({"url": format!("/lists/{list_id}"), "method": "put",
                   "data": {"data": {"type": "list", "id": list_id, "attributes": {"name": "renamed"}}}}),
        )
        .await,
    );
    assert_eq!(put["statusCode"], 200);

    let deleted = output(
        &h.raw(
            json!({}),
            json!({"url": format!("/lists/{list_id}"), "method": "DELETE"}),
        )
        .await,
    );
    assert_eq!(deleted["statusCode"], 204);
    assert_eq!(deleted["responseBody"], Value::Null, "no body");

    let requests = h.fake.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, vec!["GET", "POST", "PATCH", "PUT", "DELETE"]);
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Klaviyo-API-Key {}", h.fake.api_key()).as_str())
        );
        assert_eq!(r.header("revision"), Some("2026-10-15"), "the default");
        let has_body = r.body.as_deref().is_some_and(|b| !b.is_empty());
        assert_eq!(
            r.header("content-type").is_some(),
            has_body,
            "{} {}",
            r.method,
            r.path_and_query
        );
        if has_body {
            assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_with_and_without_do_not_throw_404() {
    let h = Harness::new(FakeConfig::default());
    let body = json!({"url": "/profiles/NOPE", "method": "GET"});
    let failed = h.raw(json!({}), body.clone()).await;
    let err = failed.error.as_ref().expect("a 404 fails");
    assert_eq!(
        err.to_string(),
        "Klaviyo answered 404 (not_found): A profile with id NOPE does not exist. Check the url, or \
         check \"Don't throw error on 404 Response\" to receive 404 answers as messages",
        "one period between Klaviyo's detail and the hint"
    );
    for checked in [json!(true), json!("true"), json!("on")] {
        let out = output(&h.raw(json!({"doNotThrow404": checked}), body.clone()).await);
        assert_eq!(out["statusCode"], 404);
        assert!(out["responseBody"]["errors"].is_array());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_that_are_not_json_are_passed_as_text() {
    let h = Harness::new(FakeConfig::default()).with_env("API_RETRIES_COUNT", "0");
    h.fake.push_fault(FaultRule::new(Fault::MalformedJson));
    let out = output(
        &h.raw(json!({}), json!({"url": "/lists", "method": "GET"}))
            .await,
    );
    assert_eq!(out["statusCode"], 200);
    assert!(out["responseBody"].is_string(), "{out}");
    h.fake.push_fault(FaultRule::new(Fault::Html(403)));
    let failed = h
        .raw(json!({}), json!({"url": "/lists", "method": "GET"}))
        .await;
    let err = failed.error.expect("403 fails");
    assert!(
        err.to_string()
            .starts_with("Klaviyo answered 403 with a text/html body instead of JSON"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_retried_and_a_post_is_never_repeated_after_a_5xx_or_a_timeout() {
    let h = Harness::new(FakeConfig::default()).with_env("API_REQUEST_TIMEOUT", "700");
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(1),
        })
        .method(Method::GET),
    );
    let out = output(
        &h.raw(json!({}), json!({"url": "/lists", "method": "GET"}))
            .await,
    );
    assert_eq!(out["statusCode"], 200);
    assert_eq!(h.fake.requests().len(), 2);

    let post = json!({"url": "/lists", "method": "POST", "data": {"data": {"type": "list", "attributes": {"name": "once"}}}});
    for fault in [
        Fault::Status(500),
        Fault::Status(503),
        Fault::Slow(Duration::from_millis(1_500)),
        Fault::Drop,
    ] {
        h.fake.clear_requests();
        h.fake
            .push_fault(FaultRule::new(fault.clone()).method(Method::POST).times(5));
        let failed = h.raw(json!({}), post.clone()).await;
        assert!(failed.error.is_some(), "{fault:?} fails");
        assert_eq!(h.fake.requests().len(), 1, "{fault:?}: sent once");
        h.fake.clear_faults();
    }
    h.fake.clear_requests();
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(0),
        })
        .method(Method::PATCH),
    );
    let id = h.fake.ids("lists")[1].clone();
    let patch = json!({"url": format!("/lists/{id}"), "method": "PATCH", "data": {"data": {"type": "list", "id": id, "attributes": {"name": "x"}}}});
    let out = output(&h.raw(json!({}), patch).await);
    assert_eq!(out["statusCode"], 200);
    assert_eq!(
        h.fake.requests().len(),
        2,
        "after a 429 the PATCH is sent again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_larger_than_a_message_is_an_error_that_says_what_to_ask() {
    // 8 MB of JSON: under the client's 32 MiB, over the platform's 7 MB.
    let (count, base) = json_server(
        |_, _| json!({"data": [{"type": "profile", "id": "big", "attributes": {"pad": "x".repeat(8_000_000)}}]}),
    );
    let h = Harness::new(FakeConfig::empty()).with_env("KLAVIYO_BASE_URL", &base);
    let failed = h
        .raw(json!({}), json!({"url": "/profiles", "method": "GET"}))
        .await;
    assert!(failed.bodies().is_empty(), "nothing emitted");
    let err = failed.error.expect("refused");
    assert_eq!(
        err.to_string(),
        "Klaviyo answered 200 with 8.0 MB, more than the platform carries in one message (7.0 MB), \
         so nothing was emitted (a write was carried out all the same). Ask for less in msg.body.url: \
         a smaller page[size], or only the fields needed (fields[profile]=email,first_name)"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "asked once");
}

/// A listener that counts connections: proof that nothing reached it.
fn decoy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("127.0.0.1:{port}"), hits)
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_that_lead_elsewhere_are_refused_before_connecting() {
    let h = Harness::new(FakeConfig::default());
    let (decoy, hits) = decoy();
    let base = h.fake.base_url().to_owned();
    let stand_in = base.trim_end_matches("/api").to_owned();
    let cases = vec![
        format!("http://{decoy}/api/profiles"),
        format!("//{decoy}/api/profiles"),
        format!(
            "https://{}/api/profiles",
            stand_in.trim_start_matches("http://")
        ),
        format!("{stand_in}@{decoy}/api/profiles"),
        format!(
            "http://user:pw@{}/api/profiles",
            stand_in.trim_start_matches("http://")
        ),
        format!("\\\\{decoy}\\api"),
        "/../../profiles".to_owned(),
        "/profiles/%2e%2e/%2e%2e/x".to_owned(),
        "/profiles\r\nHost: evil".to_owned(),
        "/profiles\u{0}".to_owned(),
        format!("http:{decoy}/api/profiles"),
    ];
    for url in cases {
        let out = h.raw(json!({}), json!({"url": url, "method": "GET"})).await;
        let err = out
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{url:?} was accepted"));
        assert_eq!(err.kind().name(), "InputError", "{url:?}: {err}");
        assert!(err.to_string().contains("is refused"), "{url:?}: {err}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the other listener"
    );
    assert!(h.fake.requests().is_empty(), "nor the stand-in");
    // Absolute URLs under the base, such as a links.next, are fine.
    let out = output(
        &h.raw(
            json!({}),
            json!({"url": format!("{base}/lists"), "method": "GET"}),
        )
        .await,
    );
    assert_eq!(out["statusCode"], 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_stays_out_of_output_and_errors() {
    let h = Harness::new(FakeConfig::default());
    let key = h.fake.api_key();
    let ok = h
        .raw(json!({}), json!({"url": "/lists", "method": "GET"}))
        .await;
    let text = serde_json::to_string(&ok.bodies()).expect("json");
    assert!(!text.contains(&key));
    let failed = h
        .raw(json!({}), json!({"url": "/profiles/NOPE", "method": "GET"}))
        .await;
    assert!(!failed.error.expect("404").to_string().contains(&key));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_name_the_problem() {
    let h = Harness::new(FakeConfig::default());
    let cases = vec![
        (
            json!({"method": "GET"}),
            "\"Url\" is required: give msg.body.url",
        ),
        (
            json!({"url": "/lists"}),
            "\"Method\" is required: give msg.body.method, one of GET, POST, PUT, PATCH or DELETE",
        ),
        (
            json!({"url": 5, "method": "GET"}),
            "\"Url\" (msg.body.url) must be text, got a number",
        ),
        (
            json!("/lists"),
            "the message body (msg.body) must be an object with \"url\" and \"method\"",
        ),
        (
            json!({"url": "/lists", "method": "OPTIONS"}),
            "\"Method\" must be one of GET, POST, PUT, PATCH or DELETE, got \"OPTIONS\"",
        ),
        (
            json!({"Url": "/lists", "method": "GET"}),
            "unknown member `Url` of the message body — did you mean `url` (Url)?",
        ),
        (json!({"url": "", "method": "GET"}), "\"Url\" is required"),
    ];
    for (body, want) in cases {
        let out = h.raw(json!({}), body.clone()).await;
        let err = out.error.unwrap_or_else(|| panic!("{body} accepted"));
        assert!(err.to_string().starts_with(want), "{body}: {err}");
    }
    assert!(h.fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_mapped_as_text_is_sent_as_json() {
    let h = Harness::new(FakeConfig::empty());
    let document = json!({"data": {"type": "list", "attributes": {"name": "From text"}}});
    let created = output(
        &h.raw(
            json!({}),
            json!({"url": "/lists", "method": "POST", "data": document.to_string()}),
        )
        .await,
    );
    assert_eq!(created["statusCode"], 201, "{created}");
    let sent = h.fake.requests();
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_str(sent[0].body.as_deref().expect("a body")).expect("json");
    assert_eq!(body, document, "the JSON the text holds, not a JSON string");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_that_are_not_inputs_are_refused_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    for (body, want) in [
        (
            json!({"method": "POST", "url": "/lists", "body": {"data": {"type": "list", "attributes": {"name": "x"}}}}),
            "unknown member `body` of the message body — did you mean `data` (Request Body)?",
        ),
        (
            json!({"method": "POST", "url": "/lists", "data": "name=x"}),
            "\"Request Body\" (msg.body.data) is text that is not JSON (unexpected characters at line 1 column 2): map the JSON:API document as an object, such as {\"data\": {\"type\": \"profile\", \"attributes\": {\"email\": \"…\"}}}, or text that parses as one",
        ),
    ] {
        let out = h.raw(json!({}), body.clone()).await;
        assert_eq!(out.failure(), ("InputError", want.to_owned()), "{body}");
    }
    assert!(h.fake.requests().is_empty(), "{:?}", h.request_lines());
}
