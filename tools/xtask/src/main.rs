//! Repository chores:
//! - `cargo xtask codegen [--check]`: writes (or checks) `klaviyo-spec`'s
//!   table of Klaviyo's list endpoints, writes and gets by id from Klaviyo's
//!   official OpenAPI files.
//! - `cargo xtask demo`: runs the component against the local stand-in.
//! - `cargo xtask bench [--smoke]`: the benchmarks (docs/performance.md).

mod bench;
mod cargo;
mod demo;
mod http;
mod json;
mod openapi;
mod platform;
mod render;
mod schema;
mod standin;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask codegen [--check] | cargo xtask demo [--platform] | cargo xtask bench [--smoke]\n\
    \n\
    Reads every stable.json in $KLAVIYO_OPENAPI_DIR (default ../shared/klaviyo-openapi\n\
    beside the workspace) and its subdirectories, and writes\n\
    crates/klaviyo-spec/src/generated.rs and crates/klaviyo-spec/src/schemas/<revision>{,.requests,.returned}.json.\n\
    --check writes nothing and fails when those files are not what it would write.\n\
    \n\
    demo starts the local Klaviyo stand-in and runs the component against it;\n\
    with --platform, through RabbitMQ and the real elastic.io sailor (docs/platform.md).\n\
    bench runs the benchmarks and prints a table (`cargo xtask bench --help`).";

/// Where the generated files live, relative to the workspace root.
const GENERATED_RS: &str = "crates/klaviyo-spec/src/generated.rs";
const SCHEMAS_DIR: &str = "crates/klaviyo-spec/src/schemas";

#[allow(
    clippy::print_stderr,
    reason = "a command-line tool reports to the person running it"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => return bench::main(&workspace_root(), &args[1..]),
        Some("__bench-measure") => return bench::measure::helper_main(&args[1..]),
        _ => {}
    }
    let check = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["codegen"] => false,
        ["codegen", "--check"] => true,
        ["demo"] => return demo::run(&workspace_root()),
        ["demo", "--platform"] => return platform::run(&workspace_root()),
        ["help" | "--help" | "-h"] => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    let dir = openapi::openapi_dir(&root);
    let outputs = match generate(&dir) {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("codegen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stale = match stale_files(&root, &outputs) {
        Ok(stale) => stale,
        Err(e) => {
            eprintln!("codegen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        for file in &stale {
            eprintln!("stale: {} ({})", file.path, file.reason.describe());
        }
        eprintln!("run `cargo xtask codegen` to update them");
        return ExitCode::FAILURE;
    }
    match write(&root, &outputs, &stale) {
        Ok(()) => {
            for file in &stale {
                let done = match file.reason {
                    Reason::Orphan => "removed",
                    Reason::Differs | Reason::Missing => "wrote",
                };
                eprintln!("{done} {}", file.path);
            }
            if stale.is_empty() {
                eprintln!("up to date");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("codegen failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // tools/xtask -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// One generated file: path relative to the workspace root, with `/`.
struct Output {
    path: String,
    contents: String,
}

/// Every generated file, from the OpenAPI files in `dir`.
fn generate(dir: &Path) -> Result<Vec<Output>, String> {
    let files = openapi::load_all(dir)?;
    let revisions = files
        .iter()
        .map(table::revision)
        .collect::<Result<Vec<_>, _>>()?;
    let mut outputs = vec![Output {
        path: GENERATED_RS.to_owned(),
        contents: render::rust_table(&revisions),
    }];
    for revision in &revisions {
        outputs.push(Output {
            path: format!("{SCHEMAS_DIR}/{}.json", revision.revision),
            contents: render::schemas_json(revision),
        });
        outputs.push(Output {
            path: format!(
                "{SCHEMAS_DIR}/{}{}",
                revision.revision,
                render::REQUESTS_SUFFIX
            ),
            contents: render::request_schemas_json(revision)?,
        });
        outputs.push(Output {
            path: format!(
                "{SCHEMAS_DIR}/{}{}",
                revision.revision,
                render::RETURNED_SUFFIX
            ),
            contents: render::returned_schemas_json(revision),
        });
    }
    Ok(outputs)
}

struct Stale {
    path: String,
    reason: Reason,
}

#[derive(Debug, PartialEq, Eq)]
enum Reason {
    Differs,
    Missing,
    /// A schema file of a revision no OpenAPI file has any more.
    Orphan,
}

impl Reason {
    fn describe(&self) -> &'static str {
        match self {
            Reason::Differs => "differs from what the generator writes",
            Reason::Missing => "missing",
            Reason::Orphan => "no OpenAPI file produces it",
        }
    }
}

/// The generated files whose committed version differs from `outputs`, and
/// committed schema files that no input produces any more.
fn stale_files(root: &Path, outputs: &[Output]) -> Result<Vec<Stale>, String> {
    let mut stale = Vec::new();
    for output in outputs {
        let path = root.join(&output.path);
        match std::fs::read(&path) {
            Ok(committed) if committed == output.contents.as_bytes() => {}
            Ok(_) => stale.push(Stale {
                path: output.path.clone(),
                reason: Reason::Differs,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => stale.push(Stale {
                path: output.path.clone(),
                reason: Reason::Missing,
            }),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    let schemas = root.join(SCHEMAS_DIR);
    if schemas.is_dir() {
        let entries =
            std::fs::read_dir(&schemas).map_err(|e| format!("{}: {e}", schemas.display()))?;
        let mut extra = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", schemas.display()))?;
            let path = format!("{SCHEMAS_DIR}/{}", entry.file_name().to_string_lossy());
            if path.ends_with(".json") && outputs.iter().all(|o| o.path != path) {
                extra.push(path);
            }
        }
        extra.sort();
        stale.extend(extra.into_iter().map(|path| Stale {
            path,
            reason: Reason::Orphan,
        }));
    }
    Ok(stale)
}

fn write(root: &Path, outputs: &[Output], stale: &[Stale]) -> Result<(), String> {
    for file in stale {
        let path = root.join(&file.path);
        match outputs.iter().find(|o| o.path == file.path) {
            Some(output) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                std::fs::write(&path, &output.contents)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            None => {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed table must be what the generator writes from the files.
    /// A clean clone has no ../shared, so there the check cannot run.
    #[test]
    #[allow(
        clippy::print_stderr,
        reason = "the one-line notice is the point of the skip"
    )]
    fn committed_files_are_up_to_date() {
        let root = workspace_root();
        let dir = openapi::openapi_dir(&root);
        if !dir.is_dir() {
            eprintln!(
                "skipped: the OpenAPI directory {} is absent (set KLAVIYO_OPENAPI_DIR), so the committed table was not compared",
                dir.display()
            );
            return;
        }
        let outputs = generate(&dir).unwrap_or_else(|e| panic!("codegen failed: {e}"));
        let mut problems = Vec::new();
        for output in &outputs {
            let committed = std::fs::read_to_string(root.join(&output.path)).unwrap_or_default();
            if committed != output.contents {
                let line = committed
                    .lines()
                    .zip(output.contents.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| {
                        committed
                            .lines()
                            .count()
                            .min(output.contents.lines().count())
                    })
                    + 1;
                problems.push(format!("{} differs from line {line}", output.path));
            }
        }
        for file in stale_files(&root, &outputs).unwrap_or_else(|e| panic!("{e}")) {
            if file.reason == Reason::Orphan {
                problems.push(format!("{} {}", file.path, file.reason.describe()));
            }
        }
        assert!(
            problems.is_empty(),
            "stale generated files, run `cargo xtask codegen`:\n{}",
            problems.join("\n")
        );
    }

    /// The generator's operator order is the order of `klaviyo_spec::Operator`,
    /// which sorts the generated operator lists.
    #[test]
    fn operators_match_klaviyo_spec() {
        let ours: Vec<&str> = table::Operator::ALL.iter().map(|op| op.name()).collect();
        let theirs: Vec<&str> = klaviyo_spec::Operator::ALL
            .iter()
            .map(|op| op.as_str())
            .collect();
        assert_eq!(ours, theirs);
        let ours: Vec<String> = table::Operator::ALL
            .iter()
            .map(|op| format!("{op:?}"))
            .collect();
        let theirs: Vec<String> = klaviyo_spec::Operator::ALL
            .iter()
            .map(|op| format!("{op:?}"))
            .collect();
        assert_eq!(ours, theirs);
    }
}
