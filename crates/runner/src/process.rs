//! `process`: run one trigger or action.

use std::any::Any;
use std::io::Write;
use std::panic::AssertUnwindSafe;

use component_sdk::{Env, ErrorKind, Function, StepInput};
use futures::FutureExt;

use crate::exit;
use crate::input::Invocation;
use crate::output::Output;
use crate::wire::WireEvent;

pub(crate) async fn run<W: Write + Send>(
    function: &'static Function,
    invocation: Invocation,
    env: Env,
    out: &mut Output<W>,
) -> u8 {
    tracing::info!("\"{}\" started", function.id);
    let input = StepInput {
        cfg: invocation.cfg,
        msg: invocation.msg,
        snapshot: invocation.snapshot,
        env,
    };
    let outcome = AssertUnwindSafe(function.step.process_boxed(input, out))
        .catch_unwind()
        .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        // The platform stopped reading: there is nobody to tell.
        Ok(Err(error)) if error.kind() == ErrorKind::OutputClosed => return exit::OK,
        Ok(Err(error)) => Some((error.kind().name(), error.to_string())),
        Err(panic) => Some((
            ErrorKind::Internal.name(),
            format!("the step failed unexpectedly: {}", panic_message(&*panic)),
        )),
    };
    if let Some((name, message)) = &failure {
        tracing::error!("\"{}\" failed: {message}", function.id);
        if out.event(&WireEvent::error(name, message)).is_err() {
            return exit::OK;
        }
    }
    if out.end().is_err() {
        return exit::OK;
    }
    if out.wrote_error() {
        exit::FAILED
    } else {
        tracing::info!("\"{}\" finished", function.id);
        exit::OK
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
