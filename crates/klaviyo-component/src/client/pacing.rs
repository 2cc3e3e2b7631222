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

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Below this many remaining requests, the pacer starts spacing requests.
const SPREAD_BELOW: u64 = 10;

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

    /// An answer came: remember what it said about the window.
    pub fn observe(&mut self, headers: &HeaderMap, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
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

    /// Klaviyo answered 429 with `Retry-After`: every request waits for it.
    pub fn hold(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }

    /// A request ended without an answer.
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
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
        p.observe(&headers(remaining, reset), now);
        p
    }

    #[test]
    fn no_headers_no_delay() {
        let now = Instant::now();
        let mut p = Pacer::default();
        assert_eq!(p.reserve(now), Duration::ZERO);
        p.observe(&HeaderMap::new(), now);
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
        p.observe(&headers("12", "30"), now);
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
}
