//! The elastic.io component model, as a Rust library.
//!
//! A component is a set of steps (triggers and actions) declared in
//! `component.json`. The platform runs one step at a time: it hands the step
//! its configuration (`cfg`), an incoming [`Message`] and the step's last
//! snapshot, and the step answers with [`Event`]s written to a [`Sink`].
//!
//! This crate holds the model only. It performs no I/O: it never reads the
//! process environment, stdin or stdout, and never opens a connection. A
//! runner (the `klaviyo-runner` binary) turns the model into a process.

pub mod config;
pub mod descriptor;
mod env;
mod error;
mod event;
mod message;
mod registry;
pub mod schema;
mod sink;
mod step;

pub use config::{Config, Field};
pub use env::Env;
pub use error::{Error, ErrorKind};
pub use event::{ErrorPayload, Event};
pub use message::{MAX_MESSAGE_BYTES, Message};
pub use registry::{
    Component, Function, MetaModel, MetaModelFn, SelectModel, SelectModelFn, Verification, VerifyFn,
};
pub use sink::{Recorder, Sink};
pub use step::{DynStep, LocalBoxFuture, Step, StepInput};
