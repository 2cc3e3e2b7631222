//! Running the binaries and making their output comparable.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Which binary to run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bin {
    Klaviyo,
    Fixture,
}

impl Bin {
    pub(crate) fn path(self) -> PathBuf {
        match self {
            Bin::Klaviyo => PathBuf::from(env!("CARGO_BIN_EXE_klaviyo-runner")),
            Bin::Fixture => PathBuf::from(env!("CARGO_BIN_EXE_klaviyo-runner-fixture")),
        }
    }
}

/// What a run left behind.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the start of the process to its exit.
    pub elapsed: Duration,
}

/// Environment variables that would leak from the developer's shell into
/// the runner and change what it does.
const SCRUBBED: &[&str] = &[
    "ELASTICIO_FUNCTION",
    "ELASTICIO_FLOW_TYPE",
    "KLAVIYO_BASE_URL",
    "LOG_LEVEL",
    "API_RETRIES_COUNT",
    "API_REQUEST_TIMEOUT",
    "API_RETRY_DELAY",
    "KLAVIYO_POLL_LAG_SECONDS",
    "KLAVIYO_MAX_IN_FLIGHT",
    "API_MAX_RETRY_AFTER",
    "API_MAX_RESPONSE_BYTES",
];

/// `bin args` with piped stdio, the developer's settings removed and `env`
/// set.
pub(crate) fn command(bin: Bin, args: &[&str], env: &BTreeMap<String, String>) -> Command {
    let mut command = Command::new(bin.path());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in SCRUBBED {
        command.env_remove(name);
    }
    command.envs(env);
    command
}

/// Run `bin args` with `stdin` and `env`; kill it after `limit`.
pub(crate) fn run(
    bin: Bin,
    args: &[&str],
    stdin: &[u8],
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Run {
    let mut command = command(bin, args, env);
    let started = Instant::now();
    let mut child = command.spawn().expect("the runner starts");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The runner may refuse input early; a broken pipe here is fine.
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the runner did not finish within {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let _ = writer.join();
    let stdout =
        String::from_utf8(out_reader.join().expect("stdout reader")).expect("stdout is UTF-8");
    let stderr =
        String::from_utf8(err_reader.join().expect("stderr reader")).expect("stderr is UTF-8");
    Run {
        code,
        stdout,
        stderr,
        elapsed,
    }
}

impl Run {
    /// stdout lines as JSON; fails the test on a line that is not JSON.
    pub(crate) fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// stderr lines as JSON, each checked to be a bunyan record.
    pub(crate) fn logs(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {l}"));
                for field in ["v", "name", "hostname", "pid", "level", "msg", "time"] {
                    assert!(v.get(field).is_some(), "bunyan field {field} missing: {l}");
                }
                let level = v["level"].as_u64().expect("numeric level");
                assert!((10..=60).contains(&level), "{l}");
                v
            })
            .collect()
    }

    /// The run as text for a snapshot: exit code, stdout with message ids
    /// replaced, and stderr reduced to level and message.
    pub(crate) fn render(&self) -> String {
        let mut text = format!("exit: {:?}\n--- stdout\n", self.code);
        for raw in self.stdout.lines() {
            let line: Value = serde_json::from_str(raw)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {raw}"));
            let mut shown = raw.to_owned();
            if let Some(id) = line.pointer("/payload/id") {
                let s = id.as_str().expect("message ids are strings");
                let parsed = uuid::Uuid::parse_str(s).expect("message ids are UUIDs");
                assert_eq!(parsed.get_version_num(), 4, "message ids are UUID v4");
                shown = shown.replacen(&format!("\"id\":\"{s}\""), "\"id\":\"[uuid v4]\"", 1);
            }
            text.push_str(&shown);
            text.push('\n');
        }
        text.push_str("--- stderr\n");
        for log in self.logs() {
            let mut msg = log["msg"].as_str().unwrap_or_default().to_owned();
            // A panic's source location moves whenever the file is edited.
            if let Some(at) = msg.find("panicked at ") {
                let start = at + "panicked at ".len();
                let end = msg[start..].find('\n').map_or(msg.len(), |e| start + e);
                msg.replace_range(start..end, "[location]");
            }
            text.push_str(&format!("{} {msg}\n", log["level"]));
        }
        text
    }

    /// Text output (`--help`), as it is.
    pub(crate) fn render_text(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Assert the output shape of `process`: JSON lines ending with exactly
    /// one end line.
    pub(crate) fn assert_event_stream(&self) {
        let lines = self.lines();
        let ends = lines.iter().filter(|l| l["event"] == "end").count();
        assert_eq!(ends, 1, "exactly one end line:\n{}", self.stdout);
        assert_eq!(
            lines.last().map(|l| l["event"].clone()),
            Some(Value::from("end")),
            "end is last"
        );
        assert!(self.stdout.ends_with('\n'), "every line is complete");
    }

    /// Assert the output shape of a service command: exactly one object.
    pub(crate) fn assert_envelope(&self) -> Value {
        let lines = self.lines();
        assert_eq!(lines.len(), 1, "exactly one envelope:\n{}", self.stdout);
        let envelope = lines.into_iter().next().expect("one");
        assert!(
            matches!(envelope["status"].as_str(), Some("success" | "error")),
            "{envelope}"
        );
        envelope
    }
}

impl Run {
    /// Every stdout line is one complete JSON value ending in `\n`: no
    /// partial line, nothing but protocol.
    pub(crate) fn assert_complete_lines(&self) {
        assert!(
            self.stdout.is_empty() || self.stdout.ends_with('\n'),
            "the last stdout line is incomplete:\n{}",
            self.stdout
        );
        for line in self.stdout.split_terminator('\n') {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "stdout line is not complete JSON: {line}"
            );
        }
    }

    /// The payloads of the error events on stdout.
    pub(crate) fn errors(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["event"] == "error")
            .map(|l| l["payload"].clone())
            .collect()
    }

    /// Fails when any of `secrets` (or a 10-character piece of one) is
    /// anywhere on stdout or stderr.
    #[track_caller]
    pub(crate) fn assert_no_secret(&self, secrets: &[&str]) {
        for secret in secrets {
            for piece in secret_pieces(secret) {
                for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
                    if let Some(at) = text.find(piece) {
                        let start = text[..at]
                            .char_indices()
                            .rev()
                            .nth(150)
                            .map_or(0, |(i, _)| i);
                        let end = text[at..]
                            .char_indices()
                            .nth(150)
                            .map_or(text.len(), |(i, _)| at + i);
                        panic!(
                            "the secret {secret:?} leaks on {name} (as {piece:?}):\n…{}…",
                            &text[start..end]
                        );
                    }
                }
            }
        }
    }
}

/// The whole secret, and every 10-character window of it that does not
/// start with the `pk_` every key shares: a truncated or re-split key is a
/// leak too.
fn secret_pieces(secret: &str) -> Vec<&str> {
    let mut pieces = vec![secret];
    let bytes = secret.len();
    if secret.is_ascii() && bytes > 10 {
        for start in 0..=bytes - 10 {
            let piece = &secret[start..start + 10];
            if !piece.starts_with("pk_") {
                pieces.push(piece);
            }
        }
    }
    pieces
}

pub(crate) fn no_env() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// `text` with every `YYYY-MM-DDTHH:MM:SSZ` within a day of now shown as
/// `[now]`: messages that quote the clock would change with every run.
pub(crate) fn redact_now(text: &str) -> String {
    const LEN: usize = "2026-12-01T10:00:00Z".len();
    let now = chrono::Utc::now();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let candidate = rest.get(..LEN).unwrap_or("");
        match chrono::DateTime::parse_from_rfc3339(candidate) {
            Ok(t) if (t.with_timezone(&chrono::Utc) - now).num_hours().abs() <= 24 => {
                out.push_str("[now]");
                rest = &rest[LEN..];
            }
            _ => {
                let digit_len = rest.chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[..digit_len]);
                rest = &rest[digit_len..];
            }
        }
    }
    out.push_str(rest);
    out
}
