//! `cargo xtask bench`: the benchmarks of issue 7, run against the local
//! Klaviyo stand-in, printed as tables (docs/performance.md explains them).
//!
//! 1. Start-up: a complete poll that finds one record, beside
//!    `klaviyo-runner --version`, `node -e 0` and `python3 -c 0`, and the
//!    stand-in's own share of the poll.
//! 2. Throughput and memory: a first poll of N profiles in both emit modes.
//! 3. Baseline: the same poll with Klaviyo's official Python SDK.
//! 4. Rate-limit ceiling: a long backfill under a scaled-down rate limit.
//! 5. Latency-bound backfills: Klaviyo's limits scaled down, slow answers.
//! 6. Through the platform: raw requests and a poll through sailor.
//! 7. Late records: the lookback's re-reads and summaries, simulated.
//!
//! Benchmarks report; they never fail on a timing. The command fails only
//! when a benchmark could not run or its output was wrong (a missing or
//! repeated record, an error event).
//!
//! `--smoke` runs a tiny version (debug build, a few records, seconds) that
//! the test below runs, so the harness keeps working.

mod baseline;
mod late;
pub(crate) mod measure;
mod platform;
mod poll;
mod ratelimit;
mod startup;
mod throughput;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cargo::{RUNNER_AND_STAND_IN, cargo, target_dir};

/// The revision both the runner and the Python SDK send: the newest one,
/// which the SDK is generated for.
pub(crate) const REVISION: &str = "2026-10-15";

pub(crate) const USAGE: &str = "usage: cargo xtask bench [--smoke] [--only LIST] [--runs N] [--sizes LIST]\n\
    \x20                        [--repeat N] [--baseline-size N] [--ratelimit-secs S]\n\
    \x20                        [--latencies LIST] [--unannounced-runs N] [--debug]\n\
    \n\
    Builds klaviyo-runner and the Klaviyo stand-in (release), runs the benchmarks and\n\
    prints a table; also writes it to <target>/bench/results.md and results.json.\n\
    \n\
    --smoke            a tiny version (debug build, seconds; CI runs it as a test)\n\
    --only LIST        some of: startup,throughput,baseline,ratelimit,unannounced,latency,platform,late (default all)\n\
    --runs N           start-up runs of each command (default 200)\n\
    --sizes LIST       profiles per throughput run (default 10000,100000,1000000)\n\
    --repeat N         runs of each throughput case, the median is shown (default 3)\n\
    --baseline-size N  profiles for the Python SDK baseline (default 100000)\n\
    --ratelimit-secs S length of the rate-limit backfill (default 240)\n\
    --latencies LIST   ms per request of the latency-bound backfills (default 100,300,500)\n\
    --unannounced-runs N  runs of the backfill under a limit announced only by 429s (default 10)\n\
    --debug            use a debug build";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bench {
    Startup,
    Throughput,
    Baseline,
    RateLimit,
    Unannounced,
    Latency,
    Platform,
    Late,
}

impl Bench {
    pub(crate) const ALL: [Bench; 8] = [
        Bench::Startup,
        Bench::Throughput,
        Bench::Baseline,
        Bench::RateLimit,
        Bench::Unannounced,
        Bench::Latency,
        Bench::Platform,
        Bench::Late,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Bench::Startup => "startup",
            Bench::Throughput => "throughput",
            Bench::Baseline => "baseline",
            Bench::RateLimit => "ratelimit",
            Bench::Unannounced => "unannounced",
            Bench::Latency => "latency",
            Bench::Platform => "platform",
            Bench::Late => "late",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub smoke: bool,
    pub release: bool,
    pub only: Vec<Bench>,
    pub startup_runs: usize,
    pub sizes: Vec<usize>,
    pub repeat: usize,
    pub baseline_size: usize,
    pub ratelimit_secs: u64,
    /// Milliseconds per request of the latency-bound backfills.
    pub latencies: Vec<u64>,
    /// The longest a latency-bound backfill may take.
    pub latency_cap: Duration,
    /// Runs of the backfill under a limit announced only by 429s.
    pub unannounced_runs: usize,
}

impl Options {
    /// The full benchmark (several minutes).
    pub(crate) fn full() -> Options {
        Options {
            smoke: false,
            release: true,
            only: Bench::ALL.to_vec(),
            startup_runs: 200,
            sizes: vec![10_000, 100_000, 1_000_000],
            repeat: 3,
            baseline_size: 100_000,
            ratelimit_secs: 240,
            latencies: vec![100, 300, 500],
            latency_cap: Duration::from_secs(300),
            unannounced_runs: 10,
        }
    }

    /// A tiny version that only proves the harness works (seconds).
    pub(crate) fn smoke() -> Options {
        Options {
            smoke: true,
            release: false,
            only: Bench::ALL.to_vec(),
            startup_runs: 5,
            sizes: vec![300],
            repeat: 1,
            baseline_size: 300,
            ratelimit_secs: 3,
            latencies: vec![20],
            latency_cap: Duration::from_secs(3),
            unannounced_runs: 1,
        }
    }

    pub(crate) fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = if args.iter().any(|a| a == "--smoke") {
            Options::smoke()
        } else {
            Options::full()
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--smoke" => {}
                "--debug" => o.release = false,
                "--release" => o.release = true,
                "--only" => {
                    o.only = value("--only")?
                        .split(',')
                        .map(|s| {
                            Bench::ALL
                                .into_iter()
                                .find(|b| b.name() == s.trim())
                                .ok_or_else(|| format!("unknown benchmark {s:?}"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--runs" => o.startup_runs = number(&value("--runs")?)?.max(1),
                "--sizes" => {
                    o.sizes = value("--sizes")?
                        .split(',')
                        .map(number)
                        .collect::<Result<_, _>>()?;
                }
                "--repeat" => o.repeat = number(&value("--repeat")?)?.max(1),
                "--baseline-size" => o.baseline_size = number(&value("--baseline-size")?)?,
                "--ratelimit-secs" => {
                    o.ratelimit_secs = number(&value("--ratelimit-secs")?)?.max(1) as u64;
                }
                "--latencies" => {
                    o.latencies = value("--latencies")?
                        .split(',')
                        .map(|s| number(s).map(|n| n as u64))
                        .collect::<Result<_, _>>()?;
                }
                "--unannounced-runs" => {
                    o.unannounced_runs = number(&value("--unannounced-runs")?)?.max(1);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if o.sizes.iter().chain([&o.baseline_size]).any(|&n| n == 0) {
            return Err("sizes must be at least 1".to_owned());
        }
        Ok(o)
    }

    fn runs(&self, bench: Bench) -> bool {
        self.only.contains(&bench)
    }
}

fn number(s: &str) -> Result<usize, String> {
    let t = s.trim().replace('_', "");
    let (digits, scale) = match t.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000),
        None => match t.strip_suffix(['m', 'M']) {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    digits
        .parse::<usize>()
        .map(|n| n * scale)
        .map_err(|_| format!("not a number: {s:?}"))
}

/// One table: a benchmark's rows.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub bench: Bench,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

impl Section {
    fn new(bench: Bench, title: &str, columns: &[&str]) -> Section {
        Section {
            bench,
            title: title.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// A row for something that could not be measured here.
    fn skipped(&mut self, what: &str, why: &str) {
        let mut cells = vec![what.to_owned()];
        cells.extend((1..self.columns.len()).map(|_| "—".to_owned()));
        if let Some(last) = cells.last_mut() {
            *last = format!("skipped: {why}");
        }
        self.rows.push(cells);
    }

    /// Whether the table is well formed: at least one row, each with a
    /// non-empty cell per column, each either measured (some cell holds a
    /// number) or skipped with a reason.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Err(format!("{}: no rows", self.bench.name()));
        }
        for row in &self.rows {
            if row.len() != self.columns.len() {
                return Err(format!(
                    "{}: {} cells for {} columns: {row:?}",
                    self.bench.name(),
                    row.len(),
                    self.columns.len()
                ));
            }
            if row.iter().any(|c| c.trim().is_empty()) {
                return Err(format!("{}: an empty cell: {row:?}", self.bench.name()));
            }
            let skipped = row.iter().any(|c| c.starts_with("skipped: "));
            let measured = row[1..]
                .iter()
                .any(|c| c.chars().any(|ch| ch.is_ascii_digit()));
            if !skipped && !measured {
                return Err(format!("{}: no measurement: {row:?}", self.bench.name()));
            }
        }
        Ok(())
    }

    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "### {}\n", self.title);
        let _ = writeln!(out, "| {} |", self.columns.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            self.columns.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n{note}");
        }
        out.push('\n');
    }

    fn json(&self) -> Value {
        json!({
            "bench": self.bench.name(),
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        })
    }
}

/// Everything one run measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub machine: Vec<String>,
    pub command: String,
    pub sections: Vec<Section>,
    pub errors: Vec<String>,
    pub elapsed: Duration,
}

impl Report {
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Command: `{}`\n", self.command);
        for line in &self.machine {
            let _ = writeln!(out, "- {line}");
        }
        let _ = writeln!(out, "- whole run: {:.0} s\n", self.elapsed.as_secs_f64());
        for section in &self.sections {
            section.markdown(&mut out);
        }
        for e in &self.errors {
            let _ = writeln!(out, "ERROR: {e}");
        }
        out
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "command": self.command,
            "machine": self.machine,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "sections": self.sections.iter().map(Section::json).collect::<Vec<_>>(),
            "errors": self.errors,
        })
    }
}

/// Paths and settings every benchmark uses.
pub(crate) struct Ctx {
    pub runner: PathBuf,
    pub fake: PathBuf,
    /// `xtask` itself, which runs `__bench-measure` (measure.rs).
    pub helper: PathBuf,
    /// Scratch space: output files, logs, the Python venv.
    pub work: PathBuf,
    pub root: PathBuf,
}

impl Ctx {
    /// Runs `job` through the measuring helper; `name` names its result
    /// file.
    pub(crate) fn measure(
        &self,
        name: &str,
        job: measure::Job<'_>,
    ) -> Result<measure::JobResult, String> {
        measure::run_job(
            &self.helper,
            &self.work.join("out").join(format!("{name}.measure.json")),
            job,
        )
    }

    /// The runner's stdin for a first poll of `object_type`.
    pub(crate) fn poll_input(api_key: &str, object_type: &str, emit: &str) -> Vec<u8> {
        json!({"cfg": {
            "apiKey": api_key,
            "revision": REVISION,
            "objectType": object_type,
            "pollConfig": "updated",
            "emitBehavior": emit,
        }})
        .to_string()
        .into_bytes()
    }
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports to the person running it"
)]
pub(crate) fn main(root: &Path, args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    match run(root, &options, &command, true) {
        Ok(report) => {
            let md = report.markdown();
            println!("\n{md}");
            if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the binaries and runs the chosen benchmarks. `Err` only when
/// nothing could run (the build failed); a benchmark that failed is in
/// `Report::errors`.
#[allow(
    clippy::print_stderr,
    reason = "progress goes to the person running it"
)]
pub(crate) fn run(
    root: &Path,
    o: &Options,
    command: &str,
    verbose: bool,
) -> Result<Report, String> {
    let started = Instant::now();
    let progress = |msg: &str| {
        if verbose {
            eprintln!("[{:>4.0} s] {msg}", started.elapsed().as_secs_f64());
        }
    };
    let ctx = build(root, o, &progress)?;
    let mut machine = machine();
    machine.push(format!(
        "build: {}",
        if o.release { "release" } else { "debug" }
    ));
    let (sections, mut errors) = run_benches(&ctx, o, &progress);
    for s in &sections {
        if let Err(e) = s.check() {
            errors.push(format!("a malformed table: {e}"));
        }
    }
    machine.push(format!("load average at the end: {}", load_average()));
    let report = Report {
        machine,
        command: command.to_owned(),
        sections,
        errors,
        elapsed: started.elapsed(),
    };
    let _ = std::fs::write(ctx.work.join("results.md"), report.markdown());
    let _ = std::fs::write(
        ctx.work.join("results.json"),
        serde_json::to_string_pretty(&report.json()).unwrap_or_default(),
    );
    progress(&format!(
        "done; tables also in {}",
        ctx.work.join("results.md").display()
    ));
    Ok(report)
}

/// Build the runner, the stand-in, the measuring helper and the platform
/// harness, and say where everything is.
fn build(root: &Path, o: &Options, progress: &dyn Fn(&str)) -> Result<Ctx, String> {
    let profile = if o.release { "release" } else { "debug" };
    progress(&format!(
        "building klaviyo-runner, klaviyo-fake and the measuring helper ({profile})"
    ));
    let mut build = Command::new(cargo());
    build
        .current_dir(root)
        .args(["build", "--quiet"])
        .args(RUNNER_AND_STAND_IN)
        .args([
            // The measuring helper (`xtask __bench-measure`, see measure.rs).
            "--package",
            "xtask",
            "--bin",
            "xtask",
        ])
        // The platform row's harness (bench/platform.rs).
        .args(["--package", "sailor-harness", "--bin", "sailor-harness"]);
    if o.release {
        build.arg("--release");
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the build failed".to_owned());
    }
    let target = target_dir(root)?;
    let bin = target.join(profile);
    let work = target.join(if o.smoke { "bench-smoke" } else { "bench" });
    std::fs::create_dir_all(work.join("out")).map_err(|e| format!("{}: {e}", work.display()))?;
    Ok(Ctx {
        runner: bin.join("klaviyo-runner"),
        fake: bin.join("klaviyo-fake"),
        helper: bin.join("xtask"),
        work,
        root: root.to_owned(),
    })
}

/// Run the chosen benchmarks: their tables, and what could not run.
fn run_benches(ctx: &Ctx, o: &Options, progress: &dyn Fn(&str)) -> (Vec<Section>, Vec<String>) {
    let mut sections = Vec::new();
    let mut errors = Vec::new();
    let mut record = |bench: Bench, result: Result<Vec<Section>, String>| match result {
        Ok(s) => sections.extend(s),
        Err(e) => errors.push(format!("{}: {e}", bench.name())),
    };
    if o.runs(Bench::Startup) {
        progress(&format!(
            "start-up: {} runs of each command",
            o.startup_runs
        ));
        record(
            Bench::Startup,
            startup::run(ctx, o.startup_runs).map(|s| vec![s]),
        );
    }
    let python = o.runs(Bench::Baseline).then(|| {
        progress("baseline: preparing the Python SDK's venv");
        baseline::prepare(ctx)
    });
    if o.runs(Bench::Throughput) || o.runs(Bench::Baseline) {
        let sizes = if o.runs(Bench::Throughput) {
            o.sizes.clone()
        } else {
            Vec::new()
        };
        let baseline = python.as_ref().map(|p| (o.baseline_size, p.clone()));
        record(
            Bench::Throughput,
            throughput::run(ctx, &sizes, o.repeat, baseline, progress),
        );
    }
    if o.runs(Bench::RateLimit) {
        progress(&format!(
            "rate-limit ceiling: a {} s backfill",
            o.ratelimit_secs
        ));
        record(
            Bench::RateLimit,
            ratelimit::ceiling(ctx, Duration::from_secs(o.ratelimit_secs)).map(|s| vec![s]),
        );
    }
    if o.runs(Bench::Unannounced) {
        progress(&format!(
            "a limit announced only by 429s: {} backfills",
            o.unannounced_runs
        ));
        record(
            Bench::Unannounced,
            ratelimit::unannounced(
                ctx,
                o.unannounced_runs,
                if o.smoke { 60 } else { 600 },
                o.latency_cap.max(Duration::from_secs(120)),
            )
            .map(|s| vec![s]),
        );
    }
    if o.runs(Bench::Latency) {
        progress(&format!(
            "latency-bound backfills at {:?} ms per request",
            o.latencies
        ));
        record(
            Bench::Latency,
            ratelimit::latency(ctx, &o.latencies, o.latency_cap).and_then(|s| {
                Ok(vec![
                    s,
                    ratelimit::first_poll(ctx, o.latency_cap)?,
                    ratelimit::own_limits(ctx, &o.latencies, o.latency_cap)?,
                ])
            }),
        );
    }
    if o.runs(Bench::Platform) {
        progress("platform: raw requests and a first poll through RabbitMQ and sailor");
        record(Bench::Platform, platform::run(ctx, o.smoke));
    }
    if o.runs(Bench::Late) {
        progress("late records: days of 1M events a day, simulated");
        record(Bench::Late, late::run(ctx, o.smoke, o.release));
    }
    (sections, errors)
}

/// `/proc/loadavg`'s three numbers.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which machine this is: cores, CPU, memory, load.
fn machine() -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    vec![
        format!("machine: {cores} cores (nproc), {cpu}, {mem_gib:.0} GiB RAM"),
        format!("load average at the start: {}", load_average()),
    ]
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        let o = Options::parse(&[]).expect("no arguments");
        assert!(!o.smoke && o.release);
        assert_eq!(o.sizes, [10_000, 100_000, 1_000_000]);
        let args: Vec<String> = ["--smoke", "--only", "startup,ratelimit", "--sizes", "1k,2m"]
            .map(str::to_owned)
            .to_vec();
        let o = Options::parse(&args).expect("valid");
        assert!(o.smoke && !o.release);
        assert_eq!(o.only, [Bench::Startup, Bench::RateLimit]);
        assert_eq!(o.sizes, [1_000, 2_000_000]);
        assert!(Options::parse(&["--only".to_owned(), "nope".to_owned()]).is_err());
        assert!(Options::parse(&["--runs".to_owned()]).is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(mib(3 * 1024 * 1024), "3.0 MiB");
    }

    /// The smoke version of every benchmark runs and gives well-formed
    /// rows. It checks no timing: benchmarks report, they do not judge.
    #[test]
    fn smoke_run_gives_a_well_formed_row_per_benchmark() {
        let root = crate::workspace_root();
        let report = run(&root, &Options::smoke(), "cargo xtask bench --smoke", false)
            .unwrap_or_else(|e| panic!("bench --smoke: {e}"));
        assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
        for bench in Bench::ALL {
            let sections: Vec<&Section> = report
                .sections
                .iter()
                .filter(|s| s.bench == bench)
                .collect();
            assert!(!sections.is_empty(), "no table for {}", bench.name());
            for s in sections {
                s.check()
                    .unwrap_or_else(|e| panic!("{e}\n{}", report.markdown()));
            }
        }
    }
}
