//! The service commands: `verifyCredentials`, `getMetaModel`, `selectModel`.
//! Each writes exactly one envelope and exits 0.

use std::io::Write;
use std::panic::AssertUnwindSafe;

use component_sdk::registry::{Function, SelectModelFn};
use component_sdk::{Env, Registry, Verification};
use futures::FutureExt;

use crate::exit;
use crate::input::Envelope;
use crate::output::Output;
use crate::wire;

pub async fn verify_credentials<W: Write + Send>(
    registry: &'static dyn Registry,
    envelope: Envelope,
    env: &Env,
    out: &mut Output<W>,
) -> u8 {
    let outcome = AssertUnwindSafe(registry.verify_credentials(&envelope.cfg, env))
        .catch_unwind()
        .await;
    // A check that could not be completed is a failed verification with its
    // reason, as the platform's sailor reports it.
    let reason = match outcome {
        Ok(Ok(Verification::Verified)) => None,
        Ok(Ok(Verification::Rejected { reason })) => Some(reason),
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some("the credential check failed unexpectedly; see the log".to_owned()),
    };
    match &reason {
        None => tracing::info!("Verification completed successfully"),
        Some(reason) => tracing::warn!("Verification failed: {reason}"),
    }
    let data = wire::Verification {
        verified: reason.is_none(),
        reason: reason.as_deref(),
    };
    let _ = out.envelope(&wire::Envelope::Success(data));
    exit::OK
}

pub async fn meta_model<W: Write + Send>(
    function: &'static Function,
    envelope: Envelope,
    env: &Env,
    out: &mut Output<W>,
) -> u8 {
    let result = match (function.meta_model, function.static_metadata) {
        (Some(dynamic), _) => AssertUnwindSafe(dynamic(&envelope.cfg, env))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                Err(component_sdk::Error::internal(
                    "getMetaModel failed unexpectedly; see the log",
                ))
            }),
        (None, Some(fixed)) => Ok(fixed()),
        (None, None) => Err(component_sdk::Error::config(format!(
            "\"{}\" has no metadata to describe",
            function.id
        ))),
    };
    match result {
        Ok(model) => {
            let data = wire::MetaModel {
                input: &model.input,
                out: &model.output,
            };
            let _ = out.envelope(&wire::Envelope::Success(data));
        }
        Err(error) => {
            tracing::warn!("getMetaModel for \"{}\" failed: {error}", function.id);
            let _ = out.envelope(&wire::Envelope::<()>::Error {
                message: error.to_string(),
            });
        }
    }
    exit::OK
}

pub async fn select_model<W: Write + Send>(
    method: SelectModelFn,
    envelope: Envelope,
    env: &Env,
    out: &mut Output<W>,
) -> u8 {
    let result = AssertUnwindSafe(method(&envelope.cfg, env))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(component_sdk::Error::internal(
                "selectModel failed unexpectedly; see the log",
            ))
        });
    match result {
        Ok(model) => {
            let _ = out.envelope(&wire::Envelope::Success(wire::Options(&model)));
        }
        Err(error) => {
            tracing::warn!("selectModel failed: {error}");
            let _ = out.envelope(&wire::Envelope::<()>::Error {
                message: error.to_string(),
            });
        }
    }
    exit::OK
}
