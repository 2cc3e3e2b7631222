//! `cargo xtask demo`: start the local Klaviyo stand-in, run the component
//! against it through `klaviyo-runner`, and show what the platform would
//! receive. No Klaviyo account, no internet.
//!
//! Every run is printed as a command that can be pasted into a shell while
//! a stand-in serves on the same port; the records are shown one line each,
//! and the full output of every run is kept in a file the demo names.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::{Value, json};

use crate::cargo::{RUNNER_AND_STAND_IN, cargo, target_dir};
use crate::standin::StandIn;

/// The stand-in's key in the demo: short, so the printed commands read well.
const API_KEY: &str = "pk_demo";

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the demo talks to the person running it"
)]
pub(crate) fn run(root: &Path) -> ExitCode {
    match demo(root) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn demo(root: &Path) -> Result<(), String> {
    let bin = build(root)?;
    let out_dir = target_dir(root)?.join("demo");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let stand_in = StandIn::start(
        &bin.join("klaviyo-fake"),
        &["--profiles", "25", "--lists", "12", "--api-key", API_KEY].map(String::from),
        None,
    )?;
    println!(
        "\nThe stand-in serves a small, realistic Klaviyo account at {} (key {API_KEY}).",
        stand_in.base_url
    );
    let demo = Demo {
        runner: bin.join("klaviyo-runner"),
        base_url: stand_in.base_url.clone(),
        out_dir,
        runs: std::cell::Cell::new(0),
    };

    demo.section("verifyCredentials");
    demo.invoke(
        "verify",
        &["verifyCredentials"],
        &json!({"cfg": {"apiKey": API_KEY}}),
        &[],
    )?;

    demo.section("Get New and Updated Objects Polling: lists on \"updated\", first run");
    let cfg = json!({"apiKey": API_KEY, "objectType": "lists", "pollConfig": "updated"});
    let first = demo.invoke(
        "poll-lists",
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": cfg}),
        &[],
    )?;
    println!(
        "  (The snapshots keep \"nextStartTime\" at the Start Time until the whole window is read;\n   \
         \"window.watermark\" says how far this run got, so a killed run resumes there.)"
    );
    let snapshot = last_snapshot(&first);

    demo.section("The next run, from the saved snapshot: nothing new, nothing repeated");
    demo.invoke(
        "poll-lists-again",
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": cfg, "snapshot": snapshot}),
        &[],
    )?;

    demo.section(
        "Retrieve Sample (ELASTICIO_FLOW_TYPE=debug): profiles in pages of 3, at most 10 records",
    );
    demo.invoke(
        "sample-profiles",
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": {"apiKey": API_KEY, "objectType": "profiles", "pollConfig": "updated",
                         "emitBehavior": "emitPage", "pageSize": "3"}}),
        &[("ELASTICIO_FLOW_TYPE", "debug")],
    )?;

    demo.section(
        "Upsert Object: a profile by email, created or updated by Klaviyo's profile import",
    );
    demo.invoke(
        "upsert-profile",
        &["process", "upsertObject"],
        &json!({"cfg": {"apiKey": API_KEY, "objectType": "profiles"},
                "msg": {"body": {"email": "ada@example.com", "first_name": "Ada",
                                 "location": {"city": "London"}}}}),
        &[],
    )?;

    demo.section("Lookup Object: the same profile, by email");
    demo.invoke(
        "lookup-profile",
        &["process", "lookupObject"],
        &json!({"cfg": {"apiKey": API_KEY, "objectType": "profiles", "lookupBy": "email"},
                "msg": {"body": {"email": "ada@example.com"}}}),
        &[],
    )?;

    demo.section("Upsert Object with a mistake: refused before any request, naming the field");
    demo.invoke(
        "upsert-list-without-name",
        &["process", "upsertObject"],
        &json!({"cfg": {"apiKey": API_KEY, "objectType": "lists"},
                "msg": {"body": {"opt_in_process": "triple"}}}),
        &[],
    )?;

    demo.section("Make Raw Request: GET /profiles?page[size]=1");
    demo.invoke(
        "raw-get",
        &["process", "makeRawRequest"],
        &json!({"cfg": {"apiKey": API_KEY},
                "msg": {"body": {"url": "/profiles?page[size]=1", "method": "GET"}}}),
        &[],
    )?;

    demo.section("Make Raw Request to another host: refused before any connection");
    demo.invoke(
        "raw-elsewhere",
        &["process", "makeRawRequest"],
        &json!({"cfg": {"apiKey": API_KEY},
                "msg": {"body": {"url": "https://example.com/steal", "method": "GET"}}}),
        &[],
    )?;

    println!(
        "\nEach run above is one `klaviyo-runner` invocation; its logs (bunyan JSON on stderr) and its\n\
         whole stdout are in {}. To try it yourself:\n  \
         1. cargo run -q -p klaviyo-fake -- serve --port 8080 --api-key {API_KEY}   (leave it running)\n  \
         2. in another terminal, paste any command above with KLAVIYO_BASE_URL=http://127.0.0.1:8080/api\n  \
         3. docs/protocol.md says what goes in and comes out; docs/stand-in.md what the stand-in can do.",
        demo.out_dir.display()
    );
    Ok(())
}

/// Build the runner and the stand-in, with cargo's own progress lines, and
/// return the directory they are in.
#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn build(root: &Path) -> Result<PathBuf, String> {
    println!(
        "Building klaviyo-runner and the Klaviyo stand-in (a first build takes a few minutes; cargo shows its progress)…"
    );
    let status = Command::new(cargo())
        .current_dir(root)
        .arg("build")
        .args(RUNNER_AND_STAND_IN)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the build failed".to_owned());
    }
    Ok(target_dir(root)?.join("debug"))
}

struct Demo {
    runner: PathBuf,
    base_url: String,
    out_dir: PathBuf,
    runs: std::cell::Cell<usize>,
}

impl Demo {
    #[allow(
        clippy::print_stdout,
        reason = "the demo talks to the person running it"
    )]
    fn section(&self, title: &str) {
        println!("\n== {title}");
    }

    /// Run the runner once with `env` on top of the base URL; print the
    /// command as it ran and its output, shortened; keep the whole output
    /// in a file. Returns stdout.
    #[allow(
        clippy::print_stdout,
        reason = "the demo talks to the person running it"
    )]
    fn invoke(
        &self,
        name: &str,
        args: &[&str],
        stdin: &Value,
        env: &[(&str, &str)],
    ) -> Result<String, String> {
        let input = serde_json::to_string(stdin).unwrap_or_default();
        let base = ("KLAVIYO_BASE_URL", self.base_url.as_str());
        let env: Vec<(&str, &str)> = std::iter::once(base).chain(env.iter().copied()).collect();
        let shown_env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "$ echo '{input}' \\\n  | {} {} {}",
            shown_env.join(" "),
            self.runner.display(),
            args.join(" ")
        );
        let mut child = Command::new(&self.runner)
            .args(args)
            .envs(env.iter().copied())
            .env("LOG_LEVEL", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.runner.display()))?;
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let file = self.out_dir.join(format!("{n:02}-{name}.jsonl"));
        std::fs::write(&file, &out.stdout).map_err(|e| format!("{}: {e}", file.display()))?;
        let log = self.out_dir.join(format!("{n:02}-{name}.log"));
        std::fs::write(&log, &out.stderr).map_err(|e| format!("{}: {e}", log.display()))?;
        for line in stdout.lines() {
            println!("  {}", shorten(line));
        }
        println!(
            "  (exit code {}; the whole output: {})",
            out.status.code().unwrap_or(-1),
            file.display()
        );
        Ok(stdout)
    }
}

/// The last snapshot a run emitted, or `{}`.
fn last_snapshot(stdout: &str) -> Value {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|l| l["event"] == "snapshot")
        .map(|l| l["payload"].clone())
        .unwrap_or_else(|| json!({}))
}

/// One output line as a person wants to see it: a record as its type, id,
/// name or email and timestamps; a page as its records; anything else as
/// it is.
fn shorten(line: &str) -> String {
    let Ok(event) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    if event["event"] != "data" {
        return line.to_owned();
    }
    let body = &event["payload"]["body"];
    if let Some(results) = body["results"].as_array() {
        let records: Vec<String> = results.iter().map(record).collect();
        return format!("data: a page of {}: {}", results.len(), records.join("; "));
    }
    if body.get("type").is_some() && body.get("id").is_some() {
        return format!("data: {}", record(body));
    }
    if let Some(status) = body.get("statusCode") {
        let records = body["responseBody"]["data"]
            .as_array()
            .map(|r| r.iter().map(record).collect::<Vec<_>>().join("; "))
            .unwrap_or_default();
        return format!("data: statusCode {status}, responseBody: {records}");
    }
    line.to_owned()
}

/// `list vH6Oco "Autumn Preview List" updated 2026-01-19T19:26:43+00:00`.
fn record(resource: &Value) -> String {
    let attributes = &resource["attributes"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let name = text(&attributes["name"])
        .or_else(|| text(&attributes["email"]))
        .map(|n| format!(" {n:?}"))
        .unwrap_or_default();
    let when = ["updated", "updated_at", "datetime", "created"]
        .iter()
        .find_map(|f| text(&attributes[*f]).map(|t| format!(" {f} {t}")))
        .unwrap_or_default();
    format!(
        "{} {}{name}{when}",
        resource["type"].as_str().unwrap_or("?"),
        resource["id"].as_str().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_shown_short() {
        let line = r#"{"event":"data","payload":{"id":"x","body":{"type":"list","id":"vH6Oco","attributes":{"name":"Autumn","updated":"2026-01-19T19:26:43+00:00","created":"2026-01-01T00:00:00+00:00"}}}}"#;
        assert_eq!(
            shorten(line),
            r#"data: list vH6Oco "Autumn" updated 2026-01-19T19:26:43+00:00"#
        );
        let page = r#"{"event":"data","payload":{"body":{"results":[{"type":"profile","id":"1","attributes":{"email":"a@b.c"}},{"type":"profile","id":"2","attributes":{}}]}}}"#;
        assert_eq!(
            shorten(page),
            r#"data: a page of 2: profile 1 "a@b.c"; profile 2"#
        );
        let snapshot = r#"{"event":"snapshot","payload":{"v":2}}"#;
        assert_eq!(shorten(snapshot), snapshot);
        assert_eq!(shorten("not json"), "not json");
    }
}
