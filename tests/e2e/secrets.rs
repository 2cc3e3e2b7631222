//! The API key never reaches stdout or stderr, at any log level, whatever
//! Klaviyo answers (docs/protocol.md, "Logs"; ARCHITECTURE.md, "Nothing
//! prints a secret").
//!
//! The fault matrix (faults.rs), the hostile corpus (hostile.rs) and the
//! kill test (kill.rs) run every one of their runs at `LOG_LEVEL=trace`
//! with a recognizable key and check both streams for it (and for any
//! 10-character piece of it). This file adds what those do not cover: the
//! invocations kept under tests/e2e/cases/ (a panic that quotes the key
//! among them), and Klaviyo echoing the key back in error documents,
//! successful bodies and headers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo, Fault, FaultRule};
use serde_json::{Value, json};

use crate::stand_in::*;
use crate::support::{Bin, Run, run};

#[test]
fn the_e2e_cases_leak_no_key_at_trace_level() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/e2e/cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 30, "the cases are found");
    let mut checked_keys = 0;
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let mut case: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect(name);
        let bin = match case["bin"].as_str() {
            Some("fixture") => Bin::Fixture,
            _ => Bin::Klaviyo,
        };
        // Steps of the fixture runner ignore a key they are not given one:
        // give them the recognizable one.
        if matches!(bin, Bin::Fixture)
            && let Some(cfg) = case
                .pointer_mut("/stdin/cfg")
                .and_then(Value::as_object_mut)
        {
            cfg.entry("apiKey").or_insert_with(|| API_KEY.into());
        }
        let mut secrets = vec![API_KEY.to_owned()];
        if let Some(key) = case.pointer("/stdin/cfg/apiKey").and_then(Value::as_str)
            && key.len() >= 6
        {
            secrets.push(key.to_owned());
            checked_keys += 1;
        }
        let stdin = match (&case.get("stdin"), case["stdin_raw"].as_str()) {
            (Some(v), _) => serde_json::to_vec(v).expect("json"),
            (None, Some(raw)) => raw.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        let mut env: BTreeMap<String, String> = case["env"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        env.insert("LOG_LEVEL".into(), "trace".into());
        env.insert("API_RETRY_DELAY".into(), "5".into());
        let args: Vec<&str> = case["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg"))
            .collect();
        let out = run(bin, &args, &stdin, &env, Duration::from_secs(60));
        assert_eq!(
            out.code,
            case["exit"].as_i64().map(|c| c as i32),
            "{name}: same exit code at trace level"
        );
        // `--help` prints text, not protocol lines.
        if !args.first().is_some_and(|a| a.starts_with("--")) {
            out.assert_complete_lines();
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        out.assert_no_secret(&secrets);
    }
    assert!(checked_keys >= 15, "{checked_keys} cases carry a key");
}

/// A stand-in whose key is `key`.
fn stand_in_with_key(key: &str) -> FakeKlaviyo {
    FakeKlaviyo::start(FakeConfig {
        api_key: key.to_owned(),
        ..FakeConfig::empty().size("profiles", 5).size("lists", 3)
    })
    .expect("the stand-in starts")
}

fn raw_request(fake: &FakeKlaviyo, cfg: Value, body: Value) -> Run {
    let stdin = json!({"cfg": cfg, "msg": {"id": "m-1", "body": body}});
    run(
        Bin::Klaviyo,
        &["process", RAW_REQUEST],
        stdin.to_string().as_bytes(),
        &env_for(fake),
        Duration::from_secs(60),
    )
}

/// The run shows the echo, masked: so the key did travel back and was
/// caught, rather than never being echoed.
#[track_caller]
fn assert_masked_echo(out: &Run, context: &str) {
    assert!(
        out.stdout.contains("Klaviyo-API-Key ***"),
        "{context}: the echo is shown masked:\n{}",
        out.stdout
    );
}

#[test]
fn klaviyo_echoing_the_key_in_errors_is_masked_in_every_step() {
    let fake = stand_in_with_key(API_KEY);
    let env = env_for(&fake);
    let cases: Vec<(&str, u16, Vec<&str>, Value)> = vec![
        (
            "poll, 400",
            400,
            vec!["process", POLLING],
            json!({"cfg": {"apiKey": API_KEY, "objectType": "profiles", "pollConfig": "updated"}}),
        ),
        (
            "poll, 401",
            401,
            vec!["process", POLLING],
            json!({"cfg": {"apiKey": API_KEY, "objectType": "lists", "pollConfig": "updated"}}),
        ),
        (
            "poll, 503 after retries",
            503,
            vec!["process", POLLING],
            json!({"cfg": {"apiKey": API_KEY, "objectType": "profiles", "pollConfig": "created",
                           "emitBehavior": "emitPage"}}),
        ),
        (
            "raw request, 422",
            422,
            vec!["process", RAW_REQUEST],
            json!({"cfg": {"apiKey": API_KEY}, "msg": {"body": {"url": "/profiles", "method": "PATCH",
                   "data": {"data": {"type": "profile"}}}}}),
        ),
        (
            "raw request, 404 passed on",
            404,
            vec!["process", RAW_REQUEST],
            json!({"cfg": {"apiKey": API_KEY, "doNotThrow404": "on"},
                   "msg": {"body": {"url": "/lists/nope", "method": "GET"}}}),
        ),
        (
            "verifyCredentials, 401",
            401,
            vec!["verifyCredentials"],
            json!({"cfg": {"apiKey": API_KEY}}),
        ),
        (
            "verifyCredentials, 403",
            403,
            vec!["verifyCredentials"],
            json!({"cfg": {"apiKey": API_KEY}}),
        ),
        (
            "verifyCredentials, 500",
            500,
            vec!["verifyCredentials"],
            json!({"cfg": {"apiKey": API_KEY}}),
        ),
    ];
    for (context, status, args, stdin) in cases {
        fake.clear_faults();
        fake.push_fault(FaultRule::new(Fault::EchoKey(status)).times(100));
        let out = run(
            Bin::Klaviyo,
            &args,
            stdin.to_string().as_bytes(),
            &env,
            Duration::from_secs(60),
        );
        out.assert_complete_lines();
        out.assert_no_secret(&[API_KEY]);
        assert_masked_echo(&out, context);
        let echoed = fake.requests().last().is_some_and(|r| r.status == status);
        assert!(echoed, "{context}: the stand-in echoed the key");
    }
}

#[test]
fn a_successful_answer_that_echoes_the_key_is_masked_in_the_output() {
    let fake = stand_in_with_key(API_KEY);
    fake.push_fault(FaultRule::new(Fault::EchoKey(200)));
    let out = raw_request(
        &fake,
        json!({"apiKey": API_KEY}),
        json!({"url": "/lists", "method": "GET"}),
    );
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    out.assert_no_secret(&[API_KEY]);
    assert_masked_echo(&out, "raw request, 200");
    let body = &out.lines()[0]["payload"]["body"];
    assert_eq!(
        body["headers"]["x-echo-authorization"], "Klaviyo-API-Key ***",
        "the echoing header is masked: {body}"
    );
}

#[test]
fn a_url_that_carries_the_key_is_masked_in_logs_and_errors() {
    let fake = stand_in_with_key(API_KEY);
    for url in [
        format!("/profiles?note={API_KEY}"),
        format!("https://evil.example/api/profiles?key={API_KEY}"),
        format!("/profiles/{API_KEY}\r\n"),
    ] {
        let out = raw_request(
            &fake,
            json!({"apiKey": API_KEY}),
            json!({"url": url, "method": "GET"}),
        );
        out.assert_complete_lines();
        out.assert_no_secret(&[API_KEY]);
    }
}

#[test]
fn a_key_with_surrounding_whitespace_is_masked_as_sent() {
    let fake = stand_in_with_key(API_KEY);
    fake.push_fault(FaultRule::new(Fault::EchoKey(200)));
    let out = raw_request(
        &fake,
        json!({"apiKey": format!("  {API_KEY}\n")}),
        json!({"url": "/lists", "method": "GET"}),
    );
    assert_eq!(out.code, Some(0), "the trimmed key works:\n{}", out.stdout);
    out.assert_no_secret(&[API_KEY]);
    assert_masked_echo(&out, "raw request, 200, key with whitespace");
}

#[test]
fn a_key_given_as_a_number_is_masked_too() {
    let key = "937164028564";
    let fake = stand_in_with_key(key);
    fake.push_fault(FaultRule::new(Fault::EchoKey(200)));
    let out = raw_request(
        &fake,
        json!({"apiKey": 937_164_028_564_u64}),
        json!({"url": "/lists", "method": "GET"}),
    );
    assert_eq!(out.code, Some(0), "the key works:\n{}", out.stdout);
    out.assert_no_secret(&[key]);
}

#[test]
fn a_long_key_pasted_into_another_field_is_masked_in_the_error() {
    let key = format!("pk_{}", "0123456789abcdef".repeat(5));
    let fake = stand_in_with_key(&key);
    for cfg in [
        json!({"apiKey": key, "revision": key, "objectType": "profiles", "pollConfig": "updated"}),
        json!({"apiKey": key, "objectType": key, "pollConfig": "updated"}),
    ] {
        let out = run(
            Bin::Klaviyo,
            &["process", POLLING],
            json!({"cfg": cfg}).to_string().as_bytes(),
            &env_for(&fake),
            Duration::from_secs(60),
        );
        assert_eq!(out.code, Some(1), "{}", out.stdout);
        out.assert_no_secret(&[&key]);
    }
}

#[test]
fn a_realistic_key_pasted_into_another_field_is_masked_in_the_error() {
    // Klaviyo's private keys: pk_ and 34 hex digits.
    let key = "pk_5e3c0ffee1234567890abcdef12345678a";
    let fake = stand_in_with_key(key);
    for cfg in [
        json!({"apiKey": key, "revision": key, "objectType": "profiles", "pollConfig": "updated"}),
        json!({"apiKey": key, "objectType": key, "pollConfig": "updated"}),
        json!({"apiKey": key, "objectType": "profiles", "pollConfig": key}),
        json!({"apiKey": key, "objectType": "profiles", "pollConfig": "updated", "startTime": key}),
        json!({"apiKey": key, "objectType": "profiles", "pollConfig": "updated", "pageSize": key}),
        json!({"apiKey": key, "objectType": "profiles", "pollConfig": "updated", "emitBehavior": key}),
    ] {
        let out = run(
            Bin::Klaviyo,
            &["process", POLLING],
            json!({"cfg": cfg}).to_string().as_bytes(),
            &env_for(&fake),
            Duration::from_secs(60),
        );
        assert_eq!(out.code, Some(1), "{}", out.stdout);
        out.assert_no_secret(&[key]);
        assert!(
            out.stdout.contains("***"),
            "the key is quoted, masked: {}",
            out.stdout
        );
    }
}
