//! A throw-away RabbitMQ: Debian's `rabbitmq-server` started in the
//! foreground with all its state in a temporary folder, listening on
//! 127.0.0.1 only, on free ports, with its own `epmd` (so that no daemon
//! outlives it), and stopped by pid when dropped.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Unavailable;

/// How long a cold start may take before it is reported as failed (the
/// reference saw 2.6–7.3 s on this kind of machine).
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running broker. Dropping it stops the node and its epmd, and removes
/// its folder.
#[derive(Debug)]
pub struct Rabbit {
    node: Option<Child>,
    epmd: Option<Child>,
    dir: PathBuf,
    port: u16,
}

/// The package's real server script, not the `/usr/sbin` wrapper that
/// switches user and logs to /var/log.
fn server_script() -> Result<PathBuf, Unavailable> {
    newest_match(
        "/usr/lib/rabbitmq/lib",
        "rabbitmq_server-",
        "sbin/rabbitmq-server",
    )
    .ok_or_else(|| {
        Unavailable::RabbitMq(
            "no /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server".into(),
        )
    })
}

fn epmd_binary() -> Result<PathBuf, Unavailable> {
    newest_match("/usr/lib/erlang", "erts-", "bin/epmd")
        .ok_or_else(|| Unavailable::RabbitMq("no /usr/lib/erlang/erts-*/bin/epmd".into()))
}

fn newest_match(dir: &str, prefix: &str, tail: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path().join(tail))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Whether RabbitMQ is installed, and if not, why.
pub fn available() -> Result<(), Unavailable> {
    server_script()?;
    epmd_binary()?;
    Ok(())
}

/// The ports a node listens on: AMQP, Erlang distribution, and its epmd.
#[derive(Debug, Clone, Copy)]
struct Ports {
    amqp: u16,
    dist: u16,
    epmd: u16,
}

/// How many times a start is tried on fresh ports when one was taken
/// between choosing it and the node binding it.
const PORT_TRIES: usize = 4;

/// A port on 127.0.0.1 that was free a moment ago, chosen below the
/// kernel's ephemeral range. A port asked of the kernel (bind to port 0)
/// comes from inside that range, where any outgoing connection or port-0
/// listener of a test running beside this one can be given it once it is
/// let go: a CI run lost its broker to `eaddrinuse` that way. Below the
/// range only a listener that names the port can take it.
pub fn quiet_port() -> std::io::Result<u16> {
    let low = ephemeral_low().unwrap_or(32768);
    let (first, last) = (10_000u16, low.saturating_sub(1).max(10_001));
    let span = u32::from(last - first);
    for _ in 0..500 {
        let draw = uuid::Uuid::new_v4().as_u128() as u32 % span;
        let port = first + u16::try_from(draw).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other(format!(
        "no free port on 127.0.0.1 in {first}..{last}"
    )))
}

/// Three different [`quiet_port`]s; [`Rabbit::start`] tries again when
/// one was taken before the node bound it.
fn free_ports() -> std::io::Result<Ports> {
    let mut ports = Vec::new();
    while ports.len() < 3 {
        let port = quiet_port()?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(Ports {
        amqp: ports[0],
        dist: ports[1],
        epmd: ports[2],
    })
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_low() -> Option<u16> {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A fresh temporary folder.
pub fn temp_dir(label: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{label}-{}", uuid::Uuid::new_v4().simple()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl Rabbit {
    /// Starts a node and waits until it says "Server startup complete";
    /// on fresh ports again when one it chose was taken meanwhile.
    pub fn start() -> Result<Rabbit, StartError> {
        let mut tries = 1;
        loop {
            let ports = free_ports().map_err(StartError::io)?;
            match Rabbit::start_on(ports) {
                Err(StartError::Failed(why))
                    if why.contains("eaddrinuse") && tries < PORT_TRIES =>
                {
                    tries += 1;
                }
                started => return started,
            }
        }
    }

    fn start_on(ports: Ports) -> Result<Rabbit, StartError> {
        let script = server_script().map_err(StartError::Unavailable)?;
        let epmd_bin = epmd_binary().map_err(StartError::Unavailable)?;
        let dir = temp_dir("sailor-harness-rabbit").map_err(StartError::io)?;
        let Ports {
            amqp: port,
            dist: dist_port,
            epmd: epmd_port,
        } = ports;
        fs::write(dir.join("enabled_plugins"), "[].\n").map_err(StartError::io)?;
        fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users.guest = true\n"),
        )
        .map_err(StartError::io)?;
        let mut rabbit = Rabbit {
            node: None,
            epmd: None,
            dir: dir.clone(),
            port,
        };
        // A foreground epmd of our own, on its own port: we own its pid.
        rabbit.epmd = Some(
            Command::new(&epmd_bin)
                .arg("-port")
                .arg(epmd_port.to_string())
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(StartError::io)?,
        );
        let log = fs::File::create(dir.join("server.log")).map_err(StartError::io)?;
        let log_err = log.try_clone().map_err(StartError::io)?;
        let node_name = format!("rabbit-harness-{port}@localhost");
        rabbit.node = Some(
            Command::new(&script)
                .env("HOME", &dir)
                .env("RABBITMQ_NODENAME", &node_name)
                .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
                .env("RABBITMQ_NODE_PORT", port.to_string())
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .env("ERL_EPMD_PORT", epmd_port.to_string())
                .env(
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                    "-kernel inet_dist_use_interface {127,0,0,1}",
                )
                .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
                .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.join("log"))
                .env("RABBITMQ_LOGS", "-")
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .map_err(StartError::io)?,
        );
        let started = Instant::now();
        loop {
            let text = fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            if text.contains("Server startup complete") {
                return Ok(rabbit);
            }
            if let Some(node) = rabbit.node.as_mut()
                && let Ok(Some(status)) = node.try_wait()
            {
                return Err(StartError::Failed(format!(
                    "rabbitmq-server exited ({status}) before it was ready; its log:\n{}",
                    tail(&text)
                )));
            }
            if started.elapsed() > START_LIMIT {
                return Err(StartError::Failed(format!(
                    "rabbitmq-server was not ready after {} s; its log:\n{}",
                    START_LIMIT.as_secs(),
                    tail(&text)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `amqp://guest:guest@127.0.0.1:PORT`
    pub fn amqp_uri(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the broker where it stands (SIGSTOP to the node and every
    /// process under it): it reads nothing and confirms nothing until
    /// [`Rabbit::resume`], as a broker that has stalled. Its sockets stay
    /// open.
    pub fn pause(&self) {
        for pid in self.node_tree() {
            signal(pid, "STOP");
        }
    }

    /// Lets a paused broker go on.
    pub fn resume(&self) {
        for pid in self.node_tree() {
            signal(pid, "CONT");
        }
    }

    fn node_tree(&self) -> Vec<u32> {
        self.node.iter().flat_map(|n| descendants(n.id())).collect()
    }

    /// The node's process id, and its epmd's.
    pub fn pids(&self) -> Vec<u32> {
        self.node
            .iter()
            .chain(self.epmd.iter())
            .map(Child::id)
            .collect()
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// `root` and every process under it, read from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    tree
}

/// The parent of `pid` (the field after the command's closing paren).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// How many bytes `pid` has written so far, to files, pipes and sockets
/// (`wchar` of /proc/PID/io): a process blocked on a full pipe stops there.
pub fn bytes_written(pid: u32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("wchar:"))?
        .trim()
        .parse()
        .ok()
}

/// The command name of `pid` (/proc/PID/comm).
pub fn command_name(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_owned())
}

/// Sends `signal` (a name such as `TERM`) to `pid` with kill(1): the
/// workspace forbids the unsafe code a libc call needs.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops `child` with SIGTERM, and SIGKILL if it is still there after
/// `grace`; reaps it.
pub fn stop(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child.id(), "TERM");
    let started = Instant::now();
    while started.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        if let Some(mut node) = self.node.take() {
            stop(&mut node, Duration::from_secs(15));
        }
        if let Some(mut epmd) = self.epmd.take() {
            let _ = epmd.kill();
            let _ = epmd.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
pub enum StartError {
    Unavailable(Unavailable),
    Failed(String),
}

impl StartError {
    fn io(e: std::io::Error) -> StartError {
        StartError::Failed(e.to_string())
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Unavailable(u) => u.fmt(f),
            StartError::Failed(why) => f.write_str(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`Rabbit::start`] retries on is what the node says when its
    /// port was taken; and the ports it chooses lie below the ephemeral
    /// range, where no outgoing connection is given one.
    #[test]
    fn a_taken_port_is_told_apart_and_tried_again() {
        if let Err(why) = available() {
            // As the platform tests: skipped only on purpose, never in CI.
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            let skip = std::env::var("KLAVIYO_SKIP_PLATFORM_TESTS").is_ok_and(|v| v.trim() == "1");
            assert!(!ci && skip, "{why}; or set KLAVIYO_SKIP_PLATFORM_TESTS=1");
            return;
        }
        let ports = free_ports().expect("three ports");
        let low = ephemeral_low().unwrap_or(32768);
        for p in [ports.amqp, ports.dist, ports.epmd] {
            assert!((10_000..low).contains(&p), "{p} is not below {low}");
        }
        let taken = TcpListener::bind(("127.0.0.1", ports.amqp)).expect("the port is free");
        let why = Rabbit::start_on(ports)
            .expect_err("the port is taken")
            .to_string();
        assert!(why.contains("eaddrinuse"), "{why}");
        drop(taken);
        let rabbit = Rabbit::start().expect("a start on other ports");
        assert_ne!(rabbit.port(), 0);
    }
}
