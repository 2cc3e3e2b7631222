//! Klaviyo's revisions and their lifecycle (reference §5): a revision is
//! stable for a year after its release, deprecated for another, and
//! retired two years after its release. A request naming a retired
//! revision "falls forward": Klaviyo serves it as the oldest revision it
//! still supports, by that revision's rules and in its shape, unless the
//! request sends `X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1`, which turns
//! it into 410 Gone.

use chrono::{Months, NaiveDate};

use crate::errors::{ApiError, Source};

/// Klaviyo's generally available revisions, oldest first (quarterly). The
/// oldest supported one is derived from this list and the stand-in's
/// "today"; add each new revision when Klaviyo releases it.
pub const GA_REVISIONS: &[&str] = &[
    "2024-10-15",
    "2025-01-15",
    "2025-04-15",
    "2025-07-15",
    "2025-10-15",
    "2026-01-15",
    "2026-04-15",
    "2026-07-15",
    "2026-10-15",
];

/// How long after its release a revision is retired.
const LIFETIME: Months = Months::new(24);

/// The request's `revision` header: required, `YYYY-MM-DD[.suffix]` naming
/// a real date not after `today`.
pub(crate) fn requested(header: Option<&str>, today: NaiveDate) -> Result<&str, ApiError> {
    let revision = header.map(str::trim).unwrap_or("");
    // The example is one a client can use today, never a retired one.
    let example = newest_released(today);
    if revision.is_empty() {
        return Err(ApiError::invalid(
            format!(
                "Missing required header 'revision'. Use the format YYYY-MM-DD[.suffix], e.g. {example}."
            ),
            Source::Parameter("revision".into()),
        ));
    }
    if !well_formed(revision, today) {
        return Err(ApiError::invalid(
            format!(
                "Invalid revision '{revision}'. Use the format YYYY-MM-DD[.suffix] and a released revision, e.g. {example}."
            ),
            Source::Parameter("revision".into()),
        ));
    }
    Ok(revision)
}

/// `YYYY-MM-DD` (a real date, not after today) with an optional
/// alphanumeric `.suffix` (`.pre` for betas).
fn well_formed(rev: &str, today: NaiveDate) -> bool {
    let (date, suffix) = match rev.split_once('.') {
        Some((d, s)) => (d, Some(s)),
        None => (rev, None),
    };
    if suffix.is_some_and(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return false;
    }
    if date.len() != 10 || date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return false;
    }
    date_of(date).is_some_and(|d| d <= today)
}

/// How a request's `revision` is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    /// The revision whose rules and shape apply, as the
    /// `x-klaviyo-api-revision` answer names it: the requested one, or
    /// the oldest supported GA revision when the requested one is retired.
    pub revision: String,
    /// Whether the request's revision was retired and fell forward.
    pub fell_forward: bool,
}

/// The release date of `revision` (`YYYY-MM-DD[.suffix]`).
fn date_of(revision: &str) -> Option<NaiveDate> {
    let date = revision.split('.').next().unwrap_or(revision);
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// When `revision` is retired: two years after the release it belongs to
/// (the newest GA revision not after its date, as Klaviyo's older policy
/// served "the latest revision less than or equal to" the one asked for;
/// its own date when it predates the list).
pub(crate) fn retired_on(revision: &str) -> Option<NaiveDate> {
    let date = date_of(revision)?;
    let release = GA_REVISIONS
        .iter()
        .rev()
        .filter_map(|r| date_of(r))
        .find(|r| *r <= date)
        .unwrap_or(date);
    release.checked_add_months(LIFETIME)
}

fn is_retired(revision: &str, today: NaiveDate) -> bool {
    retired_on(revision).is_some_and(|d| d <= today)
}

/// The oldest GA revision not retired on `today`; the newest listed when
/// the list has fallen behind `today` so far that every one is retired.
pub(crate) fn oldest_supported(today: NaiveDate) -> &'static str {
    GA_REVISIONS
        .iter()
        .copied()
        .find(|r| !is_retired(r, today))
        .or_else(|| GA_REVISIONS.last().copied())
        .unwrap_or("2024-10-15")
}

/// The newest GA revision released by `today` (never retired while a
/// newer one is not); the oldest listed when `today` precedes them all.
pub(crate) fn newest_released(today: NaiveDate) -> &'static str {
    GA_REVISIONS
        .iter()
        .rev()
        .copied()
        .find(|r| date_of(r).is_some_and(|d| d <= today))
        .or_else(|| GA_REVISIONS.first().copied())
        .unwrap_or("2024-10-15")
}

/// Serves `requested` (already checked to be a well-formed, released
/// revision) on `today`: as itself, fallen forward, or 410 when the client
/// opted out of falling forward.
pub(crate) fn serve(requested: &str, today: NaiveDate, opt_out: bool) -> Result<Served, ApiError> {
    if !is_retired(requested, today) {
        return Ok(Served {
            revision: requested.to_owned(),
            fell_forward: false,
        });
    }
    let oldest = oldest_supported(today);
    if opt_out {
        return Err(retired(requested, oldest));
    }
    Ok(Served {
        revision: oldest.to_owned(),
        fell_forward: true,
    })
}

/// 410 for a retired revision with fall-forward turned off. Klaviyo
/// documents the status, not the body: the wording is the stand-in's.
fn retired(requested: &str, oldest: &str) -> ApiError {
    let when = retired_on(requested).map_or_else(String::new, |d| format!(" on {d}"));
    ApiError {
        status: 410,
        code: "gone",
        title: "Gone.",
        detail: format!(
            "Revision {requested} was retired{when}. Use revision {oldest} or newer, or leave out \
             the X-Klaviyo-Revision-Fall-Forward-Opt-Out header to be served revision {oldest} \
             instead."
        )
        .into(),
        source: Source::Parameter("revision".into()),
        headers: Vec::new(),
        meta: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_oldest_supported_revision_moves_with_today() {
        let cases = [
            ("2025-06-01", "2024-10-15"),
            ("2026-10-14", "2024-10-15"),
            // Retired on its second anniversary.
            ("2026-10-15", "2025-01-15"),
            ("2026-12-01", "2025-01-15"),
            ("2027-01-15", "2025-04-15"),
            ("2028-07-15", "2026-10-15"),
            // Past the list: the newest known.
            ("2031-01-01", "2026-10-15"),
        ];
        for (today, oldest) in cases {
            assert_eq!(oldest_supported(day(today)), oldest, "on {today}");
        }
    }

    #[test]
    fn a_revision_in_the_future_is_refused_with_one_that_can_be_used() {
        let today = day("2026-12-01");
        let e = requested(Some("2027-04-15"), today).expect_err("not released");
        assert_eq!(
            &*e.detail,
            "Invalid revision '2027-04-15'. Use the format YYYY-MM-DD[.suffix] and a released revision, e.g. 2026-10-15."
        );
        assert_eq!(newest_released(day("2025-02-01")), "2025-01-15");
        assert_eq!(newest_released(day("2020-01-01")), "2024-10-15");
        let e = requested(None, today).expect_err("missing");
        assert!(e.detail.ends_with("e.g. 2026-10-15."), "{}", e.detail);
    }

    #[test]
    fn retirement_follows_the_release_a_revision_belongs_to() {
        assert_eq!(retired_on("2024-10-15"), Some(day("2026-10-15")));
        assert_eq!(retired_on("2024-10-15.pre"), Some(day("2026-10-15")));
        // Between releases: that of the release before it.
        assert_eq!(retired_on("2025-02-01"), Some(day("2027-01-15")));
        // Before the list: its own date.
        assert_eq!(retired_on("2023-06-15"), Some(day("2025-06-15")));
        assert_eq!(retired_on("latest"), None);
    }

    #[test]
    fn serving_falls_forward_or_refuses() {
        let today = day("2026-12-01");
        assert_eq!(
            serve("2026-07-15", today, false),
            Ok(Served {
                revision: "2026-07-15".into(),
                fell_forward: false
            })
        );
        assert_eq!(
            serve("2024-10-15", today, false),
            Ok(Served {
                revision: "2025-01-15".into(),
                fell_forward: true
            })
        );
        assert_eq!(
            serve("2026-07-15", today, true).map(|s| s.revision),
            Ok("2026-07-15".into()),
            "the opt-out only matters for a retired revision"
        );
        let e = serve("2024-10-15", today, true).expect_err("410");
        assert_eq!(e.status, 410);
        assert!(
            e.detail.starts_with(
                "Revision 2024-10-15 was retired on 2026-10-15. Use revision 2025-01-15"
            ),
            "{}",
            e.detail
        );
        assert_eq!(e.source, Source::Parameter("revision".into()));
    }
}
