//! The one shape of an action: an [`Action`] does the action's own work,
//! and [`Act`], the one adapter to the SDK's [`Step`], does what every
//! action does around it: build the client for the credential (with the
//! operator's settings) and find the revision's facts before, and end the
//! run after ([`finish`]: a 429 past the retries rebounds the message).
//! Adding an action is its module, its entry in component.json and one
//! line in the registry (`step: &Act(TheAction)`); docs/actions.md has the
//! recipe.

use std::future::Future;

use component_sdk::{Config, Event, Message, Sink, Step, StepInput};
use klaviyo_spec::RevisionSpec;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Error;
use crate::client::{Client, Failure};
use crate::context::Context;

/// An action's own work: read its fields and the message, talk to Klaviyo
/// through `run.client`, emit what it found or did.
pub(crate) trait Action: Sync {
    fn run(&self, run: Run, out: &mut dyn Sink) -> impl Future<Output = Result<(), Error>>;
}

/// What an action runs with: its fields, the incoming message, the client
/// for its credential and the facts of the revision that client speaks.
pub(crate) struct Run {
    pub cfg: Config,
    pub msg: Message,
    pub client: Client,
    pub spec: &'static RevisionSpec,
}

impl Run {
    fn new(input: StepInput) -> Result<Run, Error> {
        let Context { client, .. } = Context::new(&input.cfg, &input.env)?;
        let spec = client.revision().spec();
        Ok(Run {
            cfg: input.cfg,
            msg: input.msg,
            client,
            spec,
        })
    }
}

/// The adapter that makes every [`Action`] a [`Step`].
pub(crate) struct Act<A>(pub A);

impl<A: Action> Step for Act<A> {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        let result = match Run::new(input) {
            Ok(run) => self.0.run(run, out).await,
            Err(e) => Err(e),
        };
        finish(result, out)
    }
}

/// How an action's run ends: a throttled Klaviyo (a 429 still, after the
/// client's retries) asks the platform to deliver the message again later,
/// with growing delays, instead of failing it; any other failure is the
/// step's error.
fn finish(result: Result<(), Error>, out: &mut dyn Sink) -> Result<(), component_sdk::Error> {
    match result {
        Ok(()) => Ok(()),
        Err(Error::Api(api)) if api.failure() == Failure::Throttled => {
            tracing::warn!("{api}; asking the platform to deliver the message again later");
            out.emit(Event::Rebound {
                reason: api.to_string(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Emit `body`, a JSON text, as one message, as it is.
pub(super) fn emit_raw(out: &mut dyn Sink, body: Box<RawValue>) -> Result<(), Error> {
    out.emit(Event::Data(Message::new(body)))?;
    Ok(())
}

/// Emit `body` as one message.
pub(super) fn emit_json(out: &mut dyn Sink, body: &Value) -> Result<(), Error> {
    out.emit(Event::Data(Message::with_body(body)?))?;
    Ok(())
}
