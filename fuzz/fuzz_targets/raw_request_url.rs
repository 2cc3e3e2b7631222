//! The raw request action's url check: no url leads the key anywhere but
//! the configured base.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &str)| {
    let (base, url) = input;
    klaviyo_fuzz::checks::raw_url(url, base);
});
