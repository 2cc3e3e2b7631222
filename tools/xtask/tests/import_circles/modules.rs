//! A crate's modules read from its source, and the imports between their
//! files: every `use`, every path through `crate::`, `super::`, `self::`
//! or a child module, in code and in macro arguments, resolved to the file
//! of the module that defines the name (following re-exports).
//!
//! A module's reference to one of its own ancestors (a child's
//! `super::Ctx`, `crate::Config` defined in lib.rs) is no edge: a parent
//! declares its children and may hand them shared items, and that is the
//! module tree itself, not a circle. A name an ancestor only re-exports is
//! followed to where it is defined, so a circle cannot hide behind a
//! `pub use`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;

use super::graph::Graph;

/// One module: its node, the modules it declares and the names its `use`
/// items bind.
#[derive(Debug, Default)]
struct Module {
    /// Its file, or for an inline module (`mod exit { … }`) the file and
    /// its path inside it (`src/lib.rs::exit`): a parent's inline module
    /// that a child uses is a sibling of that child, not the parent.
    node: String,
    children: BTreeSet<String>,
    /// Bound name → the path it stands for, as written.
    bindings: BTreeMap<String, Vec<String>>,
    /// Paths it names, as written.
    refs: Vec<Vec<String>>,
}

/// One crate (a library or a binary): its modules by path (`[]` is the
/// root).
#[derive(Debug, Default)]
pub(crate) struct Crate {
    modules: BTreeMap<Vec<String>, Module>,
}

/// Reads the source files a crate is made of.
pub(crate) trait Source {
    /// The text of `path`, or `None` when there is no such file.
    fn read(&self, path: &Path) -> Option<String>;
}

/// The files on disk, named relative to `root`.
pub(crate) struct Disk<'a> {
    pub root: &'a Path,
}

impl Source for Disk<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }
}

impl Crate {
    /// The crate whose root file is `root` (e.g. `tools/x/src/lib.rs`);
    /// `Err` names a file that does not parse or a `mod` without a file.
    pub(crate) fn read(src: &dyn Source, root: &Path) -> Result<Crate, String> {
        let mut krate = Crate::default();
        let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
        krate.read_file(src, root, Vec::new(), &dir)?;
        Ok(krate)
    }

    /// The module `path` written in `file`; its own `mod x;` files are
    /// looked for in `dir`.
    fn read_file(
        &mut self,
        src: &dyn Source,
        file: &Path,
        path: Vec<String>,
        dir: &Path,
    ) -> Result<(), String> {
        let name = file.to_string_lossy().into_owned();
        let text = src
            .read(file)
            .ok_or_else(|| format!("{name}: no such file (declared by `mod`)"))?;
        let ast = syn::parse_file(&text).map_err(|e| format!("{name}: does not parse: {e}"))?;
        self.read_items(src, &ast.items, path, &name, dir, file)
    }

    /// The items of module `path`, written in `file` and drawn as `node`.
    fn read_items(
        &mut self,
        src: &dyn Source,
        items: &[syn::Item],
        path: Vec<String>,
        node: &str,
        dir: &Path,
        file: &Path,
    ) -> Result<(), String> {
        let mut module = Module {
            node: node.to_owned(),
            ..Module::default()
        };
        let mut nested = Vec::new();
        for item in items {
            match item {
                syn::Item::Mod(m) => {
                    let child = m.ident.to_string();
                    module.children.insert(child.clone());
                    nested.push((child, m));
                }
                syn::Item::Use(u) if u.leading_colon.is_none() => {
                    for (full, bound) in expand(&u.tree, Vec::new()) {
                        if let Some(bound) = bound {
                            module.bindings.insert(bound, full.clone());
                        }
                        module.refs.push(full);
                    }
                }
                _ => {
                    let mut c = Collector::default();
                    c.visit_item(item);
                    module.refs.extend(c.refs);
                }
            }
        }
        self.modules.insert(path.clone(), module);
        for (child, m) in nested {
            let mut child_path = path.clone();
            child_path.push(child.clone());
            let given = path_attr(&m.attrs);
            match &m.content {
                Some((_, items)) => {
                    let child_dir = dir.join(&child);
                    let child_node = format!("{node}::{child}");
                    self.read_items(src, items, child_path, &child_node, &child_dir, file)?;
                }
                None => {
                    let (child_file, child_dir) = match given {
                        Some(p) => {
                            let base = file.parent().unwrap_or(Path::new(""));
                            let f = base.join(p);
                            let d = f.parent().unwrap_or(Path::new("")).to_path_buf();
                            (f, d)
                        }
                        None => find_child(src, dir, &child),
                    };
                    self.read_file(src, &child_file, child_path, &child_dir)?;
                }
            }
        }
        Ok(())
    }

    /// Adds this crate's edges between files to `graph`.
    pub(crate) fn edges(&self, graph: &mut Graph) {
        for (at, module) in &self.modules {
            for written in &module.refs {
                let Some((target, name)) = self.resolve(at, written) else {
                    continue;
                };
                // An ancestor (or the module itself) is the tree, not an
                // import: see the module comment.
                if at.starts_with(&target) {
                    continue;
                }
                graph.add(&module.node, &self.modules[&target].node, &name);
            }
        }
    }

    /// The module that defines what `written` names in module `at`, and
    /// the name taken; `None` for a path outside the crate.
    fn resolve(&self, at: &[String], written: &[String]) -> Option<(Vec<String>, String)> {
        let mut path = self.absolute(at, written, 0)?;
        // Follow re-exports, a few steps at most (a re-export of a
        // re-export), never round a loop of them.
        for _ in 0..8 {
            let (module, rest) = self.longest_module(&path);
            let Some(first) = rest.first() else {
                let name = module.last().cloned().unwrap_or_else(|| "crate".to_owned());
                return Some((module, name));
            };
            let Some(bound) = self.modules[&module].bindings.get(first) else {
                return Some((module, first.clone()));
            };
            let Some(mut next) = self.absolute(&module, bound, 0) else {
                // Re-exported from another crate: defined there.
                return Some((module, first.clone()));
            };
            next.extend(rest[1..].iter().cloned());
            if next == path {
                return Some((module, first.clone()));
            }
            path = next;
        }
        let (module, rest) = self.longest_module(&path);
        let name = rest.first().cloned().unwrap_or_default();
        Some((module, name))
    }

    /// `written`, seen from module `at`, as a path from the crate root;
    /// `None` when it starts outside the crate (another crate, `std`).
    fn absolute(&self, at: &[String], written: &[String], depth: usize) -> Option<Vec<String>> {
        let first = written.first()?;
        let mut base: Vec<String> = at.to_vec();
        let mut rest = written;
        match first.as_str() {
            "crate" => {
                base.clear();
                rest = &written[1..];
            }
            "self" => rest = &written[1..],
            "super" => {
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
            }
            _ => {
                let module = self.modules.get(at)?;
                if module.children.contains(first) {
                } else if let Some(bound) = module
                    .bindings
                    .get(first)
                    .filter(|b| b.as_slice() != written)
                {
                    if depth > 8 {
                        return None;
                    }
                    let mut path = self.absolute(at, bound, depth + 1)?;
                    path.extend(written[1..].iter().cloned());
                    return Some(path);
                } else {
                    return None;
                }
            }
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The longest leading part of `path` that is a module, and the rest.
    fn longest_module<'p>(&self, path: &'p [String]) -> (Vec<String>, &'p [String]) {
        for n in (0..=path.len()).rev() {
            if self.modules.contains_key(&path[..n]) {
                return (path[..n].to_vec(), &path[n..]);
            }
        }
        (Vec::new(), path)
    }
}

/// `dir/name.rs` or `dir/name/mod.rs` (whichever exists), and the folder
/// its own children are in.
fn find_child(src: &dyn Source, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let flat = dir.join(format!("{name}.rs"));
    if src.read(&flat).is_some() {
        return (flat, dir.join(name));
    }
    (dir.join(name).join("mod.rs"), dir.join(name))
}

/// The value of a `#[path = "…"]` attribute.
fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Each path a `use` tree names, with the name it binds (none for a
/// glob).
fn expand(tree: &syn::UseTree, prefix: Vec<String>) -> Vec<(Vec<String>, Option<String>)> {
    let named = |ident: &syn::Ident, bound: Option<String>| {
        let ident = ident.to_string();
        let mut full = prefix.clone();
        if ident == "self" {
            let bound = bound.or_else(|| full.last().cloned());
            return vec![(full, bound)];
        }
        full.push(ident.clone());
        vec![(full, Some(bound.unwrap_or(ident)))]
    };
    match tree {
        syn::UseTree::Path(p) => {
            let mut prefix = prefix.clone();
            prefix.push(p.ident.to_string());
            expand(&p.tree, prefix)
        }
        syn::UseTree::Name(n) => named(&n.ident, None),
        syn::UseTree::Rename(r) => named(&r.ident, Some(r.rename.to_string())),
        syn::UseTree::Glob(_) => vec![(prefix, None)],
        syn::UseTree::Group(g) => g
            .items
            .iter()
            .flat_map(|t| expand(t, prefix.clone()))
            .collect(),
    }
}

/// The paths of two or more segments an item names, macro arguments
/// included; a nested `mod` is read as its own module.
#[derive(Default)]
struct Collector {
    refs: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if u.leading_colon.is_none() {
            self.refs
                .extend(expand(&u.tree, Vec::new()).into_iter().map(|(p, _)| p));
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            self.refs
                .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        scan_tokens(m.tokens.clone(), &mut self.refs);
    }

    // `pub(in crate::x)` names an ancestor by rule: no import.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
}

/// Paths `a::b…` in a macro's tokens (which syn leaves unparsed).
fn scan_tokens(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_colons = |i: usize| {
        matches!((tokens.get(i), tokens.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => {
                scan_tokens(g.stream(), out);
                i += 1;
            }
            TokenTree::Ident(first) if !(i > 0 && is_colons(i.saturating_sub(2))) => {
                let mut path = vec![first.to_string()];
                let mut j = i + 1;
                while is_colons(j) {
                    match tokens.get(j + 2) {
                        Some(TokenTree::Ident(next)) => {
                            path.push(next.to_string());
                            j += 3;
                        }
                        _ => break,
                    }
                }
                if path.len() > 1 {
                    out.push(path);
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files given as text.
    struct Files(BTreeMap<PathBuf, String>);

    impl Source for Files {
        fn read(&self, path: &Path) -> Option<String> {
            self.0.get(path).cloned()
        }
    }

    fn circles(files: &[(&str, &str)]) -> Vec<Vec<String>> {
        let src = Files(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
                .collect(),
        );
        let krate = Crate::read(&src, Path::new("src/lib.rs")).expect("reads");
        let mut g = Graph::default();
        krate.edges(&mut g);
        g.circles()
    }

    #[test]
    fn two_siblings_that_use_each_other_are_a_circle() {
        let found = circles(&[
            ("src/lib.rs", "mod a; mod b;"),
            ("src/a.rs", "use crate::b::Y; pub struct X;"),
            (
                "src/b.rs",
                "pub struct Y; fn f() -> super::a::X { todo!() }",
            ),
        ]);
        assert_eq!(found, vec![vec!["src/a.rs", "src/b.rs"]]);
    }

    #[test]
    fn a_child_leaning_on_its_parent_is_no_circle() {
        let found = circles(&[
            ("src/lib.rs", "mod bench;"),
            (
                "src/bench/mod.rs",
                "mod one; pub struct Ctx; fn run() { one::run(); }",
            ),
            ("src/bench/one.rs", "use super::Ctx; pub fn run() {}"),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_circle_behind_a_re_export_is_found() {
        let found = circles(&[
            ("src/lib.rs", "mod a; mod store; pub use store::Store;"),
            ("src/a.rs", "use crate::Store; pub struct Job;"),
            ("src/store/mod.rs", "mod records; pub use records::Store;"),
            (
                "src/store/records.rs",
                "pub struct Store { jobs: Vec<crate::a::Job> }",
            ),
        ]);
        assert_eq!(found, vec![vec!["src/a.rs", "src/store/records.rs"]]);
    }

    #[test]
    fn paths_in_macros_aliases_and_block_uses_count() {
        let found = circles(&[
            ("src/lib.rs", "mod a; mod b; mod c;"),
            ("src/a.rs", "fn f() { let _ = vec![crate::b::one()]; }"),
            (
                "src/b.rs",
                "use crate::c as other; pub fn one() { other::two() }",
            ),
            ("src/c.rs", "pub fn two() { use crate::a; }"),
        ]);
        assert_eq!(found, vec![vec!["src/a.rs", "src/b.rs", "src/c.rs"]]);
    }

    #[test]
    fn other_crates_and_inline_test_modules_resolve_as_written() {
        let found = circles(&[
            ("src/lib.rs", "mod a; mod b;"),
            (
                "src/a.rs",
                "use std::fmt::Write; use serde_json::Value; pub fn f() {}",
            ),
            (
                "src/b.rs",
                "pub fn g() { crate::a::f() } mod tests { use super::g; use crate::a::f; }",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_parents_inline_module_is_a_sibling_of_the_child_that_uses_it() {
        let found = circles(&[
            (
                "src/lib.rs",
                "mod process; pub mod exit { pub const OK: u8 = 0; } fn main() { process::run() }",
            ),
            ("src/process.rs", "pub fn run() -> u8 { crate::exit::OK }"),
        ]);
        assert!(found.is_empty(), "{found:?}");
        let found = circles(&[
            (
                "src/lib.rs",
                "mod process; pub mod exit { pub fn code() -> u8 { crate::process::CODE } }",
            ),
            (
                "src/process.rs",
                "pub const CODE: u8 = 0; pub fn run() -> u8 { crate::exit::code() }",
            ),
        ]);
        assert_eq!(found, vec![vec!["src/lib.rs::exit", "src/process.rs"]]);
    }

    #[test]
    fn a_missing_module_file_is_an_error_naming_it() {
        let src = Files(BTreeMap::from([(
            PathBuf::from("src/lib.rs"),
            "mod gone;".to_owned(),
        )]));
        let err = Crate::read(&src, Path::new("src/lib.rs")).expect_err("no file");
        assert!(err.contains("src/gone/mod.rs"), "{err}");
    }
}
