//! Benchmark 1, start-up: the wall time of a complete poll that finds one
//! record, of `klaviyo-runner --version`, `node -e 0` and `python3 -c 0`,
//! and the stand-in's share of the poll: the same GET(s), replayed with a
//! bare HTTP client over a new connection, as the runner makes them.
//!
//! The commands take turns (poll, stand-in, version, node, python, poll,
//! …) so that load from elsewhere on the machine falls on all of them alike.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::measure::{self, Measured, median, ms, quantile};
use super::{Bench, Ctx, REVISION, Section, verdict};
use crate::http::Conn;
use crate::standin::StandIn;

/// The target for the poll's own overhead.
const OVERHEAD_TARGET_MS: f64 = 10.0;

/// Other programs' start-up, for comparison; a row is skipped where the
/// program is missing or fails.
const OTHERS: [(&str, &[&str]); 2] = [("node", &["-e", "0"]), ("python3", &["-c", "0"])];

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

    /// Keeps a measured process's wall and CPU time.
    fn push(&mut self, m: &Measured) {
        self.wall_ms.push(ms(m.wall));
        self.cpu_ms.push(ms(m.cpu));
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

pub(super) fn run(ctx: &Ctx, runs: usize) -> Result<Section, String> {
    let fake = StandIn::start(
        &ctx.fake,
        &["--lists".to_owned(), "1".to_owned()],
        Some(&ctx.work.join("startup-standin.log")),
    )?;
    let input = Ctx::poll_input(&fake.api_key, "lists", "emitIndividually");
    let paths = probe(ctx, &fake, &input)?;
    let headers = fake.headers(REVISION);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let round = Round {
        ctx,
        fake: &fake,
        input: &input,
        paths: &paths,
        headers: &headers,
    };
    let mut series = Comparison::new(paths.len());
    let warmup = 5.min(runs);
    let mut failures = 0;
    for i in 0..runs + warmup {
        if !round.measure(&mut series, i >= warmup)? {
            failures += 1;
        }
    }
    if failures > 0 {
        return Err(format!("{failures} of {} polls failed", runs + warmup));
    }
    Ok(series.table(warmup, &paths))
}

/// The runner's first poll of the stand-in, with nothing else in its
/// environment.
fn poll_command(ctx: &Ctx, fake: &StandIn) -> Command {
    let mut cmd = Command::new(&ctx.runner);
    cmd.args(["process", "getNewAndUpdatedObjectsPolling"])
        .env_clear()
        .env("KLAVIYO_BASE_URL", &fake.base_url);
    cmd
}

/// `cmd` with its stdout and stderr to /dev/null.
fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdout(Stdio::null()).stderr(Stdio::null())
}

/// One poll with debug logs, untimed: it must emit the one list, and its
/// log names the requests it made, which the stand-in's share replays.
/// Gives those requests' paths.
fn probe(ctx: &Ctx, fake: &StandIn, input: &[u8]) -> Result<Vec<String>, String> {
    let out = poll_command(ctx, fake)
        .env("LOG_LEVEL", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                std::io::Write::write_all(&mut stdin, input)?;
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
    Ok(paths)
}

/// The commands compared, one series each.
struct Comparison {
    poll: Series,
    share: Series,
    version: Series,
    /// One per [`OTHERS`].
    others: [Series; 2],
}

impl Comparison {
    /// Empty series for a poll that makes `requests` requests. The other
    /// programs are tried once here, so that a missing one skips its row
    /// rather than failing the benchmark.
    fn new(requests: usize) -> Comparison {
        Comparison {
            poll: Series::new(
                "`klaviyo-runner process getNewAndUpdatedObjectsPolling`, first poll, 1 list",
            ),
            share: Series::new(&format!(
                "stand-in's share: the poll's {requests} GET(s), bare HTTP client, new connection"
            )),
            version: Series::new("`klaviyo-runner --version`"),
            others: OTHERS.map(|(program, args)| {
                let mut s = Series::new(&format!("`{program} {}`", args.join(" ")));
                s.skipped = unavailable(program, args);
                s
            }),
        }
    }

    /// The table: each series, and after the poll and its share, the
    /// poll's own overhead, which is what the target is for.
    fn table(&self, warmup: usize, paths: &[String]) -> Section {
        let mut section = Section::new(
            Bench::Startup,
            "1. Start-up (wall time from spawn to exit)",
            &["what", "runs", "median", "p90", "CPU (median)", "target"],
        );
        self.poll.row(&mut section);
        self.share.row(&mut section);
        let overhead = median(&self.poll.wall_ms) - median(&self.share.wall_ms);
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
        self.version.row(&mut section);
        for s in &self.others {
            s.row(&mut section);
        }
        section.notes.push(note(warmup, paths));
        section
    }
}

/// Why `program args` cannot be measured here, if it cannot.
fn unavailable(program: &str, args: &[&str]) -> Option<String> {
    match quiet(Command::new(program).args(args)).status() {
        Ok(st) if st.success() => None,
        Ok(st) => Some(format!("`{program}` exited with {st}")),
        Err(e) => Some(format!("`{program}` not found ({e})")),
    }
}

/// What every round runs.
struct Round<'a> {
    ctx: &'a Ctx,
    fake: &'a StandIn,
    input: &'a [u8],
    /// The requests the poll made, which the stand-in's share replays.
    paths: &'a [String],
    headers: &'a [(&'a str, &'a str)],
}

impl Round<'_> {
    /// Runs each command once, in turn, and keeps the times unless this is
    /// a warm-up round. Whether the poll succeeded: a failed poll is
    /// counted, and reported after the last round.
    fn measure(&self, series: &mut Comparison, keep: bool) -> Result<bool, String> {
        // The poll, as the platform runs it: stdout read, logs at info.
        let poll = measure::run(quiet(&mut poll_command(self.ctx, self.fake)), self.input)?;
        if keep {
            series.poll.push(&poll);
        }
        let share = self.standin_share()?;
        if keep {
            series.share.wall_ms.push(ms(share));
        }
        let m = measure::run(quiet(Command::new(&self.ctx.runner).arg("--version")), b"")?;
        if keep {
            series.version.push(&m);
        }
        for (s, (program, args)) in series.others.iter_mut().zip(OTHERS) {
            if s.skipped.is_some() {
                continue;
            }
            let m = measure::run(quiet(Command::new(program).args(args)), b"")?;
            if keep {
                s.push(&m);
            }
        }
        Ok(poll.status.success())
    }

    /// The poll's requests, replayed over a new connection: how long the
    /// stand-in takes to answer them, the part of the poll that is not ours.
    fn standin_share(&self) -> Result<Duration, String> {
        let t = Instant::now();
        let mut conn = Conn::connect(self.fake.addr())?;
        for path in self.paths {
            let (status, _) = conn.get(path, self.headers)?;
            if status != 200 {
                return Err(format!("the stand-in answered {status} to GET {path}"));
            }
        }
        drop(conn);
        Ok(t.elapsed())
    }
}

/// How the table was measured, and the requests replayed.
fn note(warmup: usize, paths: &[String]) -> String {
    format!(
        "{warmup} untimed rounds first. The poll's stdin is `{{\"cfg\":{{\"objectType\":\"lists\",\"pollConfig\":\"updated\",…}}}}` \
         (no snapshot, so every run is a first poll that finds the one list), stdout and stderr to /dev/null, logs at info. \
         The stand-in's share replays the request(s) the poll's debug log names: {}.",
        paths
            .iter()
            .map(|p| format!("`GET {p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
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
