//! Which Klaviyo collections the trigger can poll, and on which fields:
//! derived from the revision's OpenAPI facts, never listed by hand, so a
//! new revision's collections appear and retired ones disappear. Listed in
//! the order, and refused in the words, of every step ([`crate::catalog`]).

use component_sdk::Config;
use component_sdk::SelectModel;
use klaviyo_spec::{AttributeKind, Collection, Operator, RevisionSpec};

use crate::Error;
use crate::catalog::{not_offered, ranked, required_filter_fields};
use crate::fields;
use crate::labels::humanize;
use crate::revision::Revision;

/// Attribute names that record creation or change whatever their declared
/// type (`/metrics` declares `created` and `updated` as plain strings).
const CHANGE_FIELDS: &[&str] = &["updated", "updated_at", "created", "created_at", "datetime"];

/// Collections whose filter Klaviyo requires although an older OpenAPI file
/// does not mark it required: `/coupon-codes` needs a coupon or profile id
/// (its 2024-10-15 description says so; the flag arrives in 2025-01-15).
const NEEDS_A_PARENT: &[&str] = &["/coupon-codes"];

/// The field that a required filter must name for `campaigns`; the trigger
/// satisfies it by polling each channel in turn.
pub(super) const CHANNEL_FIELD: &str = "messages.channel";

/// A collection the trigger can poll.
#[derive(Debug, Clone, Copy)]
pub struct ObjectType {
    /// The key users choose: the collection's path without its slash,
    /// e.g. `profiles`, `catalog-items`.
    pub key: &'static str,
    pub collection: &'static Collection,
}

impl ObjectType {
    /// For people: `catalog-items` → `Catalog Items`.
    pub fn label(&self) -> String {
        humanize(self.key)
    }
}

/// Every pollable collection of a revision, the common ones first.
pub fn object_types(spec: &'static RevisionSpec) -> Vec<ObjectType> {
    let mut types: Vec<ObjectType> = spec
        .collections
        .iter()
        .filter(|c| is_pollable(c))
        .map(|c| ObjectType {
            key: c.path.trim_start_matches('/'),
            collection: c,
        })
        .collect();
    ranked(&mut types, |t| t.key);
    types
}

/// The object type `key` in `spec`.
pub(super) fn object_type(spec: &'static RevisionSpec, key: &str) -> Option<ObjectType> {
    object_types(spec).into_iter().find(|t| t.key == key)
}

/// A collection is pollable when it has a timestamp to poll on and can be
/// listed without a filter the trigger cannot supply (coupon codes need a
/// coupon id; campaigns need a channel, which the trigger loops over).
fn is_pollable(collection: &Collection) -> bool {
    if timestamp_fields(collection).is_empty() || NEEDS_A_PARENT.contains(&collection.path) {
        return false;
    }
    match &collection.filter {
        Some(filter) if filter.required => required_fields(collection)
            .iter()
            .all(|f| *f == CHANNEL_FIELD),
        _ => true,
    }
}

/// The fields a required filter must name, read from the parameter's
/// example (`equals(messages.channel,'sms')` names `messages.channel`).
pub(super) fn required_fields(collection: &Collection) -> Vec<&'static str> {
    let named = required_filter_fields(collection);
    if named.is_empty() && collection.filter.as_ref().is_some_and(|f| f.required) {
        // A required filter whose field cannot be told: treat the endpoint
        // as unusable rather than guess.
        vec!["(unknown)"]
    } else {
        named
    }
}

/// The attributes the trigger can poll `collection` on: date-time
/// attributes Klaviyo can filter or sort by, plus the creation and change
/// timestamps whatever Klaviyo can do with them (those are scanned). Change
/// fields first, then creation, then the rest.
pub fn timestamp_fields(collection: &Collection) -> Vec<&'static str> {
    let mut fields: Vec<&'static str> = collection
        .attributes
        .iter()
        .filter(|a| {
            let usable = collection.allows(a.name, Operator::GreaterThan)
                || collection.allows(a.name, Operator::GreaterOrEqual)
                || collection.can_sort(a.name);
            (a.kind == AttributeKind::DateTime && usable) || CHANGE_FIELDS.contains(&a.name)
        })
        .map(|a| a.name)
        .collect();
    fields.sort_by_key(|f| match *f {
        "updated" | "updated_at" => 0,
        "created" | "created_at" | "datetime" => 1,
        _ => 2,
    });
    fields
}

/// For people: `updated_at` → `Updated At`.
pub(super) fn field_label(field: &str) -> String {
    humanize(field)
}

/// `getObjectTypes`: the object types of the configured revision.
pub(crate) fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let revision = Revision::from_config(cfg)?;
    Ok(object_types(revision.spec())
        .into_iter()
        .map(|t| (t.key.to_owned(), t.label()))
        .collect())
}

/// `getTimestampFields`: the timestamp fields of the chosen object type.
pub(crate) fn timestamp_fields_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    let revision = Revision::from_config(cfg)?;
    let object_type = chosen_object_type(cfg, revision.spec())?;
    Ok(timestamp_fields(object_type.collection)
        .into_iter()
        .map(|f| (f.to_owned(), field_label(f)))
        .collect())
}

/// The object type chosen in `cfg`, validated against the revision.
pub(super) fn chosen_object_type(
    cfg: &Config,
    spec: &'static RevisionSpec,
) -> Result<ObjectType, Error> {
    let key = cfg.text(fields::OBJECT_TYPE)?.ok_or_else(|| {
        Error::config(format!(
            "\"{}\" is required: choose the type of object to poll",
            fields::OBJECT_TYPE.label
        ))
    })?;
    object_type(spec, &key).ok_or_else(|| {
        let keys: Vec<&str> = object_types(spec).iter().map(|t| t.key).collect();
        not_offered(&key, &keys, &crate::revision::named_in(cfg, spec), "", None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(revision: &str) -> Vec<&'static str> {
        object_types(klaviyo_spec::for_revision(revision))
            .iter()
            .map(|t| t.key)
            .collect()
    }

    #[test]
    fn the_issue_s_object_types_are_offered() {
        let keys = keys("2026-07-15");
        // The common ones, and the rest the issue named.
        for key in crate::catalog::FIRST.iter().copied().chain([
            "template-universal-content",
            "images",
            "forms",
            "reviews",
            "web-feeds",
            "catalog-items",
            "catalog-variants",
            "catalog-categories",
            "metrics",
        ]) {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert_eq!(&keys[..7], crate::catalog::FIRST);
        assert!(!keys.contains(&"coupon-codes"), "needs a coupon id");
        assert!(
            !self::keys("2024-10-15").contains(&"coupon-codes"),
            "needs a coupon id there too"
        );
        assert!(!keys.contains(&"tags"), "no timestamp");
    }

    #[test]
    fn collections_follow_the_revision() {
        assert!(!keys("2024-10-15").contains(&"web-feeds"));
        assert!(keys("2026-07-15").contains(&"web-feeds"));
    }

    #[test]
    fn timestamp_fields_per_object_type() {
        let spec = klaviyo_spec::for_revision("2024-10-15");
        let fields = |key: &str| timestamp_fields(object_type(spec, key).expect(key).collection);
        assert_eq!(fields("profiles"), vec!["updated", "created"]);
        assert_eq!(fields("events"), vec!["datetime"]);
        assert_eq!(
            fields("campaigns"),
            vec!["updated_at", "created_at", "scheduled_at"]
        );
        assert_eq!(fields("lists"), vec!["updated", "created"]);
        assert_eq!(fields("metrics"), vec!["updated", "created"]);
        assert_eq!(fields("images"), vec!["updated_at"]);
        let current = klaviyo_spec::for_revision("2026-10-15");
        let campaigns = object_type(current, "campaigns").expect("campaigns");
        assert_eq!(
            timestamp_fields(campaigns.collection),
            vec!["updated_at", "created_at"]
        );
    }

    #[test]
    fn labels() {
        let spec = klaviyo_spec::for_revision("2024-10-15");
        assert_eq!(
            object_type(spec, "template-universal-content")
                .expect("tuc")
                .label(),
            "Template Universal Content"
        );
        assert_eq!(field_label("updated_at"), "Updated At");
    }

    #[test]
    fn required_filters() {
        let spec = klaviyo_spec::for_revision("2024-10-15");
        assert_eq!(
            required_fields(spec.collection("/campaigns").expect("c")),
            vec![CHANNEL_FIELD]
        );
        assert!(required_fields(spec.collection("/profiles").expect("p")).is_empty());
        let current = klaviyo_spec::for_revision("2026-10-15");
        assert!(required_fields(current.collection("/campaigns").expect("c")).is_empty());
    }
}
