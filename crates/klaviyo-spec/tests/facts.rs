//! Facts about Klaviyo's API that the component relies on, checked against the
//! committed table through the public API. They come from
//! shared/reference/klaviyo-api.md and were checked against the OpenAPI files;
//! if a regenerated table breaks one, the component's polling logic needs a
//! look before the table is committed.

use klaviyo_spec::{
    AttributeKind, BatchLimit, Collection, Method, Operation, Operator, PageSize, RateLimit,
    RevisionSpec, ValueType, for_revision, revisions,
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

// ---------------------------------------------------------------------------
// Writes and gets by id.

const ALL: [&str; 3] = [OLD, MID, NEW];

fn operation(rev: &str, method: Method, path: &str) -> &'static Operation {
    revision(rev)
        .operation(method, path)
        .unwrap_or_else(|| panic!("{rev}: no {method} {path}"))
}

#[test]
fn operations_are_sorted_unique_and_relative_to_api() {
    // `RevisionSpec::operation` binary-searches by path, then method name.
    for rev in revisions() {
        assert!(
            rev.operations
                .windows(2)
                .all(|w| (w[0].path, w[0].method.as_str()) < (w[1].path, w[1].method.as_str())),
            "{}: operations are not sorted by path and method",
            rev.revision
        );
        for op in rev.operations {
            assert!(
                op.path.starts_with('/') && !op.path.starts_with("/api/"),
                "{} {}",
                rev.revision,
                op.path
            );
            assert!(!op.operation_id.is_empty(), "{} {}", rev.revision, op.path);
            assert!(
                !op.success.is_empty() && op.success.iter().all(|s| (200..300).contains(s)),
                "{} {} {}: {:?}",
                rev.revision,
                op.method,
                op.path,
                op.success
            );
            let found = rev.operation(op.method, op.path).map(|o| o.operation_id);
            assert_eq!(found, Some(op.operation_id));
            let placeholders = op.path.matches('{').count();
            assert_eq!(op.path_params.len(), placeholders, "{}", op.path);
        }
    }
}

#[test]
fn operation_counts_per_revision() {
    // (revision, all, GET by id, POST, PATCH, DELETE); no file has a PUT.
    let expected = [
        (OLD, 145, 44, 59, 21, 21),
        (MID, 186, 53, 72, 31, 30),
        (NEW, 239, 67, 92, 42, 38),
    ];
    for (rev, all, get, post, patch, delete) in expected {
        let ops = revision(rev).operations;
        let count = |m: Method| ops.iter().filter(|op| op.method == m).count();
        assert_eq!(ops.len(), all, "{rev}");
        assert_eq!(count(Method::Get), get, "{rev} GET");
        assert_eq!(count(Method::Post), post, "{rev} POST");
        assert_eq!(count(Method::Patch), patch, "{rev} PATCH");
        assert_eq!(count(Method::Delete), delete, "{rev} DELETE");
        assert_eq!(count(Method::Put), 0, "{rev} PUT");
    }
}

#[test]
fn profile_import_creates_or_updates_a_profile() {
    for rev in ALL {
        let op = operation(rev, Method::Post, "/profile-import");
        assert_eq!(op.operation_id, "create_or_update_profile", "{rev}");
        assert_eq!(op.success, [200, 201], "{rev}");
        assert!(op.succeeds_with(201) && !op.succeeds_with(202));
        let body = op.body.expect("profile-import takes a body");
        assert_eq!(body.data_type, Some("profile"), "{rev}");
        assert!(!body.data_is_array && body.required, "{rev}");
        assert_eq!(body.content_type, "application/vnd.api+json");
        assert_eq!(op.returns, Some("profile"), "{rev}");
        assert_eq!(op.scopes, ["profiles:write"], "{rev}");
        assert_eq!(op.max_batch, None, "{rev}");
        let additional = &op.additional_fields[0];
        assert_eq!(additional.resource_type, "profile");
        assert_eq!(additional.values, ["subscriptions", "predictive_analytics"]);
        assert!(op.declares("additional-fields[profile]"));
    }
}

#[test]
fn events_are_created_asynchronously_and_never_changed() {
    for rev in ALL {
        let op = operation(rev, Method::Post, "/events");
        assert_eq!(op.success, [202], "{rev}");
        assert_eq!(op.body.and_then(|b| b.data_type), Some("event"), "{rev}");
        assert_eq!(op.returns, None, "{rev}: a 202 has no body");
        let events = revision(rev).resource("events").expect("events");
        assert!(events.list.is_some() && events.get_one.is_some(), "{rev}");
        assert_eq!(events.create.map(|o| o.operation_id), Some("create_event"));
        assert!(events.update.is_none() && events.delete.is_none(), "{rev}");
    }
}

#[test]
fn list_membership_takes_up_to_1000_profiles() {
    for rev in ALL {
        for method in [Method::Post, Method::Delete] {
            let op = operation(rev, method, "/lists/{id}/relationships/profiles");
            assert_eq!(op.success, [204], "{rev} {method}");
            assert_eq!(
                op.max_batch,
                Some(BatchLimit {
                    max: 1000,
                    items: "profiles"
                }),
                "{rev} {method}"
            );
            let body = op.body.expect("a body");
            assert_eq!(body.data_type, Some("profile"), "{rev} {method}");
            assert!(body.data_is_array, "{rev} {method}");
            assert_eq!(op.path_params, ["id"]);
            assert_eq!(op.scopes, ["lists:write", "profiles:write"], "{rev}");
        }
    }
}

#[test]
fn bulk_subscription_jobs() {
    for rev in ALL {
        let subscribe = operation(rev, Method::Post, "/profile-subscription-bulk-create-jobs");
        let unsubscribe = operation(rev, Method::Post, "/profile-subscription-bulk-delete-jobs");
        assert_eq!(
            subscribe.body.and_then(|b| b.data_type),
            Some("profile-subscription-bulk-create-job"),
            "{rev}"
        );
        assert_eq!(
            unsubscribe.body.and_then(|b| b.data_type),
            Some("profile-subscription-bulk-delete-job"),
            "{rev}"
        );
        for op in [subscribe, unsubscribe] {
            assert_eq!(op.success, [202], "{rev} {}", op.path);
            assert_eq!(
                op.scopes,
                ["lists:write", "profiles:write", "subscriptions:write"],
                "{rev}"
            );
            // Klaviyo offers no way to read these jobs back.
            let key = &op.path[1..];
            assert!(
                revision(rev)
                    .resource(key)
                    .is_some_and(|r| r.get_one.is_none() && r.list.is_none()),
                "{rev} {key}"
            );
        }
        // "Maximum number of profiles can be submitted for subscription: 1000"
        assert_eq!(subscribe.max_batch.map(|b| b.max), Some(1000), "{rev}");
        // "Maximum number of profile can be submitted for unsubscription: 100"
        // (2024-10-15), "Maximum number of profiles per call: 100" (later).
        assert_eq!(unsubscribe.max_batch.map(|b| b.max), Some(100), "{rev}");
    }
}

#[test]
fn every_stated_batch_size() {
    // (method, path, max, what), in every revision unless noted.
    let everywhere: &[(Method, &str, u32, &str)] = &[
        (
            Method::Post,
            "/lists/{id}/relationships/profiles",
            1000,
            "profiles",
        ),
        (
            Method::Delete,
            "/lists/{id}/relationships/profiles",
            1000,
            "profiles",
        ),
        (
            Method::Post,
            "/profile-subscription-bulk-create-jobs",
            1000,
            "profiles",
        ),
        (Method::Post, "/profile-bulk-import-jobs", 10000, "profiles"),
        (Method::Post, "/event-bulk-create-jobs", 1000, "events"),
        (
            Method::Post,
            "/profile-suppression-bulk-create-jobs",
            100,
            "Email address",
        ),
        (
            Method::Post,
            "/profile-suppression-bulk-delete-jobs",
            100,
            "Email address",
        ),
        (
            Method::Post,
            "/catalog-item-bulk-create-jobs",
            100,
            "catalog items",
        ),
        (
            Method::Post,
            "/catalog-item-bulk-update-jobs",
            100,
            "catalog items",
        ),
        (
            Method::Post,
            "/catalog-item-bulk-delete-jobs",
            100,
            "catalog items",
        ),
        (
            Method::Post,
            "/catalog-variant-bulk-create-jobs",
            100,
            "catalog variants",
        ),
        (
            Method::Post,
            "/catalog-variant-bulk-update-jobs",
            100,
            "catalog variants",
        ),
        (
            Method::Post,
            "/catalog-variant-bulk-delete-jobs",
            100,
            "catalog variants",
        ),
        (
            Method::Post,
            "/catalog-category-bulk-create-jobs",
            100,
            "catalog categories",
        ),
        (
            Method::Post,
            "/catalog-category-bulk-update-jobs",
            100,
            "catalog categories",
        ),
        (
            Method::Post,
            "/catalog-category-bulk-delete-jobs",
            100,
            "catalog categories",
        ),
    ];
    let later: &[(Method, &str, u32, &str)] = &[
        (
            Method::Post,
            "/profile-subscription-bulk-delete-jobs",
            100,
            "profiles",
        ),
        (
            Method::Post,
            "/data-source-record-bulk-create-jobs",
            500,
            "records",
        ),
        (
            Method::Post,
            "/object-record-bulk-delete-jobs",
            500,
            "object record IDs",
        ),
    ];
    let old_only: &[(Method, &str, u32, &str)] = &[(
        Method::Post,
        "/profile-subscription-bulk-delete-jobs",
        100,
        "profile",
    )];
    for rev in ALL {
        let mut expected: Vec<(Method, &str, u32, &str)> = everywhere.to_vec();
        expected.extend_from_slice(if rev == OLD { old_only } else { later });
        for &(method, path, max, items) in &expected {
            assert_eq!(
                operation(rev, method, path).max_batch,
                Some(BatchLimit { max, items }),
                "{rev} {method} {path}"
            );
        }
        // No other operation states one: a new statement is noticed here.
        let stated = revision(rev)
            .operations
            .iter()
            .filter(|op| op.max_batch.is_some())
            .count();
        assert_eq!(stated, expected.len(), "{rev}");
    }
}

#[test]
fn profiles_cannot_be_deleted_through_the_api() {
    for rev in ALL {
        let spec = revision(rev);
        assert!(
            spec.operation(Method::Delete, "/profiles/{id}").is_none(),
            "{rev}"
        );
        let profiles = spec.resource("profiles").expect("profiles");
        assert_eq!(profiles.key, "profiles");
        assert_eq!(profiles.list.map(|c| c.resource_type), Some("profile"));
        assert_eq!(
            profiles.get_one.map(|o| o.operation_id),
            Some("get_profile")
        );
        assert_eq!(
            profiles.create.map(|o| o.operation_id),
            Some("create_profile")
        );
        assert_eq!(
            profiles.update.map(|o| o.operation_id),
            Some("update_profile")
        );
        assert!(profiles.delete.is_none(), "{rev}");
        assert_eq!(spec.resource("/profiles").map(|r| r.key), Some("profiles"));
        // Create-or-update is its own key, with only a create.
        let import = spec.resource("profile-import").expect("profile-import");
        assert_eq!(import.create.map(|o| o.path), Some("/profile-import"));
        assert!(import.list.is_none() && import.get_one.is_none() && import.update.is_none());
    }
}

#[test]
fn get_profile_includes_and_additional_fields() {
    let expected: [(&str, &[&str]); 3] = [
        (OLD, &["lists", "segments"]),
        (MID, &["conversations", "lists", "push-tokens", "segments"]),
        (NEW, &["conversations", "lists", "push-tokens", "segments"]),
    ];
    for (rev, include) in expected {
        let op = operation(rev, Method::Get, "/profiles/{id}");
        assert!(op.is_get_by_id());
        assert_eq!(op.include, include, "{rev}");
        assert!(
            op.can_include("lists") && !op.can_include("events"),
            "{rev}"
        );
        assert_eq!(op.returns, Some("profile"), "{rev}");
        assert_eq!(op.success, [200], "{rev}");
        assert!(op.body.is_none(), "{rev}");
        assert!(op.sparse_fieldsets.contains(&"profile"), "{rev}");
        assert_eq!(
            op.additional_fields[0].values,
            ["subscriptions", "predictive_analytics"]
        );
        assert_eq!(op.scopes, ["profiles:read"], "{rev}");
    }
}

#[test]
fn body_types_that_differ_from_the_path() {
    for rev in ALL {
        for (path, data_type) in [
            ("/campaign-clone", "campaign"),
            ("/campaign-message-assign-template", "campaign-message"),
            ("/template-clone", "template"),
            ("/template-render", "template"),
            ("/profile-import", "profile"),
        ] {
            let op = operation(rev, Method::Post, path);
            assert_eq!(
                op.body.and_then(|b| b.data_type),
                Some(data_type),
                "{rev} {path}"
            );
        }
        let upload = operation(rev, Method::Post, "/image-upload");
        let body = upload.body.expect("a body");
        assert_eq!(body.content_type, "multipart/form-data", "{rev}");
        assert_eq!(body.data_type, None, "{rev}");
        assert_eq!(upload.returns, Some("image"), "{rev}");
    }
}

#[test]
fn daily_limits_and_rate_limits() {
    for rev in ALL {
        let lists = operation(rev, Method::Post, "/lists");
        assert_eq!(lists.daily_limit, Some(150), "{rev}");
        assert_eq!(
            lists.rate_limit,
            Some(RateLimit {
                burst_per_second: 10,
                steady_per_minute: 150
            }),
            "{rev}"
        );
        assert_eq!(
            operation(rev, Method::Post, "/segments").daily_limit,
            Some(100)
        );
        assert_eq!(
            operation(rev, Method::Post, "/profile-import").daily_limit,
            None
        );
        assert_eq!(
            operation(rev, Method::Post, "/events").rate_limit,
            Some(RateLimit {
                burst_per_second: 350,
                steady_per_minute: 3500
            }),
            "{rev}"
        );
    }
}

#[test]
fn resources_follow_the_path_convention() {
    for rev in revisions() {
        let resources = rev.resources();
        assert!(
            resources.windows(2).all(|w| w[0].key < w[1].key),
            "{}",
            rev.revision
        );
        for r in &resources {
            for op in [r.get_one, r.update, r.delete].into_iter().flatten() {
                let (base, last) = op.path.rsplit_once('/').expect("two segments");
                assert_eq!(base, format!("/{}", r.key), "{}", rev.revision);
                assert!(last.starts_with('{'), "{}", op.path);
            }
            if let Some(create) = r.create {
                assert_eq!(create.method, Method::Post);
                assert_eq!(create.path, format!("/{}", r.key));
            }
        }
        let lists = rev.resource("lists").expect("lists");
        assert!(
            lists.get_one.is_some()
                && lists.create.is_some()
                && lists.update.is_some()
                && lists.delete.is_some(),
            "{}",
            rev.revision
        );
        // Jobs are read back at `/<x>-jobs/{job_id}`.
        let job = rev
            .resource("profile-bulk-import-jobs")
            .expect("import jobs");
        assert_eq!(
            job.get_one.map(|o| o.path),
            Some("/profile-bulk-import-jobs/{job_id}")
        );
        assert!(rev.resource("no-such-things").is_none());
        // Images are created from a URL (`POST /images`) or uploaded
        // (`POST /image-upload`), and never deleted.
        let images = rev.resource("images").expect("images");
        assert!(
            images.create.is_some() && images.update.is_some(),
            "{}",
            rev.revision
        );
        assert!(images.delete.is_none(), "{}", rev.revision);
        let upload = rev.resource("image-upload").expect("image-upload");
        assert_eq!(
            upload.create.and_then(|o| o.body).map(|b| b.content_type),
            Some("multipart/form-data")
        );
        // Types with a get-by-id (Lookup Object's dropdown) include profiles.
        assert!(
            resources
                .iter()
                .any(|r| r.key == "profiles" && r.get_one.is_some())
        );
    }
}

#[test]
fn methods_by_name() {
    for m in Method::ALL {
        assert_eq!(Method::from_name(m.as_str()), Some(m));
        assert_eq!(Method::from_name(&m.as_str().to_lowercase()), Some(m));
        assert_eq!(m.to_string(), m.as_str());
    }
    assert_eq!(Method::from_name("HEAD"), None);
}

// ---------------------------------------------------------------------------
// Request schemas.

/// The request schema of `method path`, which must exist.
fn request_schema(rev: &str, method: Method, path: &str) -> serde_json::Value {
    revision(rev)
        .request_schema(method, path)
        .unwrap_or_else(|| panic!("{rev}: no request schema for {method} {path}"))
}

/// Every `$ref` left anywhere in `value`.
fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(members) => {
            if let Some(serde_json::Value::String(r)) = members.get("$ref") {
                out.push(r.clone());
            }
            members.values().for_each(|v| refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn profile_import_schema_requires_data_type_and_attributes() {
    for rev in ALL {
        let schema = request_schema(rev, Method::Post, "/profile-import");
        assert_eq!(schema["type"], "object", "{rev}");
        assert_eq!(schema["required"], serde_json::json!(["data"]), "{rev}");
        let data = &schema["properties"]["data"];
        let required = data["required"]
            .as_array()
            .expect("data has a required list");
        assert!(required.contains(&"type".into()), "{rev}: {required:?}");
        assert!(
            required.contains(&"attributes".into()),
            "{rev}: {required:?}"
        );
        assert_eq!(
            data["properties"]["type"]["enum"],
            serde_json::json!(["profile"]),
            "{rev}"
        );
        let attributes = &data["properties"]["attributes"]["properties"];
        for name in ["email", "phone_number", "external_id", "first_name"] {
            assert_eq!(attributes[name]["type"], "string", "{rev} {name}");
            assert_eq!(attributes[name]["nullable"], true, "{rev} {name}");
        }
        assert_eq!(attributes["location"]["type"], "object", "{rev}");
        assert!(attributes["email"].get("example").is_none(), "{rev}");
        let mut left = Vec::new();
        refs(&schema, &mut left);
        assert!(left.is_empty(), "{rev}: unresolved {left:?}");
    }
}

#[test]
fn request_schemas_of_the_actions_bodies() {
    for rev in ALL {
        let schema = request_schema(rev, Method::Post, "/events");
        let attributes = &schema["properties"]["data"]["properties"]["attributes"];
        let required = attributes["required"].as_array().expect("a required list");
        for name in ["metric", "profile", "properties"] {
            assert!(required.contains(&name.into()), "{rev}: {required:?}");
        }
        assert_eq!(
            attributes["properties"]["unique_id"]["type"], "string",
            "{rev}"
        );
        for method in [Method::Post, Method::Delete] {
            let schema = request_schema(rev, method, "/lists/{id}/relationships/profiles");
            let item = &schema["properties"]["data"]["items"];
            assert_eq!(schema["properties"]["data"]["type"], "array", "{rev}");
            assert_eq!(
                item["properties"]["type"]["enum"],
                serde_json::json!(["profile"])
            );
            assert_eq!(item["required"], serde_json::json!(["type", "id"]), "{rev}");
        }
        let schema = request_schema(rev, Method::Post, "/profile-subscription-bulk-create-jobs");
        let profiles = &schema["properties"]["data"]["properties"]["attributes"]["properties"]["profiles"]
            ["properties"]["data"];
        assert_eq!(profiles["type"], "array", "{rev}");
        assert_eq!(
            profiles["items"]["properties"]["type"]["enum"],
            serde_json::json!(["profile"]),
            "{rev}"
        );
        let schema = request_schema(rev, Method::Post, "/image-upload");
        assert_eq!(schema["properties"]["file"]["format"], "binary", "{rev}");
    }
}

#[test]
fn every_body_has_a_request_schema() {
    for rev in revisions() {
        for op in rev.operations {
            let what = format!("{} {} {}", rev.revision, op.method, op.path);
            let Some(body) = op.body else {
                assert!(rev.request_schema(op.method, op.path).is_none(), "{what}");
                continue;
            };
            let schema = rev
                .request_schema(op.method, op.path)
                .unwrap_or_else(|| panic!("{what}: no request schema"));
            assert_eq!(schema["type"], "object", "{what}");
            let mut left = Vec::new();
            refs(&schema, &mut left);
            assert!(left.is_empty(), "{what}: unresolved {left:?}");
            if let Some(data_type) = body.data_type {
                let data = &schema["properties"]["data"];
                let resource = if body.data_is_array {
                    &data["items"]
                } else {
                    data
                };
                assert_eq!(
                    resource["properties"]["type"]["enum"],
                    serde_json::json!([data_type]),
                    "{what}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Returned schemas.

#[test]
fn returned_schemas_are_in_elastic_io_dialect() {
    for rev in revisions() {
        let schema = rev
            .returned_schema("/profiles/{id}")
            .unwrap_or_else(|| panic!("{}: no returned schema for /profiles/{{id}}", rev.revision));
        assert_eq!(
            schema["properties"]["type"]["required"], true,
            "{}",
            rev.revision
        );
        assert_eq!(
            schema["properties"]["type"]["enum"],
            serde_json::json!(["profile"])
        );
        let email = &schema["properties"]["attributes"]["properties"]["email"];
        assert_eq!(email["title"], "email", "{}", rev.revision);
        assert!(schema.get("required").is_none(), "{}", rev.revision);
        // One stored as "the list endpoint's resource" reads the same.
        let events = rev.returned_schema("/events/{id}").expect("events");
        assert_eq!(
            Some(events),
            rev.resource_schema("/events"),
            "{}",
            rev.revision
        );
        assert!(rev.returned_schema("/profiles").is_none());
    }
}

#[test]
fn every_get_by_id_has_a_returned_schema() {
    for rev in revisions() {
        for op in rev.operations.iter().filter(|op| op.is_get_by_id()) {
            let what = format!("{} {}", rev.revision, op.path);
            let schema = rev
                .returned_schema(op.path)
                .unwrap_or_else(|| panic!("{what}: no returned schema"));
            assert_eq!(
                schema["properties"]["type"]["enum"],
                serde_json::json!([op.returns.expect("a GET by id returns a resource")]),
                "{what}"
            );
        }
        let returned: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(rev.returned_schemas_json).expect("JSON");
        let gets = rev.operations.iter().filter(|op| op.is_get_by_id()).count();
        assert_eq!(returned.len(), gets, "{}", rev.revision);
    }
}

/// The generated files are canonical: one member per line in key order, each
/// line a complete JSON value, so that regenerating from the same OpenAPI
/// files gives the same bytes and a change is a diff of the lines it touches.
#[test]
fn schema_files_are_one_sorted_member_per_line() {
    for rev in revisions() {
        for (name, json) in [
            ("resources", rev.resource_schemas_json),
            ("requests", rev.request_schemas_json),
            ("returned", rev.returned_schemas_json),
        ] {
            let lines: Vec<&str> = json.lines().collect();
            assert_eq!(lines.first(), Some(&"{"), "{} {name}", rev.revision);
            assert_eq!(lines.last(), Some(&"}"), "{} {name}", rev.revision);
            let mut keys = Vec::new();
            for line in &lines[1..lines.len() - 1] {
                let member = line.strip_prefix("  ").expect("indented by two");
                let member = member.strip_suffix(',').unwrap_or(member);
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&format!("{{{member}}}"))
                        .unwrap_or_else(|e| panic!("{} {name}: {e}: {line}", rev.revision));
                keys.extend(object.into_iter().map(|(k, _)| k));
            }
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "{} {name}: keys are not sorted and unique",
                rev.revision
            );
            // The lookups search the lines for the key as written.
            for key in &keys {
                assert_eq!(
                    serde_json::to_string(key).expect("a string"),
                    format!("\"{key}\""),
                    "{} {name}: a key needs escapes",
                    rev.revision
                );
            }
            let whole: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(json).expect("the whole file is JSON");
            assert_eq!(whole.len(), keys.len(), "{} {name}", rev.revision);
        }
    }
}
