//! Adding an action is its module (an `impl Action`), its entry in
//! component.json with its entry point in platform/elasticio/actions, and
//! its one line in the registry, `step: &Act(…)` (docs/actions.md, "Adding
//! an action"). Each piece without the others fails here, saying which is
//! missing; component.json's ids against the registry's are
//! `component_json_and_the_code_agree`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use klaviyo_component::COMPONENT;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let text = read(&path);
            out.push((path, text));
        }
    }
}

/// The types that implement `Action`: `impl Action for DeleteObject`.
fn actions(sources: &[(PathBuf, String)]) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for (path, text) in sources {
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("impl Action for ") {
                let name = rest.trim_end_matches('{').trim().to_owned();
                found.insert(name, path.clone());
            }
        }
    }
    found
}

/// The registry's functions: each `id: "…"` with the `step: &…` after it.
fn registry_steps(registry: &str) -> BTreeMap<String, String> {
    let mut steps = BTreeMap::new();
    let mut id: Option<String> = None;
    for line in registry.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("id: \"") {
            id = rest.split('"').next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("step: &")
            && let Some(id) = id.take()
        {
            steps.insert(id, rest.trim_end_matches(',').to_owned());
        }
    }
    steps
}

/// The type an adapter line names: `Act(delete::DeleteObject)` and
/// `Act(Change::Add)` name `DeleteObject` and `Change`.
fn adapted<'a>(step: &'a str, actions: &BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let inner = step.strip_prefix("Act(")?.strip_suffix(')')?;
    inner
        .split("::")
        .find(|segment| actions.contains_key(*segment))
}

#[test]
fn every_action_has_its_module_its_entry_and_its_adapter() {
    let root = root();
    let component: Value =
        serde_json::from_str(COMPONENT.component_json).expect("component.json is JSON");
    let declared = component["actions"]
        .as_object()
        .expect("component.json has actions");
    let mut files = Vec::new();
    sources(&root.join("crates/klaviyo-component/src"), &mut files);
    let actions = actions(&files);
    let steps = registry_steps(&read(
        &root.join("crates/klaviyo-component/src/registry.rs"),
    ));
    let mut docs = String::new();
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "md") {
            docs.push_str(&read(&path));
        }
    }
    let headings: Vec<&str> = docs.lines().filter(|l| l.starts_with('#')).collect();

    let mut problems = Vec::new();
    let mut adapted_types = Vec::new();
    for (id, action) in declared {
        match steps.get(id) {
            None => problems.push(format!(
                "action '{id}' is in component.json but registry.rs has no `id: \"{id}\"` with a `step:`"
            )),
            Some(step) => match adapted(step, &actions) {
                Some(name) => adapted_types.push(name.to_owned()),
                None => problems.push(format!(
                    "action '{id}' runs `{step}`, which is not `Act(…)` of a type with `impl Action`: give it a module with `impl Action for …` and the registry line `step: &Act(…)`"
                )),
            },
        }
        let main = action["main"].as_str().unwrap_or_default();
        let entry = root.join(main);
        let wanted = format!("require('../runner').step('{id}')");
        match std::fs::read_to_string(&entry) {
            Ok(text) if text.contains(&wanted) => {}
            Ok(_) => problems.push(format!(
                "action '{id}': its main {main} does not call {wanted}"
            )),
            Err(_) => problems.push(format!(
                "action '{id}': its main {main:?} is not there: copy platform/elasticio/actions/deleteObject.js with its id"
            )),
        }
        let title = action["title"].as_str().unwrap_or_default();
        if !headings
            .iter()
            .any(|h| h.contains(&format!("`{id}`")) || (!title.is_empty() && h.contains(title)))
        {
            problems.push(format!(
                "action '{id}' ({title}) has no section in docs/: add one to docs/actions.md"
            ));
        }
    }
    for (name, path) in &actions {
        if !adapted_types.contains(name) {
            problems.push(format!(
                "{} implements Action for {name}, but no action in component.json runs `Act({name})`: add its entry and its registry line",
                path.strip_prefix(&root).unwrap_or(path).display()
            ));
        }
    }
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn the_check_sees_a_missing_piece() {
    let actions: BTreeMap<String, PathBuf> = [("DeleteObject", "delete.rs"), ("Change", "m.rs")]
        .into_iter()
        .map(|(n, p)| (n.to_owned(), PathBuf::from(p)))
        .collect();
    let steps = registry_steps(
        "Function {\n    id: \"deleteObject\",\n    step: &Act(delete::DeleteObject),\n}\nFunction {\n    id: \"addProfilesToList\",\n    step: &Act(Change::Add),\n}\nFunction {\n    id: \"poll\",\n    step: &polling::PollingTrigger,\n}",
    );
    assert_eq!(steps.len(), 3);
    assert_eq!(
        adapted(&steps["deleteObject"], &actions),
        Some("DeleteObject")
    );
    assert_eq!(
        adapted(&steps["addProfilesToList"], &actions),
        Some("Change")
    );
    assert_eq!(adapted(&steps["poll"], &actions), None, "not through Act");
    assert_eq!(
        adapted("Act(upsert::UpsertObject)", &actions),
        None,
        "no impl"
    );
    let impls = self::actions(&[(
        PathBuf::from("x.rs"),
        "impl Action for DeleteObject {\n".to_owned(),
    )]);
    assert!(impls.contains_key("DeleteObject"));
}
