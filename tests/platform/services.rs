//! Service calls through the real `runService.js` with a stub result URL:
//! the exact `{status, data}` bodies sailor posts are the runner's own
//! envelopes.

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::support::{REVISION, env_of, platform, runner_alone, stand_in};
use crate::trigger::POLLING;

#[test]
fn verify_select_models_and_metadata_through_run_service() {
    let Some(mut p) = platform("services") else {
        return;
    };
    let fake = stand_in(FakeConfig::default().seed(3).size("lists", 3));
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    let env = env_of(&[("KLAVIYO_BASE_URL", fake.base_url())]);
    let key = fake.api_key();
    let good = json!({"apiKey": key, "revision": REVISION});
    let bad = json!({"apiKey": "pk_wrong00000000000000000000000000000", "revision": REVISION});
    let campaigns = json!({"apiKey": key, "revision": REVISION, "objectType": "campaigns"});
    // (method, cfg, function, select model, the runner's own command line)
    type Case<'a> = (
        &'a str,
        &'a Value,
        Option<&'a str>,
        Option<&'a str>,
        Vec<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "verifyCredentials",
            &good,
            None,
            None,
            vec!["verifyCredentials"],
        ),
        (
            "verifyCredentials",
            &bad,
            None,
            None,
            vec!["verifyCredentials"],
        ),
        (
            "selectModel",
            &good,
            Some(POLLING),
            Some("getObjectTypes"),
            vec!["selectModel", POLLING, "getObjectTypes"],
        ),
        (
            "selectModel",
            &campaigns,
            Some(POLLING),
            Some("getTimestampFields"),
            vec!["selectModel", POLLING, "getTimestampFields"],
        ),
        (
            "getMetaModel",
            &campaigns,
            Some(POLLING),
            None,
            vec!["getMetaModel", POLLING],
        ),
    ];
    let mut logs = Vec::new();
    for (method, cfg, function, model, runner_args) in cases {
        let (run, posted) = p.service(method, cfg, function, model).expect("runs");
        assert!(run.status.success(), "{method}: {:?}", run.log);
        let alone: Value =
            serde_json::from_str(&runner_alone(&runner_args, &json!({"cfg": cfg}), &env))
                .expect("one envelope");
        assert_eq!(alone["status"], "success", "{method}: {alone}");
        assert_eq!(
            posted,
            vec![alone.clone()],
            "{method}: the runner's envelope, posted once"
        );
        logs.extend(run.log);
    }
    // The two verifications, literally.
    let verify: Vec<Value> = p
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .take(2)
        .map(|r| serde_json::from_str(&r.body).expect("json"))
        .collect();
    assert_eq!(
        verify[0],
        json!({"status": "success", "data": {"verified": true}})
    );
    assert_eq!(verify[1]["status"], "success");
    assert_eq!(verify[1]["data"]["verified"], false);
    assert!(
        verify[1]["data"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    // Posted with the result URL's userinfo as basic auth.
    for r in p.api.requests().iter().filter(|r| r.method == "POST") {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Basic c3ZjOnN2Yy1zZWNyZXQ=")
        );
    }
    for line in &logs {
        assert!(!line.contains(&key), "a log line has the key: {line}");
    }
    for r in p.api.requests() {
        assert!(!r.body.contains(&key), "a posted body has the key");
    }
}

#[test]
fn a_service_error_is_an_error_envelope() {
    let Some(p) = platform("services_error") else {
        return;
    };
    // No objectType: the runner refuses; sailor posts its message.
    let cfg = json!({"apiKey": "pk_x", "revision": REVISION});
    let (run, posted) = p
        .service(
            "selectModel",
            &cfg,
            Some(POLLING),
            Some("getTimestampFields"),
        )
        .expect("runs");
    assert!(run.status.success());
    let alone: Value = serde_json::from_str(&runner_alone(
        &["selectModel", POLLING, "getTimestampFields"],
        &json!({"cfg": cfg}),
        &env_of(&[]),
    ))
    .expect("one envelope");
    assert_eq!(alone["status"], "error");
    assert_eq!(
        posted,
        vec![json!({"status": "error", "data": {"message": alone["data"]["message"]}})]
    );
}
