//! `getMetaModel`: the schema of what the trigger emits, from Klaviyo's
//! OpenAPI files.

use component_sdk::Config;
use component_sdk::MetaModel;
use serde_json::{Value, json};

use super::catalog::chosen_object_type;
use super::config::emit_behavior;
use crate::revision::Revision;

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let revision = Revision::from_config(cfg)?;
    let spec = revision.spec();
    let object_type = chosen_object_type(cfg, spec)?;
    let mut record = spec
        .resource_schema(object_type.collection.path)
        .unwrap_or_else(|| json!({"type": "object"}));
    if let Value::Object(map) = &mut record {
        map.insert("title".to_owned(), Value::String(object_type.label()));
    }
    let emit = emit_behavior(cfg)?;
    Ok(MetaModel {
        input: json!({}),
        output: emit.output_schema(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(value: Value) -> Result<MetaModel, component_sdk::Error> {
        meta_model(&Config::new(value.as_object().cloned().unwrap_or_default()))
    }

    #[test]
    fn individual_records_and_pages() {
        let one = model(json!({"objectType": "profiles"})).expect("schema");
        assert_eq!(one.input, json!({}));
        assert_eq!(one.output["title"], "Profiles");
        assert!(one.output["properties"]["attributes"]["properties"]["updated"].is_object());
        let page =
            model(json!({"objectType": "profiles", "emitBehavior": "emitPage"})).expect("schema");
        assert_eq!(page.output["properties"]["results"]["type"], "array");
        assert_eq!(page.output["properties"]["results"]["items"], one.output);
    }

    #[test]
    fn the_revision_decides_the_shape() {
        let old =
            model(json!({"objectType": "campaigns", "revision": "2024-10-15"})).expect("schema");
        let new =
            model(json!({"objectType": "campaigns", "revision": "2026-10-15"})).expect("schema");
        assert!(old.output["properties"]["attributes"]["properties"]["scheduled_at"].is_object());
        assert!(new.output["properties"]["attributes"]["properties"]["scheduled_at"].is_null());
    }

    #[test]
    fn an_object_type_is_needed() {
        let err = model(json!({})).expect_err("no object type");
        assert!(err.to_string().starts_with("\"Object Type\" is required"));
    }
}
