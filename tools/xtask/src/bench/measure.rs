//! Running a process and measuring it: wall time from spawn to exit, and
//! from `wait4(2)` the CPU time and peak resident memory (`ru_maxrss`) of
//! that one child.
//!
//! A child's `ru_maxrss` is never below its parent's own peak: on `exec`
//! Linux records the high-water mark of the memory the child had until
//! then, which is the parent's (shared by `vfork`, copied by `fork`). After
//! checking a 1M-record output the harness itself holds ~40 MiB, and every
//! child it started afterwards "peaked" at 40 MiB. So children whose memory
//! is reported are started through a helper, this same program as
//! `xtask __bench-measure`, which is small and fresh: it starts the child,
//! waits with `wait4` and writes the child's figures to a file ([`Job`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wait4::Wait4;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    pub wall: Duration,
    /// User plus system CPU time of the child.
    pub cpu: Duration,
    pub status: ExitStatus,
}

/// Spawns `cmd`, writes `stdin` to it and closes it, and waits: for
/// processes whose memory is not reported (see the module's doc).
pub(crate) fn run(cmd: &mut Command, stdin: &[u8]) -> Result<Measured, String> {
    let started = Instant::now();
    let child = spawn(cmd)?;
    finish(child, stdin, started)
}

pub(crate) fn spawn(cmd: &mut Command) -> Result<Child, String> {
    cmd.stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))
}

/// Writes `stdin`, closes it and waits for the child started at `started`.
pub(crate) fn finish(mut child: Child, stdin: &[u8], started: Instant) -> Result<Measured, String> {
    if let Some(mut pipe) = child.stdin.take() {
        // A child that exits without reading its stdin is not our concern
        // here; its exit status tells.
        let _ = pipe.write_all(stdin);
    }
    let usage = child.wait4().map_err(|e| format!("wait4: {e}"))?;
    Ok(Measured {
        wall: started.elapsed(),
        cpu: usage.rusage.utime + usage.rusage.stime,
        status: usage.status,
    })
}

/// What [`run_job`] measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobResult {
    pub wall: Duration,
    pub cpu: Duration,
    /// Peak resident memory, bytes: the child's own.
    pub maxrss: u64,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Stopped (SIGKILL) at the job's time limit.
    pub killed: bool,
}

impl JobResult {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub(crate) fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown status".to_owned(),
        }
    }
}

/// A process to measure through the helper: `program args` with only
/// `env` in its environment.
pub(crate) struct Job<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    pub stdin: Vec<u8>,
    pub stdout: Stdio,
    pub stderr: Stdio,
    /// Kill it after this long.
    pub limit: Option<Duration>,
}

/// Runs `job` through the helper `xtask __bench-measure`; `result` is the
/// file the helper writes its figures to.
pub(crate) fn run_job(helper: &Path, result: &Path, job: Job<'_>) -> Result<JobResult, String> {
    let _ = std::fs::remove_file(result);
    let limit_ms = job.limit.map_or(0, |d| d.as_millis());
    let mut cmd = Command::new(helper);
    cmd.arg("__bench-measure")
        .arg(result)
        .arg(limit_ms.to_string())
        .arg("--")
        .arg(job.program)
        .args(&job.args)
        .env_clear()
        .envs(job.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(job.stdout)
        .stderr(job.stderr);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the helper {}: {e}", helper.display()))?;
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(&job.stdin);
    }
    let status = child.wait().map_err(|e| format!("helper: {e}"))?;
    let text = std::fs::read_to_string(result).map_err(|e| {
        format!(
            "the helper ({status}) wrote no result for {}: {e}",
            job.program.display()
        )
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("helper said {text:?}: {e}"))?;
    let secs = |k: &str| Duration::from_secs_f64(v[k].as_f64().unwrap_or(f64::NAN).max(0.0));
    Ok(JobResult {
        wall: secs("wall_s"),
        cpu: secs("cpu_s"),
        maxrss: v["maxrss"].as_u64().unwrap_or(0),
        code: v["code"].as_i64().map(|c| c as i32),
        signal: v["signal"].as_i64().map(|s| s as i32),
        killed: v["killed"].as_bool().unwrap_or(false),
    })
}

/// `xtask __bench-measure RESULT LIMIT_MS -- PROGRAM ARGS…`: runs PROGRAM
/// with this process's stdio and environment, kills it after LIMIT_MS (0:
/// never), and writes its wall time, CPU time, peak memory and status to
/// RESULT as JSON.
pub(crate) fn helper_main(args: &[String]) -> ExitCode {
    let (result, limit, program, rest) = match args {
        [result, limit, dashes, program, rest @ ..] if dashes == "--" => (
            PathBuf::from(result),
            limit.parse::<u64>().unwrap_or(0),
            program,
            rest,
        ),
        _ => return ExitCode::from(2),
    };
    let started = Instant::now();
    let Ok(mut child) = Command::new(program).args(rest).spawn() else {
        return ExitCode::from(3);
    };
    let limit = (limit > 0).then(|| Duration::from_millis(limit));
    let mut killed = false;
    let usage = loop {
        let Some(limit) = limit else {
            break child.wait4();
        };
        match child.try_wait4() {
            Ok(Some(done)) => break Ok(done),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            let _ = child.kill();
            killed = true;
            break child.wait4();
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    };
    let wall = started.elapsed();
    let Ok(usage) = usage else {
        return ExitCode::from(4);
    };
    use std::os::unix::process::ExitStatusExt;
    let doc = json!({
        "wall_s": wall.as_secs_f64(),
        "cpu_s": (usage.rusage.utime + usage.rusage.stime).as_secs_f64(),
        "maxrss": usage.rusage.maxrss,
        "code": usage.status.code(),
        "signal": usage.status.signal(),
        "killed": killed,
    });
    match std::fs::write(&result, doc.to_string()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(5),
    }
}

/// The value at quantile `q` (nearest rank) of `xs`, which it sorts.
pub(crate) fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let rank = (q * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU seconds (user + system, all threads) of a running process, from
/// `/proc/PID/stat` (in USER_HZ = 100 ticks per second).
pub(crate) fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14, stime 15.
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let mut xs = [5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert!((quantile(&mut xs, 0.9) - 9.0).abs() < 1e-9);
        assert!((quantile(&mut xs, 0.5) - 5.0).abs() < 1e-9);
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < 1e-9);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < 1e-9);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn measures_a_child() {
        let m = run(Command::new("cat").stdout(Stdio::null()), b"hello").expect("cat runs");
        assert!(m.status.success());
        assert!(proc_cpu_secs(std::process::id()) >= 0.0);
    }

    #[test]
    fn the_helper_reports_a_child() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-helper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let result = dir.join("result.json");
        let arg = |s: &str| s.to_owned();
        let path = result.to_string_lossy().into_owned();
        assert_eq!(
            helper_main(&[path.clone(), arg("0"), arg("--"), arg("true")]),
            ExitCode::SUCCESS
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&result).expect("written"))
            .expect("JSON");
        assert_eq!(v["code"], 0);
        assert_eq!(v["killed"], false);
        assert!(v["maxrss"].as_u64().is_some_and(|m| m > 0));
        // A time limit kills.
        assert_eq!(
            helper_main(&[path, arg("50"), arg("--"), arg("sleep"), arg("5")]),
            ExitCode::SUCCESS
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&result).expect("written"))
            .expect("JSON");
        assert_eq!(v["killed"], true);
        assert_eq!(v["signal"], 9);
        assert!(v["wall_s"].as_f64().is_some_and(|w| w < 4.0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
