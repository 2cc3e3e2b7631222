//! Request bodies, checked as Klaviyo checks them: media type, JSON,
//! primary data, type and id, then the revision's request schema, the
//! first problem named with its JSON pointer.

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::{Api, REV, Resp};

/// The first error's (status, pointer, detail).
fn problem(r: &Resp) -> (u16, String, String) {
    let e = r.error();
    (
        r.status,
        e["source"]["pointer"].as_str().unwrap_or("").to_owned(),
        e["detail"].as_str().unwrap_or("").to_owned(),
    )
}

fn post(api: &Api, path: &str, rev: &str, body: Value) -> (u16, String, String) {
    problem(&api.send("POST", path, rev, &body))
}

#[test]
fn media_type_json_and_primary_data() {
    let api = Api::small();
    let auth = format!("Klaviyo-API-Key {}", api.fake.api_key());
    let body = r#"{"data":{"type":"list","attributes":{"name":"L"}}}"#;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let h = [
            ("authorization", auth.as_str()),
            ("revision", REV),
            ("content-type", ct),
        ];
        let r = api.request("POST", "/lists", &h, Some(body));
        assert_eq!(r.status, 415, "{ct}");
        assert_eq!(r.error()["code"], "unsupported_media_type");
    }
    let h = [
        ("authorization", auth.as_str()),
        ("revision", REV),
        ("content-type", "application/vnd.api+json; charset=utf-8"),
    ];
    assert_eq!(api.request("POST", "/lists", &h, Some(body)).status, 201);
    let r = api.call("POST", "/lists", REV, Some("{\"data\":"));
    assert_eq!(r.status, 400);
    assert!(
        r.detail().starts_with("JSON parse error - "),
        "{}",
        r.detail()
    );
    let (status, pointer, detail) = post(&api, "/lists", REV, json!({"type": "list"}));
    assert_eq!(
        (status, pointer.as_str(), detail.as_str()),
        (
            400,
            "/data",
            "Received document does not contain primary data"
        )
    );
}

#[test]
fn the_type_must_be_the_endpoints_and_the_id_the_urls() {
    let api = Api::small();
    let r = api.send(
        "POST",
        "/lists",
        REV,
        &json!({"data": {"type": "profile", "attributes": {"name": "x"}}}),
    );
    assert_eq!(r.status, 409);
    let e = r.error();
    assert_eq!(e["title"], "Conflict.");
    assert_eq!(e["source"]["pointer"], "/data/type");
    assert_eq!(
        e["detail"],
        "The resource object's type (profile) is not the type that constitute the collection represented by the endpoint (list)."
    );
    let id = api.fake.ids("lists")[0].clone();
    let r = api.send(
        "PATCH",
        &format!("/lists/{id}"),
        REV,
        &json!({"data": {"type": "list", "id": "OTHER", "attributes": {"name": "x"}}}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["source"]["pointer"], "/data/id");
    assert_eq!(
        r.detail(),
        format!("The resource object's id (OTHER) does not match the endpoint's id ({id}).")
    );
    let r = api.send(
        "PATCH",
        &format!("/lists/{id}"),
        REV,
        &json!({"data": {"type": "list", "attributes": {"name": "x"}}}),
    );
    assert_eq!(
        problem(&r),
        (
            400,
            "/data/id".into(),
            "The resource identifier object must contain an 'id' member".into()
        )
    );
    // Relationship endpoints check every item's type.
    let r = api.send(
        "POST",
        &format!("/lists/{id}/relationships/profiles"),
        REV,
        &json!({"data": [{"type": "profile", "id": "a"}, {"type": "list", "id": "b"}]}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["source"]["pointer"], "/data/1/type");
}

#[test]
fn the_schema_is_checked_member_by_member() {
    let api = Api::small();
    let list = |attrs: Value| json!({"data": {"type": "list", "attributes": attrs}});
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            REV,
            list(json!({})),
            "/data/attributes/name",
            "'name' is a required field for the resource 'list'.",
        ),
        (
            REV,
            list(json!({"name": "x", "colour": "red"})),
            "/data/attributes/colour",
            "'colour' is not a valid field for the resource 'list'.",
        ),
        (
            REV,
            list(json!({"name": 5})),
            "/data/attributes/name",
            "Invalid value for 'name': expected a string, got an integer.",
        ),
        (
            REV,
            list(json!({"name": null})),
            "/data/attributes/name",
            "'name' may not be null.",
        ),
        (
            // opt_in_process exists from the 2026 files on.
            REV,
            list(json!({"name": "x", "opt_in_process": "single_opt_in"})),
            "/data/attributes/opt_in_process",
            "'opt_in_process' is not a valid field for the resource 'list'.",
        ),
        (
            "2026-10-15",
            list(json!({"name": "x", "opt_in_process": "triple_opt_in"})),
            "/data/attributes/opt_in_process",
            "'triple_opt_in' is not a valid choice for 'opt_in_process'. Valid choices: 'double_opt_in', 'single_opt_in'.",
        ),
        (
            REV,
            json!({"data": {"type": "list", "attributes": {"name": "x"}, "extra": 1}}),
            "/data/extra",
            "'extra' is not a valid field for the resource 'data'.",
        ),
        (
            REV,
            json!({"data": {"attributes": {"name": "x"}}}),
            "/data/type",
            "'type' is a required field for the resource 'data'.",
        ),
    ];
    for (rev, body, pointer, detail) in cases {
        let (status, p, d) = post(&api, "/lists", rev, body.clone());
        assert_eq!(
            (status, p.as_str(), d.as_str()),
            (400, pointer, detail),
            "{rev} {body}"
        );
    }
    // The error document is Klaviyo's.
    let r = api.send("POST", "/lists", REV, &list(json!({})));
    let e = r.error();
    assert_eq!(e["status"], 400);
    assert_eq!(e["code"], "invalid");
    assert_eq!(e["title"], "Invalid input.");
    assert!(e["id"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(
        r.json()["errors"].as_array().unwrap().len(),
        1,
        "the first problem only"
    );
    assert_eq!(api.fake.count_requests("POST", "/lists"), 9);
    assert_eq!(
        api.fake.records("lists").len(),
        30,
        "nothing refused was written"
    );
}

#[test]
fn nullable_formats_and_identifiers() {
    let api = Api::small();
    let import = |attrs: Value| json!({"data": {"type": "profile", "attributes": attrs}});
    // null is allowed where the schema says `nullable`.
    let r = api.send(
        "POST",
        "/profile-import",
        REV,
        &import(json!({"email": "n@example.com", "first_name": null, "location": {"city": null}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for (attrs, pointer, detail) in [
        (
            json!({"email": "not-an-email"}),
            "/data/attributes/email",
            "Invalid email address: 'not-an-email'.",
        ),
        (
            json!({"phone_number": "555-1234"}),
            "/data/attributes/phone_number",
            "Invalid phone number format: '555-1234' (example of a valid format: +12345678901).",
        ),
        (
            json!({"email": "a@example.com", "location": {"latitude": true}}),
            "/data/attributes/location/latitude",
            "Invalid value for 'latitude': it matches none of the forms this field accepts.",
        ),
        (
            json!({"email": "a@example.com", "properties": "x"}),
            "/data/attributes/properties",
            "Invalid value for 'properties': expected an object, got a string.",
        ),
    ] {
        let (status, p, d) = post(&api, "/profile-import", REV, import(attrs.clone()));
        assert_eq!(
            (status, p.as_str(), d.as_str()),
            (400, pointer, detail),
            "{attrs}"
        );
    }
    // Custom properties take anything.
    let r = api.send(
        "POST",
        "/profile-import",
        REV,
        &import(json!({"email": "p@example.com", "properties": {"any": [1, {"thing": null}]}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // date-time members.
    let event = |time: &str| {
        json!({"data": {"type": "event", "attributes": {"properties": {}, "time": time,
            "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "e@example.com"}}}}}})
    };
    let (status, p, _) = post(&api, "/events", REV, event("yesterday"));
    assert_eq!((status, p.as_str()), (400, "/data/attributes/time"));
    assert_eq!(
        api.send("POST", "/events", REV, &event("2024-05-01 12:00:00+02:00"))
            .status,
        202
    );
}

/// Every body-taking operation of every revision refuses a body its
/// schema does not allow, with a pointer: proof that no write escapes the
/// check.
#[test]
fn every_write_of_every_revision_checks_its_body() {
    let api = Api::new(FakeConfig {
        default_size: Some(2),
        ..FakeConfig::default()
    });
    for spec in klaviyo_spec::revisions() {
        for op in spec.operations {
            let Some(body) = op.body else { continue };
            let Some(data_type) = body.data_type else {
                continue; // the multipart image upload
            };
            let path: String = op
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "X" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let data = if body.data_is_array {
                json!({"type": data_type, "id": "X", "surplus": 1})
            } else {
                json!({"type": data_type, "id": "X", "attributes": {"zz_not_a_member": 1}, "surplus": 1})
            };
            let r = api.send(
                op.method.as_str(),
                &path,
                spec.revision,
                &json!({ "data": data }),
            );
            assert_eq!(
                r.status, 400,
                "{} {} {}: {}",
                spec.revision, op.method, op.path, r.text
            );
            assert!(
                r.error()["source"]["pointer"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/data")),
                "{} {} {}: {}",
                spec.revision,
                op.method,
                op.path,
                r.text
            );
        }
    }
}
