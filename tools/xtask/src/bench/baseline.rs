//! Benchmark 3, the baseline a user would otherwise write: the same first
//! poll of N profiles with Klaviyo's official Python SDK (`klaviyo-api`
//! from PyPI), run by `python_baseline.py` beside this file, installed
//! into a venv under the target directory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::measure::{Job, JobResult, median};
use super::throughput::Poll;
use super::{Bench, Ctx, REVISION, Section, mib, thousands, verdict};
use crate::standin::StandIn;

/// The SDK release measured (pinned, so that runs compare).
pub const SDK: &str = "klaviyo-api==25.0.0";

/// A Python with the SDK installed.
#[derive(Debug, Clone)]
pub struct Python {
    pub exe: PathBuf,
    pub version: String,
}

/// Creates (once) `<work>/venv` with the SDK; `Err` says why it cannot
/// (no python3, no network), which skips the baseline.
pub fn prepare(ctx: &Ctx) -> Result<Python, String> {
    let venv = ctx.work.join("venv");
    let exe = venv.join("bin").join("python");
    let probe = |exe: &Path| -> Option<String> {
        let out = Command::new(exe)
            .args([
                "-c",
                "import sys, importlib.metadata as m; import klaviyo_api; \
                 print('klaviyo-api', m.version('klaviyo-api') + ', Python', sys.version.split()[0])",
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let wanted = format!("{} ", SDK.replace("==", " "));
    if let Some(v) = probe(&exe).filter(|v| v.starts_with(&wanted)) {
        return Ok(Python { exe, version: v });
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("python3 not found ({e})"))?;
    if !status.success() {
        return Err("`python3 -m venv` failed".to_owned());
    }
    let out = Command::new(&exe)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SDK,
        ])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`pip install {SDK}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    probe(&exe)
        .map(|version| Python { exe, version })
        .ok_or_else(|| format!("{SDK} does not import after installing it"))
}

/// The SDK's poll of all `n` profiles, in its default mode (pydantic
/// models) and with plain dicts, beside the runner's `polls`.
pub fn run(
    ctx: &Ctx,
    fake: &StandIn,
    n: usize,
    python: &Result<Python, String>,
    runner: &[Poll],
) -> Result<Section, String> {
    let mut section = Section::new(
        Bench::Baseline,
        &format!(
            "3. Baseline: the same first poll of {} profiles with Klaviyo's Python SDK",
            thousands(n as f64)
        ),
        &[
            "client",
            "records/s (wall)",
            "wall",
            "CPU",
            "peak RSS",
            "requests",
            "runner ÷ this: speed",
            "runner ÷ this: memory",
            "target (runner faster)",
        ],
    );
    let rate = median(&runner.iter().map(Poll::rate).collect::<Vec<_>>());
    let peak = runner.iter().map(|p| p.m.maxrss).max().unwrap_or(0);
    let [wall, cpu, requests] = Poll::cells(runner);
    section.row(vec![
        "klaviyo-runner, emitIndividually".to_owned(),
        thousands(rate),
        wall,
        cpu,
        mib(peak),
        requests,
        "1.0×".to_owned(),
        "1.0×".to_owned(),
        "—".to_owned(),
    ]);
    let python = match python {
        Ok(p) => p,
        Err(why) => {
            section.skipped("Python SDK", why);
            return Ok(section);
        }
    };
    let script = ctx.root.join("tools/xtask/src/bench/python_baseline.py");
    for (mode, label) in [
        ("models", "Python SDK, default (pydantic models)"),
        (
            "dicts",
            "Python SDK, USE_DICTIONARY_FOR_RESPONSE_DATA (plain dicts)",
        ),
    ] {
        let out_path = ctx
            .work
            .join("out")
            .join(format!("python-{n}-{mode}.jsonl"));
        let said_path = ctx
            .work
            .join("out")
            .join(format!("python-{n}-{mode}.stdout"));
        let log_path = ctx
            .work
            .join("out")
            .join(format!("python-{n}-{mode}.stderr"));
        let create = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let JobResult {
            wall, cpu, maxrss, ..
        } = ctx
            .measure(
                &format!("python-{n}-{mode}"),
                Job {
                    program: &python.exe,
                    args: vec![
                        script.to_string_lossy().into_owned(),
                        fake.origin(),
                        fake.api_key.clone(),
                        REVISION.to_owned(),
                        out_path.to_string_lossy().into_owned(),
                        mode.to_owned(),
                    ],
                    env: Vec::new(),
                    stdin: Vec::new(),
                    stdout: Stdio::from(create(&said_path)?),
                    stderr: Stdio::from(create(&log_path)?),
                    limit: None,
                },
            )
            .and_then(|r| {
                if r.success() {
                    Ok(r)
                } else {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    Err(format!(
                        "python_baseline.py {mode} ended with {}: {}",
                        r.describe(),
                        log.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
                    ))
                }
            })?;
        let said = std::fs::read_to_string(&said_path).unwrap_or_default();
        let summary: serde_json::Value = serde_json::from_str(&said)
            .map_err(|e| format!("python_baseline.py said {said:?}: {e}"))?;
        let lines = count_lines(&out_path)?;
        let _ = std::fs::remove_file(&out_path);
        if lines != n || summary["records"].as_u64() != Some(n as u64) {
            return Err(format!(
                "python_baseline.py {mode} wrote {lines} records for {n} profiles"
            ));
        }
        let py_rate = n as f64 / wall.as_secs_f64();
        section.row(vec![
            label.to_owned(),
            thousands(py_rate),
            format!("{:.2} s", wall.as_secs_f64()),
            format!("{:.2} s", cpu.as_secs_f64()),
            mib(maxrss),
            summary["requests"]
                .as_u64()
                .map_or("—".to_owned(), |r| thousands(r as f64)),
            format!("{:.1}×", rate / py_rate),
            format!("{:.2}×", peak as f64 / maxrss as f64),
            format!("faster: {}", verdict(rate > py_rate)),
        ]);
    }
    section.notes.push(format!(
        "{} in a venv, revision {REVISION} for both, page size 100, filter `greater-than(updated,…)`, \
         sort `updated`, following `links.next`'s cursor through the SDK's `page_cursor`; each record written as \
         one JSON line. One run each. Script: tools/xtask/src/bench/python_baseline.py. The SDK follows the cursor, \
         the runner re-queries from its watermark (more requests, see the throughput table's note).",
        python.version
    ));
    Ok(section)
}

fn count_lines(path: &Path) -> Result<usize, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut n = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(n),
            Ok(_) => n += 1,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
}
