//! The trigger's fields, validated with messages that name the field and the
//! accepted form.

use chrono::{DateTime, Utc};
use component_sdk::Config;
use component_sdk::config::{describe, quoted_list};

use super::catalog::{ObjectType, chosen_object_type, timestamp_fields};
use crate::Error;
use crate::emit::{self, EmitBehavior};
use crate::fields;
use crate::revision::Revision;

/// The largest "Size of Polling Page".
const MAX_PAGE_SIZE: u64 = 100;

#[derive(Debug, Clone)]
pub struct PollConfig {
    pub object_type: ObjectType,
    pub field: &'static str,
    pub emit: EmitBehavior,
    pub start_time: DateTime<Utc>,
    /// "Late records lookback", in seconds; 0 is off.
    pub lookback: u64,
}

/// The longest "Late records lookback": what a 5 KB snapshot can hold.
pub(super) const MAX_LOOKBACK: u64 = 7 * 86_400;

/// "Late records lookback" when empty: a day for events, whose time the
/// sender sets and which arrive late all the time; off for the types whose
/// timestamps Klaviyo sets as it stores them.
fn default_lookback(object_type: &str) -> u64 {
    if object_type == "events" { 86_400 } else { 0 }
}

/// How far ahead of now a Start Time may be: a little ahead is a choice (a
/// flow set up for tomorrow morning), a year ahead is a typo that would
/// pause the flow silently until then.
const START_TIME_AHEAD: chrono::Duration = chrono::Duration::days(1);

/// "Emit behavior" and "Size of Polling Page", for the trigger.
pub(super) fn emit_behavior(cfg: &Config) -> Result<EmitBehavior, Error> {
    EmitBehavior::read(
        cfg,
        emit::INDIVIDUALLY_OR_PAGES,
        fields::PAGE_SIZE,
        1..=MAX_PAGE_SIZE,
    )
}

impl PollConfig {
    /// Read the trigger's fields as of `now`.
    pub fn from_config(
        cfg: &Config,
        revision: &Revision,
        now: DateTime<Utc>,
    ) -> Result<PollConfig, Error> {
        let object_type = chosen_object_type(cfg, revision.spec())?;
        let fields = timestamp_fields(object_type.collection);
        let field = match cfg.text(fields::POLL_CONFIG)? {
            None => {
                return Err(Error::config(format!(
                    "\"{}\" is required: choose one of {} for {}",
                    fields::POLL_CONFIG.label,
                    quoted_list(&fields),
                    object_type.label()
                )));
            }
            Some(chosen) => fields
                .iter()
                .copied()
                .find(|f| *f == chosen)
                .ok_or_else(|| {
                    Error::config(format!(
                        "\"{}\" must be one of {} for {} in revision {}, got {}",
                        fields::POLL_CONFIG.label,
                        quoted_list(&fields),
                        object_type.label(),
                        revision.spec().revision,
                        describe(&chosen.into())
                    ))
                })?,
        };
        let emit = emit_behavior(cfg)?;
        let start_time = match cfg.text(fields::START_TIME)? {
            None => DateTime::UNIX_EPOCH,
            Some(text) => {
                let at = crate::time::parse(&text).ok_or_else(|| {
                    Error::config(format!(
                        "\"{}\" must be an ISO 8601 timestamp such as 2024-11-21T10:00:00Z, got {}",
                        fields::START_TIME.label,
                        describe(&text.clone().into())
                    ))
                })?;
                // Klaviyo's filters read years 1970 onwards; nothing in an
                // account is older.
                if at < DateTime::UNIX_EPOCH {
                    return Err(Error::config(format!(
                        "\"{}\" must be on or after 1970-01-01T00:00:00Z, got {}",
                        fields::START_TIME.label,
                        describe(&text.into())
                    )));
                }
                if at > now + START_TIME_AHEAD {
                    return Err(Error::config(format!(
                        "\"{}\" is {}, more than a day after now ({}): the flow would emit nothing \
                         until then. Give a time in the past, or leave it empty to poll from the beginning",
                        fields::START_TIME.label,
                        crate::time::to_text(at),
                        crate::time::to_text(crate::time::floor_seconds(now))
                    )));
                }
                if at > now {
                    tracing::warn!(
                        "\"{}\" is {}, after now: nothing is polled until then",
                        fields::START_TIME.label,
                        crate::time::to_text(at)
                    );
                }
                at
            }
        };
        let lookback = cfg
            .duration(fields::LOOKBACK, 60..=MAX_LOOKBACK, true)?
            .unwrap_or_else(|| default_lookback(object_type.key));
        Ok(PollConfig {
            object_type,
            field,
            emit,
            start_time,
            lookback,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(value: Value) -> Result<PollConfig, Error> {
        let cfg = Config::new(value.as_object().cloned().unwrap_or_default());
        PollConfig::from_config(&cfg, &Revision::default_revision(), now())
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn defaults() {
        let c = parse(json!({"objectType": "profiles", "pollConfig": "updated"})).expect("valid");
        assert_eq!(c.object_type.key, "profiles");
        assert_eq!(c.field, "updated");
        assert_eq!(c.emit, EmitBehavior::Individually);
        assert_eq!(c.start_time, DateTime::UNIX_EPOCH);
        assert_eq!(c.lookback, 0, "off for profiles");
        let c = parse(json!({"objectType": "events", "pollConfig": "datetime"})).expect("valid");
        assert_eq!(c.lookback, 86_400, "a day for events");
        let c =
            parse(json!({"objectType": "events", "pollConfig": "datetime", "lookback": "PT0S"}))
                .expect("valid");
        assert_eq!(c.lookback, 0);
        let c =
            parse(json!({"objectType": "profiles", "pollConfig": "created", "lookback": "P7D"}))
                .expect("valid");
        assert_eq!(c.lookback, 604_800);
    }

    #[test]
    fn pages_and_start_time() {
        let c = parse(
            json!({"objectType": "events", "pollConfig": "datetime", "emitBehavior": "fetchPage",
                             "pageSize": "25", "startTime": "2024-11-21T10:00:00+01:00"}),
        )
        .expect("valid");
        assert_eq!(c.emit, EmitBehavior::Page(25));
        assert_eq!(crate::time::to_text(c.start_time), "2024-11-21T09:00:00Z");
        let c = parse(json!({"objectType": "events", "pollConfig": "datetime", "emitBehavior": "emitPage", "pageSize": ""}))
            .expect("valid");
        assert_eq!(c.emit, EmitBehavior::Page(100));
        // Up to a day ahead is a choice (a warning is logged).
        let c = parse(json!({"objectType": "events", "pollConfig": "datetime", "startTime": "2026-12-02T09:00:00Z"}))
            .expect("valid");
        assert_eq!(crate::time::to_text(c.start_time), "2026-12-02T09:00:00Z");
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let cases = [
            (json!({}), "\"Object Type\" is required"),
            (
                json!({"objectType": "persons", "pollConfig": "updated"}),
                "\"Object Type\" has no object type \"persons\" in revision 2026-10-15: choose one of the 38 the dropdown lists, such as \"profiles\", \"events\", \"lists\", \"segments\", \"campaigns\", \"flows\" or \"templates\"",
            ),
            (
                json!({"objectType": "profile", "pollConfig": "updated"}),
                "\"Object Type\" has no object type \"profile\" in revision 2026-10-15 — did you mean \"profiles\"?",
            ),
            (
                json!({"objectType": "profiles"}),
                "\"Timestamp field to poll on\" is required: choose one of \"updated\" or \"created\" for Profiles",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "email"}),
                "\"Timestamp field to poll on\" must be one of \"updated\" or \"created\" for Profiles in revision 2026-10-15, got \"email\"",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "emitBehavior": "sideways"}),
                "\"Emit behavior\" must be one of \"emitIndividually\", \"emitPage\" or \"fetchPage\", got \"sideways\"",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "emitBehavior": "emitPage", "pageSize": "abc"}),
                "\"Size of Polling Page\" must be a whole number between 1 and 100, got \"abc\"",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "pageSize": "0"}),
                "\"Size of Polling Page\" must be a whole number between 1 and 100, got \"0\"",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "pageSize": 101}),
                "\"Size of Polling Page\" must be a whole number between 1 and 100, got 101",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "startTime": "yesterday"}),
                "\"Start Time\" must be an ISO 8601 timestamp such as 2024-11-21T10:00:00Z, got \"yesterday\"",
            ),
            (
                json!({"objectType": ["profiles"]}),
                "\"Object Type\" must be text, got a list",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "startTime": "0000-01-01T00:00:00Z"}),
                "\"Start Time\" must be on or after 1970-01-01T00:00:00Z, got \"0000-01-01T00:00:00Z\"",
            ),
            (
                json!({"objectType": "profiles", "pollConfig": "updated", "startTime": "2027-12-01T00:00:00Z"}),
                "\"Start Time\" is 2027-12-01T00:00:00Z, more than a day after now (2026-12-01T10:00:00Z): the flow would emit nothing until then",
            ),
            (
                json!({"objectType": "events", "pollConfig": "datetime", "lookback": "1 day"}),
                "\"Late records lookback\" must be an ISO 8601 duration from PT1M to P7D, such as PT10M or P1D, or PT0S for off, got \"1 day\"",
            ),
            (
                json!({"objectType": "events", "pollConfig": "datetime", "lookback": "P30D"}),
                "\"Late records lookback\" must be an ISO 8601 duration from PT1M to P7D, such as PT10M or P1D, or PT0S for off, got \"P30D\" (P30D)",
            ),
        ];
        for (cfg, want) in cases {
            let err = parse(cfg.clone()).expect_err("rejected");
            assert!(err.to_string().starts_with(want), "{cfg}: {err}");
        }
    }
}
