//! `cargo xtask demo --platform`: the component inside the real elastic.io
//! runtime on this machine. Builds klaviyo-runner and tools/sailor-harness,
//! whose `demo` starts a throw-away RabbitMQ, a stub of the platform API,
//! the stand-in as Klaviyo and real sailor processes, publishes a tick and
//! a raw request, prints the decrypted messages and stops everything
//! (docs/platform.md).

use std::path::Path;
use std::process::{Command, ExitCode};

use crate::cargo::{cargo, target_dir};

/// `cargo build` arguments for the runner and the harness.
pub(crate) const RUNNER_AND_HARNESS: [&str; 8] = [
    "--package",
    "runner",
    "--bin",
    "klaviyo-runner",
    "--package",
    "sailor-harness",
    "--bin",
    "sailor-harness",
];

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the demo talks to the person running it"
)]
pub(crate) fn run(root: &Path) -> ExitCode {
    println!(
        "Building klaviyo-runner and the sailor harness (the first build takes a few minutes)…"
    );
    let built = Command::new(cargo())
        .current_dir(root)
        .args(["build", "--quiet"])
        .args(RUNNER_AND_HARNESS)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("demo failed: the build failed");
        return ExitCode::FAILURE;
    }
    if !root
        .join("node_modules/elasticio-sailor-nodejs/run.js")
        .is_file()
    {
        eprintln!(
            "The platform demo runs the real elastic.io sailor, which is not installed:\n\
             install Node.js 20 and run `npm ci` in {}, then try again.",
            root.display()
        );
        return ExitCode::FAILURE;
    }
    let bin = match target_dir(root) {
        Ok(t) => t.join("debug"),
        Err(e) => {
            eprintln!("demo failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = Command::new(bin.join("sailor-harness"))
        .current_dir(root)
        .arg("demo")
        .arg("--runner")
        .arg(bin.join("klaviyo-runner"))
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("demo failed: cannot run sailor-harness: {e}");
            ExitCode::FAILURE
        }
    }
}
