//! `klaviyo-fake serve`: the stand-in as a process, for the README demo,
//! benchmarks and anyone trying the component by hand (docs/stand-in.md).
//!
//! Prints one JSON line (`{"api_key":...,"base_url":...}`) on stdout once
//! listening, then says on stderr, once, where it listens, which key it
//! accepts and how to stop it. It serves until its stdin closes, so that a
//! parent that dies (a test, `cargo xtask demo`) takes it down: the pipe's
//! other end closes with the parent, whatever killed it. With
//! `--until-killed`, or when stdin is /dev/null (which would close at
//! once), it serves until killed.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use klaviyo_fake::{CursorMode, DEFAULT_API_KEY, FakeConfig, FakeKlaviyo, Latency, RateLimitRule};

#[derive(Parser)]
#[command(
    name = "klaviyo-fake",
    about = "A local stand-in of Klaviyo's REST API (docs/stand-in.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve on 127.0.0.1 until stdin closes (or until killed).
    Serve(Serve),
}

#[derive(Parser)]
struct Serve {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The key accepted, with every scope.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    api_key: String,
    /// Seeds the generated account: the same seed gives the same records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Records per collection: `--size profiles=100000` (repeatable; any
    /// collection, e.g. `catalog-items=50`).
    #[arg(long = "size", value_name = "COLLECTION=N", value_parser = parse_size)]
    sizes: Vec<(String, usize)>,
    /// Number of profiles (same as `--size profiles=N`).
    #[arg(long, value_name = "N")]
    profiles: Option<usize>,
    /// Number of events.
    #[arg(long, value_name = "N")]
    events: Option<usize>,
    /// Number of campaigns.
    #[arg(long, value_name = "N")]
    campaigns: Option<usize>,
    /// Number of lists.
    #[arg(long, value_name = "N")]
    lists: Option<usize>,
    /// Number of segments.
    #[arg(long, value_name = "N")]
    segments: Option<usize>,
    /// Number of flows.
    #[arg(long, value_name = "N")]
    flows: Option<usize>,
    /// Number of metrics.
    #[arg(long, value_name = "N")]
    metrics: Option<usize>,
    /// Number of templates.
    #[arg(long, value_name = "N")]
    templates: Option<usize>,
    /// Records spread out one by one: no bulk imports or bulk updates
    /// (hundreds of records sharing one second).
    #[arg(long)]
    no_bulk: bool,
    /// Klaviyo's limits, applied to every endpoint: `BURST/s,STEADY/m`,
    /// e.g. `3/s,60/m`, or a steady window of N seconds: `5/s,20/10s`.
    #[arg(long, value_name = "BURST/s,STEADY/m", value_parser = parse_rate_limit)]
    rate_limit: Option<(RateLimitRule, Duration)>,
    /// Admitted answers carry no `RateLimit-*` headers: the limit is
    /// announced only by its 429s.
    #[arg(long)]
    quiet_rate_limit: bool,
    /// Added before every answer, in milliseconds: fixed (`500`) or drawn
    /// per request from a range (`100-300`). Concurrent requests wait
    /// independently.
    #[arg(long, value_name = "MS|MIN-MAX", default_value = "0", value_parser = parse_latency)]
    latency_ms: Latency,
    /// Writes become visible (in lists and by id) only after this delay.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    visibility_delay_ms: u64,
    /// At most N records per page, whatever `page[size]` says.
    #[arg(long, value_name = "N")]
    page_cap: Option<usize>,
    /// What `page[cursor]` holds: an offset into the current result (records
    /// that change while a client pages shift across pages) or the last
    /// record served.
    #[arg(long, value_enum, default_value_t = Cursor::Offset)]
    cursor: Cursor,
    /// The date revisions are released and retired by (`YYYY-MM-DD`;
    /// default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<chrono::NaiveDate>,
    /// Do not read stdin: serve until killed. For starting it in the
    /// background of a terminal (`&`), where reading stdin would stop it.
    #[arg(long)]
    until_killed: bool,
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
    let fake = match FakeKlaviyo::start(config(&args)) {
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
    let stop = if args.until_killed {
        Stop::Killed("stdin is not read (--until-killed)")
    } else if stdin_is_watchable() {
        Stop::StdinCloses
    } else {
        Stop::Killed("stdin is /dev/null, which would close at once")
    };
    say(&format!(
        "listening on {}, API key {}. {}",
        fake.base_url(),
        fake.api_key(),
        stop.how()
    ));
    match stop {
        Stop::Killed(_) => loop {
            std::thread::park();
        },
        Stop::StdinCloses => {
            drain_stdin();
            say("stdin closed, stopped.");
            ExitCode::SUCCESS
        }
    }
}

/// The stand-in the arguments describe.
fn config(args: &Serve) -> FakeConfig {
    let mut config = FakeConfig {
        seed: args.seed,
        port: args.port,
        api_key: args.api_key.clone(),
        rate_limit: args.rate_limit.map(|(rule, _)| rule),
        steady_window: args
            .rate_limit
            .map_or(Duration::from_secs(60), |(_, window)| window),
        quiet_rate_limit: args.quiet_rate_limit,
        visibility_delay: Duration::from_millis(args.visibility_delay_ms),
        page_cap: args.page_cap,
        // Nobody reads the log of a served process.
        request_log_limit: 1000,
        bulk_clusters: !args.no_bulk,
        cursor_mode: match args.cursor {
            Cursor::Offset => CursorMode::Offset,
            Cursor::Keyset => CursorMode::Keyset,
        },
        today: args.today,
        ..FakeConfig::default()
    }
    .with_latency(args.latency_ms);
    let named = [
        ("profiles", args.profiles),
        ("events", args.events),
        ("campaigns", args.campaigns),
        ("lists", args.lists),
        ("segments", args.segments),
        ("flows", args.flows),
        ("metrics", args.metrics),
        ("templates", args.templates),
    ];
    for (name, n) in named {
        if let Some(n) = n {
            config.sizes.insert(name.to_owned(), n);
        }
    }
    for (name, n) in &args.sizes {
        config.sizes.insert(name.clone(), *n);
    }
    config
}

/// What ends the process.
enum Stop {
    /// End of file on stdin (or a read error).
    StdinCloses,
    /// Only a signal; says why stdin is not watched.
    Killed(&'static str),
}

impl Stop {
    fn how(&self) -> String {
        match self {
            Stop::StdinCloses => "Serving until stdin closes (Ctrl-D here, or when the program \
                                  that started it exits, so it never outlives it) or Ctrl-C."
                .to_owned(),
            Stop::Killed(why) => format!(
                "Serving until killed (Ctrl-C, or kill {}): {why}.",
                std::process::id()
            ),
        }
    }
}

/// Reads stdin to its end.
fn drain_stdin() {
    let mut sink = [0u8; 1024];
    let mut stdin = std::io::stdin().lock();
    while let Ok(n) = stdin.read(&mut sink)
        && n > 0
    {}
}

/// One line on stderr for the person who started it.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "klaviyo-fake: {message}");
}

/// Whether stdin can signal the parent's end: a pipe, a socket, a terminal
/// or a file, but not a character device such as /dev/null.
fn stdin_is_watchable() -> bool {
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

fn parse_rate_limit(s: &str) -> Result<(RateLimitRule, Duration), String> {
    RateLimitRule::parse_with_window(s).ok_or_else(|| {
        format!("{s:?}: give BURST/s,STEADY/m or BURST/s,STEADY/Ns, e.g. 3/s,60/m or 5/s,20/10s")
    })
}

fn parse_size(s: &str) -> Result<(String, usize), String> {
    s.split_once('=')
        .and_then(|(k, v)| Some((k.to_owned(), v.parse::<usize>().ok()?)))
        .ok_or_else(|| format!("{s:?}: give COLLECTION=N, e.g. profiles=1000"))
}
