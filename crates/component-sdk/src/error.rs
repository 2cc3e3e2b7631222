use std::fmt;

/// Who can fix a failure: the user (their configuration or input), nobody
/// right now (a transient upstream failure that a later run may not meet),
/// the upstream system's owner, or us. The platform shows [`name`] next to
/// the message.
///
/// [`name`]: ErrorKind::name
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The step's configuration is unusable; the message names the field and
    /// the accepted form.
    Config,
    /// The incoming message is unusable for this step.
    Input,
    /// The remote system failed in a way that may pass on its own: rate
    /// limits, timeouts, 5xx answers, dropped connections.
    Transient,
    /// The remote system refused the request and will refuse it again.
    Upstream,
    /// The platform stopped reading the step's output: there is nobody left
    /// to tell anything.
    OutputClosed,
    /// A bug: something the component itself got wrong.
    Internal,
}

impl ErrorKind {
    /// The `name` of the error event.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Config => "ConfigurationError",
            ErrorKind::Input => "InputError",
            ErrorKind::Transient => "TransientError",
            ErrorKind::Upstream => "UpstreamError",
            ErrorKind::OutputClosed => "OutputClosed",
            ErrorKind::Internal => "InternalError",
        }
    }
}

/// Why a step failed: a kind, and a one-line message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Error {
        Error {
            kind,
            message: message.to_string(),
        }
    }

    pub fn config(message: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    pub fn input(message: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Input, message)
    }

    pub fn internal(message: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// The platform stopped reading the output.
    pub fn output_closed() -> Error {
        Error::new(ErrorKind::OutputClosed, "the output was closed")
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}
