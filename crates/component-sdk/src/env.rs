//! The environment a step runs in.

use std::collections::BTreeMap;

/// The environment variables a step may consult, captured once by the
/// runner. Steps read settings from here rather than from the process so
/// tests can run many steps side by side with different settings.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    pub fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, when set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Set `name`, returning the changed environment (for tests).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Env {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Whether the platform runs the step for "Retrieve Sample"
    /// (`ELASTICIO_FLOW_TYPE=debug`).
    pub fn is_sample_run(&self) -> bool {
        self.get("ELASTICIO_FLOW_TYPE") == Some("debug")
    }
}
