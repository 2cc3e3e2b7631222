//! Benchmark 1, start-up: the wall time of a complete poll that finds one
//! record, of `klaviyo-runner --version`, `node -e 0` and `python3 -c 0`,
//! and the stand-in's share of the poll: the same GET(s), replayed with a
//! bare HTTP client over a new connection, as the runner makes them.
//!
//! The commands take turns (poll, stand-in, version, node, python, poll,
//! …) so that load from elsewhere on the machine falls on all of them alike.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::measure::{self, median, ms, quantile};
use super::{Bench, Ctx, REVISION, Section, verdict};
use crate::http::Conn;
use crate::standin::StandIn;

/// The target for the poll's own overhead.
const OVERHEAD_TARGET_MS: f64 = 10.0;

struct Series {
    what: String,
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    skipped: Option<String>,
}

impl Series {
    fn new(what: &str) -> Series {
        Series {
            what: what.to_owned(),
            wall_ms: Vec::new(),
            cpu_ms: Vec::new(),
            skipped: None,
        }
    }

    fn row(&self, section: &mut Section) {
        if let Some(why) = &self.skipped {
            section.skipped(&self.what, why);
            return;
        }
        let mut wall = self.wall_ms.clone();
        let cpu = if self.cpu_ms.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.2} ms", median(&self.cpu_ms))
        };
        section.row(vec![
            self.what.clone(),
            wall.len().to_string(),
            format!("{:.2} ms", median(&wall)),
            format!("{:.2} ms", quantile(&mut wall, 0.9)),
            cpu,
            "—".to_owned(),
        ]);
    }
}

pub fn run(ctx: &Ctx, runs: usize) -> Result<Section, String> {
    let fake = StandIn::start(
        &ctx.fake,
        &["--lists".to_owned(), "1".to_owned()],
        Some(&ctx.work.join("startup-standin.log")),
    )?;
    let input = Ctx::poll_input(&fake.api_key, "lists", "emitIndividually");
    let poll = || {
        let mut cmd = Command::new(&ctx.runner);
        cmd.args(["process", "getNewAndUpdatedObjectsPolling"])
            .env_clear()
            .env("KLAVIYO_BASE_URL", &fake.base_url);
        cmd
    };

    // One poll with debug logs: it must emit the one list, and its log
    // names the requests it made, which the stand-in's share replays.
    let out = poll()
        .env("LOG_LEVEL", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                std::io::Write::write_all(&mut stdin, &input)?;
            }
            child.wait_with_output()
        })
        .map_err(|e| format!("klaviyo-runner: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let data = stdout
        .lines()
        .filter(|l| l.starts_with("{\"event\":\"data\""))
        .count();
    if !out.status.success() || data != 1 {
        return Err(format!(
            "the poll of one list exited with {} and emitted {data} records:\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let paths = requested_paths(&String::from_utf8_lossy(&out.stderr));
    if paths.is_empty() {
        return Err("the poll's debug log names no request".to_owned());
    }
    let headers = fake.headers(REVISION);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let mut series = [
        Series::new("`klaviyo-runner process getNewAndUpdatedObjectsPolling`, first poll, 1 list"),
        Series::new(&format!(
            "stand-in's share: the poll's {} GET(s), bare HTTP client, new connection",
            paths.len()
        )),
        Series::new("`klaviyo-runner --version`"),
        Series::new("`node -e 0`"),
        Series::new("`python3 -c 0`"),
    ];
    let others: [(&str, &[&str]); 2] = [("node", &["-e", "0"]), ("python3", &["-c", "0"])];
    for (i, (program, _)) in others.iter().enumerate() {
        let s = &mut series[3 + i];
        match Command::new(program)
            .args(others[i].1)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(st) if st.success() => {}
            Ok(st) => s.skipped = Some(format!("`{program}` exited with {st}")),
            Err(e) => s.skipped = Some(format!("`{program}` not found ({e})")),
        }
    }

    let warmup = 5.min(runs);
    let mut failures = 0;
    for round in 0..runs + warmup {
        let keep = round >= warmup;
        // The poll, as the platform runs it: stdout read, logs at info.
        let m = measure::run(poll().stdout(Stdio::null()).stderr(Stdio::null()), &input)?;
        if !m.status.success() {
            failures += 1;
        }
        if keep {
            series[0].wall_ms.push(ms(m.wall));
            series[0].cpu_ms.push(ms(m.cpu));
        }

        let t = Instant::now();
        let mut conn = Conn::connect(fake.addr())?;
        for path in &paths {
            let (status, _) = conn.get(path, &headers)?;
            if status != 200 {
                return Err(format!("the stand-in answered {status} to GET {path}"));
            }
        }
        drop(conn);
        if keep {
            series[1].wall_ms.push(ms(t.elapsed()));
        }

        let m = measure::run(
            Command::new(&ctx.runner)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            b"",
        )?;
        if keep {
            series[2].wall_ms.push(ms(m.wall));
            series[2].cpu_ms.push(ms(m.cpu));
        }

        for (i, (program, args)) in others.iter().enumerate() {
            if series[3 + i].skipped.is_some() {
                continue;
            }
            let m = measure::run(
                Command::new(program)
                    .args(*args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
                b"",
            )?;
            if keep {
                series[3 + i].wall_ms.push(ms(m.wall));
                series[3 + i].cpu_ms.push(ms(m.cpu));
            }
        }
    }
    if failures > 0 {
        return Err(format!("{failures} of {} polls failed", runs + warmup));
    }

    let mut section = Section::new(
        Bench::Startup,
        "1. Start-up (wall time from spawn to exit)",
        &["what", "runs", "median", "p90", "CPU (median)", "target"],
    );
    for s in &series[..2] {
        s.row(&mut section);
    }
    let overhead = median(&series[0].wall_ms) - median(&series[1].wall_ms);
    section.row(vec![
        "poll overhead = poll − stand-in's share (medians)".to_owned(),
        "—".to_owned(),
        format!("{overhead:.2} ms"),
        "—".to_owned(),
        "—".to_owned(),
        format!(
            "< {OVERHEAD_TARGET_MS:.0} ms: {}",
            verdict(overhead < OVERHEAD_TARGET_MS)
        ),
    ]);
    for s in &series[2..] {
        s.row(&mut section);
    }
    section.notes.push(format!(
        "{warmup} untimed rounds first. The poll's stdin is `{{\"cfg\":{{\"objectType\":\"lists\",\"pollConfig\":\"updated\",…}}}}` \
         (no snapshot, so every run is a first poll that finds the one list), stdout and stderr to /dev/null, logs at info. \
         The stand-in's share replays the request(s) the poll's debug log names: {}.",
        paths
            .iter()
            .map(|p| format!("`GET {p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(section)
}

/// The paths of the requests a debug log of the runner names
/// (`GET /api/lists?… → status 200 in 3 ms`).
fn requested_paths(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            let msg = v["msg"].as_str()?;
            let rest = msg.strip_prefix("GET ")?;
            let (path, _) = rest.split_once(" → ")?;
            Some(path.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_requests_in_a_debug_log() {
        let log = r#"{"v":0,"msg":"connecting to 127.0.0.1:1","level":20}
{"v":0,"msg":"GET /api/lists?filter=greater-than%28updated%2C1969-12-31T23%3A59%3A59Z%29&sort=updated → status 200 in 7 ms","level":20}
not json"#;
        assert_eq!(
            requested_paths(log),
            ["/api/lists?filter=greater-than%28updated%2C1969-12-31T23%3A59%3A59Z%29&sort=updated"]
        );
    }
}
