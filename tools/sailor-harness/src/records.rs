//! Records the size real ones are: the stand-in's generated profiles are
//! small (a few hundred bytes), a Klaviyo profile with its custom
//! properties is a few kilobytes, and that size is what decides how a
//! message crosses the broker (several frames, Nagle's algorithm).

use klaviyo_fake::FakeKlaviyo;
use serde_json::{Map, Value, json};

/// Gives every profile custom properties of about `bytes` bytes in all,
/// without touching its timestamps (so a poll's windows stay as they were).
pub fn pad_profiles(fake: &FakeKlaviyo, bytes: usize) -> Result<(), String> {
    for id in fake.ids("profiles") {
        fake.edit("profiles", &id, |attributes| {
            attributes.insert("properties".into(), properties(bytes));
        })
        .map_err(|e| format!("profile {id}: {e:?}"))?;
    }
    Ok(())
}

/// Custom properties of about `bytes` bytes of JSON: 64-byte values under
/// keys like a CRM's.
fn properties(bytes: usize) -> Value {
    let mut map = Map::new();
    for i in 0..bytes.div_ceil(83) {
        map.insert(
            format!("crm_field_{i:03}"),
            json!(format!("{i:03}-{}", "v".repeat(60))),
        );
    }
    Value::Object(map)
}
