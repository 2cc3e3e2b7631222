//! The component: `component.json` and the code behind every id in it.

use serde_json::Value;

use crate::step::{DynStep, LocalBoxFuture};
use crate::{Config, Env, Error};

/// A select-model method: the options of a `SelectView`, from the current
/// configuration.
pub type SelectModelFn = fn(&Config) -> Result<SelectModel, Error>;

/// A dynamic-metadata method (`getMetaModel`).
pub type MetaModelFn = fn(&Config) -> Result<MetaModel, Error>;

/// The options of a select field, in the order the UI shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectModel(pub Vec<(String, String)>);

impl SelectModel {
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for SelectModel {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> SelectModel {
        SelectModel(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The JSON schemas of a step's input and output.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaModel {
    pub input: Value,
    pub output: Value,
}

/// The outcome of a credential check that could be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The credentials work; `note` is what the user should still know
    /// (for example that the API version they chose is retired).
    Verified { note: Option<String> },
    /// The credentials do not work; the reason tells the user what to fix.
    Rejected { reason: String },
}

/// `verifyCredentials`: the one service hook that awaits a remote answer.
pub type VerifyFn =
    for<'a> fn(&'a Config, &'a Env) -> LocalBoxFuture<'a, Result<Verification, Error>>;

/// One trigger or action of the component, with its service methods.
pub struct Function {
    /// The id under `triggers` or `actions` in `component.json`.
    pub id: &'static str,
    pub step: &'static dyn DynStep,
    /// The select-model methods, by the name `component.json` uses as a
    /// field's `model`.
    pub select_models: &'static [(&'static str, SelectModelFn)],
    /// `getMetaModel`, for steps declared with `dynamicMetadata`.
    pub meta_model: Option<MetaModelFn>,
    /// Metadata derived from Rust types, which `component.json` must repeat
    /// verbatim, for steps declared with static `metadata`.
    pub static_metadata: Option<fn() -> MetaModel>,
}

impl Function {
    /// The select-model method called `name`.
    pub fn select_model(&self, name: &str) -> Option<SelectModelFn> {
        self.select_models
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// A component: its descriptor and the code behind it.
pub struct Component {
    /// The text of `component.json`.
    pub component_json: &'static str,
    /// Every trigger and action.
    pub functions: &'static [Function],
    /// Check the credentials in `cfg` (the `verifyCredentials` service
    /// call). An `Err` means the check itself could not be completed.
    pub verify_credentials: VerifyFn,
}

impl Component {
    /// The function with this id.
    pub fn function(&self, id: &str) -> Option<&'static Function> {
        self.functions.iter().find(|f| f.id == id)
    }
}
