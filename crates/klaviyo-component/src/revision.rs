//! Klaviyo API revisions: which one is configured, which one Klaviyo
//! actually serves, and which facts apply.
//!
//! Klaviyo retires a revision two years after its release and then answers
//! it with the oldest revision it still supports ("falls forward"). The
//! component lets it: a flow left on a retired revision keeps running,
//! and every run says so at `warn`, as verifyCredentials does. Sending
//! `X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1` would turn every request
//! into a 410 instead, stopping flows at 3 a.m. for a date in a field. But
//! queries are planned by the rules of the revision Klaviyo serves, never
//! by those of the one it no longer does.

use chrono::{Datelike, NaiveDate, Utc};
use klaviyo_spec::RevisionSpec;

use crate::Error;

/// Klaviyo's generally available revisions, oldest first (from the
/// `klaviyo/openapi` repository's branches). Used to name the revision
/// Klaviyo falls forward to when a retired one is requested; a test keeps
/// every revision of the OpenAPI files in it.
pub(crate) const KNOWN_REVISIONS: &[&str] = &[
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
    /// Set when Klaviyo has retired the revision by the day it was read.
    retirement: Option<Retirement>,
}

impl Revision {
    /// Read a revision as of today.
    pub fn parse(text: &str) -> Result<Revision, Error> {
        Revision::parse_on(text, Utc::now().date_naive())
    }

    /// Read a revision as of `today`.
    pub fn parse_on(text: &str, today: NaiveDate) -> Result<Revision, Error> {
        let text = text.trim();
        let bad = || {
            Error::config(format!(
                "\"{}\" must be a date like {} (optionally with a suffix such as .pre), got {:?}",
                crate::fields::REVISION.label,
                default_revision_text(),
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
        // Klaviyo refuses a revision it has not released with an example
        // that may be retired; a day of grace for clocks and time zones.
        if date > today + chrono::Duration::days(1) {
            return Err(Error::config(format!(
                "\"{}\" {text} is a date after today ({today}): Klaviyo has released no revision on it. Use a released one, such as {}",
                crate::fields::REVISION.label,
                newest_supported(today)
            )));
        }
        Ok(Revision {
            text: text.to_owned(),
            date,
            retirement: retirement(date, today),
        })
    }

    /// The credential's "Revision" field, or the default when it is empty.
    pub fn from_config(cfg: &component_sdk::Config) -> Result<Revision, Error> {
        match cfg.text(crate::fields::REVISION)? {
            Some(text) => Revision::parse(&text),
            None => Ok(Revision::default_revision()),
        }
    }

    /// The newest revision whose OpenAPI file the component ships: codegen
    /// moves it forward with the files.
    pub fn default_revision() -> Revision {
        Revision::parse(default_revision_text()).expect("the default revision is valid")
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

    /// The revision Klaviyo answers with: this one, or the one it falls
    /// forward to when this one is retired.
    pub fn served(&self) -> &str {
        self.retirement
            .as_ref()
            .and_then(|r| r.served_instead)
            .unwrap_or(&self.text)
    }

    /// The API facts to obey: those of the newest OpenAPI file not newer than
    /// the revision Klaviyo serves.
    pub fn spec(&self) -> &'static RevisionSpec {
        klaviyo_spec::for_revision(self.served())
    }

    /// The revision as messages name it: the configured one, and the one
    /// whose rules the component applies when that is another (the newest
    /// OpenAPI file not newer than what Klaviyo serves), so that "revision
    /// 2024-10-15 accepts" never answers a credential set to 2025-01-15.
    pub fn named(&self) -> String {
        let rules = self.spec().revision;
        if rules == self.text {
            self.text.clone()
        } else {
            format!("{} (the rules of {rules} apply)", self.text)
        }
    }

    /// When Klaviyo retired this revision, if it had by the day it was read.
    pub fn retirement(&self) -> Option<&Retirement> {
        self.retirement.as_ref()
    }

    /// What to tell the user about this revision, if anything: that Klaviyo
    /// retired it, or that it is a beta.
    pub fn caveat(&self) -> Option<String> {
        if let Some(retirement) = &self.retirement {
            let instead = retirement
                .served_instead
                .map(|r| {
                    format!(" Klaviyo now answers with the oldest revision it supports ({r}) instead, and the component follows that revision's rules.")
                })
                .unwrap_or_default();
            return Some(format!(
                "Revision {} was retired on {}.{instead} Set the credential's Revision to a supported one, such as {}.",
                self.text,
                retirement.retired_on,
                default_revision_text()
            ));
        }
        self.is_beta().then(|| {
            format!(
                "Revision {} is a beta revision; Klaviyo advises against beta revisions in production.",
                self.text
            )
        })
    }
}

/// [`Revision::named`] for the credential's revision in `cfg`, where only
/// the facts `spec` are at hand (they are that revision's, or the message
/// names them alone).
pub(crate) fn named_in(cfg: &component_sdk::Config, spec: &RevisionSpec) -> String {
    Revision::from_config(cfg)
        .ok()
        .filter(|r| r.spec().revision == spec.revision)
        .map_or_else(|| spec.revision.to_owned(), |r| r.named())
}

/// The newest revision of the OpenAPI files.
fn default_revision_text() -> &'static str {
    klaviyo_spec::revisions()
        .last()
        .map(|spec| spec.revision)
        .unwrap_or("2026-10-15")
}

/// The newest known revision released by `today` and not retired: the one
/// to suggest (the default when none of them is).
fn newest_supported(today: NaiveDate) -> &'static str {
    KNOWN_REVISIONS
        .iter()
        .rev()
        .copied()
        .find(|r| {
            NaiveDate::parse_from_str(r, "%Y-%m-%d")
                .is_ok_and(|d| d <= today && retirement(d, today).is_none())
        })
        .unwrap_or_else(default_revision_text)
}

/// When Klaviyo retired a revision released on `date`, if it has by
/// `today`: revisions are retired two years after release, and Klaviyo then
/// serves the oldest revision it still supports.
fn retirement(date: NaiveDate, today: NaiveDate) -> Option<Retirement> {
    let retired_on = add_years(date, 2);
    if retired_on > today {
        return None;
    }
    let served = KNOWN_REVISIONS
        .iter()
        .copied()
        .find(|r| NaiveDate::parse_from_str(r, "%Y-%m-%d").is_ok_and(|d| add_years(d, 2) > today));
    Some(Retirement {
        retired_on,
        served_instead: served,
    })
}

/// A retired revision's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retirement {
    pub retired_on: NaiveDate,
    /// The revision Klaviyo answers with instead, when known.
    pub served_instead: Option<&'static str>,
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
                    .starts_with("\"Revision\" must be a date like 2026-10-15"),
                "{err}"
            );
        }
    }

    #[test]
    fn retirement_two_years_after_release() {
        let on = |text: &str, today: &str| Revision::parse_on(text, day(today)).expect("valid");
        assert_eq!(on("2024-10-15", "2026-10-14").retirement(), None);
        let retired = on("2024-10-15", "2026-11-28");
        assert_eq!(
            retired.retirement(),
            Some(&Retirement {
                retired_on: day("2026-10-15"),
                served_instead: Some("2025-01-15")
            })
        );
        assert_eq!(retired.served(), "2025-01-15");
        let caveat = retired.caveat().expect("a caveat");
        assert!(
            caveat.starts_with("Revision 2024-10-15 was retired on 2026-10-15. Klaviyo now answers with the oldest revision it supports (2025-01-15) instead"),
            "{caveat}"
        );
        assert!(caveat.ends_with("such as 2026-10-15."), "{caveat}");
        let current = on("2026-10-15", "2026-11-28");
        assert_eq!(current.retirement(), None);
        assert_eq!(current.served(), "2026-10-15");
        assert_eq!(current.caveat(), None);
    }

    #[test]
    fn queries_follow_the_rules_of_the_revision_klaviyo_serves() {
        // 2026-04-15 (the 2024-10-15 file's rules) is retired by May 2028;
        // Klaviyo then answers as 2026-07-15, whose file has other rules.
        let later = Revision::parse_on("2026-04-15", day("2028-05-01")).expect("valid");
        assert_eq!(later.served(), "2026-07-15");
        assert_eq!(later.spec().revision, "2026-07-15");
        let now = Revision::parse_on("2026-04-15", day("2026-12-01")).expect("valid");
        assert_eq!(now.spec().revision, "2024-10-15");
    }

    #[test]
    fn the_default_is_the_newest_file_and_every_file_is_known() {
        let newest = klaviyo_spec::revisions().last().expect("files").revision;
        assert_eq!(Revision::default_revision().as_str(), newest);
        for spec in klaviyo_spec::revisions() {
            assert!(
                KNOWN_REVISIONS.contains(&spec.revision),
                "{}",
                spec.revision
            );
        }
        assert!(Revision::parse("2026-07-15.pre").expect("valid").is_beta());
        assert!(
            Revision::parse("2026-07-15.pre")
                .expect("valid")
                .caveat()
                .is_some_and(|c| c.contains("beta"))
        );
    }

    #[test]
    fn component_json_names_the_default() {
        let descriptor: serde_json::Value =
            serde_json::from_str(crate::registry::COMPONENT_JSON).expect("json");
        let field = &descriptor["credentials"]["fields"]["revision"];
        let default = Revision::default_revision();
        assert_eq!(field["placeholder"], default.as_str());
        let note = field["note"].as_str().expect("a note");
        assert!(
            note.contains(&format!("Default: {},", default.as_str())),
            "{note}"
        );
    }

    #[test]
    fn messages_name_the_configured_revision_and_the_rules_applied() {
        let on = |text: &str| Revision::parse_on(text, day("2026-12-07")).expect("valid");
        assert_eq!(on("2026-10-15").named(), "2026-10-15");
        assert_eq!(
            on("2025-01-15").named(),
            "2025-01-15 (the rules of 2024-10-15 apply)"
        );
        // Retired: Klaviyo serves 2025-01-15, by the 2024-10-15 file.
        assert_eq!(on("2024-10-15").named(), "2024-10-15");
    }

    #[test]
    fn messages_with_only_the_facts_name_the_credential_s_revision() {
        let cfg = |revision: &str| {
            let mut map = serde_json::Map::new();
            map.insert("revision".into(), revision.into());
            component_sdk::Config::new(map)
        };
        let old = klaviyo_spec::for_revision("2025-01-15");
        assert_eq!(
            named_in(&cfg("2025-01-15"), old),
            "2025-01-15 (the rules of 2024-10-15 apply)"
        );
        let newest = klaviyo_spec::for_revision("2026-10-15");
        assert_eq!(named_in(&cfg(""), newest), "2026-10-15");
        // Facts of another revision than the credential's: named alone.
        assert_eq!(named_in(&cfg("2025-01-15"), newest), "2026-10-15");
    }

    #[test]
    fn a_revision_after_today_is_refused_with_a_supported_one() {
        let err = Revision::parse_on("2027-04-15", day("2026-12-07")).expect_err("future");
        assert_eq!(
            err.to_string(),
            "\"Revision\" 2027-04-15 is a date after today (2026-12-07): Klaviyo has released no revision on it. Use a released one, such as 2026-10-15"
        );
        // Never a retired one, nor one not yet released on that day.
        let err = Revision::parse_on("2025-09-01", day("2025-06-01")).expect_err("future");
        assert!(err.to_string().ends_with("such as 2025-04-15"), "{err}");
        assert!(Revision::parse_on("2026-12-08", day("2026-12-07")).is_ok());
    }

    #[test]
    fn the_facts_follow_the_revision() {
        let on = |text: &str| Revision::parse_on(text, day("2026-11-01")).expect("valid");
        assert_eq!(on("2025-04-15").spec().revision, "2024-10-15");
        assert_eq!(on("2026-10-15").spec().revision, "2026-10-15");
    }
}
