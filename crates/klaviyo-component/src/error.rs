use component_sdk::ErrorKind;

use crate::client::{ApiError, Failure, TransportError};

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

    /// A mistake in the component itself.
    pub fn internal(message: impl std::fmt::Display) -> Error {
        Error::Sdk(component_sdk::Error::internal(message))
    }

    /// Who can fix it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Input(_) => ErrorKind::Input,
            Error::Api(api) => match api.failure() {
                // The user must fix the credential.
                Failure::BadKey | Failure::MissingScope => ErrorKind::Config,
                Failure::Throttled | Failure::Server => ErrorKind::Transient,
                Failure::Other => ErrorKind::Upstream,
            },
            Error::Transport(_) | Error::Response(_) => ErrorKind::Transient,
            Error::Sdk(e) => e.kind(),
        }
    }
}

impl From<Error> for component_sdk::Error {
    fn from(error: Error) -> component_sdk::Error {
        match error {
            Error::Sdk(e) => e,
            other => component_sdk::Error::new(other.kind(), other),
        }
    }
}
