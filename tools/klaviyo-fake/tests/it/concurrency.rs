//! Requests in flight at the same time: each waits its own latency, and
//! the rate limiter admits exactly its limit however they interleave.
//!
//! The requests are written on separate connections before any answer is
//! read, so that they are in flight together whatever the test thread's
//! scheduling; the proofs count (the request log's instants, statuses),
//! they do not time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo, Latency, RateLimitRule};

use crate::{Api, REV};

/// An answer read off a raw connection.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Opens one connection per request, writes every request, then reads
/// every answer.
fn send_together(fake: &FakeKlaviyo, path: &str, n: usize) -> Vec<Raw> {
    let addr: SocketAddr = fake.addr();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Klaviyo-API-Key {}\r\nrevision: {REV}\r\nConnection: close\r\n\r\n",
        fake.api_key()
    );
    let mut streams: Vec<TcpStream> = (0..n)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s
        })
        .collect();
    for s in &mut streams {
        s.write_all(request.as_bytes()).unwrap();
    }
    streams
        .into_iter()
        .map(|mut s| {
            let mut bytes = Vec::new();
            s.read_to_end(&mut bytes).unwrap();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let head = text.split("\r\n\r\n").next().unwrap_or_default();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            Raw { status, headers }
        })
        .collect()
}

#[test]
fn requests_in_flight_together_wait_one_latency_each_not_in_turn() {
    let latency = Duration::from_millis(800);
    let api = Api::new(FakeConfig::default().with_latency(latency));
    let answers = send_together(&api.fake, "/api/lists", 8);
    assert!(answers.iter().all(|a| a.status == 200));
    let log = api.fake.requests();
    assert_eq!(log.len(), 8);
    for r in &log {
        assert_eq!(r.latency, latency);
        let answered = r.answered.expect("answered");
        assert!(answered.duration_since(r.received) >= latency);
    }
    // Had each request waited for the one before (a sleep under the lock,
    // one request at a time), the first answer would have gone out before
    // the later requests were even received.
    let last_received = log.iter().map(|r| r.received).max().unwrap();
    let first_answered = log.iter().filter_map(|r| r.answered).min().unwrap();
    assert!(
        last_received < first_answered,
        "an answer went out {:?} before the last of 8 requests was received: latencies did not overlap",
        last_received.duration_since(first_answered)
    );
}

#[test]
fn a_latency_range_draws_each_request_within_it_the_same_way_per_seed() {
    let range = Latency::between(Duration::from_millis(20), Duration::from_millis(80));
    let drawn = |seed| {
        let api = Api::new(FakeConfig::default().seed(seed).with_latency(range));
        for _ in 0..10 {
            assert_eq!(api.get("/lists").status, 200);
        }
        let log = api.fake.requests();
        for r in &log {
            assert!(
                (range.min..=range.max).contains(&r.latency),
                "{:?}",
                r.latency
            );
            let answered = r.answered.expect("answered");
            assert!(answered.duration_since(r.received) >= r.latency);
        }
        log.iter().map(|r| r.latency).collect::<Vec<_>>()
    };
    let first = drawn(5);
    assert!(
        first.windows(2).any(|w| w[0] != w[1]),
        "drawn, not fixed: {first:?}"
    );
    assert_eq!(drawn(5), first, "the same seed draws the same latencies");
    // Setting it on a running stand-in works the same way.
    let api = Api::small();
    api.fake.set_latency(range);
    api.get("/lists");
    api.fake.set_latency(Duration::ZERO);
    api.get("/lists");
    let log = api.fake.requests();
    assert!((range.min..=range.max).contains(&log[0].latency));
    assert_eq!(log[1].latency, Duration::ZERO);
}

/// Remaining counts of the admitted answers, sorted.
fn remaining(answers: &[Raw]) -> Vec<u32> {
    let mut v: Vec<u32> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| a.header("ratelimit-remaining").unwrap().parse().unwrap())
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn of_concurrent_requests_exactly_the_burst_limit_gets_through() {
    // With latency, so that admitted requests are still in flight when the
    // others arrive: the limiter counts at arrival, not at answer.
    let api = Api::new(
        FakeConfig {
            rate_limit: Some(RateLimitRule {
                burst_per_second: 5,
                steady_per_minute: 1000,
            }),
            ..FakeConfig::default()
        }
        .with_latency(Duration::from_millis(300)),
    );
    let answers = send_together(&api.fake, "/api/lists", 20);
    let ok: Vec<&Raw> = answers.iter().filter(|a| a.status == 200).collect();
    let throttled: Vec<&Raw> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!((ok.len(), throttled.len()), (5, 15));
    for a in &throttled {
        assert_eq!(a.header("retry-after"), Some("1"));
        assert_eq!(a.header("ratelimit-limit"), None, "no RateLimit-* on a 429");
        assert_eq!(a.header("ratelimit-remaining"), None);
    }
    for a in &ok {
        assert_eq!(a.header("ratelimit-limit"), Some("5, 5;w=1, 1000;w=60"));
        assert_eq!(a.header("ratelimit-reset"), Some("1"));
    }
    // Each admitted request saw the window one fuller than the one before.
    assert_eq!(remaining(&answers), [0, 1, 2, 3, 4]);
    let logged: Vec<u16> = api.fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(logged.iter().filter(|s| **s == 200).count(), 5);
}

#[test]
fn of_concurrent_requests_exactly_the_steady_limit_gets_through() {
    let api = Api::new(FakeConfig {
        rate_limit: Some(RateLimitRule {
            burst_per_second: 100,
            steady_per_minute: 7,
        }),
        ..FakeConfig::default()
    });
    let answers = send_together(&api.fake, "/api/lists", 20);
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 7);
    assert_eq!(answers.iter().filter(|a| a.status == 429).count(), 13);
    for a in answers.iter().filter(|a| a.status == 429) {
        let wait: u64 = a.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    for a in answers.iter().filter(|a| a.status == 200) {
        assert_eq!(a.header("ratelimit-limit"), Some("7, 100;w=1, 7;w=60"));
        let reset: u64 = a.header("ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
    }
    assert_eq!(remaining(&answers), [0, 1, 2, 3, 4, 5, 6]);
    // The 13 refused requests consumed nothing, and nothing more gets in
    // this minute.
    let again = send_together(&api.fake, "/api/lists", 3);
    assert!(again.iter().all(|a| a.status == 429));
}
