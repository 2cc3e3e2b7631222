//! The ids of component.json and the code behind them.

use component_sdk::{Component, Config, Env, Function, LocalBoxFuture, Verification};

use crate::actions::membership::Change;
use crate::actions::subscriptions::Direction;
use crate::actions::{Act, delete, event, lookup, lookup_many, membership, subscriptions, upsert};
use crate::{polling, raw_request, verify};

/// `component.json`, the published descriptor, compiled in so the binary
/// and the file cannot drift apart unnoticed (a test compares them with the
/// code).
pub(crate) const COMPONENT_JSON: &str = include_str!("../../../component.json");

/// What `klaviyo-runner` runs.
pub static COMPONENT: Component = Component {
    component_json: COMPONENT_JSON,
    functions: FUNCTIONS,
    verify_credentials,
};

static FUNCTIONS: &[Function] = &[
    Function {
        id: "getNewAndUpdatedObjectsPolling",
        step: &polling::PollingTrigger,
        select_models: &[
            ("getObjectTypes", polling::object_types_model),
            ("getTimestampFields", polling::timestamp_fields_model),
        ],
        meta_model: Some(polling::meta_model),
        static_metadata: None,
    },
    Function {
        id: "makeRawRequest",
        step: &Act(raw_request::RawRequest),
        select_models: &[],
        meta_model: None,
        static_metadata: Some(raw_request::metadata),
    },
    Function {
        id: "lookupObject",
        step: &Act(lookup::LookupObject),
        select_models: &[
            ("getObjectTypes", lookup::object_types_model),
            ("getLookupCriteria", lookup::criteria_model),
            ("getIncludes", lookup::includes_model),
        ],
        meta_model: Some(lookup::meta_model),
        static_metadata: None,
    },
    Function {
        id: "lookupObjects",
        step: &Act(lookup_many::LookupObjects),
        select_models: &[
            ("getObjectTypes", lookup_many::object_types_model),
            ("getSortValues", lookup_many::sort_model),
        ],
        meta_model: Some(lookup_many::meta_model),
        static_metadata: None,
    },
    Function {
        id: "upsertObject",
        step: &Act(upsert::UpsertObject),
        select_models: &[("getObjectTypes", upsert::object_types_model)],
        meta_model: Some(upsert::meta_model),
        static_metadata: None,
    },
    Function {
        id: "deleteObject",
        step: &Act(delete::DeleteObject),
        select_models: &[("getObjectTypes", delete::object_types_model)],
        meta_model: Some(delete::meta_model),
        static_metadata: None,
    },
    Function {
        id: "createEvent",
        step: &Act(event::CreateEvent),
        select_models: &[],
        meta_model: Some(event::meta_model),
        static_metadata: None,
    },
    Function {
        id: "subscribeProfiles",
        step: &Act(Direction::Subscribe),
        select_models: &[],
        meta_model: Some(subscriptions::subscribe_meta_model),
        static_metadata: None,
    },
    Function {
        id: "unsubscribeProfiles",
        step: &Act(Direction::Unsubscribe),
        select_models: &[],
        meta_model: Some(subscriptions::unsubscribe_meta_model),
        static_metadata: None,
    },
    Function {
        id: "addProfilesToList",
        step: &Act(Change::Add),
        select_models: &[],
        meta_model: Some(membership::add_meta_model),
        static_metadata: None,
    },
    Function {
        id: "removeProfilesFromList",
        step: &Act(Change::Remove),
        select_models: &[],
        meta_model: Some(membership::remove_meta_model),
        static_metadata: None,
    },
];

fn verify_credentials<'a>(
    cfg: &'a Config,
    env: &'a Env,
) -> LocalBoxFuture<'a, Result<Verification, component_sdk::Error>> {
    Box::pin(async move { verify::verify(cfg, env).await.map_err(Into::into) })
}
