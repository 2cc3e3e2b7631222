//! Benchmark 3, the baseline a user would otherwise write: the same first
//! poll of N profiles with Klaviyo's official Python SDK (`klaviyo-api`
//! from PyPI), run by `python_baseline.py` beside this file, installed
//! into a venv under the target directory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::measure::{Job, JobResult};
use super::poll::Poll;
use super::{Bench, Ctx, REVISION, Section, mib, thousands, verdict};
use crate::standin::StandIn;

/// The SDK release measured (pinned, so that runs compare).
pub(super) const SDK: &str = "klaviyo-api==25.0.0";

/// A Python with the SDK installed.
#[derive(Debug, Clone)]
pub(super) struct Python {
    pub exe: PathBuf,
    pub version: String,
}

/// Creates (once) `<work>/venv` with the SDK; `Err` says why it cannot
/// (no python3, no network), which skips the baseline.
pub(super) fn prepare(ctx: &Ctx) -> Result<Python, String> {
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

/// The script's modes, each with its row's label: the SDK's default, and
/// its option to answer with plain dicts instead of models.
const SCRIPT_MODES: [(&str, &str); 2] = [
    ("models", "Python SDK, default (pydantic models)"),
    (
        "dicts",
        "Python SDK, USE_DICTIONARY_FOR_RESPONSE_DATA (plain dicts)",
    ),
];

/// The SDK's poll of all `n` profiles, in its default mode (pydantic
/// models) and with plain dicts, beside the runner's polls `runner`.
pub(super) fn run(
    ctx: &Ctx,
    fake: &StandIn,
    n: usize,
    python: &Result<Python, String>,
    runner: &[Poll],
) -> Result<Section, String> {
    let mut section = table(n);
    section.row(runner_row(runner));
    let python = match python {
        Ok(p) => p,
        Err(why) => {
            section.skipped("Python SDK", why);
            return Ok(section);
        }
    };
    let rate = Poll::median_rate(runner);
    let peak = Poll::peak(runner);
    for (mode, label) in SCRIPT_MODES {
        let sdk = poll(ctx, fake, n, python, mode)?;
        section.row(sdk.row(label, n, rate, peak));
    }
    section.notes.push(note(python));
    Ok(section)
}

/// The baseline table for `n` profiles, without rows.
fn table(n: usize) -> Section {
    Section::new(
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
    )
}

/// The runner's row, which the SDK's rows are divided into.
fn runner_row(runner: &[Poll]) -> Vec<String> {
    let [wall, cpu, requests] = Poll::cells(runner);
    vec![
        "klaviyo-runner, emitIndividually".to_owned(),
        thousands(Poll::median_rate(runner)),
        wall,
        cpu,
        mib(Poll::peak(runner)),
        requests,
        "1.0×".to_owned(),
        "1.0×".to_owned(),
        "—".to_owned(),
    ]
}

/// One measured, checked run of the script.
struct SdkPoll {
    m: JobResult,
    /// The requests the script says it made.
    requests: Option<u64>,
}

impl SdkPoll {
    /// Its row, against the runner's median `rate` and `peak` memory.
    fn row(&self, label: &str, n: usize, rate: f64, peak: u64) -> Vec<String> {
        let JobResult {
            wall, cpu, maxrss, ..
        } = self.m;
        let py_rate = n as f64 / wall.as_secs_f64();
        vec![
            label.to_owned(),
            thousands(py_rate),
            format!("{:.2} s", wall.as_secs_f64()),
            format!("{:.2} s", cpu.as_secs_f64()),
            mib(maxrss),
            self.requests
                .map_or("—".to_owned(), |r| thousands(r as f64)),
            format!("{:.1}×", rate / py_rate),
            format!("{:.2}×", peak as f64 / maxrss as f64),
            format!("faster: {}", verdict(rate > py_rate)),
        ]
    }
}

/// Where one run of the script writes.
struct Files {
    /// `python-{n}-{mode}`, which also names the helper's result file.
    name: String,
    /// The records, one JSON line each.
    out: PathBuf,
    /// Its stdout: a JSON summary (records, requests).
    said: PathBuf,
    /// Its stderr.
    log: PathBuf,
}

impl Files {
    fn new(ctx: &Ctx, n: usize, mode: &str) -> Files {
        let name = format!("python-{n}-{mode}");
        let file = |ext: &str| ctx.work.join("out").join(format!("{name}.{ext}"));
        Files {
            out: file("jsonl"),
            said: file("stdout"),
            log: file("stderr"),
            name,
        }
    }
}

/// The script's poll of all `n` profiles in `mode`, checked: it must exit
/// 0 and write, and say it wrote, exactly `n` records.
fn poll(
    ctx: &Ctx,
    fake: &StandIn,
    n: usize,
    python: &Python,
    mode: &str,
) -> Result<SdkPoll, String> {
    let files = Files::new(ctx, n, mode);
    let m = measure_script(ctx, fake, python, mode, &files)?;
    let said = std::fs::read_to_string(&files.said).unwrap_or_default();
    let summary: serde_json::Value = serde_json::from_str(&said)
        .map_err(|e| format!("python_baseline.py said {said:?}: {e}"))?;
    let lines = count_lines(&files.out)?;
    let _ = std::fs::remove_file(&files.out);
    if lines != n || summary["records"].as_u64() != Some(n as u64) {
        return Err(format!(
            "python_baseline.py {mode} wrote {lines} records for {n} profiles"
        ));
    }
    Ok(SdkPoll {
        m,
        requests: summary["requests"].as_u64(),
    })
}

/// Runs the script through the measuring helper; `Err` with the end of its
/// log if it fails.
fn measure_script(
    ctx: &Ctx,
    fake: &StandIn,
    python: &Python,
    mode: &str,
    files: &Files,
) -> Result<JobResult, String> {
    let script = ctx.root.join("tools/xtask/src/bench/python_baseline.py");
    let create = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let r = ctx.measure(
        &files.name,
        Job {
            program: &python.exe,
            args: vec![
                script.to_string_lossy().into_owned(),
                fake.origin(),
                fake.api_key.clone(),
                REVISION.to_owned(),
                files.out.to_string_lossy().into_owned(),
                mode.to_owned(),
            ],
            env: Vec::new(),
            stdin: Vec::new(),
            stdout: Stdio::from(create(&files.said)?),
            stderr: Stdio::from(create(&files.log)?),
            limit: None,
        },
    )?;
    if !r.success() {
        let log = std::fs::read_to_string(&files.log).unwrap_or_default();
        return Err(format!(
            "python_baseline.py {mode} ended with {}: {}",
            r.describe(),
            log.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
        ));
    }
    Ok(r)
}

/// How the table was measured.
fn note(python: &Python) -> String {
    format!(
        "{} in a venv, revision {REVISION} for both, page size 100, filter `greater-than(updated,…)`, \
         sort `updated`, following `links.next`'s cursor through the SDK's `page_cursor`; each record written as \
         one JSON line. One run each. Script: tools/xtask/src/bench/python_baseline.py. The SDK follows the cursor, \
         the runner re-queries from its watermark (more requests, see the throughput table's note).",
        python.version
    )
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
