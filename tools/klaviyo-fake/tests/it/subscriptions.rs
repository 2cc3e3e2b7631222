//! Bulk subscription jobs: 202 with no body, applied at once, recorded for
//! tests to read (`FakeKlaviyo::subscription_jobs`).

use klaviyo_fake::{FakeConfig, SubscriptionKind};
use serde_json::{Value, json};

use crate::{Api, REV};

fn subscribe_body(list: Option<&str>, profiles: Vec<Value>, extra: Value) -> Value {
    let mut attrs = json!({"profiles": {"data": profiles}});
    for (k, v) in extra.as_object().unwrap() {
        attrs[k] = v.clone();
    }
    let mut data = json!({"type": "profile-subscription-bulk-create-job", "attributes": attrs});
    if let Some(l) = list {
        data["relationships"] = json!({"list": {"data": {"type": "list", "id": l}}});
    }
    json!({ "data": data })
}

fn email_sub(email: &str) -> Value {
    json!({"type": "profile", "attributes": {"email": email,
        "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}})
}

fn consent(api: &Api, id: &str) -> Value {
    let r = api.get(&format!(
        "/profiles/{id}?additional-fields%5Bprofile%5D=subscriptions"
    ));
    r.json()["data"]["attributes"]["subscriptions"].clone()
}

/// A list with the given opt-in process, created through the API.
fn list(api: &Api, process: &str) -> String {
    let r = api.send(
        "POST",
        "/lists",
        "2026-10-15",
        &json!({"data": {"type": "list", "attributes": {"name": process, "opt_in_process": process}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["data"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn subscribing_creates_profiles_sets_consent_and_joins_the_list() {
    let api = Api::new(FakeConfig::empty().size("profiles", 2));
    let single = list(&api, "single_opt_in");
    let existing = api
        .fake
        .get("profiles", &api.fake.ids("profiles")[0])
        .unwrap();
    let existing_email = existing["attributes"]["email"].as_str().unwrap().to_owned();
    let body = subscribe_body(
        Some(&single),
        vec![
            email_sub(&existing_email),
            email_sub("new@example.com"),
            json!({"type": "profile", "attributes": {"phone_number": "+15005550006",
                "subscriptions": {"sms": {"marketing": {"consent": "SUBSCRIBED"}}}}}),
        ],
        json!({"custom_source": "Checkout"}),
    );
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        "2026-10-15",
        &body,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.text.is_empty(), "no body, no job id");
    let jobs = api.fake.subscription_jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.kind, SubscriptionKind::Subscribe);
    assert_eq!(job.list_id.as_deref(), Some(single.as_str()));
    assert_eq!(job.custom_source.as_deref(), Some("Checkout"));
    assert_eq!(job.revision, "2026-10-15");
    assert_eq!(job.body, body);
    assert_eq!(job.profiles.len(), 3);
    assert_eq!(
        job.profiles[0].profile_id.as_deref(),
        existing["id"].as_str()
    );
    assert!(!job.profiles[0].created && job.profiles[1].created && job.profiles[2].created);
    assert_eq!(job.profiles[2].channels, ["sms.marketing"]);
    assert!(job.profiles.iter().all(|p| !p.pending_confirmation));

    let members = api.fake.list_members(&single);
    assert_eq!(members.len(), 3);
    let new_id = job.profiles[1].profile_id.clone().unwrap();
    let email = &consent(&api, &new_id)["email"]["marketing"];
    assert_eq!(email["consent"], "SUBSCRIBED");
    assert_eq!(email["can_receive_email_marketing"], true);
    assert_eq!(email["custom_method_detail"], "Checkout");
    let sms_id = job.profiles[2].profile_id.clone().unwrap();
    assert_eq!(
        consent(&api, &sms_id)["sms"]["marketing"]["consent"],
        "SUBSCRIBED"
    );
}

#[test]
fn a_double_opt_in_list_waits_for_confirmation_unless_historical() {
    let api = Api::new(FakeConfig::empty());
    let double = list(&api, "double_opt_in");
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        REV,
        &subscribe_body(
            Some(&double),
            vec![email_sub("wait@example.com")],
            json!({}),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = api.fake.subscription_jobs().pop().unwrap();
    let id = job.profiles[0].profile_id.clone().unwrap();
    assert!(job.profiles[0].pending_confirmation);
    assert!(api.fake.list_members(&double).is_empty());
    assert_eq!(
        consent(&api, &id)["email"]["marketing"]["consent"],
        "NEVER_SUBSCRIBED"
    );
    assert_eq!(api.fake.confirm_pending_subscriptions(), 1);
    assert_eq!(api.fake.list_members(&double), vec![id.clone()]);
    assert_eq!(
        consent(&api, &id)["email"]["marketing"]["consent"],
        "SUBSCRIBED"
    );
    assert!(!api.fake.subscription_jobs()[0].profiles[0].pending_confirmation);
    assert_eq!(api.fake.confirm_pending_subscriptions(), 0);

    // historical_import bypasses it, and needs consented_at in the past.
    let historical = |at: Option<&str>, flag: bool| {
        let mut p = email_sub("old@example.com");
        if let Some(at) = at {
            p["attributes"]["subscriptions"]["email"]["marketing"]["consented_at"] = json!(at);
        }
        api.send(
            "POST",
            "/profile-subscription-bulk-create-jobs",
            REV,
            &subscribe_body(Some(&double), vec![p], json!({"historical_import": flag})),
        )
    };
    for (at, flag, want) in [
        (None, true, 400),
        (Some("2099-01-01T00:00:00Z"), true, 400),
        (Some("2023-01-01T00:00:00Z"), false, 400),
        (Some("2023-01-01T00:00:00Z"), true, 202),
    ] {
        let r = historical(at, flag);
        assert_eq!(r.status, want, "{at:?} {flag}: {}", r.text);
    }
    assert_eq!(api.fake.list_members(&double).len(), 2, "joined at once");
}

#[test]
fn the_2024_files_subscribe_the_identifiers_channels_without_subscriptions() {
    let api = Api::new(FakeConfig::empty());
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        REV,
        &subscribe_body(
            None,
            vec![json!({"type": "profile", "attributes": {"email": "both@example.com", "phone_number": "+15005550009"}})],
            json!({}),
        ),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = api.fake.subscription_jobs().pop().unwrap();
    assert_eq!(
        job.profiles[0].channels,
        ["email.marketing", "sms.marketing"]
    );
    // The 2026 files require `subscriptions`.
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        "2026-10-15",
        &subscribe_body(
            None,
            vec![json!({"type": "profile", "attributes": {"email": "both@example.com"}})],
            json!({}),
        ),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error()["source"]["pointer"],
        "/data/attributes/profiles/data/0/attributes/subscriptions"
    );
}

#[test]
fn unsubscribing_from_a_list_or_globally() {
    let api = Api::new(FakeConfig::empty());
    let single = list(&api, "single_opt_in");
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        REV,
        &subscribe_body(Some(&single), vec![email_sub("in@example.com")], json!({})),
    );
    assert_eq!(r.status, 202);
    let member = api.fake.list_members(&single)[0].clone();
    let r = api.send(
        "POST",
        "/profile-import",
        REV,
        &json!({"data": {"type": "profile", "attributes": {"email": "out@example.com"}}}),
    );
    let outsider = r.json()["data"]["id"].as_str().unwrap().to_owned();
    let unsub = |emails: &[&str]| {
        json!({"data": {"type": "profile-subscription-bulk-delete-job",
            "attributes": {"profiles": {"data": emails.iter().map(|e| json!({"type": "profile",
                "attributes": {"email": e, "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}}}})).collect::<Vec<_>>()}},
            "relationships": {"list": {"data": {"type": "list", "id": single}}}}})
    };
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-delete-jobs",
        "2026-10-15",
        &unsub(&["in@example.com", "out@example.com", "nobody@example.com"]),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(api.fake.list_members(&single).is_empty());
    let m = &consent(&api, &member)["email"]["marketing"];
    assert_eq!(m["consent"], "SUBSCRIBED", "a member leaves the list only");
    assert_eq!(m["list_suppressions"][0]["list_id"], single.as_str());
    let o = &consent(&api, &outsider)["email"]["marketing"];
    assert_eq!(
        o["consent"], "UNSUBSCRIBED",
        "a non-member is unsubscribed globally"
    );
    assert_eq!(o["can_receive_email_marketing"], false);
    let job = api.fake.subscription_jobs().pop().unwrap();
    assert_eq!(job.kind, SubscriptionKind::Unsubscribe);
    assert_eq!(job.profiles[2].profile_id, None, "not found, left alone");
    assert_eq!(
        api.fake.ids("profiles").len(),
        2,
        "unsubscribing creates nobody"
    );
}

#[test]
fn batch_limits_per_the_files() {
    let api = Api::new(FakeConfig::empty());
    let many = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| email_sub(&format!("p{i}@example.com")))
            .collect()
    };
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        REV,
        &subscribe_body(None, many(1001), json!({})),
    );
    assert_eq!(r.status, 400);
    let e = r.error();
    assert_eq!(e["source"]["pointer"], "/data/attributes/profiles/data");
    assert_eq!(
        e["detail"],
        "Too many profiles: at most 1000 profiles can be subscribed per request; got 1001."
    );
    assert!(api.fake.subscription_jobs().is_empty());
    assert!(api.fake.ids("profiles").is_empty(), "nothing applied");
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        REV,
        &subscribe_body(None, many(1000), json!({})),
    );
    assert_eq!(r.status, 202);
    assert_eq!(api.fake.ids("profiles").len(), 1000);
    let unsub: Vec<Value> = (0..101)
        .map(|i| json!({"type": "profile", "attributes": {"email": format!("p{i}@example.com")}}))
        .collect();
    let r = api.send(
        "POST",
        "/profile-subscription-bulk-delete-jobs",
        REV,
        &json!({"data": {"type": "profile-subscription-bulk-delete-job",
            "attributes": {"profiles": {"data": unsub}}}}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.detail(),
        "Too many profiles: at most 100 profiles can be unsubscribed per request; got 101."
    );
}
