//! What the trigger asks Klaviyo for, per object type and revision, pinned
//! by snapshots: a change in a query shows up in review.

use chrono::Utc;
use klaviyo_fake::FakeConfig;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn first_queries_of_every_object_type() {
    for revision in ["2024-10-15", "2026-10-15"] {
        let h = Harness::new(FakeConfig {
            revision: revision.into(),
            anchor: Some(Utc::now() - chrono::Duration::hours(1)),
            ..FakeConfig::empty()
        });
        let mut shapes = String::new();
        for key in object_types(revision) {
            for field in timestamp_fields(revision, &key) {
                h.fake.clear_requests();
                let out = h
                    .poll(
                        json!({"objectType": key, "pollConfig": field, "revision": revision}),
                        &json!({}),
                    )
                    .await;
                out.assert_ok();
                // Partitions are read at once: the order of their first
                // queries is not part of the shape.
                let mut queries: Vec<String> = h
                    .fake
                    .requests()
                    .iter()
                    .map(|r| {
                        assert_eq!(r.status, 200, "{} {}", r.path_and_query, r.status);
                        let path = r
                            .path_and_query
                            .split('?')
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        format!("{path}?{}", redact_times(&decode(&r.path_and_query)))
                    })
                    .collect();
                queries.sort();
                shapes.push_str(&format!("{key} on {field}:\n"));
                for q in queries {
                    shapes.push_str(&format!("  {q}\n"));
                }
            }
        }
        insta::assert_snapshot!(format!("queries_{revision}"), shapes);
    }
}

/// Datetimes in filters depend on when the test runs.
fn redact_times(query: &str) -> String {
    let bytes = query.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &query[i..];
        if rest.len() >= 20
            && rest.as_bytes()[4] == b'-'
            && rest.as_bytes()[10] == b'T'
            && rest.as_bytes()[19] == b'Z'
            && rest[..4].chars().all(|c| c.is_ascii_digit())
        {
            out.push_str("[time]");
            i += 20;
        } else {
            let c = rest.chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}
