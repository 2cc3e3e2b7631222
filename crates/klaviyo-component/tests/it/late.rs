//! Late records: events created with a past time, caught by re-reads of
//! the lookback. The minutes between re-reads pass through
//! `testing::aged_snapshot`, which moves each stretch's last read back
//! (late/stretches.rs's own tests drive the schedule itself with a
//! simulated clock).

use std::collections::{BTreeMap, BTreeSet};

use component_sdk::Event;
use klaviyo_component::testing::aged_snapshot;
use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::support::*;

fn events(lookback: &str) -> Value {
    json!({"objectType": "events", "pollConfig": "datetime", "lookback": lookback,
           "startTime": ago(900)})
}

fn event(h: &Harness, secs_ago: i64) -> String {
    h.fake
        .insert(
            "events",
            json!({"attributes": {"datetime": ago(secs_ago), "event_properties": {}}}),
        )
        .expect("event")
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn counts(runs: &[Vec<Value>]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for id in runs.iter().flat_map(|r| ids(r)) {
        *out.entry(id).or_default() += 1;
    }
    out
}

/// Twenty events on time, a second apart, and a first poll that emits
/// them in order.
async fn twenty_on_time(h: &Harness, fields: &Value) -> (Vec<String>, Outcome) {
    let on_time: Vec<String> = (0..20).map(|i| event(h, 60 - i)).collect();
    let first = h.poll(fields.clone(), &json!({})).await;
    first.assert_ok();
    assert_eq!(ids(&first.records()), on_time);
    (on_time, first)
}

/// The next poll from `run`'s last snapshot, ten minutes on.
async fn poll_later(h: &Harness, fields: &Value, run: &Outcome) -> Outcome {
    let next = h
        .poll(
            fields.clone(),
            &later(run.last_snapshot().expect("snapshot")),
        )
        .await;
    next.assert_ok();
    next
}

/// As if ten minutes had passed since every read.
fn later(snapshot: &Value) -> Value {
    aged_snapshot(snapshot, 600).expect("the snapshot has stretches")
}

#[tokio::test(flavor = "multi_thread")]
async fn events_late_by_seconds_to_minutes_are_each_emitted_once() {
    let h = Harness::new(FakeConfig::empty());
    let fields = events("PT3M");
    let (on_time, first) = twenty_on_time(&h, &fields).await;
    let snapshot = first.last_snapshot().expect("snapshot").clone();
    assert_eq!(snapshot["v"], 3);

    let late: Vec<String> = [5, 30, 90, 170].iter().map(|d| event(&h, *d)).collect();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let fresh: Vec<String> = (0..3).map(|_| event(&h, 0)).collect();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let second = h.poll(fields.clone(), &later(&snapshot)).await;
    second.assert_ok();
    let records = second.records();
    // The main window's records first, in order; then the late ones.
    assert_eq!(ids(&records[..fresh.len()]), fresh);
    assert_ascending(&records[..fresh.len()], "datetime");
    let found: BTreeSet<String> = ids(&records[fresh.len()..]).into_iter().collect();
    assert_eq!(found, late.iter().cloned().collect());

    let third = poll_later(&h, &fields, &second).await;
    assert!(third.records().is_empty(), "nothing repeats");
    let all = counts(&[first.records(), records, third.records()]);
    assert!(all.values().all(|n| *n == 1), "{all:?}");
    assert_eq!(all.len(), on_time.len() + late.len() + fresh.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn events_deleted_after_they_were_emitted_repeat_nothing() {
    // A profile deleted takes its events: a re-read no longer lists ids
    // emitted before, and new late ones are still told apart.
    let h = Harness::new(FakeConfig::empty());
    let fields = events("PT3M");
    let (on_time, first) = twenty_on_time(&h, &fields).await;
    // A new stretch's summary tells 3 differing ids apart, new and
    // deleted together.
    h.fake.delete("events", &on_time[11]).expect("deleted");
    let late: BTreeSet<String> = [20, 45].iter().map(|d| event(&h, *d)).collect();
    let second = poll_later(&h, &fields, &first).await;
    let found: BTreeSet<String> = ids(&second.records()).into_iter().collect();
    assert_eq!(found, late, "the late ones, and no on-time one again");
    let third = poll_later(&h, &fields, &second).await;
    assert!(third.records().is_empty(), "nothing repeats");
}

#[tokio::test(flavor = "multi_thread")]
async fn hundreds_late_in_one_second_are_each_emitted_at_least_once() {
    let h = Harness::new(FakeConfig::empty());
    let fields = events("PT3M");
    let on_time: Vec<String> = (0..30).map(|i| event(&h, 45 - i)).collect();
    let first = h.poll(fields.clone(), &json!({})).await;
    first.assert_ok();
    let late: Vec<String> = (0..300).map(|_| event(&h, 40)).collect();
    let second = poll_later(&h, &fields, &first).await;
    let all = counts(&[first.records(), second.records()]);
    for id in late.iter().chain(&on_time) {
        assert!(all.contains_key(id), "{id} emitted");
    }
    // The summary cannot name 300 new ids: its stretch is emitted again,
    // the on-time records of that stretch a second time, and no more.
    let repeats: usize = all.values().map(|n| n - 1).sum();
    assert!(repeats <= on_time.len(), "{repeats} repeats");
    // The summary was rebuilt from what was read: nothing comes again.
    let third = poll_later(&h, &fields, &second).await;
    assert!(third.records().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_during_re_reads_loses_nothing() {
    let h = Harness::new(FakeConfig::empty());
    h.fake.set_page_cap(Some(7));
    let fields = json!({"objectType": "events", "pollConfig": "datetime", "lookback": "PT10M",
                        "startTime": ago(900), "emitBehavior": "emitPage", "pageSize": "3"});
    for i in 0..40 {
        event(&h, 300 - 7 * i);
    }
    let first = h.poll(fields.clone(), &json!({})).await;
    first.assert_ok();
    let before: BTreeSet<String> = ids(&first.records()).into_iter().collect();
    let late: BTreeSet<String> = [20, 70, 150, 230, 290]
        .iter()
        .map(|d| event(&h, *d))
        .collect();
    let start = later(first.last_snapshot().expect("snapshot"));
    let full = h.poll(fields.clone(), &start).await;
    full.assert_ok();
    assert_eq!(
        ids(&full.records()).into_iter().collect::<BTreeSet<_>>(),
        late
    );
    let records_in = |events: &[Event]| -> Vec<String> {
        let mut out = Vec::new();
        for e in events {
            if let Event::Data(m) = e {
                let body: Value = serde_json::from_str(m.body.get()).expect("json");
                out.extend(ids(body["results"].as_array().expect("a page")));
            }
        }
        out
    };
    for cut in 0..=full.events.len() {
        let delivered = &full.events[..cut];
        let resume = delivered
            .iter()
            .rposition(|e| matches!(e, Event::Snapshot(_)));
        let snapshot = match resume {
            Some(i) => match &delivered[i] {
                Event::Snapshot(s) => s.clone(),
                _ => unreachable!(),
            },
            None => start.clone(),
        };
        let after: BTreeSet<String> = records_in(&delivered[resume.map_or(0, |i| i + 1)..])
            .into_iter()
            .collect();
        let got: BTreeSet<String> = records_in(delivered).into_iter().collect();
        let rerun = h.poll(fields.clone(), &snapshot).await;
        rerun.assert_ok();
        let again: BTreeSet<String> = ids(&rerun.records()).into_iter().collect();
        let union: BTreeSet<String> = got.union(&again).cloned().collect();
        assert_eq!(union, late, "cut at {cut}: every late record");
        assert!(
            again.is_disjoint(&before),
            "cut at {cut}: on-time ones never again"
        );
        assert!(
            got.intersection(&again).all(|id| after.contains(id)),
            "cut at {cut}: repeats only after the last snapshot"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn older_snapshots_start_the_lookback_at_their_cursor() {
    let h = Harness::new(FakeConfig::empty());
    let fields = events("PT10M");
    event(&h, 100);
    let v1 = json!({"nextStartTime": ago(50)});
    let out = h.poll(fields.clone(), &v1).await;
    out.assert_ok();
    assert!(out.records().is_empty(), "before the cursor");
    let snapshot = out.last_snapshot().expect("snapshot").clone();
    assert_eq!(snapshot["v"], 3);
    let late = event(&h, 20);
    let next = h.poll(fields, &later(&snapshot)).await;
    next.assert_ok();
    assert_eq!(ids(&next.records()), vec![late]);
}

#[tokio::test(flavor = "multi_thread")]
async fn lookback_errors_name_the_field_and_the_range() {
    let h = Harness::new(FakeConfig::empty());
    for bad in ["1 day", "P30D", "PT10S"] {
        let out = h.poll(events(bad), &json!({})).await;
        let (_, message) = out.failure();
        assert!(
            message.starts_with(
                "\"Late records lookback\" must be an ISO 8601 duration from PT1M to P7D"
            ),
            "{bad}: {message}"
        );
    }
}
