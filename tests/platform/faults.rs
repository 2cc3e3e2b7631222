//! Faults through sailor: a Klaviyo that answers 429 past the retry budget,
//! and sailor stopped in the middle of a poll. Nothing is acked silently
//! and no record is lost.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc;

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Hook};
use sailor_harness::broker::Received;
use serde_json::{Value, json};

use crate::raw_request::RAW;
use crate::support::{
    FINISHED, PATIENCE, REVISION, assert_all_drained, env_of, platform, record_ids, runner_alone,
    stand_in,
};
use crate::trigger::POLLING;

/// Fast retries, so that the budget is spent quickly.
const RETRIES: [(&str, &str); 2] = [("API_RETRIES_COUNT", "1"), ("API_RETRY_DELAY", "1")];

fn storm() -> FaultRule {
    FaultRule::new(Fault::Status429 {
        retry_after: Some(0),
    })
    .times(1_000)
}

/// The raw request that stays throttled: a rebound, through sailor. It goes
/// to the rebound key with the input as it came, and the input is acked:
/// never an ack without it.
#[test]
fn raw_request_throttled_past_the_budget() {
    let Some(mut p) = platform("faults_raw_request_429") else {
        return;
    };
    let fake = stand_in(FakeConfig::empty().size("lists", 2));
    fake.push_fault(storm());
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    for (k, v) in RETRIES {
        p.set_env(k, v);
    }
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION});
    let body = json!({"method": "GET", "url": "/lists"});
    let mut env = env_of(&RETRIES);
    env.insert("KLAVIYO_BASE_URL".into(), fake.base_url().to_owned());
    let alone: Vec<Value> = runner_alone(
        &["process", RAW],
        &json!({"cfg": cfg, "msg": {"body": body}}),
        &env,
    )
    .lines()
    .map(|l| serde_json::from_str(l).expect("event"))
    .collect();
    assert_eq!(alone.len(), 2, "one outcome, then end: {alone:?}");
    let outcome = alone[0].clone();

    let step = p.add_step("step_2", RAW, cfg).expect("step");
    let q = step.queues.clone();
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");
    let input = json!({"body": body});
    let id = p
        .broker
        .publish_input(&q, &p.cipher, &input)
        .expect("published");
    // docs/client.md: a 429 that outlasts the retries sends the message
    // back to the platform for later.
    assert_eq!(outcome["event"], "rebound", "{alone:?}");
    let rebound = p
        .broker
        .read(&q.rebounds(), 1, PATIENCE, || sailor.alive())
        .expect("the rebound")
        .remove(0);
    assert_eq!(
        rebound.headers["reboundReason"],
        outcome["payload"]["reason"]
    );
    assert_eq!(rebound.headers["reboundIteration"], json!(1));
    assert_eq!(rebound.headers["messageId"], json!(id));
    assert_eq!(rebound.expiration.as_deref(), Some("15000"));
    assert_eq!(rebound.decrypt(&p.cipher).expect("decrypts"), input);
    sailor
        .wait_for_line(FINISHED, PATIENCE)
        .expect("the runner ends");
    sailor.terminate();
    assert!(sailor.wait_exit(PATIENCE).expect("exits").success());
    // Acked: not in the queue, not rejected; nothing else published.
    assert_all_drained(&p, &q);
    assert!(
        fake.requests().iter().filter(|r| r.status == 429).count() >= 4,
        "both runs met the storm"
    );
}

/// A poll that stays throttled: an error on the error key, the tick
/// rejected, no data.
#[test]
fn trigger_throttled_past_the_budget_is_an_error() {
    let Some(mut p) = platform("faults_trigger_429") else {
        return;
    };
    let fake = stand_in(FakeConfig::empty().size("lists", 5));
    fake.push_fault(storm());
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    for (k, v) in RETRIES {
        p.set_env(k, v);
    }
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "lists", "pollConfig": "updated"});
    let step = p.add_step("step_1", POLLING, cfg).expect("step");
    let q = step.queues.clone();
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");
    let tick = json!({"body": {}});
    let id = p.broker.publish_input(&q, &p.cipher, &tick).expect("tick");
    let error = p
        .broker
        .read(&q.errors(), 1, PATIENCE, || sailor.alive())
        .expect("the error")
        .remove(0);
    let e = error.decrypt_error(&p.cipher).expect("an error message");
    assert_eq!(e["error"]["name"], "TransientError", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("429")),
        "{e}"
    );
    assert_eq!(
        e["errorInput"],
        json!(String::from_utf8(p.cipher.encrypt_v1(tick.to_string().as_bytes())).expect("base64"))
    );
    let rejected = p
        .broker
        .read(&q.rejected(), 1, PATIENCE, || sailor.alive())
        .expect("the tick, rejected");
    assert_eq!(rejected[0].headers["messageId"], json!(id));
    sailor.terminate();
    assert!(sailor.wait_exit(PATIENCE).expect("exits").success());
    assert_eq!(p.broker.count(&q.data()).expect("count"), 0, "no data");
    assert_all_drained(&p, &q);
}

/// A hook that holds the stand-in's answer to the `after`-th list request
/// until the test lets it go: the poll is then certainly in its middle.
fn hold_list_request(after: usize) -> (Hook, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let hook = Hook::new("/lists", after, move |_| {
        let _ = rx.lock().map(|rx| rx.recv());
    });
    (hook, tx)
}

fn ids_of(p: &sailor_harness::platform::Platform, messages: &[Received]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| record_ids(&m.decrypt(&p.cipher).expect("decrypts")["body"]))
        .collect()
}

fn poll_setup(
    test: &str,
) -> Option<(
    sailor_harness::platform::Platform,
    klaviyo_fake::FakeKlaviyo,
    sailor_harness::platform::Step,
)> {
    let mut p = platform(test)?;
    let fake = stand_in(FakeConfig::empty().seed(11).size("lists", 23));
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "lists", "pollConfig": "updated"});
    let step = p.add_step("step_1", POLLING, cfg).expect("step");
    Some((p, fake, step))
}

/// SIGTERM while the runner is in the middle of a poll: sailor waits for
/// the message in flight (its contract), the runner finishes, every record
/// is published once and the tick is acked.
#[test]
fn sigterm_mid_poll_lets_the_runner_finish() {
    let Some((p, fake, step)) = poll_setup("faults_sigterm") else {
        return;
    };
    let q = step.queues.clone();
    let all: BTreeSet<String> = fake.ids("lists").into_iter().collect();
    let (hook, release) = hold_list_request(2);
    fake.on_request(hook);
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");
    p.broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("tick");
    let before = p
        .broker
        .read(&q.data(), 1, PATIENCE, || sailor.alive())
        .expect("the first records");
    sailor.terminate();
    sailor
        .wait_for_line("Received SIGTERM", PATIENCE)
        .expect("sailor got the signal");
    release.send(()).expect("released");
    let status = sailor.wait_exit(PATIENCE).expect("sailor exits");
    assert!(status.success(), "{status}");
    let mut ids = ids_of(&p, &before);
    ids.extend(ids_of(&p, &p.broker.drain(&q.data()).expect("drain")));
    assert_eq!(ids.len(), all.len(), "every record once: {ids:?}");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), all);
    p.broker.drain(&q.snapshots()).expect("drain");
    assert_all_drained(&p, &q);
}

/// The platform gives up waiting and kills the container mid-poll: the
/// tick was not acked, so the broker redelivers it to the next sailor,
/// which resumes from the last snapshot published. Together the two runs
/// published every record.
#[test]
fn killed_mid_poll_the_redelivered_tick_resumes_from_the_snapshot() {
    let Some((p, fake, step)) = poll_setup("faults_kill") else {
        return;
    };
    let q = step.queues.clone();
    let all: BTreeSet<String> = fake.ids("lists").into_iter().collect();
    let (hook, release) = hold_list_request(2);
    fake.on_request(hook);
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");
    let tick = p
        .broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("tick");
    // The first page is out when its snapshot is.
    let snapshot = p
        .broker
        .read(&q.snapshots(), 1, PATIENCE, || sailor.alive())
        .expect("the first page's snapshot")
        .remove(0)
        .json()
        .expect("plain JSON");
    let before = ids_of(&p, &p.broker.drain(&q.data()).expect("drain"));
    assert!(!before.is_empty() && before.len() < all.len(), "{before:?}");
    sailor.kill();
    release.send(()).expect("released");
    assert_eq!(p.broker.count(&q.rejected()).expect("count"), 0);

    // The platform stores the snapshot; the next container starts from it.
    p.api
        .set_snapshot(sailor_harness::platform::FLOW, &step.id, snapshot);
    let mut next = p.spawn_sailor(&step, "c-2", &[]).expect("sailor");
    next.wait_for_line(FINISHED, PATIENCE)
        .expect("the resumed poll ends");
    next.terminate();
    assert!(next.wait_exit(PATIENCE).expect("exits").success());
    let after_messages = p.broker.drain(&q.data()).expect("drain");
    for m in &after_messages {
        assert_eq!(
            m.headers["parentMessageId"],
            json!(tick),
            "the same tick, redelivered"
        );
    }
    let after = ids_of(&p, &after_messages);
    assert_eq!(
        after.iter().cloned().collect::<BTreeSet<_>>().len(),
        after.len(),
        "no record twice within the resumed run"
    );
    let union: BTreeSet<String> = before.iter().chain(&after).cloned().collect();
    assert_eq!(union, all, "no record lost");
    assert!(
        after.len() < all.len(),
        "the resumed run did not start over"
    );
    p.broker.drain(&q.snapshots()).expect("drain");
    assert_all_drained(&p, &q);
}
