//! The credential fields, and checking them against Klaviyo.

use chrono::Utc;
use component_sdk::{Config, Env, Verification};

use crate::Error;
use crate::client::{ApiError, Client};
use crate::revision::Revision;
use crate::settings::Settings;

/// What the credential holds.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    pub revision: Revision,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"***")
            .field("revision", &self.revision)
            .finish()
    }
}

impl Credentials {
    /// Read `apiKey` and `revision` from the step's configuration.
    pub fn from_config(cfg: &Config) -> Result<Credentials, Error> {
        let api_key = cfg.required_text("apiKey", "API key").map_err(|_| {
            Error::config("\"API key\" is required: create a Private API Key in Klaviyo (Settings -> API Keys)")
        })?;
        Ok(Credentials {
            api_key,
            revision: Revision::from_config(cfg)?,
        })
    }
}

/// A client for the step's credentials and the operator's settings; says at
/// `warn` when the revision is retired or a beta.
pub fn client(cfg: &Config, env: &Env) -> Result<Client, Error> {
    let credentials = Credentials::from_config(cfg)?;
    let settings = Settings::from_env(env)?;
    warn_about_revision(&credentials.revision);
    Client::new(credentials, &settings)
}

/// Say at `warn` when Klaviyo no longer serves `revision` as asked, or
/// when it is a beta.
pub fn warn_about_revision(revision: &Revision) {
    if let Some(retirement) = revision.retirement(Utc::now().date_naive()) {
        let instead = retirement
            .served_instead
            .map(|r| {
                format!(" Klaviyo now answers with the oldest revision it supports ({r}) instead.")
            })
            .unwrap_or_default();
        tracing::warn!(
            "Revision {} was retired on {}.{instead} Set the credential's Revision to a supported one, such as {}.",
            revision.as_str(),
            retirement.retired_on,
            crate::revision::KNOWN_REVISIONS
                .last()
                .copied()
                .unwrap_or("the latest")
        );
    }
    if revision.is_beta() {
        tracing::warn!(
            "Revision {} is a beta revision; Klaviyo advises against beta revisions in production.",
            revision.as_str()
        );
    }
}

/// `verifyCredentials`: one request that needs only the `List: Read`
/// scope. A key Klaviyo refuses is a [`Verification::Rejected`] with what to
/// fix; a check that could not be completed (network, 5xx after retries) is
/// an error whose message becomes the reason.
pub async fn verify(cfg: &Config, env: &Env) -> Result<Verification, Error> {
    let client = match client(cfg, env) {
        Ok(client) => client,
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
    let error = client.api_error(&response);
    match response.status {
        200..=299 => Ok(Verification::Verified),
        // Only Klaviyo's own error document says something about the key; a
        // Cloudflare page with the same status is a check not completed.
        401 | 400 if error.is_from_klaviyo() && !is_revision_problem(&error) => {
            Ok(Verification::Rejected {
                reason: format!(
                    "{error}. Check the API key: it must be a Private API Key (it starts with pk_) that has not been revoked."
                ),
            })
        }
        403 if error.is_from_klaviyo() => Ok(Verification::Rejected {
            reason: format!(
                "{error}. The API key is valid but lacks the scope List: Read Access (lists:read), which the component needs at least."
            ),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg(value: serde_json::Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn credentials_from_config() {
        let c = Credentials::from_config(&cfg(json!({"apiKey": " pk_1 "}))).expect("ok");
        assert_eq!(c.api_key, "pk_1");
        assert_eq!(c.revision.as_str(), "2024-10-15");
        let c = Credentials::from_config(&cfg(json!({"apiKey": "pk_1", "revision": "2026-10-15"})))
            .expect("ok");
        assert_eq!(c.revision.as_str(), "2026-10-15");
        let c =
            Credentials::from_config(&cfg(json!({"apiKey": "pk_1", "revision": ""}))).expect("ok");
        assert_eq!(c.revision.as_str(), "2024-10-15");
    }

    #[test]
    fn missing_key_and_bad_revision() {
        for value in [json!({}), json!({"apiKey": ""}), json!({"apiKey": "   "})] {
            let err = Credentials::from_config(&cfg(value)).expect_err("no key");
            assert!(
                err.to_string().starts_with("\"API key\" is required"),
                "{err}"
            );
        }
        let err = Credentials::from_config(&cfg(json!({"apiKey": "k", "revision": "soon"})))
            .expect_err("bad");
        assert!(
            err.to_string().starts_with("\"Revision\" must be a date"),
            "{err}"
        );
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let c = Credentials::from_config(&cfg(json!({"apiKey": "pk_secret_123"}))).expect("ok");
        assert!(!format!("{c:?}").contains("pk_secret_123"));
    }
}
