//! Every method of the raw-request action, rate limits and the request log.

use std::time::Duration;

use klaviyo_fake::{FakeConfig, RateLimitRule};
use serde_json::json;

use crate::{Api, REV};

#[test]
fn get_post_patch_put_delete() {
    let api = Api::new(FakeConfig::default().size("lists", 12));
    let id = api.fake.ids("lists")[0].clone();
    let r = api.get(&format!("/lists/{id}/"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["id"], id.as_str());
    assert_eq!(r.json()["data"]["type"], "list");
    assert_eq!(
        api.get(&format!("/lists/{id}")).status,
        200,
        "with or without the slash"
    );

    let created = api.call(
        "POST",
        "/lists/",
        REV,
        Some(r#"{"data":{"type":"list","attributes":{"name":"VIP"}}}"#),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let doc = created.json()["data"].clone();
    assert_eq!(doc["attributes"]["name"], "VIP");
    let new_id = doc["id"].as_str().unwrap().to_owned();
    let c = chrono::DateTime::parse_from_rfc3339(doc["attributes"]["created"].as_str().unwrap())
        .unwrap();
    assert!(chrono::Utc::now().signed_duration_since(c) < chrono::Duration::seconds(3));
    assert_eq!(doc["attributes"]["created"], doc["attributes"]["updated"]);

    let patched = api.call(
        "PATCH",
        &format!("/lists/{new_id}/"),
        REV,
        Some(&format!(
            r#"{{"data":{{"type":"list","id":"{new_id}","attributes":{{"name":"VIP 2"}}}}}}"#
        )),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["data"]["attributes"]["name"], "VIP 2");
    // No file declares PUT; the stand-in answers it as the path's PATCH.
    let put = api.call(
        "PUT",
        &format!("/lists/{new_id}/"),
        REV,
        Some(&format!(
            r#"{{"data":{{"type":"list","id":"{new_id}","attributes":{{"name":"VIP 3"}}}}}}"#
        )),
    );
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        api.fake.get("lists", &new_id).unwrap()["attributes"]["name"],
        "VIP 3"
    );

    let deleted = api.call("DELETE", &format!("/lists/{new_id}/"), REV, None);
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert_eq!(api.get(&format!("/lists/{new_id}/")).status, 404);
    assert_eq!(
        api.call("DELETE", &format!("/lists/{new_id}/"), REV, None)
            .status,
        404
    );

    let event = json!({"data": {"type": "event", "attributes": {"properties": {"x": 1}, "time": "2024-01-01T00:00:00+00:00",
        "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.c"}}}}}});
    let r = api.call("POST", "/events/", REV, Some(&event.to_string()));
    assert_eq!(r.status, 202);
    assert!(r.text.is_empty());
    // A backdated event lands behind any datetime watermark.
    let backdated = api
        .fake
        .records("events")
        .into_iter()
        .filter(|e| e["attributes"]["event_properties"]["x"] == 1)
        .count();
    assert_eq!(backdated, 1);
}

#[test]
fn bad_bodies_and_methods() {
    let api = Api::small();
    let r = api.call("POST", "/lists/", REV, Some("{not json"));
    assert_eq!(r.status, 400);
    assert!(r.detail().starts_with("JSON parse error"), "{}", r.detail());
    let r = api.call(
        "POST",
        "/lists/",
        REV,
        Some(r#"{"data":{"type":"profile","attributes":{}}}"#),
    );
    assert_eq!(r.status, 409);
    assert_eq!(api.call("PATCH", "/lists/", REV, Some("{}")).status, 405);
    let r = api.call("POST", "/lists/", REV, None);
    assert_eq!(r.status, 415, "no content type");
    assert_eq!(r.detail(), "Unsupported media type \"\" in request.");
    let auth = format!("Klaviyo-API-Key {}", api.fake.api_key());
    let json_ct = [
        ("authorization", auth.as_str()),
        ("revision", REV),
        ("content-type", "application/json"),
    ];
    let body = r#"{"data":{"type":"list","attributes":{"name":"Plain JSON"}}}"#;
    assert_eq!(
        api.request("POST", "/lists/", &json_ct, Some(body)).status,
        201,
        "application/json is accepted"
    );
    let text = [
        ("authorization", auth.as_str()),
        ("revision", REV),
        ("content-type", "text/plain"),
    ];
    let mut rb = api.http.post(api.url("/lists/"));
    for (k, v) in text {
        rb = rb.header(k, v);
    }
    assert_eq!(rb.body(body).send().unwrap().status().as_u16(), 415);
    let empty = api.request("POST", "/lists/", &json_ct, Some(""));
    assert_eq!(empty.status, 400);
}

#[test]
fn rate_limit_headers_then_429() {
    let api = Api::small();
    api.fake.set_rate_limit(Some(RateLimitRule {
        burst_per_second: 100,
        steady_per_minute: 3,
    }));
    let r = api.get("/lists");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-limit"), Some("3, 100;w=1, 3;w=60"));
    assert_eq!(r.header("ratelimit-remaining"), Some("2"));
    let reset: u64 = r.header("ratelimit-reset").unwrap().parse().unwrap();
    assert!((58..=60).contains(&reset), "{reset}");
    assert_eq!(api.get("/lists").header("ratelimit-remaining"), Some("1"));
    assert_eq!(api.get("/lists").status, 200);
    let r = api.get("/lists");
    assert_eq!(r.status, 429);
    assert_eq!(r.error()["code"], "throttled");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(r.header("ratelimit-limit").is_none() && r.header("ratelimit-remaining").is_none());
    // Per endpoint: another path has its own budget.
    assert_eq!(api.get("/profiles").status, 200);
    // Burst window.
    api.fake.set_rate_limit(Some(RateLimitRule {
        burst_per_second: 2,
        steady_per_minute: 100,
    }));
    assert_eq!(api.get("/lists").status, 200);
    assert_eq!(api.get("/lists").status, 200);
    let r = api.get("/lists");
    if r.status == 429 {
        assert_eq!(r.header("retry-after"), Some("1"));
    } else {
        // The 1 s window rolled over between requests on a slow machine.
        assert_eq!(r.status, 200);
    }
}

#[test]
fn every_request_is_recorded_raw() {
    let api = Api::small();
    api.fake.set_latency(Duration::ZERO);
    let pq = "/profiles?filter=greater-than(updated,2024-01-01T00:00:00+00:00)";
    assert_eq!(api.get(pq).status, 400);
    api.request("GET", "/lists", &[("revision", REV)], None);
    api.call(
        "POST",
        "/lists/",
        REV,
        Some(r#"{"data":{"type":"list","attributes":{"name":"L"}}}"#),
    );
    let log = api.fake.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "GET");
    assert_eq!(
        log[0].path_and_query,
        format!("/api{pq}"),
        "raw, `+` intact"
    );
    assert_eq!(log[0].status, 400);
    assert_eq!(log[0].header("revision"), Some(REV));
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Klaviyo-API-Key ")
    );
    assert_eq!(log[1].status, 401);
    assert_eq!(log[2].status, 201);
    assert!(log[2].body.as_deref().unwrap().contains("\"name\":\"L\""));
    api.fake.clear_requests();
    assert!(api.fake.requests().is_empty());
}

#[test]
fn responses_look_like_klaviyos() {
    let api = Api::small();
    let r = api.get("/profiles?page%5Bsize%5D=3");
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    assert!(r.header("date").is_some());
    let p = &r.data()[0];
    assert_eq!(p["type"], "profile");
    assert_eq!(p["id"].as_str().unwrap().len(), 26);
    assert!(
        p["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/profiles/{}/", p["id"].as_str().unwrap()))
    );
    for k in [
        "email",
        "phone_number",
        "external_id",
        "first_name",
        "created",
        "updated",
        "location",
        "properties",
    ] {
        assert!(p["attributes"].get(k).is_some(), "{k}");
    }
    assert!(
        p["attributes"].get("subscriptions").is_none(),
        "additional field not asked for"
    );
    let r = api.get("/profiles?page%5Bsize%5D=3&additional-fields%5Bprofile%5D=subscriptions");
    assert!(r.data()[0]["attributes"]["subscriptions"].is_object());
    let r = api.get("/profiles?page%5Bsize%5D=3&fields%5Bprofile%5D=email,updated");
    let keys: Vec<_> = r.data()[0]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    // Events: int timestamp, relationships with data, include.
    let r = api.get("/events?include=profile,metric");
    let e = &r.data()[0];
    assert!(e["attributes"]["timestamp"].is_i64());
    assert_eq!(e["relationships"]["profile"]["data"]["type"], "profile");
    let included = r.json()["included"].as_array().unwrap().clone();
    assert!(
        included.iter().any(|i| i["type"] == "metric")
            && included.iter().any(|i| i["type"] == "profile")
    );
    assert_eq!(api.get("/events?include=nothing").status, 400);
    // Timestamps as Klaviyo writes them: mostly whole seconds, some with a
    // fraction, event datetimes sometimes with a space.
    let events = api.fake.records("events");
    assert!(
        events
            .iter()
            .any(|e| e["attributes"]["datetime"].as_str().unwrap().as_bytes()[10] == b' ')
    );
    assert!(
        events
            .iter()
            .any(|e| e["attributes"]["datetime"].as_str().unwrap().as_bytes()[10] == b'T')
    );
    let profiles = api.fake.records("profiles");
    assert!(
        profiles
            .iter()
            .any(|p| p["attributes"]["updated"].as_str().unwrap().contains('.'))
    );
    assert!(profiles.iter().all(|p| {
        p["attributes"]["updated"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    }));
}
