//! The trigger's guarantees, each against the stand-in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;
use component_sdk::Event;
use klaviyo_fake::{FakeConfig, Hook};
use serde_json::{Value, json};

use crate::support::*;

const PROFILES_UPDATED: &str = r#"{"objectType": "profiles", "pollConfig": "updated"}"#;

fn profiles() -> Value {
    serde_json::from_str(PROFILES_UPDATED).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_record_once_in_order_when_many_share_a_second_across_pages() {
    let h = Harness::new(FakeConfig::empty());
    clustered_profiles(
        &h,
        &[
            (5_000, 3),
            (4_000, 40),
            (3_000, 25),
            (2_000, 1),
            (1_000, 17),
        ],
    );
    h.fake.set_page_cap(Some(7));
    let first = h.poll(profiles(), &json!({})).await;
    first.assert_ok();
    let records = first.records();
    assert_ascending(&records, "updated");
    let emitted = unique_versions(&records, "updated");
    let expected: BTreeSet<Version> = stand_in_versions(&h.fake, "profiles", "updated")
        .into_iter()
        .collect();
    assert_eq!(emitted, expected);

    let second = h
        .poll(profiles(), first.last_snapshot().expect("a snapshot"))
        .await;
    second.assert_ok();
    assert!(second.records().is_empty(), "nothing repeats");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_record_is_lost_when_records_change_while_offset_pages_are_read() {
    let h = Harness::new(FakeConfig::empty());
    clustered_profiles(&h, &[(9_000, 30), (8_000, 30), (7_000, 30), (6_000, 30)]);
    h.fake.set_page_cap(Some(9));
    let before = stand_in_versions(&h.fake, "profiles", "updated");
    // After the 3rd and 6th pages, records already read change: with offset
    // cursors every later record moves up one place.
    let ids = h.fake.ids("profiles");
    let early: Vec<String> = ids[..4].to_vec();
    let later: Vec<String> = ids[40..43].to_vec();
    h.fake.on_request(Hook::new("/profiles", 3, move |store| {
        for id in &early {
            store.touch("/profiles", id).expect("touch");
        }
    }));
    h.fake.on_request(Hook::new("/profiles", 6, move |store| {
        for id in &later {
            store.touch("/profiles", id).expect("touch");
        }
    }));
    let runs = h.poll_until_quiet(profiles(), json!({}), 5).await;
    let all: Vec<Value> = runs.iter().flat_map(|r| r.records()).collect();
    let emitted = unique_versions(&all, "updated");
    for r in &runs {
        assert_ascending(&r.records(), "updated");
    }
    let after = stand_in_versions(&h.fake, "profiles", "updated");
    for (id, at) in &after {
        assert!(
            emitted.contains(&(id.clone(), *at)),
            "current version of {id} emitted"
        );
    }
    let changed: BTreeSet<&String> = after
        .iter()
        .filter(|(id, at)| before[*id] != **at)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(changed.len(), 7);
    for (id, at) in &before {
        if !changed.contains(id) {
            assert!(
                emitted.contains(&(id.clone(), *at)),
                "unchanged {id} emitted"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_anywhere_resumes_from_its_last_snapshot() {
    for emit in [
        json!({}),
        json!({"emitBehavior": "emitPage", "pageSize": "8"}),
    ] {
        let h = Harness::new(FakeConfig::empty());
        clustered_profiles(&h, &[(900, 12), (800, 30), (700, 5), (600, 21), (500, 9)]);
        h.fake.set_page_cap(Some(10));
        let mut fields = profiles();
        fields
            .as_object_mut()
            .expect("object")
            .extend(emit.as_object().cloned().unwrap_or_default());
        let full = h.poll(fields.clone(), &json!({})).await;
        full.assert_ok();
        let all: BTreeSet<Version> = stand_in_versions(&h.fake, "profiles", "updated")
            .into_iter()
            .collect();
        // Every prefix of the output is what a killed run may have left.
        for cut in 0..=full.events.len() {
            let delivered = &full.events[..cut];
            let resume_at = delivered
                .iter()
                .rposition(|e| matches!(e, Event::Snapshot(_)));
            let snapshot = match resume_at {
                Some(i) => match &delivered[i] {
                    Event::Snapshot(s) => s.clone(),
                    _ => unreachable!(),
                },
                None => json!({}),
            };
            let after_snapshot: BTreeSet<Version> =
                records_of(&delivered[resume_at.map_or(0, |i| i + 1)..]);
            let before: BTreeSet<Version> = records_of(delivered);
            let rerun = h.poll(fields.clone(), &snapshot).await;
            rerun.assert_ok();
            let again = unique_versions(&rerun.records(), "updated");
            let union: BTreeSet<Version> = before.union(&again).cloned().collect();
            assert_eq!(union, all, "cut at {cut}: nothing lost");
            let repeats: BTreeSet<Version> = before.intersection(&again).cloned().collect();
            assert!(
                repeats.is_subset(&after_snapshot),
                "cut at {cut}: repeats only after the last snapshot"
            );
        }
    }
}

fn records_of(events: &[Event]) -> BTreeSet<Version> {
    let mut out = BTreeSet::new();
    for e in events {
        if let Event::Data(m) = e {
            let body: Value = serde_json::from_str(m.body.get()).expect("json");
            let items = match body.get("results") {
                Some(Value::Array(items)) => items.clone(),
                _ => vec![body],
            };
            for item in items {
                out.insert(version(&item, "updated"));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn records_listed_late_are_still_emitted_with_the_default_lag() {
    let h = Harness::new(FakeConfig::empty()).with_env("KLAVIYO_POLL_LAG_SECONDS", "5");
    h.fake.set_visibility_delay(Duration::from_secs(4));
    let first = h.poll(profiles(), &json!({})).await;
    first.assert_ok();
    let id = h
        .fake
        .insert(
            "profiles",
            json!({"attributes": {"email": "late@example.com"}}),
        )
        .expect("inserted now, listed 4 s later");
    let mut snapshot = first.last_snapshot().expect("snapshot").clone();
    let mut seen = Vec::new();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let run = h.poll(profiles(), &snapshot).await;
        run.assert_ok();
        seen.extend(run.records());
        snapshot = run.last_snapshot().expect("snapshot").clone();
    }
    let ids: Vec<&str> = seen.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(ids, vec![id.as_str()], "emitted exactly once");
}

#[tokio::test(flavor = "multi_thread")]
async fn future_events_wait_for_their_time_and_never_move_the_snapshot_past_now() {
    let h = Harness::new(FakeConfig::empty());
    let soon = (Utc::now() + chrono::Duration::seconds(2))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    h.fake
        .insert(
            "events",
            json!({"attributes": {"datetime": ago(100), "event_properties": {}}}),
        )
        .expect("past event");
    h.fake
        .insert(
            "events",
            json!({"attributes": {"datetime": soon, "event_properties": {}}}),
        )
        .expect("future event");
    let fields = json!({"objectType": "events", "pollConfig": "datetime"});
    let first = h.poll(fields.clone(), &json!({})).await;
    first.assert_ok();
    assert_eq!(first.records().len(), 1, "the future event waits");
    let snapshot = first.last_snapshot().expect("snapshot").clone();
    let next = at(snapshot["nextStartTime"].as_str().expect("nextStartTime"));
    assert!(next <= Utc::now(), "the snapshot never passes now");
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    let second = h.poll(fields, &snapshot).await;
    second.assert_ok();
    assert_eq!(second.records().len(), 1, "its time has come");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_hold_page_size_records_the_last_one_fewer() {
    let h = Harness::new(FakeConfig::empty());
    clustered_profiles(&h, &[(3_000, 120), (2_000, 130)]);
    let out = h
        .poll(
            json!({"objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitPage"}),
            &json!({}),
        )
        .await;
    out.assert_ok();
    let sizes: Vec<usize> = out
        .bodies()
        .iter()
        .map(|b| {
            assert_eq!(b.as_object().map(|o| o.len()), Some(1), "only results");
            b["results"].as_array().expect("results").len()
        })
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(unique_versions(&out.records(), "updated").len(), 250);
    let again = h
        .poll(json!({"objectType": "profiles", "pollConfig": "updated", "emitBehavior": "fetchPage", "pageSize": "40"}), out.last_snapshot().expect("s"))
        .await;
    again.assert_ok();
    assert!(again.bodies().is_empty(), "no message for an empty result");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_time_is_inclusive() {
    let h = Harness::new(FakeConfig::empty());
    h.fake
        .insert("lists", json!({"attributes": {"name": "before", "created": "2025-03-01T09:59:59+00:00", "updated": "2025-03-01T09:59:59+00:00"}}))
        .expect("list");
    h.fake
        .insert("lists", json!({"attributes": {"name": "at", "created": "2025-03-01T10:00:00+00:00", "updated": "2025-03-01T10:00:00+00:00"}}))
        .expect("list");
    h.fake
        .insert("lists", json!({"attributes": {"name": "after", "created": "2025-03-01T10:00:01+00:00", "updated": "2025-03-01T10:00:01+00:00"}}))
        .expect("list");
    let out = h
        .poll(json!({"objectType": "lists", "pollConfig": "updated", "startTime": "2025-03-01T10:00:00Z"}), &json!({}))
        .await;
    out.assert_ok();
    let names: Vec<&str> = out
        .records()
        .iter()
        .map(|r| r["attributes"]["name"].as_str().expect("name"))
        .map(|s| match s {
            "at" => "at",
            "after" => "after",
            _ => "before",
        })
        .collect();
    assert_eq!(names, vec!["at", "after"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn retrieve_sample_gives_at_most_ten_and_leaves_the_snapshot_alone() {
    let h = Harness::new(FakeConfig::empty()).with_env("ELASTICIO_FLOW_TYPE", "debug");
    let empty = h.poll(profiles(), &json!({})).await;
    let error = empty
        .error
        .as_ref()
        .expect("nothing found is an error in a sample");
    assert_eq!(
        error.to_string(),
        "No object found. Execution stopped. This error is only applicable to the Retrieve Sample. In flow executions there will be no error, just an execution skip."
    );
    clustered_profiles(&h, &[(500, 25)]);
    let sample = h
        .poll(
            profiles(),
            &json!({"nextStartTime": Utc::now().to_rfc3339()}),
        )
        .await;
    sample.assert_ok();
    assert_eq!(
        sample.records().len(),
        10,
        "at most 10, from Start Time whatever the snapshot"
    );
    assert!(
        sample.snapshots().is_empty(),
        "a sample does not move the flow's state"
    );
    let paged = h
        .poll(
            json!({"objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitPage"}),
            &json!({}),
        )
        .await;
    assert_eq!(paged.records().len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_of_the_node_component_is_understood() {
    let h = Harness::new(FakeConfig::empty());
    clustered_profiles(&h, &[(3_000, 2), (100, 3)]);
    let legacy =
        json!({"nextStartTime": (Utc::now() - chrono::Duration::seconds(1_000)).to_rfc3339()});
    let out = h.poll(profiles(), &legacy).await;
    out.assert_ok();
    assert_eq!(
        out.records().len(),
        3,
        "only what changed after nextStartTime"
    );
    assert_eq!(out.last_snapshot().expect("snapshot")["v"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_what_is_polled_starts_again_from_start_time() {
    let h = Harness::new(FakeConfig::empty());
    clustered_profiles(&h, &[(3_000, 4)]);
    let first = h.poll(profiles(), &json!({})).await;
    first.assert_ok();
    let snapshot = first.last_snapshot().expect("snapshot").clone();
    let created = h
        .poll(
            json!({"objectType": "profiles", "pollConfig": "created"}),
            &snapshot,
        )
        .await;
    created.assert_ok();
    assert_eq!(created.records().len(), 4, "another field: from Start Time");
    let same = h.poll(profiles(), &snapshot).await;
    assert!(same.records().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn campaigns_of_every_channel_and_archived_flows_are_polled() {
    let h = Harness::new(FakeConfig::default().seed(7));
    for (path, field) in [("campaigns", "updated_at"), ("flows", "updated")] {
        // Revisions before 2026-10-15 need one query per campaign channel.
        let out = h
            .poll(
                json!({"objectType": path, "pollConfig": field, "revision": "2026-07-15"}),
                &json!({}),
            )
            .await;
        out.assert_ok();
        let emitted: BTreeSet<String> = out
            .records()
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        let all: BTreeSet<String> = h.fake.ids(path).into_iter().collect();
        assert_eq!(emitted, all, "{path}: every record, archived ones included");
        assert_eq!(out.records().len(), all.len(), "{path}: once each");
        if path == "flows" {
            assert!(
                out.records()
                    .iter()
                    .any(|r| r["attributes"]["archived"] == true),
                "some flows are archived"
            );
        }
    }
    let requests: Vec<String> = h
        .fake
        .requests()
        .iter()
        .map(|r| decode(&r.path_and_query))
        .collect();
    for channel in ["email", "sms", "mobile_push"] {
        for archived in ["false", "true"] {
            let wanted =
                format!("equals(messages.channel,'{channel}'),equals(archived,{archived})");
            assert!(
                requests.iter().any(|r| r.contains(&wanted)),
                "a query for {wanted}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn campaigns_on_2026_10_15_need_no_channel() {
    let h = Harness::new(FakeConfig {
        revision: "2026-10-15".into(),
        ..FakeConfig::default().seed(3)
    });
    let out = h
        .poll(json!({"objectType": "campaigns", "pollConfig": "updated_at", "revision": "2026-10-15"}), &json!({}))
        .await;
    out.assert_ok();
    let all: BTreeSet<String> = h.fake.ids("campaigns").into_iter().collect();
    let emitted: BTreeSet<String> = out
        .records()
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(emitted, all);
    for r in h.fake.requests() {
        assert!(
            !decode(&r.path_and_query).contains("messages.channel"),
            "{}",
            r.path_and_query
        );
        assert_eq!(r.header("revision"), Some("2026-10-15"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_polled_object_type_works_on_every_revision() {
    for revision in ["2024-10-15", "2026-07-15", "2026-10-15"] {
        let h = Harness::new(FakeConfig {
            revision: revision.into(),
            anchor: Some(Utc::now() - chrono::Duration::hours(1)),
            ..FakeConfig::default().seed(11)
        });
        let mut failures = BTreeMap::new();
        for key in object_types(revision) {
            for field in timestamp_fields(revision, &key) {
                let field = field.as_str();
                let out = h
                    .poll(
                        json!({"objectType": key, "pollConfig": field, "revision": revision}),
                        &json!({}),
                    )
                    .await;
                if let Some(e) = &out.error {
                    failures.insert(format!("{revision} {key} {field}"), e.to_string());
                    continue;
                }
                let emitted = unique_versions(&out.records(), field);
                let expected: BTreeSet<Version> = stand_in_versions(&h.fake, &key, field)
                    .into_iter()
                    .collect();
                if emitted != expected {
                    failures.insert(
                        format!("{revision} {key} {field}"),
                        format!("emitted {} of {} records", emitted.len(), expected.len()),
                    );
                }
                assert_ascending_by_partition(&out.records(), field, &key);
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

/// Ascending within each partition: campaigns by channel and archived
/// state, flows by archived state.
fn assert_ascending_by_partition(records: &[Value], field: &str, key: &str) {
    if key == "campaigns" || key == "flows" {
        return;
    }
    assert_ascending(records, field);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_without_the_object_type_s_scope_is_told_which_scope_it_needs() {
    let h = Harness::new(
        FakeConfig::default().key_with_scopes("pk_lists_only_0123456789abcdef", &["lists:read"]),
    );
    let input = component_sdk::StepInput {
        cfg: component_sdk::Config::new(
            json!({"apiKey": "pk_lists_only_0123456789abcdef", "objectType": "campaigns", "pollConfig": "updated_at"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        msg: component_sdk::Message::empty(),
        snapshot: json!({}),
        env: h.env.clone(),
    };
    let err = run(POLLING, input).await.error.expect("403");
    assert_eq!(err.kind().name(), "ConfigurationError");
    assert!(err.to_string().starts_with("Klaviyo answered 403"), "{err}");
    assert!(
        err.to_string()
            .ends_with("Polling Campaigns needs an API key with the scope(s) campaigns:read"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_from_the_future_is_an_error_not_a_silent_wait() {
    let h = Harness::new(FakeConfig::empty());
    let first = h.poll(profiles(), &json!({})).await;
    first.assert_ok();
    let mut snapshot = first.last_snapshot().expect("snapshot").clone();
    snapshot["nextStartTime"] = json!("2031-01-01T00:00:00Z");
    let out = h.poll(profiles(), &snapshot).await;
    let err = out.error.expect("refused");
    assert_eq!(err.kind().name(), "ConfigurationError");
    assert!(
        err.to_string().contains("Clear the step's snapshot"),
        "{err}"
    );
    // A Start Time a few hours ahead is a choice: nothing to poll yet, no
    // error, also on the next run from its snapshot.
    let soon = (Utc::now() + chrono::Duration::hours(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let fields = json!({"objectType": "profiles", "pollConfig": "updated", "startTime": soon});
    let later = h.poll(fields.clone(), &json!({})).await;
    later.assert_ok();
    let kept = later.last_snapshot().expect("snapshot").clone();
    let again = h.poll(fields, &kept).await;
    again.assert_ok();
    // A year ahead is a typo that would pause the flow: an error naming
    // the field.
    let typo = h
        .poll(json!({"objectType": "profiles", "pollConfig": "updated", "startTime": "2031-01-01T00:00:00Z"}), &json!({}))
        .await;
    let err = typo.error.expect("refused");
    assert_eq!(err.kind().name(), "ConfigurationError");
    assert!(
        err.to_string()
            .starts_with("\"Start Time\" is 2031-01-01T00:00:00Z, more than a day after now"),
        "{err}"
    );
}
