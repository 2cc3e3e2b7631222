//! The command line.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use component_sdk::descriptor::Descriptor;
use serde_json::Value;

use crate::output::Protocol;

#[derive(Debug, Parser)]
#[command(
    name = "klaviyo-runner",
    version,
    about = "Runs one step of the Klaviyo component for the elastic.io platform.",
    long_about = "Runs one step of the Klaviyo component for the elastic.io platform.\n\n\
        Reads one JSON object from stdin and writes the result to stdout: JSON Lines of \
        events for `process`, one service envelope for the other commands. Logs go to \
        stderr as bunyan JSON lines (level from LOG_LEVEL). See docs/protocol.md.",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Command {
    /// Run a trigger or action once: stdin {"cfg","msg","snapshot"}, stdout one event per line.
    #[command(name = "process")]
    Process {
        /// A trigger or action id from component.json (default: $ELASTICIO_FUNCTION).
        function: Option<String>,
    },
    /// Check the credentials in stdin {"cfg"}.
    #[command(name = "verifyCredentials")]
    VerifyCredentials,
    /// The input and output schemas of a step for stdin {"cfg"}.
    #[command(name = "getMetaModel")]
    GetMetaModel {
        /// A trigger or action id from component.json.
        function: String,
    },
    /// The options of a select field for stdin {"cfg"}.
    #[command(name = "selectModel")]
    SelectModel {
        /// A trigger or action id from component.json.
        function: String,
        /// The select-model method named in the field's `model`.
        method: String,
    },
}

impl Command {
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Command::Process { .. } => Protocol::Events,
            _ => Protocol::Service,
        }
    }
}

pub(crate) enum Parsed {
    Command(Command),
    /// `--help` or `--version`: text for stdout.
    Print(String),
}

/// The command, or a one-line reason why the command line is unusable.
/// `--help` lists the trigger and action ids of `descriptor` and their
/// select-model methods.
pub(crate) fn parse(args: &[OsString], descriptor: &Descriptor) -> Result<Parsed, String> {
    use clap::error::ErrorKind;
    let command = Cli::command().after_help(functions_help(descriptor));
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(Parsed::Command(cli.command)),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Parsed::Print(e.to_string())),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
                Err(format!("no command given; {COMMANDS}"))
            }
            ErrorKind::InvalidSubcommand => Err(format!(
                "unknown command {:?}; {COMMANDS}",
                args.get(1).map(|a| a.to_string_lossy()).unwrap_or_default()
            )),
            ErrorKind::MissingRequiredArgument => Err(match args.get(1).and_then(|a| a.to_str()) {
                Some("selectModel") if args.len() == 3 => {
                    "selectModel needs a select-model method after the function id".to_owned()
                }
                Some(cmd) => format!("{cmd} needs a trigger or action id"),
                None => format!("no command given; {COMMANDS}"),
            }),
            _ => Err(first_line(&e.to_string())),
        },
    }
}

/// The FUNCTION and METHOD values of this component, for `--help`.
fn functions_help(descriptor: &Descriptor) -> String {
    let mut text = String::from("Triggers and actions (FUNCTION), from component.json:\n");
    let all = descriptor
        .triggers
        .iter()
        .map(|(id, f)| (id, f, "trigger"))
        .chain(descriptor.actions.iter().map(|(id, f)| (id, f, "action")));
    for (id, function, kind) in all {
        let title = function.title.as_deref().unwrap_or_default();
        text.push_str(&format!("  {id}  ({kind}) {title}\n"));
        let methods: Vec<&str> = function
            .fields
            .values()
            .filter_map(|f| match &f.model {
                Some(Value::String(method)) => Some(method.as_str()),
                _ => None,
            })
            .collect();
        if !methods.is_empty() {
            text.push_str(&format!(
                "      selectModel {id} METHOD: {}\n",
                methods.join(", ")
            ));
        }
    }
    text
}

const COMMANDS: &str =
    "expected process, verifyCredentials, getMetaModel or selectModel (see --help)";

/// The protocol the caller expects, judged from the command name alone, for
/// reporting a command line that did not parse.
pub(crate) fn protocol_of(args: &[OsString]) -> Protocol {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("verifyCredentials" | "getMetaModel" | "selectModel") => Protocol::Service,
        _ => Protocol::Events,
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("the command line cannot be used")
        .trim_start_matches("error: ")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Parsed, String> {
        let args: Vec<OsString> = std::iter::once("klaviyo-runner")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let descriptor = Descriptor::parse(
            r#"{"triggers": {"poll": {"title": "Poll", "fields": {"kind": {"model": "getKinds"}, "fixed": {"model": {"a": "A"}}}}},
                "actions": {"echo": {"title": "Echo"}}}"#,
        )
        .expect("descriptor");
        parse(&args, &descriptor)
    }

    #[test]
    fn help_lists_the_functions_and_their_select_models() {
        let Ok(Parsed::Print(text)) = parse_args(&["--help"]) else {
            panic!("no help")
        };
        assert!(
            text.contains("  poll  (trigger) Poll\n      selectModel poll METHOD: getKinds\n  echo  (action) Echo\n"),
            "{text}"
        );
    }

    #[test]
    fn commands() {
        let cases: &[(&[&str], &str)] = &[
            (&["process"], "Process { function: None }"),
            (
                &["process", "makeRawRequest"],
                "Process { function: Some(\"makeRawRequest\") }",
            ),
            (&["verifyCredentials"], "VerifyCredentials"),
            (&["getMetaModel", "t"], "GetMetaModel { function: \"t\" }"),
            (
                &["selectModel", "t", "m"],
                "SelectModel { function: \"t\", method: \"m\" }",
            ),
        ];
        for (args, want) in cases {
            match parse_args(args) {
                Ok(Parsed::Command(c)) => assert_eq!(format!("{c:?}"), *want),
                _ => panic!("{args:?} did not parse"),
            }
        }
    }

    #[test]
    fn unusable_command_lines_get_one_line_reasons() {
        let cases: &[(&[&str], &str)] = &[
            (
                &[],
                "no command given; expected process, verifyCredentials, getMetaModel or selectModel (see --help)",
            ),
            (
                &["launch"],
                "unknown command \"launch\"; expected process, verifyCredentials, getMetaModel or selectModel (see --help)",
            ),
            (
                &["selectModel", "t"],
                "selectModel needs a select-model method after the function id",
            ),
            (
                &["getMetaModel"],
                "getMetaModel needs a trigger or action id",
            ),
        ];
        for (args, want) in cases {
            match parse_args(args) {
                Err(reason) => {
                    assert_eq!(reason, *want);
                    assert!(!reason.contains('\n'));
                }
                Ok(_) => panic!("{args:?} parsed"),
            }
        }
        let reason = match parse_args(&["process", "a", "b"]) {
            Err(r) => r,
            Ok(_) => panic!("two functions parsed"),
        };
        assert!(!reason.contains('\n') && reason.contains("'b'"), "{reason}");
    }

    #[test]
    fn help_and_version_are_printed() {
        for flag in ["--help", "-h", "--version", "-V"] {
            assert!(
                matches!(parse_args(&[flag]), Ok(Parsed::Print(_))),
                "{flag}"
            );
        }
        match parse_args(&["--version"]) {
            Ok(Parsed::Print(text)) => assert_eq!(
                text.trim(),
                format!("klaviyo-runner {}", env!("CARGO_PKG_VERSION"))
            ),
            _ => panic!("no version"),
        }
    }
}
