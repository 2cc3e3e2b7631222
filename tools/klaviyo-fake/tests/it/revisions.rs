//! Klaviyo's revision lifecycle: a revision retires two years after its
//! release; a request naming a retired one is served as the oldest
//! revision still supported on the stand-in's "today", by its rules and in
//! its shape, unless it opts out of falling forward (410). Every answer
//! names the revision that served it.

use chrono::Months;
use klaviyo_fake::{FakeConfig, GA_REVISIONS, RateLimitRule};

use crate::{Api, day};

const OPT_OUT: &str = "X-Klaviyo-Revision-Fall-Forward-Opt-Out";

fn on(today: &str) -> Api {
    Api::new(FakeConfig::default().today(day(today)))
}

#[test]
fn every_answer_names_the_revision_served() {
    let api = Api::new(FakeConfig {
        rate_limit: Some(RateLimitRule {
            burst_per_second: 100,
            steady_per_minute: 1,
        }),
        ..FakeConfig::default().today(day("2026-12-01"))
    });
    let served = |r: &crate::Resp| r.header("x-klaviyo-api-revision").map(str::to_owned);
    // Nothing falls forward: the revision asked for.
    let ok = api.get_rev("/lists", "2026-07-15");
    assert_eq!(ok.status, 200);
    assert_eq!(served(&ok).as_deref(), Some("2026-07-15"));
    // Errors after the revision is known carry it too.
    let not_found = api.get_rev("/lists/nope", "2026-07-15");
    assert_eq!(not_found.status, 404);
    assert_eq!(served(&not_found).as_deref(), Some("2026-07-15"));
    let throttled = api.get_rev("/lists", "2024-10-15");
    assert_eq!(throttled.status, 429);
    assert_eq!(served(&throttled).as_deref(), Some("2025-01-15"));
    let bad_param = api.get_rev("/profiles?colour=blue", "2026-10-15");
    assert_eq!(bad_param.status, 400);
    assert_eq!(served(&bad_param).as_deref(), Some("2026-10-15"));
}

#[test]
fn a_retired_revision_is_served_as_the_oldest_supported_one() {
    // 2024-10-15 retired on 2026-10-15; 2025-01-15 retires on 2027-01-15.
    for (today, served) in [
        ("2026-10-14", "2024-10-15"),
        ("2026-10-15", "2025-01-15"),
        ("2027-01-15", "2025-04-15"),
    ] {
        let api = on(today);
        let r = api.get_rev("/lists", "2024-10-15");
        assert_eq!(r.status, 200, "{today}: {}", r.text);
        assert_eq!(
            r.header("x-klaviyo-api-revision"),
            Some(served),
            "on {today}"
        );
    }
    // A beta of a retired date falls forward to a GA revision.
    let r = on("2026-12-01").get_rev("/lists", "2024-10-15.pre");
    assert_eq!(r.header("x-klaviyo-api-revision"), Some("2025-01-15"));
}

#[test]
fn a_fallen_forward_request_gets_the_served_revisions_rules_and_shape() {
    let no_channel = "/campaigns";
    let lists_page = "/lists?page%5Bsize%5D=3";
    // Served as 2025-01-15 (2024-10-15's rules): campaigns need a channel
    // filter, and /lists declares no page[size].
    let api = on("2026-12-01");
    assert_eq!(api.get_rev(no_channel, "2024-10-15").status, 400);
    assert_eq!(api.get_rev(lists_page, "2024-10-15").status, 400);
    // On 2028-08-01 every revision up to 2026-07-15 is retired: a request
    // for 2024-10-15 is answered as 2026-10-15 is.
    let api = on("2028-08-01");
    let r = api.get_rev(no_channel, "2024-10-15");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-klaviyo-api-revision"), Some("2026-10-15"));
    let campaign = &r.data()[0]["attributes"];
    assert!(campaign.get("definition").is_some(), "{campaign}");
    assert!(campaign.get("send_strategy").is_none(), "{campaign}");
    let lists = api.get_rev(lists_page, "2024-10-15");
    assert_eq!(lists.status, 200, "{}", lists.text);
    assert_eq!(lists.data().len(), 3);
}

#[test]
fn opting_out_of_fall_forward_turns_a_retired_revision_into_410() {
    let api = on("2026-12-01");
    let auth = format!("Klaviyo-API-Key {}", api.fake.api_key());
    let headers = |rev: &'static str, opt: &'static str| {
        vec![
            ("authorization", auth.clone()),
            ("revision", rev.to_owned()),
            (OPT_OUT, opt.to_owned()),
        ]
    };
    let send = |h: Vec<(&str, String)>| {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        api.request("GET", "/lists", &h, None)
    };
    let r = send(headers("2024-10-15", "1"));
    assert_eq!(r.status, 410, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    let e = r.error();
    assert_eq!(e["status"], 410);
    assert_eq!(e["code"], "gone");
    assert_eq!(e["source"]["parameter"], "revision");
    assert_eq!(
        e["detail"],
        "Revision 2024-10-15 was retired on 2026-10-15. Use revision 2025-01-15 or newer, or leave \
         out the X-Klaviyo-Revision-Fall-Forward-Opt-Out header to be served revision 2025-01-15 \
         instead."
    );
    assert!(e["id"].as_str().is_some_and(|id| id.len() == 36));
    // A supported revision is served as usual; only `1` opts out.
    assert_eq!(send(headers("2026-07-15", "1")).status, 200);
    let r = send(headers("2024-10-15", "0"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-klaviyo-api-revision"), Some("2025-01-15"));
}

#[test]
fn today_decides_which_revisions_exist() {
    // Not yet released on the stand-in's date: refused like a made-up one.
    let r = on("2025-06-01").get_rev("/lists", "2026-07-15");
    assert_eq!(r.status, 400);
    assert_eq!(r.error()["source"]["parameter"], "revision");
    // Changed on a running stand-in.
    let api = on("2025-06-01");
    api.fake.set_today(Some(day("2026-08-01")));
    assert_eq!(api.get_rev("/lists", "2026-07-15").status, 200);
}

#[test]
fn by_default_today_is_the_clocks() {
    let today = chrono::Utc::now().date_naive();
    let oldest = GA_REVISIONS
        .iter()
        .find(|r| {
            day(r)
                .checked_add_months(Months::new(24))
                .is_some_and(|retired| retired > today)
        })
        .or(GA_REVISIONS.last())
        .unwrap();
    let r = Api::with_clock(FakeConfig::default()).get_rev("/lists", GA_REVISIONS[0]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-klaviyo-api-revision"), Some(*oldest));
}
