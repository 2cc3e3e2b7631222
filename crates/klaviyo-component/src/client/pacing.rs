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
//! Where `RateLimit-Limit` also names its windows (`6, 6;w=1, 360;w=60`),
//! the pacer keeps to each by the requests it sent itself: never more than
//! a window's limit in any stretch of that window's length. That is what
//! paces a one-second burst window, whose report is stale by the time it
//! arrives (an answer that took 0.5 s describes a window half gone) and
//! says "1 s to reset" for anything up to a second: spreading what such a
//! report says is left over what it says is left of the window ran a
//! 6-a-second limit at 2 a second.
//!
//! The pacer also says how many requests in flight the steady limit can
//! use ([`Pacer::useful_in_flight`]): more only wait for their turn, and a
//! read that waits holds back the one the output needs next.

use std::collections::VecDeque;
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

/// At most this many requests' worth of the limit busy at once (rate ×
/// latency × margin), one request at a time keeps up with it: it could
/// serve twice the limit.
pub(crate) const ONE_KEEPS_UP: f64 = 0.5;

/// Requests the pacer remembers at least, whatever the windows: more than
/// the largest window Klaviyo documents (3,500 a minute).
const LOGGED: usize = 4096;

/// How much longer than a named window the pacer counts its own requests
/// over: Klaviyo counts a request when it arrives, and arrivals do not
/// keep the spacing of the sends exactly (a new connection's handshake,
/// the scheduler). 50 ms and 2% of the window: 1.07 s for a burst window,
/// 61.25 s for a minute.
fn counted_over(window: Duration) -> Duration {
    window.mul_f64(1.02) + Duration::from_millis(50)
}

/// A window `RateLimit-Limit` names: at most `limit` requests in any
/// `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Policy {
    limit: usize,
    window: Duration,
}

/// The window's state as last reported, and the requests since.
#[derive(Debug, Default, Clone)]
pub(super) struct Pacer {
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
    /// The windows `RateLimit-Limit` named last.
    policies: Vec<Policy>,
    /// When each request was reserved to go, oldest first, as far back as
    /// the longest named window.
    sent: VecDeque<Instant>,
}

impl Pacer {
    /// Reserve the next request: how long to wait before sending it. None
    /// while plenty remain; below that, the time left shared between the
    /// requests left (keeping one in hand), one after the other; with none
    /// left, until the window resets; never before a `Retry-After` ends.
    pub(super) fn reserve(&mut self, now: Instant) -> Duration {
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
        let at = self.keep_to_the_windows(at);
        at.saturating_duration_since(now)
    }

    /// The first moment from `at` at which one more request stays within
    /// every named window, counting the requests reserved before; that
    /// moment is reserved. Requests go in the order they asked, so the log
    /// stays sorted and one look per window is enough.
    fn keep_to_the_windows(&mut self, mut at: Instant) -> Instant {
        if let Some(&last) = self.sent.back() {
            at = at.max(last);
        }
        for policy in &self.policies {
            if policy.limit > 0 && self.sent.len() >= policy.limit {
                let oldest_counted = self.sent[self.sent.len() - policy.limit];
                at = at.max(oldest_counted + counted_over(policy.window));
            }
        }
        // Before any answer named the windows, the requests sent still
        // count once one does: kept for a minute, Klaviyo's steady window.
        let longest = self
            .policies
            .iter()
            .map(|p| counted_over(p.window))
            .max()
            .unwrap_or(counted_over(Duration::from_secs(60)));
        let most = self.policies.iter().map(|p| p.limit).max().unwrap_or(0);
        while self.sent.front().is_some_and(|&t| {
            at.saturating_duration_since(t) >= longest || self.sent.len() > most.max(LOGGED)
        }) {
            self.sent.pop_front();
        }
        self.sent.push_back(at);
        at
    }

    /// An answer came: remember what it said about the window, and, for a
    /// successful one, how long it `took` (a refusal comes back faster than
    /// work would).
    pub(super) fn observe(&mut self, headers: &HeaderMap, now: Instant, took: Option<Duration>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(took) = took {
            self.latency = Some(match self.latency {
                Some(average) => {
                    average.mul_f64(1.0 - LATENCY_WEIGHT) + took.mul_f64(LATENCY_WEIGHT)
                }
                None => took,
            });
        }
        let announced = headers
            .get("ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(Announced::parse);
        if let Some(announced) = &announced {
            self.steady_per_sec = Some(announced.steady_per_sec());
            self.policies.clone_from(&announced.policies);
        }
        if announced
            .as_ref()
            .is_some_and(Announced::reports_a_shorter_window)
        {
            // A burst window's report: kept to by the requests sent
            // (above); its stale count would only hold back.
            return;
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
    /// `documented` per second; `None` until an answer came. One, where a
    /// request at a time could serve twice the limit (what the poller
    /// does between one answer and the next request, and latency that
    /// varies, take the rest): a second would only cut the window into
    /// pieces that each end in a partly empty page, for a limit that
    /// cannot serve them faster.
    pub(super) fn useful_in_flight(&self, documented: Option<f64>) -> Option<usize> {
        let (rate, latency) = (self.steady_per_sec.or(documented)?, self.latency?);
        let busy = rate * latency.as_secs_f64() * IN_FLIGHT_MARGIN;
        if busy <= ONE_KEEPS_UP {
            return Some(1);
        }
        Some((busy.ceil() as usize).saturating_add(1))
    }

    /// Klaviyo answered 429 with `Retry-After`: every request waits for it.
    pub(super) fn hold(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }

    /// A request ended without an answer.
    pub(super) fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// What a `RateLimit-Limit` value says: the limit of the window that
/// `RateLimit-Remaining` and `-Reset` describe, and, in the IETF draft form
/// (`10, 10;w=1, 150;w=60`), every window with its limit. A bare number is
/// Klaviyo's steady window, a minute.
#[derive(Debug, Clone, PartialEq)]
struct Announced {
    reported: u64,
    policies: Vec<Policy>,
}

impl Announced {
    fn parse(value: &str) -> Option<Announced> {
        let mut items = value.split(',');
        let reported = items.next()?.trim().parse().ok()?;
        let policies = items
            .filter_map(|item| {
                let mut parts = item.split(';');
                let limit = parts.next()?.trim().parse().ok()?;
                let window =
                    parts.find_map(|p| p.trim().strip_prefix("w=")?.parse::<u64>().ok())?;
                (window > 0).then(|| Policy {
                    limit,
                    window: Duration::from_secs(window),
                })
            })
            .collect();
        Some(Announced { reported, policies })
    }

    fn steady(&self) -> Option<&Policy> {
        self.policies.iter().max_by_key(|p| p.window)
    }

    /// The steady limit per second: that of the longest window.
    fn steady_per_sec(&self) -> f64 {
        match self.steady() {
            Some(p) => p.limit as f64 / p.window.as_secs_f64(),
            None => self.reported as f64 / 60.0,
        }
    }

    /// Whether the remaining and reset describe a window shorter than the
    /// steady one: the reported limit is that window's and not the
    /// steady window's (where both limits are the same, the steady one).
    fn reports_a_shorter_window(&self) -> bool {
        let Some(steady) = self.steady() else {
            return false;
        };
        self.reported as usize != steady.limit
            && self
                .policies
                .iter()
                .any(|p| p.limit == self.reported as usize && p.window < steady.window)
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
        let steady = |v: &str| Announced::parse(v).map(|a| a.steady_per_sec());
        assert_eq!(steady("10, 10;w=1, 150;w=60"), Some(2.5));
        assert_eq!(steady("700"), Some(700.0 / 60.0));
        assert_eq!(steady("lots"), None);
    }

    #[test]
    fn which_window_a_report_describes() {
        let shorter = |v: &str| Announced::parse(v).is_some_and(|a| a.reports_a_shorter_window());
        assert!(shorter("6, 6;w=1, 360;w=60"), "the burst window's");
        assert!(!shorter("360, 6;w=1, 360;w=60"), "the steady window's");
        assert!(!shorter("6, 6;w=1, 6;w=60"), "the same limit: steady");
        assert!(!shorter("700"), "a bare number is the steady window");
    }

    /// A pacer that heard the windows `6;w=1, 360;w=60` named, with the
    /// burst window `remaining`, after sending one request at `sent`.
    fn told_a_burst(remaining: &str, sent: Instant, answered: Instant) -> Pacer {
        let mut p = Pacer::default();
        p.reserve(sent);
        let mut h = headers(remaining, "1");
        h.insert(
            "RateLimit-Limit",
            HeaderValue::from_static("6, 6;w=1, 360;w=60"),
        );
        p.observe(&h, answered, Some(answered - sent));
        p
    }

    #[test]
    fn a_named_window_is_kept_by_the_requests_sent() {
        let t0 = Instant::now();
        let half = t0 + Duration::from_millis(500);
        let mut p = told_a_burst("5", t0, half);
        // Five more in the second of the first: at once.
        for n in 2..=6 {
            assert_eq!(p.reserve(half), Duration::ZERO, "request {n}");
        }
        // The seventh when the first leaves the window (counted over
        // 1.07 s); the eighth when the second does.
        assert_eq!(p.reserve(half), Duration::from_millis(570));
        assert_eq!(p.reserve(half), Duration::from_millis(1070));
        // Once the window has passed, at once again.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(p.reserve(later), Duration::ZERO);
    }

    #[test]
    fn a_burst_windows_report_does_not_hold_back() {
        // The report says none left and one second to go, but it is half
        // a second old and the pacer knows what it sent: one request.
        let t0 = Instant::now();
        let half = t0 + Duration::from_millis(500);
        let mut p = told_a_burst("0", t0, half);
        assert_eq!(p.reserve(half), Duration::ZERO);
    }

    #[test]
    fn a_steady_windows_report_still_counts() {
        let now = Instant::now();
        let mut p = Pacer::default();
        p.reserve(now);
        let mut h = headers("0", "12");
        h.insert(
            "RateLimit-Limit",
            HeaderValue::from_static("360, 6;w=1, 360;w=60"),
        );
        p.observe(&h, now, Some(Duration::from_millis(100)));
        assert_eq!(p.reserve(now), Duration::from_secs(13));
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
        // Where one request at a time could serve twice the limit (5.8 a
        // second at 0.05 s each: 0.36 busy with the margin), one; at 0.1 s
        // (0.73) still two.
        for (ms, useful) in [(50, 1), (100, 2)] {
            let mut fast = Pacer::default();
            fast.reserve(now);
            fast.observe(&h, now, Some(Duration::from_millis(ms)));
            assert_eq!(fast.useful_in_flight(None), Some(useful), "{ms} ms");
        }
    }
}
