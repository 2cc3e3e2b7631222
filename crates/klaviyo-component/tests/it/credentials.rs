//! verifyCredentials: the three outcomes.

use component_sdk::{Config, Verification};
use klaviyo_component::COMPONENT;
use klaviyo_fake::{FakeConfig, Fault, FaultRule};
use serde_json::{Value, json};

use crate::support::*;

async fn verify(h: &Harness, cfg: Value) -> Result<Verification, component_sdk::Error> {
    let cfg = Config::new(cfg.as_object().cloned().unwrap_or_default());
    (COMPONENT.verify_credentials)(&cfg, &h.env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_key_with_list_read_is_verified_with_one_request() {
    let h = Harness::new(
        FakeConfig::default().key_with_scopes("pk_lists_only_0123456789abcdef", &["lists:read"]),
    );
    let got = verify(&h, json!({"apiKey": "pk_lists_only_0123456789abcdef"}))
        .await
        .expect("checked");
    assert_eq!(got, Verification::Verified { note: None });
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].path_and_query.starts_with("/api/lists"));
    // The default revision (2026-10-15) declares page[size]: the smallest
    // page is asked for.
    assert_eq!(
        decode(&requests[0].path_and_query),
        "fields[list]=name&page[size]=1"
    );
    // A retired revision still verifies, and says that it is retired;
    // Klaviyo answers it as 2025-01-15, whose rules have no page[size].
    h.fake.clear_requests();
    let got = verify(
        &h,
        json!({"apiKey": "pk_lists_only_0123456789abcdef", "revision": "2024-10-15"}),
    )
    .await
    .expect("checked");
    match got {
        Verification::Verified { note: Some(note) } => assert!(
            note.starts_with("Revision 2024-10-15 was retired on 2026-10-15. Klaviyo now answers with the oldest revision it supports (2025-01-15) instead"),
            "{note}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decode(&h.fake.requests()[0].path_and_query),
        "fields[list]=name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_and_a_key_without_the_scope_are_rejected_with_what_to_fix() {
    let h = Harness::new(
        FakeConfig::default().key_with_scopes("pk_profiles_only_0123456789abc", &["profiles:read"]),
    );
    match verify(&h, json!({"apiKey": "pk_not_a_real_key_0123456789"})).await {
        Ok(Verification::Rejected { reason }) => {
            assert!(reason.starts_with("Klaviyo answered 401"), "{reason}");
            assert!(
                reason.contains("Check the credential's API key"),
                "{reason}"
            );
            assert!(!reason.contains("pk_not_a_real_key_0123456789"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    match verify(&h, json!({"apiKey": "pk_profiles_only_0123456789abc"})).await {
        Ok(Verification::Rejected { reason }) => {
            assert!(reason.starts_with("Klaviyo answered 403"), "{reason}");
            assert!(reason.contains("List: Read Access"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_key_fails_without_a_request() {
    let h = Harness::new(FakeConfig::default());
    for cfg in [json!({}), json!({"apiKey": ""}), json!({"apiKey": "  "})] {
        match verify(&h, cfg).await {
            Ok(Verification::Rejected { reason }) => {
                assert!(reason.starts_with("\"API key\" is required"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(h.fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn klaviyo_down_after_retries_is_an_unverified_reason() {
    let h = Harness::new(FakeConfig::default());
    h.fake
        .push_fault(FaultRule::new(Fault::Status(503)).times(10));
    let err = verify(&h, json!({"apiKey": h.fake.api_key()}))
        .await
        .expect_err("not completed");
    assert!(err.to_string().starts_with("Klaviyo answered 503"), "{err}");
    assert_eq!(h.fake.requests().len(), 4, "retried");
    let closed =
        Harness::new(FakeConfig::default()).with_env("KLAVIYO_BASE_URL", "http://127.0.0.1:9/api");
    let err = verify(&closed, json!({"apiKey": "pk_0123456789abcdef"}))
        .await
        .expect_err("unreachable");
    assert!(
        err.to_string().starts_with("Klaviyo could not be reached"),
        "{err}"
    );
}
