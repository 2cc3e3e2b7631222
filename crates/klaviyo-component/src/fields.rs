//! Every field of `component.json` the code reads, by id and label. The
//! readers name fields only through these, and a test checks each against
//! the step of `component.json` that declares it, so an error message always
//! quotes the label the user sees.

use component_sdk::Field;

// The credential.
pub(crate) const API_KEY: Field = Field::new("apiKey", "API key");
pub(crate) const REVISION: Field = Field::new("revision", "Revision");

// Get New and Updated Objects Polling (and the actions, where they choose
// an object type or how to emit).
pub(crate) const OBJECT_TYPE: Field = Field::new("objectType", "Object Type");
pub(crate) const POLL_CONFIG: Field = Field::new("pollConfig", "Timestamp field to poll on");
pub(crate) const EMIT_BEHAVIOR: Field = Field::new("emitBehavior", "Emit behavior");
pub(crate) const PAGE_SIZE: Field = Field::new("pageSize", "Size of Polling Page");
pub(crate) const START_TIME: Field = Field::new("startTime", "Start Time");
pub(crate) const LOOKBACK: Field = Field::new("lookback", "Late records lookback");

// Make Raw Request (and Delete Object).
pub(crate) const DO_NOT_THROW_404: Field =
    Field::new("doNotThrow404", "Don't throw error on 404 Response");

// Lookup Object (at most one).
pub(crate) const LOOKUP_BY: Field = Field::new("lookupBy", "Lookup by");
pub(crate) const INCLUDE: Field = Field::new("include", "Include related resources");
pub(crate) const ALLOW_ZERO_RESULTS: Field = Field::new("allowZeroResults", "Allow zero results");

// Upsert Object.
pub(crate) const OPERATION: Field = Field::new("operation", "Operation");

// Lookup Objects (plural).
pub(crate) const SORT: Field = Field::new("sort", "Sort");
/// The same id as the trigger's "Size of Polling Page", another label: here
/// it is the size of the pages Lookup Objects emits.
pub(crate) const LOOKUP_PAGE_SIZE: Field = Field::new("pageSize", "Page Size");
pub(crate) const MAX_RESULTS: Field = Field::new("maxResults", "Maximum number of results");

// Subscribe / Unsubscribe Profiles, Add / Remove Profiles to / from List.
pub(crate) const LIST_ID: Field = Field::new("listId", "List ID");
pub(crate) const CHANNEL: Field = Field::new("channel", "Channel");

/// The credential's fields, which every step reads.
#[cfg(test)]
pub(crate) const CREDENTIAL: &[Field] = &[API_KEY, REVISION];

/// The fields each step reads besides the credential's, by function id.
#[cfg(test)]
pub(crate) const BY_FUNCTION: &[(&str, &[Field])] = &[
    (
        "getNewAndUpdatedObjectsPolling",
        &[
            OBJECT_TYPE,
            POLL_CONFIG,
            EMIT_BEHAVIOR,
            PAGE_SIZE,
            START_TIME,
            LOOKBACK,
        ],
    ),
    ("makeRawRequest", &[DO_NOT_THROW_404]),
    (
        "lookupObject",
        &[OBJECT_TYPE, LOOKUP_BY, INCLUDE, ALLOW_ZERO_RESULTS],
    ),
    (
        "lookupObjects",
        &[
            OBJECT_TYPE,
            SORT,
            EMIT_BEHAVIOR,
            LOOKUP_PAGE_SIZE,
            MAX_RESULTS,
        ],
    ),
    ("upsertObject", &[OBJECT_TYPE, OPERATION]),
    ("deleteObject", &[OBJECT_TYPE, DO_NOT_THROW_404]),
    ("createEvent", &[]),
    ("subscribeProfiles", &[LIST_ID, CHANNEL]),
    ("unsubscribeProfiles", &[LIST_ID, CHANNEL]),
    ("addProfilesToList", &[LIST_ID]),
    ("removeProfilesFromList", &[LIST_ID]),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use component_sdk::descriptor::Descriptor;

    use super::*;

    #[test]
    fn every_field_read_is_declared_by_its_step_with_its_label() {
        let descriptor = Descriptor::parse(crate::registry::COMPONENT_JSON).expect("parses");
        let credentials = descriptor.credentials.clone().unwrap_or_default().fields;
        for field in CREDENTIAL {
            let declared = credentials.get(field.key).and_then(|f| f.label.as_deref());
            assert_eq!(
                declared,
                Some(field.label),
                "credential field {}",
                field.key
            );
        }
        for (id, read) in BY_FUNCTION {
            let (function, _) = descriptor
                .function(id)
                .unwrap_or_else(|| panic!("{id} is not in component.json"));
            for field in *read {
                let declared = function
                    .fields
                    .get(field.key)
                    .and_then(|f| f.label.as_deref());
                assert_eq!(
                    declared,
                    Some(field.label),
                    "{id}: the label of {}",
                    field.key
                );
            }
            let read: BTreeSet<&str> = read.iter().map(|f| f.key).collect();
            for key in function.fields.keys() {
                assert!(
                    read.contains(key.as_str()),
                    "{id} declares {key}, which the code never reads"
                );
            }
        }
        let listed: BTreeSet<&str> = BY_FUNCTION.iter().map(|(id, _)| *id).collect();
        for id in descriptor.function_ids() {
            assert!(listed.contains(id), "{id}: list the fields it reads");
        }
    }
}
