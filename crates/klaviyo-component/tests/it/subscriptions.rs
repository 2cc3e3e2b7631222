//! Subscribe Profiles and Unsubscribe Profiles against the stand-in's bulk
//! subscription jobs.

use klaviyo_fake::{FakeConfig, Fault, FaultRule, Method};
use serde_json::{Value, json};

use crate::support::*;

fn sent(h: &Harness) -> Vec<Value> {
    h.fake
        .requests()
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().expect("a body")).expect("JSON"))
        .collect()
}

fn profiles(n: usize) -> Value {
    json!(
        (0..n)
            .map(|i| json!({"email": format!("p{i}@example.com")}))
            .collect::<Vec<_>>()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_profile_is_subscribed_and_unsubscribed_at_both_revisions() {
    let h = Harness::new(FakeConfig::empty());
    let list = h
        .fake
        .insert(
            "lists",
            json!({"attributes": {"name": "News", "opt_in_process": "single_opt_in"}}),
        )
        .expect("list");
    for revision in REVISIONS {
        h.fake.clear_requests();
        let jobs_before = h.fake.subscription_jobs().len();
        let out = h
            .action(
                SUBSCRIBE_PROFILES,
                json!({"revision": revision, "channel": "email", "listId": list}),
                json!({"email": "ada@example.com", "phone_number": ""}),
            )
            .await;
        let body = out.only_body();
        assert_eq!(body["statusCode"], 202, "{revision}");
        assert_eq!(body["profileCount"], 1);
        assert_eq!(body["listId"], json!(list));
        assert_eq!(
            body["jobs"],
            json!([{"statusCode": 202, "profileCount": 1, "jobId": null}])
        );
        let jobs = h.fake.subscription_jobs();
        assert_eq!(jobs.len(), jobs_before + 1);
        let job = jobs.last().expect("a job");
        assert_eq!(job.list_id.as_deref(), Some(list.as_str()));
        assert_eq!(job.profiles.len(), 1);
        assert_eq!(job.profiles[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(job.profiles[0].channels, vec!["email.marketing".to_owned()]);
        let member = job.profiles[0].profile_id.clone().expect("a profile");
        assert!(
            h.fake.list_members(&list).contains(&member),
            "joined the list"
        );
        assert_eq!(body["jobs"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            h.request_lines(),
            vec!["POST /api/profile-subscription-bulk-create-jobs"]
        );
        assert_eq!(
            sent(&h)[0],
            json!({"data": {"type": "profile-subscription-bulk-create-job", "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {
                    "email": "ada@example.com",
                    "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}
                }}]}
            }, "relationships": {"list": {"data": {"type": "list", "id": list}}}}})
        );

        // And out again: a member of the list leaves it.
        h.fake.clear_requests();
        let out = h
            .action(
                UNSUBSCRIBE_PROFILES,
                json!({"revision": revision, "channel": "email", "listId": list}),
                json!({"email": "ada@example.com"}),
            )
            .await;
        assert_eq!(out.only_body()["statusCode"], 202, "{revision}");
        assert_eq!(
            h.request_lines(),
            vec!["POST /api/profile-subscription-bulk-delete-jobs"]
        );
        assert_eq!(
            sent(&h)[0],
            json!({"data": {"type": "profile-subscription-bulk-delete-job", "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {
                    "email": "ada@example.com",
                    "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}}
                }}]}
            }, "relationships": {"list": {"data": {"type": "list", "id": list}}}}})
        );
        assert!(
            !h.fake.list_members(&list).contains(&member),
            "left the list"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_consent_and_its_time() {
    let h = Harness::new(FakeConfig::empty());
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "sms"}),
            json!({"profiles": [{"phone_number": "+15005550006", "consented_at": "2026-01-01T00:00:00Z"}], "historical_import": "on"}),
        )
        .await;
    assert_eq!(out.only_body()["channel"], "sms");
    assert_eq!(
        sent(&h)[0]["data"]["attributes"],
        json!({
            "historical_import": true,
            "profiles": {"data": [{"type": "profile", "attributes": {
                "phone_number": "+15005550006",
                "subscriptions": {"sms": {"marketing": {"consent": "SUBSCRIBED", "consented_at": "2026-01-01T00:00:00Z"}}}
            }}]}
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn more_profiles_than_a_job_takes_are_sent_as_several_jobs() {
    let h = Harness::new(FakeConfig::empty());
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": profiles(1_500)}),
        )
        .await;
    let body = out.only_body();
    assert_eq!(body["profileCount"], 1500);
    let counts: Vec<u64> = body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["profileCount"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, vec![1000, 500]);
    let sizes: Vec<usize> = sent(&h)
        .iter()
        .map(|b| {
            b["data"]["attributes"]["profiles"]["data"]
                .as_array()
                .expect("profiles")
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![1000, 500]);

    h.fake.clear_requests();
    let out = h
        .action(
            UNSUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": profiles(250)}),
        )
        .await;
    assert_eq!(out.only_body()["profileCount"], 250);
    let sizes: Vec<usize> = sent(&h)
        .iter()
        .map(|b| {
            b["data"]["attributes"]["profiles"]["data"]
                .as_array()
                .expect("profiles")
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![100, 100, 50], "unsubscribe jobs take 100");
    assert_eq!(
        sent(&h)[0]["data"]["attributes"]["profiles"]["data"][0]["attributes"]["subscriptions"],
        json!({"email": {"marketing": {"consent": "UNSUBSCRIBED"}}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_repeated_after_a_5xx_and_rebounds_when_throttled() {
    let h = Harness::new(FakeConfig::empty());
    h.fake
        .push_fault(FaultRule::new(Fault::Status(500)).method(Method::POST));
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"email": "a@example.com"}),
        )
        .await;
    assert_eq!(out.only_body()["statusCode"], 202);
    assert_eq!(h.fake.requests().len(), 2, "idempotent: retried");

    let h = h.with_env("API_RETRIES_COUNT", "0");
    h.fake.clear_requests();
    h.fake.push_fault(FaultRule::new(Fault::Status429 {
        retry_after: Some(1),
    }));
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"email": "a@example.com"}),
        )
        .await;
    out.assert_ok();
    assert!(out.bodies().is_empty());
    assert_eq!(out.rebounds().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_named_before_any_request() {
    let h = Harness::new(FakeConfig::empty());
    let cases: Vec<(&str, Value, Value, &str, &str)> = vec![
        (
            SUBSCRIBE_PROFILES,
            json!({"channel": "sms"}),
            json!({"email": "a@example.com"}),
            "InputError",
            "\"Phone Number\" (msg.body.phone_number) is required to subscribe on sms: map a value to it",
        ),
        (
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": [{"email": "a@example.com"}, {"email": ""}]}),
            "InputError",
            "\"Email\" (msg.body.profiles[1].email) is required to subscribe on email: map a value to it",
        ),
        (
            UNSUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({}),
            "InputError",
            "Unsubscribe Profiles needs a profile: give \"Email\" (msg.body.email) (or msg.body.profiles, a list of profiles)",
        ),
        (
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"email": "a@example.com", "profiles": [{"email": "b@example.com"}]}),
            "InputError",
            "give either one profile's fields (msg.body.email, msg.body.phone_number, …) or msg.body.profiles, not both",
        ),
        (
            SUBSCRIBE_PROFILES,
            json!({}),
            json!({"email": "a@example.com"}),
            "ConfigurationError",
            "\"Channel\" is required: choose Email or SMS",
        ),
        (
            SUBSCRIBE_PROFILES,
            json!({"channel": "push"}),
            json!({"email": "a@example.com"}),
            "ConfigurationError",
            "\"Channel\" must be one of \"email\" or \"sms\", got \"push\"",
        ),
        (
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"email": "a@example.com", "consented_at": "now"}),
            "InputError",
            "The message body is not what Subscribe Profiles takes in revision 2026-10-15: \"Consented At\" (msg.body.consented_at) must be a date and time in ISO 8601, such as 2026-01-31T12:00:00Z, got \"now\"",
        ),
    ];
    for (id, fields, body, kind, want) in cases {
        let out = h.action(id, fields, body.clone()).await;
        assert_eq!(out.failure(), (kind, want.to_owned()), "{body}");
    }
    assert!(h.fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_throttled_after_others_were_accepted_says_so_and_does_not_rebound() {
    // A rebound would deliver the message again hours later and subscribe
    // again the profiles of the first job, who may have unsubscribed.
    let h = Harness::new(FakeConfig::empty()).with_env("API_RETRIES_COUNT", "0");
    h.fake.push_fault(
        FaultRule::new(Fault::Status429 {
            retry_after: Some(1),
        })
        .method(Method::POST)
        .skip(1),
    );
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": profiles(2_500)}),
        )
        .await;
    assert!(out.rebounds().is_empty(), "no rebound");
    let error = out.error.expect("an error");
    assert_eq!(error.kind(), component_sdk::ErrorKind::Transient);
    assert!(
        error.to_string().contains(
            "Profiles 1–1000 of 2500 were subscribed (1 job(s) accepted); the rest was not sent"
        ),
        "{error}"
    );
    assert_eq!(
        h.fake.requests().len(),
        2,
        "the first job, the throttled second"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn klaviyo_s_pointers_name_the_profile_mapped_through_the_jobs() {
    let h = Harness::new(FakeConfig::empty());
    let mut many = profiles(2_500);
    many[1005]["email"] = json!("not-an-email");
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": many}),
        )
        .await;
    let error = out.error.expect("the second job is refused").to_string();
    assert!(
        error.contains("[\"Email\" (msg.body.profiles[1005].email)]"),
        "{error}"
    );
    // One profile at the top of the message is named at the top.
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"email": "not-an-email"}),
        )
        .await;
    let error = out.error.expect("refused").to_string();
    assert!(error.contains("[\"Email\" (msg.body.email)]"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_job_s_descriptions_state_is_checked_for_every_profile_before_the_first_job() {
    let h = Harness::new(FakeConfig::empty());
    let mut many: Vec<Value> = (0..1_500)
        .map(|i| json!({"email": format!("p{i}@example.com"), "consented_at": "2025-01-01T00:00:00Z"}))
        .collect();
    many[1201]
        .as_object_mut()
        .expect("object")
        .remove("consented_at");
    many[1300]["consented_at"] = json!("2999-01-01T00:00:00Z");
    let out = h
        .action(
            SUBSCRIBE_PROFILES,
            json!({"channel": "email"}),
            json!({"profiles": many, "historical_import": true}),
        )
        .await;
    assert_eq!(
        out.failure(),
        (
            "InputError",
            "The message body is not what Subscribe Profiles takes in revision 2026-10-15: \
             \"Consented At\" (msg.body.profiles[1201].consented_at) is required when \"Historical Import\" (msg.body.historical_import) is true: map when the consent was given; \
             \"Consented At\" (msg.body.profiles[1300].consented_at) must be in the past with \"Historical Import\", got \"2999-01-01T00:00:00Z\""
                .to_owned()
        )
    );
    let cases = [
        (
            json!({"channel": "email"}),
            json!({"email": "a@example.com", "consented_at": "2025-01-01T00:00:00Z"}),
            "The message body is not what Subscribe Profiles takes in revision 2026-10-15: \"Consented At\" (msg.body.consented_at) may only be given with \"Historical Import\" (msg.body.historical_import) true: remove it, or set that",
        ),
        (
            json!({"channel": "sms"}),
            json!({"profiles": [{"phone_number": "+15005550006"}, {"phone_number": "(500) 555-0006"}]}),
            "The message body is not what Subscribe Profiles takes in revision 2026-10-15: \"Phone Number\" (msg.body.profiles[1].phone_number) must be in E.164 format, a + and the country code and number, digits only (such as +15005550006), got \"(500) 555-0006\"",
        ),
    ];
    for (fields, body, want) in cases {
        let out = h.action(SUBSCRIBE_PROFILES, fields, body.clone()).await;
        assert_eq!(out.failure(), ("InputError", want.to_owned()), "{body}");
    }
    assert!(h.fake.requests().is_empty(), "{:?}", h.request_lines());
}
