use crate::client::{ApiError, TransportError};

/// Everything that can go wrong in the Klaviyo steps.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value (credentials, step fields or an operator
    /// setting) is unusable; the message names it and the accepted form.
    #[error("{0}")]
    Config(String),
    /// The incoming message is unusable.
    #[error("{0}")]
    Input(String),
    /// Klaviyo answered with an error status, after any retries.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No answer: the connection failed, timed out or broke, after any
    /// retries.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Klaviyo answered 2xx with something that is not what it documents.
    #[error("{0}")]
    Response(String),
    /// The platform stopped reading the output, or another SDK failure.
    #[error(transparent)]
    Sdk(#[from] component_sdk::Error),
}

impl Error {
    pub fn config(message: impl std::fmt::Display) -> Error {
        Error::Config(message.to_string())
    }

    pub fn input(message: impl std::fmt::Display) -> Error {
        Error::Input(message.to_string())
    }
}

impl From<Error> for component_sdk::Error {
    fn from(error: Error) -> component_sdk::Error {
        use component_sdk::Error as Sdk;
        match error {
            Error::Config(m) => Sdk::Config(m),
            Error::Input(m) => Sdk::Input(m),
            // Klaviyo refusing the key or its scope: the user must fix the
            // credential. A Cloudflare challenge page with the same status
            // says nothing about the key and may pass.
            Error::Api(api) if matches!(api.status, 401 | 403) && api.is_from_klaviyo() => {
                Sdk::Config(api.to_string())
            }
            Error::Api(api) if matches!(api.status, 401 | 403) => Sdk::Transient(api.to_string()),
            Error::Api(api) if api.is_transient() => Sdk::Transient(api.to_string()),
            Error::Api(api) => Sdk::Upstream(api.to_string()),
            Error::Transport(t) => Sdk::Transient(t.to_string()),
            Error::Response(m) => Sdk::Transient(m),
            Error::Sdk(e) => e,
        }
    }
}
