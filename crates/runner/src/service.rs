//! The service commands: `verifyCredentials`, `getMetaModel`, `selectModel`.
//! Each writes exactly one envelope and exits 0.

use std::io::Write;
use std::panic::AssertUnwindSafe;

use component_sdk::{Component, Env, Error, Function, SelectModelFn, Verification};
use futures::FutureExt;

use crate::exit;
use crate::input::Invocation;
use crate::output::Output;
use crate::wire;

pub(crate) async fn verify_credentials<W: Write>(
    component: &'static Component,
    invocation: Invocation,
    env: &Env,
    out: &mut Output<W>,
) -> u8 {
    let outcome = AssertUnwindSafe((component.verify_credentials)(&invocation.cfg, env))
        .catch_unwind()
        .await;
    // A check that could not be completed is a failed verification with its
    // reason, as the platform's sailor reports it.
    let (verified, reason) = match outcome {
        Ok(Ok(Verification::Verified { note })) => (true, note),
        Ok(Ok(Verification::Rejected { reason })) => (false, Some(reason)),
        Ok(Err(error)) => (false, Some(error.to_string())),
        Err(_) => (
            false,
            Some("the credential check failed unexpectedly; see the log".to_owned()),
        ),
    };
    match (verified, &reason) {
        (true, None) => tracing::info!("Verification completed successfully"),
        (true, Some(note)) => tracing::warn!("Verification completed successfully, but: {note}"),
        (false, reason) => tracing::warn!(
            "Verification failed: {}",
            reason.as_deref().unwrap_or_default()
        ),
    }
    let data = wire::Verification {
        verified,
        reason: reason.as_deref(),
    };
    let _ = out.envelope(&wire::Envelope::Success(data));
    exit::OK
}

pub(crate) fn meta_model<W: Write>(
    function: &'static Function,
    invocation: Invocation,
    out: &mut Output<W>,
) -> u8 {
    let result = match (function.meta_model, function.static_metadata) {
        (Some(dynamic), _) => catching(|| dynamic(&invocation.cfg), "getMetaModel"),
        (None, Some(fixed)) => Ok(fixed()),
        (None, None) => Err(Error::config(format!(
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

pub(crate) fn select_model<W: Write>(
    method: SelectModelFn,
    invocation: Invocation,
    out: &mut Output<W>,
) -> u8 {
    match catching(|| method(&invocation.cfg), "selectModel") {
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

/// `hook()`, with a panic turned into an error naming `what` failed.
fn catching<T>(hook: impl FnOnce() -> Result<T, Error>, what: &str) -> Result<T, Error> {
    std::panic::catch_unwind(AssertUnwindSafe(hook)).unwrap_or_else(|_| {
        Err(Error::internal(format!(
            "{what} failed unexpectedly; see the log"
        )))
    })
}
