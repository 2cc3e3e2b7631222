//! The Klaviyo component: the "Get New and Updated Objects Polling" trigger,
//! the "Make Raw Request" action, the typed actions (lookups, upserts,
//! deletes, events, subscriptions, list membership) and credential
//! verification, all talking to Klaviyo through one client.
//!
//! The API is [`COMPONENT`]: `component.json` and the code behind each of
//! its ids, which `klaviyo-runner` runs. Nothing here touches stdin, stdout
//! or the process environment: settings arrive in a
//! [`component_sdk::Env`], events leave through a [`component_sdk::Sink`].

mod actions;
mod catalog;
mod client;
mod conditions;
mod context;
mod emit;
mod error;
mod fields;
mod filter;
mod labels;
mod polling;
mod raw_request;
mod registry;
mod revision;
mod settings;
mod time;
mod verify;

pub use error::Error;
pub use registry::COMPONENT;

/// Internals that the fuzz targets (`fuzz/`) and the property tests
/// (`tests/e2e/properties.rs`) check directly. Not an API: nothing else
/// should use it, and it changes whenever the internals do.
#[doc(hidden)]
pub mod testing {
    pub use crate::client::{Client, Credentials, is_under};
    pub use crate::emit::EmitBehavior;
    pub use crate::filter::{Filter, Literal};
    pub use crate::polling::testing::*;
    pub use crate::raw_request::resolve;
    pub use crate::revision::Revision;
    pub use crate::settings::{Settings, parse_base_url};
    pub use crate::time::{parse as parse_time, to_text};
}
