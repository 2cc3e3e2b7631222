//! Running cargo from a chore: the `cargo` that started us, and where it
//! puts what it builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `cargo build` arguments for the two programs every chore runs: the
/// runner and the Klaviyo stand-in.
pub(crate) const RUNNER_AND_STAND_IN: [&str; 8] = [
    "--package",
    "runner",
    "--bin",
    "klaviyo-runner",
    "--package",
    "klaviyo-fake",
    "--bin",
    "klaviyo-fake",
];

/// The `cargo` that runs this chore (`$CARGO`), or the one on the `PATH`.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace's target directory, wherever `CARGO_TARGET_DIR` or a
/// config file puts it.
pub(crate) fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let out = Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let meta: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".to_owned())
}
