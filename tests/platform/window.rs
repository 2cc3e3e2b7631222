//! The adapter's window of data emits in flight, through real sailors and
//! RabbitMQ, with profiles the size real ones are (about 3 KB): order and
//! exactly-once across a kill in the middle of a burst of unconfirmed
//! emits, no snapshot ahead of unconfirmed data, a publish the broker
//! refuses, and a runner that blocks while the window is full.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use sailor_harness::platform::{Platform, Step};
use serde_json::{Value, json};

use crate::support::{FINISHED, PATIENCE, REVISION, assert_all_drained, platform, stand_in};
use crate::trigger::{POLLING, runner_alone};

/// Custom properties per profile: with the rest, about 3 KB a record.
const PROPERTIES_BYTES: usize = 2200;

struct Poll {
    p: Platform,
    fake: FakeKlaviyo,
    step: Step,
    /// The runner alone: the record ids of its data lines, in order.
    ids: Vec<String>,
    /// How many data lines come before each of its snapshots.
    snapshot_after: Vec<usize>,
}

fn poll(test: &str, profiles: usize) -> Option<Poll> {
    let mut p = platform(test)?;
    let fake = stand_in(FakeConfig::empty().seed(17).size("profiles", profiles));
    sailor_harness::records::pad_profiles(&fake, PROPERTIES_BYTES).expect("padded");
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitIndividually"});
    let env: BTreeMap<String, String> =
        [("KLAVIYO_BASE_URL".to_owned(), fake.base_url().to_owned())].into();
    let mut ids = Vec::new();
    let mut snapshot_after = Vec::new();
    for e in runner_alone(&env, &cfg, &json!({})) {
        match e["event"].as_str() {
            Some("data") => {
                let line = e.to_string();
                assert!(line.len() > 2500, "a record of about 3 KB: {}", line.len());
                ids.push(id_of(&e["payload"]["body"]));
            }
            Some("snapshot") => snapshot_after.push(ids.len()),
            _ => {}
        }
    }
    assert_eq!(ids.len(), profiles);
    let step = p.add_step("step_1", POLLING, cfg).expect("step");
    Some(Poll {
        p,
        fake,
        step,
        ids,
        snapshot_after,
    })
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("a record id").to_owned()
}

fn data_ids(p: &Platform, q: &sailor_harness::broker::StepQueues) -> Vec<String> {
    p.broker
        .drain(&q.data())
        .expect("drain")
        .iter()
        .map(|m| id_of(&m.decrypt(&p.cipher).expect("decrypts")["body"]))
        .collect()
}

/// Waits until `queue` holds at least `n` messages, watching closely.
fn wait_for(p: &Platform, queue: &str, n: u32, sailor: &mut sailor_harness::sailor::Sailor) {
    let started = Instant::now();
    while p.broker.count(queue).expect("count") < n {
        sailor.alive().expect("sailor runs");
        assert!(started.elapsed() < PATIENCE, "{queue} never held {n}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sailor at its default rate (100 data messages a second) is far slower
/// than the runner, so the window is full of unconfirmed emits the whole
/// poll. The container is killed just after the first snapshot is out,
/// while the next page's emits are in flight. What the killed run
/// published is a prefix of the runner's order, every snapshot it
/// published comes after all the data before it, and the redelivered tick
/// resumed from that snapshot publishes the rest: every record exactly
/// once, but for those published after the last snapshot and before the
/// kill, which a snapshot-based resume publishes again by design.
#[test]
fn emits_in_flight_keep_order_and_exactly_once_across_a_kill() {
    let Some(Poll {
        p,
        fake: _fake,
        step,
        ids,
        snapshot_after,
    }) = poll("window_kill", 300)
    else {
        return;
    };
    assert!(snapshot_after.len() >= 2, "{snapshot_after:?}");
    let q = step.queues.clone();
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");
    p.broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("tick");
    wait_for(&p, &q.snapshots(), 1, &mut sailor);
    // The next burst: the window fills again.
    std::thread::sleep(Duration::from_millis(150));
    sailor.kill();

    let killed = data_ids(&p, &q);
    let snapshots = p.broker.drain(&q.snapshots()).expect("drain");
    assert!(!snapshots.is_empty());
    let covered = snapshot_after[snapshots.len() - 1];
    assert!(
        killed.len() >= covered,
        "a snapshot was published before the data it follows: {} snapshot(s) cover {covered} \
         records, {} were published",
        snapshots.len(),
        killed.len()
    );
    assert!(killed.len() < ids.len(), "killed in the middle of the poll");
    assert_eq!(
        killed,
        ids[..killed.len()],
        "the killed run published a prefix of the runner's order: no gap, no repeat"
    );

    // The platform stores the last snapshot; the next container resumes.
    let last = snapshots.last().expect("a snapshot").json().expect("JSON");
    p.api
        .set_snapshot(sailor_harness::platform::FLOW, &step.id, last);
    let mut next = p.spawn_sailor(&step, "c-2", &[]).expect("sailor");
    next.wait_for_line(FINISHED, PATIENCE)
        .expect("the resumed poll ends");
    next.terminate();
    assert!(next.wait_exit(PATIENCE).expect("exits").success());
    let resumed = data_ids(&p, &q);
    assert_eq!(
        resumed,
        ids[covered..],
        "the resumed run publishes everything after the snapshot, in order"
    );
    // Exactly once, but for what was published after the last snapshot.
    let twice: BTreeSet<&String> = ids[covered..killed.len()].iter().collect();
    let mut seen: BTreeMap<&String, usize> = BTreeMap::new();
    for id in killed.iter().chain(&resumed) {
        *seen.entry(id).or_default() += 1;
    }
    for id in &ids {
        let expected = if twice.contains(id) { 2 } else { 1 };
        assert_eq!(seen.get(id), Some(&expected), "{id}");
    }
    assert_eq!(seen.len(), ids.len());
    p.broker.drain(&q.snapshots()).expect("drain");
    assert_all_drained(&p, &q);
}

/// A poll whose data queue refuses publishes past `limit` messages (an
/// overflow policy: the broker nacks them), with `extra` for sailor. The
/// publish fails, sailor publishes the error, the runner is stopped and
/// the tick rejected: the first `limit` records are out, in order, and no
/// snapshot, since the data before it was never all confirmed. Returns the
/// error messages.
fn refused(test: &str, limit: impl Fn(&[usize]) -> usize, extra: &[(&str, &str)]) -> Vec<String> {
    let Some(Poll {
        p,
        fake: _fake,
        step,
        ids,
        snapshot_after,
    }) = poll(test, 300)
    else {
        return Vec::new();
    };
    let limit = limit(&snapshot_after);
    assert!(limit < snapshot_after[0], "{snapshot_after:?}");
    let q = step.queues.clone();
    p.broker
        .limit_queue(
            &q.data(),
            &q.data_key(),
            u32::try_from(limit).expect("small"),
        )
        .expect("limited");
    let mut sailor = p.spawn_sailor(&step, "c-1", extra).expect("sailor");
    let tick = p
        .broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("tick");
    let rejected = p
        .broker
        .read(&q.rejected(), 1, PATIENCE, || sailor.alive())
        .expect("the tick, rejected");
    assert_eq!(rejected[0].headers["messageId"], json!(tick));
    let errors: Vec<String> = p
        .broker
        .drain(&q.errors())
        .expect("drain")
        .iter()
        .map(|e| {
            let e = e.decrypt_error(&p.cipher).expect("an error message");
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(!errors.is_empty(), "the failed publish is an error");
    assert_eq!(
        data_ids(&p, &q),
        ids[..limit],
        "the first {limit}, in order"
    );
    assert_eq!(
        p.broker.count(&q.snapshots()).expect("count"),
        0,
        "no snapshot after data that was not confirmed"
    );
    assert_eq!(sailor.count_lines(FINISHED), 0, "the runner was stopped");
    assert!(sailor.runners().is_empty(), "no runner left");
    sailor.alive().expect("sailor goes on");
    sailor.terminate();
    assert!(sailor.wait_exit(PATIENCE).expect("exits").success());
    assert_all_drained(&p, &q);
    errors
}

/// The broker nacks the 21st data message. Sailor would retry it, but
/// later messages are already handed over, so the retry is refused rather
/// than publish out of order.
#[test]
fn a_publish_the_broker_refuses_inside_the_window_stops_the_runner() {
    for message in refused("window_refused", |_| 20, &[]) {
        assert!(
            message.contains("The broker refused a data message after later ones"),
            "{message}"
        );
    }
}

/// The broker nacks the last data message before the first snapshot, and
/// sailor gives up on it after two tries: the snapshot, already written by
/// the runner, waits for that confirm and so is never published.
#[test]
fn a_snapshot_waits_for_the_confirms_of_the_data_before_it() {
    let errors = refused(
        "window_barrier",
        |after| after[0] - 1,
        &[("ELASTICIO_AMQP_PUBLISH_RETRY_ATTEMPTS", "2")],
    );
    for message in errors {
        assert!(message.contains("Failed on publishing"), "{message}");
    }
}

/// A broker that stalls (stopped where it stands) confirms nothing: the
/// window fills, the adapter stops reading the runner's stdout and the
/// runner blocks on it: alive, unfinished, writing nothing more, where
/// alone it finishes in about a second. Lookup Objects emitting
/// individually has no snapshot to wait at, so what holds the runner is
/// the window's bound alone. When the broker goes on, so does the step:
/// every record once, in order.
#[test]
fn the_runner_blocks_while_the_window_is_full() {
    const LOOKUP: &str = "lookupObjects";
    let Some(mut p) = platform("window_blocks") else {
        return;
    };
    let fake = stand_in(FakeConfig::empty().seed(19).size("profiles", 1500));
    sailor_harness::records::pad_profiles(&fake, PROPERTIES_BYTES).expect("padded");
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "profiles", "emitBehavior": "emitIndividually", "maxResults": "1500"});
    let env: BTreeMap<String, String> =
        [("KLAVIYO_BASE_URL".to_owned(), fake.base_url().to_owned())].into();
    let input = json!({"body": {}});
    let alone = crate::support::runner_alone(
        &["process", LOOKUP],
        &json!({"cfg": cfg, "msg": input}),
        &env,
    );
    let ids: Vec<String> = alone
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an event"))
        .filter(|e| e["event"] == "data")
        .map(|e| id_of(&e["payload"]["body"]))
        .collect();
    assert_eq!(ids.len(), 1500, "one data line per record");
    assert!(!alone.contains(r#""event":"snapshot""#));
    let step = p.add_step("step_2", LOOKUP, cfg).expect("step");
    let q = step.queues.clone();
    // A raised rate, so that the broker and not sailor's throttle is what
    // holds the emits.
    let mut sailor = p
        .spawn_sailor(&step, "c-1", &[("ELASTICIO_DATA_RATE_LIMIT", "1000")])
        .expect("sailor");
    p.broker
        .publish_input(&q, &p.cipher, &input)
        .expect("input");
    wait_for(&p, &q.data(), 20, &mut sailor);
    p.rabbit.pause();
    // Time for the window to fill, then watch the runner.
    std::thread::sleep(Duration::from_secs(1));
    let runner = sailor.runners();
    let before = runner
        .first()
        .and_then(|pid| sailor_harness::rabbit::bytes_written(*pid));
    std::thread::sleep(Duration::from_secs(2));
    let after = runner
        .first()
        .and_then(|pid| sailor_harness::rabbit::bytes_written(*pid));
    let finished = sailor.count_lines(FINISHED);
    p.rabbit.resume();
    assert_eq!(runner.len(), 1, "the runner is alive");
    assert_eq!(finished, 0, "the runner did not run ahead of the window");
    assert!(before.is_some(), "the runner's output is readable");
    assert_eq!(
        before, after,
        "the runner is blocked: it wrote nothing for 2 s"
    );
    assert!(
        before.unwrap_or_default() < alone.len() as u64 / 2,
        "it blocked early: {before:?} of {} bytes",
        alone.len()
    );
    sailor
        .wait_for_line(FINISHED, PATIENCE)
        .expect("the step goes on and ends");
    let got = p
        .broker
        .read(&q.data(), ids.len(), PATIENCE, || sailor.alive())
        .expect("every record");
    let got: Vec<String> = got
        .iter()
        .map(|m| id_of(&m.decrypt(&p.cipher).expect("decrypts")["body"]))
        .collect();
    assert_eq!(got, ids, "every record once, in the runner's order");
    sailor.terminate();
    assert!(sailor.wait_exit(PATIENCE).expect("exits").success());
    assert_all_drained(&p, &q);
}
