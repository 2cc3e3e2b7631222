//! The platform row: raw requests and a first poll through RabbitMQ and
//! the real sailor (tools/sailor-harness `bench`), beside the runner alone;
//! Emit individually with profiles of about 3 KB at sailor's default and a
//! raised data rate limit; one message in and one out with 1 KB replies.
//! Sailor's own throttle (100 data messages a second per step by default)
//! is part of what this measures.

use std::process::Command;

use serde_json::Value;

use super::{Bench, Ctx, Section, thousands};

pub(super) fn run(ctx: &Ctx, smoke: bool) -> Result<Vec<Section>, String> {
    let harness = ctx.runner.with_file_name("sailor-harness");
    let mut cmd = Command::new(&harness);
    cmd.current_dir(&ctx.root)
        .arg("bench")
        .arg("--runner")
        .arg(&ctx.runner);
    if smoke {
        cmd.arg("--smoke");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", harness.display()))?;
    if !out.status.success() {
        return Err(format!(
            "sailor-harness bench failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let result: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("sailor-harness bench: not JSON: {e}"))?;
    let mut raw = Section::new(
        Bench::Platform,
        "Through sailor: raw requests (one runner per message)",
        &[
            "consumers",
            "requests",
            "messages / s",
            "median per message (sailor start→end)",
        ],
    );
    let mut poll = Section::new(
        Bench::Platform,
        "Through sailor: a first poll of profiles",
        &[
            "emit mode",
            "records",
            "data messages",
            "records / s through sailor",
            "records / s runner alone",
        ],
    );
    let mut individual = Section::new(
        Bench::Platform,
        "Through sailor: Emit individually with profiles of about 3 KB",
        &[
            "ELASTICIO_DATA_RATE_LIMIT",
            "records",
            "bytes / record",
            "records / s through sailor",
            "share of sailor's limit",
            "records / s runner alone",
        ],
    );
    let mut one = Section::new(
        Bench::Platform,
        "Through sailor: one message in, one out (1 KB replies, 1 consumer)",
        &[
            "requests",
            "bytes / reply",
            "messages / s",
            "median per message (sailor start→end)",
            "messages / s runner alone",
        ],
    );
    if let Some(why) = result["skipped"].as_str() {
        raw.skipped("raw requests", why);
        poll.skipped("first poll", why);
        individual.skipped("emit individually", why);
        one.skipped("one in, one out", why);
        return Ok(vec![raw, poll, individual, one]);
    }
    for r in result["individual"].as_array().into_iter().flatten() {
        let limit = r["limit_per_second"].as_f64().unwrap_or_default();
        individual.row(vec![
            format!("{} per 100 ms ({}/s)", limit / 10.0, thousands(limit)),
            r["records"].to_string(),
            thousands(r["record_bytes"].as_f64().unwrap_or_default()),
            thousands(r["sailor_per_second"].as_f64().unwrap_or_default()),
            format!(
                "{:.1}%",
                100.0 * r["share_of_limit"].as_f64().unwrap_or_default()
            ),
            thousands(r["alone_per_second"].as_f64().unwrap_or_default()),
        ]);
    }
    for r in result["one_in_one_out"].as_array().into_iter().flatten() {
        one.row(vec![
            r["requests"].to_string(),
            thousands(r["reply_bytes"].as_f64().unwrap_or_default()),
            thousands(r["per_second"].as_f64().unwrap_or_default()),
            format!("{} ms", r["median_ms"].as_f64().unwrap_or_default()),
            thousands(r["alone_per_second"].as_f64().unwrap_or_default()),
        ]);
    }
    individual.notes.push(
        "Up to 32 data emits (4 MiB of lines) unconfirmed at once, handed to sailor one at a time; \
         sailor's AMQP sockets with TCP_NODELAY (platform/elasticio/amqp-nodelay.js)."
            .to_owned(),
    );
    one.notes
        .push("The runner alone is run once per message, one after another.".to_owned());
    for r in result["raw"].as_array().into_iter().flatten() {
        raw.row(vec![
            r["consumers"].to_string(),
            r["requests"].to_string(),
            thousands(r["per_second"].as_f64().unwrap_or_default()),
            format!("{} ms", r["median_ms"].as_f64().unwrap_or_default()),
        ]);
    }
    for r in result["poll"].as_array().into_iter().flatten() {
        poll.row(vec![
            r["mode"].as_str().unwrap_or_default().to_owned(),
            r["records"].to_string(),
            r["messages"].to_string(),
            thousands(r["sailor_per_second"].as_f64().unwrap_or_default()),
            thousands(r["alone_per_second"].as_f64().unwrap_or_default()),
        ]);
    }
    raw.notes.push(
        "Each message starts klaviyo-runner once; sailor throttles data to 100 messages/s per consumer by default."
            .to_owned(),
    );
    Ok(vec![raw, poll, individual, one])
}
