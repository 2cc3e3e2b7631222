//! `sailor-harness`: the platform path on one machine.
//!
//! ```text
//! sailor-harness demo  --runner PATH              (cargo xtask demo --platform)
//! sailor-harness bench --runner PATH [--smoke]    (a row of cargo xtask bench)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use klaviyo_fake::{FakeConfig, FakeKlaviyo};
use sailor_harness::broker::Received;
use sailor_harness::platform::{self, Platform, Step};
use sailor_harness::sailor::Sailor;
use serde_json::{Value, json};

const USAGE: &str =
    "usage: sailor-harness demo --runner PATH | sailor-harness bench --runner PATH [--smoke]";
const POLLING: &str = "getNewAndUpdatedObjectsPolling";
const RAW: &str = "makeRawRequest";
const REVISION: &str = "2026-10-15";
const PATIENCE: Duration = Duration::from_secs(300);
/// What the runner logs when a step ran to its end.
const FINISHED: &str = "finished\"";

#[allow(
    clippy::print_stderr,
    reason = "a command-line tool reports to the person running it"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runner = args
        .iter()
        .position(|a| a == "--runner")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let smoke = args.iter().any(|a| a == "--smoke");
    let (Some(command), Some(runner)) = (args.first(), runner) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let root = sailor_harness::repo_root();
    if let Err(why) = platform::available(&root) {
        if command == "bench" {
            // A row that says why, not a failure: benchmarks report.
            print_json(&json!({"skipped": why.to_string()}));
            return ExitCode::SUCCESS;
        }
        eprintln!("The platform path cannot run here: {why}.");
        return ExitCode::FAILURE;
    }
    let result = match command.as_str() {
        "demo" => demo(&root, &runner),
        "bench" => bench(&root, &runner, smoke).map(|v| print_json(&v)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sailor-harness {command} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout, reason = "the JSON result is the output")]
fn print_json(v: &Value) {
    println!("{v}");
}

fn stand_in(config: FakeConfig) -> Result<FakeKlaviyo, String> {
    FakeKlaviyo::start(FakeConfig {
        revision: REVISION.to_owned(),
        ..config
    })
    .map_err(|e| format!("the stand-in: {e}"))
}

fn start(
    root: &std::path::Path,
    runner: &std::path::Path,
    fake: &FakeKlaviyo,
) -> Result<Platform, String> {
    let mut p = Platform::start(root, runner)?;
    p.set_env("KLAVIYO_BASE_URL", fake.base_url());
    // The stand-in's newest records are from the moment it started.
    p.set_env("KLAVIYO_POLL_LAG_SECONDS", "0");
    Ok(p)
}

#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn show(p: &Platform, what: &str, m: &Received) {
    let body = if what.ends_with("error") {
        m.decrypt_error(&p.cipher)
    } else if what.ends_with("snapshot") {
        m.json()
    } else {
        m.decrypt(&p.cipher)
    };
    match body {
        Ok(v) => println!("[{what}] {v}"),
        Err(e) => println!("[{what}] (cannot be read: {e})"),
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the demo talks to the person running it"
)]
fn demo(root: &std::path::Path, runner: &std::path::Path) -> Result<(), String> {
    let fake = stand_in(FakeConfig::default().size("lists", 12).size("profiles", 25))?;
    println!(
        "The stand-in serves a small Klaviyo account at {}",
        fake.base_url()
    );
    println!("Starting a throw-away RabbitMQ on 127.0.0.1 (a few seconds)…");
    let p = start(root, runner, &fake)?;
    println!(
        "RabbitMQ listens on 127.0.0.1:{}; the stub platform API on {}",
        p.rabbit.port(),
        p.api.uri()
    );
    let key = fake.api_key();
    let trigger = p.add_step(
        "step_1",
        POLLING,
        json!({"apiKey": key, "revision": REVISION, "objectType": "lists", "pollConfig": "updated"}),
    )?;
    let action = p.add_step("step_2", RAW, json!({"apiKey": key, "revision": REVISION}))?;
    println!(
        "Starting real sailors (elasticio-sailor-nodejs run.js) for the trigger and the action…"
    );
    let mut s1 = p.spawn_sailor(&trigger, "demo-trigger", &[])?;
    let mut s2 = p.spawn_sailor(&action, "demo-action", &[])?;

    println!("\nPublishing a tick to {} …", trigger.queues.input_key());
    p.broker
        .publish_input(&trigger.queues, &p.cipher, &json!({"body": {}}))?;
    follow(&p, &trigger, &mut s1)?;

    let request = json!({"method": "GET", "url": "/lists?page[size]=2"});
    println!(
        "\nPublishing a raw request {request} to {} …",
        action.queues.input_key()
    );
    p.broker
        .publish_input(&action.queues, &p.cipher, &json!({"body": request}))?;
    follow(&p, &action, &mut s2)?;

    println!("\nStopping the sailors (SIGTERM), RabbitMQ and the stub.");
    for s in [&mut s1, &mut s2] {
        s.terminate();
        s.wait_exit(PATIENCE)?;
    }
    Ok(())
}

/// Prints what `step` publishes until its runner has finished and every
/// message is read.
fn follow(p: &Platform, step: &Step, sailor: &mut Sailor) -> Result<(), String> {
    let q = &step.queues;
    let started = Instant::now();
    let mut finished_seen = false;
    loop {
        let mut any = false;
        for (queue, what) in [
            (q.data(), "data"),
            (q.snapshots(), "snapshot"),
            (q.errors(), "error"),
            (q.rebounds(), "rebound"),
        ] {
            while let Some(m) = p.broker.get(&queue)? {
                show(p, &format!("{} {what}", step.id), &m);
                any = true;
            }
        }
        if finished_seen && !any {
            return Ok(());
        }
        if sailor.count_lines(FINISHED) > 0 || sailor.count_lines("failed: ") > 0 {
            // One more round to read what was published last.
            finished_seen = true;
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        sailor.alive()?;
        if started.elapsed() > PATIENCE {
            return Err(format!("{} did not finish", step.id));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The per-message time sailor records: `end - start` headers (ms).
fn processing_ms(m: &Received) -> Option<f64> {
    let start = m.headers.get("start")?.as_f64()?;
    let end = m.headers.get("end")?.as_f64()?;
    Some(end - start)
}

fn bench(root: &std::path::Path, runner: &std::path::Path, smoke: bool) -> Result<Value, String> {
    let requests = if smoke { 20 } else { 1000 };
    let records = if smoke { 50 } else { 2000 };
    // One broker and one stand-in for every case, each case its own step.
    let fake = stand_in(
        FakeConfig::empty()
            .size("lists", 5)
            .size("profiles", records),
    )?;
    let p = start(root, runner, &fake)?;
    let mut raw_rows = Vec::new();
    for consumers in [1, 4] {
        raw_rows.push(bench_raw(&p, &fake, consumers, requests)?);
    }
    let mut poll_rows = Vec::new();
    for mode in ["emitIndividually", "emitPage"] {
        poll_rows.push(bench_poll(&p, &fake, runner, mode, records)?);
    }
    let one_in_one_out = vec![bench_one_in_one_out(
        &p,
        &fake,
        runner,
        if smoke { 20 } else { 500 },
    )?];
    drop(p);
    // Emit individually with records the size of real profiles, at
    // sailor's default data rate and at a raised one (the ceiling is then
    // the machine's, not sailor's).
    let mut individual = Vec::new();
    for (rate, records) in [
        (None, if smoke { 50 } else { 600 }),
        (Some(RAISED_RATE), if smoke { 200 } else { 4000 }),
    ] {
        individual.push(bench_individual(root, runner, rate, records)?);
    }
    Ok(json!({
        "raw": raw_rows,
        "poll": poll_rows,
        "one_in_one_out": one_in_one_out,
        "individual": individual,
    }))
}

/// The size of a profile with its custom properties.
const RECORD_BYTES: usize = 3000;
/// What the stand-in's own profile attributes take of [`RECORD_BYTES`].
const PROFILE_BASE_BYTES: usize = 800;
/// The size of a raw request's reply in the one-in-one-out row.
const REPLY_BYTES: usize = 1000;
/// `ELASTICIO_DATA_RATE_LIMIT` raised: messages per `ELASTICIO_RATE_INTERVAL`
/// (100 ms), 100 times sailor's default of 10.
const RAISED_RATE: u32 = 1000;

/// A first poll of `records` profiles of about 3 KB each in emit
/// individually, through sailor at its data rate limit `rate` (per 100 ms;
/// `None` for its default of 10), beside the runner alone.
fn bench_individual(
    root: &std::path::Path,
    runner: &std::path::Path,
    rate: Option<u32>,
    records: usize,
) -> Result<Value, String> {
    let fake = stand_in(FakeConfig::empty().size("profiles", records))?;
    sailor_harness::records::pad_profiles(&fake, RECORD_BYTES - PROFILE_BASE_BYTES)?;
    let p = start(root, runner, &fake)?;
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitIndividually"});
    let (alone_secs, lines) = runner_alone(runner, &fake, &cfg)?;
    let data: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with(r#"{"event":"data""#))
        .collect();
    if data.len() != records {
        return Err(format!(
            "the runner alone emitted {} records, expected {records}",
            data.len()
        ));
    }
    let record_bytes = data.iter().map(|l| l.len()).sum::<usize>() / records.max(1);
    let step = p.add_step("individual", POLLING, cfg)?;
    let rate_text = rate.map(|r| r.to_string());
    let extra: Vec<(&str, &str)> = rate_text
        .iter()
        .map(|r| ("ELASTICIO_DATA_RATE_LIMIT", r.as_str()))
        .collect();
    let mut sailor = p.spawn_sailor(&step, "bench-individual", &extra)?;
    let started = Instant::now();
    p.broker
        .publish_input(&step.queues, &p.cipher, &json!({"body": {}}))?;
    p.broker
        .wait_count(&step.queues.data(), records, PATIENCE, || sailor.alive())?;
    let sailor_secs = started.elapsed().as_secs_f64();
    // Every record once, in the runner's order.
    let got = p.broker.drain(&step.queues.data())?;
    let ids: Vec<String> = got
        .iter()
        .map(|m| m.decrypt(&p.cipher).map(|b| b["body"]["id"].to_string()))
        .collect::<Result<_, _>>()?;
    let alone_ids: Vec<String> = data
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .map(|e| e["payload"]["body"]["id"].to_string())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    if ids != alone_ids {
        return Err(format!(
            "emit individually at rate {rate:?}: {} messages through sailor, not the runner's {} in its order",
            ids.len(),
            alone_ids.len()
        ));
    }
    sailor.terminate();
    sailor.wait_exit(PATIENCE)?;
    let limit = f64::from(rate.unwrap_or(10)) * 10.0;
    let per_second = records as f64 / sailor_secs;
    Ok(json!({
        "records": records,
        "record_bytes": record_bytes,
        "limit_per_second": limit,
        "sailor_per_second": per_second,
        "share_of_limit": per_second / limit,
        "alone_per_second": records as f64 / alone_secs,
    }))
}

/// The runner alone on one poll: seconds and its stdout lines.
fn runner_alone(
    runner: &std::path::Path,
    fake: &FakeKlaviyo,
    cfg: &Value,
) -> Result<(f64, Vec<String>), String> {
    let started = Instant::now();
    let mut child = std::process::Command::new(runner)
        .args(["process", POLLING])
        .env("KLAVIYO_BASE_URL", fake.base_url())
        .env("KLAVIYO_POLL_LAG_SECONDS", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("the runner: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(json!({"cfg": cfg}).to_string().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    Ok((secs, lines))
}

/// One message in, one out: raw requests whose replies are about 1 KB,
/// one consumer at sailor's prefetch of 1, beside the runner alone run
/// once per message.
fn bench_one_in_one_out(
    p: &Platform,
    fake: &FakeKlaviyo,
    runner: &std::path::Path,
    requests: usize,
) -> Result<Value, String> {
    let id = fake
        .ids("lists")
        .into_iter()
        .next()
        .ok_or("the stand-in has no list")?;
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION});
    let request = json!({"method": "GET", "url": format!("/lists/{id}")});
    let mut env = std::collections::BTreeMap::new();
    env.insert("KLAVIYO_BASE_URL".to_owned(), fake.base_url().to_owned());
    // Lengthen the list's name so that the runner's reply line is about 1 KB.
    let set_name = |n: usize| {
        fake.edit("lists", &id, |a| {
            a.insert("name".into(), json!(format!("List {}", "n".repeat(n))));
        })
        .map_err(|e| format!("{e:?}"))
    };
    set_name(0)?;
    let bare = raw_alone(runner, &env, &cfg, &request)?.1;
    set_name(REPLY_BYTES.saturating_sub(bare))?;
    let reply = raw_alone(runner, &env, &cfg, &request)?.1;
    let alone_started = Instant::now();
    let alone_runs = requests.min(100);
    for _ in 0..alone_runs {
        raw_alone(runner, &env, &cfg, &request)?;
    }
    let alone_per_second = alone_runs as f64 / alone_started.elapsed().as_secs_f64();

    let step = p.add_step("one_in_one_out", RAW, cfg)?;
    let mut sailor = p.spawn_sailor(&step, "bench-1in1out", &[])?;
    let input = json!({"body": request});
    let started = Instant::now();
    for _ in 0..requests {
        p.broker.publish_input(&step.queues, &p.cipher, &input)?;
    }
    p.broker
        .wait_count(&step.queues.data(), requests, PATIENCE, || sailor.alive())?;
    let elapsed = started.elapsed().as_secs_f64();
    let replies = p.broker.drain(&step.queues.data())?;
    let errors = p.broker.count(&step.queues.errors())?;
    if errors > 0 || replies.len() != requests {
        return Err(format!(
            "one in, one out: {} replies and {errors} errors for {requests} requests",
            replies.len()
        ));
    }
    let mut times: Vec<f64> = replies.iter().filter_map(processing_ms).collect();
    sailor.terminate();
    sailor.wait_exit(PATIENCE)?;
    Ok(json!({
        "requests": requests,
        "reply_bytes": reply,
        "per_second": requests as f64 / elapsed,
        "median_ms": median(&mut times),
        "alone_per_second": alone_per_second,
    }))
}

/// The runner alone on one raw request: seconds and its data line's size.
fn raw_alone(
    runner: &std::path::Path,
    env: &std::collections::BTreeMap<String, String>,
    cfg: &Value,
    body: &Value,
) -> Result<(f64, usize), String> {
    let started = Instant::now();
    let mut child = std::process::Command::new(runner)
        .args(["process", RAW])
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("the runner: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(
                json!({"cfg": cfg, "msg": {"body": body}})
                    .to_string()
                    .as_bytes(),
            )
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let size = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(r#"{"event":"data""#))
        .map_or(0, str::len);
    Ok((started.elapsed().as_secs_f64(), size))
}

fn bench_raw(
    p: &Platform,
    fake: &FakeKlaviyo,
    consumers: usize,
    requests: usize,
) -> Result<Value, String> {
    let step = p.add_step(
        &format!("raw_{consumers}"),
        RAW,
        json!({"apiKey": fake.api_key(), "revision": REVISION}),
    )?;
    let mut sailors = (0..consumers)
        .map(|i| p.spawn_sailor(&step, &format!("bench-{i}"), &[]))
        .collect::<Result<Vec<_>, _>>()?;
    let request = json!({"body": {"method": "GET", "url": "/lists?page[size]=1"}});
    let started = Instant::now();
    for _ in 0..requests {
        p.broker.publish_input(&step.queues, &p.cipher, &request)?;
    }
    let replies = p.broker.read(&step.queues.data(), requests, PATIENCE, || {
        sailors.iter_mut().try_for_each(Sailor::alive)
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let errors = p.broker.count(&step.queues.errors())?;
    if errors > 0 {
        return Err(format!("{errors} raw request(s) failed"));
    }
    let mut times: Vec<f64> = replies.iter().filter_map(processing_ms).collect();
    for s in &mut sailors {
        s.terminate();
        s.wait_exit(PATIENCE)?;
    }
    Ok(json!({
        "consumers": consumers,
        "requests": requests,
        "per_second": requests as f64 / elapsed,
        "median_ms": median(&mut times),
    }))
}

fn bench_poll(
    p: &Platform,
    fake: &FakeKlaviyo,
    runner: &std::path::Path,
    mode: &str,
    records: usize,
) -> Result<Value, String> {
    let cfg = json!({"apiKey": fake.api_key(), "revision": REVISION,
        "objectType": "profiles", "pollConfig": "updated", "emitBehavior": mode});

    // The runner alone.
    let started = Instant::now();
    let mut child = std::process::Command::new(runner)
        .args(["process", POLLING])
        .env("KLAVIYO_BASE_URL", fake.base_url())
        .env("KLAVIYO_POLL_LAG_SECONDS", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("the runner: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(json!({"cfg": cfg}).to_string().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let alone_secs = started.elapsed().as_secs_f64();
    let messages = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(r#"{"event":"data""#))
        .count();

    // Through sailor.
    let step = p.add_step(&format!("poll_{mode}"), POLLING, cfg)?;
    let mut sailor = p.spawn_sailor(&step, "bench-poll", &[])?;
    let started = Instant::now();
    p.broker
        .publish_input(&step.queues, &p.cipher, &json!({"body": {}}))?;
    let got = p
        .broker
        .read(&step.queues.data(), messages, PATIENCE, || sailor.alive())?;
    let sailor_secs = started.elapsed().as_secs_f64();
    let mut seen = 0usize;
    for m in &got {
        let body = m.decrypt(&p.cipher)?;
        seen += body["body"]["results"].as_array().map_or(1, Vec::len);
    }
    if seen != records {
        return Err(format!(
            "{mode}: {seen} records through sailor, expected {records}"
        ));
    }
    sailor.terminate();
    sailor.wait_exit(PATIENCE)?;
    Ok(json!({
        "mode": mode,
        "records": records,
        "messages": messages,
        "sailor_per_second": records as f64 / sailor_secs,
        "alone_per_second": records as f64 / alone_secs,
    }))
}
