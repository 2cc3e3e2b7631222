//! Logs: bunyan JSON lines on stderr, level from `LOG_LEVEL`.
//!
//! stdout carries the protocol and nothing else, so logs go to stderr, one
//! JSON object per line with bunyan's fields (`v`, `name`, `hostname`, `pid`,
//! numeric `level`, `msg`, `time`), plus the platform ids found in the
//! environment so a line can be traced to its flow and step.

use std::collections::HashMap;
use std::io::Write;

use component_sdk::Env;
use tracing::level_filters::LevelFilter;
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::redact::Redactor;

/// Log target of the one-line reason for an unusable invocation, written
/// whatever `LOG_LEVEL` says.
pub(crate) const INVOCATION_TARGET: &str = "klaviyo_runner::invocation";

/// Platform ids copied into every log line, as the Node.js sailor does.
const CONTEXT_VARS: &[&str] = &[
    "ELASTICIO_FLOW_ID",
    "ELASTICIO_STEP_ID",
    "ELASTICIO_EXEC_ID",
    "ELASTICIO_FUNCTION",
    "ELASTICIO_COMP_ID",
    "ELASTICIO_CONTAINER_ID",
    "ELASTICIO_WORKSPACE_ID",
    "ELASTICIO_USER_ID",
];

/// Install the global logger and the panic hook.
pub(crate) fn init(env: &Env, redactor: Redactor) {
    let (level, complaint) = parse_level(env.get("LOG_LEVEL"));
    let fields: HashMap<String, serde_json::Value> = CONTEXT_VARS
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), env.get(name)?.into())))
        .collect();
    let formatting = BunyanFormattingLayer::with_default_fields(
        "klaviyo-component".to_owned(),
        Stderr { redactor },
        fields,
    );
    let filter = Targets::new()
        .with_default(level)
        .with_target(INVOCATION_TARGET, LevelFilter::ERROR);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(JsonStorageLayer)
        .with(formatting)
        .try_init();
    if let Some(complaint) = complaint {
        tracing::warn!("{complaint}");
    }
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("panic: {info}");
    }));
}

/// `LOG_LEVEL` as bunyan names it (`trace` … `fatal`) or by number (10 … 60).
fn parse_level(raw: Option<&str>) -> (LevelFilter, Option<String>) {
    let Some(raw) = raw else {
        return (LevelFilter::INFO, None);
    };
    let level = match raw.trim().to_ascii_lowercase().as_str() {
        "trace" | "10" => LevelFilter::TRACE,
        "debug" | "20" => LevelFilter::DEBUG,
        "info" | "30" => LevelFilter::INFO,
        "warn" | "warning" | "40" => LevelFilter::WARN,
        "error" | "fatal" | "50" | "60" => LevelFilter::ERROR,
        "off" | "none" => LevelFilter::OFF,
        _ => {
            return (
                LevelFilter::INFO,
                Some(format!(
                    "LOG_LEVEL {raw:?} is not a level (trace, debug, info, warn, error, fatal); logging at info"
                )),
            );
        }
    };
    (level, None)
}

/// stderr, masked: each bunyan record arrives as one `write_all`.
struct Stderr {
    redactor: Redactor,
}

struct MaskedStderr<'a> {
    redactor: &'a Redactor,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = MaskedStderr<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedStderr {
            redactor: &self.redactor,
        }
    }
}

impl Write for MaskedStderr<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let masked = self.redactor.redact(buf);
        // A closed stderr must not stop the step.
        let _ = std::io::stderr().lock().write_all(&masked);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let cases: &[(Option<&str>, LevelFilter, bool)] = &[
            (None, LevelFilter::INFO, false),
            (Some("trace"), LevelFilter::TRACE, false),
            (Some("DEBUG"), LevelFilter::DEBUG, false),
            (Some("warn"), LevelFilter::WARN, false),
            (Some("fatal"), LevelFilter::ERROR, false),
            (Some("20"), LevelFilter::DEBUG, false),
            (Some("loud"), LevelFilter::INFO, true),
        ];
        for (raw, want, complains) in cases {
            let (level, complaint) = parse_level(*raw);
            assert_eq!(level, *want, "{raw:?}");
            assert_eq!(complaint.is_some(), *complains, "{raw:?}");
        }
    }
}
