//! The runner's stdin parser: any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    klaviyo_fuzz::checks::envelope(data);
});
