//! The config readers (component-sdk's `Config` helpers, the trigger's
//! `PollConfig::from_config`, the credential's fields) and the operator
//! settings. The input is the step's configuration as JSON when it is JSON,
//! else a text value for every field; the settings' values and the revision
//! come from arbitrary strings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|input: (&[u8], String, Vec<String>)| {
    let (cfg, revision, settings) = input;
    let cfg = serde_json::from_slice::<Value>(cfg)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(cfg).into_owned()));
    klaviyo_fuzz::checks::config(&cfg, &revision);
    klaviyo_fuzz::checks::settings(&settings);
});
