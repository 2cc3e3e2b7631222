//! The kill test: a large poll of profiles, with small Klaviyo pages and
//! records changing while it runs, killed with SIGKILL at random moments;
//! each rerun starts from the last snapshot line the killed run wrote (as
//! the platform does). At the end:
//!
//! - every record's current version was emitted, and every emitted version
//!   is one that existed (nothing invented, nothing lost);
//! - a version is emitted again only if every earlier emission of it came
//!   after the last snapshot line of its run (nothing covered by a snapshot
//!   repeats).
//!
//! Settings (environment variables; the defaults are the short setting CI
//! runs in a few seconds):
//!
//! | variable | default | |
//! |---|---|---|
//! | `KILL_TEST_SEED` | from the clock | replays a run: the seed is printed |
//! | `KILL_TEST_RECORDS` | 2000 | generated profiles (plus 230 in two crowded seconds) |
//! | `KILL_TEST_KILLS` | 20 | runs killed before the final ones |
//!
//! The long setting, e.g. `KILL_TEST_RECORDS=50000 KILL_TEST_KILLS=200
//! cargo test -p runner --test e2e kill -- --nocapture`, is described in
//! docs/reliability.md.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaviyo_fake::{FakeConfig, FakeKlaviyo, Hook};
use serde_json::{Value, json};

use crate::stand_in::*;
use crate::support::{Bin, Run, command};

/// A small, seedable generator (SplitMix64), so a failing run can be
/// replayed from its printed seed whatever the `rand` version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
        Err(_) => default,
    }
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Right after this many stdout lines were read.
    AfterLines(u64),
    /// This long after the start.
    AfterMillis(u64),
}

/// What one run left behind.
struct Outcome {
    /// Complete stdout lines, in order.
    lines: Vec<String>,
    /// Bytes after the last newline (a line cut by the kill), if any.
    partial: usize,
    killed: bool,
    code: Option<i32>,
    stderr: String,
    /// From the start to the last complete line.
    until_last_line: Duration,
}

/// Run the trigger, reading stdout lines as they come, and SIGKILL it at
/// `moment` unless it ends first.
fn run_until(env: &BTreeMap<String, String>, stdin: Vec<u8>, moment: Option<Moment>) -> Outcome {
    let mut child = command(Bin::Klaviyo, &["process", POLLING], env)
        .spawn()
        .expect("the runner starts");
    let started = Instant::now();
    let mut input = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let (tx, rx) = mpsc::channel::<Result<String, usize>>();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let out_reader = std::thread::spawn(move || {
        loop {
            let mut line = Vec::new();
            match out.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with(b"\n") => {
                    line.pop();
                    let text = String::from_utf8(line).expect("stdout is UTF-8");
                    if tx.send(Ok(text)).is_err() {
                        break;
                    }
                }
                Ok(n) => {
                    let _ = tx.send(Err(n));
                    break;
                }
            }
        }
    });
    let limit = Duration::from_secs(120);
    let mut lines = Vec::new();
    let mut partial = 0;
    let mut killed = false;
    let mut until_last_line = Duration::ZERO;
    let kill = |child: &mut std::process::Child, killed: &mut bool| {
        // `kill` sends SIGKILL on Unix.
        if child.kill().is_ok() {
            *killed = true;
        }
    };
    if let Some(Moment::AfterLines(0)) = moment {
        kill(&mut child, &mut killed);
    }
    loop {
        let wait = match moment {
            Some(Moment::AfterMillis(ms)) if !killed => {
                let due = Duration::from_millis(ms);
                due.saturating_sub(started.elapsed())
            }
            _ => limit.saturating_sub(started.elapsed()),
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(line)) => {
                lines.push(line);
                until_last_line = started.elapsed();
                if let Some(Moment::AfterLines(n)) = moment
                    && !killed
                    && lines.len() as u64 >= n
                {
                    kill(&mut child, &mut killed);
                }
            }
            Ok(Err(n)) => partial = n,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if started.elapsed() >= limit {
                    let _ = child.kill();
                    panic!("the runner did not finish within {limit:?}: it hangs");
                }
                kill(&mut child, &mut killed);
            }
        }
    }
    let status = child.wait().expect("the runner ends");
    let _ = writer.join();
    let _ = out_reader.join();
    let stderr = err_reader.join().expect("stderr reader");
    // A kill that came after the process had already ended changed nothing.
    let killed = killed && status.code().is_none();
    Outcome {
        lines,
        partial,
        killed,
        code: status.code(),
        stderr,
        until_last_line,
    }
}

/// Every version emitted so far, and those that may not be emitted again.
#[derive(Default)]
struct Ledger {
    emitted: BTreeSet<Version>,
    /// Versions emitted before the last snapshot of their run.
    committed: BTreeSet<Version>,
    repeats: usize,
}

impl Ledger {
    /// Take in one run's lines; returns its last snapshot.
    #[track_caller]
    fn absorb(&mut self, run: u64, lines: &[Line]) -> Option<Value> {
        let delivered = Delivered::of(lines);
        let versions = delivered.unique();
        for v in &versions {
            assert!(
                !self.committed.contains(v),
                "run {run} emitted {v:?} again, although an earlier run's snapshot covered it"
            );
            if self.emitted.contains(v) {
                self.repeats += 1;
            }
        }
        self.emitted.extend(versions.iter().cloned());
        let tail: BTreeSet<&Version> = delivered.after_last_snapshot.iter().collect();
        self.committed
            .extend(delivered.all.iter().filter(|v| !tail.contains(v)).cloned());
        delivered.last_snapshot
    }
}

/// Changes made by hooks while runs read: the versions they replaced.
#[derive(Clone)]
struct Changes {
    enabled: Arc<AtomicBool>,
    replaced: Arc<Mutex<BTreeSet<Version>>>,
    last: Arc<Mutex<Option<Instant>>>,
}

impl Changes {
    /// After the `after`-th answered page, touch `ids` and insert `new`
    /// profiles.
    fn hook(&self, after: usize, ids: Vec<String>, new: usize) -> Hook {
        let changes = self.clone();
        Hook::new("/profiles", after, move |store| {
            if !changes.enabled.load(Ordering::SeqCst) {
                return;
            }
            for id in &ids {
                if let Ok(Some(record)) = store.get("/profiles", id) {
                    changes
                        .replaced
                        .lock()
                        .expect("replaced")
                        .extend(versions_in(&record, "updated"));
                }
                store.touch("/profiles", id).expect("touched");
            }
            for n in 0..new {
                store
                    .insert(
                        "/profiles",
                        json!({"attributes": {"email": format!("late{after}-{n}-{}@example.com", ids.len())}}),
                    )
                    .expect("inserted");
            }
            *changes.last.lock().expect("last") = Some(Instant::now());
        })
    }
}

/// The runs of one flow: its snapshot and what it emitted.
struct Session {
    env: BTreeMap<String, String>,
    fields: Value,
    ledger: Ledger,
    snapshot: Value,
    runs: u64,
    killed: u64,
    partial_lines: u64,
    /// Lines read and the time it took, over all runs.
    pace: (u64, Duration),
}

impl Session {
    /// How long a run takes per stdout line, as seen so far.
    fn millis_per_line(&self) -> f64 {
        match self.pace {
            (lines, took) if lines >= 10 => took.as_secs_f64() * 1000.0 / lines as f64,
            _ => 0.5,
        }
    }

    /// One run from the current snapshot, killed at `moment`; its exit code.
    fn run(&mut self, moment: Option<Moment>) -> Option<i32> {
        self.runs += 1;
        let runs = self.runs;
        let out = run_until(&self.env, poll_stdin(&self.fields, &self.snapshot), moment);
        Run {
            code: out.code,
            stdout: out.lines.join("\n"),
            stderr: out.stderr.clone(),
            elapsed: Duration::ZERO,
        }
        .assert_no_secret(&[API_KEY]);
        for line in &out.lines {
            assert!(
                !line.starts_with("{\"event\":\"snapshot\"") || line.len() < 5 * 1024,
                "run {runs}: a snapshot of {} bytes (the platform keeps 5 KB)",
                line.len()
            );
        }
        let lines = parse_lines(out.lines.iter().map(String::as_str), "updated");
        if !out.killed {
            match out.code {
                Some(0) => assert_eq!(lines.last(), Some(&Line::End), "run {runs} ends with end"),
                Some(1) => {
                    // Records kept changing under a crowded second: the next
                    // run reads it again.
                    let error = lines.iter().find_map(|l| match l {
                        Line::Error(e) => Some(e.clone()),
                        _ => None,
                    });
                    assert!(
                        error.as_ref().is_some_and(|e| e["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("kept changing"))),
                        "run {runs} failed: {error:?}\n{}",
                        out.stderr
                    );
                }
                other => panic!("run {runs} exited {other:?}\n{}", out.stderr),
            }
        }
        self.killed += u64::from(out.killed);
        self.pace.0 += out.lines.len() as u64;
        self.pace.1 += out.until_last_line;
        self.partial_lines += u64::from(out.partial > 0);
        if let Some(last) = self.ledger.absorb(runs, &lines) {
            self.snapshot = last;
        }
        out.code
    }
}

#[test]
#[allow(clippy::print_stderr)] // the seed must reach the test log to replay a failure
fn a_poll_killed_at_random_moments_loses_and_repeats_nothing() {
    let seed = std::env::var("KILL_TEST_SEED")
        .ok()
        .map(|s| s.trim().parse::<u64>().expect("KILL_TEST_SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let records = setting("KILL_TEST_RECORDS", 2_000);
    let kills = setting("KILL_TEST_KILLS", 20);
    let mut rng = Rng(seed);
    let page_cap = rng.range(15, 40) as usize;
    let fields = if rng.range(0, 1) == 0 {
        json!({"objectType": "profiles", "pollConfig": "updated"})
    } else {
        json!({"objectType": "profiles", "pollConfig": "updated",
               "emitBehavior": "emitPage", "pageSize": rng.range(1, 100).to_string()})
    };
    // Reads in flight: from one page at a time to many slices at once, so
    // kills land in the middle of concurrent backfills.
    let in_flight = rng.range(1, 12);
    eprintln!(
        "kill test: KILL_TEST_SEED={seed} KILL_TEST_RECORDS={records} KILL_TEST_KILLS={kills} \
         (pages of {page_cap}, {in_flight} read(s) in flight, {fields})"
    );

    let fake = FakeKlaviyo::start(FakeConfig {
        api_key: API_KEY.to_owned(),
        ..FakeConfig::empty()
            .seed(seed)
            .size("profiles", records as usize)
    })
    .expect("the stand-in starts");
    // Two crowded seconds: more records share them than fit on a page (the
    // trigger follows Klaviyo's cursor), one more than a snapshot holds.
    clustered_profiles(&fake, &[(7_200, 60), (3_600, 170)]);
    fake.set_page_cap(Some(page_cap));
    let changes = Changes {
        enabled: Arc::new(AtomicBool::new(true)),
        replaced: Arc::new(Mutex::new(BTreeSet::new())),
        last: Arc::new(Mutex::new(None)),
    };
    let mut existed = stand_in_profiles(&fake);
    // What a full run writes: a line per record (or per page of them) and
    // a snapshot per Klaviyo page.
    let per_line = fields["pageSize"]
        .as_str()
        .map_or(1, |s| s.parse::<u64>().expect("page size"));
    let expected_lines = existed.len() as u64 / per_line + existed.len() as u64 / page_cap as u64;
    let mut env = env_for(&fake);
    env.insert("KLAVIYO_MAX_IN_FLIGHT".into(), in_flight.to_string());
    let mut session = Session {
        env,
        fields,
        ledger: Ledger::default(),
        snapshot: json!({}),
        runs: 0,
        killed: 0,
        partial_lines: 0,
        pace: (0, Duration::ZERO),
    };
    while session.killed < kills {
        // Changes while this run reads: touch some records, add some.
        let ids = fake.ids("profiles");
        for _ in 0..rng.range(1, 3) {
            let after = rng.range(1, 30) as usize;
            let touched = (0..rng.range(1, 6))
                .map(|_| rng.pick(&ids).clone())
                .collect();
            fake.on_request(changes.hook(after, touched, rng.range(0, 2) as usize));
        }
        // Kills spread over the backfill: a killed run gets through at most
        // 1/kills of the lines a full run writes (half that on average), so
        // the last kill still finds work to interrupt.
        let budget = (expected_lines / kills).max(2);
        let moment = if rng.range(0, 1) == 0 {
            Moment::AfterLines(rng.range(0, budget))
        } else {
            let ms = session.millis_per_line() * budget as f64 / 2.0;
            Moment::AfterMillis(rng.range(0, ms as u64 + 3))
        };
        session.run(Some(moment));
        assert!(
            session.runs <= kills * 10 + 10,
            "{} runs and only {} kills: the runs end too soon to be killed",
            session.runs,
            session.killed
        );
    }

    // No more changes; wait until the last one is older than the lag, then
    // run to the end until a run finds nothing new.
    changes.enabled.store(false, Ordering::SeqCst);
    let last_change = *changes.last.lock().expect("last");
    if let Some(at) = last_change {
        let visible = at + Duration::from_millis(2_100);
        std::thread::sleep(visible.saturating_duration_since(Instant::now()));
    }
    let mut quiet = false;
    for _ in 0..6 {
        let before = session.ledger.emitted.len();
        let code = session.run(None);
        assert_eq!(code, Some(0), "a final run fails");
        if session.ledger.emitted.len() == before {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "the final runs keep finding new records");

    let current = stand_in_profiles(&fake);
    existed.extend(changes.replaced.lock().expect("replaced").iter().cloned());
    existed.extend(current.iter().cloned());
    let ledger = &session.ledger;
    let missing: Vec<&Version> = current.difference(&ledger.emitted).collect();
    assert!(
        missing.is_empty(),
        "{} current versions were never emitted (seed {seed}), e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let invented: Vec<&Version> = ledger.emitted.difference(&existed).collect();
    assert!(
        invented.is_empty(),
        "{} emitted versions never existed (seed {seed}), e.g. {:?}",
        invented.len(),
        &invented[..invented.len().min(5)]
    );
    let emitted_ids: BTreeSet<&String> = ledger.emitted.iter().map(|(id, _)| id).collect();
    let current_ids: BTreeSet<&String> = current.iter().map(|(id, _)| id).collect();
    assert_eq!(emitted_ids, current_ids, "every record, and only those");
    eprintln!(
        "kill test: seed {seed}: {} runs, {} killed, {} versions of {} records emitted, \
         {} repeated after a kill, {} lines cut by a kill",
        session.runs,
        session.killed,
        ledger.emitted.len(),
        current.len(),
        ledger.repeats,
        session.partial_lines
    );
}
