//! How a step's run ends.

use component_sdk::{Event, Sink};

use crate::Error;
use crate::client::Failure;

/// How an action's run ends: a throttled Klaviyo (a 429 still, after the
/// client's retries) asks the platform to deliver the message again later,
/// with growing delays, instead of failing it; any other failure is the
/// step's error.
pub fn finish(result: Result<(), Error>, out: &mut dyn Sink) -> Result<(), component_sdk::Error> {
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
