//! Lookup Object (at most one) against the stand-in.

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

fn profile(h: &Harness, email: &str, phone: &str, external: &str) -> String {
    h.fake
        .insert(
            "profiles",
            json!({"attributes": {"email": email, "phone_number": phone, "external_id": external, "first_name": "Ada"}}),
        )
        .expect("inserted")
}

#[tokio::test(flavor = "multi_thread")]
async fn by_id_at_both_revisions() {
    let h = Harness::new(FakeConfig::empty());
    let id = profile(&h, "ada@example.com", "+15005550006", "ext-1");
    for revision in REVISIONS {
        h.fake.clear_requests();
        let out = h
            .action(
                LOOKUP_OBJECT,
                json!({"revision": revision, "objectType": "profiles"}),
                json!({"id": id}),
            )
            .await;
        let body = out.only_body();
        assert_eq!(body["type"], "profile", "{revision}");
        assert_eq!(body["id"], json!(id));
        assert_eq!(body["attributes"]["email"], "ada@example.com");
        assert_eq!(h.request_lines(), vec![format!("GET /api/profiles/{id}")]);
        let requests = h.fake.requests();
        assert_eq!(requests[0].header("revision"), Some(*revision));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn by_email_phone_number_and_external_id() {
    let h = Harness::new(FakeConfig::empty());
    let id = profile(&h, "ada@example.com", "+15005550006", "ext-1");
    profile(&h, "grace@example.com", "+15005550007", "ext-2");
    for revision in REVISIONS {
        for (criterion, value) in [
            ("email", "ada@example.com"),
            ("phone_number", "+15005550006"),
            ("external_id", "ext-1"),
        ] {
            h.fake.clear_requests();
            let out = h
                .action(
                    LOOKUP_OBJECT,
                    json!({"revision": revision, "objectType": "profiles", "lookupBy": criterion}),
                    json!({ criterion: value }),
                )
                .await;
            let body = out.only_body();
            assert_eq!(body["id"], json!(id), "{revision} {criterion}");
            let requests = h.fake.requests();
            assert_eq!(requests.len(), 1);
            assert_eq!(
                decode(&requests[0].path_and_query),
                format!("filter=equals({criterion},'{value}')&page[size]=100"),
                "{revision} {criterion}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_matches_are_an_error_that_names_the_count() {
    let h = Harness::new(FakeConfig::empty());
    profile(&h, "twin@example.com", "+15005550006", "ext-1");
    profile(&h, "twin@example.com", "+15005550007", "ext-2");
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles", "lookupBy": "email"}),
            json!({"email": "twin@example.com"}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "InputError",
            "Lookup Object found 2 profiles with \"Email\" \"twin@example.com\", and emits at most one: use Lookup Objects (plural) to get all of them".to_owned()
        )
    );
    assert!(out.bodies().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_found_is_an_error_unless_zero_results_are_allowed() {
    let h = Harness::new(FakeConfig::empty());
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"id": "NOPE"}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "UpstreamError",
            "Klaviyo answered 404 (not_found): A profile with id NOPE does not exist. Check the id, or check \"Allow zero results\" to emit an empty message when nothing is found".to_owned()
        )
    );
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles", "lookupBy": "email"}),
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "UpstreamError",
            "No profile has \"Email\" \"nobody@example.com\". Check the value, or check \"Allow zero results\" to emit an empty message when nothing is found".to_owned()
        )
    );
    for checked in [json!(true), json!("on")] {
        for (fields, body) in [
            (json!({"objectType": "profiles"}), json!({"id": "NOPE"})),
            (
                json!({"objectType": "profiles", "lookupBy": "email"}),
                json!({"email": "nobody@example.com"}),
            ),
        ] {
            let mut fields = fields;
            fields["allowZeroResults"] = checked.clone();
            let out = h.action(LOOKUP_OBJECT, fields, body).await;
            assert_eq!(out.only_body(), json!({}));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn related_resources_come_as_klaviyo_s_document() {
    let h = Harness::new(FakeConfig::empty());
    let id = profile(&h, "ada@example.com", "+15005550006", "ext-1");
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles", "include": ["lists", "segments"]}),
            json!({"id": id}),
        )
        .await;
    let body = out.only_body();
    assert_eq!(body["data"]["id"], json!(id));
    assert!(body.get("links").is_some(), "the whole document: {body}");
    assert_eq!(
        h.request_lines(),
        vec![format!("GET /api/profiles/{id}?include=lists%2Csegments")]
    );
    // By email: the list finds the id, the get-by-id includes.
    h.fake.clear_requests();
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles", "lookupBy": "email", "include": "lists"}),
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(out.only_body()["data"]["id"], json!(id));
    let lines = h.request_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1], format!("GET /api/profiles/{id}?include=lists"));
}

#[tokio::test(flavor = "multi_thread")]
async fn other_types_by_id() {
    let h = Harness::new(FakeConfig::default());
    let list = h.fake.ids("lists")[0].clone();
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "lists"}),
            json!({"id": list}),
        )
        .await;
    assert_eq!(out.only_body()["type"], "list");
    assert_eq!(out.raw_bodies().len(), 1);
    assert!(!out.raw_bodies()[0].contains('\n'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_waited_out_and_one_that_lasts_rebounds_the_message() {
    let h = Harness::new(FakeConfig::empty());
    let id = profile(&h, "ada@example.com", "+15005550006", "ext-1");
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(0),
        })
        .method(Method::GET),
    );
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"id": id}),
        )
        .await;
    assert_eq!(out.only_body()["id"], json!(id));
    assert_eq!(h.fake.requests().len(), 2, "the 429, then the answer");

    let h = h.with_env("API_RETRIES_COUNT", "1");
    h.fake.clear_requests();
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(0),
        })
        .times(2),
    );
    let out = h
        .action(
            LOOKUP_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"id": id}),
        )
        .await;
    out.assert_ok();
    assert!(out.bodies().is_empty());
    let rebounds = out.rebounds();
    assert_eq!(rebounds.len(), 1, "{:?}", out.events);
    assert!(
        rebounds[0].starts_with("Klaviyo answered 429"),
        "{rebounds:?}"
    );
    assert_eq!(h.fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_and_fields_are_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(Value, Value, &str, &str)> = vec![
        (
            json!({"objectType": "profiles"}),
            json!({}),
            "InputError",
            "\"ID\" is required: give msg.body.id, the value to look the profile up by",
        ),
        (
            json!({"objectType": "profiles", "lookupBy": "email"}),
            json!({"email": ""}),
            "InputError",
            "\"Email\" is required: give msg.body.email, the value to look the profile up by",
        ),
        (
            json!({"objectType": "profiles", "lookupBy": "email"}),
            json!({"emal": "ada@example.com"}),
            "InputError",
            "unknown member `emal` of the message body — did you mean `email` (Email)?",
        ),
        (
            json!({"objectType": "profiles"}),
            json!({"id": ["a", "b"]}),
            "InputError",
            "\"ID\" (msg.body.id) must be text, got a list",
        ),
        (
            json!({"objectType": "profiles"}),
            json!({"id": ".."}),
            "InputError",
            "\"ID\" \"..\" is not an id",
        ),
        (
            json!({"objectType": "lists", "lookupBy": "email"}),
            json!({"email": "x"}),
            "ConfigurationError",
            "\"Lookup by\" must be one of \"id\", got \"email\": only profiles are looked up by email; a list is looked up by its id",
        ),
        (
            json!({"objectType": "profile"}),
            json!({"id": "x"}),
            "ConfigurationError",
            "\"Object Type\" has no object type \"profile\" that Lookup Object can read by id in revision 2026-10-15 — did you mean \"profiles\"?",
        ),
        (
            json!({"objectType": "profiles", "include": ["list"]}),
            json!({"id": "x"}),
            "ConfigurationError",
            "\"Include related resources\" has no \"list\" for Profiles in revision 2026-10-15 — did you mean \"lists\"?",
        ),
    ];
    for (fields, body, kind, want) in cases {
        let out = h.action(LOOKUP_OBJECT, fields.clone(), body.clone()).await;
        assert_eq!(out.failure(), (kind, want.to_owned()), "{fields} {body}");
    }
    assert!(h.fake.requests().is_empty(), "nothing was sent");
}

#[test]
fn select_models_and_metadata() {
    assert_eq!(
        select(
            LOOKUP_OBJECT,
            "getLookupCriteria",
            json!({"objectType": "profiles"})
        ),
        vec!["id", "email", "phone_number", "external_id"]
    );
    assert_eq!(
        select(
            LOOKUP_OBJECT,
            "getIncludes",
            json!({"revision": "2024-10-15", "objectType": "profiles"})
        ),
        vec!["lists", "segments"]
    );
    assert_eq!(
        select(
            LOOKUP_OBJECT,
            "getIncludes",
            json!({"objectType": "profiles"})
        ),
        vec!["conversations", "lists", "push-tokens", "segments"]
    );
    let types = select(LOOKUP_OBJECT, "getObjectTypes", json!({}));
    assert_eq!(&types[..3], &["profiles", "events", "lists"]);
    let model = meta(
        LOOKUP_OBJECT,
        json!({"objectType": "profiles", "lookupBy": "phone_number"}),
    );
    assert_eq!(
        model.input["properties"]["phone_number"]["required"],
        json!(true)
    );
    assert_eq!(
        model.output["properties"]["type"]["enum"],
        json!(["profile"])
    );
}
