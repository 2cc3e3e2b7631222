// Placeholder until `cargo xtask codegen` writes the real table.
use crate::*;

pub(crate) static REVISIONS: &[RevisionSpec] = &[RevisionSpec {
    revision: "2024-10-15",
    collections: &[],
    resource_schemas_json: "{}",
}];
