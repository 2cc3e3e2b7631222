//! The polling trigger through the real `run.js`: every record exactly
//! once and in the runner's order, in both emit modes; the snapshots
//! published; the tick acked; a second tick emits only what changed.

use std::collections::BTreeMap;

use klaviyo_fake::FakeConfig;
use sailor_harness::broker::Received;
use serde_json::{Value, json};

use crate::support::{
    FINISHED, PATIENCE, REVISION, assert_all_drained, assert_no_secret, distinct, platform,
    record_ids, stand_in,
};

pub(crate) const POLLING: &str = "getNewAndUpdatedObjectsPolling";

/// The runner alone, as docs/protocol.md runs it: its event lines.
pub(crate) fn runner_alone(
    env: &BTreeMap<String, String>,
    cfg: &Value,
    snapshot: &Value,
) -> Vec<Value> {
    crate::support::runner_alone(
        &["process", POLLING],
        &json!({"cfg": cfg, "snapshot": snapshot}),
        env,
    )
    .lines()
    .map(|l| serde_json::from_str(l).expect("an event line"))
    .collect()
}

/// Waits until the wall clock is at least one whole second past now, so
/// that a change made after it has a later timestamp than anything before.
fn next_second() {
    let start = chrono::Utc::now().timestamp();
    while chrono::Utc::now().timestamp() < start + 2 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn poll_twice(mode: &str, page_size: Option<&str>) {
    let test = format!("trigger_{mode}");
    let Some(mut p) = platform(&test) else {
        return;
    };
    let fake = stand_in(FakeConfig::empty().seed(7).size("lists", 23));
    let env: BTreeMap<String, String> = [
        ("KLAVIYO_BASE_URL", fake.base_url().to_owned()),
        ("KLAVIYO_POLL_LAG_SECONDS", "0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in &env {
        p.set_env(k, v);
    }
    let mut cfg = json!({
        "apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "lists", "pollConfig": "updated", "emitBehavior": mode
    });
    if let Some(size) = page_size {
        cfg["pageSize"] = json!(size);
    }
    // The oracle: what the runner alone emits for the same poll.
    let alone = runner_alone(&env, &cfg, &json!({}));
    let alone_data: Vec<Value> = alone
        .iter()
        .filter(|e| e["event"] == "data")
        .map(|e| e["payload"]["body"].clone())
        .collect();
    let alone_ids: Vec<String> = alone_data.iter().flat_map(record_ids).collect();
    let alone_snapshots = alone.iter().filter(|e| e["event"] == "snapshot").count();
    assert_eq!(
        distinct(&alone_ids),
        fake.ids("lists").into_iter().collect()
    );
    assert_eq!(alone_ids.len(), 23);
    assert!(alone_snapshots >= 1);

    let step = p.add_step("step_1", POLLING, cfg).expect("step");
    let q = step.queues.clone();
    let mut sailor = p.spawn_sailor(&step, "c-1", &[]).expect("sailor");

    // First tick: everything.
    let tick = p
        .broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("tick published");
    let first = p
        .broker
        .read(&q.data(), alone_data.len(), PATIENCE, || sailor.alive())
        .expect("the first poll's data");
    let bodies: Vec<Value> = first
        .iter()
        .map(|m| m.decrypt(&p.cipher).expect("decrypts"))
        .collect();
    let ids: Vec<String> = bodies.iter().flat_map(|m| record_ids(&m["body"])).collect();
    assert_eq!(ids, alone_ids, "every record once, in the runner's order");
    for (message, alone_body) in bodies.iter().zip(&alone_data) {
        assert_eq!(
            &message["body"], alone_body,
            "the body as the runner emitted it"
        );
    }
    for m in &first {
        assert_eq!(m.headers["parentMessageId"], json!(tick));
        assert_eq!(m.headers["stepId"], json!("step_1"));
        assert_eq!(m.headers["function"], json!(POLLING));
        assert_eq!(m.headers["protocolVersion"], json!(1));
    }
    let snapshots = p
        .broker
        .read(&q.snapshots(), alone_snapshots, PATIENCE, || sailor.alive())
        .expect("the first poll's snapshots");
    for s in &snapshots {
        assert_eq!(s.headers["snapshotEvent"], json!("snapshot"));
        assert!(s.json().expect("plain JSON").is_object());
    }
    sailor
        .wait_for_lines(FINISHED, 1, PATIENCE)
        .expect("the first poll finishes");

    // Changes after the first poll's window; then the second tick.
    next_second();
    let mut all_ids = fake.ids("lists");
    all_ids.sort();
    let touched: Vec<String> = all_ids.iter().take(3).cloned().collect();
    for id in &touched {
        fake.touch("lists", id).expect("touched");
    }
    next_second();
    p.broker
        .publish_input(&q, &p.cipher, &json!({"body": {}}))
        .expect("second tick published");
    let expected_second = if page_size.is_some() {
        1
    } else {
        touched.len()
    };
    let second = p
        .broker
        .read(&q.data(), expected_second, PATIENCE, || sailor.alive())
        .expect("the second poll's data");
    sailor
        .wait_for_lines(FINISHED, 2, PATIENCE)
        .expect("the second poll finishes");
    let second_ids: Vec<String> = second
        .iter()
        .flat_map(|m| record_ids(&m.decrypt(&p.cipher).expect("decrypts")["body"]))
        .collect();
    assert_eq!(second_ids.len(), touched.len(), "only what changed, once");
    assert_eq!(distinct(&second_ids), distinct(&touched));

    // Stop sailor as the platform does; then nothing may be left anywhere.
    sailor.terminate();
    let status = sailor.wait_exit(PATIENCE).expect("sailor exits");
    assert!(status.success(), "sailor exits 0 on SIGTERM: {status}");
    let later_snapshots = p.broker.drain(&q.snapshots()).expect("drain");
    assert!(
        !later_snapshots.is_empty(),
        "the second poll saves its progress"
    );
    let mut published: Vec<Received> = first.clone();
    published.extend(second.iter().cloned());
    published.extend(snapshots.iter().cloned());
    published.extend(later_snapshots.iter().cloned());
    assert_all_drained(&p, &q);
    let plain: Vec<Value> = first
        .iter()
        .chain(&second)
        .map(|m| m.decrypt(&p.cipher).expect("decrypts"))
        .collect();
    let logs = sailor.log();
    assert!(
        logs.iter()
            .any(|l| l.contains(&format!("\\\"{POLLING}\\\" started"))
                || l.contains(&format!("\"{POLLING}\" started"))
                || l.contains(&format!("\\\"{POLLING}\\\" finished"))),
        "the runner's log lines reach sailor's log"
    );
    assert_no_secret(&fake.api_key(), &published, &logs, &plain);
}

#[test]
fn trigger_emits_individually_through_sailor() {
    poll_twice("emitIndividually", None);
}

#[test]
fn trigger_emits_pages_through_sailor() {
    poll_twice("emitPage", Some("5"));
}
