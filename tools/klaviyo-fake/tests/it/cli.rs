//! The binary prints where it listens and stops when its stdin closes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serve_prints_its_base_url_and_stops_with_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klaviyo-fake"))
        .args([
            "serve",
            "--profiles",
            "30",
            "--api-key",
            "pk_cli",
            "--rate-limit",
            "10/s,100/m",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = info["base_url"].as_str().unwrap();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api"),
        "{base}"
    );
    assert_eq!(info["api_key"], "pk_cli");
    let r = reqwest::blocking::Client::new()
        .get(format!("{base}/profiles?page%5Bsize%5D=100"))
        .header("authorization", "Klaviyo-API-Key pk_cli")
        .header("revision", "2024-10-15")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("ratelimit-limit"));
    let doc: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(doc["data"].as_array().unwrap().len(), 30);
    drop(child.stdin.take());
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "still running after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
