//! What survives between runs, in the step's snapshot (at most 5 KB on the
//! platform).
//!
//! ```json
//! {"v": 3, "objectType": "profiles", "pollConfig": "updated",
//!  "startTime": "1970-01-01T00:00:00Z",
//!  "nextStartTime": "2024-05-01T12:00:00Z",
//!  "window": {"to": "2024-05-01T12:05:00Z", "partition": "archived=true",
//!             "watermark": "2024-05-01T12:03:07Z", "seen": ["9f3c2a…"]},
//!  "late": "AQKA…"}
//! ```
//! Every record whose field is before `nextStartTime` has been emitted.
//! While a window `[nextStartTime, to)` is being polled, `window` says how
//! far: the partitions before `partition` are done, and in `partition` every
//! record before `watermark` has been emitted, plus those at exactly
//! `watermark` whose id hashes are in `seen`.
//!
//! `late` (version 3) holds the stretches of the lookback and what was
//! emitted from each, packed (late/stretches.rs); it takes what the rest
//! leaves of [`MAX_BYTES`].
//!
//! Version 1 is the Node.js component's `{"nextStartTime": "…"}`; it is read
//! as a finished window. Versions 1 and 2 have no `late`: the lookback
//! starts at their `nextStartTime`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::late::stretches::Stretches;
use super::tracker::Tracker;
use crate::Error;
use crate::time;

/// The largest number of ids at the watermark kept in a snapshot; with more
/// (hundreds of records sharing one timestamp) no snapshot is written until
/// the watermark moves on, which keeps every snapshot under 5 KB.
pub(super) const MAX_SEEN: usize = 150;

/// The most a snapshot takes, as compact JSON: what the platform advises.
pub(super) const MAX_BYTES: usize = 5_120;

/// What the `late` member adds besides its value.
const LATE_MEMBER: &str = r#","late":""#;

/// The saved state of the trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct State {
    pub object_type: String,
    pub field: String,
    pub start_time: DateTime<Utc>,
    pub next_start: DateTime<Utc>,
    pub window: Option<Window>,
    /// The lookback's stretches.
    pub late: Stretches,
}

/// A window being polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    pub to: DateTime<Utc>,
    pub partition: String,
    pub tracker: Tracker,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    #[serde(default)]
    v: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    poll_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(default)]
    next_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<StoredWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    late: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredWindow {
    to: String,
    partition: String,
    watermark: String,
    #[serde(default)]
    seen: Vec<String>,
}

/// How a stored snapshot relates to the current configuration.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Loaded {
    /// No snapshot: start at Start Time.
    Fresh,
    /// A snapshot of this configuration.
    Resume(State),
    /// A snapshot of another object type, field or Start Time: start over,
    /// and say why.
    Stale(String),
}

/// Read the platform's snapshot for this configuration.
pub(super) fn load(
    snapshot: &Value,
    object_type: &str,
    field: &str,
    start_time: DateTime<Utc>,
    lookback: i64,
) -> Result<Loaded, Error> {
    let Some(map) = snapshot.as_object() else {
        return Err(unreadable("it is not a JSON object"));
    };
    if map.is_empty() {
        return Ok(Loaded::Fresh);
    }
    let stored: Stored =
        serde_json::from_value(snapshot.clone()).map_err(|e| unreadable(&e.to_string()))?;
    let parse = |name: &str, text: &str| {
        time::parse(text).ok_or_else(|| unreadable(&format!("{name} {text:?} is not a timestamp")))
    };
    let Some(next_start_text) = stored.next_start_time.as_deref() else {
        return Err(unreadable("it has no nextStartTime"));
    };
    let next_start = parse("nextStartTime", next_start_text)?;

    match stored.v {
        // The Node.js component's snapshot: only where to start next.
        None | Some(1) => {
            return Ok(Loaded::Resume(State {
                object_type: object_type.to_owned(),
                field: field.to_owned(),
                start_time,
                next_start,
                window: None,
                late: Stretches::new(lookback),
            }));
        }
        Some(2 | 3) => {}
        Some(other) => {
            return Err(unreadable(&format!(
                "version {other} is newer than this component"
            )));
        }
    }
    let stored_type = stored.object_type.unwrap_or_default();
    let stored_field = stored.poll_config.unwrap_or_default();
    if stored_type != object_type || stored_field != field {
        return Ok(Loaded::Stale(format!(
            "the snapshot was taken polling {stored_type} on {stored_field}, and the step now polls {object_type} on {field}"
        )));
    }
    let stored_start = stored
        .start_time
        .as_deref()
        .map(|t| parse("startTime", t))
        .transpose()?;
    if stored_start != Some(start_time) {
        return Ok(Loaded::Stale(format!(
            "Start Time changed from {} to {}",
            stored_start
                .map(time::to_text)
                .unwrap_or_else(|| "unset".to_owned()),
            time::to_text(start_time)
        )));
    }
    let window = match stored.window {
        None => None,
        Some(w) => {
            let seen = w
                .seen
                .iter()
                .map(|h| {
                    u64::from_str_radix(h, 16)
                        .map_err(|_| unreadable(&format!("seen entry {h:?} is not a hash")))
                })
                .collect::<Result<Vec<u64>, Error>>()?;
            Some(Window {
                to: parse("window.to", &w.to)?,
                partition: w.partition,
                // Snapshots of earlier versions may hold a watermark inside
                // a second: from its start, records of that second whose
                // ids were not kept come again rather than never.
                tracker: Tracker::resume(
                    time::floor_seconds(parse("window.watermark", &w.watermark)?),
                    seen,
                ),
            })
        }
    };
    let late = match stored.late.as_deref() {
        None => Stretches::new(lookback),
        // 1.2.0's summaries are of another kind: as for a snapshot of an
        // earlier version, the lookback starts at the cursor.
        Some(text) if Stretches::older_format(text) => {
            tracing::warn!(
                "the snapshot's late-record summaries were written by version 1.2.0 and cannot be read by this version: \
                 records that arrive late from now on are looked for from {} on, not before",
                time::to_text(next_start)
            );
            Stretches::new(lookback)
        }
        Some(text) => Stretches::unpack(lookback, text)
            .ok_or_else(|| unreadable("its late member is not one this component packed"))?,
    };
    Ok(Loaded::Resume(State {
        object_type: object_type.to_owned(),
        field: field.to_owned(),
        start_time,
        next_start,
        window,
        late,
    }))
}

impl State {
    pub(super) fn new(
        object_type: &str,
        field: &str,
        start_time: DateTime<Utc>,
        lookback: i64,
    ) -> State {
        State {
            object_type: object_type.to_owned(),
            field: field.to_owned(),
            start_time,
            next_start: start_time,
            window: None,
            late: Stretches::new(lookback),
        }
    }

    /// The snapshot to emit, or `None` when too many records share the
    /// watermark for it to stay small (the previous snapshot then stands).
    /// The lookback's stretches take what the rest leaves of
    /// [`MAX_BYTES`], folded and merged to fit.
    pub(super) fn to_value(&self) -> Option<Value> {
        if self
            .window
            .as_ref()
            .is_some_and(|w| w.tracker.seen_len() > MAX_SEEN)
        {
            return None;
        }
        let window = self.window.as_ref().map(|w| {
            let mut seen: Vec<String> = w.tracker.seen().map(|h| format!("{h:016x}")).collect();
            seen.sort();
            StoredWindow {
                to: time::to_text(w.to),
                partition: w.partition.clone(),
                watermark: time::to_text(w.tracker.watermark()),
                seen,
            }
        });
        let mut stored = Stored {
            v: Some(3),
            object_type: Some(self.object_type.clone()),
            poll_config: Some(self.field.clone()),
            start_time: Some(time::to_text(self.start_time)),
            next_start_time: Some(time::to_text(self.next_start)),
            window,
            late: None,
        };
        if !self.late.is_empty() {
            let rest = serde_json::to_string(&stored).ok()?.len();
            let budget = MAX_BYTES.checked_sub(rest + LATE_MEMBER.len())?;
            stored.late = Some(self.late.pack(budget)?);
        }
        serde_json::to_value(stored).ok()
    }

    /// The bytes of the snapshot as the platform stores it.
    pub(super) fn size(&self) -> usize {
        self.to_value()
            .and_then(|v| serde_json::to_string(&v).ok())
            .map_or(0, |t| t.len())
    }
}

/// `snapshot` as if `secs` more had passed since each stretch of its
/// lookback was read: the tests' way to let the minutes between re-reads
/// pass. `None` when it has no stretches.
pub fn aged(snapshot: &Value, secs: i64) -> Option<Value> {
    let text = snapshot.get("late")?.as_str()?;
    let mut late = Stretches::unpack(1, text)?;
    late.aged(secs);
    let mut out = snapshot.clone();
    out["late"] = Value::String(late.pack(usize::MAX)?);
    Some(out)
}

fn unreadable(why: &str) -> Error {
    Error::config(format!(
        "the step's snapshot cannot be read ({why}); it was not written by this component. \
         Clear the step's snapshot to start again from \"{}\"",
        crate::fields::START_TIME.label
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        time::parse(text).expect("timestamp")
    }

    #[test]
    fn round_trip_of_a_window_in_progress() {
        let mut tracker = Tracker::new(at("2024-01-01T00:00:00Z"));
        tracker.admit(at("2024-01-01T00:00:07Z"), "a");
        tracker.admit(at("2024-01-01T00:00:07Z"), "b");
        let state = State {
            window: Some(Window {
                to: at("2024-01-02T00:00:00Z"),
                partition: "archived=true".into(),
                tracker,
            }),
            ..State::new("flows", "updated", at("1970-01-01T00:00:00Z"), 0)
        };
        let value = state.to_value().expect("small");
        assert_eq!(value["v"], 3);
        assert_eq!(value["window"]["watermark"], "2024-01-01T00:00:07Z");
        assert_eq!(value["window"]["seen"].as_array().map(Vec::len), Some(2));
        let loaded =
            load(&value, "flows", "updated", at("1970-01-01T00:00:00Z"), 0).expect("loads");
        assert_eq!(loaded, Loaded::Resume(state));
        // An earlier version's watermark inside a second resumes from the
        // second's start: what it emitted there may come again, nothing is
        // skipped.
        let mut older = value.clone();
        older["window"]["watermark"] = json!("2024-01-01T00:00:07.500Z");
        match load(&older, "flows", "updated", at("1970-01-01T00:00:00Z"), 0).expect("loads") {
            Loaded::Resume(state) => assert_eq!(
                state.window.expect("window").tracker.watermark(),
                at("2024-01-01T00:00:07Z")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_legacy_and_stale_snapshots() {
        let start = at("1970-01-01T00:00:00Z");
        assert_eq!(
            load(&json!({}), "profiles", "updated", start, 0).expect("ok"),
            Loaded::Fresh
        );
        match load(
            &json!({"nextStartTime": "2024-03-01T10:00:00.000Z"}),
            "profiles",
            "updated",
            start,
            86_400,
        ) {
            Ok(Loaded::Resume(state)) => {
                assert_eq!(state.next_start, at("2024-03-01T10:00:00Z"));
                assert!(state.window.is_none());
                assert!(state.late.is_empty(), "the lookback starts at the cursor");
            }
            other => panic!("{other:?}"),
        }
        let mine = State::new("profiles", "updated", start, 0)
            .to_value()
            .expect("value");
        assert!(matches!(
            load(&mine, "events", "datetime", start, 0),
            Ok(Loaded::Stale(_))
        ));
        assert!(matches!(
            load(&mine, "profiles", "created", start, 0),
            Ok(Loaded::Stale(_))
        ));
        assert!(matches!(
            load(&mine, "profiles", "updated", at("2024-01-01T00:00:00Z"), 0),
            Ok(Loaded::Stale(_))
        ));
    }

    #[test]
    fn unreadable_snapshots_are_errors_that_say_what_to_do() {
        let start = at("1970-01-01T00:00:00Z");
        for bad in [
            json!("x"),
            json!({"nextStartTime": "yesterday"}),
            json!({"nextStartTime": 5}),
            json!({"unrelated": true}),
            json!({"v": 4, "nextStartTime": "2024-01-01T00:00:00Z"}),
            json!({"v": 3, "objectType": "profiles", "pollConfig": "updated", "startTime": "1970-01-01T00:00:00Z",
                   "nextStartTime": "2024-01-01T00:00:00Z", "late": "not packed"}),
            json!({"v": 2, "objectType": "profiles", "pollConfig": "updated", "startTime": "1970-01-01T00:00:00Z",
                   "nextStartTime": "2024-01-01T00:00:00Z",
                   "window": {"to": "2024-01-02T00:00:00Z", "partition": "", "watermark": "2024-01-01T00:00:00Z", "seen": ["zz"]}}),
        ] {
            let err = load(&bad, "profiles", "updated", start, 86_400).expect_err("rejected");
            assert!(
                err.to_string().contains("Clear the step's snapshot"),
                "{err}"
            );
        }
    }

    #[test]
    fn every_version_is_read_and_the_third_round_trips_its_stretches() {
        let start = at("1970-01-01T00:00:00Z");
        let v2 = json!({"v": 2, "objectType": "events", "pollConfig": "datetime",
            "startTime": "1970-01-01T00:00:00Z", "nextStartTime": "2024-01-01T00:00:00Z",
            "window": {"to": "2024-01-02T00:00:00Z", "partition": "", "watermark": "2024-01-01T10:00:00Z", "seen": ["00000000000000ff"]}});
        let Ok(Loaded::Resume(mut state)) = load(&v2, "events", "datetime", start, 86_400) else {
            panic!("version 2 reads");
        };
        assert!(state.late.is_empty());
        assert_eq!(state.window.as_ref().map(|w| w.tracker.seen_len()), Some(1));
        let now = at("2024-01-01T00:00:00Z").timestamp();
        state.late.open_window(now - 3_600, now, now + 5);
        state.late.note_emitted(now - 30, 7);
        let v3 = state.to_value().expect("fits");
        assert_eq!(v3["v"], 3);
        assert!(v3["late"].is_string());
        assert_eq!(
            load(&v3, "events", "datetime", start, 86_400).expect("reads"),
            Loaded::Resume(state.clone())
        );
        // 1.2.0's stretches (format 2): the lookback starts at the cursor.
        let mut older = v3.clone();
        older["late"] = json!("AgE");
        let Ok(Loaded::Resume(from_older)) = load(&older, "events", "datetime", start, 86_400)
        else {
            panic!("1.2.0's snapshot reads");
        };
        assert!(from_older.late.is_empty());
        assert_eq!(from_older.next_start, state.next_start);
        // Turning the lookback off drops the stretches.
        let Ok(Loaded::Resume(off)) = load(&v3, "events", "datetime", start, 0) else {
            panic!("reads");
        };
        assert!(off.late.is_empty());
        assert!(off.to_value().expect("fits").get("late").is_none());
    }

    #[test]
    fn snapshots_stay_under_five_kilobytes() {
        let mut tracker = Tracker::new(at("2024-01-01T00:00:00Z"));
        let long_id = "x".repeat(10_000);
        for i in 0..MAX_SEEN {
            tracker.admit(at("2024-01-01T00:00:01Z"), &format!("{long_id}{i}"));
        }
        let mut state = State::new(
            &"t".repeat(40),
            &"f".repeat(40),
            at("1970-01-01T00:00:00Z"),
            7 * 86_400,
        );
        // A week of stretches, records emitted in each.
        let now = at("2024-01-02T00:00:00Z").timestamp();
        state.late.open_window(now - 7 * 86_400, now, now);
        for s in 0..4_000 {
            state.late.note_emitted(now - s * 150, s as u64);
        }
        state.window = Some(Window {
            to: at("2024-01-02T00:00:00Z"),
            partition: "messages.channel=mobile_push, archived=false".into(),
            tracker: tracker.clone(),
        });
        let size = serde_json::to_string(&state.to_value().expect("fits"))
            .expect("json")
            .len();
        assert!(size <= MAX_BYTES, "{size} bytes");
        assert_eq!(state.size(), size);
        tracker.admit(at("2024-01-01T00:00:01Z"), "one more");
        state.window.as_mut().expect("window").tracker = tracker;
        assert!(
            state.to_value().is_none(),
            "too many ids at one timestamp: no snapshot"
        );
    }
}
