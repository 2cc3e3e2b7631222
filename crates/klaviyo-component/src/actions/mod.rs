//! The typed actions: look up one object or many, upsert, delete, create
//! events, subscribe and unsubscribe profiles, and manage list membership,
//! for every object type the configured revision's OpenAPI file describes.
//!
//! Each action reads its fields through [`crate::fields`], builds its
//! request from the revision's facts ([`crate::catalog`], [`jsonapi`]), checks it
//! against the request schema before anything is sent ([`coerce`],
//! [`validate`]), and talks to Klaviyo through the one client, declaring
//! which writes are safe to repeat. docs/actions.md describes each one.

// The one shape of an action, and what actions read and send.
mod action;
mod answer;
mod body;
mod request;
mod write;

// The schema code, from the leaf up: schemas read, checked, the mapper's
// values made what they ask for, the JSON:API envelope, the metadata.
mod coerce;
mod jsonapi;
mod metadata;
mod schema;
mod validate;
pub(crate) mod values;

// The actions, one module each.
pub(crate) mod delete;
pub(crate) mod event;
pub(crate) mod lookup;
pub(crate) mod lookup_many;
pub(crate) mod membership;
pub(crate) mod subscriptions;
pub(crate) mod upsert;

pub(crate) use self::action::{Act, Action, Run};
pub(crate) use self::body::{Body, Member};
