//! When to try a request again. A pure function of what happened, pinned by
//! a table test, so the policy can be read in one place.

use std::time::Duration;

/// Whether repeating a request can do harm. [`Repeatability::of`] tells it
/// from the method; a caller that knows better declares it
/// (`Client::send_as`): a POST that Klaviyo applies once however often it
/// arrives is `Idempotent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeatability {
    /// GET, HEAD, OPTIONS: no effect on the server.
    Safe,
    /// PUT, DELETE, and the POSTs declared so: the same effect however
    /// often it is applied (a create-or-update matched by identifiers, an
    /// event with a `unique_id`, list membership, subscription jobs).
    Idempotent,
    /// POST, PATCH: each one may act again (create a second record, apply
    /// an update over a later one).
    Unsafe,
}

impl Repeatability {
    /// What the method alone says.
    pub fn of(method: &reqwest::Method) -> Repeatability {
        match *method {
            reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS => {
                Repeatability::Safe
            }
            reqwest::Method::PUT | reqwest::Method::DELETE => Repeatability::Idempotent,
            _ => Repeatability::Unsafe,
        }
    }
}

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttemptEnd {
    /// An HTTP answer; `retry_after` from its `Retry-After` header.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// The connection was never established: the server saw nothing.
    NotConnected,
    /// No complete answer within the time limit; the server may have acted.
    TimedOut,
    /// The connection broke after the request was sent (reset, truncated
    /// body); the server may have acted.
    ConnectionLost,
}

impl AttemptEnd {
    /// Whether the request reached Klaviyo and no answer from it came back:
    /// a timeout, a connection broken after sending, or a gateway saying
    /// Klaviyo did not answer in time (504, Cloudflare's 524). Klaviyo may
    /// have acted on it. The one place that says so: [`decide`] repeats such
    /// a request only when repeating is harmless, and the caller learns that
    /// an earlier attempt ended so (`Response::unanswered_before`), since a
    /// retry's answer then speaks of the state that attempt left (a DELETE's
    /// 404: already deleted).
    pub(super) fn unanswered(self) -> bool {
        match self {
            AttemptEnd::TimedOut | AttemptEnd::ConnectionLost => true,
            AttemptEnd::Status { code, .. } => matches!(code, 504 | 524),
            AttemptEnd::NotConnected => false,
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Use this outcome as the result.
    Stop,
    /// Wait this long, then try again.
    Retry(Duration),
}

/// The limits of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff delay; doubled for each further retry.
    pub base_delay: Duration,
    /// No backoff delay is longer than this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this fails the request rather than stall
    /// the run.
    pub max_retry_after: Duration,
}

/// Statuses that say "the server had a problem, try again": Klaviyo's 5xx
/// and Cloudflare's 524 (origin timeout).
const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504, 524];

/// Decide after attempt number `attempt` (1 for the first) of a request with
/// this `repeatability`. `jitter` is a random number in `[0, 1)` that spreads
/// retries of many clients apart.
pub(super) fn decide(
    policy: &Policy,
    attempt: u32,
    repeatability: Repeatability,
    outcome: AttemptEnd,
    jitter: f64,
) -> Decision {
    if attempt > policy.retries {
        return Decision::Stop;
    }
    let backoff = || backoff(policy, attempt, jitter);
    let may_repeat = repeatability != Repeatability::Unsafe;
    match outcome {
        // 429: the server did not act on the request, whatever its method.
        AttemptEnd::Status {
            code: 429,
            retry_after,
        } => match retry_after {
            Some(wait) if wait > policy.max_retry_after => Decision::Stop,
            // Klaviyo says when; an immediate retry "will always receive a
            // 429", so never less than a moment.
            Some(wait) => Decision::Retry(wait.max(Duration::from_millis(100))),
            None => Decision::Retry(backoff()),
        },
        AttemptEnd::Status { code, .. } if TRANSIENT_STATUSES.contains(&code) && may_repeat => {
            Decision::Retry(backoff())
        }
        AttemptEnd::Status { .. } => Decision::Stop,
        AttemptEnd::NotConnected => Decision::Retry(backoff()),
        AttemptEnd::TimedOut | AttemptEnd::ConnectionLost if may_repeat => {
            Decision::Retry(backoff())
        }
        // Sent and unanswered (`AttemptEnd::unanswered`): Klaviyo may have
        // acted, so a write that may act twice stands.
        AttemptEnd::TimedOut | AttemptEnd::ConnectionLost => Decision::Stop,
    }
}

/// Exponential backoff with "equal jitter": half the delay is fixed, half is
/// random, so retries spread out but never come back too soon.
fn backoff(policy: &Policy, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let full = policy
        .base_delay
        .saturating_mul(1u32 << exponent)
        .min(policy.max_delay);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        retries: 3,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        max_retry_after: Duration::from_secs(120),
    };

    fn status(code: u16) -> AttemptEnd {
        AttemptEnd::Status {
            code,
            retry_after: None,
        }
    }

    fn after(code: u16, secs: u64) -> AttemptEnd {
        AttemptEnd::Status {
            code,
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    #[test]
    fn the_policy_table() {
        use Decision::{Retry, Stop};
        use Repeatability::{Idempotent, Safe, Unsafe};
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        // (attempt, repeatability, outcome, jitter, decision)
        let table: &[(u32, Repeatability, AttemptEnd, f64, Decision)] = &[
            // success and client errors are final
            (1, Safe, status(200), 0.0, Stop),
            (1, Safe, status(204), 0.0, Stop),
            (1, Safe, status(400), 0.0, Stop),
            (1, Safe, status(401), 0.0, Stop),
            (1, Safe, status(403), 0.0, Stop),
            (1, Safe, status(404), 0.0, Stop),
            (1, Unsafe, status(409), 0.0, Stop),
            // 429 honours Retry-After, for every method
            (1, Safe, after(429, 7), 0.9, Retry(s(7))),
            (1, Unsafe, after(429, 2), 0.0, Retry(s(2))),
            (1, Idempotent, after(429, 0), 0.0, Retry(ms(100))),
            (1, Safe, after(429, 121), 0.0, Stop),
            // 429 without Retry-After backs off
            (1, Unsafe, status(429), 0.0, Retry(ms(500))),
            (2, Safe, status(429), 1.0, Retry(s(2))),
            // transient 5xx: retried unless repeating could act twice
            (1, Safe, status(500), 0.0, Retry(ms(500))),
            (1, Safe, status(502), 1.0, Retry(s(1))),
            (2, Safe, status(503), 0.0, Retry(s(1))),
            (3, Idempotent, status(504), 0.0, Retry(s(2))),
            (1, Safe, status(524), 0.0, Retry(ms(500))),
            (1, Unsafe, status(500), 0.0, Stop),
            (1, Unsafe, status(503), 0.0, Stop),
            // other 5xx are not transient
            (1, Safe, status(501), 0.0, Stop),
            (1, Safe, status(505), 0.0, Stop),
            // no connection: the server saw nothing, so even POST retries
            (1, Unsafe, AttemptEnd::NotConnected, 0.0, Retry(ms(500))),
            (1, Safe, AttemptEnd::NotConnected, 0.0, Retry(ms(500))),
            // timeouts and broken connections: the server may have acted
            (1, Safe, AttemptEnd::TimedOut, 0.0, Retry(ms(500))),
            (
                1,
                Idempotent,
                AttemptEnd::ConnectionLost,
                0.0,
                Retry(ms(500)),
            ),
            (1, Unsafe, AttemptEnd::TimedOut, 0.0, Stop),
            (1, Unsafe, AttemptEnd::ConnectionLost, 0.0, Stop),
            // a POST its caller declares idempotent (an upsert through
            // /profile-import, an event with a unique_id, list membership, a
            // subscription job) is retried like a PUT…
            (1, Idempotent, status(500), 0.0, Retry(ms(500))),
            (2, Idempotent, status(503), 1.0, Retry(s(2))),
            (1, Idempotent, AttemptEnd::TimedOut, 0.0, Retry(ms(500))),
            (1, Idempotent, after(429, 3), 0.0, Retry(s(3))),
            (1, Idempotent, status(409), 0.0, Stop),
            // …while one that creates or updates (POST /lists, PATCH) stops
            // once Klaviyo may have acted, and retries only when it cannot
            // have
            (1, Unsafe, status(502), 0.0, Stop),
            (1, Unsafe, status(524), 0.0, Stop),
            (1, Unsafe, after(429, 1), 0.0, Retry(s(1))),
            (2, Unsafe, AttemptEnd::NotConnected, 1.0, Retry(s(2))),
            // the budget: three retries, then the outcome stands
            (3, Safe, status(500), 0.0, Retry(s(2))),
            (4, Safe, status(500), 0.0, Stop),
            (4, Unsafe, after(429, 1), 0.0, Stop),
            (4, Safe, AttemptEnd::NotConnected, 0.0, Stop),
        ];
        for (attempt, repeatability, outcome, jitter, want) in table {
            assert_eq!(
                decide(&POLICY, *attempt, *repeatability, *outcome, *jitter),
                *want,
                "attempt {attempt}, {repeatability:?}, {outcome:?}"
            );
        }
    }

    #[test]
    fn unanswered_is_sent_without_an_answer_from_klaviyo() {
        let table = [
            (AttemptEnd::TimedOut, true),
            (AttemptEnd::ConnectionLost, true),
            (status(504), true),
            (status(524), true),
            (AttemptEnd::NotConnected, false),
            (status(500), false),
            (status(503), false),
            (status(429), false),
            (status(404), false),
            (status(204), false),
        ];
        for (outcome, want) in table {
            assert_eq!(outcome.unanswered(), want, "{outcome:?}");
        }
        // Every unanswered outcome is one after which Klaviyo may have
        // acted: an unsafe write is never repeated after it.
        for (outcome, unanswered) in table {
            if unanswered {
                assert_eq!(
                    decide(&POLICY, 1, Repeatability::Unsafe, outcome, 0.0),
                    Decision::Stop,
                    "{outcome:?}"
                );
            }
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = Policy {
            retries: 20,
            ..POLICY
        };
        let delays: Vec<u64> = (1..=8)
            .map(
                |a| match decide(&policy, a, Repeatability::Safe, status(503), 1.0) {
                    Decision::Retry(d) => d.as_secs(),
                    Decision::Stop => 0,
                },
            )
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn zero_retries_never_retry() {
        let policy = Policy {
            retries: 0,
            ..POLICY
        };
        assert_eq!(
            decide(&policy, 1, Repeatability::Safe, status(503), 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn methods() {
        use reqwest::Method;
        assert_eq!(Repeatability::of(&Method::GET), Repeatability::Safe);
        assert_eq!(Repeatability::of(&Method::PUT), Repeatability::Idempotent);
        assert_eq!(
            Repeatability::of(&Method::DELETE),
            Repeatability::Idempotent
        );
        assert_eq!(Repeatability::of(&Method::POST), Repeatability::Unsafe);
        assert_eq!(Repeatability::of(&Method::PATCH), Repeatability::Unsafe);
    }
}
