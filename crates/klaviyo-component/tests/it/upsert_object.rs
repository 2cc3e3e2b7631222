//! Upsert Object against the stand-in: profiles through
//! `POST /profile-import`, other types created or updated.

use std::time::Duration;

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use klaviyo_component::COMPONENT;

use crate::support::*;

fn body_of(h: &Harness, i: usize) -> Value {
    let requests = h.fake.requests();
    serde_json::from_str(requests[i].body.as_deref().expect("a body")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_are_created_without_an_id_and_updated_with_one() {
    let h = Harness::new(FakeConfig::empty());
    for revision in REVISIONS {
        h.fake.clear_requests();
        let created = h
            .action(
                UPSERT_OBJECT,
                json!({"revision": revision, "objectType": "lists"}),
                json!({"id": "", "name": "Newsletter"}),
            )
            .await
            .only_body();
        assert_eq!(created["type"], "list", "{revision}");
        let id = created["id"].as_str().expect("an id").to_owned();
        assert_eq!(created["attributes"]["name"], "Newsletter");
        assert_eq!(h.request_lines(), vec!["POST /api/lists"]);
        assert_eq!(
            body_of(&h, 0),
            json!({"data": {"type": "list", "attributes": {"name": "Newsletter"}}})
        );

        h.fake.clear_requests();
        let updated = h
            .action(
                UPSERT_OBJECT,
                json!({"revision": revision, "objectType": "lists"}),
                json!({"id": id, "name": "Weekly"}),
            )
            .await
            .only_body();
        assert_eq!(updated["id"], json!(id));
        assert_eq!(updated["attributes"]["name"], "Weekly");
        assert_eq!(h.request_lines(), vec![format!("PATCH /api/lists/{id}")]);
        assert_eq!(
            body_of(&h, 0),
            json!({"data": {"type": "list", "id": id, "attributes": {"name": "Weekly"}}})
        );
        assert_eq!(
            h.fake.get("lists", &id).expect("stored")["attributes"]["name"],
            "Weekly"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_fails_after_it_was_sent_is_reported_not_repeated() {
    let h = Harness::new(FakeConfig::empty()).with_env("API_REQUEST_TIMEOUT", "700");
    // Klaviyo created the list, then the answer failed: one list, one request.
    for (fault, created) in [
        (Fault::StatusAfterApplying(500), 1),
        (Fault::StatusAfterApplying(503), 1),
        (Fault::DropAfterApplying, 1),
        (Fault::Status(503), 0),
        // Applied at once, answered too late for the time limit.
        (Fault::Slow(Duration::from_millis(1_500)), 1),
        (Fault::Drop, 0),
    ] {
        let before = h.fake.ids("lists").len();
        h.fake.clear_requests();
        h.fake
            .push_fault(FaultRule::new(fault.clone()).method(Method::POST).times(5));
        let out = h
            .action(
                UPSERT_OBJECT,
                json!({"objectType": "lists"}),
                json!({"name": "Once"}),
            )
            .await;
        let (kind, message) = out.failure();
        assert_eq!(kind, "TransientError", "{fault:?}");
        assert!(
            message.ends_with(
                "POST /lists was not repeated, since Klaviyo may have carried it out already: check in Klaviyo before sending the message again"
            ),
            "{fault:?}: {message}"
        );
        assert_eq!(
            h.fake.count_requests("POST", "/lists"),
            1,
            "{fault:?}: sent once"
        );
        assert_eq!(h.fake.ids("lists").len(), before + created, "{fault:?}");
        h.fake.clear_faults();
    }
    // A PATCH neither.
    let id = h
        .fake
        .insert("lists", json!({"attributes": {"name": "x"}}))
        .expect("inserted");
    h.fake.clear_requests();
    h.fake.push_fault(
        FaultRule::new(Fault::Status(502))
            .method(Method::PATCH)
            .times(5),
    );
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "lists"}),
            json!({"id": id, "name": "y"}),
        )
        .await;
    assert!(
        out.failure()
            .1
            .contains(&format!("PATCH /lists/{id} was not repeated"))
    );
    assert_eq!(h.fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_safe_to_wait_out_even_for_a_create() {
    let h = Harness::new(FakeConfig::empty());
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(0),
        })
        .method(Method::POST),
    );
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "lists"}),
            json!({"name": "After 429"}),
        )
        .await;
    assert_eq!(out.only_body()["attributes"]["name"], "After 429");
    assert_eq!(h.fake.requests().len(), 2);
    assert_eq!(h.fake.records("lists").len(), 1, "created once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_that_lasts_rebounds_the_message() {
    let h = Harness::new(FakeConfig::empty()).with_env("API_RETRIES_COUNT", "0");
    h.fake.push_fault(FaultRule::new(Fault::Status429 {
        retry_after: Some(1),
    }));
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "lists"}),
            json!({"name": "Later"}),
        )
        .await;
    out.assert_ok();
    assert!(out.bodies().is_empty());
    assert_eq!(out.rebounds().len(), 1);
    assert!(h.fake.records("lists").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_schema_rejects_is_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(Value, Value, &str)> = vec![
        (
            json!({"objectType": "lists"}),
            json!({"name": ""}),
            "The message body is not a list that revision 2026-10-15 accepts: \"Name\" (msg.body.name) is required: map a value to it",
        ),
        (
            json!({"objectType": "lists"}),
            json!({"name": "x", "nam": "y"}),
            "The message body is not a list that revision 2026-10-15 accepts: msg.body.nam is not a field here — did you mean \"Name\" (msg.body.name)?",
        ),
        (
            json!({"objectType": "lists"}),
            json!({"name": "x", "opt_in_process": "triple"}),
            "The message body is not a list that revision 2026-10-15 accepts: \"Opt In Process\" (msg.body.opt_in_process) must be one of \"double_opt_in\" or \"single_opt_in\", got \"triple\"",
        ),
        (
            json!({"objectType": "lists"}),
            json!({"name": {"first": "x"}}),
            "The message body is not a list that revision 2026-10-15 accepts: \"Name\" (msg.body.name) must be text, got an object",
        ),
        (
            // The credential's revision is named, not the file whose rules
            // apply to it.
            json!({"objectType": "lists", "revision": "2025-01-15"}),
            json!({"name": ""}),
            "The message body is not a list that revision 2025-01-15 (the rules of 2024-10-15 apply) accepts: \"Name\" (msg.body.name) is required: map a value to it",
        ),
        (
            json!({"objectType": "profiles"}),
            json!({"first_name": "Ada"}),
            "a profile is matched by its identifiers: give at least one of \"ID\" (msg.body.id), \"Email\" (msg.body.email), \"Phone Number\" (msg.body.phone_number), \"External ID\" (msg.body.external_id), \"Anonymous ID\" (msg.body.anonymous_id)",
        ),
        (
            json!({"objectType": "profiles"}),
            json!({"email": "ada@example.com", "location": {"latitude": "north"}, "created": "2020-01-01T00:00:00Z"}),
            "The message body is not a profile that revision 2026-10-15 accepts: msg.body.created is not a field the revision's schema has: remove it",
        ),
    ];
    for (fields, body, want) in cases {
        let out = h.action(UPSERT_OBJECT, fields.clone(), body.clone()).await;
        assert_eq!(out.failure(), ("InputError", want.to_owned()), "{body}");
    }
    assert!(h.fake.requests().is_empty(), "{:?}", h.request_lines());
}

#[test]
fn metadata_is_the_request_schema_flattened() {
    for revision in REVISIONS {
        let profiles = meta(
            UPSERT_OBJECT,
            json!({"revision": revision, "objectType": "profiles"}),
        );
        let p = &profiles.input["properties"];
        for field in [
            "id",
            "email",
            "phone_number",
            "external_id",
            "first_name",
            "location",
            "properties",
        ] {
            assert!(p[field].is_object(), "{revision}: {field}");
        }
        assert!(p.get("attributes").is_none());
        let lists = meta(
            UPSERT_OBJECT,
            json!({"revision": revision, "objectType": "lists"}),
        );
        assert_eq!(lists.input["properties"]["name"]["required"], json!(true));
    }
    let types = select(UPSERT_OBJECT, "getObjectTypes", json!({}));
    assert!(types.contains(&"profiles".to_owned()) && !types.contains(&"events".to_owned()));
}

// Profiles through the stand-in's POST /profile-import: matched by id,
// email, phone number or external id; 201 created, 200 updated; 409 on
// identifiers of two profiles.

#[tokio::test(flavor = "multi_thread")]
async fn profiles_are_created_then_updated_through_profile_import() {
    let h = Harness::new(FakeConfig::empty());
    for revision in REVISIONS {
        let email = format!("ada-{revision}@example.com");
        h.fake.clear_requests();
        let created = h
            .action(
                UPSERT_OBJECT,
                json!({"revision": revision, "objectType": "profiles"}),
                json!({"email": email, "first_name": "Ada", "phone_number": "", "location": {"city": "London", "zip": ""}, "properties": {"plan": "pro"}}),
            )
            .await
            .only_body();
        assert_eq!(created["type"], "profile");
        let id = created["id"].as_str().expect("id").to_owned();
        assert_eq!(h.request_lines(), vec!["POST /api/profile-import"]);
        assert_eq!(
            body_of(&h, 0),
            json!({"data": {"type": "profile", "attributes": {
                "email": email, "first_name": "Ada",
                "location": {"city": "London"}, "properties": {"plan": "pro"}
            }}}),
            "empty fields are left out"
        );
        assert_eq!(h.fake.requests()[0].status, 201);

        h.fake.clear_requests();
        let updated = h
            .action(
                UPSERT_OBJECT,
                json!({"revision": revision, "objectType": "profiles"}),
                json!({"email": email, "last_name": "Lovelace"}),
            )
            .await
            .only_body();
        assert_eq!(updated["id"], json!(id), "matched by email");
        assert_eq!(h.fake.requests()[0].status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicting_identifiers_are_klaviyo_s_409_with_the_field_named() {
    let h = Harness::new(FakeConfig::empty());
    let first = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"email": "a@example.com"}),
        )
        .await
        .only_body();
    h.action(
        UPSERT_OBJECT,
        json!({"objectType": "profiles"}),
        json!({"email": "b@example.com", "external_id": "ext-b"}),
    )
    .await
    .assert_ok();
    h.fake.clear_requests();
    // a@'s id with b@'s external id: two profiles, one request.
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"id": first["id"], "external_id": "ext-b"}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "UpstreamError",
            "Klaviyo answered 409 (duplicate_profile): A profile already exists with one of these identifiers.".to_owned()
        )
    );
    assert_eq!(h.fake.requests().len(), 1, "a 409 is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_import_is_safe_to_repeat_after_a_5xx() {
    let h = Harness::new(FakeConfig::empty());
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).method(Method::POST));
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"email": "retry@example.com"}),
        )
        .await;
    assert_eq!(out.only_body()["attributes"]["email"], "retry@example.com");
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 2, "the 503, then the retry");
    assert_eq!(requests[0].body, requests[1].body, "the same request");
    let matching = h
        .fake
        .records("profiles")
        .into_iter()
        .filter(|p| p["attributes"]["email"] == "retry@example.com")
        .count();
    assert_eq!(matching, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn klaviyo_s_pointer_is_translated_to_the_field() {
    let h = Harness::new(FakeConfig::empty());
    // Valid by the schema, refused by Klaviyo's own rules: the stand-in
    // answers 400 with a pointer, which the error names as the input field.
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"email": "not an email"}),
        )
        .await;
    let (kind, message) = out.failure();
    assert_eq!(kind, "UpstreamError");
    assert_eq!(
        message,
        "Klaviyo answered 400 (invalid): Invalid email address: 'not an email'. [\"Email\" (msg.body.email)]"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_answered_without_a_body_is_a_success() {
    // Klaviyo answers an update of a tag 204 No Content.
    let h = Harness::new(FakeConfig::empty());
    let id = h
        .fake
        .insert("tags", json!({"attributes": {"name": "old"}}))
        .expect("tag");
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "tags"}),
            json!({"id": id, "name": "new"}),
        )
        .await;
    assert_eq!(out.only_body(), json!({"statusCode": 204, "id": id}));
    assert_eq!(h.request_lines(), vec![format!("PATCH /api/tags/{id}")]);
    assert_eq!(
        h.fake.get("tags", &id).expect("stored")["attributes"]["name"],
        "new"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_import_that_appends_is_not_repeated_after_a_5xx() {
    let h = Harness::new(FakeConfig::empty());
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).method(Method::POST));
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "profiles"}),
            json!({"email": "tags@example.com",
                   "meta": {"patch_properties": {"append": {"tags": "vip"}}}}),
        )
        .await;
    let error = out.error.expect("the 503 is reported");
    assert!(error.to_string().contains("was not repeated"), "{error}");
    assert_eq!(h.fake.requests().len(), 1, "not repeated");
}

#[test]
fn jobs_are_not_objects_to_upsert() {
    for revision in REVISIONS {
        let keys = select(
            UPSERT_OBJECT,
            "getObjectTypes",
            json!({"revision": revision}),
        );
        assert!(keys.iter().any(|k| k == "lists"), "{revision}: {keys:?}");
        assert!(
            !keys.iter().any(|k| k.ends_with("-jobs")),
            "{revision}: {keys:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operation_chosen_is_the_request_sent() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(Value, Value, &str)> = vec![
        (
            json!({"objectType": "lists", "operation": "update"}),
            json!({"name": "x"}),
            "\"ID\" is required: give msg.body.id, the id of the list to update",
        ),
        (
            json!({"objectType": "lists", "operation": "create"}),
            json!({"id": "Y6nRLr", "name": "x"}),
            "\"ID\" (msg.body.id) is given, but \"Operation\" is Create: leave it empty, or choose Update",
        ),
    ];
    for (fields, body, want) in cases {
        let out = h.action(UPSERT_OBJECT, fields.clone(), body.clone()).await;
        assert_eq!(out.failure(), ("InputError", want.to_owned()), "{body}");
    }
    assert!(h.fake.requests().is_empty(), "{:?}", h.request_lines());
    let out = h
        .action(
            UPSERT_OBJECT,
            json!({"objectType": "lists", "operation": "create"}),
            json!({"name": "Newsletter"}),
        )
        .await;
    assert_eq!(out.only_body()["type"], "list");
    assert_eq!(h.request_lines(), vec!["POST /api/lists"]);
}

/// What a mapper sends for `schema`, as getMetaModel answers it: a value
/// for every member it marks required, nothing more.
fn sample(schema: &Value) -> Value {
    sample_named("", schema)
}

/// The same for the member `name`: what its name says it holds, where
/// Klaviyo checks the form (an email address, a phone number).
fn sample_named(name: &str, schema: &Value) -> Value {
    if schema["type"] == "string" && schema.get("enum").is_none() {
        match name {
            "email" => return json!("ada@example.com"),
            "phone_number" => return json!("+15005550006"),
            _ => {}
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|o| o.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("number" | "integer") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(&schema["items"])]),
        Some("object") | None => {
            let mut out = serde_json::Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if property["required"] == json!(true) {
                    out.insert(name.clone(), sample_named(name, property));
                }
            }
            Value::Object(out)
        }
        _ => match schema["format"].as_str() {
            Some("date-time") => json!("2026-01-01T00:00:00Z"),
            Some("date") => json!("2026-01-01"),
            _ => json!("x"),
        },
    }
}

/// Types whose body holds one of several objects (`oneOf`), which the
/// metadata offers as an object of any members: what the chosen one
/// requires cannot be read from it (issue 23, item 4, not yet done).
const ONE_OF_OBJECTS: &[&str] = &[
    "brand-social-groups",
    "campaigns",
    "flow-actions",
    "flows",
    "segments",
    "template-universal-content",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_offered_type_and_operation_gets_through_the_stand_in() {
    let mut problems = Vec::new();
    let mut sent = 0;
    for spec in klaviyo_spec::revisions() {
        // A stand-in of its own per revision: the samples are the same.
        let h = Harness::new(FakeConfig::empty());
        let revision = spec.revision;
        let types = select(
            UPSERT_OBJECT,
            "getObjectTypes",
            json!({"revision": revision}),
        );
        for key in types.iter().filter(|k| *k != "profiles") {
            for operation in ["create", "update"] {
                let fields =
                    json!({"revision": revision, "objectType": key, "operation": operation});
                let model = COMPONENT
                    .function(UPSERT_OBJECT)
                    .and_then(|f| f.meta_model)
                    .expect("a getMetaModel");
                let Ok(model) = model(&h.cfg(fields.clone())) else {
                    continue; // the revision has no such request for the type
                };
                let input = sample(&model.input);
                h.fake.clear_requests();
                let out = h.action(UPSERT_OBJECT, fields, input.clone()).await;
                let what = format!("{revision} {key} {operation} {input}");
                let went = !h.fake.requests().is_empty();
                let error = out.error.as_ref().map(ToString::to_string);
                let refused = match &error {
                    None => false,
                    // An update of an object the stand-in does not hold: the
                    // body passed its check.
                    Some(e) if operation == "update" && e.contains("answered 404") => false,
                    // A request the stand-in checks but does not carry out.
                    Some(e) if e.contains("the stand-in checked the request") => false,
                    Some(_) => true,
                };
                sent += usize::from(went);
                if ONE_OF_OBJECTS.contains(&key.as_str()) {
                    continue;
                }
                if !went || refused {
                    problems.push(format!("{what}: {error:?}"));
                }
            }
        }
    }
    assert!(sent > 100, "{sent} requests");
    assert_eq!(problems, Vec::<String>::new());
}
