//! What every platform test shares: starting the platform (or skipping),
//! the stand-in, and reading what sailor published.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::TimeZone;
use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use sailor_harness::broker::{Received, StepQueues};
use sailor_harness::platform::Platform;
use serde_json::Value;

/// A guard against a hang, never a measurement: reading a queue or waiting
/// for a sailor gives up after this long.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

/// What the runner logs when a step has run to its end.
pub(crate) const FINISHED: &str = "finished\"";

pub(crate) const REVISION: &str = "2026-10-15";

/// Set to `1`, a machine without RabbitMQ or Node.js skips the platform
/// tests on purpose; unset, [`the_platform_tests_ran`] fails there.
pub(crate) const SKIP: &str = "KLAVIYO_SKIP_PLATFORM_TESTS";

/// A skip is never silent. libtest decides `#[ignore]` when compiling, and
/// a test that returns early is counted as passed, so outside CI one test
/// fails when the platform is missing, naming what to install, unless
/// [`SKIP`] says the skip is meant; the others then skip with the one line
/// of [`platform`]. With `CI=true` every platform test fails instead.
#[test]
fn the_platform_tests_ran() {
    let Err(why) = sailor_harness::platform::available(&sailor_harness::repo_root()) else {
        return;
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && std::env::var(SKIP).is_ok_and(|v| v.trim() == "1") {
        return;
    }
    panic!(
        "the platform tests did not run: {why} (docs/platform.md, \"Locally\", lists the whole \
         install for a fresh Debian machine); or set {SKIP}=1 to skip them on purpose (CI=true \
         fails them all the same)"
    );
}

/// The platform, or `None` when RabbitMQ or Node.js is missing outside CI;
/// then one line (once per run, on the process's real stderr) says why.
pub(crate) fn platform(test: &str) -> Option<Platform> {
    static SAID: std::sync::Once = std::sync::Once::new();
    let root = sailor_harness::repo_root();
    if let Err(why) = sailor_harness::platform::available(&root) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: the platform tests need RabbitMQ and Node.js in CI: {why}");
        }
        SAID.call_once(|| {
            // The harness captures a test's stderr; the file is not captured.
            let line = format!(
                "platform tests skipped (they run the component inside real sailors and RabbitMQ): {why}\n"
            );
            let _ = std::fs::OpenOptions::new()
                .append(true)
                .open("/dev/stderr")
                .and_then(|mut f| f.write_all(line.as_bytes()));
        });
        return None;
    }
    let runner = PathBuf::from(env!("CARGO_BIN_EXE_klaviyo-runner"));
    Some(Platform::start(&root, &runner).unwrap_or_else(|e| panic!("{test}: {e}")))
}

/// A stand-in whose records do not depend on when the test runs.
pub(crate) fn stand_in(config: FakeConfig) -> FakeKlaviyo {
    FakeKlaviyo::start(FakeConfig {
        anchor: chrono::Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single(),
        revision: REVISION.to_owned(),
        ..config
    })
    .expect("the stand-in starts")
}

/// The ids of the records in a data message's body: one record, or a page.
pub(crate) fn record_ids(body: &Value) -> Vec<String> {
    match body.get("results").and_then(Value::as_array) {
        Some(page) => page
            .iter()
            .map(|r| r["id"].as_str().expect("a record id").to_owned())
            .collect(),
        None => vec![body["id"].as_str().expect("a record id").to_owned()],
    }
}

/// Every queue of the step is empty: nothing ready, nothing left unacked
/// (sailor has exited, so an unacked input would be back), nothing
/// rejected, nothing published that was not read.
#[track_caller]
pub(crate) fn assert_all_drained(p: &Platform, q: &StepQueues) {
    for queue in q.all() {
        assert_eq!(
            p.broker.count(&queue).expect("count"),
            0,
            "{queue} is not empty"
        );
    }
}

/// `key` appears nowhere in what was published or logged.
#[track_caller]
pub(crate) fn assert_no_secret(key: &str, messages: &[Received], logs: &[String], plain: &[Value]) {
    assert!(!key.is_empty());
    for m in messages {
        assert!(
            !String::from_utf8_lossy(&m.body).contains(key),
            "a published body has the key"
        );
        assert!(
            !Value::Object(m.headers.clone()).to_string().contains(key),
            "a header has the key"
        );
    }
    for line in logs {
        assert!(!line.contains(key), "a log line has the key: {line}");
    }
    for v in plain {
        assert!(
            !v.to_string().contains(key),
            "a decrypted message has the key"
        );
    }
}

/// Distinct values, for "exactly once" checks.
pub(crate) fn distinct(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// The runner alone (docs/protocol.md): its stdout for `stdin`.
pub(crate) fn runner_alone(args: &[&str], stdin: &Value, env: &BTreeMap<String, String>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klaviyo-runner"))
        .args(args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the runner starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.to_string().as_bytes())
        .expect("stdin written");
    let out = child.wait_with_output().expect("the runner ends");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `pairs` as an environment.
pub(crate) fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
