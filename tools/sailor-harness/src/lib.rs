//! Test and demo tool: runs the component inside the real elastic.io
//! runtime on one machine (docs/platform.md).
//!
//! - [`rabbit`]: a throw-away RabbitMQ (Debian's `rabbitmq-server`),
//!   loopback only, on free ports, in a temporary folder, stopped by pid.
//! - [`api`]: a stub of the platform API sailor calls: step data, account
//!   updates, service results.
//! - [`cipher`]: sailor's message cipher, written from its scheme.
//! - [`broker`]: the flow's topology, publishing ticks, reading queues.
//! - [`sailor`]: real `run.js` and `runService.js` processes.
//! - [`platform`]: all of it together, as a flow of steps.
//! - [`records`]: stand-in records the size real ones are.

pub mod api;
pub mod broker;
pub mod cipher;
pub mod platform;
pub mod rabbit;
pub mod records;
pub mod sailor;

/// Why the platform path cannot run here: a missing program, said so that
/// the person knows what to install.
#[derive(Debug)]
pub enum Unavailable {
    RabbitMq(String),
    Node(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::RabbitMq(why) => write!(
                f,
                "RabbitMQ is not installed ({why}); install it with \
                 `apt-get install --no-install-recommends rabbitmq-server`"
            ),
            Unavailable::Node(why) => write!(
                f,
                "Node.js or sailor is missing ({why}); install Node.js 20 and run `npm ci` at the repository root"
            ),
        }
    }
}

/// The repository root: where component.json, package.json and
/// node_modules are.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}
