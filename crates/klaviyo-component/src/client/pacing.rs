//! Slowing down before Klaviyo says "too many requests", for every request
//! in flight at once.
//!
//! Klaviyo reports a rate-limit window on every successful answer:
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds
//! until the window resets). A long backfill that ignores them spends its
//! minute's allowance in the first seconds and then collects 429s; this
//! spreads what remains over what is left of the window instead. Several
//! readers share one pacer: each request reserves its moment to go, so
//! requests spread out instead of all waiting the same delay and leaving
//! together, and a `Retry-After` that one of them got holds back all.
//!
//! The pacer also says how many requests in flight the steady limit can
//! use ([`Pacer::useful_in_flight`]): more only wait for their turn, and a
//! read that waits holds back the one the output needs next.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Below this many remaining requests, the pacer starts spacing requests.
const SPREAD_BELOW: u64 = 10;

/// How much the latency of the last answers counts against the earlier
/// ones'.
const LATENCY_WEIGHT: f64 = 0.2;

/// Requests in flight beyond what the steady limit and the latency call
/// for, as a margin for latency that varies.
const IN_FLIGHT_MARGIN: f64 = 1.25;

/// The window's state as last reported, and the requests since.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pacer {
    remaining: Option<u64>,
    resets_at: Option<Instant>,
    /// The moment the next spread-out request may go.
    next_slot: Option<Instant>,
    /// Requests sent whose answers have not come: the remaining an answer
    /// reports may not count them yet.
    in_flight: u64,
    /// No request before this: Klaviyo said `Retry-After`.
    held_until: Option<Instant>,
    /// The steady limit, per second, from `RateLimit-Limit`.
    steady_per_sec: Option<f64>,
    /// How long answers take, on average.
    latency: Option<Duration>,
}

impl Pacer {
    /// Reserve the next request: how long to wait before sending it. None
    /// while plenty remain; below that, the time left shared between the
    /// requests left (keeping one in hand), one after the other; with none
    /// left, until the window resets; never before a `Retry-After` ends.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.in_flight += 1;
        let mut at = self.held_until.map_or(now, |held| held.max(now));
        if let (Some(remaining), Some(resets_at)) = (self.remaining, self.resets_at) {
            if resets_at <= at {
                // A new window whose allowance no answer has told yet.
                self.remaining = None;
                self.next_slot = None;
            } else if remaining == 0 {
                at = resets_at;
            } else {
                if remaining < SPREAD_BELOW {
                    // After the slot reserved last: what is left of the
                    // window, shared.
                    let base = self.next_slot.map_or(at, |slot| slot.max(at));
                    at = if base >= resets_at {
                        resets_at
                    } else {
                        base + (resets_at - base) / (remaining as u32 + 1)
                    };
                    self.next_slot = Some(at);
                }
                self.remaining = Some(remaining - 1);
            }
        }
        at.saturating_duration_since(now)
    }

    /// An answer came: remember what it said about the window, and, for a
    /// successful one, how long it `took` (a refusal comes back faster than
    /// work would).
    pub fn observe(&mut self, headers: &HeaderMap, now: Instant, took: Option<Duration>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(took) = took {
            self.latency = Some(match self.latency {
                Some(average) => {
                    average.mul_f64(1.0 - LATENCY_WEIGHT) + took.mul_f64(LATENCY_WEIGHT)
                }
                None => took,
            });
        }
        if let Some(rate) = headers
            .get("ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(steady_per_sec)
        {
            self.steady_per_sec = Some(rate);
        }
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number("ratelimit-remaining"), number("ratelimit-reset"))
        {
            self.remaining = Some(remaining.saturating_sub(self.in_flight));
            // The reset is given in whole seconds, rounded down: the window
            // may last up to a second longer than it says.
            let resets_at = now + Duration::from_secs(reset + 1);
            if self.resets_at != Some(resets_at) {
                self.next_slot = None;
            }
            self.resets_at = Some(resets_at);
        }
    }

    /// How many requests in flight keep up with the steady limit at the
    /// latency seen so far (with a margin, and one for the request the
    /// output waits for): the limit Klaviyo announced, or else the one
    /// `documented` per second; `None` until an answer came.
    pub fn useful_in_flight(&self, documented: Option<f64>) -> Option<usize> {
        let (rate, latency) = (self.steady_per_sec.or(documented)?, self.latency?);
        let busy = (rate * latency.as_secs_f64() * IN_FLIGHT_MARGIN).ceil();
        Some((busy as usize).saturating_add(1))
    }

    /// Klaviyo answered 429 with `Retry-After`: every request waits for it.
    pub fn hold(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }

    /// A request ended without an answer.
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// The steady limit per second in a `RateLimit-Limit` value: of the
/// policies of the IETF draft form (`10, 10;w=1, 150;w=60`) the one with
/// the longest window; a bare number is Klaviyo's steady window, a minute.
fn steady_per_sec(value: &str) -> Option<f64> {
    let mut steady: Option<(u64, u64)> = None;
    for item in value.split(',').skip(1) {
        let mut parts = item.split(';');
        let Some(Ok(limit)) = parts.next().map(|n| n.trim().parse::<u64>()) else {
            continue;
        };
        let window = parts.find_map(|p| p.trim().strip_prefix("w=")?.parse::<u64>().ok());
        if let Some(window) = window.filter(|w| *w > 0)
            && steady.is_none_or(|(_, w)| window > w)
        {
            steady = Some((limit, window));
        }
    }
    match steady {
        Some((limit, window)) => Some(limit as f64 / window as f64),
        None => {
            let limit: u64 = value.split(',').next()?.trim().parse().ok()?;
            Some(limit as f64 / 60.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(remaining: &str, reset: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("RateLimit-Limit", HeaderValue::from_static("120"));
        h.insert(
            "RateLimit-Remaining",
            HeaderValue::from_str(remaining).expect("ascii"),
        );
        h.insert(
            "RateLimit-Reset",
            HeaderValue::from_str(reset).expect("ascii"),
        );
        h
    }

    /// A pacer that last heard `remaining` and `reset`, nothing in flight.
    fn told(remaining: &str, reset: &str, now: Instant) -> Pacer {
        let mut p = Pacer::default();
        p.reserve(now);
        p.observe(
            &headers(remaining, reset),
            now,
            Some(Duration::from_millis(100)),
        );
        p
    }

    #[test]
    fn no_headers_no_delay() {
        let now = Instant::now();
        let mut p = Pacer::default();
        assert_eq!(p.reserve(now), Duration::ZERO);
        p.observe(&HeaderMap::new(), now, Some(Duration::from_millis(100)));
        assert_eq!(p.reserve(now), Duration::ZERO);
    }

    #[test]
    fn plenty_left_no_delay() {
        let now = Instant::now();
        let mut p = told("50", "30", now);
        assert_eq!(p.reserve(now), Duration::ZERO);
    }

    #[test]
    fn the_last_few_are_spread_over_the_window_one_after_the_other() {
        let now = Instant::now();
        let mut p = told("4", "29", now);
        // 30 s for 4 requests, one kept in hand: one every 6 s, in turn,
        // however many ask at once.
        assert_eq!(p.reserve(now), Duration::from_secs(6));
        assert_eq!(p.reserve(now), Duration::from_millis(6000 + 6000));
        assert_eq!(p.reserve(now), Duration::from_millis(12000 + 6000));
    }

    #[test]
    fn none_left_waits_for_the_reset() {
        let now = Instant::now();
        let mut p = told("0", "12", now);
        assert_eq!(p.reserve(now), Duration::from_secs(13));
        assert_eq!(p.reserve(now + Duration::from_secs(13)), Duration::ZERO);
    }

    #[test]
    fn a_burst_window_about_to_reset_is_still_paced() {
        // Klaviyo may report whichever window is closer to running out: the
        // one-second burst window, whose reset then reads 0.
        let now = Instant::now();
        let mut p = told("0", "0", now);
        assert_eq!(p.reserve(now), Duration::from_secs(1));
        let mut p = told("9", "0", now);
        assert_eq!(p.reserve(now), Duration::from_millis(100), "ten a second");
    }

    #[test]
    fn answers_do_not_count_the_requests_still_in_flight() {
        let now = Instant::now();
        let mut p = Pacer::default();
        for _ in 0..5 {
            p.reserve(now);
        }
        // The first answer says 12 remain; the four others in flight will
        // take theirs: 8 are left to spend.
        p.observe(&headers("12", "30"), now, Some(Duration::from_millis(100)));
        assert_eq!(p.remaining, Some(8));
    }

    #[test]
    fn a_retry_after_holds_every_request_back() {
        let now = Instant::now();
        let mut p = Pacer::default();
        p.hold(now + Duration::from_secs(3));
        assert_eq!(p.reserve(now), Duration::from_secs(3));
        assert_eq!(
            p.reserve(now + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(p.reserve(now + Duration::from_secs(4)), Duration::ZERO);
    }

    #[test]
    fn garbage_headers_are_ignored() {
        let now = Instant::now();
        let mut p = told("lots", "30", now);
        assert_eq!(p.reserve(now), Duration::ZERO);
    }

    #[test]
    fn the_steady_limit_is_read_in_either_form() {
        assert_eq!(steady_per_sec("10, 10;w=1, 150;w=60"), Some(2.5));
        assert_eq!(steady_per_sec("700"), Some(700.0 / 60.0));
        assert_eq!(steady_per_sec("lots"), None);
    }

    #[test]
    fn requests_in_flight_the_steady_limit_can_use() {
        let now = Instant::now();
        let mut p = Pacer::default();
        assert_eq!(p.useful_in_flight(Some(5.0)), None, "nothing known yet");
        // A server that announces no limit: the documented one, here 10 a
        // second at 0.5 s.
        p.reserve(now);
        p.observe(&HeaderMap::new(), now, Some(Duration::from_millis(500)));
        assert_eq!(p.useful_in_flight(None), None, "no limit known");
        assert_eq!(p.useful_in_flight(Some(10.0)), Some(8));
        let mut p = Pacer::default();
        let mut h = headers("100", "30");
        h.insert(
            "RateLimit-Limit",
            HeaderValue::from_static("35, 35;w=1, 350;w=60"),
        );
        p.reserve(now);
        p.observe(&h, now, Some(Duration::from_millis(500)));
        // 350 a minute is 5.8 a second; at 0.5 s each, 2.9 busy, 3.6 with
        // the margin, and one for the head.
        assert_eq!(p.useful_in_flight(Some(100.0)), Some(5), "announced first");
        // Faster answers: fewer needed; the average moves a fifth of the way.
        p.reserve(now);
        p.observe(&h, now, Some(Duration::from_millis(10)));
        assert_eq!(p.useful_in_flight(None), Some(4), "0.402 s on average");
    }
}
