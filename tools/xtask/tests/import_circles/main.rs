//! No crate of the workspace has an import circle between its modules:
//! files that import each other in a loop, directly or round several
//! files. A circle makes a module impossible to read, test or move without
//! the others; the fix is a module both sides import (shared helpers out
//! of a router, a type moved to where its state lives).
//!
//! Every crate under `crates/` and `tools/` is read (each library and each
//! binary is its own crate), from its root file through its `mod`
//! declarations; `modules.rs` says which references are edges.

mod graph;
mod modules;

use std::path::{Path, PathBuf};

use graph::Graph;
use modules::{Crate, Disk};

/// Circles known and being removed elsewhere, each as the sorted files it
/// joins (none today). Any other circle fails the test, and so does an
/// entry whose circle is gone: delete the entry then.
const ALLOWED: &[&[&str]] = &[];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The root files of every crate of the workspace's packages, relative to
/// the workspace root: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs` and
/// `src/bin/*/main.rs`.
fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for group in ["crates", "tools"] {
        let Ok(dir) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        let mut packages: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .map(|e| Path::new(group).join(e.file_name()))
            .filter(|p| root.join(p).join("Cargo.toml").is_file())
            .collect();
        packages.sort();
        for p in packages {
            let src = p.join("src");
            for file in ["lib.rs", "main.rs"] {
                if root.join(&src).join(file).is_file() {
                    out.push(src.join(file));
                }
            }
            let Ok(bins) = std::fs::read_dir(root.join(&src).join("bin")) else {
                continue;
            };
            let mut bins: Vec<PathBuf> = bins
                .filter_map(Result::ok)
                .map(|e| src.join("bin").join(e.file_name()))
                .filter_map(|b| {
                    if b.extension().is_some_and(|x| x == "rs") {
                        Some(b)
                    } else {
                        Some(b.join("main.rs")).filter(|m| root.join(m).is_file())
                    }
                })
                .collect();
            bins.sort();
            out.extend(bins);
        }
    }
    out
}

/// The graph of every crate's files.
fn workspace_graph() -> (Graph, Vec<PathBuf>) {
    let root = workspace_root();
    let roots = crate_roots(&root);
    let disk = Disk { root: &root };
    let mut graph = Graph::default();
    let mut errors = Vec::new();
    for r in &roots {
        match Crate::read(&disk, r) {
            Ok(krate) => krate.edges(&mut graph),
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.is_empty(),
        "cannot read every crate's modules:\n{}",
        errors.join("\n")
    );
    (graph, roots)
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let (graph, _) = workspace_graph();
    let circles = graph.circles();
    let allowed = |c: &Vec<String>| ALLOWED.iter().any(|a| a == c);
    let new: Vec<String> = circles
        .iter()
        .filter(|c| !allowed(c))
        .map(|c| {
            format!(
                "circle of {} files:\n  {}",
                c.len(),
                graph.ties(c).join("\n  ")
            )
        })
        .collect();
    assert!(
        new.is_empty(),
        "modules that import each other in a loop; move what both sides need into a module \
         of its own that neither imports back:\n{}",
        new.join("\n")
    );
    let gone: Vec<String> = ALLOWED
        .iter()
        .filter(|a| !circles.iter().any(|c| c == *a))
        .map(|a| a.join(", "))
        .collect();
    assert!(
        gone.is_empty(),
        "these allowed circles are gone; delete their entries from ALLOWED in {}:\n{}",
        file!(),
        gone.join("\n")
    );
}

/// The check reads what it claims to: every package's crates, and imports
/// that are known to be there.
#[test]
fn the_check_reads_every_crate_and_sees_known_imports() {
    let (graph, roots) = workspace_graph();
    let roots: Vec<String> = roots
        .iter()
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    for expected in [
        "crates/component-sdk/src/lib.rs",
        "crates/klaviyo-component/src/lib.rs",
        "crates/runner/src/main.rs",
        "crates/runner/src/bin/fixture.rs",
        "tools/klaviyo-fake/src/lib.rs",
        "tools/xtask/src/main.rs",
    ] {
        assert!(
            roots.iter().any(|r| r == expected),
            "{expected} not read: {roots:?}"
        );
    }
    let imports = |from: &str, to: &str| {
        graph
            .edges
            .get(from)
            .is_some_and(|tos| tos.contains_key(to))
    };
    assert!(imports(
        "tools/xtask/src/bench/throughput.rs",
        "tools/xtask/src/bench/measure.rs"
    ));
    assert!(imports(
        "tools/klaviyo-fake/src/api.rs",
        "tools/klaviyo-fake/src/state.rs"
    ));
}
