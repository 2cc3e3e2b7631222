//! List membership: `POST`/`DELETE /api/lists/{id}/relationships/profiles`
//! and the lists' members.

use klaviyo_fake::FakeConfig;
use serde_json::{Value, json};

use crate::{Api, REV, enc, ids};

fn refs(ids: &[String]) -> Value {
    json!({"data": ids.iter().map(|id| json!({"type": "profile", "id": id})).collect::<Vec<_>>()})
}

#[test]
fn adding_and_removing_is_idempotent_and_listed() {
    let api = Api::new(FakeConfig::default().size("profiles", 30));
    let list = api.fake.ids("lists")[0].clone();
    let profiles = api.fake.ids("profiles");
    let path = format!("/lists/{list}/relationships/profiles");
    let r = api.send("POST", &path, REV, &refs(&profiles[..5]));
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
    let r = api.send("POST", &path, REV, &refs(&profiles[3..7]));
    assert_eq!(r.status, 204, "adding members again is fine");
    assert_eq!(api.fake.list_members(&list).len(), 7);
    let r = api.send(
        "DELETE",
        &path,
        REV,
        &refs(&[profiles[0].clone(), profiles[20].clone()]),
    );
    assert_eq!(r.status, 204, "removing a non-member is fine");
    assert_eq!(api.fake.list_members(&list).len(), 6);

    // The members, as profiles with `joined_group_at`, paged.
    let served = api.all_pages(
        &format!(
            "{}/lists/{list}/profiles?page%5Bsize%5D=4",
            api.fake.base_url()
        ),
        REV,
    );
    let mut got = ids(&served);
    got.sort();
    let mut want: Vec<String> = profiles[1..7].to_vec();
    want.sort();
    assert_eq!(got, want);
    assert!(served.iter().all(|p| p["type"] == "profile"
        && p["attributes"]["joined_group_at"].is_string()
        && p["attributes"]["email"].is_string()));
    // And their ids.
    let r = api.get(&format!(
        "/lists/{list}/relationships/profiles?page%5Bsize%5D=100"
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    let mut got = ids(&r.data());
    got.sort();
    assert_eq!(got, want);
    assert_eq!(
        r.data()[0].as_object().unwrap().len(),
        2,
        "type and id only"
    );
    assert!(
        r.json()["links"]["self"]
            .as_str()
            .unwrap()
            .contains("/relationships/profiles/")
    );

    // Filters and sort as the files declare them.
    let email = served[0]["attributes"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api.get(&format!(
        "/lists/{list}/profiles?filter={}",
        enc(&format!("equals(email,'{email}')"))
    ));
    assert_eq!(
        ids(&r.data()),
        vec![served[0]["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(
        api.get(&format!(
            "/lists/{list}/profiles?filter={}",
            enc("equals(first_name,'x')")
        ))
        .status,
        400
    );
    assert_eq!(
        api.get(&format!("/lists/{list}/profiles?sort=-joined_group_at"))
            .status,
        200
    );
    assert_eq!(
        api.get(&format!("/lists/{list}/profiles?sort=email"))
            .status,
        400
    );
}

#[test]
fn unknown_lists_and_profiles_are_404_and_the_batch_is_limited() {
    let api = Api::small();
    let list = api.fake.ids("lists")[0].clone();
    let profile = api.fake.ids("profiles")[0].clone();
    let r = api.send(
        "POST",
        "/lists/NOPE/relationships/profiles",
        REV,
        &refs(std::slice::from_ref(&profile)),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.detail(), "A list with id NOPE does not exist.");
    assert_eq!(api.get("/lists/NOPE/profiles").status, 404);
    let r = api.send(
        "POST",
        &format!("/lists/{list}/relationships/profiles"),
        REV,
        &refs(&["01HNOPE0000000000000000000".to_owned()]),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.detail(),
        "A profile with id 01HNOPE0000000000000000000 does not exist."
    );
    let many: Vec<String> = (0..1001).map(|_| profile.clone()).collect();
    for method in ["POST", "DELETE"] {
        let r = api.send(
            method,
            &format!("/lists/{list}/relationships/profiles"),
            REV,
            &refs(&many),
        );
        assert_eq!(r.status, 400, "{method}");
        assert_eq!(r.error()["source"]["pointer"], "/data");
        assert_eq!(
            r.detail(),
            "Too many profiles: at most 1000 profiles can be given per request; got 1001."
        );
    }
    assert!(api.fake.list_members(&list).is_empty());
    assert_eq!(
        api.send(
            "POST",
            &format!("/lists/{list}/relationships/profiles"),
            REV,
            &refs(&many[..1000])
        )
        .status,
        204
    );
}

#[test]
fn a_deleted_list_takes_its_members_along() {
    let api = Api::small();
    let list = api.fake.ids("lists")[1].clone();
    let profile = api.fake.ids("profiles")[1].clone();
    api.send(
        "POST",
        &format!("/lists/{list}/relationships/profiles"),
        REV,
        &refs(std::slice::from_ref(&profile)),
    );
    assert_eq!(
        api.call("DELETE", &format!("/lists/{list}"), REV, None)
            .status,
        204
    );
    assert!(api.fake.list_members(&list).is_empty());
    let r = api.get(&format!("/profiles/{profile}?include=lists"));
    assert_eq!(r.json()["included"], json!([]));
}
