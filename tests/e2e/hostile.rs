//! The hostile input corpus: malformed invocations kept as files under
//! tests/e2e/hostile/, each run through `klaviyo-runner` and held to the
//! contract (docs/protocol.md): exit 1 or 2 (0 for a service command that
//! answered with its error), every stdout line complete JSON, an error event
//! and the end line (or one service envelope), a one-line reason on stderr
//! for exit 2, never a panic, a hang or a leaked key.
//!
//! A case file holds:
//! - `note`: what is wrong with it;
//! - `args`, `env` (added to the defaults below);
//! - stdin as `stdin` (JSON), `stdin_raw` (text) or `stdin_base64` (bytes,
//!   for invalid UTF-8); in `stdin_raw`, `@NEST@` becomes `nest` levels of
//!   `nest_open`…`nest_close` (default `[`…`]`);
//! - `exit`: the code the contract requires;
//! - `says`: text the error message (or verification reason) contains.
//!
//! Runs that get past validation go to an address where nothing listens,
//! and fail there with a TransientError.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::stand_in::API_KEY;
use crate::support::{Bin, Run, run};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    note: String,
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    stdin: Option<Value>,
    #[serde(default)]
    stdin_raw: Option<String>,
    #[serde(default)]
    stdin_base64: Option<String>,
    #[serde(default)]
    nest: Option<usize>,
    #[serde(default)]
    nest_open: Option<String>,
    #[serde(default)]
    nest_close: Option<String>,
    exit: i32,
    says: Option<String>,
}

impl Case {
    fn stdin(&self) -> Vec<u8> {
        match (&self.stdin, &self.stdin_raw, &self.stdin_base64) {
            (Some(v), None, None) => serde_json::to_vec(v).expect("json"),
            (None, Some(raw), None) => {
                let n = self.nest.unwrap_or(0);
                let open = self.nest_open.as_deref().unwrap_or("[");
                let close = self.nest_close.as_deref().unwrap_or("]");
                raw.replace("@NEST@", &format!("{}{}", open.repeat(n), close.repeat(n)))
                    .into_bytes()
            }
            (None, None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("stdin_base64 is base64"),
            (None, None, None) => Vec::new(),
            _ => panic!("give one of stdin, stdin_raw and stdin_base64"),
        }
    }

    /// Values the runner must never show: the test key and every string
    /// given as `apiKey` (the component's one password field).
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![API_KEY.to_owned()];
        if let Some(key) = self
            .stdin
            .as_ref()
            .and_then(|s| s.pointer("/cfg/apiKey"))
            .and_then(Value::as_str)
        {
            secrets.push(key.to_owned());
        }
        // The redactor leaves values shorter than 6 bytes alone on purpose.
        secrets.retain(|s| s.len() >= 6);
        secrets
    }
}

/// An address where nothing listens: a port that was just free, from
/// below the ephemeral range, so that no stand-in another test starts
/// meanwhile (on port 0) is given it while the corpus runs.
fn unreachable_base_url() -> String {
    let port = sailor_harness::rabbit::quiet_port().expect("a free port");
    format!("http://127.0.0.1:{port}/api")
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Run one case file and check it against the contract; the problems found.
fn check_case(path: &Path, base_url: &str) -> Result<(), String> {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let case: Case = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let mut env: BTreeMap<String, String> = [
        ("KLAVIYO_BASE_URL", base_url),
        ("LOG_LEVEL", "trace"),
        ("API_RETRIES_COUNT", "1"),
        ("API_RETRY_DELAY", "5"),
        ("API_REQUEST_TIMEOUT", "2000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(case.env.clone());
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let stdin = case.stdin();
    let out = std::panic::catch_unwind(|| {
        run(Bin::Klaviyo, &args, &stdin, &env, Duration::from_secs(45))
    })
    .map_err(|_| format!("{name}: the runner hangs (or its output is not UTF-8)"))?;
    let checked = std::panic::catch_unwind(|| contract(&case, &out))
        .map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
        .and_then(|r| r);
    checked.map_err(|why| {
        format!(
            "{name} ({}): {why}\n  exit {:?}\n  stdout: {}\n  stderr (last 2000 bytes): {}",
            case.note,
            out.code,
            out.stdout.trim_end(),
            tail(&out.stderr, 2000)
        )
    })
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The contract for one hostile invocation.
fn contract(case: &Case, out: &Run) -> Result<(), String> {
    if out.code == Some(101) || out.stderr.contains("panicked at") {
        return Err("the runner panicked".into());
    }
    if out.code != Some(case.exit) {
        return Err(format!(
            "exit {:?}, the contract says {}",
            out.code, case.exit
        ));
    }
    out.assert_complete_lines();
    let secrets = case.secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    out.assert_no_secret(&secrets);
    let service = matches!(
        case.args.first().map(String::as_str),
        Some("verifyCredentials" | "getMetaModel" | "selectModel")
    );
    let message = if service {
        let envelope = out.assert_envelope();
        match (envelope["status"].as_str(), &envelope["data"]) {
            (Some("error"), data) => data["message"].as_str().unwrap_or_default().to_owned(),
            (Some("success"), data) if data["verified"] == false => {
                data["reason"].as_str().unwrap_or_default().to_owned()
            }
            _ => {
                return Err(format!(
                    "a success envelope for a hostile input: {envelope}"
                ));
            }
        }
    } else {
        out.assert_event_stream();
        let errors = out.errors();
        if errors.len() != 1 {
            return Err(format!("{} error events, want 1", errors.len()));
        }
        errors[0]["message"].as_str().unwrap_or_default().to_owned()
    };
    if message.is_empty() || message.contains('\n') || message.contains('\r') {
        return Err(format!("the error message is not one line: {message:?}"));
    }
    if let Some(says) = &case.says
        && !message.contains(says.as_str())
    {
        return Err(format!("the message does not say {says:?}: {message}"));
    }
    let logs = out.logs();
    if case.exit == 2 {
        let reasons: Vec<&str> = logs
            .iter()
            .filter_map(|l| l["msg"].as_str())
            .filter(|m| m.starts_with("unusable invocation: "))
            .collect();
        match reasons.as_slice() {
            [reason] if !reason.contains('\n') && reason.ends_with(message.as_str()) => {}
            other => {
                return Err(format!(
                    "exit 2 wants one one-line reason on stderr matching the error, got {other:?}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_hostile_invocation_gets_the_contracts_behaviour() {
    let files = corpus();
    assert!(files.len() >= 50, "the corpus has {} cases", files.len());
    let base_url = unreachable_base_url();
    // Two at a time: the machine has two cores and other tests run too.
    let queue = std::sync::Mutex::new(files.clone());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(path) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    if let Err(problem) = check_case(&path, &base_url) {
                        failures.lock().expect("failures").push(problem);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    assert!(
        failures.is_empty(),
        "{} of {} hostile invocations broke the contract:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
