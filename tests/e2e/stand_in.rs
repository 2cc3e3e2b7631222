//! Running `klaviyo-runner` against the in-process Klaviyo stand-in, and
//! reading what the trigger emitted: record versions and snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use serde_json::{Value, json};

use crate::support::{Bin, Run, run};

/// The API key of every run against the stand-in: recognizable, so that a
/// leak anywhere on stdout or stderr is found (see secrets.rs).
pub(crate) const API_KEY: &str = "pk_canary0f7e3d9b1a5c4e2d8f6a0b9c7e5d3f1a2b";

pub(crate) const POLLING: &str = "getNewAndUpdatedObjectsPolling";
pub(crate) const RAW_REQUEST: &str = "makeRawRequest";

/// A stand-in that accepts [`API_KEY`], with no records.
pub(crate) fn empty_stand_in() -> FakeKlaviyo {
    FakeKlaviyo::start(FakeConfig {
        api_key: API_KEY.to_owned(),
        ..FakeConfig::empty()
    })
    .expect("the stand-in starts")
}

/// The environment of a run against `fake`: every log line, fast retries,
/// short time limits.
pub(crate) fn env_for(fake: &FakeKlaviyo) -> BTreeMap<String, String> {
    [
        ("KLAVIYO_BASE_URL", fake.base_url()),
        ("LOG_LEVEL", "trace"),
        ("API_RETRY_DELAY", "5"),
        ("API_RETRIES_COUNT", "3"),
        ("API_REQUEST_TIMEOUT", "800"),
        ("KLAVIYO_POLL_LAG_SECONDS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Insert profiles in clusters that share a second: `(seconds ago, how
/// many)`.
pub(crate) fn clustered_profiles(fake: &FakeKlaviyo, clusters: &[(i64, usize)]) {
    let mut n = 0;
    for (secs, count) in clusters {
        let when = (chrono::Utc::now() - chrono::Duration::seconds(*secs))
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string();
        for _ in 0..*count {
            n += 1;
            fake.insert(
                "profiles",
                json!({"attributes": {"email": format!("p{n}@example.com"), "created": when, "updated": when}}),
            )
            .expect("inserted");
        }
    }
}

/// The stdin of a polling run.
pub(crate) fn poll_stdin(fields: &Value, snapshot: &Value) -> Vec<u8> {
    let mut cfg = json!({"apiKey": API_KEY});
    if let (Some(cfg), Some(fields)) = (cfg.as_object_mut(), fields.as_object()) {
        cfg.extend(fields.clone());
    }
    serde_json::to_vec(&json!({"cfg": cfg, "snapshot": snapshot})).expect("json")
}

/// Run the polling trigger once.
pub(crate) fn poll(env: &BTreeMap<String, String>, fields: &Value, snapshot: &Value) -> Run {
    run(
        Bin::Klaviyo,
        &["process", POLLING],
        &poll_stdin(fields, snapshot),
        env,
        Duration::from_secs(90),
    )
    .checked()
}

impl Run {
    /// The checks every run against the stand-in gets: complete lines and
    /// no key anywhere.
    #[track_caller]
    pub(crate) fn checked(self) -> Run {
        self.assert_complete_lines();
        self.assert_no_secret(&[API_KEY]);
        self
    }
}

/// A record version: its id and the value of the polled field.
pub(crate) type Version = (String, String);

/// One line of a trigger's output, as far as the trigger's guarantees go.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    /// The versions of the records of one data message, in order.
    Data(Vec<Version>),
    Snapshot(Value),
    Error(Value),
    End,
    Other,
}

/// The versions of the records in a data message's body (one record, or a
/// page of them).
pub(crate) fn versions_in(body: &Value, field: &str) -> Vec<Version> {
    let version = |r: &Value| {
        (
            r["id"].as_str().expect("records have ids").to_owned(),
            normal_time(
                r["attributes"][field]
                    .as_str()
                    .expect("records have the polled field"),
            ),
        )
    };
    match body.get("results") {
        Some(Value::Array(items)) if body.get("type").is_none() => {
            items.iter().map(version).collect()
        }
        _ => vec![version(body)],
    }
}

/// Read complete stdout lines of a trigger run.
pub(crate) fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a str>, field: &str) -> Vec<Line> {
    lines
        .into_iter()
        .map(|raw| {
            let line: Value = serde_json::from_str(raw)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {raw}"));
            match line["event"].as_str() {
                Some("data") => Line::Data(versions_in(&line["payload"]["body"], field)),
                Some("snapshot") => Line::Snapshot(line["payload"].clone()),
                Some("error") => Line::Error(line["payload"].clone()),
                Some("end") => Line::End,
                _ => Line::Other,
            }
        })
        .collect()
}

/// What one run delivered, split at its last snapshot.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    /// Every version emitted, in order.
    pub all: Vec<Version>,
    /// Those emitted after the last snapshot line (all, without one).
    pub after_last_snapshot: Vec<Version>,
    pub last_snapshot: Option<Value>,
}

impl Delivered {
    pub(crate) fn of(lines: &[Line]) -> Delivered {
        let mut d = Delivered::default();
        for line in lines {
            match line {
                Line::Data(versions) => {
                    d.all.extend(versions.iter().cloned());
                    d.after_last_snapshot.extend(versions.iter().cloned());
                }
                Line::Snapshot(s) => {
                    d.last_snapshot = Some(s.clone());
                    d.after_last_snapshot.clear();
                }
                _ => {}
            }
        }
        d
    }

    /// The versions as a set, failing on a version emitted twice in one run.
    #[track_caller]
    pub(crate) fn unique(&self) -> BTreeSet<Version> {
        let mut seen = BTreeSet::new();
        for v in &self.all {
            assert!(
                seen.insert(v.clone()),
                "version emitted twice in one run: {v:?}"
            );
        }
        seen
    }
}

/// The current version of every profile of the stand-in.
pub(crate) fn stand_in_profiles(fake: &FakeKlaviyo) -> BTreeSet<Version> {
    fake.records("profiles")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_owned(),
                normal_time(r["attributes"]["updated"].as_str().expect("updated")),
            )
        })
        .collect()
}

/// A timestamp in one form (RFC 3339, UTC), whatever form Klaviyo used.
pub(crate) fn normal_time(text: &str) -> String {
    let at = klaviyo_component::testing::parse_time(text)
        .unwrap_or_else(|| panic!("{text:?} is not a timestamp"));
    klaviyo_component::testing::to_text(at)
}
