//! component.json, the code and the changelog tell the same story.

use component_sdk::descriptor::Descriptor;
use klaviyo_component::COMPONENT;

fn descriptor() -> Descriptor {
    Descriptor::parse(COMPONENT.component_json)
        .expect("component.json is valid JSON of the right shape")
}

#[test]
fn component_json_passes_the_platform_s_validation() {
    assert_eq!(descriptor().validate(), Vec::<String>::new());
}

#[test]
fn component_json_and_the_code_agree() {
    assert_eq!(descriptor().check_against(&COMPONENT), Vec::<String>::new());
}

#[test]
fn versions_agree_with_the_crate_and_the_changelog() {
    let version = descriptor().version.expect("component.json has a version");
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "component.json version = crate version"
    );
    let changelog =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../CHANGELOG.md"))
            .expect("CHANGELOG.md at the repository root");
    let newest = changelog
        .lines()
        .find_map(|l| l.strip_prefix("## "))
        .expect("CHANGELOG.md has an entry");
    let newest_version = newest.split_whitespace().next().unwrap_or_default();
    assert_eq!(
        newest_version, version,
        "the newest CHANGELOG entry is {newest:?}"
    );
    let date = newest
        .split_once('(')
        .and_then(|(_, d)| d.strip_suffix(')'))
        .expect("entries read `## 1.0.0 (Month DD, YYYY)`");
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%B %d, %Y").is_ok(),
        "the entry's date {date:?} reads like `November 28, 2026`"
    );
}

#[test]
fn secrets_are_the_password_fields() {
    assert_eq!(
        descriptor().secret_fields().into_iter().collect::<Vec<_>>(),
        vec!["apiKey"]
    );
}

#[test]
fn the_fields_the_issues_pin() {
    let d = descriptor();
    let (trigger, is_trigger) = d
        .function("getNewAndUpdatedObjectsPolling")
        .expect("trigger");
    assert!(is_trigger);
    assert_eq!(trigger.kind.as_deref(), Some("polling"));
    for field in [
        "objectType",
        "pollConfig",
        "emitBehavior",
        "pageSize",
        "startTime",
    ] {
        assert!(trigger.fields.contains_key(field), "{field}");
    }
    assert_eq!(
        trigger.fields["pollConfig"].require,
        vec!["objectType".to_owned()]
    );
    let (action, is_trigger) = d.function("makeRawRequest").expect("action");
    assert!(!is_trigger);
    assert_eq!(
        action.fields["doNotThrow404"].view_class.as_deref(),
        Some("CheckBoxView")
    );
    let actions = [
        ("lookupObject", "Lookup Object (at most one)"),
        ("lookupObjects", "Lookup Objects (plural)"),
        ("upsertObject", "Upsert Object"),
        ("deleteObject", "Delete Object"),
        ("createEvent", "Create Event"),
        ("subscribeProfiles", "Subscribe Profiles"),
        ("unsubscribeProfiles", "Unsubscribe Profiles"),
        ("addProfilesToList", "Add Profiles to List"),
        ("removeProfilesFromList", "Remove Profiles from List"),
    ];
    for (id, title) in actions {
        let (action, is_trigger) = d.function(id).unwrap_or_else(|| panic!("{id}"));
        assert!(!is_trigger, "{id}");
        assert_eq!(action.title.as_deref(), Some(title), "{id}");
        assert_eq!(
            action.dynamic_metadata,
            Some(serde_json::Value::Bool(true)),
            "{id}"
        );
    }
    let credentials = d.credentials.expect("credentials");
    assert_eq!(
        credentials.fields["apiKey"].view_class.as_deref(),
        Some("PasswordFieldView")
    );
    assert_eq!(
        credentials.fields["revision"].view_class.as_deref(),
        Some("TextFieldView")
    );
}

/// elastic.io shows `logo.png` from the repository root beside the
/// component: a 256×256 PNG (drawn by `tools/logo.py`).
#[test]
fn the_logo_is_a_256_square_png_at_the_root() {
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../logo.png"))
        .expect("logo.png at the repository root");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "the header comes first");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), (256, 256));
    assert!(png.len() < 64 * 1024, "{} bytes", png.len());
}
