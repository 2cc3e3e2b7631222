//! Parts of the wire contract that do not fit in a case file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Bin, no_env, run};

#[test]
fn version_and_help_go_to_stdout_and_exit_0() {
    let out = run(
        Bin::Klaviyo,
        &["--version"],
        b"",
        &no_env(),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout.trim(),
        format!("klaviyo-runner {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run(
        Bin::Klaviyo,
        &["--help"],
        b"",
        &no_env(),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(0));
    for command in [
        "process",
        "verifyCredentials",
        "getMetaModel",
        "selectModel",
    ] {
        assert!(
            out.stdout.contains(command),
            "--help names {command}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_huge_stdin_is_refused_without_reading_it_all() {
    let mut stdin = b"{\"cfg\":{\"x\":\"".to_vec();
    stdin.resize(100 * 1024 * 1024, b'a');
    let out = run(
        Bin::Fixture,
        &["process", "echo"],
        &stdin,
        &no_env(),
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(2));
    out.assert_event_stream();
    assert!(
        out.stdout.contains("stdin is larger than 64 MiB"),
        "{}",
        out.stdout
    );
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let stdin = format!(
        "{{\"cfg\":{{\"x\":{}{}}}}}",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    let out = run(
        Bin::Fixture,
        &["process", "echo"],
        stdin.as_bytes(),
        &no_env(),
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(2));
    out.assert_event_stream();
    assert!(
        out.stdout.contains("more than 128 levels deep"),
        "{}",
        out.stdout
    );
}

#[test]
fn invalid_utf8_on_stdin_is_an_unusable_invocation() {
    let out = run(
        Bin::Fixture,
        &["process", "echo"],
        b"{\"cfg\":{\"x\":\"\xff\xfe\"}}",
        &no_env(),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(2));
    out.assert_event_stream();
}

#[test]
fn a_reader_that_goes_away_ends_the_runner_quietly() {
    let emit: Vec<&str> = std::iter::repeat_n("data", 20_000).collect();
    let stdin = serde_json::json!({"cfg": {"emit": emit}}).to_string();
    let mut child = Command::new(Bin::Fixture.path())
        .args(["process", "emitEvents"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("written");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    assert!(first.starts_with("{\"event\":\"data\""), "{first}");
    drop(stdout);
    let status = child.wait().expect("exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert_eq!(
        status.code(),
        Some(0),
        "a broken pipe is a quiet end, not a crash:\n{stderr}"
    );
    assert!(!stderr.contains("panic"), "{stderr}");
}

#[test]
fn every_log_line_is_bunyan_json_on_stderr_and_stdout_is_only_protocol() {
    let env = [
        ("LOG_LEVEL".to_owned(), "trace".to_owned()),
        ("ELASTICIO_FLOW_ID".to_owned(), "flow-7".to_owned()),
    ]
    .into_iter()
    .collect();
    let out = run(
        Bin::Fixture,
        &["process", "emitEvents"],
        br#"{"cfg": {"emit": ["data", "snapshot"]}}"#,
        &env,
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(0));
    out.assert_event_stream();
    let logs = out.logs();
    assert!(!logs.is_empty());
    for log in &logs {
        assert_eq!(log["name"], "klaviyo-component");
        assert_eq!(
            log["ELASTICIO_FLOW_ID"], "flow-7",
            "platform ids in every line: {log}"
        );
    }
}
