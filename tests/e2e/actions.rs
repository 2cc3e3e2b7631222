//! Each typed action's happy path through the real binary against the
//! stand-in: what the platform would receive on stdout, with the exact
//! requests the stand-in counted, and no key anywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use serde_json::{Value, json};

use crate::stand_in::{API_KEY, env_for};
use crate::support::{Bin, Run, run};

fn stand_in(config: FakeConfig) -> FakeKlaviyo {
    FakeKlaviyo::start(FakeConfig {
        api_key: API_KEY.to_owned(),
        ..config
    })
    .expect("the stand-in starts")
}

/// Run the action `id` once, with the message `msg_id` and `body`.
fn act(fake: &FakeKlaviyo, id: &str, fields: Value, msg_id: &str, body: Value) -> Run {
    act_on(fake, id, fields, json!({"id": msg_id, "body": body}))
}

/// Run the action `id` once on the message `msg`.
fn act_on(fake: &FakeKlaviyo, id: &str, fields: Value, msg: Value) -> Run {
    let mut cfg = json!({"apiKey": API_KEY});
    cfg.as_object_mut()
        .expect("object")
        .extend(fields.as_object().cloned().unwrap_or_default());
    let stdin = serde_json::to_vec(&json!({"cfg": cfg, "msg": msg})).expect("json");
    let env: BTreeMap<String, String> = env_for(fake);
    let out = run(
        Bin::Klaviyo,
        &["process", id],
        &stdin,
        &env,
        Duration::from_secs(60),
    )
    .checked();
    out.assert_event_stream();
    out
}

/// The bodies of the data events of a run that succeeded.
#[track_caller]
fn data(out: &Run) -> Vec<Value> {
    assert_eq!(out.code, Some(0), "{}", out.render());
    out.lines()
        .into_iter()
        .filter(|l| l["event"] == "data")
        .map(|l| l["payload"]["body"].clone())
        .collect()
}

fn lines(fake: &FakeKlaviyo) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect()
}

#[test]
fn lookups_through_the_runner() {
    let fake = stand_in(FakeConfig::empty());
    let id = fake
        .insert(
            "profiles",
            json!({"attributes": {"email": "ada@example.com"}}),
        )
        .expect("inserted");
    for revision in ["2024-10-15", "2026-10-15"] {
        fake.clear_requests();
        let one = data(&act(
            &fake,
            "lookupObject",
            json!({"revision": revision, "objectType": "profiles", "lookupBy": "email"}),
            "m1",
            json!({"email": "ada@example.com"}),
        ));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["id"], json!(id), "{revision}");
        assert_eq!(fake.requests().len(), 1);

        let many = data(&act(
            &fake,
            "lookupObjects",
            json!({"revision": revision, "objectType": "profiles", "emitBehavior": "emitAll"}),
            "m2",
            json!({"email": {"equals": "ada@example.com"}}),
        ));
        assert_eq!(many.len(), 1);
        assert_eq!(many[0]["results"][0]["id"], json!(id), "{revision}");
    }
}

#[test]
fn upsert_and_delete_through_the_runner() {
    let fake = stand_in(FakeConfig::empty());
    let created = data(&act(
        &fake,
        "upsertObject",
        json!({"objectType": "lists"}),
        "m1",
        json!({"name": "Newsletter"}),
    ));
    let id = created[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        fake.get("lists", &id).expect("stored")["attributes"]["name"],
        "Newsletter"
    );
    let deleted = data(&act(
        &fake,
        "deleteObject",
        json!({"revision": "2024-10-15", "objectType": "lists"}),
        "m2",
        json!({"id": id}),
    ));
    assert_eq!(
        deleted,
        vec![json!({"statusCode": 204, "objectType": "lists", "id": id})]
    );
    assert_eq!(
        lines(&fake),
        vec![
            "POST /api/lists".to_owned(),
            format!("DELETE /api/lists/{id}")
        ]
    );
}

/// A DELETE whose answer was lost is retried; the 404 it then gets is
/// the deletion the lost attempt made, and the log says so.
#[test]
fn a_delete_whose_answer_was_lost_succeeds_and_says_it_was_already_gone() {
    let fake = stand_in(FakeConfig::empty());
    let id = fake
        .insert("lists", json!({"attributes": {"name": "x"}}))
        .expect("inserted");
    fake.push_fault(
        klaviyo_fake::FaultRule::new(klaviyo_fake::Fault::DropAfterApplying)
            .method(klaviyo_fake::Method::DELETE),
    );
    let out = act(
        &fake,
        "deleteObject",
        json!({"objectType": "lists"}),
        "m1",
        json!({"id": id}),
    );
    assert_eq!(
        data(&out),
        vec![json!({"statusCode": 404, "objectType": "lists", "id": id})]
    );
    let said = out.logs().iter().any(|log| {
        log["msg"].as_str().is_some_and(|m| {
            m.contains(&format!(
                "DELETE /lists/{id}: the list {id} was already gone; an earlier attempt whose answer was lost deleted it"
            ))
        })
    });
    assert!(said, "{}", out.render());
}

#[test]
fn an_event_through_the_runner() {
    let fake = stand_in(FakeConfig::empty());
    let out = data(&act(
        &fake,
        "createEvent",
        json!({}),
        "5f1c2b7e-message",
        json!({"metric": {"name": "Placed Order"}, "profile": {"email": "ada@example.com"}, "value": "10"}),
    ));
    assert_eq!(out[0]["statusCode"], 202);
    assert_eq!(out[0]["uniqueId"], "5f1c2b7e-message");
    assert_eq!(lines(&fake), vec!["POST /api/events"]);
}

#[test]
fn a_message_without_an_id_delivered_again_records_one_event() {
    // On elastic.io, what an action or a mapper emits carries no id: the
    // event's unique_id then comes from the body, the same on every
    // delivery, and different for a different body.
    let fake = stand_in(FakeConfig::empty());
    let order = |n: &str| {
        json!({"body": {"metric": {"name": "Placed Order"}, "profile": {"email": "ada@example.com"},
                        "properties": {"order": n}}})
    };
    let mut unique_ids = Vec::new();
    for msg in [order("A-1"), order("A-1"), order("A-2")] {
        let out = data(&act_on(&fake, "createEvent", json!({}), msg));
        unique_ids.push(out[0]["uniqueId"].as_str().expect("a unique id").to_owned());
    }
    assert_eq!(
        unique_ids[0], unique_ids[1],
        "the same message, the same id"
    );
    assert_ne!(unique_ids[0], unique_ids[2], "another message, another id");
    assert_eq!(lines(&fake).len(), 3, "sent three times");
    assert_eq!(fake.records("events").len(), 2, "recorded twice");
}

#[test]
fn a_profile_upsert_through_the_runner() {
    let fake = stand_in(FakeConfig::empty());
    let out = data(&act(
        &fake,
        "upsertObject",
        json!({"objectType": "profiles"}),
        "m1",
        json!({"email": "ada@example.com", "first_name": "Ada"}),
    ));
    assert_eq!(out[0]["type"], "profile");
    assert_eq!(lines(&fake), vec!["POST /api/profile-import"]);
}

#[test]
fn subscriptions_through_the_runner() {
    let fake = stand_in(FakeConfig::empty());
    for id in ["subscribeProfiles", "unsubscribeProfiles"] {
        let out = data(&act(
            &fake,
            id,
            json!({"channel": "email"}),
            "m1",
            json!({"email": "ada@example.com"}),
        ));
        assert_eq!(out[0]["statusCode"], 202, "{id}");
    }
    assert_eq!(
        lines(&fake),
        vec![
            "POST /api/profile-subscription-bulk-create-jobs",
            "POST /api/profile-subscription-bulk-delete-jobs"
        ]
    );
}

#[test]
fn list_membership_through_the_runner() {
    let fake = stand_in(FakeConfig::empty().size("profiles", 2));
    let list = fake
        .insert("lists", json!({"attributes": {"name": "VIP"}}))
        .expect("list");
    let ids = fake.ids("profiles");
    for id in ["addProfilesToList", "removeProfilesFromList"] {
        let out = data(&act(
            &fake,
            id,
            json!({"listId": list}),
            "m1",
            json!({"profileIds": ids}),
        ));
        assert_eq!(out[0]["statusCode"], 204, "{id}");
        assert_eq!(out[0]["profileCount"], 2);
    }
    assert_eq!(
        lines(&fake),
        vec![
            format!("POST /api/lists/{list}/relationships/profiles"),
            format!("DELETE /api/lists/{list}/relationships/profiles")
        ]
    );
}
