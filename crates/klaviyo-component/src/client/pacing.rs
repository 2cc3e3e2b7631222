//! Slowing down before Klaviyo says "too many requests".
//!
//! Klaviyo reports the steady (per-minute) window on every successful answer:
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds
//! until the window resets). A long backfill that ignores them spends its
//! minute's allowance in the first seconds and then collects 429s; this
//! spreads what remains over what is left of the window instead.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Below this many remaining requests, the pacer starts spacing requests.
const SPREAD_BELOW: u64 = 10;

/// The window's state as last reported.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pacer {
    remaining: Option<u64>,
    resets_at: Option<Instant>,
}

impl Pacer {
    /// Remember what an answer said about the window.
    pub fn observe(&mut self, headers: &HeaderMap, now: Instant) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number("ratelimit-remaining"), number("ratelimit-reset"))
        {
            self.remaining = Some(remaining);
            // The reset is given in whole seconds, rounded down: the window
            // may last up to a second longer than it says.
            self.resets_at = Some(now + Duration::from_secs(reset + 1));
        }
    }

    /// How long to wait before the next request: none while plenty remain;
    /// below that, the time left shared between the requests left (keeping
    /// one in hand); with none left, until the window resets.
    pub fn delay(&self, now: Instant) -> Duration {
        let (Some(remaining), Some(resets_at)) = (self.remaining, self.resets_at) else {
            return Duration::ZERO;
        };
        if remaining >= SPREAD_BELOW {
            return Duration::ZERO;
        }
        resets_at.saturating_duration_since(now) / (remaining as u32 + 1)
    }

    /// The pacer after a request was sent: one fewer remaining.
    pub fn spend(&mut self) {
        if let Some(r) = self.remaining.as_mut() {
            *r = r.saturating_sub(1);
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

    #[test]
    fn no_headers_no_delay() {
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&HeaderMap::new(), now);
        assert_eq!(p.delay(now), Duration::ZERO);
    }

    #[test]
    fn plenty_left_no_delay() {
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&headers("50", "30"), now);
        assert_eq!(p.delay(now), Duration::ZERO);
    }

    #[test]
    fn the_last_few_are_spread_over_the_window() {
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&headers("4", "29"), now);
        assert_eq!(p.delay(now), Duration::from_secs(6));
        p.spend();
        assert_eq!(p.delay(now), Duration::from_millis(7500));
    }

    #[test]
    fn none_left_waits_for_the_reset() {
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&headers("0", "12"), now);
        assert_eq!(p.delay(now), Duration::from_secs(13));
        assert_eq!(p.delay(now + Duration::from_secs(13)), Duration::ZERO);
    }

    #[test]
    fn a_burst_window_about_to_reset_is_still_paced() {
        // Klaviyo may report whichever window is closer to running out: the
        // one-second burst window, whose reset then reads 0.
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&headers("0", "0"), now);
        assert_eq!(p.delay(now), Duration::from_secs(1));
        p.observe(&headers("9", "0"), now);
        assert_eq!(p.delay(now), Duration::from_millis(100), "ten a second");
    }

    #[test]
    fn garbage_headers_are_ignored() {
        let mut p = Pacer::default();
        let now = Instant::now();
        p.observe(&headers("lots", "30"), now);
        assert_eq!(p.delay(now), Duration::ZERO);
    }
}
