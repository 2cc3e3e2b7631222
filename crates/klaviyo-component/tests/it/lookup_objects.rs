//! Lookup Objects (plural) against the stand-in.

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::support::*;

/// A stand-in with `n` profiles whose emails are `p1@example.com` … and
/// whose first name is "Ada", plus one other.
fn account(n: usize) -> (Harness, Vec<String>) {
    let h = Harness::new(FakeConfig::empty());
    let ids = (1..=n)
        .map(|i| {
            h.fake
                .insert(
                    "profiles",
                    json!({"attributes": {"email": format!("p{i}@example.com"), "first_name": "Ada"}}),
                )
                .expect("inserted")
        })
        .collect();
    h.fake
        .insert(
            "profiles",
            json!({"attributes": {"email": "other@example.com"}}),
        )
        .expect("inserted");
    (h, ids)
}

fn emails(n: usize) -> Value {
    json!(
        (1..=n)
            .map(|i| format!("p{i}@example.com"))
            .collect::<Vec<_>>()
    )
}

fn ids_in(records: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn matching_records_one_by_one_at_both_revisions() {
    let (h, mut ids) = account(3);
    ids.sort();
    for revision in REVISIONS {
        h.fake.clear_requests();
        let out = h
            .action(
                LOOKUP_OBJECTS,
                json!({"revision": revision, "objectType": "profiles"}),
                json!({"email": {"any": emails(3)}}),
            )
            .await;
        out.assert_ok();
        let bodies = out.bodies();
        assert_eq!(bodies.len(), 3, "{revision}: one message per record");
        assert_eq!(ids_in(&bodies), ids);
        let requests = h.fake.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            decode(&requests[0].path_and_query),
            "filter=any(email,['p1@example.com','p2@example.com','p3@example.com'])&page[size]=100"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn emit_modes() {
    let (h, ids) = account(5);
    let conditions = json!({"email": {"any": emails(5)}});
    let pages = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "emitBehavior": "emitPage", "pageSize": "2"}),
            conditions.clone(),
        )
        .await;
    pages.assert_ok();
    let sizes: Vec<usize> = pages
        .bodies()
        .iter()
        .map(|b| b["results"].as_array().expect("results").len())
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    for behavior in ["emitAll", "fetchAll"] {
        let all = h
            .action(
                LOOKUP_OBJECTS,
                json!({"objectType": "profiles", "emitBehavior": behavior}),
                conditions.clone(),
            )
            .await;
        let body = all.only_body();
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, vec!["results"]);
        let mut want = ids.clone();
        want.sort();
        assert_eq!(ids_in(body["results"].as_array().expect("results")), want);
    }
    // Nothing matches: nothing one by one, an empty page otherwise.
    let none = json!({"email": {"equals": "nobody@example.com"}});
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles"}),
            none.clone(),
        )
        .await;
    out.assert_ok();
    assert!(out.bodies().is_empty());
    for behavior in ["emitPage", "emitAll"] {
        let out = h
            .action(
                LOOKUP_OBJECTS,
                json!({"objectType": "profiles", "emitBehavior": behavior}),
                none.clone(),
            )
            .await;
        assert_eq!(out.only_body(), json!({"results": []}), "{behavior}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_the_maximum_is_refused_not_truncated() {
    let (h, _) = account(5);
    h.fake.set_page_cap(Some(2));
    let conditions = json!({"first_name": {"equals": "Ada"}});
    // first_name is no filter field of /profiles: the revision decides.
    let refused = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles"}),
            conditions,
        )
        .await;
    assert_eq!(refused.failure().0, "InputError");
    assert!(h.fake.requests().is_empty());

    let conditions = json!({"email": {"any": emails(5)}});
    let at_the_maximum = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "maxResults": "5"}),
            conditions.clone(),
        )
        .await;
    at_the_maximum.assert_ok();
    assert_eq!(at_the_maximum.bodies().len(), 5);

    h.fake.clear_requests();
    let above = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "maxResults": "4", "emitBehavior": "emitAll"}),
            conditions,
        )
        .await;
    assert_eq!(
        above.failure(),
        (
            "ConfigurationError",
            "Lookup Objects found more than 4 profiles matching the conditions and emits none of them rather than a part: raise \"Maximum number of results\" (up to 10000) or narrow the conditions".to_owned()
        )
    );
    assert!(above.bodies().is_empty(), "nothing emitted");
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 3, "pages of 2 until the fifth record");
    assert!(decode(&requests[0].path_and_query).ends_with("&page[size]=5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sorted_as_chosen() {
    let (h, _) = account(2);
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "sort": "-created"}),
            json!({"email": {"any": emails(2)}}),
        )
        .await;
    out.assert_ok();
    assert!(decode(&h.fake.requests()[0].path_and_query).contains("&sort=-created&"));
}

#[tokio::test(flavor = "multi_thread")]
async fn conditions_the_revision_does_not_allow_are_refused_before_any_request() {
    let (h, _) = account(1);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "2024-10-15",
            json!({"updated": {"greater-or-equal": "2026-01-01T00:00:00Z"}}),
            "\"Updated\" (msg.body.updated) allows \"less-than\" or \"greater-than\" in revision 2024-10-15, not \"greater-or-equal\"",
        ),
        (
            // The credential's revision, and the file whose rules applied.
            "2025-04-15",
            json!({"updated": {"greater-or-equal": "2026-01-01T00:00:00Z"}}),
            "\"Updated\" (msg.body.updated) allows \"less-than\" or \"greater-than\" in revision 2025-04-15 (the rules of 2024-10-15 apply), not \"greater-or-equal\"",
        ),
        (
            "2026-10-15",
            json!({"emal": {"equals": "x"}}),
            "msg.body.emal is not a condition /profiles allows in revision 2026-10-15 — did you mean `email` (Email)?",
        ),
        (
            "2026-10-15",
            json!({"created": {"greater-than": "last week"}}),
            "\"Created greater-than\" (msg.body.created.greater-than) must be a date and time in ISO 8601, such as 2026-01-31T12:00:00Z, got \"last week\"",
        ),
    ];
    for (revision, body, want) in cases {
        let out = h
            .action(
                LOOKUP_OBJECTS,
                json!({"revision": revision, "objectType": "profiles"}),
                body.clone(),
            )
            .await;
        assert_eq!(out.failure(), ("InputError", want.to_owned()), "{body}");
    }
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"revision": "2024-10-15", "objectType": "campaigns"}),
            json!({}),
        )
        .await;
    assert_eq!(
        out.failure().1,
        "Klaviyo's revision 2024-10-15 lists /campaigns only with a condition on \"messages.channel\": map one, e.g. msg.body.messages.channel"
    );
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "pageSize": "0", "emitBehavior": "emitPage"}),
            json!({}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "ConfigurationError",
            "\"Page Size\" must be a whole number between 1 and 1000, got \"0\"".to_owned()
        )
    );
    assert!(h.fake.requests().is_empty());
}

#[test]
fn the_input_lists_the_conditions_of_the_revision() {
    let old = meta(
        LOOKUP_OBJECTS,
        json!({"revision": "2024-10-15", "objectType": "profiles"}),
    );
    let new = meta(
        LOOKUP_OBJECTS,
        json!({"revision": "2026-10-15", "objectType": "campaigns"}),
    );
    let ops = |m: &component_sdk::MetaModel, field: &str| -> Vec<String> {
        m.input["properties"][field]["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(ops(&old, "updated"), vec!["greater-than", "less-than"]);
    assert!(ops(&new, "updated_at").contains(&"greater-or-equal".to_owned()));
    let paged = meta(
        LOOKUP_OBJECTS,
        json!({"objectType": "profiles", "emitBehavior": "emitPage"}),
    );
    assert_eq!(paged.output["properties"]["results"]["type"], "array");
    assert_eq!(
        select(
            LOOKUP_OBJECTS,
            "getSortValues",
            json!({"objectType": "lists"})
        ),
        vec![
            "created", "-created", "id", "-id", "name", "-name", "updated", "-updated"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_moves_while_pages_are_read_is_emitted_once() {
    let h = Harness::new(FakeConfig::empty());
    for i in 0..9 {
        let when = (chrono::Utc::now() - chrono::Duration::minutes(60 - i))
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string();
        h.fake
            .insert(
                "profiles",
                json!({"attributes": {"email": format!("m{i}@example.com"), "created": when, "updated": when}}),
            )
            .expect("inserted");
    }
    h.fake.set_page_cap(Some(3));
    // After the first page, its first record changes: sorted by updated,
    // it moves to the end and comes again.
    let first = h.fake.ids("profiles")[0].clone();
    h.fake
        .on_request(klaviyo_fake::Hook::new("/profiles", 1, move |store| {
            store.touch("/profiles", &first).expect("touch");
        }));
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"objectType": "profiles", "sort": "updated"}),
            json!({}),
        )
        .await;
    out.assert_ok();
    let ids: Vec<String> = out
        .records()
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "no record twice: {ids:?}");
    // The pages held nine records, one of them twice (an offset cursor
    // shifted by the move also skipped one, which no reader can tell).
    assert_eq!(h.request_lines().len(), 3, "{:?}", h.request_lines());
    assert_eq!(ids.len(), 8);
}

/// A server whose every page is empty and points at a new next page.
fn endless_empty_pages() -> (std::sync::Arc<std::sync::atomic::AtomicUsize>, String) {
    json_server(
        |i, base| json!({"data": [], "links": {"next": format!("{base}/profiles?page%5Bcursor%5D={i}")}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_that_bring_nothing_end_the_lookup() {
    let (count, base) = endless_empty_pages();
    let h = Harness::new(FakeConfig::empty()).with_env("KLAVIYO_BASE_URL", &base);
    let run = h.action(LOOKUP_OBJECTS, json!({"objectType": "profiles"}), json!({}));
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), run)
        .await
        .expect("the lookup ends");
    let error = out.error.expect("an error");
    assert!(error.to_string().contains("brought nothing new"), "{error}");
    let requests = count.load(std::sync::atomic::Ordering::SeqCst);
    assert!(requests <= 4, "{requests} requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_by_a_property_at_the_revision_that_filters_on_them() {
    let h = Harness::new(FakeConfig::empty());
    for order in ["A1", "A2", "A1"] {
        h.fake
            .insert(
                "events",
                json!({"attributes": {"properties": {"order_id": order}}}),
            )
            .expect("inserted");
    }
    let out = h
        .action(
            LOOKUP_OBJECTS,
            json!({"revision": "2026-10-15", "objectType": "events"}),
            json!({"properties": {"order_id": {"equals": "A1"}}}),
        )
        .await;
    out.assert_ok();
    assert_eq!(out.records().len(), 2, "{:?}", h.request_lines());
    assert!(
        h.request_lines()[0].contains("filter=equals%28properties.order_id%2C%27A1%27%29"),
        "{:?}",
        h.request_lines()
    );
}
