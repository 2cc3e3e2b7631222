//! `POST /api/profile-import`: create or update by Klaviyo's matching rules;
//! and the same identity rules on `POST /api/profiles`.

use std::time::Duration;

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::{Api, REV, enc, ids};

fn import(api: &Api, data: Value) -> crate::Resp {
    api.send("POST", "/profile-import", REV, &json!({ "data": data }))
}

fn profile(attrs: Value) -> Value {
    json!({"type": "profile", "attributes": attrs})
}

#[test]
fn creates_201_then_updates_200_by_email_phone_or_external_id() {
    let api = Api::new(FakeConfig::empty().size("profiles", 5));
    let r = import(
        &api,
        profile(json!({"email": "ada@example.com", "first_name": "Ada", "external_id": "crm-1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26, "a ULID");
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["email"], "ada@example.com");
    assert_eq!(a["properties"], json!({}));
    assert!(a["location"].is_object());
    assert_eq!(a["created"], a["updated"]);
    assert_eq!(api.fake.ids("profiles").len(), 6);

    for (attrs, what) in [
        (
            json!({"email": "ada@example.com", "last_name": "Lovelace"}),
            "email",
        ),
        (
            json!({"external_id": "crm-1", "phone_number": "+15005550006"}),
            "external id",
        ),
        (
            json!({"phone_number": "+15005550006", "title": "Countess"}),
            "phone number",
        ),
    ] {
        let r = import(&api, profile(attrs));
        assert_eq!(r.status, 200, "{what}: {}", r.text);
        assert_eq!(r.json()["data"]["id"], id.as_str(), "{what}");
    }
    let a = api.fake.get("profiles", &id).unwrap()["attributes"].clone();
    assert_eq!(
        (
            a["first_name"].as_str(),
            a["last_name"].as_str(),
            a["title"].as_str()
        ),
        (Some("Ada"), Some("Lovelace"), Some("Countess")),
        "attributes left out are kept"
    );
    assert_eq!(a["phone_number"], "+15005550006");
    assert_eq!(
        api.fake.ids("profiles").len(),
        6,
        "nothing else was created"
    );

    // Null clears; the update is visible to a poll by `updated`.
    std::thread::sleep(Duration::from_millis(1100));
    let r = import(
        &api,
        profile(json!({"email": "ada@example.com", "title": null})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["attributes"]["title"], Value::Null);
    assert_ne!(r.json()["data"]["attributes"]["updated"], a["updated"]);
}

#[test]
fn by_id_when_given_and_404_for_an_unknown_one() {
    let api = Api::small();
    let existing = api
        .fake
        .get("profiles", &api.fake.ids("profiles")[2])
        .unwrap();
    let id = existing["id"].as_str().unwrap();
    let r = import(
        &api,
        json!({"type": "profile", "id": id, "attributes": {"first_name": "Grace"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["id"], id);
    assert_eq!(r.json()["data"]["attributes"]["first_name"], "Grace");
    assert_eq!(
        r.json()["data"]["attributes"]["email"],
        existing["attributes"]["email"]
    );
    let r = import(
        &api,
        json!({"type": "profile", "id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "attributes": {"email": "x@example.com"}}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.detail(),
        "A profile with id 01HZZZZZZZZZZZZZZZZZZZZZZZ does not exist."
    );
}

#[test]
fn identifiers_of_two_profiles_are_a_409_duplicate_profile() {
    let api = Api::new(FakeConfig::empty().size("profiles", 0));
    let a = import(&api, profile(json!({"email": "a@example.com"}))).json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = import(&api, profile(json!({"phone_number": "+15005550007"}))).json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = import(
        &api,
        profile(json!({"email": "a@example.com", "phone_number": "+15005550007"})),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    let e = r.error();
    assert_eq!(e["code"], "duplicate_profile");
    assert_eq!(e["title"], "Conflict.");
    assert_eq!(
        e["detail"],
        "A profile already exists with one of these identifiers."
    );
    assert_eq!(e["source"]["pointer"], "/data/attributes");
    assert_eq!(e["meta"]["duplicate_profile_id"], b.as_str());
    // By id, an identifier another profile holds.
    let r = import(
        &api,
        json!({"type": "profile", "id": a, "attributes": {"phone_number": "+15005550007"}}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["meta"]["duplicate_profile_id"], b.as_str());
    // POST /profiles: an identifier that is taken is a 409 too; PATCH likewise.
    let r = api.send(
        "POST",
        "/profiles",
        REV,
        &json!({"data": profile(json!({"email": "a@example.com"}))}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["meta"]["duplicate_profile_id"], a.as_str());
    let r = api.send(
        "PATCH",
        &format!("/profiles/{b}"),
        REV,
        &json!({"data": {"type": "profile", "id": b, "attributes": {"email": "a@example.com"}}}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["meta"]["duplicate_profile_id"], a.as_str());
    assert_eq!(api.fake.ids("profiles").len(), 2);
}

#[test]
fn a_profile_needs_an_identifier() {
    let api = Api::small();
    let r = import(&api, profile(json!({"first_name": "Nobody"})));
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["pointer"], "/data/attributes");
}

#[test]
fn generated_profiles_are_matched_too_and_writes_seen_before_they_show() {
    let api = Api::small();
    api.fake.set_visibility_delay(Duration::from_millis(300));
    let some = api
        .fake
        .records("profiles")
        .into_iter()
        .find(|p| p["attributes"]["email"].is_string())
        .unwrap();
    let email = some["attributes"]["email"].as_str().unwrap().to_owned();
    let r = import(
        &api,
        profile(json!({"email": email, "organization": "Acme"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["id"], some["id"]);
    // A profile just created is matched again at once, though lists do not
    // show it yet.
    let first = import(&api, profile(json!({"email": "fresh@example.com"})));
    assert_eq!(first.status, 201);
    let again = import(&api, profile(json!({"email": "fresh@example.com"})));
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["data"]["id"], first.json()["data"]["id"]);
    let by_email = format!(
        "/profiles?filter={}",
        enc("equals(email,'fresh@example.com')")
    );
    assert!(api.get(&by_email).data().is_empty());
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(ids(&api.get(&by_email).data()).len(), 1);
}

#[test]
fn patch_properties_and_additional_fields() {
    let api = Api::new(FakeConfig::empty());
    let r = import(
        &api,
        profile(json!({"email": "p@example.com", "properties": {"tags": ["a"], "old": 1}})),
    );
    assert_eq!(r.status, 201);
    let r = api.send(
        "POST",
        "/profile-import?additional-fields%5Bprofile%5D=subscriptions",
        REV,
        &json!({"data": {"type": "profile", "attributes": {"email": "p@example.com", "properties": {"new": true}},
            "meta": {"patch_properties": {"append": {"tags": "b"}, "unset": "old"}}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["properties"], json!({"tags": ["a", "b"], "new": true}));
    assert_eq!(
        a["subscriptions"]["email"]["marketing"]["consent"],
        "NEVER_SUBSCRIBED"
    );
}
