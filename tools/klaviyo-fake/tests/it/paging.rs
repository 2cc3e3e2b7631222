//! Cursor pagination, data changing under a paging client, visibility.

use std::collections::HashSet;
use std::time::Duration;

use klaviyo_fake::{CursorMode, FakeConfig, Hook};
use serde_json::json;

use crate::{Api, REV, enc, ids};

fn updated(r: &serde_json::Value) -> i64 {
    let s = r["attributes"]["updated"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_micros()
}

#[test]
fn following_links_next_serves_every_match_once_in_order() {
    let api = Api::new(FakeConfig::default().size("profiles", 260));
    let all = api.fake.records("profiles");
    let mut times: Vec<i64> = all.iter().map(updated).collect();
    times.sort_unstable();
    let cut = times[times.len() / 3];
    let cut_text = chrono::DateTime::from_timestamp_micros(cut)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let filter = format!("greater-than(updated,{cut_text})");
    let first = format!(
        "{}/profiles?filter={}&sort=updated&page%5Bsize%5D=17",
        api.fake.base_url(),
        enc(&filter)
    );

    let r = api.get(&first);
    let next = r.json()["links"]["next"].as_str().unwrap().to_owned();
    // Absolute, on the stand-in's base, with every original parameter
    // percent-encoded as Klaviyo does (parentheses, commas, colons, `+`).
    assert!(
        next.starts_with(&format!("{}/profiles/?", api.fake.base_url())),
        "{next}"
    );
    assert!(next.contains("filter=greater-than%28updated%2C"), "{next}");
    assert!(
        next.contains("sort=updated")
            && next.contains("page%5Bsize%5D=17")
            && next.contains("page%5Bcursor%5D="),
        "{next}"
    );
    assert!(r.json()["links"]["prev"].is_null());
    assert!(
        r.json()["links"]["self"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/profiles/?", api.fake.base_url()))
    );

    let got = api.all_pages(&first, REV);
    let mut want: Vec<_> = all.iter().filter(|r| updated(r) > cut).collect();
    want.sort_by_key(|r| updated(r)); // stable: ties keep the served (slot) order
    assert_eq!(
        ids(&got),
        want.iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&got).into_iter().collect::<HashSet<_>>().len(),
        got.len(),
        "no duplicates"
    );
    assert!(got.windows(2).all(|w| updated(&w[0]) <= updated(&w[1])));
    assert!(got.iter().all(|r| updated(r) > cut));
}

#[test]
fn descending_pages_and_prev_links() {
    let api = Api::new(FakeConfig::default().size("profiles", 90));
    let first = format!(
        "{}/profiles?sort=-created&page%5Bsize%5D=40",
        api.fake.base_url()
    );
    let p1 = api.get(&first).json();
    let p2 = api.get(p1["links"]["next"].as_str().unwrap()).json();
    let p3 = api.get(p2["links"]["next"].as_str().unwrap()).json();
    assert_eq!(p3["data"].as_array().unwrap().len(), 10);
    assert!(p3["links"]["next"].is_null(), "no next on the last page");
    let back = api.get(p3["links"]["prev"].as_str().unwrap()).json();
    assert_eq!(back["data"], p2["data"]);
}

#[test]
fn a_tampered_cursor_is_invalid() {
    let api = Api::small();
    let r = api.get("/profiles?page%5Bsize%5D=5");
    let next = r.json()["links"]["next"].as_str().unwrap().to_owned();
    let (head, cursor) = next.rsplit_once("page%5Bcursor%5D=").unwrap();
    let mut c = cursor.as_bytes().to_vec();
    c[3] = if c[3] == b'a' { b'b' } else { b'a' };
    let tampered = format!("{head}page%5Bcursor%5D={}", String::from_utf8(c).unwrap());
    let r = api.get(&tampered);
    assert_eq!(r.status, 400);
    assert_eq!(r.detail(), "Invalid cursor provided.");
    // A cursor of another query (other sort) is not valid either.
    let other = format!(
        "{}/profiles?sort=created&page%5Bsize%5D=5&page%5Bcursor%5D={cursor}",
        api.fake.base_url()
    );
    assert_eq!(api.get(&other).status, 400);
    assert_eq!(api.get(&next).status, 200);
}

/// Page 1 of `sort=updated` is served; then a record on it is updated (so it
/// moves to the end). With offset cursors everything after it shifts down by
/// one and the first record of page 2 is never served.
fn change_while_paging(mode: CursorMode) -> (Vec<String>, Vec<String>) {
    let api = Api::new(FakeConfig::default().size("profiles", 30));
    api.fake.set_cursor_mode(mode);
    let first_page = api.get("/profiles?sort=updated&page%5Bsize%5D=10").data();
    let victim = first_page[0]["id"].as_str().unwrap().to_owned();
    api.fake.on_request(Hook::new("/profiles", 1, move |store| {
        store
            .update("profiles", &victim, |a| {
                a.insert("first_name".into(), json!("Moved"));
            })
            .unwrap();
    }));
    let got = ids(&api.all_pages(
        &format!(
            "{}/profiles?sort=updated&page%5Bsize%5D=10",
            api.fake.base_url()
        ),
        REV,
    ));
    let all: Vec<String> = api.fake.ids("profiles");
    (got, all)
}

#[test]
fn offset_cursors_skip_records_that_shift_keyset_cursors_do_not() {
    let (got, all) = change_while_paging(CursorMode::Offset);
    let served: HashSet<_> = got.iter().cloned().collect();
    let missed: Vec<_> = all.iter().filter(|id| !served.contains(*id)).collect();
    assert_eq!(
        missed.len(),
        1,
        "offset paging skips exactly the shifted record: {missed:?}"
    );
    assert_eq!(got.len(), all.len(), "and serves the moved one twice");

    let (got, all) = change_while_paging(CursorMode::Keyset);
    let served: HashSet<_> = got.iter().cloned().collect();
    assert!(
        all.iter().all(|id| served.contains(id)),
        "keyset paging misses nothing"
    );
}

#[test]
fn writes_become_visible_after_the_delay() {
    let api = Api::new(FakeConfig::empty().size("profiles", 3));
    api.fake.set_visibility_delay(Duration::from_millis(400));
    let id = api
        .fake
        .insert(
            "profiles",
            json!({"attributes": {"email": "late@example.com"}}),
        )
        .unwrap();
    let by_email = format!(
        "/profiles?filter={}",
        enc("equals(email,'late@example.com')")
    );
    assert!(api.get(&by_email).data().is_empty());
    assert_eq!(api.get(&format!("/profiles/{id}/")).status, 404);
    std::thread::sleep(Duration::from_millis(500));
    let found = api.get(&by_email).data();
    assert_eq!(ids(&found), vec![id.clone()]);
    // The record's `updated` is its write time, older than the moment it
    // became visible: the watermark trap.
    let u =
        chrono::DateTime::parse_from_rfc3339(found[0]["attributes"]["updated"].as_str().unwrap())
            .unwrap();
    assert!(chrono::Utc::now().signed_duration_since(u) >= chrono::Duration::milliseconds(400));
    assert_eq!(api.get(&format!("/profiles/{id}/")).status, 200);
}

#[test]
fn updates_set_updated_to_now_and_records_match_what_is_served() {
    let api = Api::new(FakeConfig::default().size("profiles", 50));
    let id = api.fake.ids("profiles")[7].clone();
    let before = api.fake.get("profiles", &id).unwrap();
    api.fake
        .update("profiles", &id, |a| {
            a.insert("first_name".into(), json!("Ada"));
        })
        .unwrap();
    let after = api.fake.get("profiles", &id).unwrap();
    assert_eq!(after["attributes"]["first_name"], "Ada");
    assert_eq!(
        after["attributes"]["email"], before["attributes"]["email"],
        "other attributes kept"
    );
    assert!(updated(&after) > updated(&before));
    assert!(chrono::Utc::now().timestamp_micros() - updated(&after) < 2_000_000);
    // touch and edit
    api.fake
        .edit("profiles", &id, |a| {
            a.insert("updated".into(), json!("2020-01-01T00:00:00+00:00"));
        })
        .unwrap();
    assert_eq!(
        api.fake.get("profiles", &id).unwrap()["attributes"]["updated"],
        "2020-01-01T00:00:00+00:00"
    );
    api.fake.touch("profiles", &id).unwrap();
    assert!(updated(&api.fake.get("profiles", &id).unwrap()) > updated(&after) - 1_000_000);
    // The union of all pages is exactly records().
    let served = api.all_pages(
        &format!("{}/profiles?page%5Bsize%5D=100", api.fake.base_url()),
        REV,
    );
    assert_eq!(served, api.fake.records("profiles"));
    api.fake.delete("profiles", &id).unwrap();
    assert_eq!(api.fake.records("profiles").len(), 49);
    assert!(api.fake.update("profiles", &id, |_| {}).is_err());
}

#[test]
fn same_seed_same_account() {
    let a = Api::new(FakeConfig::default().size("profiles", 40).seed(7));
    let anchor = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let b = klaviyo_fake::FakeKlaviyo::start(FakeConfig {
        anchor: Some(anchor),
        ..FakeConfig::default().size("profiles", 40).seed(7)
    })
    .unwrap();
    let c = klaviyo_fake::FakeKlaviyo::start(FakeConfig {
        anchor: Some(anchor),
        ..FakeConfig::default().size("profiles", 40).seed(7)
    })
    .unwrap();
    let strip = |v: Vec<serde_json::Value>, base: &str| {
        serde_json::to_string(&v).unwrap().replace(base, "BASE")
    };
    assert_eq!(
        strip(b.records("profiles"), b.base_url()),
        strip(c.records("profiles"), c.base_url())
    );
    assert_eq!(b.records("events").len(), c.records("events").len());
    assert_ne!(
        a.fake.ids("profiles"),
        b.ids("profiles"),
        "another anchor moves the ids' time part"
    );
}
