//! Klaviyo's rate limits: per endpoint, a burst window of one second and a
//! steady window of one minute, both fixed windows; exceeding either gives
//! 429 with `Retry-After` and no `RateLimit-*` headers.
//!
//! A window starts with the first request after the previous one ended (not
//! on clock boundaries), so tests that send N requests see exactly the same
//! answers however the wall clock falls.
//!
//! Exact under concurrency: the limiter is consulted under the stand-in's
//! one lock, at arrival, so of M requests arriving in one window exactly
//! the limit get through whatever their interleaving. Only admitted
//! requests count: a 429 consumes nothing, as in Django REST framework's
//! throttling (Klaviyo's stack, whose 429 wording Klaviyo's answers carry),
//! which records a request only when it lets it through. So a client that
//! trips the burst window still gets the whole steady window, and "the
//! share of the steady limit reached" measures the client alone.
//! Immediate retries still always get 429: the window stays full until it
//! ends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Requests allowed per endpoint in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitRule {
    pub burst_per_second: u32,
    /// Requests per steady window: a minute, as Klaviyo's, unless
    /// [`FakeConfig::steady_window`](crate::FakeConfig::steady_window) says
    /// otherwise.
    pub steady_per_minute: u32,
}

impl RateLimitRule {
    /// Parses `BURST/s,STEADY/m`, e.g. `3/s,60/m` (the CLI's form).
    pub fn parse(s: &str) -> Option<RateLimitRule> {
        let (b, m) = s.split_once(',')?;
        let burst = b.trim().strip_suffix("/s")?.trim().parse().ok()?;
        let steady = m.trim().strip_suffix("/m")?.trim().parse().ok()?;
        Some(RateLimitRule {
            burst_per_second: burst,
            steady_per_minute: steady,
        })
    }

    /// Parses `BURST/s,STEADY/m` or `BURST/s,STEADY/Ns` (a steady window of
    /// N seconds, e.g. `5/s,20/10s`): the rule and the steady window.
    pub fn parse_with_window(s: &str) -> Option<(RateLimitRule, Duration)> {
        if let Some(rule) = RateLimitRule::parse(s) {
            return Some((rule, MINUTE));
        }
        let (b, m) = s.split_once(',')?;
        let burst = b.trim().strip_suffix("/s")?.trim().parse().ok()?;
        let (steady, secs) = m.trim().strip_suffix('s')?.split_once('/')?;
        let secs: u64 = secs.trim().parse().ok().filter(|n| *n > 0)?;
        let rule = RateLimitRule {
            burst_per_second: burst,
            steady_per_minute: steady.trim().parse().ok()?,
        };
        Some((rule, Duration::from_secs(secs)))
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn roll(&mut self, now: Instant, len: Duration) {
        if now.duration_since(self.start) >= len {
            self.start = now;
            self.count = 0;
        }
    }
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed; these headers go on the response.
    Allowed(Vec<(&'static str, String)>),
    /// Throttled; retry after this many whole seconds.
    Throttled { retry_after: u64 },
}

/// Counters per endpoint key.
#[derive(Debug)]
pub(crate) struct Limiter {
    windows: HashMap<String, (Window, Window)>,
    /// The steady window's length: Klaviyo's is a minute.
    steady_window: Duration,
    /// Admitted answers carry no `RateLimit-*` headers: the limit is
    /// announced only by its 429s, as behind a proxy that strips them.
    quiet: bool,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(MINUTE, false)
    }
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

impl Limiter {
    /// A limiter whose steady window lasts `steady_window`, announcing
    /// its windows on admitted answers unless `quiet`.
    pub(crate) fn new(steady_window: Duration, quiet: bool) -> Limiter {
        Limiter {
            windows: HashMap::new(),
            steady_window: steady_window.max(SECOND),
            quiet,
        }
    }

    /// The same windows, all counts cleared.
    pub(crate) fn cleared(&self) -> Limiter {
        Limiter::new(self.steady_window, self.quiet)
    }

    /// Counts one request to `endpoint` under `rule`.
    pub(crate) fn check(&mut self, endpoint: &str, rule: RateLimitRule, now: Instant) -> Verdict {
        let fresh = Window {
            start: now,
            count: 0,
        };
        let (burst, steady) = self
            .windows
            .entry(endpoint.to_owned())
            .or_insert((fresh, fresh));
        let steady_len = self.steady_window;
        burst.roll(now, SECOND);
        steady.roll(now, steady_len);
        let left = |w: &Window, len: Duration| len.saturating_sub(now.duration_since(w.start));
        if steady.count >= rule.steady_per_minute {
            return Verdict::Throttled {
                retry_after: ceil_secs(left(steady, steady_len)),
            };
        }
        if burst.count >= rule.burst_per_second {
            return Verdict::Throttled {
                retry_after: ceil_secs(left(burst, SECOND)),
            };
        }
        burst.count += 1;
        steady.count += 1;
        let burst_left = rule.burst_per_second - burst.count;
        let steady_left = rule.steady_per_minute - steady.count;
        // As Klaviyo (IETF draft form, e.g. `10, 10;w=1, 150;w=60`): the
        // effective limit first, then both policies; remaining and reset are
        // those of the window nearer to exhaustion. Reset is rounded up, as
        // Retry-After is: 0.4 s left is "1", never "0" while the window
        // still refuses.
        let (limit, remaining, reset) = if burst_left < steady_left {
            (
                rule.burst_per_second,
                burst_left,
                ceil_secs(left(burst, SECOND)),
            )
        } else {
            (
                rule.steady_per_minute,
                steady_left,
                ceil_secs(left(steady, steady_len)),
            )
        };
        if self.quiet {
            return Verdict::Allowed(Vec::new());
        }
        Verdict::Allowed(vec![
            (
                "ratelimit-limit",
                format!(
                    "{limit}, {};w=1, {};w={}",
                    rule.burst_per_second,
                    rule.steady_per_minute,
                    steady_len.as_secs()
                ),
            ),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset.to_string()),
        ])
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(l: &mut Limiter, rule: RateLimitRule, n: usize, at: Instant) -> (usize, usize) {
        let mut ok = 0;
        for _ in 0..n {
            if matches!(l.check("GET /events", rule, at), Verdict::Allowed(_)) {
                ok += 1;
            }
        }
        (ok, n - ok)
    }

    /// A client that trips the burst limit every second still gets the
    /// whole steady limit in the minute: throttled requests consume nothing.
    #[test]
    fn the_steady_window_admits_exactly_its_limit_whatever_the_429s() {
        let rule = RateLimitRule {
            burst_per_second: 5,
            steady_per_minute: 22,
        };
        let mut l = Limiter::default();
        let t0 = Instant::now();
        let mut admitted = 0;
        for s in 0..10u64 {
            let (ok, throttled) = statuses(&mut l, rule, 12, t0 + Duration::from_secs(s));
            assert!(ok <= 5, "second {s}: {ok} through a burst of 5");
            assert!(throttled >= 7);
            admitted += ok;
        }
        assert_eq!(admitted, 22, "exactly the steady limit in its window");
        // The next minute's window admits again.
        let (ok, _) = statuses(&mut l, rule, 12, t0 + Duration::from_secs(61));
        assert_eq!(ok, 5);
    }

    #[test]
    fn parse_rule() {
        assert_eq!(
            RateLimitRule::parse("3/s,60/m"),
            Some(RateLimitRule {
                burst_per_second: 3,
                steady_per_minute: 60
            })
        );
        assert_eq!(RateLimitRule::parse("3,60"), None);
        let ten = RateLimitRule::parse_with_window("5/s,20/10s").expect("a 10 s window");
        assert_eq!(ten.1, Duration::from_secs(10));
        assert_eq!(ten.0.steady_per_minute, 20);
        assert_eq!(
            RateLimitRule::parse_with_window("3/s,60/m").map(|r| r.1),
            Some(MINUTE)
        );
        assert_eq!(RateLimitRule::parse_with_window("5/s,20/0s"), None);
    }

    #[test]
    fn a_shorter_steady_window_and_a_quiet_limit() {
        let rule = RateLimitRule {
            burst_per_second: 5,
            steady_per_minute: 20,
        };
        let mut l = Limiter::new(Duration::from_secs(10), true);
        let t0 = Instant::now();
        let mut admitted = 0;
        for s in 0..10u64 {
            let at = t0 + Duration::from_secs(s);
            for _ in 0..6 {
                match l.check("GET /profiles", rule, at) {
                    Verdict::Allowed(headers) => {
                        assert!(headers.is_empty(), "announced only by 429s");
                        admitted += 1;
                    }
                    Verdict::Throttled { retry_after } => assert!(retry_after >= 1),
                }
            }
        }
        assert_eq!(admitted, 20, "20 in the 10 s window");
        let (ok, _) = statuses(&mut l, rule, 6, t0 + Duration::from_secs(10));
        assert_eq!(ok, 5, "a new window");
    }

    #[test]
    fn burst_then_steady() {
        let rule = RateLimitRule {
            burst_per_second: 2,
            steady_per_minute: 3,
        };
        let mut l = Limiter::default();
        let t0 = Instant::now();
        assert!(matches!(
            l.check("GET /profiles", rule, t0),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            l.check("GET /profiles", rule, t0),
            Verdict::Allowed(_)
        ));
        assert_eq!(
            l.check("GET /profiles", rule, t0),
            Verdict::Throttled { retry_after: 1 }
        );
        // Another endpoint has its own windows.
        assert!(matches!(
            l.check("GET /lists", rule, t0),
            Verdict::Allowed(_)
        ));
        // After a second the burst window is fresh; the steady one has one
        // request left (the 429 did not count), then is spent.
        let t1 = t0 + Duration::from_millis(1500);
        assert!(matches!(
            l.check("GET /profiles", rule, t1),
            Verdict::Allowed(_)
        ));
        match l.check("GET /profiles", rule, t1) {
            Verdict::Throttled { retry_after } => assert_eq!(retry_after, 59),
            v => panic!("{v:?}"),
        }
        let t2 = t0 + Duration::from_secs(61);
        match l.check("GET /profiles", rule, t2) {
            Verdict::Allowed(h) => {
                assert_eq!(h[0], ("ratelimit-limit", "2, 2;w=1, 3;w=60".to_owned()));
                assert_eq!(h[1], ("ratelimit-remaining", "1".to_owned()));
            }
            v => panic!("{v:?}"),
        }
    }
}
