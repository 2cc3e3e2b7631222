//! `verifyCredentials`: checking the credential against Klaviyo.

use component_sdk::{Config, Env, Verification};

use crate::Error;
use crate::client::{ApiError, Failure};
use crate::context::Context;

/// One request that needs only the `List: Read` scope. A key Klaviyo
/// refuses is a [`Verification::Rejected`] with what to fix; a check that
/// could not be completed (network, 5xx after retries) is an error whose
/// message becomes the reason.
pub(crate) async fn verify(cfg: &Config, env: &Env) -> Result<Verification, Error> {
    let client = match Context::new(cfg, env) {
        Ok(context) => context.client,
        Err(Error::Config(reason)) => return Ok(Verification::Rejected { reason }),
        Err(other) => return Err(other),
    };
    let spec = client.revision().spec();
    let mut query = vec![("fields[list]", "name")];
    // The smallest page, where the revision lets us ask for it.
    if spec
        .collection("/lists")
        .is_some_and(|c| c.declares("page[size]"))
    {
        query.push(("page[size]", "1"));
    }
    let url = client.url("/lists", &query);
    let response = client.send(reqwest::Method::GET, &url, None).await?;
    if (200..300).contains(&response.status) {
        return Ok(Verification::Verified {
            note: client.revision().caveat(),
        });
    }
    let error = client.api_error(&response);
    match error.failure() {
        Failure::BadKey => Ok(Verification::Rejected {
            reason: error.to_string(),
        }),
        // Klaviyo documents a 400 as "an invalid or missing API key"; this
        // request is otherwise always valid, unless the revision is not.
        Failure::Other
            if error.status == 400 && error.is_from_klaviyo() && !is_revision_problem(&error) =>
        {
            Ok(Verification::Rejected {
                reason: error.with_hint(crate::client::CHECK_THE_KEY).to_string(),
            })
        }
        Failure::MissingScope => Ok(Verification::Rejected {
            reason: error
                .with_hint(
                    "The API key is valid but lacks the scope List: Read Access (lists:read), \
                     which the component needs at least",
                )
                .to_string(),
        }),
        _ => Err(error.into()),
    }
}

fn is_revision_problem(error: &ApiError) -> bool {
    error.errors.iter().any(|e| {
        [e.detail.as_deref(), e.title.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| t.to_ascii_lowercase().contains("revision"))
    })
}
