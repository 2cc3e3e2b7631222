//! `klaviyo-fake serve`: the stand-in as a process, for the README demo and
//! benchmarks. Prints one JSON line (`{"base_url":...,"api_key":...}`) on
//! stdout once listening, logs to stderr, and serves until killed or until
//! its stdin closes (so a parent that dies takes it down).

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use klaviyo_fake::{CursorMode, FakeConfig, FakeKlaviyo, Latency, RateLimitRule};

#[derive(Parser)]
#[command(
    name = "klaviyo-fake",
    about = "A local stand-in of Klaviyo's REST API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve on 127.0.0.1.
    Serve(Serve),
}

#[derive(Parser)]
struct Serve {
    /// Port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Records per collection: `--size profiles=100000` (repeatable).
    #[arg(long = "size", value_name = "COLLECTION=N")]
    sizes: Vec<String>,
    #[arg(long)]
    profiles: Option<usize>,
    #[arg(long)]
    events: Option<usize>,
    #[arg(long)]
    campaigns: Option<usize>,
    #[arg(long)]
    lists: Option<usize>,
    #[arg(long)]
    segments: Option<usize>,
    #[arg(long)]
    flows: Option<usize>,
    #[arg(long)]
    metrics: Option<usize>,
    #[arg(long)]
    templates: Option<usize>,
    /// The valid key (all scopes).
    #[arg(long)]
    api_key: Option<String>,
    /// `BURST/s,STEADY/m`, e.g. `3/s,60/m`, applied to every endpoint.
    #[arg(long)]
    rate_limit: Option<String>,
    /// Added before every answer, in milliseconds: fixed (`500`) or drawn
    /// per request from a range (`100-300`). Concurrent requests wait
    /// independently.
    #[arg(long, value_name = "MS|MIN-MAX", default_value = "0", value_parser = parse_latency)]
    latency_ms: Latency,
    #[arg(long, default_value_t = 0)]
    visibility_delay_ms: u64,
    #[arg(long)]
    page_cap: Option<usize>,
    #[arg(long, value_enum, default_value_t = Cursor::Offset)]
    cursor: Cursor,
    /// Records spread out one by one: no bulk imports or bulk updates
    /// (hundreds of records sharing one second).
    #[arg(long)]
    no_bulk: bool,
    /// Log every request to stderr.
    #[arg(long)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Cursor {
    Offset,
    Keyset,
}

fn main() -> ExitCode {
    let Command::Serve(args) = Cli::parse().command;
    // Tracing's default writer is stdout, which is this program's protocol.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(if args.verbose {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        })
        .init();
    let mut config = FakeConfig {
        seed: args.seed,
        port: args.port,
        visibility_delay: Duration::from_millis(args.visibility_delay_ms),
        page_cap: args.page_cap,
        // Nobody reads the log of a served process.
        request_log_limit: 1000,
        bulk_clusters: !args.no_bulk,
        cursor_mode: match args.cursor {
            Cursor::Offset => CursorMode::Offset,
            Cursor::Keyset => CursorMode::Keyset,
        },
        ..FakeConfig::default()
    }
    .with_latency(args.latency_ms);
    if let Some(k) = args.api_key {
        config.api_key = k;
    }
    if let Some(r) = args.rate_limit {
        match RateLimitRule::parse(&r) {
            Some(rule) => config.rate_limit = Some(rule),
            None => {
                tracing::error!(value = %r, "--rate-limit takes BURST/s,STEADY/m, e.g. 3/s,60/m");
                return ExitCode::from(2);
            }
        }
    }
    for (name, n) in [
        ("profiles", args.profiles),
        ("events", args.events),
        ("campaigns", args.campaigns),
        ("lists", args.lists),
        ("segments", args.segments),
        ("flows", args.flows),
        ("metrics", args.metrics),
        ("templates", args.templates),
    ] {
        if let Some(n) = n {
            config.sizes.insert(name.to_owned(), n);
        }
    }
    for s in &args.sizes {
        match s
            .split_once('=')
            .and_then(|(k, v)| Some((k, v.parse::<usize>().ok()?)))
        {
            Some((k, n)) => {
                config.sizes.insert(k.to_owned(), n);
            }
            None => {
                tracing::error!(value = %s, "--size takes COLLECTION=N");
                return ExitCode::from(2);
            }
        }
    }
    let fake = match FakeKlaviyo::start(config) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let line = serde_json::json!({ "base_url": fake.base_url(), "api_key": fake.api_key() });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    drop(out);
    tracing::info!(base_url = fake.base_url(), "serving");
    // Serve until stdin reaches end of file (the parent closed it or died);
    // a kill ends the process anyway. A stdin that is /dev/null (what a
    // script's `cmd &` gets) would end at once, so it is not watched.
    if !stdin_is_watchable() {
        loop {
            std::thread::park();
        }
    }
    let mut sink = [0u8; 1024];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    tracing::info!("stdin closed, stopping");
    ExitCode::SUCCESS
}

/// Whether stdin can signal the parent's end: a pipe, a socket, a terminal
/// or a file, but not a character device such as /dev/null.
fn stdin_is_watchable() -> bool {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(m) = std::fs::metadata("/dev/stdin") {
            return !m.file_type().is_char_device();
        }
    }
    true
}

fn parse_latency(s: &str) -> Result<Latency, String> {
    Latency::parse_ms(s).ok_or_else(|| format!("{s:?}: give milliseconds, `500` or `100-300`"))
}
