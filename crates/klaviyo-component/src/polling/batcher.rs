//! The trigger's emitter: records one by one or in pages ([`crate::emit`]),
//! and snapshots only where they describe exactly what was emitted.

use component_sdk::{Event, Sink};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Error;
use crate::emit::{EmitBehavior, Emitter};

/// Groups records into the messages the emit behavior asks for, and holds a
/// snapshot back until the page it completes is out.
pub(super) struct Batcher<'o> {
    emitter: Emitter<'o>,
    snapshots: bool,
    last_snapshot: Option<Value>,
}

impl<'o> Batcher<'o> {
    /// `snapshots` is false for Retrieve Sample, which must not move the
    /// flow's state.
    pub(super) fn new(out: &'o mut dyn Sink, emit: EmitBehavior, snapshots: bool) -> Batcher<'o> {
        Batcher {
            emitter: Emitter::new(out, emit),
            snapshots,
            last_snapshot: None,
        }
    }

    /// Records emitted so far (including those waiting in a page).
    pub(super) fn emitted(&self) -> u64 {
        self.emitter.pushed()
    }

    /// Emit a record, or add it to the page. True when the page is full and
    /// must be flushed with the progress it completes. A page too large
    /// for one message goes out in more, without a snapshot between them.
    pub(super) fn push(&mut self, record: Box<RawValue>) -> Result<bool, Error> {
        self.emitter.push(record)
    }

    /// Emit the page being filled, then the snapshot of the progress it
    /// completes.
    pub(super) fn flush(&mut self, progress: Option<Value>) -> Result<(), Error> {
        self.emitter.flush()?;
        self.snapshot(progress)
    }

    /// Note progress that involves no pending records: a snapshot when
    /// nothing is waiting in a page, otherwise nothing (the flush that
    /// empties the page writes the snapshot).
    pub(super) fn checkpoint(&mut self, progress: Option<Value>) -> Result<(), Error> {
        if self.emitter.is_holding() {
            Ok(())
        } else {
            self.snapshot(progress)
        }
    }

    fn snapshot(&mut self, progress: Option<Value>) -> Result<(), Error> {
        let Some(progress) = progress else {
            return Ok(());
        };
        if !self.snapshots || self.last_snapshot.as_ref() == Some(&progress) {
            return Ok(());
        }
        self.emitter.out().emit(Event::Snapshot(progress.clone()))?;
        self.last_snapshot = Some(progress);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use component_sdk::{MAX_MESSAGE_BYTES, Recorder};
    use serde_json::json;

    use super::*;

    fn raw(n: u32) -> Box<RawValue> {
        RawValue::from_string(format!("{{\"id\":\"{n}\"}}")).expect("json")
    }

    fn kinds(recorder: &Recorder) -> Vec<String> {
        recorder
            .events
            .iter()
            .map(|e| match e {
                Event::Data(m) => m.body.get().to_owned(),
                Event::Snapshot(s) => format!("snapshot {s}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn individually_with_deduplicated_snapshots() {
        let mut recorder = Recorder::default();
        let mut sink = Batcher::new(&mut recorder, EmitBehavior::Individually, true);
        assert!(!sink.push(raw(1)).expect("push"));
        sink.checkpoint(Some(json!(1))).expect("checkpoint");
        sink.checkpoint(Some(json!(1))).expect("same progress");
        sink.checkpoint(None).expect("too large to save");
        sink.push(raw(2)).expect("push");
        sink.flush(Some(json!(2))).expect("flush");
        assert_eq!(sink.emitted(), 2);
        assert_eq!(
            kinds(&recorder),
            vec![r#"{"id":"1"}"#, "snapshot 1", r#"{"id":"2"}"#, "snapshot 2"]
        );
    }

    #[test]
    fn pages_hold_their_snapshot_until_flushed() {
        let mut recorder = Recorder::default();
        let mut sink = Batcher::new(&mut recorder, EmitBehavior::Page(2), true);
        assert!(!sink.push(raw(1)).expect("push"));
        sink.checkpoint(Some(json!("after 1"))).expect("held back");
        assert!(sink.push(raw(2)).expect("push"), "full");
        sink.flush(Some(json!("after 2"))).expect("flush");
        sink.push(raw(3)).expect("push");
        sink.flush(Some(json!("end"))).expect("last page");
        sink.flush(Some(json!("end"))).expect("nothing left");
        assert_eq!(
            kinds(&recorder),
            vec![
                r#"{"results":[{"id":"1"},{"id":"2"}]}"#,
                "snapshot \"after 2\"",
                r#"{"results":[{"id":"3"}]}"#,
                "snapshot \"end\"",
            ]
        );
    }

    #[test]
    fn a_page_too_large_for_one_message_goes_out_in_more() {
        // Three records of 3 MB: two fit the platform's 7 MB, three do not.
        let big = |n: u32| {
            let pad = "x".repeat(3_000_000);
            RawValue::from_string(format!("{{\"id\":\"{n}\",\"pad\":\"{pad}\"}}")).expect("json")
        };
        let mut recorder = Recorder::default();
        let mut sink = Batcher::new(&mut recorder, EmitBehavior::Page(3), true);
        assert!(!sink.push(big(1)).expect("push"));
        assert!(!sink.push(big(2)).expect("push"));
        // The first two went out; the third starts the next message.
        assert!(!sink.push(big(3)).expect("push"));
        sink.flush(Some(json!("after 3"))).expect("flush");
        let shapes: Vec<String> = recorder
            .events
            .iter()
            .map(|e| match e {
                Event::Data(m) => {
                    assert!(m.body.get().len() <= MAX_MESSAGE_BYTES);
                    let page: Value = serde_json::from_str(m.body.get()).expect("json");
                    let ids: Vec<&str> = page["results"]
                        .as_array()
                        .expect("results")
                        .iter()
                        .filter_map(|r| r["id"].as_str())
                        .collect();
                    ids.join(",")
                }
                Event::Snapshot(s) => format!("snapshot {s}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(shapes, vec!["1,2", "3", "snapshot \"after 3\""]);
    }

    #[test]
    fn no_snapshots_for_samples() {
        let mut recorder = Recorder::default();
        let mut sink = Batcher::new(&mut recorder, EmitBehavior::Page(5), false);
        sink.push(raw(1)).expect("push");
        sink.flush(Some(json!(1))).expect("flush");
        assert_eq!(kinds(&recorder), vec![r#"{"results":[{"id":"1"}]}"#]);
    }
}
