//! `POST /api/events`: 202, metric by name, profile by identifiers,
//! deduplication by `unique_id`, visible after the delay.

use std::time::Duration;

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::{Api, REV, enc};

fn event(metric: &str, profile: Value, extra: Value) -> Value {
    let mut attrs = json!({
        "properties": {"sku": "MUG-1"},
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": profile},
    });
    for (k, v) in extra.as_object().unwrap() {
        attrs[k] = v.clone();
    }
    json!({"data": {"type": "event", "attributes": attrs}})
}

fn by_email(email: &str) -> Value {
    json!({"type": "profile", "attributes": {"email": email}})
}

#[test]
fn accepted_with_an_empty_body_and_listed_with_its_metric_and_profile() {
    let api = Api::new(FakeConfig::empty().size("profiles", 3).size("metrics", 2));
    api.fake.set_visibility_delay(Duration::from_millis(300));
    let r = api.send(
        "POST",
        "/events",
        REV,
        &event(
            "Ordered Mug",
            json!({"type": "profile", "attributes": {"email": "buyer@example.com", "first_name": "Bo"}}),
            json!({"time": "2024-03-01T10:20:30.789+01:00", "value": 12.5, "unique_id": "order-1"}),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
    assert!(api.get("/events").data().is_empty(), "not before the delay");
    std::thread::sleep(Duration::from_millis(400));

    let metrics = api.fake.records("metrics");
    let metric = metrics
        .iter()
        .find(|m| m["attributes"]["name"] == "Ordered Mug")
        .expect("the metric is created by name");
    let profile = api
        .get(&format!(
            "/profiles?filter={}",
            enc("equals(email,'buyer@example.com')")
        ))
        .data();
    assert_eq!(profile.len(), 1, "the profile is created");
    assert_eq!(profile[0]["attributes"]["first_name"], "Bo");

    let r = api.get("/events?include=metric,profile");
    let events = r.data();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        e["attributes"]["datetime"], "2024-03-01T09:20:30+00:00",
        "truncated, UTC"
    );
    assert_eq!(e["attributes"]["timestamp"], 1_709_284_830);
    assert_eq!(e["attributes"]["event_properties"]["sku"], "MUG-1");
    assert_eq!(e["attributes"]["event_properties"]["$value"], 12.5);
    assert_eq!(e["relationships"]["metric"]["data"]["id"], metric["id"]);
    assert_eq!(
        e["relationships"]["profile"]["data"]["id"],
        profile[0]["id"]
    );
    // Filters see them.
    let metric_id = metric["id"].as_str().unwrap();
    let r = api.get(&format!(
        "/events?filter={}",
        enc(&format!("equals(metric_id,\"{metric_id}\")"))
    ));
    assert_eq!(r.data().len(), 1, "{}", r.text);
}

#[test]
fn a_repeated_unique_id_for_the_same_profile_and_metric_is_recorded_once() {
    let api = Api::new(FakeConfig::empty());
    let send = |metric: &str, email: &str, unique: Value| {
        api.send(
            "POST",
            "/events",
            REV,
            &event(metric, by_email(email), json!({"unique_id": unique})),
        )
        .status
    };
    assert_eq!(send("Viewed", "a@example.com", json!("m-1")), 202);
    assert_eq!(
        send("Viewed", "a@example.com", json!("m-1")),
        202,
        "redelivered"
    );
    assert_eq!(api.fake.ids("events").len(), 1);
    assert_eq!(
        send("Viewed", "b@example.com", json!("m-1")),
        202,
        "another profile"
    );
    assert_eq!(
        send("Clicked", "a@example.com", json!("m-1")),
        202,
        "another metric"
    );
    assert_eq!(
        send("Viewed", "a@example.com", json!("m-2")),
        202,
        "another id"
    );
    assert_eq!(api.fake.ids("events").len(), 4);
    // Without a unique id, the second is the key: one event per profile,
    // metric and second.
    let at = |t: &str| {
        api.send(
            "POST",
            "/events",
            REV,
            &event("Opened", by_email("a@example.com"), json!({"time": t})),
        )
        .status
    };
    assert_eq!(at("2024-01-01T00:00:00.100Z"), 202);
    assert_eq!(at("2024-01-01T00:00:00.900Z"), 202);
    assert_eq!(at("2024-01-01T00:00:01Z"), 202);
    assert_eq!(api.fake.ids("events").len(), 6);
    assert_eq!(api.fake.count_requests("POST", "/events"), 8);
    assert_eq!(api.fake.ids("profiles").len(), 2);
}

#[test]
fn time_defaults_to_now_and_is_bounded() {
    let api = Api::new(FakeConfig::empty());
    let r = api.send(
        "POST",
        "/events",
        REV,
        &event("Now", by_email("n@example.com"), json!({})),
    );
    assert_eq!(r.status, 202);
    let e = api.fake.records("events").pop().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(e["attributes"]["datetime"].as_str().unwrap())
        .unwrap();
    assert!(
        (chrono::Utc::now().signed_duration_since(t))
            .num_seconds()
            .abs()
            < 3
    );
    for (time, detail) in [
        (
            "1999-12-31T23:59:59Z",
            "The event time must be after the year 2000.",
        ),
        (
            "2099-01-01T00:00:00Z",
            "The event time can only be up to 1 year in the future.",
        ),
    ] {
        let r = api.send(
            "POST",
            "/events",
            REV,
            &event("Bad", by_email("n@example.com"), json!({"time": time})),
        );
        assert_eq!(r.status, 400, "{time}");
        assert_eq!(r.detail(), detail);
        assert_eq!(r.error()["source"]["pointer"], "/data/attributes/time");
    }
    // From the 2026-07-15 files on, 1990 is the limit.
    let r = api.send(
        "POST",
        "/events",
        "2026-10-15",
        &event(
            "Old",
            by_email("n@example.com"),
            json!({"time": "1995-06-01T00:00:00Z"}),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.text);
}

#[test]
fn the_profile_is_found_by_id_or_identifiers_and_updated() {
    let api = Api::small();
    let id = api.fake.ids("profiles")[4].clone();
    let r = api.send(
        "POST",
        "/events",
        REV,
        &event(
            "Viewed",
            json!({"type": "profile", "id": id, "attributes": {"properties": {"vip": true}}}),
            json!({}),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let p = api.fake.get("profiles", &id).unwrap();
    assert_eq!(p["attributes"]["properties"]["vip"], true);
    let r = api.send(
        "POST",
        "/events",
        REV,
        &event(
            "Viewed",
            json!({"type": "profile", "attributes": {"first_name": "Anon"}}),
            json!({}),
        ),
    );
    assert_eq!(r.status, 400, "no identifier: {}", r.text);
    assert_eq!(
        r.error()["source"]["pointer"],
        "/data/attributes/profile/data/attributes"
    );
}
