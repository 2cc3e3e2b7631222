//! Add Profiles to List and Remove Profiles from List against the
//! stand-in's list relationships.

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

fn sizes(h: &Harness) -> Vec<usize> {
    h.fake
        .requests()
        .iter()
        .map(|r| {
            let body: Value =
                serde_json::from_str(r.body.as_deref().expect("a body")).expect("JSON");
            body["data"].as_array().expect("a list").len()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn add_and_remove_at_both_revisions() {
    let h = Harness::new(FakeConfig::empty().size("profiles", 3));
    let list = h
        .fake
        .insert("lists", json!({"attributes": {"name": "VIP"}}))
        .expect("list");
    let ids = h.fake.ids("profiles");
    for revision in REVISIONS {
        for (id, method) in [
            (ADD_PROFILES_TO_LIST, "POST"),
            (REMOVE_PROFILES_FROM_LIST, "DELETE"),
        ] {
            h.fake.clear_requests();
            let out = h
                .action(
                    id,
                    json!({"revision": revision, "listId": list}),
                    json!({"profileIds": ids}),
                )
                .await;
            assert_eq!(
                out.only_body(),
                json!({"statusCode": 204, "listId": list, "profileCount": 3, "requestCount": 1}),
                "{revision} {id}"
            );
            assert_eq!(
                h.request_lines(),
                vec![format!("{method} /api/lists/{list}/relationships/profiles")]
            );
            let body: Value =
                serde_json::from_str(h.fake.requests()[0].body.as_deref().expect("body"))
                    .expect("JSON");
            assert_eq!(
                body,
                json!({"data": ids.iter().map(|i| json!({"type": "profile", "id": i})).collect::<Vec<_>>()})
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn more_ids_than_a_request_takes_are_split() {
    let h = Harness::new(FakeConfig::empty().size("profiles", 2_500));
    let list = h
        .fake
        .insert("lists", json!({"attributes": {"name": "All"}}))
        .expect("list");
    let ids = h.fake.ids("profiles");
    let out = h
        .action(
            ADD_PROFILES_TO_LIST,
            json!({"listId": list}),
            json!({"profileIds": ids}),
        )
        .await;
    assert_eq!(out.only_body()["requestCount"], 3);
    assert_eq!(sizes(&h), vec![1000, 1000, 500]);
}

#[tokio::test(flavor = "multi_thread")]
async fn membership_is_repeated_after_a_5xx() {
    let h = Harness::new(FakeConfig::empty().size("profiles", 1));
    let list = h
        .fake
        .insert("lists", json!({"attributes": {"name": "x"}}))
        .expect("list");
    h.fake
        .push_fault(FaultRule::new(Fault::Status(502)).method(Method::POST));
    let out = h
        .action(
            ADD_PROFILES_TO_LIST,
            json!({"listId": list}),
            json!({"profileIds": h.fake.ids("profiles")[0]}),
        )
        .await;
    assert_eq!(out.only_body()["statusCode"], 204);
    assert_eq!(h.fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(Value, Value, &str, &str)> = vec![
        (
            json!({}),
            json!({"profileIds": ["01A"]}),
            "ConfigurationError",
            "\"List ID\" is required: give the id of the list (in Klaviyo, the list's page address ends with it)",
        ),
        (
            json!({"listId": "L1"}),
            json!({"profileIds": []}),
            "InputError",
            "\"Profile IDs\" is required: give msg.body.profileIds, a profile id or a list of them",
        ),
        (
            json!({"listId": "L1"}),
            json!({"profileIds": [5, {"id": "x"}]}),
            "InputError",
            "\"Profile IDs\" (msg.body.profileIds[1]) must be a profile id (text), got an object",
        ),
        (
            json!({"listId": "L1"}),
            json!({"ids": ["01A"]}),
            "InputError",
            "unknown member `ids` of the message body: the profile ids go in msg.body.profileIds",
        ),
    ];
    for (fields, body, kind, want) in cases {
        for id in [ADD_PROFILES_TO_LIST, REMOVE_PROFILES_FROM_LIST] {
            let out = h.action(id, fields.clone(), body.clone()).await;
            assert_eq!(out.failure(), (kind, want.to_owned()), "{id} {body}");
        }
    }
    assert!(h.fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_refused_after_others_went_through_says_how_far_it_got() {
    let h = Harness::new(FakeConfig::empty().size("profiles", 1_500));
    let list = h
        .fake
        .insert("lists", json!({"attributes": {"name": "All"}}))
        .expect("list");
    h.fake.push_fault(
        FaultRule::new(Fault::Status(400))
            .method(Method::POST)
            .skip(1),
    );
    let out = h
        .action(
            ADD_PROFILES_TO_LIST,
            json!({"listId": list}),
            json!({"profileIds": h.fake.ids("profiles")}),
        )
        .await;
    let error = out.error.expect("an error");
    assert!(
        error
            .to_string()
            .contains("Profiles 1–1000 of 1500 were added to the list; the rest was not sent"),
        "{error}"
    );
    assert_eq!(sizes(&h), vec![1000, 500]);
}
