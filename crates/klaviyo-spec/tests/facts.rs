//! Facts about Klaviyo's API that the component relies on, checked against the
//! committed table through the public API. They come from
//! shared/reference/klaviyo-api.md and were checked against the OpenAPI files;
//! if a regenerated table breaks one, the component's polling logic needs a
//! look before the table is committed.

use klaviyo_spec::{
    AttributeKind, Collection, Operator, PageSize, RateLimit, RevisionSpec, ValueType,
    for_revision, revisions,
};

const OLD: &str = "2024-10-15";
const MID: &str = "2026-07-15";
const NEW: &str = "2026-10-15";

fn revision(name: &str) -> &'static RevisionSpec {
    revisions()
        .iter()
        .find(|r| r.revision == name)
        .unwrap_or_else(|| panic!("revision {name} is not in the table"))
}

fn collection(rev: &str, path: &str) -> &'static Collection {
    revision(rev)
        .collection(path)
        .unwrap_or_else(|| panic!("{rev}: no collection {path}"))
}

/// The operators of `field`, in `Operator` order.
fn operators(c: &Collection, field: &str) -> Vec<Operator> {
    c.filter_field(field)
        .unwrap_or_else(|| panic!("{}: `{field}` is not filterable", c.path))
        .operators
        .to_vec()
}

#[test]
fn revisions_are_the_three_files_oldest_first() {
    let names: Vec<&str> = revisions().iter().map(|r| r.revision).collect();
    assert_eq!(names, [OLD, MID, NEW]);
}

#[test]
fn collections_are_sorted_by_path() {
    // `RevisionSpec::collection` binary-searches.
    for rev in revisions() {
        assert!(
            rev.collections.windows(2).all(|w| w[0].path < w[1].path),
            "{}: collections are not sorted by path",
            rev.revision
        );
        assert!(rev.collections.len() > 30, "{}", rev.revision);
        for c in rev.collections {
            assert!(c.path.starts_with('/') && !c.path.starts_with("/api/"));
        }
    }
}

#[test]
fn for_revision_answers_with_the_newest_file_not_newer() {
    assert_eq!(for_revision("2025-04-15").revision, OLD);
    assert_eq!(for_revision("2026-08-01").revision, MID);
    assert_eq!(for_revision("2027-01-15").revision, NEW);
    assert_eq!(for_revision("2023-02-22").revision, OLD);
    assert_eq!(for_revision("2026-07-15.pre").revision, MID);
    assert_eq!(for_revision(OLD).revision, OLD);
    assert_eq!(for_revision(NEW).revision, NEW);
}

#[test]
fn profiles_timestamps_allow_only_strict_comparisons() {
    for rev in [OLD, MID, NEW] {
        let profiles = collection(rev, "/profiles");
        assert_eq!(profiles.resource_type, "profile");
        for field in ["updated", "created"] {
            assert_eq!(
                operators(profiles, field),
                [Operator::LessThan, Operator::GreaterThan],
                "{rev} /profiles {field}"
            );
            assert!(!profiles.allows(field, Operator::GreaterOrEqual));
            let attribute = profiles
                .attribute(field)
                .unwrap_or_else(|| panic!("{rev}: /profiles has no `{field}` attribute"));
            assert_eq!(attribute.kind, AttributeKind::DateTime, "{rev} {field}");
            assert_eq!(
                profiles.filter_field(field).map(|f| f.value_type),
                Some(ValueType::DateTime),
                "{rev} {field}"
            );
        }
        assert!(profiles.can_sort("updated") && profiles.can_sort("-updated"));
        assert_eq!(
            profiles.page_size,
            Some(PageSize {
                default: 20,
                min: 1,
                max: 100
            })
        );
    }
}

#[test]
fn lists_and_segments_updated_allows_only_greater_than() {
    for path in ["/lists", "/segments"] {
        for rev in [OLD, MID, NEW] {
            let c = collection(rev, path);
            assert_eq!(
                operators(c, "updated"),
                [Operator::GreaterThan],
                "{rev} {path}"
            );
        }
        let old = collection(OLD, path);
        assert_eq!(old.page_size, None, "{path}");
        assert!(!old.declares("page[size]"), "{path}");
        assert_eq!(old.fixed_page_size, Some(10), "{path}");
        for rev in [MID, NEW] {
            let c = collection(rev, path);
            assert_eq!(c.page_size.map(|p| p.max), Some(10), "{rev} {path}");
            assert!(c.declares("page[size]"));
            assert_eq!(c.fixed_page_size, None);
        }
    }
}

#[test]
fn campaigns_require_a_channel_filter_until_2026_10_15() {
    for rev in [OLD, MID] {
        let campaigns = collection(rev, "/campaigns");
        let filter = campaigns.filter.as_ref().expect("campaigns have a filter");
        assert!(filter.required, "{rev}");
        let example = filter.example.expect("the required filter has an example");
        assert!(example.contains("messages.channel"), "{rev}: {example}");
        assert_eq!(
            operators(campaigns, "messages.channel"),
            [Operator::Equals],
            "{rev}"
        );
        assert!(campaigns.attribute("scheduled_at").is_some(), "{rev}");
    }
    let campaigns = collection(NEW, "/campaigns");
    let filter = campaigns.filter.as_ref().expect("campaigns have a filter");
    assert!(!filter.required);
    assert!(campaigns.filter_field("messages.channel").is_none());
    assert!(campaigns.attribute("scheduled_at").is_none());
    assert!(!campaigns.can_sort("scheduled_at"));
    for field in ["created_at", "updated_at"] {
        assert_eq!(
            operators(campaigns, field),
            [
                Operator::LessThan,
                Operator::LessOrEqual,
                Operator::GreaterThan,
                Operator::GreaterOrEqual
            ],
            "{field}"
        );
    }
}

#[test]
fn events_page_size_and_datetime_filter() {
    let old = collection(OLD, "/events");
    assert_eq!(old.page_size, None);
    assert!(!old.declares("page[size]"));
    assert_eq!(old.fixed_page_size, Some(200));
    for rev in [MID, NEW] {
        let events = collection(rev, "/events");
        assert_eq!(events.page_size.map(|p| p.max), Some(1000), "{rev}");
        assert_eq!(events.fixed_page_size, None, "{rev}");
    }
    for rev in [OLD, MID, NEW] {
        let events = collection(rev, "/events");
        assert!(events.allows("datetime", Operator::GreaterOrEqual), "{rev}");
        assert!(events.allows("datetime", Operator::LessThan), "{rev}");
        assert_eq!(
            events.attribute("datetime").map(|a| a.kind),
            Some(AttributeKind::DateTime),
            "{rev}"
        );
        assert!(events.can_sort("datetime") && events.can_sort("-datetime"));
        assert!(events.attribute("updated").is_none(), "{rev}");
    }
}

#[test]
fn reviews_filter_on_created_only_but_sort_on_updated() {
    for rev in [OLD, MID, NEW] {
        let reviews = collection(rev, "/reviews");
        assert_eq!(
            operators(reviews, "created"),
            [Operator::LessOrEqual, Operator::GreaterOrEqual],
            "{rev}"
        );
        assert!(reviews.filter_field("updated").is_none(), "{rev}");
        assert!(reviews.can_sort("updated") && reviews.can_sort("-updated"));
    }
}

#[test]
fn web_feeds_arrive_after_2024_10_15() {
    assert!(revision(OLD).collection("/web-feeds").is_none());
    for rev in [MID, NEW] {
        let feeds = collection(rev, "/web-feeds");
        assert_eq!(feeds.page_size.map(|p| p.max), Some(20), "{rev}");
    }
}

#[test]
fn metrics_cannot_be_filtered_on_timestamps_nor_sorted() {
    for rev in [OLD, MID, NEW] {
        let metrics = collection(rev, "/metrics");
        assert!(metrics.filter_field("created").is_none(), "{rev}");
        assert!(metrics.filter_field("updated").is_none(), "{rev}");
        assert!(metrics.sort.is_empty(), "{rev}");
        assert!(!metrics.declares("sort"), "{rev}");
    }
}

#[test]
fn flows_and_campaigns_filter_archived_with_equals() {
    for rev in [OLD, MID, NEW] {
        for path in ["/flows", "/campaigns"] {
            let c = collection(rev, path);
            assert_eq!(operators(c, "archived"), [Operator::Equals], "{rev} {path}");
        }
    }
}

#[test]
fn flows_rate_limit_is_small() {
    for rev in [OLD, MID, NEW] {
        assert_eq!(
            collection(rev, "/flows").rate_limit,
            Some(RateLimit {
                burst_per_second: 3,
                steady_per_minute: 60
            }),
            "{rev}"
        );
    }
}

#[test]
fn every_collection_has_a_resource_schema() {
    for rev in revisions() {
        let all: serde_json::Value = serde_json::from_str(rev.resource_schemas_json)
            .unwrap_or_else(|e| panic!("{}: schemas are not JSON: {e}", rev.revision));
        let all = all.as_object().expect("an object keyed by path");
        assert_eq!(all.len(), rev.collections.len(), "{}", rev.revision);
        for c in rev.collections {
            assert!(all.contains_key(c.path), "{} {}", rev.revision, c.path);
        }
    }
}

#[test]
fn profile_schema_is_in_elastic_io_dialect() {
    for rev in revisions() {
        let schema = rev
            .resource_schema("/profiles")
            .unwrap_or_else(|| panic!("{}: no /profiles schema", rev.revision));
        assert_eq!(schema["type"], "object", "{}", rev.revision);
        let updated = &schema["properties"]["attributes"]["properties"]["updated"];
        assert_eq!(updated["type"], "string", "{}", rev.revision);
        assert_eq!(updated["format"], "date-time", "{}", rev.revision);
        assert_eq!(updated["title"], "updated", "{}", rev.revision);
        assert!(updated.get("nullable").is_none(), "{}", rev.revision);
        assert!(updated.get("example").is_none(), "{}", rev.revision);
        assert_eq!(
            schema["properties"]["type"]["required"], true,
            "{}",
            rev.revision
        );
        assert_eq!(
            schema["properties"]["type"]["enum"],
            serde_json::json!(["profile"]),
            "{}",
            rev.revision
        );
        assert!(schema.get("required").is_none(), "{}", rev.revision);
    }
}
