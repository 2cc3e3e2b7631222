//! `klaviyo-runner`: the Klaviyo component as a process. See docs/protocol.md.

use std::process::ExitCode;

fn main() -> ExitCode {
    runner::main(&klaviyo_component::COMPONENT)
}
