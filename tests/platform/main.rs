//! The component inside the real elastic.io runtime: a throw-away RabbitMQ
//! per test, a stub platform API, real sailor 2.7.8 processes (from
//! `npm ci`) running the adapters of `platform/elasticio`, which run this
//! build's `klaviyo-runner`, with the stand-in as Klaviyo
//! (docs/platform.md).
//!
//! Without RabbitMQ or Node.js (and `npm ci`) each test skips with one
//! line and `support::the_platform_tests_ran` fails, unless
//! `KLAVIYO_SKIP_PLATFORM_TESTS=1`; with `CI=true` every one fails.

mod support;

mod faults;
mod raw_request;
mod services;
mod trigger;
mod window;
