//! The trigger reading several slices at once: the guarantees hold while
//! reads overlap, a failed slice stops the output where the order says, a
//! `Retry-After` holds every reader back, and a cursor that goes round in
//! circles ends the walk.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use klaviyo_fake::{FakeConfig, Fault, FaultRule, Hook, RateLimitRule};
use serde_json::{Value, json};

use crate::support::*;

fn profiles() -> Value {
    json!({"objectType": "profiles", "pollConfig": "updated"})
}

/// `count` profiles one second apart, the newest `newest` seconds ago.
fn spread(h: &Harness, count: usize, newest: i64) {
    let clusters: Vec<(i64, usize)> = (0..count as i64).map(|i| (newest + i, 1)).collect();
    clustered_profiles(h, &clusters);
}

#[tokio::test(flavor = "multi_thread")]
async fn slices_are_read_at_once_and_records_still_come_once_in_order() {
    let h = Harness::new(FakeConfig::empty().with_latency(Duration::from_millis(60)))
        .with_env("KLAVIYO_MAX_IN_FLIGHT", "6");
    spread(&h, 300, 2_000);
    // Crowded seconds inside the slices: the cursor is followed there.
    clustered_profiles(&h, &[(1_900, 25), (1_700, 31), (1_500, 12)]);
    h.fake.set_page_cap(Some(10));
    // Records already read change while the slices are read.
    let ids = h.fake.ids("profiles");
    for (after, some) in [(5, ids[..3].to_vec()), (12, ids[150..154].to_vec())] {
        h.fake
            .on_request(Hook::new("/profiles", after, move |store| {
                for id in &some {
                    store.touch("/profiles", id).expect("touch");
                }
            }));
    }
    let before = stand_in_versions(&h.fake, "profiles", "updated");
    let runs = h.poll_until_quiet(profiles(), json!({}), 5).await;
    for run in &runs {
        assert_ascending(&run.records(), "updated");
    }
    let all: Vec<Value> = runs.iter().flat_map(|r| r.records()).collect();
    let emitted = unique_versions(&all, "updated");
    let after = stand_in_versions(&h.fake, "profiles", "updated");
    for (id, at) in &after {
        assert!(
            emitted.contains(&(id.clone(), *at)),
            "{id} at its current version"
        );
    }
    for (id, at) in &before {
        if after[id] == *at {
            assert!(emitted.contains(&(id.clone(), *at)), "unchanged {id}");
        }
    }
    // The reads overlapped: some request arrived before the one before it
    // was answered.
    let requests = h.fake.requests();
    let overlapping = requests
        .windows(2)
        .filter(|w| w[0].answered.is_some_and(|a| w[1].received < a))
        .count();
    assert!(overlapping >= 5, "{overlapping} overlapping requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slice_that_fails_stops_the_output_where_the_order_says() {
    // A limit generous enough that six reads at once are worth it at
    // 30 ms: the reads after the failing slice run before it fails.
    let mut config = FakeConfig::empty().with_latency(Duration::from_millis(30));
    config.rate_limit = Some(RateLimitRule {
        burst_per_second: 1_000,
        steady_per_minute: 60_000,
    });
    let h = Harness::new(config).with_env("KLAVIYO_MAX_IN_FLIGHT", "6");
    spread(&h, 200, 3_000);
    // One crowded second, the only place the cursor is followed: its walk
    // fails past the retries while the slices around it succeed.
    clustered_profiles(&h, &[(2_900, 30)]);
    spread(&h, 200, 2_000);
    h.fake.set_page_cap(Some(10));
    h.fake.push_fault(
        FaultRule::new(Fault::Status(503))
            .with_cursor()
            .times(1_000),
    );
    let crowded = at(&ago(2_900));
    let failed = h.poll(profiles(), &json!({})).await;
    let err = failed.error.as_ref().expect("the run fails");
    assert_eq!(err.kind().name(), "TransientError", "{err}");
    assert!(err.to_string().starts_with("Klaviyo answered 503"), "{err}");
    let emitted = unique_versions(&failed.records(), "updated");
    let all: BTreeSet<Version> = stand_in_versions(&h.fake, "profiles", "updated")
        .into_iter()
        .collect();
    for version in &all {
        if version.1 < crowded {
            assert!(
                emitted.contains(version),
                "{version:?} before the failed slice"
            );
        }
    }
    assert!(
        emitted.iter().all(|(_, at)| *at <= crowded),
        "nothing after the failed slice"
    );
    // The slices after it were read, though: their pages were not emitted.
    let later = h.fake.requests().iter().any(|r| {
        decode(&r.path_and_query)
            .split("greater-than(updated,")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .is_some_and(|bound| at(bound) > crowded + chrono::Duration::seconds(1))
    });
    assert!(later, "reads ran past the failed slice");
    let snapshot = failed.last_snapshot().expect("a snapshot").clone();
    assert!(
        at(snapshot["window"]["watermark"]
            .as_str()
            .expect("a watermark"))
            <= crowded,
        "the snapshot is no further than the output: {snapshot}"
    );
    h.fake.clear_faults();
    let rest = h.poll(profiles(), &snapshot).await;
    rest.assert_ok();
    let again = unique_versions(&rest.records(), "updated");
    let union: BTreeSet<Version> = emitted.union(&again).cloned().collect();
    assert_eq!(union, all, "nothing lost");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_holds_back_every_reader() {
    let h = Harness::new(FakeConfig::empty().with_latency(Duration::from_millis(150)))
        .with_env("KLAVIYO_MAX_IN_FLIGHT", "8");
    spread(&h, 400, 3_000);
    h.fake.set_page_cap(Some(10));
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(3),
        })
        .path("/profiles")
        .skip(6),
    );
    let out = h.poll(profiles(), &json!({})).await;
    out.assert_ok();
    assert_eq!(
        unique_versions(&out.records(), "updated").len(),
        400,
        "every record"
    );
    let requests = h.fake.requests();
    let throttled = requests
        .iter()
        .find(|r| r.status == 429)
        .expect("the 429 was answered");
    let answered = throttled.answered.expect("answered");
    // Requests already on their way when the 429 came may still arrive; a
    // request sent after it must wait out the 3 s.
    let quiet = (
        answered + Duration::from_millis(400),
        answered + Duration::from_millis(2_600),
    );
    let early: Vec<&str> = requests
        .iter()
        .filter(|r| r.received > quiet.0 && r.received < quiet.1)
        .map(|r| r.path_and_query.as_str())
        .collect();
    assert!(early.is_empty(), "sent during Retry-After: {early:?}");
}

/// A server that answers every request with the same page, whose
/// `links.next` points back at it when `looping`: the request count, and
/// its base URL.
fn page_server(records: Value, looping: bool) -> (Arc<AtomicUsize>, String) {
    json_server(move |_, base| {
        let next = format!("{base}/loop?page%5Bcursor%5D=same");
        let more = if looping { json!(next) } else { Value::Null };
        json!({"data": records, "links": {"self": next, "next": more}})
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_that_goes_round_in_circles_ends_every_reader() {
    let when = (Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let cases = [
        // Keyset: a page all at one second makes the trigger walk the cursor.
        ("profiles", "updated", "profile"),
        // Sorted newest first, read through the cursor.
        ("reviews", "updated", "review"),
        // Read in full through the cursor.
        ("metrics", "updated", "metric"),
    ];
    for (collection, field, kind) in cases {
        let records: Vec<Value> = (0..3)
            .map(|i| {
                json!({"type": kind, "id": format!("{kind}{i}"),
                            "attributes": {field: when, "created": when}})
            })
            .collect();
        let (count, base) = page_server(Value::Array(records), true);
        // One read at a time, so the requests can be counted.
        let h = Harness::new(FakeConfig::empty())
            .with_env("KLAVIYO_BASE_URL", &base)
            .with_env("KLAVIYO_MAX_IN_FLIGHT", "1");
        let none = json!({});
        let poll = h.poll(
            json!({"objectType": collection, "pollConfig": field}),
            &none,
        );
        let out = tokio::time::timeout(Duration::from_secs(60), poll)
            .await
            .unwrap_or_else(|_| panic!("{collection}: the walk goes on forever"));
        let err = out
            .error
            .unwrap_or_else(|| panic!("{collection}: the walk ended by itself"));
        assert!(
            err.to_string()
                .contains("points back at a page already read"),
            "{collection}: {err}"
        );
        let requests = count.load(Ordering::SeqCst);
        assert!(requests <= 4, "{collection}: {requests} requests");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_within_a_second_come_in_any_order_of_their_fractions() {
    // Klaviyo sorts by the second, and writes the same field with and
    // without a fraction: `…:40.5`, `…:40`, `…:40.2` is one second, in
    // order, and no reason to stop.
    let second = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S");
    let records: Vec<Value> = [".500000", "", ".200000"]
        .iter()
        .enumerate()
        .map(|(i, fraction)| {
            json!({"type": "event", "id": format!("event{i}"),
                   "attributes": {"datetime": format!("{second}{fraction}+00:00")}})
        })
        .collect();
    let (_, base) = page_server(Value::Array(records), false);
    let h = Harness::new(FakeConfig::empty())
        .with_env("KLAVIYO_BASE_URL", &base)
        .with_env("KLAVIYO_MAX_IN_FLIGHT", "1");
    let out = h
        .poll(
            json!({"objectType": "events", "pollConfig": "datetime"}),
            &json!({}),
        )
        .await;
    out.assert_ok();
    let ids: BTreeSet<String> = out
        .records()
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["event0".into(), "event1".into(), "event2".into()])
    );
}
