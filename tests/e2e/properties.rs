//! The fuzz targets' properties (fuzz/src/checks.rs, included below) on
//! inputs proptest generates, so they run on stable in `cargo test`; the
//! fuzzers themselves need nightly (docs/reliability.md). proptest prints
//! the failing input, shrunk, and keeps its seed in
//! `tests/proptest-regressions/properties.txt` to replay first next time.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};

// Its functions are the fuzz crate's API, `pub` there; here they are a
// private module's.
#[allow(unreachable_pub)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

/// Any JSON, with the values the readers treat specially well represented.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        interesting_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-zA-Z]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Texts the config readers give meaning to, and near misses.
fn interesting_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "on",
            "OFF",
            "true",
            "False",
            "yes",
            "1",
            "0",
            "100",
            "101",
            " 7 ",
            "-5",
            "2.5",
            "1e2",
            "+5",
            "99999999999999999999",
            "emitPage",
            "fetchPage",
            "emitIndividually",
            "sideways",
            "profiles",
            "events",
            "lists",
            "segments",
            "campaigns",
            "flows",
            "templates",
            "catalog-items",
            "metrics",
            "reviews",
            "persons",
            "updated",
            "created",
            "datetime",
            "updated_at",
            "created_at",
            "scheduled_at",
            "email",
            "2024-05-01T12:00:00Z",
            "2024-05-01",
            "2024-05-01 12:00:00",
            "2024-13-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-05-01T12:00:00+25:00",
            "2024-10-15",
            "2026-10-15",
            "2024-10-15.pre",
            "latest",
            "pk_abc",
        ])
        .prop_map(str::to_owned),
        "[0-9 .+-]{0,6}",
        "\\PC{0,20}",
    ]
}

/// A step configuration: the fields the readers know, each absent or any
/// JSON, plus unknown ones.
fn step_config() -> impl Strategy<Value = Value> {
    let field = || {
        prop_oneof![
            2 => Just(None),
            3 => interesting_text().prop_map(|t| Some(Value::String(t))),
            2 => json_value().prop_map(Some),
        ]
    };
    (
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
        btree_map("[a-z]{1,6}", json_value(), 0..3),
    )
        .prop_map(|(o, p, e, s, t, k, r, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            for (key, value) in [
                ("objectType", o),
                ("pollConfig", p),
                ("emitBehavior", e),
                ("pageSize", s),
                ("startTime", t),
                ("apiKey", k),
                ("revision", r),
            ] {
                if let Some(v) = value {
                    map.insert(key.to_owned(), v);
                }
            }
            Value::Object(map)
        })
}

/// stdin: an envelope whose members are of any type, sometimes cut short
/// or with a byte changed.
fn envelope_bytes() -> impl Strategy<Value = Vec<u8>> {
    let member = || {
        prop_oneof![
            2 => Just(None),
            3 => btree_map("[a-zA-Z]{0,6}", json_value(), 0..4)
                .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
            1 => json_value().prop_map(Some),
        ]
    };
    let msg = prop_oneof![
        2 => (member(), prop::option::of(json_value()), prop::option::of(json_value()), member())
            .prop_map(|(body, id, headers, attachments)| {
                let mut m = Map::new();
                for (k, v) in [("body", body), ("id", id), ("headers", headers), ("attachments", attachments)] {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v);
                    }
                }
                Some(Value::Object(m))
            }),
        1 => member(),
    ];
    (
        member(),
        msg,
        member(),
        any::<u8>(),
        any::<prop::sample::Index>(),
        0u8..8,
    )
        .prop_map(|(cfg, msg, snapshot, byte, at, mutation)| {
            let mut top = Map::new();
            for (k, v) in [("cfg", cfg), ("msg", msg), ("snapshot", snapshot)] {
                if let Some(v) = v {
                    top.insert(k.to_owned(), v);
                }
            }
            let mut bytes = serde_json::to_vec(&Value::Object(top)).expect("json");
            let i = at.index(bytes.len());
            match mutation {
                0 => bytes.truncate(i),
                1 => bytes[i] = byte,
                2 => bytes.insert(i, byte),
                _ => {}
            }
            bytes
        })
}

/// Pieces that change where a URL points, and ordinary ones.
fn url_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "",
            "/",
            "/",
            "/",
            "//",
            "\\",
            "..",
            ".",
            "%2e%2e",
            "%2E.",
            ".%2e",
            "%2e",
            "%2f",
            "%2F",
            "%5c",
            "@",
            ":",
            "?",
            "#",
            "&",
            ";",
            "api",
            "api",
            "apiv2",
            "v1",
            "klaviyo",
            "profiles",
            "lists",
            "a.klaviyo.com",
            "evil.example",
            "127.0.0.1",
            "localhost",
            "[::1]",
            ":8080",
            ":443",
            ":3000",
            ":9000",
            ":80",
            "http:",
            "https:",
            "HTTPS:",
            "ftp:",
            "javascript:",
            "user:pw@",
            "\t",
            " ",
            "\u{3002}",
            "\u{ff0e}",
            "\u{2215}",
            "%00",
            "%0d%0a",
            "%252e%252e",
            "page[size]=5",
            "\u{e9}",
        ])
        .prop_map(str::to_owned),
        "[a-z0-9]{1,5}",
        any::<char>().prop_map(String::from),
    ];
    let origin = prop::sample::select(vec![
        "",
        "",
        "https://a.klaviyo.com",
        "http://127.0.0.1:8080",
        "http://localhost:3000",
        "http://[::1]:9000",
        "https://a.klaviyo.com:443",
        "HTTP://LOCALHOST:3000",
        "http://127.0.0.1:8080@evil.example",
    ]);
    prop_oneof![
        4 => (origin, vec(piece, 0..12)).prop_map(|(o, p)| format!("{o}{}", p.concat())),
        1 => "\\PC{0,40}",
        1 => ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn stdin_envelope_any_bytes(bytes in vec(any::<u8>(), 0..64)) {
        checks::envelope(&bytes);
    }

    #[test]
    fn stdin_envelope_any_members(bytes in envelope_bytes()) {
        checks::envelope(&bytes);
    }

    #[test]
    fn config_readers(cfg in step_config(), revision in interesting_text()) {
        checks::config(&cfg, &revision);
    }

    #[test]
    fn config_readers_any_json(cfg in json_value(), revision in "\\PC{0,12}") {
        checks::config(&cfg, &revision);
    }

    #[test]
    fn operator_settings(values in vec(
        prop_oneof![
            interesting_text(),
            "[0-9]{1,12}",
            prop::sample::select(vec![
                "http://127.0.0.1:8080/api", "https://a.klaviyo.com/api/", "ftp://x/api",
                "https://user:pw@a.klaviyo.com/api", "http://h/api?x=1", "http://", "/api",
            ]).prop_map(str::to_owned),
        ],
        7,
    )) {
        checks::settings(&values);
    }

    #[test]
    fn filter_builder(
        conditions in vec((any::<u8>(), "[a-z_.]{0,12}|\\PC{0,6}", any::<u8>(), "\\PC{0,16}|['\\\\(),]{0,6}", any::<i64>(), any::<bool>()), 0..5),
        collection in any::<u16>(),
    ) {
        checks::filter(&conditions, collection);
    }

    #[test]
    fn trigger_queries(
        revision in any::<u8>(),
        object_type in any::<u16>(),
        field in any::<u8>(),
        partition in any::<u8>(),
        from in any::<i64>(),
        to in any::<i64>(),
    ) {
        checks::plan_query(revision, object_type, field, partition, from, to);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn raw_request_url(base in any::<u8>(), url in url_text()) {
        checks::raw_url(&url, base);
    }
}

/// Every pollable type, field and partition of every revision, over a few
/// windows: the generated cases above pick among them at random.
#[test]
fn every_trigger_query_of_every_revision() {
    let windows: [(i64, i64); 3] = [
        (0, 1_700_000_000),
        (1_714_564_800, 1_714_564_801),
        (-62_135_596_800, 253_402_300_799),
    ];
    for (r, spec) in klaviyo_spec::revisions().iter().enumerate() {
        let types = klaviyo_component::testing::object_types(spec);
        for (t, ty) in types.iter().enumerate() {
            let fields = klaviyo_component::testing::timestamp_fields(ty.collection);
            let plan = klaviyo_component::testing::Plan::new(ty.collection, fields[0]);
            for f in 0..fields.len() {
                for p in 0..plan.partitions.len().max(1) {
                    for (from, to) in windows {
                        // `plan_query` maps a seed onto years 1..=9999; these
                        // seeds are the instants themselves, shifted.
                        let shift = 62_135_596_800;
                        checks::plan_query(
                            r as u8,
                            t as u16,
                            f as u8,
                            p as u8,
                            from + shift,
                            to + shift,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_start_time_in_year_0000_gives_a_filter_klaviyo_reads() {
    use klaviyo_component::testing::{PollConfig, Revision};
    let cfg = serde_json::json!({"objectType": "profiles", "pollConfig": "updated",
                                 "startTime": "0000-01-01T00:00:00Z"});
    let cfg = component_sdk::Config::new(cfg.as_object().cloned().expect("object"));
    let revision = Revision::default_revision();
    let Ok(config) = PollConfig::from_config(&cfg, &revision, chrono::Utc::now()) else {
        return; // refusing the Start Time is a fine fix too
    };
    let plan = klaviyo_component::testing::Plan::new(config.object_type.collection, config.field);
    let client = klaviyo_component::testing::Client::new(
        klaviyo_component::testing::Credentials {
            api_key: "pk_property".into(),
            revision,
        },
        &klaviyo_component::testing::Settings::default(),
    )
    .expect("a client");
    let query = plan
        .query(&plan.partitions[0], config.start_time, chrono::Utc::now())
        .expect("a query");
    let url = client.url(query.path, &query.pairs());
    let filter = url
        .query_pairs()
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned())
        .expect("a filter");
    for (_, _, value) in checks::parse_filter(&filter).expect("parses") {
        if let checks::Parsed::Bare(v) = value {
            assert!(!v.starts_with('-'), "a negative year in {filter}");
        }
    }
}
