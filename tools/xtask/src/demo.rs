//! `cargo xtask demo`: start the local Klaviyo stand-in, run the component
//! against it through `klaviyo-runner`, and print what the platform would
//! receive. No Klaviyo account, no internet.

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use serde_json::{Value, json};

use crate::cargo::{RUNNER_AND_STAND_IN, cargo, target_dir};
use crate::standin::StandIn;

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the demo talks to the person running it"
)]
pub fn run(root: &Path) -> ExitCode {
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
    println!(
        "Building klaviyo-runner and the Klaviyo stand-in (the first build takes a few minutes)…"
    );
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["build", "--quiet"])
        .args(RUNNER_AND_STAND_IN)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the build failed".to_owned());
    }
    let bin = target_dir(root)?.join("debug");
    let stand_in = StandIn::start(
        &bin.join("klaviyo-fake"),
        &["--profiles", "25", "--lists", "12"].map(String::from),
        None,
    )?;
    println!(
        "\nThe stand-in serves a small, realistic Klaviyo account at {}",
        stand_in.base_url
    );

    let runner = bin.join("klaviyo-runner");
    let key = stand_in.api_key.clone();
    let env = [
        ("KLAVIYO_BASE_URL", stand_in.base_url.as_str()),
        ("LOG_LEVEL", "info"),
    ];

    section("verifyCredentials");
    let out = invoke(
        &runner,
        &["verifyCredentials"],
        &json!({"cfg": {"apiKey": key}}),
        &env,
    )?;
    print_lines(&out, usize::MAX);

    section("Get New and Updated Objects Polling: lists on \"updated\", first run");
    let cfg = json!({"apiKey": key, "objectType": "lists", "pollConfig": "updated"});
    let first = invoke(
        &runner,
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": cfg}),
        &env,
    )?;
    print_lines(&first, 4);
    let snapshot = first
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|l| l["event"] == "snapshot")
        .map(|l| l["payload"].clone())
        .unwrap_or_else(|| json!({}));

    section("The next run, from the saved snapshot: nothing new, nothing repeated");
    let second = invoke(
        &runner,
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": cfg, "snapshot": snapshot}),
        &env,
    )?;
    print_lines(&second, usize::MAX);

    section("Emit page: profiles in pages of 3 (Retrieve Sample: at most 10 records)");
    let paged = invoke(
        &runner,
        &["process", "getNewAndUpdatedObjectsPolling"],
        &json!({"cfg": {"apiKey": key, "objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitPage", "pageSize": "3"}}),
        &[env[0], env[1], ("ELASTICIO_FLOW_TYPE", "debug")],
    )?;
    print_lines(&paged, 2);

    section("Make Raw Request: GET /profiles?page[size]=1");
    let raw = invoke(
        &runner,
        &["process", "makeRawRequest"],
        &json!({"cfg": {"apiKey": key}, "msg": {"body": {"url": "/profiles?page[size]=1", "method": "GET"}}}),
        &env,
    )?;
    print_lines(&raw, usize::MAX);

    section("Make Raw Request to another host: refused before any connection");
    let refused = invoke(
        &runner,
        &["process", "makeRawRequest"],
        &json!({"cfg": {"apiKey": key}, "msg": {"body": {"url": "https://example.com/steal", "method": "GET"}}}),
        &env,
    )?;
    print_lines(&refused, usize::MAX);
    println!(
        "\nEach run above is one `klaviyo-runner` invocation (its logs go to stderr, hidden here); see docs/protocol.md."
    );
    Ok(())
}

/// Run the runner once; its stdout.
#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn invoke(
    runner: &Path,
    args: &[&str],
    stdin: &Value,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let shown = serde_json::to_string(stdin).unwrap_or_default();
    println!("$ echo '{shown}' | klaviyo-runner {}", args.join(" "));
    let mut child = Command::new(runner)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Logs (bunyan JSON on stderr) would drown the output here.
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start klaviyo-runner: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(shown.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let code = out.status.code().unwrap_or(-1);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("(exit code {code})");
    Ok(text)
}

/// Print stdout lines, showing at most `data` data lines in full.
#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn print_lines(stdout: &str, data: usize) {
    let mut shown = 0;
    let mut hidden = 0;
    for line in stdout.lines() {
        let is_data = line.starts_with("{\"event\":\"data\"");
        if is_data && shown >= data {
            hidden += 1;
            continue;
        }
        if is_data {
            shown += 1;
        }
        if hidden > 0 && !is_data {
            println!("  … {hidden} more data line(s)");
            hidden = 0;
        }
        println!("  {line}");
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn section(title: &str) {
    println!("\n== {title}");
}
