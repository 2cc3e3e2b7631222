//! Which object types each step offers: read off the revision's OpenAPI
//! facts, never listed by hand, so a type appears with the revision that
//! adds its endpoint and is never offered where the endpoint is missing.
//! The actions' types are here; the trigger's (`crate::polling`'s catalog,
//! the collections it can poll and on which fields) share their order, the
//! words for a type that is not offered, and the reading of a required
//! filter.

use component_sdk::config::{closest, quoted_list, shortened};
use component_sdk::{Config, SelectModel};
use klaviyo_spec::{Collection, Method, Operation, Resource, RevisionSpec};

use crate::Error;
use crate::fields;
use crate::labels::humanize;

/// The types users reach for most, first in every dropdown, in this order.
pub(crate) const FIRST: &[&str] = &[
    "profiles",
    "events",
    "lists",
    "segments",
    "campaigns",
    "flows",
    "templates",
];

/// The members of a profile, any of which identifies it: for
/// `/profile-import`, and for the profile an event belongs to.
pub(crate) const PROFILE_IDENTIFIERS: &[&str] =
    &["id", "email", "phone_number", "external_id", "anonymous_id"];

/// The path of the create-or-update endpoint of profiles.
pub(crate) const PROFILE_IMPORT: &str = "/profile-import";

/// The actions that choose an object type, and which types each can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Types with a get-by-id endpoint (`GET /x/{id}`).
    LookupOne,
    /// Types with a list endpoint (`GET /x`).
    LookupMany,
    /// Profiles (through `POST /profile-import`) and every type that can be
    /// created (`POST /x`, answered with the resource) or updated
    /// (`PATCH /x/{id}`) with a JSON:API body.
    Upsert,
    /// Types with `DELETE /x/{id}`.
    Delete,
}

impl Purpose {
    /// The action's title, for messages.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Purpose::LookupOne => "Lookup Object",
            Purpose::LookupMany => "Lookup Objects",
            Purpose::Upsert => "Upsert Object",
            Purpose::Delete => "Delete Object",
        }
    }

    /// What the action does with the type, for messages.
    fn verb(self) -> &'static str {
        match self {
            Purpose::LookupOne => "read by id",
            Purpose::LookupMany => "list",
            Purpose::Upsert => "create or update",
            Purpose::Delete => "delete",
        }
    }
}

/// The JSON:API type of a resource's records, e.g. `profile`.
pub(crate) fn resource_type(resource: &Resource<'static>) -> Option<&'static str> {
    resource
        .get_one
        .and_then(|op| op.returns)
        .or(resource.list.map(|c| c.resource_type))
}

/// One record of `resource`, for sentences: `profile`, `catalog item`.
pub(crate) fn singular(resource: &Resource<'static>) -> String {
    resource_type(resource)
        .unwrap_or(resource.key)
        .replace('-', " ")
}

/// Whether `op` takes a JSON:API body whose `data` is one resource of `t`.
fn writes(op: Option<&Operation>, t: &str) -> bool {
    op.and_then(|op| op.body).is_some_and(|body| {
        body.content_type == crate::client::JSON_API
            && !body.data_is_array
            && body.data_type == Some(t)
    })
}

/// Whether `resource` can be used for `purpose` in `spec`.
fn offers(spec: &'static RevisionSpec, resource: &Resource<'static>, purpose: Purpose) -> bool {
    match purpose {
        Purpose::LookupOne => resource.get_one.is_some(),
        Purpose::LookupMany => resource.list.is_some(),
        Purpose::Delete => resource.delete.is_some(),
        Purpose::Upsert => {
            if resource.key == "profiles" {
                return spec.operation(Method::Post, PROFILE_IMPORT).is_some();
            }
            // A job (`campaign-send-jobs`, `…-bulk-create-jobs`) is an
            // operation that is started or cancelled, not an object to
            // create or update: Make Raw Request starts one.
            if resource.key.ends_with("-jobs") {
                return false;
            }
            let Some(t) = resource_type(resource) else {
                return false;
            };
            let creates = writes(resource.create, t)
                && resource.create.is_some_and(|op| op.returns == Some(t));
            creates || writes(resource.update, t)
        }
    }
}

/// The object types `purpose` can use in `spec`, the common ones first.
pub(crate) fn object_types(
    spec: &'static RevisionSpec,
    purpose: Purpose,
) -> Vec<Resource<'static>> {
    let mut types: Vec<Resource<'static>> = spec
        .resources()
        .into_iter()
        .filter(|r| offers(spec, r, purpose))
        .collect();
    ranked(&mut types, |t| t.key);
    types
}

/// `types` in the order every dropdown lists them: those of [`FIRST`] in
/// its order, then the others by key.
pub(crate) fn ranked<T>(types: &mut [T], key: impl Fn(&T) -> &'static str) {
    types.sort_by_key(|t| {
        let key = key(t);
        let rank = FIRST.iter().position(|k| *k == key).unwrap_or(FIRST.len());
        (rank, key)
    });
}

/// The error for "Object Type" `given`, which is none of `keys` (in
/// dropdown order) in `revision`: the one it is most likely a typo of, or
/// else `why` (by default that the revision has no such type; it ends
/// with its separator) and the first of the list. `doing` says what the step does with a type
/// (` that Delete Object can delete`), for the typo's message.
pub(crate) fn not_offered(
    given: &str,
    keys: &[&str],
    revision: &str,
    doing: &str,
    why: Option<String>,
) -> Error {
    let label = fields::OBJECT_TYPE.label;
    let shown = shortened(given, 60);
    if let Some(meant) = closest(given, keys.iter().copied()) {
        return Error::config(format!(
            "\"{label}\" has no object type {shown:?}{doing} in revision {revision} — did you mean \"{meant}\"?"
        ));
    }
    let why =
        why.unwrap_or_else(|| format!(" has no object type {shown:?} in revision {revision}: "));
    // The whole list is the dropdown's; a message names the first few.
    Error::config(format!(
        "\"{label}\"{why}choose one of the {} the dropdown lists, such as {}",
        keys.len(),
        quoted_list(&keys[..keys.len().min(FIRST.len())])
    ))
}

/// The fields a required filter must name, read from the parameter's
/// example (`equals(messages.channel,'sms')` names `messages.channel`);
/// none when the filter is not required, or names none that can be told.
pub(crate) fn required_filter_fields(collection: &Collection) -> Vec<&'static str> {
    match &collection.filter {
        Some(filter) if filter.required => {
            let example = filter.example.unwrap_or("");
            filter
                .fields
                .iter()
                .map(|f| f.name)
                .filter(|name| example.contains(&format!("({name},")))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The select model of the object types `purpose` can use.
pub(crate) fn model(cfg: &Config, purpose: Purpose) -> Result<SelectModel, component_sdk::Error> {
    let spec = crate::revision::Revision::from_config(cfg)?.spec();
    Ok(object_types(spec, purpose)
        .into_iter()
        .map(|t| (t.key.to_owned(), humanize(t.key)))
        .collect())
}

/// The object type chosen in `cfg`, as `purpose` can use it.
pub(crate) fn chosen(
    cfg: &Config,
    spec: &'static RevisionSpec,
    purpose: Purpose,
) -> Result<Resource<'static>, Error> {
    let label = fields::OBJECT_TYPE.label;
    let key = cfg.text(fields::OBJECT_TYPE)?.ok_or_else(|| {
        Error::config(format!(
            "\"{label}\" is required: choose the type of object to {}",
            purpose.verb()
        ))
    })?;
    let types = object_types(spec, purpose);
    if let Some(found) = types.iter().find(|t| t.key == key) {
        return Ok(*found);
    }
    let keys: Vec<&str> = types.iter().map(|t| t.key).collect();
    // The credential's revision, and the file's when its rules apply.
    let revision = crate::revision::named_in(cfg, spec);
    let verb = purpose.verb();
    let why = match spec.resource(&key) {
        Some(_) => format!(
            ": Klaviyo's revision {revision} has no endpoint to {verb} {}; ",
            shortened(&key, 60)
        ),
        None => format!(
            ": revision {revision} has no object type {:?}; ",
            shortened(&key, 60)
        ),
    };
    Err(not_offered(
        &key,
        &keys,
        &revision,
        &format!(" that {} can {verb}", purpose.action()),
        Some(why),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(revision: &str, purpose: Purpose) -> Vec<&'static str> {
        object_types(klaviyo_spec::for_revision(revision), purpose)
            .iter()
            .map(|t| t.key)
            .collect()
    }

    #[test]
    fn each_action_offers_the_types_it_can_use() {
        for revision in ["2024-10-15", "2026-10-15"] {
            let one = keys(revision, Purpose::LookupOne);
            let many = keys(revision, Purpose::LookupMany);
            let upsert = keys(revision, Purpose::Upsert);
            let delete = keys(revision, Purpose::Delete);
            assert_eq!(
                &one[..4],
                &["profiles", "events", "lists", "segments"],
                "{revision}"
            );
            for key in [
                "profiles",
                "lists",
                "campaigns",
                "catalog-items",
                "templates",
            ] {
                assert!(
                    one.contains(&key) && many.contains(&key),
                    "{revision}: {key}"
                );
            }
            assert!(
                upsert.contains(&"profiles") && upsert.contains(&"lists"),
                "{revision}"
            );
            assert!(upsert.contains(&"catalog-items"), "{revision}");
            // Events are created (202, no body) by Create Event, never updated.
            assert!(!upsert.contains(&"events"), "{revision}");
            // Actions such as campaign-clone are no object type.
            assert!(!upsert.contains(&"campaign-clone"), "{revision}");
            // Klaviyo deletes no profiles through the API.
            assert!(!delete.contains(&"profiles"), "{revision}");
            assert!(
                delete.contains(&"lists") && delete.contains(&"catalog-items"),
                "{revision}"
            );
        }
    }

    #[test]
    fn types_follow_the_revision() {
        assert!(!keys("2024-10-15", Purpose::LookupMany).contains(&"web-feeds"));
        assert!(keys("2026-10-15", Purpose::LookupMany).contains(&"web-feeds"));
    }

    fn cfg(value: serde_json::Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn a_type_that_cannot_be_used_is_explained() {
        let spec = klaviyo_spec::for_revision("2026-10-15");
        let err = |value| {
            chosen(&cfg(value), spec, Purpose::Delete)
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            err(serde_json::json!({})),
            "\"Object Type\" is required: choose the type of object to delete"
        );
        assert_eq!(
            err(serde_json::json!({"objectType": "list"})),
            "\"Object Type\" has no object type \"list\" that Delete Object can delete in revision 2026-10-15 — did you mean \"lists\"?"
        );
        let profiles = err(serde_json::json!({"objectType": "profiles"}));
        assert!(
            profiles.starts_with("\"Object Type\": Klaviyo's revision 2026-10-15 has no endpoint to delete profiles; choose one of the"),
            "{profiles}"
        );
        assert!(
            chosen(
                &cfg(serde_json::json!({"objectType": "lists"})),
                spec,
                Purpose::Delete
            )
            .is_ok()
        );
    }
}
