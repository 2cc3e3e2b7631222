//! `GET /api/<type>/{id}`: Klaviyo's single-resource document, sparse
//! fieldsets, additional fields and `include`, per revision.

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::{Api, REV, seg};

#[test]
fn every_stored_type_with_a_get_by_id_serves_its_record() {
    let api = Api::new(FakeConfig {
        default_size: Some(3),
        ..FakeConfig::default()
    });
    for (coll, ty) in [
        ("profiles", "profile"),
        ("lists", "list"),
        ("segments", "segment"),
        ("campaigns", "campaign"),
        ("flows", "flow"),
        ("templates", "template"),
        ("catalog-items", "catalog-item"),
        ("catalog-variants", "catalog-variant"),
        ("catalog-categories", "catalog-category"),
        ("coupons", "coupon"),
        ("tags", "tag"),
        ("tag-groups", "tag-group"),
        ("events", "event"),
        ("metrics", "metric"),
        ("images", "image"),
        ("reviews", "review"),
    ] {
        let id = api.fake.ids(coll)[0].clone();
        let r = api.get(&format!("/{coll}/{}/", seg(&id)));
        assert_eq!(r.status, 200, "{coll}: {}", r.text);
        let doc = r.json();
        assert_eq!(doc["data"]["type"], ty, "{coll}");
        assert_eq!(doc["data"]["id"], id.as_str(), "{coll}");
        let self_link = doc["links"]["self"].as_str().unwrap();
        assert!(
            self_link.starts_with(api.fake.base_url()) && self_link.ends_with('/'),
            "{self_link}"
        );
        assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
        assert!(doc.get("included").is_none(), "{coll}: nothing asked for");
        // The same record a list serves.
        assert_eq!(doc["data"], api.fake.get(coll, &id).unwrap(), "{coll}");
    }
}

#[test]
fn unknown_ids_are_klaviyos_404() {
    let api = Api::small();
    let r = api.get("/lists/NOPE/");
    assert_eq!(r.status, 404);
    let e = r.error();
    assert_eq!(e["code"], "not_found");
    assert_eq!(e["title"], "Not found.");
    assert_eq!(e["detail"], "A list with id NOPE does not exist.");
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
    // A path the revision does not declare is a 404 too; a method it does
    // not declare on a path it knows is 405.
    assert_eq!(api.get_rev("/web-feeds/abc", "2024-10-15").status, 404);
    let id = api.fake.ids("web-feeds")[0].clone();
    assert_eq!(
        api.get_rev(&format!("/web-feeds/{id}"), "2026-07-15")
            .status,
        200
    );
    let profile = api.fake.ids("profiles")[0].clone();
    let r = api.call("DELETE", &format!("/profiles/{profile}/"), REV, None);
    assert_eq!(r.status, 405, "no DELETE /profiles/{{id}}: {}", r.text);
    assert_eq!(r.error()["code"], "method_not_allowed");
}

#[test]
fn sparse_fieldsets_and_additional_fields() {
    let api = Api::small();
    let id = api.fake.ids("profiles")[0].clone();
    let r = api.get(&format!(
        "/profiles/{id}?fields%5Bprofile%5D=email,location.city"
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<String> = r.json()["data"]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["email", "location"]);
    let r = api.get(&format!("/profiles/{id}?fields%5Bprofile%5D=shoe_size"));
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "fields[profile]");
    assert_eq!(
        r.detail(),
        "'shoe_size' is not a valid field for the resource 'profile'."
    );
    let plain = api.get(&format!("/profiles/{id}"));
    assert!(
        plain.json()["data"]["attributes"]
            .get("subscriptions")
            .is_none()
    );
    let r = api.get(&format!(
        "/profiles/{id}?additional-fields%5Bprofile%5D=subscriptions"
    ));
    assert!(r.json()["data"]["attributes"]["subscriptions"]["email"].is_object());
    let r = api.get(&format!(
        "/profiles/{id}?additional-fields%5Bprofile%5D=nope"
    ));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error()["source"]["parameter"],
        "additional-fields[profile]"
    );
    // Undeclared parameters are refused, as on lists.
    let r = api.get(&format!("/profiles/{id}?page%5Bsize%5D=1"));
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "page[size]");
}

#[test]
fn include_per_the_operations_enum() {
    let api = Api::small();
    let profile = api.fake.ids("profiles")[3].clone();
    let lists = api.fake.ids("lists");
    for l in &lists[..2] {
        let r = api.send(
            "POST",
            &format!("/lists/{l}/relationships/profiles"),
            REV,
            &json!({"data": [{"type": "profile", "id": profile}]}),
        );
        assert_eq!(r.status, 204, "{}", r.text);
    }
    let r = api.get(&format!(
        "/profiles/{profile}?include=lists&fields%5Blist%5D=name"
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = r.json();
    let mut included: Vec<&str> = doc["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "list");
            let keys: Vec<&String> = l["attributes"].as_object().unwrap().keys().collect();
            assert_eq!(keys, ["name"], "fields[list] applies to included lists");
            l["id"].as_str().unwrap()
        })
        .collect();
    included.sort_unstable();
    let mut want: Vec<&str> = lists[..2].iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(included, want);
    let linked: Vec<&Value> = doc["data"]["relationships"]["lists"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(linked.len(), 2, "full linkage in the relationship");

    // Klaviyo's 400 for an include the operation does not declare.
    let r = api.get(&format!("/profiles/{profile}?include=profiless"));
    assert_eq!(r.status, 400);
    let e = r.error();
    assert_eq!(e["source"]["parameter"], "include");
    assert_eq!(
        e["detail"],
        "'profiless' is not an allowed include parameter for this resource."
    );
    // Per revision: push-tokens can be included from 2025-04-15 on.
    assert_eq!(
        api.get(&format!("/profiles/{profile}?include=push-tokens"))
            .status,
        400
    );
    let r = api.get_rev(
        &format!("/profiles/{profile}?include=push-tokens"),
        "2026-10-15",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["included"], json!([]), "none stored");

    // Events include their metric and profile.
    let event = api.fake.ids("events")[0].clone();
    let r = api.get(&format!("/events/{event}?include=metric,profile"));
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = r.json();
    let types: Vec<&str> = doc["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"metric") && types.contains(&"profile"),
        "{types:?}"
    );
    assert_eq!(
        doc["data"]["relationships"]["metric"]["data"]["id"],
        doc["included"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "metric")
            .unwrap()["id"]
    );
}

#[test]
fn a_lists_profile_count_on_request() {
    let api = Api::small();
    let list = api.fake.ids("lists")[0].clone();
    let members: Vec<Value> = api.fake.ids("profiles")[..3]
        .iter()
        .map(|p| json!({"type": "profile", "id": p}))
        .collect();
    let r = api.send(
        "POST",
        &format!("/lists/{list}/relationships/profiles"),
        REV,
        &json!({ "data": members }),
    );
    assert_eq!(r.status, 204);
    let r = api.get(&format!(
        "/lists/{list}?additional-fields%5Blist%5D=profile_count"
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["attributes"]["profile_count"], 3);
    assert!(
        api.get(&format!("/lists/{list}")).json()["data"]["attributes"]
            .get("profile_count")
            .is_none()
    );
}

#[test]
fn the_2026_files_add_top_level_meta() {
    let api = Api::small();
    let id = api.fake.ids("lists")[0].clone();
    assert!(
        api.get(&format!("/lists/{id}"))
            .json()
            .get("meta")
            .is_none()
    );
    let r = api.get_rev(&format!("/lists/{id}"), "2026-10-15");
    assert!(r.json()["meta"].is_object());
}

#[test]
fn declared_operations_the_stand_in_does_not_carry_out_are_501() {
    let api = Api::small();
    let r = api.get("/flow-actions/123/");
    assert_eq!(r.status, 501, "{}", r.text);
    assert_eq!(r.error()["code"], "not_implemented");
    assert!(r.detail().contains("get_flow_action"), "{}", r.detail());
}
