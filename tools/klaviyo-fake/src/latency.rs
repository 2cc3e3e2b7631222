//! Added latency: how long the stand-in waits before answering a request,
//! fixed or drawn per request from a range (real Klaviyo answers list
//! requests in roughly 0.3–0.8 s).
//!
//! Each request waits on its own, after the shared state's lock is
//! released, so N requests in flight at once all finish after about one
//! latency, not N.

use std::time::Duration;

/// A fixed latency, or a range each request's latency is drawn from
/// (uniformly, from a hash of the seed and the request's number, so that a
/// seed gives the same sequence of latencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    pub const ZERO: Latency = Latency {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    pub fn fixed(d: Duration) -> Latency {
        Latency { min: d, max: d }
    }

    /// Between `a` and `b` inclusive, in either order.
    pub fn between(a: Duration, b: Duration) -> Latency {
        Latency {
            min: a.min(b),
            max: a.max(b),
        }
    }

    /// The CLI's form, in milliseconds: `500` (fixed) or `100-300` (range).
    pub fn parse_ms(s: &str) -> Option<Latency> {
        let ms = |t: &str| t.trim().parse::<u64>().ok().map(Duration::from_millis);
        match s.split_once('-') {
            Some((a, b)) => Some(Latency::between(ms(a)?, ms(b)?)),
            None => ms(s).map(Latency::fixed),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.max.is_zero()
    }

    /// The latency of the request whose hash is `h`.
    pub(crate) fn draw(&self, h: u64) -> Duration {
        let span = self.max.saturating_sub(self.min).as_micros();
        if span == 0 {
            return self.min;
        }
        let offset = u128::from(h) % (span + 1);
        self.min + Duration::from_micros(u64::try_from(offset).unwrap_or(u64::MAX))
    }
}

impl From<Duration> for Latency {
    fn from(d: Duration) -> Latency {
        Latency::fixed(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_and_ranges() {
        let ms = Duration::from_millis;
        assert_eq!(Latency::parse_ms("500"), Some(Latency::fixed(ms(500))));
        assert_eq!(
            Latency::parse_ms("100-300"),
            Some(Latency::between(ms(100), ms(300)))
        );
        assert_eq!(
            Latency::parse_ms(" 300 - 100 "),
            Some(Latency::between(ms(100), ms(300)))
        );
        for bad in ["", "-", "1-", "a", "1-2-3", "-5", "1.5"] {
            assert_eq!(Latency::parse_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn draws_stay_in_the_range_and_spread() {
        let ms = Duration::from_millis;
        let l = Latency::between(ms(100), ms(300));
        let draws: Vec<Duration> = (0..1000u64)
            .map(|i| l.draw(crate::data::seed::mix(i)))
            .collect();
        assert!(draws.iter().all(|d| (ms(100)..=ms(300)).contains(d)));
        assert!(draws.iter().any(|d| *d < ms(150)));
        assert!(draws.iter().any(|d| *d > ms(250)));
        assert_eq!(Latency::fixed(ms(7)).draw(12345), ms(7));
        assert_eq!(Latency::ZERO.draw(u64::MAX), Duration::ZERO);
    }
}
