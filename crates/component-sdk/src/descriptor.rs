//! `component.json`: the types, the checks the elastic.io CLI applies
//! (`cmp:validate`), and the check that the file and the code agree.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::{Component, Config};

/// The parts of `component.json` the runner and the checks read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub title: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub docs_url: Option<String>,
    pub build_type: Option<String>,
    pub credentials: Option<Credentials>,
    #[serde(default)]
    pub triggers: BTreeMap<String, FunctionDescriptor>,
    #[serde(default)]
    pub actions: BTreeMap<String, FunctionDescriptor>,
    #[serde(default)]
    pub env_vars: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub fields: BTreeMap<String, Field>,
}

/// One trigger or action.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDescriptor {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `polling` or `webhook`, for triggers.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Field>,
    pub metadata: Option<Metadata>,
    /// `true` for steps that answer `getMetaModel`.
    #[serde(default)]
    pub dynamic_metadata: Option<Value>,
}

/// A configuration field.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub label: Option<String>,
    pub view_class: Option<String>,
    #[serde(default)]
    pub required: Option<Value>,
    /// For select fields: the options, or the name of a select-model method.
    pub model: Option<Value>,
    /// Fields that must be filled before this one's model can be loaded.
    #[serde(default)]
    pub require: Vec<String>,
}

/// Static metadata: the schemas of the step's input and output.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    #[serde(rename = "in")]
    pub input: Option<Value>,
    pub out: Option<Value>,
}

/// The view classes the elastic.io CLI accepts.
pub const VIEW_CLASSES: &[&str] = &[
    "TextFieldView",
    "TextAreaView",
    "CheckBoxView",
    "SelectView",
    "MultiSelectView",
    "PasswordFieldView",
    "OAuthFieldView",
    "TextFieldWithNoteView",
    "CodeFieldView",
    "TextAreaWithNoteView",
    "SelectTreeView",
    "SelectPropertyView",
    "WebHookPayloadView",
    "OutMetadataView",
    "InMetadataExtensionView",
    "CSVReadView",
    "CSVWriteView",
    "JSONataView",
    "RESTAPIView",
    "HTTPAuthView",
    "WebhookAuthView",
];

impl Descriptor {
    pub fn parse(text: &str) -> Result<Descriptor, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The trigger or action with this id, and whether it is a trigger.
    /// Triggers win over actions, as in the platform's own lookup.
    pub fn function(&self, id: &str) -> Option<(&FunctionDescriptor, bool)> {
        self.triggers
            .get(id)
            .map(|f| (f, true))
            .or_else(|| self.actions.get(id).map(|f| (f, false)))
    }

    /// Every trigger and action id, triggers first.
    pub fn function_ids(&self) -> impl Iterator<Item = &str> {
        self.triggers
            .keys()
            .chain(self.actions.keys())
            .map(String::as_str)
    }

    /// Ids of fields whose values are secrets (`PasswordFieldView`), in the
    /// credentials and in every step.
    pub fn secret_fields(&self) -> BTreeSet<&str> {
        let credential_fields = self.credentials.iter().flat_map(|c| c.fields.iter());
        let step_fields = self
            .triggers
            .values()
            .chain(self.actions.values())
            .flat_map(|f| f.fields.iter());
        credential_fields
            .chain(step_fields)
            .filter(|(_, field)| field.view_class.as_deref() == Some("PasswordFieldView"))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// The fields `cfg` carries for `function` (`None`: the credential
    /// check), by id, with their labels: the credential's and the step's.
    pub fn fields_of(&self, function: Option<&str>) -> BTreeMap<&str, &str> {
        let credentials = self.credentials.iter().flat_map(|c| c.fields.iter());
        let steps: Vec<&FunctionDescriptor> = match function {
            Some(id) => self.function(id).map(|(f, _)| f).into_iter().collect(),
            None => self
                .triggers
                .values()
                .chain(self.actions.values())
                .collect(),
        };
        credentials
            .chain(steps.into_iter().flat_map(|f| f.fields.iter()))
            .map(|(id, field)| (id.as_str(), field.label.as_deref().unwrap_or(id)))
            .collect()
    }

    /// A member of `cfg` that is no field of `function` but one edit away
    /// from one, said as what to fix: a typo would otherwise be reported
    /// as the real field missing.
    pub fn misspelled_field(&self, function: Option<&str>, cfg: &Config) -> Option<String> {
        let fields = self.fields_of(function);
        cfg.values().keys().find_map(|given| {
            let meant = crate::config::closest(given, fields.keys().copied())?;
            Some(format!(
                "unknown field `{}` — did you mean `{meant}` ({})?",
                crate::config::shortened(given, 40),
                fields[meant]
            ))
        })
    }

    /// The problems `elasticio cmp:validate` would report, one sentence each.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.title.as_deref().is_none_or(str::is_empty) {
            problems.push("component.json has no title".to_owned());
        }
        if let Some(credentials) = &self.credentials {
            for (id, field) in &credentials.fields {
                check_field("credentials", id, field, &credentials.fields, &mut problems);
                if is_select(field) && !matches!(field.model, Some(Value::Object(_))) {
                    problems.push(format!(
                        "credentials field '{id}': a select field in the credentials needs its options as an object"
                    ));
                }
            }
        }
        let mut seen = BTreeSet::new();
        let all = self
            .triggers
            .iter()
            .map(|(id, f)| ("trigger", id, f))
            .chain(self.actions.iter().map(|(id, f)| ("action", id, f)));
        for (kind, id, function) in all {
            if !valid_id(id) {
                problems.push(format!("{kind} '{id}': ids must match ^[A-Za-z]+[\\w_]*$"));
            }
            if !seen.insert(id.as_str()) {
                problems.push(format!(
                    "{kind} '{id}': the id is used by a trigger and an action; ids must be unique"
                ));
            }
            if function.title.as_deref().is_none_or(str::is_empty) {
                problems.push(format!("{kind} '{id}' has no title"));
            }
            if function.metadata.is_none() && !has_dynamic_metadata(function) {
                problems.push(format!("{kind} '{id}' has no metadata"));
            }
            if let Some(t) = function.kind.as_deref()
                && kind == "trigger"
                && t != "polling"
                && t != "webhook"
            {
                problems.push(format!(
                    "trigger '{id}': type must be \"polling\" or \"webhook\", got {t:?}"
                ));
            }
            let scope = format!("{kind} '{id}'");
            for (field_id, field) in &function.fields {
                check_field(&scope, field_id, field, &function.fields, &mut problems);
            }
        }
        problems
    }

    /// Where `component.json` and the code behind it disagree: an id without
    /// an implementation or the other way round, a select-model method that
    /// does not exist or is never used, dynamic metadata without
    /// `getMetaModel`, or static metadata that differs from the schema the
    /// code derives from its types.
    pub fn check_against(&self, component: &Component) -> Vec<String> {
        let mut problems = Vec::new();
        for id in self.function_ids() {
            let Some((declared, is_trigger)) = self.function(id) else {
                continue;
            };
            let kind = if is_trigger { "trigger" } else { "action" };
            let Some(function) = component.function(id) else {
                problems.push(format!(
                    "{kind} '{id}' is in component.json but has no implementation"
                ));
                continue;
            };
            let mut used = BTreeSet::new();
            for (field_id, field) in &declared.fields {
                if let Some(Value::String(method)) = &field.model {
                    used.insert(method.as_str());
                    if function.select_model(method).is_none() {
                        problems.push(format!(
                            "{kind} '{id}' field '{field_id}': select model method '{method}' is not implemented"
                        ));
                    }
                }
            }
            for (method, _) in function.select_models {
                if !used.contains(method) {
                    problems.push(format!(
                        "{kind} '{id}': select model method '{method}' is implemented but no field uses it"
                    ));
                }
            }
            match (
                has_dynamic_metadata(declared),
                function.meta_model.is_some(),
            ) {
                (true, false) => problems.push(format!(
                    "{kind} '{id}' declares dynamicMetadata but has no getMetaModel"
                )),
                (false, true) => problems.push(format!(
                    "{kind} '{id}' implements getMetaModel but does not declare dynamicMetadata"
                )),
                _ => {}
            }
            match (&declared.metadata, function.static_metadata) {
                (Some(metadata), Some(derive)) => {
                    let derived = derive();
                    if metadata.input.as_ref() != Some(&derived.input) {
                        problems.push(format!(
                            "{kind} '{id}': metadata.in differs from the schema derived from the code: {}",
                            derived.input
                        ));
                    }
                    if metadata.out.as_ref() != Some(&derived.output) {
                        problems.push(format!(
                            "{kind} '{id}': metadata.out differs from the schema derived from the code: {}",
                            derived.output
                        ));
                    }
                }
                (Some(_), None) => problems.push(format!(
                    "{kind} '{id}': static metadata in component.json is not derived from the code"
                )),
                (None, Some(_)) => problems.push(format!(
                    "{kind} '{id}': the code derives static metadata that component.json does not declare"
                )),
                (None, None) => {}
            }
        }
        for function in component.functions {
            if self.function(function.id).is_none() {
                problems.push(format!(
                    "'{}' is implemented but not declared in component.json",
                    function.id
                ));
            }
        }
        problems
    }
}

fn has_dynamic_metadata(function: &FunctionDescriptor) -> bool {
    match &function.dynamic_metadata {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    }
}

fn is_select(field: &Field) -> bool {
    matches!(
        field.view_class.as_deref(),
        Some("SelectView" | "MultiSelectView")
    )
}

fn check_field(
    scope: &str,
    id: &str,
    field: &Field,
    siblings: &BTreeMap<String, Field>,
    problems: &mut Vec<String>,
) {
    if field.label.as_deref().is_none_or(str::is_empty) {
        problems.push(format!("{scope} field '{id}' has no label"));
    }
    match field.view_class.as_deref() {
        None => problems.push(format!("{scope} field '{id}' has no viewClass")),
        Some(class) if !VIEW_CLASSES.contains(&class) => {
            problems.push(format!("{scope} field '{id}': unknown viewClass {class:?}"))
        }
        Some(_) => {}
    }
    if field.required.as_ref().is_some_and(|r| !r.is_boolean()) {
        problems.push(format!(
            "{scope} field '{id}': required must be true or false"
        ));
    }
    if is_select(field) {
        match &field.model {
            Some(Value::Object(options)) if !options.is_empty() => {}
            Some(Value::String(method)) if !method.is_empty() => {}
            _ => problems.push(format!(
                "{scope} field '{id}': a select field needs a model (an object of options or a method name)"
            )),
        }
    }
    for name in &field.require {
        if !siblings.contains_key(name) {
            problems.push(format!(
                "{scope} field '{id}' requires field '{name}', which does not exist"
            ));
        }
    }
}

/// `^[A-Za-z]+[\w_]*$`, as the elastic.io CLI checks ids.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn minimal() -> Value {
        json!({
            "title": "Klaviyo",
            "credentials": {"fields": {
                "apiKey": {"label": "API key", "viewClass": "PasswordFieldView", "required": true}
            }},
            "triggers": {"poll": {
                "title": "Poll", "type": "polling", "dynamicMetadata": true,
                "fields": {
                    "objectType": {"label": "Object Type", "viewClass": "SelectView", "model": "getObjectTypes"},
                    "pollConfig": {"label": "Field", "viewClass": "SelectView", "model": "getFields", "require": ["objectType"]}
                }
            }},
            "actions": {"raw": {"title": "Raw", "metadata": {"in": {}, "out": {}}}}
        })
    }

    fn problems_after(change: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut value = minimal();
        change(&mut value);
        let descriptor: Descriptor = serde_json::from_value(value).expect("parses");
        descriptor.validate()
    }

    #[test]
    fn a_valid_descriptor_has_no_problems() {
        assert_eq!(problems_after(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn each_rule_reports_its_problem() {
        type Change = fn(&mut Value);
        let cases: &[(Change, &str)] = &[
            (
                |v| {
                    v["title"] = json!("");
                },
                "component.json has no title",
            ),
            (
                |v| {
                    v["actions"]["1raw"] = v["actions"]["raw"].clone();
                },
                "action '1raw': ids must match ^[A-Za-z]+[\\w_]*$",
            ),
            (
                |v| {
                    v["actions"]["ra-w"] = v["actions"]["raw"].clone();
                },
                "action 'ra-w': ids must match ^[A-Za-z]+[\\w_]*$",
            ),
            (
                |v| {
                    v["actions"]["poll"] = v["actions"]["raw"].clone();
                },
                "action 'poll': the id is used by a trigger and an action; ids must be unique",
            ),
            (
                |v| {
                    v["actions"]["raw"]["title"] = Value::Null;
                },
                "action 'raw' has no title",
            ),
            (
                |v| {
                    v["actions"]["raw"]
                        .as_object_mut()
                        .map(|o| o.remove("metadata"));
                },
                "action 'raw' has no metadata",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["dynamicMetadata"] = json!(false);
                },
                "trigger 'poll' has no metadata",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["type"] = json!("cron");
                },
                "trigger 'poll': type must be \"polling\" or \"webhook\", got \"cron\"",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["fields"]["objectType"]["model"] = Value::Null;
                },
                "trigger 'poll' field 'objectType': a select field needs a model (an object of options or a method name)",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["fields"]["objectType"]["model"] = json!(["a"]);
                },
                "trigger 'poll' field 'objectType': a select field needs a model (an object of options or a method name)",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["fields"]["objectType"]["viewClass"] = json!("CheckBox");
                },
                "trigger 'poll' field 'objectType': unknown viewClass \"CheckBox\"",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["fields"]["objectType"]["label"] = Value::Null;
                },
                "trigger 'poll' field 'objectType' has no label",
            ),
            (
                |v| {
                    v["triggers"]["poll"]["fields"]["pollConfig"]["require"] = json!(["nope"]);
                },
                "trigger 'poll' field 'pollConfig' requires field 'nope', which does not exist",
            ),
            (
                |v| {
                    v["credentials"]["fields"]["region"] = json!({"label": "Region", "viewClass": "SelectView", "model": "getRegions"});
                },
                "credentials field 'region': a select field in the credentials needs its options as an object",
            ),
            (
                |v| {
                    v["credentials"]["fields"]["apiKey"]["required"] = json!("yes");
                },
                "credentials field 'apiKey': required must be true or false",
            ),
        ];
        for (change, want) in cases {
            let problems = problems_after(*change);
            assert!(
                problems.iter().any(|p| p == want),
                "want {want:?}, got {problems:?}"
            );
        }
    }

    mod registry {
        use crate::{
            Component, Config, Env, Error, Function, LocalBoxFuture, MetaModel, SelectModel, Sink,
            Step, StepInput, Verification,
        };

        pub(super) struct Noop;

        impl Step for Noop {
            async fn process(&self, _: StepInput, _: &mut dyn Sink) -> Result<(), Error> {
                Ok(())
            }
        }

        fn select(_: &Config) -> Result<SelectModel, Error> {
            Ok(SelectModel::default())
        }

        fn meta(_: &Config) -> Result<MetaModel, Error> {
            Err(Error::internal("unused"))
        }

        fn verify<'a>(
            _: &'a Config,
            _: &'a Env,
        ) -> LocalBoxFuture<'a, Result<Verification, Error>> {
            Box::pin(async { Ok(Verification::Verified { note: None }) })
        }

        pub(super) fn raw_metadata() -> MetaModel {
            MetaModel {
                input: serde_json::json!({}),
                output: serde_json::json!({}),
            }
        }

        pub(super) fn component(functions: &'static [Function]) -> Component {
            Component {
                component_json: "{}",
                functions,
                verify_credentials: verify,
            }
        }

        pub(super) static MATCHING: &[Function] = &[
            Function {
                id: "poll",
                step: &Noop,
                select_models: &[("getObjectTypes", select), ("getFields", select)],
                meta_model: Some(meta),
                static_metadata: None,
            },
            Function {
                id: "raw",
                step: &Noop,
                select_models: &[],
                meta_model: None,
                static_metadata: Some(raw_metadata),
            },
        ];

        pub(super) static DRIFTED: &[Function] = &[
            Function {
                id: "poll",
                step: &Noop,
                select_models: &[("getObjectTypes", select), ("getUnused", select)],
                meta_model: None,
                static_metadata: None,
            },
            Function {
                id: "extra",
                step: &Noop,
                select_models: &[],
                meta_model: None,
                static_metadata: None,
            },
        ];
    }

    #[test]
    fn the_descriptor_and_a_matching_registry_agree() {
        let descriptor: Descriptor = serde_json::from_value(minimal()).expect("parses");
        assert_eq!(
            descriptor.check_against(&registry::component(registry::MATCHING)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn every_kind_of_drift_is_reported() {
        let descriptor: Descriptor = serde_json::from_value(minimal()).expect("parses");
        let problems = descriptor.check_against(&registry::component(registry::DRIFTED));
        let want = [
            "trigger 'poll' field 'pollConfig': select model method 'getFields' is not implemented",
            "trigger 'poll': select model method 'getUnused' is implemented but no field uses it",
            "trigger 'poll' declares dynamicMetadata but has no getMetaModel",
            "action 'raw' is in component.json but has no implementation",
            "'extra' is implemented but not declared in component.json",
        ];
        for w in want {
            assert!(
                problems.iter().any(|p| p == w),
                "want {w:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), want.len(), "{problems:#?}");

        let mut value = minimal();
        value["actions"]["raw"]["metadata"]["in"] = json!({"type": "object"});
        let descriptor: Descriptor = serde_json::from_value(value).expect("parses");
        let problems = descriptor.check_against(&registry::component(registry::MATCHING));
        assert_eq!(
            problems,
            vec![
                "action 'raw': metadata.in differs from the schema derived from the code: {}"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn ids() {
        for good in [
            "a",
            "getNewAndUpdatedObjectsPolling",
            "make_raw_request",
            "A1",
        ] {
            assert!(valid_id(good), "{good}");
        }
        for bad in ["", "1a", "_a", "a-b", "a b", "é"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn misspelled_fields_are_named_with_the_field_they_mean() {
        let descriptor: Descriptor = serde_json::from_value(minimal()).expect("parses");
        let cfg = |v: Value| Config::new(v.as_object().cloned().unwrap_or_default());
        assert_eq!(
            descriptor.misspelled_field(Some("poll"), &cfg(json!({"apikey": "k"}))),
            Some("unknown field `apikey` — did you mean `apiKey` (API key)?".to_owned())
        );
        assert_eq!(
            descriptor.misspelled_field(
                Some("poll"),
                &cfg(json!({"apiKey": "k", "object_type": "x"}))
            ),
            Some(
                "unknown field `object_type` — did you mean `objectType` (Object Type)?".to_owned()
            )
        );
        // The credential check knows every step's fields too.
        assert!(
            descriptor
                .misspelled_field(None, &cfg(json!({"pollconfig": "x"})))
                .is_some()
        );
        // Known fields, and names that are not typos, pass.
        for ok in [
            json!({"apiKey": "k", "objectType": "x", "pollConfig": "y"}),
            json!({"apiKey": "k", "_account": "a", "somethingElse": 1}),
            json!({}),
        ] {
            assert_eq!(
                descriptor.misspelled_field(Some("poll"), &cfg(ok.clone())),
                None,
                "{ok}"
            );
        }
        // A step's own fields only: `pollconfig` is no field of `raw`.
        assert_eq!(
            descriptor.misspelled_field(Some("raw"), &cfg(json!({"pollconfig": "x"}))),
            None
        );
    }

    #[test]
    fn secret_fields_are_the_password_fields() {
        let descriptor: Descriptor = serde_json::from_value(minimal()).expect("parses");
        assert_eq!(
            descriptor.secret_fields().into_iter().collect::<Vec<_>>(),
            vec!["apiKey"]
        );
    }

    #[test]
    fn functions_are_found_triggers_first() {
        let descriptor: Descriptor = serde_json::from_value(minimal()).expect("parses");
        assert!(descriptor.function("poll").is_some_and(|(_, t)| t));
        assert!(descriptor.function("raw").is_some_and(|(_, t)| !t));
        assert!(descriptor.function("nope").is_none());
        assert_eq!(
            descriptor.function_ids().collect::<Vec<_>>(),
            vec!["poll", "raw"]
        );
    }
}
