//! Serving speed on a large account: `cargo run --release -p klaviyo-fake
//! --example bench -- [PROFILES] [PAGES]`. Prints start-up time, resident
//! memory, and the rate of 100-profile pages (timestamp filter + sort,
//! following `links.next`) as seen by a client and as server CPU time.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use klaviyo_fake::{FakeConfig, FakeKlaviyo};

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds of the thread named `name` in this process.
fn thread_cpu(name: &str) -> f64 {
    for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = after.split_whitespace().collect();
            let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
            return ticks / 100.0;
        }
    }
    0.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let pages: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rss0 = rss_mib();
    let t = Instant::now();
    let fake = FakeKlaviyo::start(FakeConfig::default().size("profiles", n)).unwrap();
    println!(
        "start-up with {n} profiles: {:.2} s, resident memory +{:.0} MiB",
        t.elapsed().as_secs_f64(),
        rss_mib() - rss0
    );

    let client = reqwest::blocking::Client::new();
    let key = format!("Klaviyo-API-Key {}", fake.api_key());
    let get = |url: &str| {
        let r = client
            .get(url)
            .header("authorization", &key)
            .header("revision", "2024-10-15")
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let first = format!(
        "{}/profiles?filter=greater-than(updated,2020-01-01T00:00:00Z)&sort=updated&page%5Bsize%5D=100",
        fake.base_url()
    );
    // The first request builds the `updated` index.
    let t = Instant::now();
    get(&first);
    println!(
        "first page (builds the sort index): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let name = format!("kfake-{}", fake.addr().port());
    let cpu0 = thread_cpu(&name);
    let t = Instant::now();
    let mut url = first.clone();
    let mut served = 0usize;
    let mut bytes = 0usize;
    for _ in 0..pages {
        let body = get(&url);
        bytes += body.len();
        served += body.matches("\"type\":\"profile\"").count();
        match body
            .split_once("\"next\":\"")
            .and_then(|(_, r)| r.split_once('"'))
        {
            Some((next, _)) => url = next.to_owned(),
            None => url = first.clone(),
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = thread_cpu(&name) - cpu0;
    println!(
        "{pages} pages, {served} profiles, {:.1} MiB: {:.0} records/s end to end ({:.3} ms/page wall), server CPU {:.3} ms/page",
        bytes as f64 / 1048576.0,
        served as f64 / wall,
        wall * 1e3 / pages as f64,
        cpu * 1e3 / pages as f64
    );

    let ids = fake.ids("profiles");
    let t = Instant::now();
    for i in 0..50 {
        fake.update("profiles", &ids[(i * 7919) % n], |a| {
            a.insert("first_name".into(), "Bench".into());
        })
        .unwrap();
    }
    println!(
        "50 updates with the updated index built: {:.2} ms each",
        t.elapsed().as_secs_f64() * 1e3 / 50.0
    );
    // A deep page right after the updates (offset cursor taken from a link).
    let t = Instant::now();
    get(&url);
    println!(
        "one more page after the updates: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
}
