//! How records leave a step, for the trigger and Lookup Objects alike: the
//! "Emit behavior" field, the `{"results": [...]}` envelope and its schema,
//! and the platform's limit on one message.

use std::ops::RangeInclusive;

use component_sdk::config::Field;
use component_sdk::{Config, Event, MAX_MESSAGE_BYTES, Message, Sink};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::Error;
use crate::fields;

/// The values of "Emit behavior" that emit one message per record, or
/// pages; `fetchPage` is the name other elastic.io components use.
pub(crate) const INDIVIDUALLY_OR_PAGES: &[&str] = &["emitIndividually", "emitPage", "fetchPage"];

/// The same and all at once (`fetchAll` is the other components' name).
pub(crate) const INDIVIDUALLY_PAGES_OR_ALL: &[&str] = &[
    "emitIndividually",
    "emitPage",
    "fetchPage",
    "emitAll",
    "fetchAll",
];

/// Records per page when the page size field is empty.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 100;

/// How records leave the step: the "Emit behavior" field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitBehavior {
    /// One message per record; its body is the record.
    Individually,
    /// Messages of `{"results": [...]}` with this many records each, the
    /// last one fewer; and fewer where that many would make a message
    /// larger than the platform carries.
    Page(usize),
    /// One message of `{"results": [...]}` with every record.
    All,
}

impl EmitBehavior {
    /// "Emit behavior" as one of `allowed`, with pages of `page_size`
    /// (`sizes`, default [`DEFAULT_PAGE_SIZE`]). The page size is read
    /// whatever the emit behavior, so a typo never waits for the day
    /// someone switches to pages.
    pub fn read(
        cfg: &Config,
        allowed: &[&str],
        page_size: Field,
        sizes: RangeInclusive<u64>,
    ) -> Result<EmitBehavior, Error> {
        let behavior = cfg.choice(fields::EMIT_BEHAVIOR, allowed)?;
        let size = cfg.integer(page_size, sizes)?.unwrap_or(DEFAULT_PAGE_SIZE) as usize;
        Ok(match behavior.as_deref() {
            None | Some("emitIndividually") => EmitBehavior::Individually,
            Some("emitPage" | "fetchPage") => EmitBehavior::Page(size),
            Some(_) => EmitBehavior::All,
        })
    }

    /// The schema of one message, for `record`, the schema of one record.
    pub fn output_schema(self, record: Value) -> Value {
        match self {
            EmitBehavior::Individually => record,
            EmitBehavior::Page(_) | EmitBehavior::All => json!({
                "type": "object",
                "properties": {
                    "results": {"type": "array", "title": "Results", "required": true, "items": record}
                }
            }),
        }
    }
}

/// `{"results":[…]}` around records kept as Klaviyo sent them.
pub(crate) fn results(records: &[Box<RawValue>]) -> Result<Box<RawValue>, Error> {
    let mut text = String::with_capacity(records.iter().map(|r| in_page(r)).sum::<usize>() + 14);
    text.push_str("{\"results\":[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(record.get());
    }
    text.push_str("]}");
    RawValue::from_string(text)
        .map_err(|e| Error::internal(format!("a page cannot be encoded: {e}")))
}

/// The bytes a record takes in a page: itself and its comma.
fn in_page(record: &RawValue) -> usize {
    record.get().len() + 1
}

/// The size of the largest message that emitting all of `records` at once
/// as `behavior` says would make, when it is larger than the platform
/// carries; `None` when every message fits. For a step that holds its
/// whole result and would rather emit none of it than a part.
pub(crate) fn too_large(records: &[Box<RawValue>], behavior: EmitBehavior) -> Option<usize> {
    let page = |group: &[Box<RawValue>]| group.iter().map(|r| in_page(r)).sum::<usize>();
    let largest = match behavior {
        EmitBehavior::Individually => records.iter().map(|r| r.get().len()).max().unwrap_or(0),
        EmitBehavior::Page(n) => records.chunks(n.max(1)).map(page).max().unwrap_or(0),
        EmitBehavior::All => page(records),
    };
    (largest > MAX_MESSAGE_BYTES).then_some(largest)
}

/// Emits records as the emit behavior says: each at once, or gathered into
/// pages that go out when full, when they would grow larger than the
/// platform carries, or at [`Emitter::flush`].
pub(crate) struct Emitter<'o> {
    out: &'o mut dyn Sink,
    behavior: EmitBehavior,
    page: Vec<Box<RawValue>>,
    /// The bytes the records in `page` take.
    page_bytes: usize,
    pushed: u64,
}

impl<'o> Emitter<'o> {
    pub(crate) fn new(out: &'o mut dyn Sink, behavior: EmitBehavior) -> Emitter<'o> {
        Emitter {
            out,
            behavior,
            page: Vec::new(),
            page_bytes: 0,
            pushed: 0,
        }
    }

    /// Records pushed so far (including those waiting in a page).
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Whether records wait in a page.
    pub(crate) fn is_holding(&self) -> bool {
        !self.page.is_empty()
    }

    /// The sink, for what goes out between records (a snapshot).
    pub(crate) fn out(&mut self) -> &mut dyn Sink {
        &mut *self.out
    }

    /// Emit a record, or add it to the page. True when the page is full and
    /// should be flushed.
    pub(crate) fn push(&mut self, record: Box<RawValue>) -> Result<bool, Error> {
        self.pushed += 1;
        let size = match self.behavior {
            EmitBehavior::Individually => {
                self.out.emit(Event::Data(Message::new(record)))?;
                return Ok(false);
            }
            EmitBehavior::Page(size) => size,
            EmitBehavior::All => usize::MAX,
        };
        // Records so large that a page of them could not pass through the
        // platform go out in more messages: none is held back or dropped.
        let bytes = in_page(&record);
        if !self.page.is_empty() && self.page_bytes + bytes > MAX_MESSAGE_BYTES {
            self.flush()?;
        }
        self.page_bytes += bytes;
        self.page.push(record);
        Ok(self.page.len() >= size)
    }

    /// Emit the page being filled, if any.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        if self.page.is_empty() {
            return Ok(());
        }
        let page = results(&self.page)?;
        self.page.clear();
        self.page_bytes = 0;
        self.out.emit(Event::Data(Message::new(page)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use component_sdk::Recorder;

    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("json")
    }

    #[test]
    fn results_keep_the_records_bytes() {
        let records = vec![raw("{\"b\":1,\"a\":2}"), raw("{\"id\":\"x\"}")];
        assert_eq!(
            results(&records).expect("page").get(),
            "{\"results\":[{\"b\":1,\"a\":2},{\"id\":\"x\"}]}"
        );
        assert_eq!(results(&[]).expect("page").get(), "{\"results\":[]}");
    }

    #[test]
    fn all_at_once_is_one_page() {
        let mut recorder = Recorder::default();
        let mut emitter = Emitter::new(&mut recorder, EmitBehavior::All);
        for n in 0..3 {
            assert!(!emitter.push(raw(&format!("{n}"))).expect("push"));
        }
        emitter.flush().expect("flush");
        emitter.flush().expect("nothing left");
        let bodies: Vec<&str> = recorder
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Data(m) => Some(m.body.get()),
                _ => None,
            })
            .collect();
        assert_eq!(bodies, vec!["{\"results\":[0,1,2]}"]);
    }

    #[test]
    fn the_behavior_and_its_schema() {
        let cfg = |v: Value| Config::new(v.as_object().cloned().unwrap_or_default());
        let read = |v: Value, allowed| {
            EmitBehavior::read(&cfg(v), allowed, fields::LOOKUP_PAGE_SIZE, 1..=1000)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            read(json!({}), INDIVIDUALLY_OR_PAGES),
            Ok(EmitBehavior::Individually)
        );
        assert_eq!(
            read(
                json!({"emitBehavior": "fetchAll"}),
                INDIVIDUALLY_PAGES_OR_ALL
            ),
            Ok(EmitBehavior::All)
        );
        assert!(read(json!({"emitBehavior": "fetchAll"}), INDIVIDUALLY_OR_PAGES).is_err());
        assert!(read(json!({"pageSize": "0"}), INDIVIDUALLY_OR_PAGES).is_err());
        let record = json!({"type": "object"});
        assert_eq!(
            EmitBehavior::Individually.output_schema(record.clone()),
            record
        );
        assert_eq!(
            EmitBehavior::All.output_schema(record.clone())["properties"]["results"]["items"],
            record
        );
    }
}
