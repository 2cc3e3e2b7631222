//! Every field of `component.json` the code reads, by id and label. The
//! readers name fields only through these, and a test checks each against
//! `component.json`, so an error message always quotes the label the user
//! sees.

use component_sdk::Field;

// The credential.
pub const API_KEY: Field = Field::new("apiKey", "API key");
pub const REVISION: Field = Field::new("revision", "Revision");

// Get New and Updated Objects Polling.
pub const OBJECT_TYPE: Field = Field::new("objectType", "Object Type");
pub const POLL_CONFIG: Field = Field::new("pollConfig", "Timestamp field to poll on");
pub const EMIT_BEHAVIOR: Field = Field::new("emitBehavior", "Emit behavior");
pub const PAGE_SIZE: Field = Field::new("pageSize", "Size of Polling Page");
pub const START_TIME: Field = Field::new("startTime", "Start Time");

// Make Raw Request.
pub const DO_NOT_THROW_404: Field =
    Field::new("doNotThrow404", "Don't throw error on 404 Response");

/// Every field above.
#[cfg(test)]
pub const ALL: &[Field] = &[
    API_KEY,
    REVISION,
    OBJECT_TYPE,
    POLL_CONFIG,
    EMIT_BEHAVIOR,
    PAGE_SIZE,
    START_TIME,
    DO_NOT_THROW_404,
];

#[cfg(test)]
mod tests {
    use component_sdk::descriptor::Descriptor;

    use super::*;

    #[test]
    fn every_field_read_is_in_component_json_with_its_label() {
        let descriptor = Descriptor::parse(crate::registry::COMPONENT_JSON).expect("parses");
        let declared = |key: &str| {
            let credentials = descriptor.credentials.iter().flat_map(|c| &c.fields);
            let steps = descriptor
                .triggers
                .values()
                .chain(descriptor.actions.values())
                .flat_map(|f| &f.fields);
            credentials
                .chain(steps)
                .filter(|(k, _)| k.as_str() == key)
                .filter_map(|(_, f)| f.label.clone())
                .collect::<Vec<_>>()
        };
        for field in ALL {
            let labels = declared(field.key);
            assert!(
                !labels.is_empty(),
                "{} is read but not declared in component.json",
                field.key
            );
            for label in labels {
                assert_eq!(label, field.label, "the label of {}", field.key);
            }
        }
    }
}
