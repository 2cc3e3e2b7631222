//! `POST /api/<type>`, `PATCH /api/<type>/{id}`, `DELETE /api/<type>/{id}`
//! on the stored collections, where the revision declares them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Api, REV, enc, ids, seg};

fn updated_of(r: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let a = &r["attributes"];
    let t = a["updated"].as_str().or(a["updated_at"].as_str()).unwrap();
    chrono::DateTime::parse_from_rfc3339(t).unwrap()
}

#[test]
fn create_update_delete_a_list_and_poll_the_changes() {
    let api = Api::small();
    let r = api.send(
        "POST",
        "/lists",
        REV,
        &json!({"data": {"type": "list", "attributes": {"name": "VIP"}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
    let doc = r.json();
    let id = doc["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(doc["data"]["attributes"]["name"], "VIP");
    assert_eq!(
        doc["data"]["attributes"]["opt_in_process"], "single_opt_in",
        "the account default"
    );
    assert!(
        doc["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/lists/{id}/"))
    );
    assert_eq!(api.get(&format!("/lists/{id}")).json()["data"], doc["data"]);
    let before = updated_of(&doc["data"]);

    std::thread::sleep(Duration::from_millis(1100));
    let r = api.send(
        "PATCH",
        &format!("/lists/{id}"),
        REV,
        &json!({"data": {"type": "list", "id": id, "attributes": {"name": "VIP 2"}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let after = updated_of(&r.json()["data"]);
    assert!(after > before, "a write sets `updated` to now");
    assert_eq!(
        r.json()["data"]["attributes"]["created"],
        doc["data"]["attributes"]["created"]
    );
    // A poll for lists updated since `before` sees the change.
    let since = before.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let page = api.get(&format!(
        "/lists?filter={}",
        enc(&format!("greater-than(updated,{since})"))
    ));
    assert_eq!(ids(&page.data()), vec![id.clone()], "{}", page.text);
    assert_eq!(page.data()[0]["attributes"]["name"], "VIP 2");

    let r = api.call("DELETE", &format!("/lists/{id}"), REV, None);
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert_eq!(api.get(&format!("/lists/{id}")).status, 404);
    let r = api.call("DELETE", &format!("/lists/{id}"), REV, None);
    assert_eq!(r.status, 404);
    assert_eq!(r.detail(), format!("A list with id {id} does not exist."));
    let r = api.send(
        "PATCH",
        &format!("/lists/{id}"),
        REV,
        &json!({"data": {"type": "list", "id": id, "attributes": {"name": "gone"}}}),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn writes_show_in_lists_only_after_the_visibility_delay() {
    let api = Api::small();
    api.fake.set_visibility_delay(Duration::from_millis(400));
    let r = api.send(
        "POST",
        "/lists",
        REV,
        &json!({"data": {"type": "list", "attributes": {"name": "Late"}}}),
    );
    assert_eq!(r.status, 201, "the answer shows the record as written");
    let id = r.json()["data"]["id"].as_str().unwrap().to_owned();
    let by_name = format!("/lists?filter={}", enc("equals(name,'Late')"));
    assert!(api.get(&by_name).data().is_empty());
    assert_eq!(api.get(&format!("/lists/{id}")).status, 404);
    // Klaviyo's write path sees its own writes: the new list can be
    // renamed before it shows.
    let r = api.send(
        "PATCH",
        &format!("/lists/{id}"),
        REV,
        &json!({"data": {"type": "list", "id": id, "attributes": {"name": "Late"}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ids(&api.get(&by_name).data()), vec![id]);
}

#[test]
fn creates_of_every_kind_the_stand_in_stores() {
    let api = Api::small();
    let tag_group = api.fake.ids("tag-groups")[0].clone();
    let item = api.fake.ids("catalog-items")[0].clone();
    let coupon = api.fake.ids("coupons")[0].clone();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "2024-10-15",
            "tags",
            json!({"type": "tag", "attributes": {"name": "Summer"},
            "relationships": {"tag-group": {"data": {"type": "tag-group", "id": tag_group}}}}),
        ),
        (
            "2024-10-15",
            "templates",
            json!({"type": "template", "attributes": {"name": "T", "editor_type": "CODE", "html": "<p>x</p>"}}),
        ),
        (
            "2024-10-15",
            "coupons",
            json!({"type": "coupon", "attributes": {"external_id": "TENOFF", "description": "10% off"}}),
        ),
        (
            "2024-10-15",
            "catalog-items",
            json!({"type": "catalog-item", "attributes": {"external_id": "SKU-NEW", "title": "Mug",
            "description": "A mug", "url": "https://shop.example.com/mug"}}),
        ),
        (
            "2026-10-15",
            "catalog-variants",
            json!({"type": "catalog-variant", "attributes": {"external_id": "SKU-NEW-S", "title": "Mug S",
            "description": "A small mug", "sku": "SKU-NEW-S", "inventory_quantity": 3, "price": 9.5, "url": "https://shop.example.com/mug-s"},
            "relationships": {"item": {"data": {"type": "catalog-item", "id": item}}}}),
        ),
        (
            "2024-10-15",
            "catalog-categories",
            json!({"type": "catalog-category", "attributes": {"external_id": "CAT-NEW", "name": "Mugs"}}),
        ),
        (
            "2026-10-15",
            "coupon-codes",
            json!({"type": "coupon-code", "attributes": {"unique_code": "ABC123"},
            "relationships": {"coupon": {"data": {"type": "coupon", "id": coupon}}}}),
        ),
        (
            "2024-10-15",
            "segments",
            json!({"type": "segment", "attributes": {"name": "S", "definition": {"condition_groups": []}}}),
        ),
        (
            "2026-10-15",
            "lists",
            json!({"type": "list", "attributes": {"name": "Double", "opt_in_process": "double_opt_in"}}),
        ),
    ];
    for (rev, coll, data) in cases {
        let r = api.send("POST", &format!("/{coll}"), rev, &json!({ "data": data }));
        assert!(matches!(r.status, 200 | 201), "{rev} {coll}: {}", r.text);
        let id = r.json()["data"]["id"].as_str().unwrap().to_owned();
        for (k, v) in data["attributes"].as_object().unwrap() {
            if r.json()["data"]["attributes"].get(k).is_some() {
                assert_eq!(&r.json()["data"]["attributes"][k], v, "{rev} {coll} {k}");
            }
        }
        assert!(api.fake.ids(coll).contains(&id), "{coll}: {id} is stored");
    }
    // Ids Klaviyo derives from the record.
    assert!(
        api.fake
            .ids("catalog-items")
            .contains(&"$custom:::$default:::SKU-NEW".to_owned())
    );
    assert!(api.fake.ids("coupons").contains(&"TENOFF".to_owned()));
    let r = api.send(
        "POST",
        "/coupons",
        REV,
        &json!({"data": {"type": "coupon", "attributes": {"external_id": "TENOFF"}}}),
    );
    assert_eq!(r.status, 409, "the code is taken: {}", r.text);
    let r = api.get(&format!(
        "/catalog-items/{}",
        seg("$custom:::$default:::SKU-NEW")
    ));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn campaigns_and_flows_created_are_listed() {
    let api = Api::small();
    let list = api.fake.ids("lists")[0].clone();
    let r = api.send(
        "POST",
        "/campaigns",
        REV,
        &json!({"data": {"type": "campaign", "attributes": {"name": "Spring sale",
            "audiences": {"included": [list]},
            "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"channel": "sms"}}]}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["data"]["id"].as_str().unwrap().to_owned();
    let sms = api.get(&format!(
        "/campaigns?filter={}",
        enc("and(equals(messages.channel,'sms'),equals(name,'Spring sale'))")
    ));
    assert_eq!(
        sms.status, 400,
        "name takes contains, not equals: {}",
        sms.text
    );
    let sms = api.all_pages(
        &format!(
            "{}/campaigns?filter={}",
            api.fake.base_url(),
            enc("and(equals(messages.channel,'sms'),contains(name,'Spring sale'))")
        ),
        REV,
    );
    assert_eq!(ids(&sms), vec![id], "an unarchived SMS campaign");
    // Flows can be created from the 2026-07-15 files on.
    let r = api.send(
        "POST",
        "/flows",
        REV,
        &json!({"data": {"type": "flow", "attributes": {"name": "F", "definition": {}}}}),
    );
    assert_eq!(r.status, 405, "2024-10-15 has no POST /flows: {}", r.text);
}

#[test]
fn a_write_answers_with_the_declared_status_and_fields() {
    let api = Api::small();
    let tag = api.fake.ids("tags")[0].clone();
    // PATCH /tags/{id} is declared 204 with no body.
    let r = api.send(
        "PATCH",
        &format!("/tags/{tag}"),
        REV,
        &json!({"data": {"type": "tag", "id": tag, "attributes": {"name": "Renamed"}}}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(
        api.fake.get("tags", &tag).unwrap()["attributes"]["name"],
        "Renamed"
    );
    // Sparse fieldsets where a write declares them (2026 files).
    let r = api.send(
        "POST",
        "/lists?fields%5Blist%5D=name",
        "2026-10-15",
        &json!({"data": {"type": "list", "attributes": {"name": "Only name"}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let doc = r.json();
    let keys: Vec<&String> = doc["data"]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["name"]);
    let r = api.send(
        "POST",
        "/lists?fields%5Blist%5D=name",
        REV,
        &json!({"data": {"type": "list", "attributes": {"name": "x"}}}),
    );
    assert_eq!(
        r.status, 400,
        "2024-10-15 declares no fields[list] on POST /lists"
    );
}

#[test]
fn profiles_can_be_patched_never_deleted() {
    let api = Api::small();
    let id = api.fake.ids("profiles")[5].clone();
    let before = api.fake.get("profiles", &id).unwrap();
    let r = api.send(
        "PATCH",
        &format!("/profiles/{id}"),
        REV,
        &json!({"data": {"type": "profile", "id": id, "attributes": {"first_name": "Ada", "title": null,
            "properties": {"tier": "gold"}}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["first_name"], "Ada");
    assert_eq!(a["title"], Value::Null, "null clears");
    assert_eq!(a["email"], before["attributes"]["email"], "absent is kept");
    assert_eq!(a["properties"]["tier"], "gold");
    for (k, v) in before["attributes"]["properties"].as_object().unwrap() {
        assert_eq!(&a["properties"][k], v, "custom properties are merged");
    }
    assert_eq!(
        api.call("DELETE", &format!("/profiles/{id}"), REV, None)
            .status,
        405
    );
}
