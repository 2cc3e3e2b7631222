//! The raw request action through four real sailors consuming one queue:
//! every reply exactly once, bad requests on the error key with the
//! runner's message, every input acked (or, for the bad ones, rejected).

use std::collections::{BTreeMap, BTreeSet};

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::support::{
    PATIENCE, REVISION, assert_no_secret, env_of, platform, runner_alone, stand_in,
};

pub(crate) const RAW: &str = "makeRawRequest";

const REQUESTS: usize = 500;
const SAILORS: usize = 4;

/// Every 25th request is one the runner refuses.
fn request(i: usize) -> Value {
    if i % 25 == 7 {
        json!({"method": "FETCH", "url": "/lists"})
    } else {
        json!({"method": "GET", "url": format!("/lists?page[size]={}", 1 + i % 10)})
    }
}

#[test]
fn raw_requests_through_four_sailors_on_one_queue() {
    let Some(mut p) = platform("raw_request") else {
        return;
    };
    let fake = stand_in(FakeConfig::empty().seed(5).size("lists", 12));
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION});
    let step = p.add_step("step_2", RAW, cfg.clone()).expect("step");
    let q = step.queues.clone();
    let mut sailors: Vec<_> = (0..SAILORS)
        .map(|i| {
            p.spawn_sailor(&step, &format!("c-{i}"), &[])
                .expect("sailor")
        })
        .collect();

    // What the runner alone says to a bad request.
    let alone: Vec<Value> = runner_alone(
        &["process", RAW],
        &json!({"cfg": cfg, "msg": {"body": request(7)}}),
        &env_of(&[("KLAVIYO_BASE_URL", fake.base_url())]),
    )
    .lines()
    .map(|l| serde_json::from_str(l).expect("event"))
    .collect();
    assert_eq!(alone[0]["event"], "error");
    let refusal = alone[0]["payload"].clone();

    let mut ids = BTreeMap::new();
    for i in 0..REQUESTS {
        let id = p
            .broker
            .publish_input(&q, &p.cipher, &json!({"body": request(i)}))
            .expect("published");
        ids.insert(id, i);
    }
    let bad = (0..REQUESTS).filter(|i| i % 25 == 7).count();
    let good = REQUESTS - bad;

    let mut alive = || sailors.iter_mut().try_for_each(|s| s.alive());
    let replies = p
        .broker
        .read(&q.data(), good, PATIENCE, &mut alive)
        .expect("the replies");
    let errors = p
        .broker
        .read(&q.errors(), bad, PATIENCE, &mut alive)
        .expect("the errors");
    for s in &sailors {
        s.terminate();
    }
    let mut logs = Vec::new();
    for s in &mut sailors {
        assert!(s.wait_exit(PATIENCE).expect("exits").success());
        logs.extend(s.log());
    }

    // Replies: one per good request, each the answer to its own request.
    let mut answered = BTreeSet::new();
    let mut containers = BTreeSet::new();
    let mut plain = Vec::new();
    for m in &replies {
        let parent = m.headers["parentMessageId"]
            .as_str()
            .expect("parent")
            .to_owned();
        let i = ids[&parent];
        assert!(answered.insert(i), "request {i} answered twice");
        let reply = m.decrypt(&p.cipher).expect("decrypts");
        assert_eq!(reply["body"]["statusCode"], 200, "request {i}");
        let listed = reply["body"]["responseBody"]["data"]
            .as_array()
            .expect("a list page")
            .len();
        assert_eq!(listed, 1 + i % 10, "request {i} got its own page size");
        containers.insert(
            m.headers["containerId"]
                .as_str()
                .expect("container")
                .to_owned(),
        );
        plain.push(reply);
    }
    assert_eq!(answered.len(), good);
    assert_eq!(containers.len(), SAILORS, "all four sailors took requests");

    // Errors: the runner's own message, the input as errorInput.
    let mut refused = BTreeSet::new();
    for m in &errors {
        let e = m.decrypt_error(&p.cipher).expect("an error message");
        assert_eq!(e["error"]["name"], refusal["name"]);
        assert_eq!(e["error"]["message"], refusal["message"]);
        let parent = m.headers["parentMessageId"]
            .as_str()
            .expect("parent")
            .to_owned();
        let i = ids[&parent];
        assert_eq!(i % 25, 7, "only bad requests fail");
        assert!(refused.insert(i));
        let input = p
            .cipher
            .decrypt_base64(e["errorInput"].as_str().expect("errorInput"))
            .expect("the input as received");
        assert_eq!(
            serde_json::from_slice::<Value>(&input).expect("json"),
            json!({"body": request(i)})
        );
        plain.push(e);
    }
    assert_eq!(refused.len(), bad);

    // Good inputs acked, bad ones rejected, nothing more published.
    assert_eq!(p.broker.count(&q.messages()).expect("count"), 0);
    assert_eq!(p.broker.drain(&q.rejected()).expect("drain").len(), bad);
    for queue in [q.data(), q.errors(), q.rebounds(), q.snapshots()] {
        assert_eq!(p.broker.count(&queue).expect("count"), 0, "{queue}");
    }
    let mut published = replies.clone();
    published.extend(errors.iter().cloned());
    assert_no_secret(&fake.api_key(), &published, &logs, &plain);
}
