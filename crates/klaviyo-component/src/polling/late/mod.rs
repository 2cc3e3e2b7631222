//! Late records: those whose polled field lies behind where the main
//! window has reached when Klaviyo first lists them (events sent with a
//! past `time`). The trigger re-reads the recent past on a schedule
//! (`stretches.rs`) and tells what is new from a few sums of summary per
//! stretch (`sketch.rs`), so such records are emitted once each within the
//! lookback. docs/polling.md "Late records" says what is guaranteed.

pub mod sim;
pub(super) mod sketch;
pub(super) mod stretches;
