//! What every step needs before it can talk to Klaviyo.

use component_sdk::{Config, Env};

use crate::Error;
use crate::client::{Client, Credentials};
use crate::settings::Settings;

/// The operator's settings and a client for the step's credentials, built
/// the same way for every step.
pub(crate) struct Context {
    pub settings: Settings,
    pub client: Client,
}

impl Context {
    /// Read the settings and the credential, say at `warn` when Klaviyo
    /// retired the revision or it is a beta, and build the client.
    pub(crate) fn new(cfg: &Config, env: &Env) -> Result<Context, Error> {
        let settings = Settings::from_env(env)?;
        let credentials = Credentials::from_config(cfg)?;
        if let Some(caveat) = credentials.revision.caveat() {
            tracing::warn!("{caveat}");
        }
        let client = Client::new(credentials, &settings)?;
        Ok(Context { settings, client })
    }
}
