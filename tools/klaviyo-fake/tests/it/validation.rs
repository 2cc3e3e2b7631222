//! What Klaviyo refuses, and how it words it.

use klaviyo_fake::FakeConfig;

use crate::{Api, REV, day, enc};

#[test]
fn missing_or_foreign_authorization_is_401_with_klaviyos_body() {
    let api = Api::small();
    let bearer = format!("Bearer {}", api.fake.api_key());
    for headers in [
        vec![("revision", REV)],
        vec![("revision", REV), ("authorization", bearer.as_str())],
    ] {
        let r = api.request("GET", "/lists", &headers, None);
        assert_eq!(r.status, 401);
        let e = r.error();
        assert_eq!(e["code"], "not_authenticated");
        assert_eq!(e["status"], 401);
        assert_eq!(e["title"], "Authentication credentials were not provided.");
        assert_eq!(
            e["detail"],
            "Missing or invalid authorization scheme. Please use Klaviyo-API-Key."
        );
        assert!(e["id"].as_str().is_some_and(|id| id.len() == 36));
        assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    }
}

#[test]
fn unknown_key_is_401_incorrect_credentials() {
    let api = Api::small();
    let r = api.request(
        "GET",
        "/lists",
        &[
            ("authorization", "Klaviyo-API-Key pk_not_a_key"),
            ("revision", REV),
        ],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.error()["code"], "not_authenticated");
    assert_eq!(r.error()["title"], "Incorrect authentication credentials.");
}

#[test]
fn key_without_the_scope_is_403_naming_it() {
    let api = Api::new(FakeConfig::default().key_with_scopes("pk_lists_only", &["lists:read"]));
    let h = [
        ("authorization", "Klaviyo-API-Key pk_lists_only"),
        ("revision", REV),
    ];
    assert_eq!(api.request("GET", "/lists", &h, None).status, 200);
    let r = api.request("GET", "/profiles", &h, None);
    assert_eq!(r.status, 403);
    assert_eq!(r.error()["code"], "permission_denied");
    assert_eq!(
        r.error()["title"],
        "You do not have permission to perform this action."
    );
    assert!(r.detail().contains("profiles:read"), "{}", r.detail());
    // Writing needs the write scope.
    let body = r#"{"data":{"type":"list","attributes":{"name":"New"}}}"#;
    let r = api.request("POST", "/lists", &h, Some(body));
    assert_eq!(r.status, 403);
    assert!(r.detail().contains("lists:write"));
}

#[test]
fn every_operation_needs_its_own_scopes() {
    let api = Api::new(
        FakeConfig::default()
            .key_with_scopes("pk_lists_w", &["lists:write"])
            .key_with_scopes("pk_both_w", &["lists:write", "profiles:write"]),
    );
    let list = api.fake.ids("lists")[0].clone();
    let profile = api.fake.ids("profiles")[0].clone();
    let body = format!(r#"{{"data":[{{"type":"profile","id":"{profile}"}}]}}"#);
    let path = format!("/lists/{list}/relationships/profiles");
    let h = |key: &'static str| [("authorization", key), ("revision", REV)];
    let r = api.request("POST", &path, &h("Klaviyo-API-Key pk_lists_w"), Some(&body));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.detail(),
        "You do not have permission to perform this action. This API key is missing required scopes: profiles:write."
    );
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(crate::SERVED));
    let r = api.request("POST", &path, &h("Klaviyo-API-Key pk_both_w"), Some(&body));
    assert_eq!(r.status, 204, "{}", r.text);
    // A :write scope grants reading: GET by id and the members.
    let r = api.request(
        "GET",
        &format!("/lists/{list}"),
        &h("Klaviyo-API-Key pk_lists_w"),
        None,
    );
    assert_eq!(r.status, 200);
    let r = api.request(
        "GET",
        &format!("/lists/{list}/profiles"),
        &h("Klaviyo-API-Key pk_lists_w"),
        None,
    );
    assert_eq!(r.status, 403, "profiles:read too");
    let r = api.request(
        "GET",
        &format!("/lists/{list}/profiles"),
        &h("Klaviyo-API-Key pk_both_w"),
        None,
    );
    assert_eq!(r.status, 200);
    // Subscribing needs subscriptions:write besides.
    let r = api.request(
        "POST",
        "/profile-subscription-bulk-create-jobs",
        &h("Klaviyo-API-Key pk_both_w"),
        Some(r#"{"data":{"type":"profile-subscription-bulk-create-job","attributes":{"profiles":{"data":[]}}}}"#),
    );
    assert_eq!(r.status, 403);
    assert!(
        r.detail().ends_with("subscriptions:write."),
        "{}",
        r.detail()
    );
}

#[test]
fn revision_header_is_required_and_checked() {
    let api = Api::small();
    let auth = format!("Klaviyo-API-Key {}", api.fake.api_key());
    for rev in [
        None,
        Some(""),
        Some("2024/10/15"),
        Some("2024-13-01"),
        Some("latest"),
        Some("2024-10-15."),
        Some("2099-01-15"),
    ] {
        let mut h = vec![("authorization", auth.as_str())];
        if let Some(r) = rev {
            h.push(("revision", r));
        }
        let r = api.request("GET", "/lists", &h, None);
        assert_eq!(r.status, 400, "{rev:?}");
        assert_eq!(r.error()["code"], "invalid");
        assert_eq!(r.error()["source"]["parameter"], "revision");
    }
    // A beta suffix is a valid revision; the answer echoes it (on a day
    // when 2024-10-15 was not yet retired: see revisions.rs).
    let api = Api::new(FakeConfig::default().today(day("2025-06-01")));
    let r = api.get_rev("/lists", "2024-10-15.pre");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-klaviyo-api-revision"), Some("2024-10-15.pre"));
}

#[test]
fn undeclared_parameters_are_refused_per_revision() {
    let api = Api::small();
    let r = api.get("/lists?page%5Bsize%5D=5");
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "page[size]");
    // 2026-07-15 declares page[size] on /lists, max 10.
    let r = api.get_rev("/lists?page%5Bsize%5D=5", "2026-07-15");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data().len(), 5);
    assert_eq!(
        api.get_rev("/lists?page%5Bsize%5D=11", "2026-07-15").status,
        400
    );
    let r = api.get("/profiles?colour=blue");
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "colour");
}

#[test]
fn filter_errors_are_worded_as_klaviyo_does() {
    let api = Api::small();
    // (path, filter, detail fragment, source member, source value)
    let cases = [
        (
            "/profiles",
            "greater-or-equal(updated,2024-01-01T00:00:00Z)",
            "'greater-or-equal' operator for filter field 'updated' not supported",
            "parameter",
            "filter",
        ),
        (
            "/profiles",
            "equals(shoe_size,'9')",
            "'equals' operator for filter field 'shoe_size' not supported",
            "parameter",
            "filter",
        ),
        (
            "/profiles",
            "greater-than(updated,'2024-01-01T00:00:00Z')",
            "Invalid filter supplied. Verify your datetimes are not in quotes.",
            "pointer",
            "filters",
        ),
        (
            "/profiles",
            "greater-than(updated,2099-01-01T00:00:00Z)",
            "End date may not be in the future: 2099-01-01T00:00:00Z",
            "pointer",
            "updated",
        ),
        (
            "/events",
            "less-than(datetime,2099-01-01T00:00:00Z)",
            "End date may not be in the future",
            "pointer",
            "datetime",
        ),
        (
            "/profiles",
            "equals(email,'unterminated",
            "Invalid filter provided",
            "parameter",
            "filter",
        ),
        (
            "/profiles",
            "or(equals(email,'a'),equals(email,'b'))",
            "'or' operator is not supported",
            "parameter",
            "filter",
        ),
        (
            "/campaigns",
            "equals(messages.channel,'push')",
            "'push' is not a valid choice",
            "parameter",
            "filter",
        ),
        (
            "/lists",
            "less-than(updated,2024-01-01T00:00:00Z)",
            "'less-than' operator for filter field 'updated' not supported",
            "parameter",
            "filter",
        ),
        (
            "/events",
            "equals(metric_id,'NOPE42')",
            "Metric IDs ['NOPE42'] do not exist.",
            "parameter",
            "filter",
        ),
    ];
    for (path, filter, fragment, member, value) in cases {
        let r = api.get(&format!("{path}?filter={}", enc(filter)));
        assert_eq!(r.status, 400, "{filter}: {}", r.text);
        assert_eq!(r.error()["code"], "invalid");
        assert!(r.detail().contains(fragment), "{filter}: {}", r.detail());
        assert_eq!(r.error()["source"][member], value, "{filter}");
    }
}

#[test]
fn an_unencoded_plus_in_an_offset_is_an_error_not_a_silent_success() {
    let api = Api::small();
    // `+` decodes to a space, so this is `...T00:00:00 00:00` on the server.
    let raw = api.get("/profiles?filter=greater-than(updated,2024-01-01T00:00:00+00:00)");
    assert_eq!(raw.status, 400, "{}", raw.text);
    assert_eq!(raw.error()["source"]["parameter"], "filter");
    let encoded = api.get("/profiles?filter=greater-than(updated,2024-01-01T00:00:00%2B00:00)");
    assert_eq!(encoded.status, 200, "{}", encoded.text);
    let z = api.get("/profiles?filter=greater-than(updated,2024-01-01T00:00:00Z)");
    assert_eq!(z.status, 200);
}

#[test]
fn campaigns_need_one_channel_per_query_until_2026_10_15() {
    let api = Api::small();
    let r = api.get("/campaigns");
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("messages.channel"), "{}", r.detail());
    let r = api.get(&format!(
        "/campaigns?filter={}",
        enc("equals(archived,true)")
    ));
    assert_eq!(
        r.status, 400,
        "archived alone is not the required channel filter"
    );
    for channel in ["email", "sms", "mobile_push"] {
        let r = api.get(&format!(
            "/campaigns?filter={}",
            enc(&format!("equals(messages.channel,'{channel}')"))
        ));
        assert_eq!(r.status, 200, "{channel}: {}", r.text);
    }
    // Omni campaigns: no required filter, no channel filter, the new shape.
    let r = api.get_rev("/campaigns", "2026-10-15");
    assert_eq!(r.status, 200, "{}", r.text);
    let c = &r.data()[0]["attributes"];
    assert!(
        c["definition"].is_object() && c["created_at"].is_string() && c["updated_at"].is_string(),
        "{c}"
    );
    assert!(
        c.get("scheduled_at").is_none() && c.get("name").is_none(),
        "{c}"
    );
    let r = api.get_rev(
        &format!(
            "/campaigns?filter={}",
            enc("equals(messages.channel,'email')")
        ),
        "2026-10-15",
    );
    assert_eq!(r.status, 400);
}

#[test]
fn archived_campaigns_and_flows_are_hidden_unless_asked_for() {
    let api = Api::small();
    let count = |pq: &str, rev: &str| {
        api.all_pages(&format!("{}{pq}", api.fake.base_url()), rev)
            .len()
    };
    let mut hidden = 0;
    let mut shown = 0;
    for channel in ["email", "sms", "mobile_push"] {
        let base = format!("equals(messages.channel,'{channel}')");
        let default = count(&format!("/campaigns?filter={}", enc(&base)), REV);
        let active = count(
            &format!(
                "/campaigns?filter={}",
                enc(&format!("and({base},equals(archived,false))"))
            ),
            REV,
        );
        let archived = count(
            &format!(
                "/campaigns?filter={}",
                enc(&format!("and({base},equals(archived,true))"))
            ),
            REV,
        );
        assert_eq!(default, active, "{channel}");
        hidden += archived;
        shown += default;
    }
    let all = api.fake.records("campaigns");
    let archived_total = all
        .iter()
        .filter(|c| c["attributes"]["archived"] == true)
        .count();
    assert!(
        archived_total > 0,
        "the default account has archived campaigns"
    );
    assert_eq!(hidden, archived_total);
    assert_eq!(shown + hidden, all.len());
    // Flows, and the 2026-10-15 campaign shape (`definition.archived`).
    let flows = api.fake.records("flows");
    let default = count("/flows", REV);
    let archived = count(
        &format!("/flows?filter={}", enc("equals(archived,true)")),
        REV,
    );
    assert!(archived > 0);
    assert_eq!(default + archived, flows.len());
    let omni_default = count("/campaigns", "2026-10-15");
    let omni_archived = count(
        &format!("/campaigns?filter={}", enc("equals(archived,true)")),
        "2026-10-15",
    );
    assert_eq!((omni_default, omni_archived), (shown, hidden));
}

#[test]
fn page_size_bounds_and_defaults() {
    let api = Api::small();
    for bad in ["0", "101", "abc", "1.5", "-1", ""] {
        let r = api.get(&format!("/profiles?page%5Bsize%5D={bad}"));
        assert_eq!(r.status, 400, "{bad:?}");
        assert_eq!(r.error()["source"]["parameter"], "page[size]");
    }
    assert_eq!(api.get("/profiles?page%5Bsize%5D=100").data().len(), 100);
    assert_eq!(api.get("/profiles").data().len(), 20, "declared default");
    assert_eq!(
        api.get("/lists").data().len(),
        10,
        "fixed page size of 2024-10-15 lists"
    );
    api.fake.set_page_cap(Some(7));
    assert_eq!(api.get("/profiles?page%5Bsize%5D=100").data().len(), 7);
}

#[test]
fn sort_must_be_declared() {
    let api = Api::small();
    let r = api.get("/profiles?sort=first_name");
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "sort");
    assert_eq!(api.get("/profiles?sort=-updated").status, 200);
    assert_eq!(
        api.get("/metrics?sort=name").status,
        400,
        "metrics declare no sort"
    );
}

#[test]
fn unknown_paths_and_ids_are_json_404s() {
    let api = Api::small();
    for pq in [
        "/nothing-here",
        "/profiles/NOPE/",
        "/profiles/a/b/c",
        "/web-feeds",
    ] {
        let r = api.get(pq);
        assert_eq!(r.status, 404, "{pq}");
        assert_eq!(r.error()["code"], "not_found");
    }
    // /web-feeds exists from 2025-04-15 on.
    assert_eq!(api.get_rev("/web-feeds", "2026-07-15").status, 200);
}
