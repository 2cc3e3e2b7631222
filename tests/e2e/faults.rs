//! The fault matrix: every step of the component, through the real binary,
//! against every misbehaviour the stand-in can inject. One helper
//! ([`check`]), one row per (step, fault) in the table at the end.
//!
//! Each row ends in one of three ways, within a bounded time:
//! - **recovers**: the step succeeds after retries (and, for the trigger,
//!   emits every record exactly once);
//! - **rebounds** (actions only, when Klaviyo still throttles after the
//!   retries): one rebound event whose reason names the 429, the end line,
//!   exit 0, so the platform delivers the message again later;
//! - **fails**: one error event whose message is one line naming what
//!   happened, the end line, exit 1 (for verifyCredentials: `verified:
//!   false` with that reason). For the trigger, a later run from the failed
//!   run's last snapshot, once the fault has cleared, emits every record the
//!   failed run did not, and repeats only records the failed run emitted
//!   after its last snapshot.
//!
//! Every run is at `LOG_LEVEL=trace` and is checked for the API key on
//! stdout and stderr, and for incomplete lines.

use std::collections::BTreeSet;
use std::time::Duration;

use klaviyo_fake::{FakeKlaviyo, Fault, FaultRule};
use serde_json::{Value, json};

use crate::stand_in::*;
use crate::support::{Bin, Run, run};

/// The step under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The trigger, one message per record.
    PollEach,
    /// The trigger, pages of 7 records.
    PollPage,
    /// The raw request action, `GET /profiles?page[size]=5`.
    RawGet,
    /// The raw request action, `POST /profiles` (never repeated once
    /// Klaviyo may have acted on it).
    RawPost,
    /// `verifyCredentials` (`GET /lists`).
    Verify,
}

impl Step {
    fn polls(self) -> bool {
        matches!(self, Step::PollEach | Step::PollPage)
    }

    /// The path the step's requests go to, where the fault is armed.
    fn path(self) -> &'static str {
        match self {
            Step::Verify => "/lists",
            _ => "/profiles",
        }
    }
}

/// What the stand-in does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// Two 429s with `Retry-After: 1`.
    RetryAfterBurst,
    /// A 429 with `Retry-After: 3600`, beyond `API_MAX_RETRY_AFTER`.
    RetryAfterTooLong,
    /// Three 429s without `Retry-After`.
    ThrottledBurst,
    /// Two 503s.
    ServerErrorBurst,
    /// 503 on every attempt.
    ServerErrorForever,
    /// One answer slower than `API_REQUEST_TIMEOUT`.
    SlowBurst,
    /// Every answer slower than `API_REQUEST_TIMEOUT`.
    SlowForever,
    /// Two connections closed without an answer.
    DropBurst,
    /// Every connection closed without an answer.
    DropForever,
    /// A 200 whose body is cut in the middle of the JSON.
    MalformedJson,
    /// One Cloudflare 502 HTML page.
    HtmlBadGateway,
    /// Cloudflare's 403 HTML challenge page ("Just a moment...").
    HtmlChallenge,
    /// One body shorter than its `Content-Length`.
    Truncated,
    /// A 200 whose body never ends.
    EndlessBody,
    /// A 200 of 1 MB with `API_MAX_RESPONSE_BYTES` at 64 KiB.
    OversizedBody,
    /// One 400 "Invalid cursor provided." (for the trigger: on a page it
    /// reached by following a cursor).
    InvalidCursor,
    /// "Invalid cursor provided." on every page reached by a cursor.
    InvalidCursorForever,
}

/// The time limit of one attempt in these tests.
const TIMEOUT_MS: u64 = 800;
/// Answers "slower than the time limit" take this long.
const SLOW: Duration = Duration::from_millis(2_500);
const FOREVER: usize = 10_000;

impl Trouble {
    /// The rule that injects it into `step`'s requests. The trigger's
    /// faults start after two answered requests, when it has emitted
    /// records and saved progress.
    fn rule(self, step: Step) -> FaultRule {
        let skip = if step.polls() { 2 } else { 0 };
        let at = |fault: Fault| FaultRule::new(fault).path(step.path()).skip(skip);
        match self {
            Trouble::RetryAfterBurst => at(Fault::Status429 {
                retry_after: Some(1),
            })
            .times(2),
            Trouble::RetryAfterTooLong => at(Fault::Status429 {
                retry_after: Some(3600),
            }),
            Trouble::ThrottledBurst => at(Fault::Status429 { retry_after: None }).times(3),
            Trouble::ServerErrorBurst => at(Fault::Status(503)).times(2),
            Trouble::ServerErrorForever => at(Fault::Status(503)).times(FOREVER),
            Trouble::SlowBurst => at(Fault::Slow(SLOW)),
            Trouble::SlowForever => at(Fault::Slow(SLOW)).times(FOREVER),
            Trouble::DropBurst => at(Fault::Drop).times(2),
            Trouble::DropForever => at(Fault::Drop).times(FOREVER),
            Trouble::MalformedJson => at(Fault::MalformedJson),
            Trouble::HtmlBadGateway => at(Fault::Html(502)),
            Trouble::HtmlChallenge => at(Fault::Html(403)).times(FOREVER),
            Trouble::Truncated => at(Fault::Truncated),
            Trouble::EndlessBody => at(Fault::Endless).times(FOREVER),
            Trouble::OversizedBody => at(Fault::Oversized(1_000_000)).times(FOREVER),
            Trouble::InvalidCursor | Trouble::InvalidCursorForever => {
                let times = if self == Trouble::InvalidCursor {
                    1
                } else {
                    FOREVER
                };
                let rule = FaultRule::new(Fault::InvalidCursor)
                    .path(step.path())
                    .times(times);
                if step.polls() {
                    rule.with_cursor()
                } else {
                    rule
                }
            }
        }
    }

    /// The longest a run may take with this fault: what the fault costs
    /// by design, plus a margin for a loaded machine.
    fn time_limit(self) -> Duration {
        let attempts = 4; // API_RETRIES_COUNT=3
        let by_design = match self {
            Trouble::RetryAfterBurst => Duration::from_secs(2),
            Trouble::SlowBurst => Duration::from_millis(TIMEOUT_MS),
            Trouble::SlowForever | Trouble::EndlessBody => {
                Duration::from_millis(TIMEOUT_MS * attempts)
            }
            _ => Duration::ZERO,
        };
        by_design + Duration::from_secs(8)
    }
}

/// How a row must end.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Success after retries.
    Recovers,
    /// A clear failure: the error's `name`, what its one-line message must
    /// say (each entry: alternatives separated by `|`; `!text`: must not
    /// say it), and how many
    /// attempts the failing request got, when that is part of the policy.
    Fails {
        name: &'static str,
        says: &'static [&'static str],
        attempts: Option<usize>,
    },
    /// The message goes back to the platform for later: a rebound whose
    /// reason says this, after this many attempts.
    Rebounds {
        says: &'static [&'static str],
        attempts: usize,
    },
}

const fn fails(name: &'static str, says: &'static [&'static str]) -> Expect {
    Expect::Fails {
        name,
        says,
        attempts: None,
    }
}

const fn fails_after(name: &'static str, says: &'static [&'static str], attempts: usize) -> Expect {
    Expect::Fails {
        name,
        says,
        attempts: Some(attempts),
    }
}

/// Profiles, in clusters sharing a second: with pages capped at 10, the
/// cluster of 25 makes the trigger follow Klaviyo's cursor.
const CLUSTERS: &[(i64, usize)] = &[(5_000, 8), (4_000, 25), (3_000, 8), (2_000, 12), (1_000, 7)];

fn poll_fields(step: Step) -> Value {
    match step {
        Step::PollPage => json!({"objectType": "profiles", "pollConfig": "updated",
                                 "emitBehavior": "emitPage", "pageSize": "7"}),
        _ => json!({"objectType": "profiles", "pollConfig": "updated"}),
    }
}

fn env(fake: &FakeKlaviyo, trouble: Trouble) -> std::collections::BTreeMap<String, String> {
    let mut env = env_for(fake);
    env.insert("API_REQUEST_TIMEOUT".into(), TIMEOUT_MS.to_string());
    // One page at a time, so that the failing request and its attempts
    // are the ones the policy says; faults among reads in flight at once
    // are crates/klaviyo-component/tests/it/slices.rs's.
    env.insert("KLAVIYO_MAX_IN_FLIGHT".into(), "1".into());
    if trouble == Trouble::OversizedBody {
        env.insert("API_MAX_RESPONSE_BYTES".into(), "65536".into());
    }
    env
}

/// Run one row: `step` against `trouble`, expecting `expect`.
fn check(step: Step, trouble: Trouble, expect: Expect) {
    let fake = empty_stand_in();
    clustered_profiles(&fake, CLUSTERS);
    fake.set_page_cap(Some(10));
    let env = env(&fake, trouble);
    let profiles_before = fake.ids("profiles").len();
    fake.push_fault(trouble.rule(step));

    let out = match step {
        Step::PollEach | Step::PollPage => poll(&env, &poll_fields(step), &json!({})),
        Step::RawGet | Step::RawPost => {
            let body = if step == Step::RawGet {
                json!({"url": "/profiles?page[size]=5", "method": "GET"})
            } else {
                json!({"url": "/profiles", "method": "post", "data": {"data": {"type": "profile",
                       "attributes": {"email": "new.person@example.com"}}}})
            };
            let stdin = json!({"cfg": {"apiKey": API_KEY}, "msg": {"id": "m-1", "body": body}});
            run(
                Bin::Klaviyo,
                &["process", RAW_REQUEST],
                stdin.to_string().as_bytes(),
                &env,
                Duration::from_secs(90),
            )
            .checked()
        }
        Step::Verify => run(
            Bin::Klaviyo,
            &["verifyCredentials"],
            json!({"cfg": {"apiKey": API_KEY}}).to_string().as_bytes(),
            &env,
            Duration::from_secs(90),
        )
        .checked(),
    };
    let context = format!("{step:?} × {trouble:?}");
    assert!(
        out.elapsed <= trouble.time_limit(),
        "{context}: took {:?}, more than {:?}\n{}",
        out.elapsed,
        trouble.time_limit(),
        out.stderr
    );
    if trouble == Trouble::RetryAfterBurst {
        assert!(
            out.elapsed >= Duration::from_secs(2),
            "{context}: Retry-After was not honoured ({:?})",
            out.elapsed
        );
    }
    if let Expect::Fails {
        attempts: Some(n), ..
    }
    | Expect::Rebounds { attempts: n, .. } = expect
    {
        let skip = if step.polls() { 2 } else { 0 };
        let sent = requests_to(&fake, step.path());
        assert_eq!(
            sent.saturating_sub(skip),
            n,
            "{context}: attempts of the failing request"
        );
    }
    if step == Step::RawPost {
        let created = fake.ids("profiles").len() - profiles_before;
        assert!(
            created <= 1,
            "{context}: the POST was acted on {created} times"
        );
        if matches!(expect, Expect::Recovers) {
            assert_eq!(created, 1, "{context}: the profile was created");
        }
    }

    match step {
        Step::Verify => check_verification(&out, expect, &context),
        Step::RawGet | Step::RawPost => check_action(&out, step, trouble, expect, &context),
        Step::PollEach | Step::PollPage => {
            check_polling(&fake, &env, &out, poll_fields(step), expect, &context)
        }
    }
}

fn requests_to(fake: &FakeKlaviyo, path: &str) -> usize {
    let prefix = format!("/api{path}");
    fake.requests()
        .iter()
        .filter(|r| r.path_and_query.starts_with(&prefix))
        .count()
}

/// The error event of a failed `process` run, checked against `expect`.
#[track_caller]
fn assert_failure(out: &Run, name: &str, says: &[&str], context: &str) {
    assert_eq!(out.code, Some(1), "{context}: exit code\n{}", out.stdout);
    out.assert_event_stream();
    let errors = out.errors();
    assert_eq!(
        errors.len(),
        1,
        "{context}: one error event\n{}",
        out.stdout
    );
    let message = errors[0]["message"].as_str().expect("a message");
    assert_eq!(errors[0]["name"], name, "{context}: {message}");
    assert_says(message, says, context);
}

#[track_caller]
fn assert_says(message: &str, says: &[&str], context: &str) {
    assert!(
        !message.contains('\n') && !message.contains('\r'),
        "{context}: the message is one line: {message:?}"
    );
    for wanted in says {
        if let Some(unwanted) = wanted.strip_prefix('!') {
            assert!(
                !message.contains(unwanted),
                "{context}: the message must not say {unwanted:?}: {message}"
            );
            continue;
        }
        assert!(
            wanted.split('|').any(|w| message.contains(w)),
            "{context}: the message says {wanted:?}: {message}"
        );
    }
}

fn check_verification(out: &Run, expect: Expect, context: &str) {
    assert_eq!(out.code, Some(0), "{context}: verifyCredentials exits 0");
    let envelope = out.assert_envelope();
    assert_eq!(envelope["status"], "success", "{context}: {envelope}");
    match expect {
        Expect::Recovers => assert_eq!(
            envelope["data"],
            json!({"verified": true}),
            "{context}: verified after retries"
        ),
        Expect::Fails { says, .. } => {
            assert_eq!(envelope["data"]["verified"], false, "{context}: {envelope}");
            let reason = envelope["data"]["reason"].as_str().expect("a reason");
            assert_says(reason, says, context);
        }
        Expect::Rebounds { .. } => panic!("{context}: only actions rebound"),
    }
}

fn check_action(out: &Run, step: Step, trouble: Trouble, expect: Expect, context: &str) {
    match expect {
        Expect::Recovers => {
            assert_eq!(out.code, Some(0), "{context}\n{}", out.stdout);
            out.assert_event_stream();
            let lines = out.lines();
            assert_eq!(lines.len(), 2, "{context}: one message and the end");
            let body = &lines[0]["payload"]["body"];
            let want = if step == Step::RawPost { 201 } else { 200 };
            assert_eq!(body["statusCode"], want, "{context}: {body}");
            if trouble == Trouble::MalformedJson {
                assert!(
                    body["responseBody"].is_string(),
                    "{context}: a body that is not JSON is passed on as text: {body}"
                );
            } else {
                assert!(
                    body["responseBody"]["data"].is_object()
                        || body["responseBody"]["data"].is_array(),
                    "{context}: {body}"
                );
            }
        }
        Expect::Fails { name, says, .. } => assert_failure(out, name, says, context),
        Expect::Rebounds { says, .. } => {
            assert_eq!(out.code, Some(0), "{context}: exit code\n{}", out.stdout);
            out.assert_event_stream();
            let lines = out.lines();
            assert_eq!(lines.len(), 2, "{context}: one rebound and the end");
            assert_eq!(lines[0]["event"], "rebound", "{context}: {}", out.stdout);
            let reason = lines[0]["payload"]["reason"].as_str().expect("a reason");
            assert_says(reason, says, context);
        }
    }
}

fn check_polling(
    fake: &FakeKlaviyo,
    env: &std::collections::BTreeMap<String, String>,
    out: &Run,
    fields: Value,
    expect: Expect,
    context: &str,
) {
    let all = stand_in_profiles(fake);
    let first = Delivered::of(&parse_lines(out.stdout.lines(), "updated"));
    let emitted = first.unique();
    match expect {
        Expect::Recovers => {
            assert_eq!(out.code, Some(0), "{context}\n{}", out.stdout);
            out.assert_event_stream();
            assert!(out.errors().is_empty(), "{context}");
            assert_eq!(emitted, all, "{context}: every record, once");
            let snapshot = first.last_snapshot.clone().expect("a snapshot");
            let again = poll(env, &fields, &snapshot);
            assert_eq!(
                again.code,
                Some(0),
                "{context}: the next run\n{}",
                again.stdout
            );
            let again = Delivered::of(&parse_lines(again.stdout.lines(), "updated"));
            assert!(
                again.all.is_empty(),
                "{context}: nothing repeats: {:?}",
                again.all
            );
        }
        Expect::Fails { name, says, .. } => {
            assert_failure(out, name, says, context);
            assert!(
                !first.all.is_empty() && first.last_snapshot.is_some(),
                "{context}: the fault came in the middle of the run"
            );
            fake.clear_faults();
            let snapshot = first.last_snapshot.clone().unwrap_or_else(|| json!({}));
            let later = poll(env, &fields, &snapshot);
            assert_eq!(
                later.code,
                Some(0),
                "{context}: the later run\n{}",
                later.stdout
            );
            later.assert_event_stream();
            let later = Delivered::of(&parse_lines(later.stdout.lines(), "updated"));
            let recovered = later.unique();
            let union: BTreeSet<Version> = emitted.union(&recovered).cloned().collect();
            assert_eq!(union, all, "{context}: no record is lost");
            let allowed: BTreeSet<Version> = first.after_last_snapshot.iter().cloned().collect();
            for repeat in emitted.intersection(&recovered) {
                assert!(
                    allowed.contains(repeat),
                    "{context}: {repeat:?} was repeated although the failed run's last snapshot covered it"
                );
            }
        }
        Expect::Rebounds { .. } => panic!("{context}: only actions rebound"),
    }
}

/// One row per (step, fault): `name: Step, Trouble => expectation;`.
macro_rules! matrix {
    ($($(#[$meta:meta])* $name:ident: $step:ident, $trouble:ident => $expect:expr;)*) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                check(Step::$step, Trouble::$trouble, $expect);
            }
        )*
    };
}

const TRANSIENT: &str = "TransientError";
const UPSTREAM: &str = "UpstreamError";
const RECOVERS: Expect = Expect::Recovers;

const THROTTLED: &[&str] = &["429", "throttled"];
const UNAVAILABLE: &[&str] = &["503", "Service temporarily unavailable"];
const TOO_SLOW: &[&str] = &["did not answer", "in time", "4 attempts"];
const DROPPED: &[&str] = &["connection to Klaviyo broke", "4 attempts"];
const NOT_JSON: &[&str] = &["JSON"];
const CHALLENGE: &[&str] = &["403", "text/html", "Just a moment"];
/// A Cloudflare page says nothing about the key's scopes.
const CHALLENGE_TO_VERIFY: &[&str] = &["403", "text/html", "Just a moment", "!lacks the scope"];
const ENDLESS: &[&str] = &["did not answer in time|too large"];
const TOO_LARGE: &[&str] = &["too large", "65536 bytes", "API_MAX_RESPONSE_BYTES"];
const BAD_CURSOR: &[&str] = &["400", "Invalid cursor provided."];

matrix! {
    poll_each_429_burst_with_retry_after: PollEach, RetryAfterBurst => RECOVERS;
    poll_each_429_retry_after_too_long: PollEach, RetryAfterTooLong => fails_after(TRANSIENT, THROTTLED, 1);
    poll_each_429_burst_without_retry_after: PollEach, ThrottledBurst => RECOVERS;
    poll_each_5xx_burst: PollEach, ServerErrorBurst => RECOVERS;
    poll_each_5xx_forever: PollEach, ServerErrorForever => fails_after(TRANSIENT, UNAVAILABLE, 4);
    poll_each_slow_once: PollEach, SlowBurst => RECOVERS;
    poll_each_slow_forever: PollEach, SlowForever => fails_after(TRANSIENT, TOO_SLOW, 4);
    poll_each_dropped_twice: PollEach, DropBurst => RECOVERS;
    poll_each_dropped_forever: PollEach, DropForever => fails_after(TRANSIENT, DROPPED, 4);
    poll_each_malformed_json: PollEach, MalformedJson => fails_after(TRANSIENT, NOT_JSON, 1);
    poll_each_html_502_once: PollEach, HtmlBadGateway => RECOVERS;
    poll_each_html_challenge: PollEach, HtmlChallenge => fails_after(TRANSIENT, CHALLENGE, 1);
    poll_each_truncated_once: PollEach, Truncated => RECOVERS;
    poll_each_endless_body: PollEach, EndlessBody => fails(TRANSIENT, ENDLESS);
    poll_each_oversized_body: PollEach, OversizedBody => fails_after(TRANSIENT, TOO_LARGE, 1);
    poll_each_invalid_cursor_once: PollEach, InvalidCursor => RECOVERS;
    poll_each_invalid_cursor_forever: PollEach, InvalidCursorForever => fails(UPSTREAM, BAD_CURSOR);

    poll_page_429_burst_with_retry_after: PollPage, RetryAfterBurst => RECOVERS;
    poll_page_429_retry_after_too_long: PollPage, RetryAfterTooLong => fails_after(TRANSIENT, THROTTLED, 1);
    poll_page_429_burst_without_retry_after: PollPage, ThrottledBurst => RECOVERS;
    poll_page_5xx_burst: PollPage, ServerErrorBurst => RECOVERS;
    poll_page_5xx_forever: PollPage, ServerErrorForever => fails_after(TRANSIENT, UNAVAILABLE, 4);
    poll_page_slow_once: PollPage, SlowBurst => RECOVERS;
    poll_page_slow_forever: PollPage, SlowForever => fails_after(TRANSIENT, TOO_SLOW, 4);
    poll_page_dropped_twice: PollPage, DropBurst => RECOVERS;
    poll_page_dropped_forever: PollPage, DropForever => fails_after(TRANSIENT, DROPPED, 4);
    poll_page_malformed_json: PollPage, MalformedJson => fails_after(TRANSIENT, NOT_JSON, 1);
    poll_page_html_502_once: PollPage, HtmlBadGateway => RECOVERS;
    poll_page_html_challenge: PollPage, HtmlChallenge => fails_after(TRANSIENT, CHALLENGE, 1);
    poll_page_truncated_once: PollPage, Truncated => RECOVERS;
    poll_page_endless_body: PollPage, EndlessBody => fails(TRANSIENT, ENDLESS);
    poll_page_oversized_body: PollPage, OversizedBody => fails_after(TRANSIENT, TOO_LARGE, 1);
    poll_page_invalid_cursor_once: PollPage, InvalidCursor => RECOVERS;
    poll_page_invalid_cursor_forever: PollPage, InvalidCursorForever => fails(UPSTREAM, BAD_CURSOR);

    raw_get_429_burst_with_retry_after: RawGet, RetryAfterBurst => RECOVERS;
    raw_get_429_retry_after_too_long_rebounds: RawGet, RetryAfterTooLong => Expect::Rebounds { says: THROTTLED, attempts: 1 };
    raw_get_429_burst_without_retry_after: RawGet, ThrottledBurst => RECOVERS;
    raw_get_5xx_burst: RawGet, ServerErrorBurst => RECOVERS;
    raw_get_5xx_forever: RawGet, ServerErrorForever => fails_after(TRANSIENT, UNAVAILABLE, 4);
    raw_get_slow_once: RawGet, SlowBurst => RECOVERS;
    raw_get_slow_forever: RawGet, SlowForever => fails_after(TRANSIENT, TOO_SLOW, 4);
    raw_get_dropped_twice: RawGet, DropBurst => RECOVERS;
    raw_get_dropped_forever: RawGet, DropForever => fails_after(TRANSIENT, DROPPED, 4);
    raw_get_malformed_json_is_passed_on_as_text: RawGet, MalformedJson => RECOVERS;
    raw_get_html_502_once: RawGet, HtmlBadGateway => RECOVERS;
    raw_get_html_challenge: RawGet, HtmlChallenge => fails_after(TRANSIENT, CHALLENGE, 1);
    raw_get_truncated_once: RawGet, Truncated => RECOVERS;
    raw_get_endless_body: RawGet, EndlessBody => fails(TRANSIENT, ENDLESS);
    raw_get_oversized_body: RawGet, OversizedBody => fails_after(TRANSIENT, TOO_LARGE, 1);
    raw_get_invalid_cursor: RawGet, InvalidCursor => fails_after(UPSTREAM, BAD_CURSOR, 1);

    raw_post_429_burst_with_retry_after: RawPost, RetryAfterBurst => RECOVERS;
    raw_post_429_burst_without_retry_after: RawPost, ThrottledBurst => RECOVERS;
    raw_post_429_retry_after_too_long_rebounds: RawPost, RetryAfterTooLong => Expect::Rebounds { says: THROTTLED, attempts: 1 };
    raw_post_5xx_is_not_repeated: RawPost, ServerErrorBurst => fails_after(TRANSIENT, UNAVAILABLE, 1);
    raw_post_slow_is_not_repeated: RawPost, SlowBurst => fails_after(TRANSIENT, &["did not answer", "in time", "1 attempt"], 1);
    raw_post_dropped_is_not_repeated: RawPost, DropBurst => fails_after(TRANSIENT, &["connection to Klaviyo broke", "1 attempt"], 1);
    raw_post_html_502_is_not_repeated: RawPost, HtmlBadGateway => fails_after(TRANSIENT, &["502", "text/html", "502 Bad Gateway"], 1);
    raw_post_truncated_is_not_repeated: RawPost, Truncated => fails_after(TRANSIENT, &["connection to Klaviyo broke", "1 attempt"], 1);

    verify_429_burst_with_retry_after: Verify, RetryAfterBurst => RECOVERS;
    verify_429_retry_after_too_long: Verify, RetryAfterTooLong => fails_after(TRANSIENT, THROTTLED, 1);
    verify_429_burst_without_retry_after: Verify, ThrottledBurst => RECOVERS;
    verify_5xx_burst: Verify, ServerErrorBurst => RECOVERS;
    verify_5xx_forever: Verify, ServerErrorForever => fails_after(TRANSIENT, UNAVAILABLE, 4);
    verify_slow_once: Verify, SlowBurst => RECOVERS;
    verify_slow_forever: Verify, SlowForever => fails_after(TRANSIENT, TOO_SLOW, 4);
    verify_dropped_twice: Verify, DropBurst => RECOVERS;
    verify_dropped_forever: Verify, DropForever => fails_after(TRANSIENT, DROPPED, 4);
    verify_malformed_json_still_verifies: Verify, MalformedJson => RECOVERS;
    verify_html_502_once: Verify, HtmlBadGateway => RECOVERS;
    verify_html_challenge: Verify, HtmlChallenge => fails_after(TRANSIENT, CHALLENGE_TO_VERIFY, 1);
    verify_truncated_once: Verify, Truncated => RECOVERS;
    verify_endless_body: Verify, EndlessBody => fails(TRANSIENT, ENDLESS);
    verify_oversized_body: Verify, OversizedBody => fails_after(TRANSIENT, TOO_LARGE, 1);
}
