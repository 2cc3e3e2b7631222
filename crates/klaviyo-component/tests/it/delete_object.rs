//! Delete Object against the stand-in.

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

/// A list in the stand-in, and its id.
fn a_list(h: &Harness, name: &str) -> String {
    h.fake
        .insert("lists", json!({"attributes": {"name": name}}))
        .expect("inserted")
}

/// Delete Object of the list `id`, with the step's default fields.
async fn delete_list(h: &Harness, id: &str) -> Outcome {
    h.action(
        DELETE_OBJECT,
        json!({"objectType": "lists"}),
        json!({"id": id}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_at_both_revisions() {
    let h = Harness::new(FakeConfig::empty());
    for revision in REVISIONS {
        let id = a_list(&h, "Old");
        h.fake.clear_requests();
        let out = h
            .action(
                DELETE_OBJECT,
                json!({"revision": revision, "objectType": "lists"}),
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            out.only_body(),
            json!({"statusCode": 204, "objectType": "lists", "id": id}),
            "{revision}"
        );
        assert_eq!(h.request_lines(), vec![format!("DELETE /api/lists/{id}")]);
        assert!(h.fake.get("lists", &id).is_none(), "deleted");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_object_is_an_error_unless_404_is_not_thrown() {
    let h = Harness::new(FakeConfig::empty());
    let out = delete_list(&h, "NOPE").await;
    assert_eq!(
        out.failure(),
        (
            "UpstreamError",
            "Klaviyo answered 404 (not_found): A list with id NOPE does not exist. Check the id, or check \"Don't throw error on 404 Response\" to emit an empty message when there is nothing to delete".to_owned()
        )
    );
    for checked in [json!(true), json!("on"), json!("true")] {
        let out = h
            .action(
                DELETE_OBJECT,
                json!({"objectType": "lists", "doNotThrow404": checked}),
                json!({"id": "NOPE"}),
            )
            .await;
        assert_eq!(out.only_body(), json!({}));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_is_repeated_after_a_5xx() {
    let h = Harness::new(FakeConfig::empty());
    let id = a_list(&h, "x");
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).method(Method::DELETE));
    let out = delete_list(&h, &id).await;
    assert_eq!(out.only_body()["statusCode"], 204);
    assert_eq!(h.fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_404_after_a_lost_answer_is_the_deletion_that_attempt_made() {
    let h = Harness::new(FakeConfig::empty());
    let id = a_list(&h, "x");
    // The first DELETE deletes the list, then its answer is lost.
    h.fake
        .push_fault(FaultRule::new(Fault::DropAfterApplying).method(Method::DELETE));
    let out = delete_list(&h, &id).await;
    assert_eq!(
        out.only_body(),
        json!({"statusCode": 404, "objectType": "lists", "id": id})
    );
    assert_eq!(h.request_lines().len(), 2, "retried once");
    assert!(h.fake.get("lists", &id).is_none(), "deleted");
    // A 404 to the first attempt is still the error, even after a 5xx
    // (an answer: Klaviyo said it failed).
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).method(Method::DELETE));
    let out = delete_list(&h, &id).await;
    assert_eq!(out.failure().0, "UpstreamError");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(Value, Value, &str, &str)> = vec![
        (
            json!({"objectType": "lists"}),
            json!({}),
            "InputError",
            "\"ID\" is required: give msg.body.id, the id of the list to delete",
        ),
        (
            json!({"objectType": "lists"}),
            json!({"ID": "x"}),
            "InputError",
            "unknown member `ID` of the message body — did you mean `id` (ID)?",
        ),
        (
            json!({"objectType": "profiles"}),
            json!({"id": "x"}),
            "ConfigurationError",
            "\"Object Type\": Klaviyo's revision 2026-10-15 has no endpoint to delete profiles; choose one of the",
        ),
    ];
    for (fields, body, kind, want) in cases {
        let out = h.action(DELETE_OBJECT, fields, body.clone()).await;
        let (got_kind, message) = out.failure();
        assert_eq!(got_kind, kind, "{body}");
        assert!(message.starts_with(want), "{body}: {message}");
    }
    assert!(h.fake.requests().is_empty());
}
