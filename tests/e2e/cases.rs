//! Invocations kept as files under tests/e2e/cases/: each file gives the
//! binary, arguments, environment and stdin; the snapshot next to the test
//! holds what came out.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::support::{Bin, redact_now, run};

#[derive(Deserialize)]
struct Case {
    /// "klaviyo" or "fixture".
    bin: String,
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// stdin as JSON…
    #[serde(default)]
    stdin: Option<Value>,
    /// …or as raw text, for inputs that are not JSON.
    #[serde(default)]
    stdin_raw: Option<String>,
    /// The exit code the contract requires.
    exit: i32,
}

#[test]
fn cases() {
    insta::glob!("cases/*.json", |path| {
        let case: Case = serde_json::from_str(&std::fs::read_to_string(path).expect("readable"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let bin = match case.bin.as_str() {
            "klaviyo" => Bin::Klaviyo,
            "fixture" => Bin::Fixture,
            other => panic!("unknown bin {other}"),
        };
        let stdin = match (&case.stdin, &case.stdin_raw) {
            (Some(v), _) => serde_json::to_vec(v).expect("json"),
            (None, Some(raw)) => raw.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let out = run(bin, &args, &stdin, &case.env, Duration::from_secs(60));
        assert_eq!(
            out.code,
            Some(case.exit),
            "{}: exit code\n{}",
            path.display(),
            out.render()
        );
        match args.first().copied() {
            Some("verifyCredentials" | "getMetaModel" | "selectModel") => {
                out.assert_envelope();
            }
            Some("--help" | "--version") => {
                insta::assert_snapshot!(out.render_text());
                return;
            }
            _ => out.assert_event_stream(),
        }
        // Messages that quote the clock say "[now]".
        insta::assert_snapshot!(redact_now(&out.render()));
    });
}
