//! Create Event against the stand-in.

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

fn event() -> Value {
    json!({
        "metric": {"name": "Placed Order"},
        "profile": {"email": "ada@example.com"},
        "properties": {"items": ["book"]},
        "value": "29.90"
    })
}

fn sent(h: &Harness, i: usize) -> Value {
    let requests = h.fake.requests();
    serde_json::from_str(requests[i].body.as_deref().expect("a body")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_at_both_revisions() {
    let h = Harness::new(FakeConfig::empty());
    for revision in REVISIONS {
        h.fake.clear_requests();
        let msg_id = format!("msg-{revision}");
        let out = h
            .action_msg(
                CREATE_EVENT,
                json!({"revision": revision}),
                &msg_id,
                event(),
            )
            .await;
        let body = out.only_body();
        assert_eq!(body["statusCode"], 202, "{revision}");
        assert_eq!(body["uniqueId"], json!(msg_id), "the message's id");
        let time = body["time"].as_str().expect("a time").to_owned();
        assert!(
            (chrono::Utc::now() - at(&time)).num_seconds().abs() < 60,
            "now: {time}"
        );
        assert_eq!(h.request_lines(), vec!["POST /api/events"]);
        assert_eq!(
            sent(&h, 0),
            json!({"data": {"type": "event", "attributes": {
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}},
                "properties": {"items": ["book"]},
                "value": 29.9,
                "unique_id": msg_id,
                "time": time
            }}})
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unique_id_and_time_that_are_mapped_are_kept() {
    let h = Harness::new(FakeConfig::empty());
    let mut body = event();
    body["unique_id"] = json!("order-1001");
    body["time"] = json!("2026-03-01T10:00:00Z");
    let out = h.action(CREATE_EVENT, json!({}), body).await;
    assert_eq!(
        out.only_body(),
        json!({"statusCode": 202, "uniqueId": "order-1001", "time": "2026-03-01T10:00:00Z"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_is_repeated_after_a_5xx_with_the_same_unique_id() {
    let h = Harness::new(FakeConfig::empty());
    let before = h.fake.records("events").len();
    // Klaviyo recorded the event, then failed to answer: the retry carries
    // the same unique_id, and Klaviyo keeps one event.
    h.fake
        .push_fault(FaultRule::new(Fault::StatusAfterApplying(503)).method(Method::POST));
    let out = h.action(CREATE_EVENT, json!({}), event()).await;
    assert_eq!(out.only_body()["statusCode"], 202);
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(h.fake.records("events").len(), before + 1, "recorded once");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_events_are_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let what = "The message body is not an event that revision 2026-10-15 accepts";
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"profile": {"email": "a@example.com"}}),
            format!("{what}: \"Name\" (msg.body.metric.name) is required: map a value to it"),
        ),
        (
            json!({"metric": {"name": "Viewed"}, "profile": {"first_name": "Ada"}}),
            "an event belongs to a profile: give at least one of \"ID\" (msg.body.profile.id), \"Email\" (msg.body.profile.email), \"Phone Number\" (msg.body.profile.phone_number), \"External ID\" (msg.body.profile.external_id), \"Anonymous ID\" (msg.body.profile.anonymous_id)".to_owned(),
        ),
        (
            json!({"metric": {"name": "Viewed"}, "profile": {"email": "a@example.com"}, "time": "yesterday"}),
            format!("{what}: \"Time\" (msg.body.time) must be a date and time in ISO 8601, such as 2026-01-31T12:00:00Z, got \"yesterday\""),
        ),
        (
            json!({"metric": {"name": "Viewed"}, "profile": {"email": "a@example.com"}, "value": "a lot"}),
            format!("{what}: \"Value\" (msg.body.value) must be a number, got \"a lot\""),
        ),
        (
            json!({"metric": {"name": "Viewed"}, "profile": {"emal": "a@example.com"}}),
            format!("{what}: msg.body.profile.emal is not a field here — did you mean \"Email\" (msg.body.profile.email)?"),
        ),
    ];
    for (body, want) in cases {
        let out = h.action(CREATE_EVENT, json!({}), body.clone()).await;
        assert_eq!(out.failure(), ("InputError", want), "{body}");
    }
    assert!(h.fake.requests().is_empty());
}

// The stand-in, as Klaviyo, records one event per unique_id, profile and metric.
#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_message_records_one_event() {
    let h = Harness::new(FakeConfig::empty());
    let before = h.fake.records("events").len();
    for _ in 0..2 {
        let out = h
            .action_msg(CREATE_EVENT, json!({}), "redelivered-message", event())
            .await;
        assert_eq!(out.only_body()["uniqueId"], "redelivered-message");
    }
    assert_eq!(h.fake.requests().len(), 2, "sent twice");
    assert_eq!(h.fake.records("events").len(), before + 1, "recorded once");
}

#[tokio::test(flavor = "multi_thread")]
async fn flat_dotted_names_are_sent_nested() {
    // A mapper with a flat list of fields sends `metric.name`, not
    // `{"metric": {"name": …}}`.
    let h = Harness::new(FakeConfig::empty());
    let flat = json!({
        "metric.name": "Placed Order",
        "profile.email": "ada@example.com",
        "properties.items": ["book"],
        "value": "29.90"
    });
    let out = h
        .action_msg(CREATE_EVENT, json!({}), "msg-flat", flat)
        .await;
    assert_eq!(out.only_body()["statusCode"], 202);
    let attributes = &sent(&h, 0)["data"]["attributes"];
    assert_eq!(
        attributes["metric"],
        json!({"data": {"type": "metric", "attributes": {"name": "Placed Order"}}})
    );
    assert_eq!(
        attributes["profile"]["data"]["attributes"]["email"],
        "ada@example.com"
    );
    assert_eq!(attributes["properties"], json!({"items": ["book"]}));
}
