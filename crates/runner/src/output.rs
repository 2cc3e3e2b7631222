//! Writing to stdout: JSON Lines of events, or one service envelope.

use std::io::{BufWriter, Stdout, Write};

use component_sdk::{Error, Event, Sink};
use serde::Serialize;

use crate::redact::Redactor;
use crate::wire::{Envelope, WireEvent};

/// Which shape stdout takes for this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `process`: one event per line, ending with `{"event":"end"}`.
    Events,
    /// Service commands: exactly one `{"status", "data"}` object.
    Service,
}

/// The protocol writer. Each line is serialized whole, masked, written and
/// flushed before the next one, so the reader never sees a partial line
/// while the runner lives. A runner killed in the middle of writing a line
/// longer than the pipe's buffer can leave its start behind: the platform
/// drops a last line without its newline (docs/protocol.md).
pub(crate) struct Output<W: Write> {
    protocol: Protocol,
    writer: W,
    redactor: Redactor,
    line: Vec<u8>,
    wrote_error: bool,
    ended: bool,
    closed: bool,
}

impl Output<BufWriter<Stdout>> {
    pub(crate) fn stdout(protocol: Protocol, redactor: Redactor) -> Self {
        // BufWriter<Stdout> rather than StdoutLock: it is Send, so it can be
        // held across `.await` in the step's future.
        Output::new(
            protocol,
            BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            redactor,
        )
    }
}

impl<W: Write> Output<W> {
    pub(crate) fn new(protocol: Protocol, writer: W, redactor: Redactor) -> Self {
        Output {
            protocol,
            writer,
            redactor,
            line: Vec::with_capacity(4096),
            wrote_error: false,
            ended: false,
            closed: false,
        }
    }

    /// Whether an error event or error envelope was written.
    pub(crate) fn wrote_error(&self) -> bool {
        self.wrote_error
    }

    /// Write one event line.
    pub(crate) fn event(&mut self, event: &WireEvent<'_>) -> Result<(), Error> {
        if self.ended {
            tracing::warn!("an event was emitted after the end of the output and was dropped");
            return Ok(());
        }
        if matches!(event, WireEvent::Error { .. }) {
            self.wrote_error = true;
        }
        self.write_line(event)
    }

    /// Write the end line, once.
    pub(crate) fn end(&mut self) -> Result<(), Error> {
        if self.ended {
            return Ok(());
        }
        let result = self.write_line(&WireEvent::End);
        self.ended = true;
        result
    }

    /// Write the service envelope, once.
    pub(crate) fn envelope<T: Serialize>(&mut self, envelope: &Envelope<T>) -> Result<(), Error> {
        if self.ended {
            return Ok(());
        }
        if matches!(envelope, Envelope::Error { .. }) {
            self.wrote_error = true;
        }
        let result = self.write_line(envelope);
        self.ended = true;
        result
    }

    /// End the output with a failure: an error event and the end line, or an
    /// error envelope, whatever was written before.
    pub(crate) fn fail(&mut self, message: &str) -> Result<(), Error> {
        match self.protocol {
            Protocol::Events => {
                self.event(&WireEvent::error("Error", message))?;
                self.end()
            }
            Protocol::Service => self.envelope(&Envelope::<()>::Error {
                message: message.to_owned(),
            }),
        }
    }

    fn write_line<T: Serialize>(&mut self, value: &T) -> Result<(), Error> {
        if self.closed {
            return Err(Error::output_closed());
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)
            .map_err(|e| Error::internal(format!("cannot encode an output line: {e}")))?;
        self.line.push(b'\n');
        let masked = self.redactor.redact(&self.line);
        let written = self
            .writer
            .write_all(&masked)
            .and_then(|()| self.writer.flush());
        if let Err(e) = written {
            // Broken pipe or any other failure: nobody can read what follows.
            tracing::debug!("stdout is closed ({e}); stopping");
            self.closed = true;
            return Err(Error::output_closed());
        }
        Ok(())
    }
}

impl<W: Write> Sink for Output<W> {
    fn emit(&mut self, event: Event) -> Result<(), Error> {
        self.event(&WireEvent::from_event(&event))
    }
}

#[cfg(test)]
mod tests {
    use component_sdk::{ErrorKind, ErrorPayload, Message};
    use serde_json::json;

    use super::*;

    fn text(out: Output<Vec<u8>>) -> String {
        String::from_utf8(out.writer).expect("utf-8")
    }

    #[test]
    fn every_event_kind_has_its_line() {
        let mut out = Output::new(Protocol::Events, Vec::new(), Redactor::default());
        let mut msg = Message::with_body(&json!({"a": 1})).expect("body");
        msg.id = "id-1".into();
        out.emit(Event::Data(msg)).expect("data");
        out.emit(Event::Snapshot(json!({"s": 1})))
            .expect("snapshot");
        let mut partial = serde_json::Map::new();
        partial.insert("k".into(), json!("v"));
        out.emit(Event::UpdateSnapshot(partial)).expect("update");
        out.emit(Event::Rebound {
            reason: "later".into(),
        })
        .expect("rebound");
        out.emit(Event::Error(ErrorPayload {
            name: "E".into(),
            message: "m".into(),
        }))
        .expect("error");
        assert!(out.wrote_error());
        out.end().expect("end");
        out.end().expect("a second end writes nothing");
        assert_eq!(
            text(out),
            concat!(
                "{\"event\":\"data\",\"payload\":{\"id\":\"id-1\",\"body\":{\"a\":1},\"headers\":{},\"attachments\":{}}}\n",
                "{\"event\":\"snapshot\",\"payload\":{\"s\":1}}\n",
                "{\"event\":\"updateSnapshot\",\"payload\":{\"k\":\"v\"}}\n",
                "{\"event\":\"rebound\",\"payload\":{\"reason\":\"later\"}}\n",
                "{\"event\":\"error\",\"payload\":{\"name\":\"E\",\"message\":\"m\",\"stack\":\"Not Available\"}}\n",
                "{\"event\":\"end\"}\n",
            )
        );
    }

    #[test]
    fn events_after_the_end_are_dropped() {
        let mut out = Output::new(Protocol::Events, Vec::new(), Redactor::default());
        out.end().expect("end");
        out.event(&WireEvent::Rebound { reason: "late" })
            .expect("dropped");
        assert_eq!(text(out), "{\"event\":\"end\"}\n");
    }

    #[test]
    fn secrets_are_masked_on_every_line() {
        let redactor = Redactor::default();
        redactor.set_secrets(["pk_live_123456".to_owned()]);
        let mut out = Output::new(Protocol::Events, Vec::new(), redactor);
        out.fail("Klaviyo said: key pk_live_123456 is wrong")
            .expect("written");
        let written = text(out);
        assert!(!written.contains("pk_live_123456"), "{written}");
        assert!(written.contains("key *** is wrong"), "{written}");
    }

    #[test]
    fn failure_in_service_protocol_is_one_error_envelope() {
        let mut out = Output::new(Protocol::Service, Vec::new(), Redactor::default());
        out.fail("nope").expect("written");
        out.fail("again").expect("ignored");
        assert_eq!(
            text(out),
            "{\"status\":\"error\",\"data\":{\"message\":\"nope\"}}\n"
        );
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_closes_the_output() {
        let mut out = Output::new(Protocol::Events, Broken, Redactor::default());
        assert!(matches!(out.end(), Err(e) if e.kind() == ErrorKind::OutputClosed));
        assert!(out.closed);
    }
}
