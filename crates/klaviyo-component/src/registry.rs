//! The ids of component.json and the code behind them.

use component_sdk::registry::{BoxFuture, Function, MetaModel, SelectModel, StepRef};
use component_sdk::{Config, Env, Registry, Verification};

use crate::{credentials, polling, raw_request};

/// The Klaviyo component.
pub struct Klaviyo;

/// What `klaviyo-runner` runs.
pub static REGISTRY: Klaviyo = Klaviyo;

/// `component.json`, the published descriptor, compiled in so the binary
/// and the file cannot drift apart unnoticed (a test compares them with the
/// code).
const COMPONENT_JSON: &str = include_str!("../../../component.json");

static FUNCTIONS: &[Function] = &[
    Function {
        id: "getNewAndUpdatedObjectsPolling",
        step: StepRef::Trigger(&polling::PollingTrigger),
        select_models: &[
            ("getObjectTypes", object_types),
            ("getTimestampFields", timestamp_fields),
        ],
        meta_model: Some(polling_meta_model),
        static_metadata: None,
    },
    Function {
        id: "makeRawRequest",
        step: StepRef::Action(&raw_request::RawRequest),
        select_models: &[],
        meta_model: None,
        static_metadata: Some(raw_request::metadata),
    },
];

impl Registry for Klaviyo {
    fn component_json(&self) -> &'static str {
        COMPONENT_JSON
    }

    fn functions(&self) -> &'static [Function] {
        FUNCTIONS
    }

    fn verify_credentials<'a>(
        &'a self,
        cfg: &'a Config,
        env: &'a Env,
    ) -> BoxFuture<'a, Result<Verification, component_sdk::Error>> {
        Box::pin(async move { credentials::verify(cfg, env).await.map_err(Into::into) })
    }
}

fn object_types<'a>(
    cfg: &'a Config,
    _: &'a Env,
) -> BoxFuture<'a, Result<SelectModel, component_sdk::Error>> {
    Box::pin(async move { polling::catalog::object_types_model(cfg).map_err(Into::into) })
}

fn timestamp_fields<'a>(
    cfg: &'a Config,
    _: &'a Env,
) -> BoxFuture<'a, Result<SelectModel, component_sdk::Error>> {
    Box::pin(async move { polling::catalog::timestamp_fields_model(cfg).map_err(Into::into) })
}

fn polling_meta_model<'a>(
    cfg: &'a Config,
    _: &'a Env,
) -> BoxFuture<'a, Result<MetaModel, component_sdk::Error>> {
    Box::pin(async move { polling::metadata::meta_model(cfg).map_err(Into::into) })
}
