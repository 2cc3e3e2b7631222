//! End-to-end tests: build `klaviyo-runner` (and the fixture runner, whose
//! steps emit every event kind), pipe invocations into it, and snapshot what
//! comes out (stdout, stderr, exit code) with ids and times redacted.

mod stand_in;
mod support;

mod actions;
mod cases;
mod contract;
mod docs;
mod faults;
mod hostile;
mod kill;
mod polling;
mod properties;
mod secrets;
