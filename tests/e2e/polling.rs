//! The polling trigger through the real binary against the stand-in, with
//! snapshots of exactly what the platform receives.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeZone;
use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use serde_json::{Value, json};

use crate::support::{Bin, Run, run};

/// A small account whose records do not depend on when the test runs.
fn account() -> FakeKlaviyo {
    FakeKlaviyo::start(FakeConfig {
        anchor: chrono::Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single(),
        revision: "2026-10-15".to_owned(),
        ..FakeConfig::default()
            .seed(42)
            .size("lists", 5)
            .size("segments", 7)
    })
    .expect("the stand-in starts")
}

fn poll(fake: &FakeKlaviyo, fields: Value, snapshot: &Value) -> Run {
    let mut cfg = json!({"apiKey": fake.api_key(), "revision": "2026-10-15"});
    cfg.as_object_mut()
        .expect("object")
        .extend(fields.as_object().cloned().unwrap_or_default());
    let stdin = serde_json::to_vec(&json!({"cfg": cfg, "snapshot": snapshot})).expect("json");
    let env: BTreeMap<String, String> = [("KLAVIYO_BASE_URL", fake.base_url())]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let out = run(
        Bin::Klaviyo,
        &["process", "getNewAndUpdatedObjectsPolling"],
        &stdin,
        &env,
        Duration::from_secs(60),
    );
    out.assert_event_stream();
    out
}

fn last_snapshot(out: &Run) -> Value {
    out.lines()
        .into_iter()
        .rfind(|l| l["event"] == "snapshot")
        .map(|l| l["payload"].clone())
        .expect("a snapshot")
}

/// The run as text, with the window's end (now minus the lag) and the
/// stand-in's port redacted.
fn render(out: &Run, fake: &FakeKlaviyo) -> String {
    let end = last_snapshot(out)["nextStartTime"]
        .as_str()
        .expect("nextStartTime")
        .to_owned();
    out.render()
        .replace(&end, "[now - lag]")
        .replace(fake.base_url(), "[base url]")
}

#[test]
fn lists_one_by_one_then_nothing_new() {
    let fake = account();
    let first = poll(
        &fake,
        json!({"objectType": "lists", "pollConfig": "updated"}),
        &json!({}),
    );
    assert_eq!(first.code, Some(0));
    insta::assert_snapshot!(render(&first, &fake));
    let again = poll(
        &fake,
        json!({"objectType": "lists", "pollConfig": "updated"}),
        &last_snapshot(&first),
    );
    assert_eq!(again.code, Some(0));
    let data = again
        .lines()
        .iter()
        .filter(|l| l["event"] == "data")
        .count();
    assert_eq!(data, 0, "nothing is emitted twice");
}

#[test]
fn segments_in_pages_of_three() {
    let fake = account();
    let out = poll(
        &fake,
        json!({"objectType": "segments", "pollConfig": "created", "emitBehavior": "emitPage", "pageSize": "3"}),
        &json!({}),
    );
    assert_eq!(out.code, Some(0));
    insta::assert_snapshot!(render(&out, &fake));
}
