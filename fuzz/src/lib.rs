//! The properties behind the fuzz targets in `fuzz_targets/`. They live in
//! `checks.rs`, which `tests/e2e/properties.rs` also includes, so the same
//! properties run on stable in `cargo test` with generated inputs.

pub mod checks;
