//! The component against the local Klaviyo stand-in, over real HTTP on
//! 127.0.0.1. One test binary, one module per subject.

mod support;

mod actions_recipe;
mod component_json;
mod create_event;
mod credentials;
mod delete_object;
mod late;
mod lookup_object;
mod lookup_objects;
mod membership;
mod polling;
mod query_shapes;
mod raw_request;
mod slices;
mod subscriptions;
mod upsert_object;
