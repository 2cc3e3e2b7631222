//! Real sailor processes: `node node_modules/elasticio-sailor-nodejs/run.js`
//! (one flow step, long-lived) and `runService.js` (one service call), run
//! from the repository root as the platform's image does.
//!
//! Each runs in a process group of its own, so that stopping it also stops
//! the `klaviyo-runner` it may be running, as a stopped container would.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use crate::Unavailable;

/// What sailor logs once it consumes (sailor `run.js`).
pub const READY: &str = "Fully initialized and waiting for messages";

const SAILOR_DIR: &str = "node_modules/elasticio-sailor-nodejs";

/// The module the image preloads into sailor (Dockerfile `NODE_OPTIONS`):
/// TCP_NODELAY on sailor's AMQP sockets. The harness preloads it the same
/// way, so the tests and the bench run sailor as the image does.
pub const PRELOAD: &str = "platform/elasticio/amqp-nodelay.js";

/// Whether `node` runs and sailor is installed under `root`.
pub fn available(root: &Path) -> Result<(), Unavailable> {
    match Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(Unavailable::Node(format!("`node --version` failed ({s})"))),
        Err(e) => return Err(Unavailable::Node(format!("`node` cannot be run: {e}"))),
    }
    let run = root.join(SAILOR_DIR).join("run.js");
    if !run.is_file() {
        return Err(Unavailable::Node(format!("{} is missing", run.display())));
    }
    Ok(())
}

/// Lines a process wrote, stdout and stderr interleaved as read.
pub type Log = Arc<Mutex<Vec<String>>>;

fn lock(log: &Log) -> std::sync::MutexGuard<'_, Vec<String>> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn collect(stream: impl Read + Send + 'static, log: Log) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => lock(&log).push(line),
                Err(_) => break,
            }
        }
    })
}

fn command(root: &Path, script: &str, args: &[&str], env: &BTreeMap<String, String>) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(root.join(SAILOR_DIR).join(script))
        .args(args)
        .current_dir(root)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if !env.contains_key("NODE_OPTIONS") {
        cmd.env(
            "NODE_OPTIONS",
            format!("--require {}", root.join(PRELOAD).display()),
        );
    }
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Ok(v) = std::env::var(keep)
            && !env.contains_key(keep)
        {
            cmd.env(keep, v);
        }
    }
    cmd
}

/// A running `run.js`. Dropping it kills its process group.
pub struct Sailor {
    child: Option<Child>,
    log: Log,
    readers: Vec<std::thread::JoinHandle<()>>,
    label: String,
}

impl std::fmt::Debug for Sailor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sailor({})", self.label)
    }
}

impl Sailor {
    /// Starts `run.js` with exactly `env` (plus PATH and HOME).
    pub fn spawn(
        root: &Path,
        label: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<Sailor, String> {
        let mut child = command(root, "run.js", &[], env)
            .spawn()
            .map_err(|e| format!("cannot start sailor: {e}"))?;
        let log: Log = Arc::default();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, log.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, log.clone()));
        }
        Ok(Sailor {
            child: Some(child),
            log,
            readers,
            label: label.to_owned(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Every line sailor (and the runners' logs through it) wrote so far.
    pub fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        log[log.len().saturating_sub(20)..].join("\n")
    }

    /// `Err` with its last lines once the process has exited.
    pub fn alive(&mut self) -> Result<(), String> {
        let status = match self.child.as_mut() {
            None => Some(None),
            Some(c) => c.try_wait().ok().flatten().map(Some),
        };
        match status {
            None => Ok(()),
            Some(status) => {
                // Let the readers catch the last lines.
                std::thread::sleep(Duration::from_millis(50));
                Err(format!(
                    "sailor {} exited ({}); its last lines:\n{}",
                    self.label,
                    status.map_or_else(|| "stopped".to_owned(), |s| s.to_string()),
                    self.log_tail()
                ))
            }
        }
    }

    /// Waits for sailor's "Fully initialized" line.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        self.wait_for_line(READY, limit)
    }

    /// Waits until a line containing `needle` was logged.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Result<(), String> {
        self.wait_for_lines(needle, 1, limit)
    }

    /// How many lines containing `needle` were logged so far.
    pub fn count_lines(&self, needle: &str) -> usize {
        lock(&self.log)
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until `n` lines containing `needle` were logged.
    pub fn wait_for_lines(
        &mut self,
        needle: &str,
        n: usize,
        limit: Duration,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if self.count_lines(needle) >= n {
                return Ok(());
            }
            self.alive()?;
            if started.elapsed() > limit {
                return Err(format!(
                    "sailor {} did not log {needle:?} within {} s; its last lines:\n{}",
                    self.label,
                    limit.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The `klaviyo-runner` processes this sailor is running now.
    pub fn runners(&self) -> Vec<u32> {
        self.pid()
            .map(crate::rabbit::descendants)
            .unwrap_or_default()
            .into_iter()
            .filter(|pid| {
                crate::rabbit::command_name(*pid).is_some_and(|c| c.starts_with("klaviyo-runner"))
            })
            .collect()
    }

    /// SIGTERM to sailor alone, as the platform (through tini) stops it.
    pub fn terminate(&self) {
        if let Some(pid) = self.pid() {
            crate::rabbit::signal(pid, "TERM");
        }
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let started = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.join_readers();
                return Ok(status);
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "sailor {} did not exit within {} s; its last lines:\n{}",
                    self.label,
                    limit.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL to the whole group: sailor and any runner it started, as
    /// when a container is killed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        self.join_readers();
    }

    /// Once the process is gone: the readers reach the end of its pipes.
    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Sailor {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A finished `runService.js`.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    pub status: ExitStatus,
    pub log: Vec<String>,
}

/// Runs `runService.js METHOD` to its end (killed after `limit`).
pub fn run_service(
    root: &Path,
    method: &str,
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Result<ServiceRun, String> {
    let mut child = command(root, "runService.js", &[method], env)
        .spawn()
        .map_err(|e| format!("cannot start runService.js: {e}"))?;
    let log: Log = Arc::default();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(collect(out, log.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(collect(err, log.clone()));
    }
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            return Err(format!(
                "runService.js {method} did not finish within {} s:\n{}",
                limit.as_secs(),
                lock(&log).join("\n")
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for r in readers {
        let _ = r.join();
    }
    let log = lock(&log).clone();
    Ok(ServiceRun { status, log })
}

/// The runner binary next to a cargo-built program, for the harness's own
/// binary (tests get theirs from cargo).
pub fn sibling_runner(exe: &Path) -> PathBuf {
    exe.with_file_name("klaviyo-runner")
}
