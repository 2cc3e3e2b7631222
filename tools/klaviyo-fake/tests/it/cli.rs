//! `klaviyo-fake serve` behaves as docs/stand-in.md says: one JSON line on
//! stdout, one line on stderr saying where it listens, with which key and
//! how it stops; it stops when its stdin closes and says so, or with
//! `--until-killed` (or a /dev/null stdin) serves until killed.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: Child,
    base: String,
    key: String,
    stderr: Lines<BufReader<ChildStderr>>,
    /// The line saying where it listens.
    hello: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], stdin: Stdio) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klaviyo-fake"))
        .arg("serve")
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let hello = stderr
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("klaviyo-fake: listening"))
        .expect("says where it listens");
    Served {
        base: info["base_url"].as_str().unwrap().to_owned(),
        key: info["api_key"].as_str().unwrap().to_owned(),
        child,
        stderr,
        hello,
    }
}

fn get(s: &Served, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", s.base))
        .header("authorization", format!("Klaviyo-API-Key {}", s.key))
        .header("revision", "2026-10-15")
        .send()
        .unwrap()
}

fn exits_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn serve_prints_its_base_url_and_stops_with_stdin() {
    let mut s = serve(
        &[
            "--profiles",
            "30",
            "--api-key",
            "pk_cli",
            "--rate-limit",
            "10/s,100/m",
            "--latency-ms",
            "1-5",
        ],
        Stdio::piped(),
    );
    assert!(
        s.base.starts_with("http://127.0.0.1:") && s.base.ends_with("/api"),
        "{}",
        s.base
    );
    assert_eq!(s.key, "pk_cli");
    assert_eq!(
        s.hello,
        format!(
            "klaviyo-fake: listening on {}, API key pk_cli. Serving until stdin closes (Ctrl-D here, \
             or when the program that started it exits, so it never outlives it) or Ctrl-C.",
            s.base
        )
    );
    let r = get(&s, "/profiles?page%5Bsize%5D=100");
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("ratelimit-limit"));
    let doc: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(doc["data"].as_array().unwrap().len(), 30);
    drop(s.child.stdin.take());
    let status = exits_within(&mut s.child, Duration::from_secs(5))
        .expect("still running 5 s after stdin closed");
    assert!(status.success());
    let rest: Vec<String> = s.stderr.by_ref().map(Result::unwrap).collect();
    assert_eq!(rest, ["klaviyo-fake: stdin closed, stopped."]);
}

#[test]
fn until_killed_ignores_stdin() {
    let mut s = serve(&["--until-killed", "--lists", "3"], Stdio::piped());
    assert_eq!(s.key, klaviyo_fake::DEFAULT_API_KEY, "the default key");
    assert!(
        s.hello.ends_with(&format!(
            "Serving until killed (Ctrl-C, or kill {}): stdin is not read (--until-killed).",
            s.child.id()
        )),
        "{}",
        s.hello
    );
    drop(s.child.stdin.take());
    // Still serving after its stdin closed.
    assert_eq!(get(&s, "/lists").status(), 200);
    assert!(exits_within(&mut s.child, Duration::from_millis(300)).is_none());
}

#[test]
fn a_dev_null_stdin_is_not_taken_for_the_end() {
    let mut s = serve(&[], Stdio::null());
    assert!(
        s.hello
            .ends_with("stdin is /dev/null, which would close at once."),
        "{}",
        s.hello
    );
    assert_eq!(get(&s, "/lists").status(), 200);
    assert!(exits_within(&mut s.child, Duration::from_millis(300)).is_none());
}

#[test]
fn bad_values_are_refused_naming_the_flag() {
    for (flag, value) in [
        ("--latency-ms", "1-2-3"),
        ("--rate-limit", "3,60"),
        ("--size", "profiles"),
        ("--today", "2026-13-01"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_klaviyo-fake"))
            .args(["serve", flag, value])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// docs/stand-in.md documents every flag `serve --help` lists.
#[test]
fn the_page_documents_every_flag() {
    let help = Command::new(env!("CARGO_BIN_EXE_klaviyo-fake"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/stand-in.md"),
    )
    .unwrap();
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !w.contains('='))
        .collect();
    assert!(flags.len() > 15, "{flags:?}");
    for flag in flags {
        assert!(
            page.contains(&format!("`{flag}")),
            "docs/stand-in.md does not document {flag}"
        );
    }
}
