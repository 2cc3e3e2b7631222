//! The filter builder, and the trigger's query for every pollable type and
//! window of every revision.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (
    Vec<klaviyo_fuzz::checks::ConditionInput>,
    u16,
    (u8, u16, u8, u8, i64, i64)
)| {
    let (conditions, collection, (revision, object_type, field, partition, from, to)) = input;
    klaviyo_fuzz::checks::filter(&conditions, collection);
    klaviyo_fuzz::checks::plan_query(revision, object_type, field, partition, from, to);
});
