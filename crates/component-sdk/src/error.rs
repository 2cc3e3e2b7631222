use std::fmt;

/// Why a step failed. The variant says who can fix it: the user (their
/// configuration or input), nobody right now (a transient upstream failure
/// that a later run may not meet), the upstream system's owner, or us.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The step's configuration is unusable; the message names the field and
    /// the accepted form.
    #[error("{0}")]
    Config(String),
    /// The incoming message is unusable for this step.
    #[error("{0}")]
    Input(String),
    /// The remote system failed in a way that may pass on its own: rate
    /// limits, timeouts, 5xx answers, dropped connections.
    #[error("{0}")]
    Transient(String),
    /// The remote system refused the request and will refuse it again.
    #[error("{0}")]
    Upstream(String),
    /// The platform stopped reading the step's output.
    #[error("the output was closed")]
    OutputClosed,
    /// A bug: something the component itself got wrong.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn config(message: impl fmt::Display) -> Error {
        Error::Config(message.to_string())
    }

    pub fn input(message: impl fmt::Display) -> Error {
        Error::Input(message.to_string())
    }

    pub fn internal(message: impl fmt::Display) -> Error {
        Error::Internal(message.to_string())
    }

    /// The `name` of the error event, shown by the platform next to the
    /// message.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Config(_) => "ConfigurationError",
            Error::Input(_) => "InputError",
            Error::Transient(_) => "TransientError",
            Error::Upstream(_) => "UpstreamError",
            Error::OutputClosed => "OutputClosed",
            Error::Internal(_) => "InternalError",
        }
    }

    /// Whether the same request may succeed later without anyone changing
    /// anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_))
    }

    /// Whether the user must change the step's configuration or input.
    pub fn is_user_error(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Input(_))
    }
}
