//! The Klaviyo component: the "Get New and Updated Objects Polling" trigger,
//! the "Make Raw Request" action and credential verification, all talking to
//! Klaviyo through one [`client::Client`].
//!
//! Nothing here touches stdin, stdout or the process environment: settings
//! arrive in a [`component_sdk::Env`], events leave through a
//! [`component_sdk::Emitter`]. All HTTP goes through [`client`].

pub mod client;
pub mod credentials;
mod error;
pub mod filter;
pub mod polling;
pub mod raw_request;
mod registry;
pub mod revision;
pub mod settings;
pub mod time;

pub use error::Error;
pub use registry::REGISTRY;
