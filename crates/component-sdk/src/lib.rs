//! The elastic.io component model, as a Rust library.
//!
//! A component is a set of steps (triggers and actions) declared in
//! `component.json`. The platform runs one step at a time: it hands the step
//! its configuration (`cfg`), an incoming [`Message`] and the step's last
//! snapshot, and the step answers with [`Event`]s written to an [`Emitter`].
//!
//! This crate holds the model only. It performs no I/O: it never reads the
//! process environment, stdin or stdout, and never opens a connection. A
//! runner (the `klaviyo-runner` binary) turns the model into a process.

pub mod config;
pub mod descriptor;
pub mod emit;
pub mod env;
mod error;
pub mod event;
pub mod message;
pub mod registry;
pub mod schema;
pub mod step;

pub use config::Config;
pub use emit::{Emitter, Recorder};
pub use env::Env;
pub use error::Error;
pub use event::{ErrorPayload, Event};
pub use message::Message;
pub use registry::{Function, MetaModel, Registry, SelectModel, StepRef, Verification};
pub use step::{Action, StepInput, Trigger};
