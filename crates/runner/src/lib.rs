//! The runner: turns a [`Component`] into the `klaviyo-runner` process the
//! platform calls.
//!
//! This is the only crate that touches stdin, stdout, stderr, the process
//! environment and the exit code. The wire format (docs/protocol.md) lives
//! here and nowhere else.
//!
//! ```text
//! klaviyo-runner process [FUNCTION]          stdin {"cfg","msg","snapshot"} → JSON Lines of events
//! klaviyo-runner verifyCredentials           stdin {"cfg"} → one service envelope
//! klaviyo-runner getMetaModel FUNCTION       stdin {"cfg"} → one service envelope
//! klaviyo-runner selectModel FUNCTION METHOD stdin {"cfg"} → one service envelope
//! ```

mod cli;
mod input;
mod logging;
mod output;
mod process;
mod redact;
mod service;
mod wire;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use component_sdk::descriptor::Descriptor;
use component_sdk::{Component, Env, Function, SelectModelFn};

use crate::cli::{Command, Parsed};
use crate::output::{Output, Protocol};
use crate::redact::Redactor;

/// The stdin parser, for the fuzz targets in `fuzz/` and the property tests
/// in `tests/e2e`; not part of the runner's API.
#[doc(hidden)]
pub mod testing {
    pub use crate::input::{Invocation, MAX_STDIN_BYTES, parse};
}

/// Exit codes, as the wire contract defines them.
pub mod exit {
    /// The step ended without an error event; or a service envelope was written.
    pub const OK: u8 = 0;
    /// The step failed: an error event was written.
    pub const FAILED: u8 = 1;
    /// Unusable invocation: unknown command or function, stdin empty or not a
    /// JSON object.
    pub const UNUSABLE: u8 = 2;
}

/// Run the command given on the command line against `component` and
/// return the process exit code. Never panics: a panic anywhere becomes an
/// error event (or an error envelope) and exit code 1.
pub fn main(component: &'static Component) -> ExitCode {
    let env = Env::new(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    let redactor = Redactor::default();
    logging::init(&env, redactor.clone());
    let args: Vec<OsString> = std::env::args_os().collect();

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(component, &args, &env, &redactor)
    }));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            // The panic hook has logged it. Leave a well-formed end on stdout
            // if the writer still works.
            let mut out = Output::stdout(cli::protocol_of(&args), redactor);
            let _ = out.fail("the runner failed unexpectedly; see the log");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// What to do, once the command line and component.json agree.
enum Job {
    Process(&'static Function),
    VerifyCredentials,
    MetaModel(&'static Function),
    SelectModel(&'static Function, SelectModelFn),
}

impl Job {
    /// The trigger or action whose fields `cfg` carries; none for the
    /// credential check.
    fn function_id(&self) -> Option<&'static str> {
        match self {
            Job::Process(f) | Job::MetaModel(f) | Job::SelectModel(f, _) => Some(f.id),
            Job::VerifyCredentials => None,
        }
    }
}

fn run(component: &'static Component, args: &[OsString], env: &Env, redactor: &Redactor) -> u8 {
    let descriptor = match Descriptor::parse(component.component_json) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("component.json cannot be read: {e}");
            let mut out = Output::stdout(cli::protocol_of(args), redactor.clone());
            let _ = out.fail("component.json cannot be read; see the log");
            return exit::FAILED;
        }
    };
    let command = match cli::parse(args, &descriptor) {
        Ok(Parsed::Command(command)) => command,
        Ok(Parsed::Print(text)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            return exit::OK;
        }
        Err(reason) => return unusable(cli::protocol_of(args), redactor, &reason),
    };
    let protocol = command.protocol();
    let mut out = Output::stdout(protocol, redactor.clone());

    // Resolve the function before reading stdin, so an unknown function is
    // reported whatever the caller sends.
    let job = match resolve(&command, &descriptor, component, env) {
        Ok(job) => job,
        Err(reason) => return unusable(protocol, redactor, &reason),
    };
    let invocation = match input::read_stdin() {
        Ok(invocation) => invocation,
        Err(reason) => return unusable(protocol, redactor, &reason),
    };
    redactor.set_secrets(
        descriptor
            .secret_fields()
            .into_iter()
            .filter_map(|field| invocation.cfg.values().get(field))
            .flat_map(secret_forms),
    );
    if let Some(problem) = descriptor.misspelled_field(job.function_id(), &invocation.cfg) {
        return refuse(&job, &problem, &mut out);
    }

    // Worker threads keep the trigger's reads going while the step blocks
    // on a slow reader of stdout (the step itself runs on this thread).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            let _ = out.fail("cannot start the async runtime; see the log");
            return exit::FAILED;
        }
    };
    let code = runtime.block_on(async {
        match job {
            Job::Process(function) => {
                process::run(function, invocation, env.clone(), &mut out).await
            }
            Job::VerifyCredentials => {
                service::verify_credentials(component, invocation, env, &mut out).await
            }
            Job::MetaModel(function) => service::meta_model(function, invocation, &mut out),
            Job::SelectModel(_, method) => service::select_model(method, invocation, &mut out),
        }
    });
    // Idle HTTP connections and timers are dropped, not awaited.
    runtime.shutdown_background();
    code
}

fn resolve(
    command: &Command,
    descriptor: &Descriptor,
    component: &'static Component,
    env: &Env,
) -> Result<Job, String> {
    let find = |id: &str| -> Result<&'static Function, String> {
        match (descriptor.function(id), component.function(id)) {
            (Some(_), Some(function)) => Ok(function),
            _ => {
                let ids: Vec<&str> = descriptor.function_ids().collect();
                let shown = component_sdk::config::shortened(id, 60);
                Err(
                    match component_sdk::config::closest(id, ids.iter().copied()) {
                        Some(meant) => format!(
                            "\"{shown}\" is not a trigger or action of this component — did you mean \"{meant}\"?"
                        ),
                        None => format!(
                            "\"{shown}\" is not a trigger or action of this component, whose ids are {}",
                            ids.join(", ")
                        ),
                    },
                )
            }
        }
    };
    match command {
        Command::Process { function } => {
            let id = function
                .clone()
                .or_else(|| env.get("ELASTICIO_FUNCTION").map(str::to_owned))
                .ok_or_else(|| {
                    "no function to run: give a trigger or action id after `process`, or set ELASTICIO_FUNCTION".to_owned()
                })?;
            Ok(Job::Process(find(&id)?))
        }
        Command::VerifyCredentials => Ok(Job::VerifyCredentials),
        Command::GetMetaModel { function } => Ok(Job::MetaModel(find(function)?)),
        Command::SelectModel { function, method } => {
            let f = find(function)?;
            // Sailor's own words for a method a step does not have.
            let model = f.select_model(method).ok_or_else(|| {
                let methods: Vec<&str> = f.select_models.iter().map(|(name, _)| *name).collect();
                let has = if methods.is_empty() {
                    "it has no select models".to_owned()
                } else {
                    format!("its select models are {}", methods.join(", "))
                };
                format!(
                    "Method \"{}\" is not found in \"{function}\" action or trigger; {has}",
                    component_sdk::config::shortened(method, 60)
                )
            })?;
            Ok(Job::SelectModel(f, model))
        }
    }
}

/// The forms a secret field's value may be used in: as given, trimmed (the
/// component trims text fields) and, for a number, its digits.
fn secret_forms(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone(), s.trim().to_owned()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// End a job before it runs because its configuration cannot be right, as
/// its protocol says a failure looks: an error event, a failed credential
/// check, or an error envelope.
fn refuse<W: Write>(job: &Job, problem: &str, out: &mut Output<W>) -> u8 {
    tracing::error!("{problem}");
    match job {
        Job::Process(_) => {
            let name = component_sdk::ErrorKind::Config.name();
            let _ = out.event(&wire::WireEvent::error(name, problem));
            let _ = out.end();
            exit::FAILED
        }
        Job::VerifyCredentials => {
            let data = wire::Verification {
                verified: false,
                reason: Some(problem),
            };
            let _ = out.envelope(&wire::Envelope::Success(data));
            exit::OK
        }
        Job::MetaModel(_) | Job::SelectModel(..) => {
            let _ = out.envelope(&wire::Envelope::<()>::Error {
                message: problem.to_owned(),
            });
            exit::OK
        }
    }
}

/// Report an unusable invocation: a one-line reason on stderr, and the
/// protocol's error followed by its end on stdout.
fn unusable(protocol: Protocol, redactor: &Redactor, reason: &str) -> u8 {
    tracing::error!(target: logging::INVOCATION_TARGET, "unusable invocation: {reason}");
    let mut out = Output::stdout(protocol, redactor.clone());
    let _ = out.fail(reason);
    exit::UNUSABLE
}
