//! Klaviyo API revisions: which one is configured, which facts apply, and
//! whether Klaviyo still serves it.

use chrono::{Datelike, NaiveDate};
use klaviyo_spec::RevisionSpec;

use crate::Error;

/// The revision used when the credential leaves "Revision" empty.
pub const DEFAULT_REVISION: &str = "2024-10-15";

/// Klaviyo's generally available revisions, oldest first (from the
/// `klaviyo/openapi` repository's branches). Used to name the revision
/// Klaviyo falls forward to when a retired one is requested.
pub const KNOWN_REVISIONS: &[&str] = &[
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

/// A revision header value: `YYYY-MM-DD`, optionally `.suffix` (beta
/// revisions are `YYYY-MM-DD.pre`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    text: String,
    date: NaiveDate,
}

impl Revision {
    pub fn parse(text: &str) -> Result<Revision, Error> {
        let text = text.trim();
        let bad = || {
            Error::config(format!(
                "\"{}\" must be a date like {DEFAULT_REVISION} (optionally with a suffix such as .pre), got {:?}",
                crate::fields::REVISION.label,
                text.chars().take(40).collect::<String>()
            ))
        };
        let (date_part, suffix) = match text.split_once('.') {
            Some((d, s)) => (d, Some(s)),
            None => (text, None),
        };
        if date_part.len() != 10
            || suffix.is_some_and(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| bad())?;
        Ok(Revision {
            text: text.to_owned(),
            date,
        })
    }

    /// The credential's "Revision" field, or the default when it is empty.
    pub fn from_config(cfg: &component_sdk::Config) -> Result<Revision, Error> {
        match cfg.text(crate::fields::REVISION)? {
            Some(text) => Revision::parse(&text),
            None => Ok(Revision::default_revision()),
        }
    }

    pub fn default_revision() -> Revision {
        Revision::parse(DEFAULT_REVISION).expect("the default revision is valid")
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Whether this is a beta (`.pre`) revision.
    pub fn is_beta(&self) -> bool {
        self.text.contains('.')
    }

    /// The API facts to obey: those of the newest OpenAPI file not newer than
    /// this revision.
    pub fn spec(&self) -> &'static RevisionSpec {
        klaviyo_spec::for_revision(&self.text)
    }

    /// When Klaviyo retired this revision, if it has by `today`: revisions
    /// are retired two years after release, and Klaviyo then serves the
    /// oldest revision it still supports.
    pub fn retirement(&self, today: NaiveDate) -> Option<Retirement> {
        let retired_on = add_years(self.date, 2);
        if retired_on > today {
            return None;
        }
        let served = KNOWN_REVISIONS.iter().copied().find(|r| {
            NaiveDate::parse_from_str(r, "%Y-%m-%d").is_ok_and(|d| add_years(d, 2) > today)
        });
        Some(Retirement {
            retired_on,
            served_instead: served,
        })
    }
}

/// A retired revision's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retirement {
    pub retired_on: NaiveDate,
    /// The revision Klaviyo answers with instead, when known.
    pub served_instead: Option<&'static str>,
}

/// Say at `warn` when Klaviyo no longer serves `revision` as asked, or
/// when it is a beta.
pub fn warn_if_not_served(revision: &Revision) {
    if let Some(retirement) = revision.retirement(chrono::Utc::now().date_naive()) {
        let instead = retirement
            .served_instead
            .map(|r| {
                format!(" Klaviyo now answers with the oldest revision it supports ({r}) instead.")
            })
            .unwrap_or_default();
        tracing::warn!(
            "Revision {} was retired on {}.{instead} Set the credential's Revision to a supported one, such as {}.",
            revision.as_str(),
            retirement.retired_on,
            KNOWN_REVISIONS.last().copied().unwrap_or("the latest")
        );
    }
    if revision.is_beta() {
        tracing::warn!(
            "Revision {} is a beta revision; Klaviyo advises against beta revisions in production.",
            revision.as_str()
        );
    }
}

fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    date.with_year(date.year() + years)
        .unwrap_or_else(|| date + chrono::Duration::days(365 * years as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn valid_and_invalid_revisions() {
        for ok in ["2024-10-15", "2026-07-15.pre", " 2025-01-15 ", "2023-02-22"] {
            assert!(Revision::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "latest",
            "2024-13-15",
            "2024-10-32",
            "20241015",
            "2024-10-15.",
            "2024-10-15.pre-1",
            "2024/10/15",
        ] {
            let err = Revision::parse(bad).expect_err(bad);
            assert!(
                err.to_string()
                    .starts_with("\"Revision\" must be a date like 2024-10-15"),
                "{err}"
            );
        }
    }

    #[test]
    fn retirement_two_years_after_release() {
        let r = Revision::parse("2024-10-15").expect("valid");
        assert_eq!(r.retirement(day("2026-10-14")), None);
        assert_eq!(
            r.retirement(day("2026-11-28")),
            Some(Retirement {
                retired_on: day("2026-10-15"),
                served_instead: Some("2025-01-15")
            })
        );
        let current = Revision::parse("2026-10-15").expect("valid");
        assert_eq!(current.retirement(day("2026-11-28")), None);
    }

    #[test]
    fn the_facts_follow_the_revision() {
        assert_eq!(
            Revision::parse("2025-04-15")
                .expect("valid")
                .spec()
                .revision,
            "2024-10-15"
        );
        assert_eq!(
            Revision::parse("2026-10-15")
                .expect("valid")
                .spec()
                .revision,
            "2026-10-15"
        );
        assert!(Revision::parse("2026-07-15.pre").expect("valid").is_beta());
    }
}
