//! Reading the invocation from stdin: `{"cfg": {...}, "msg": {...}, "snapshot": {...}}`.

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use component_sdk::Config;
use component_sdk::Message;
use serde_json::{Map, Value};

/// Larger inputs are refused: the platform's messages are at most 10 MB.
pub const MAX_STDIN_BYTES: u64 = 64 * 1024 * 1024;

/// A caller that never closes stdin must not hang the runner for ever.
const STDIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The parsed invocation.
#[derive(Debug)]
pub struct Invocation {
    pub cfg: Config,
    pub msg: Message,
    pub snapshot: Value,
}

/// Read and parse stdin, or a one-line reason why it is unusable.
pub(crate) fn read_stdin() -> Result<Invocation, String> {
    let (tx, rx) = mpsc::channel();
    // A thread, so a stdin that is never closed can be given up on.
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = std::io::stdin()
            .lock()
            .take(MAX_STDIN_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(STDIN_TIMEOUT) {
        Ok(Ok(bytes)) => parse(&bytes),
        Ok(Err(e)) => Err(format!("stdin cannot be read: {e}")),
        Err(_) => Err(format!(
            "stdin was not closed within {} s; send one JSON object and close stdin",
            STDIN_TIMEOUT.as_secs()
        )),
    }
}

/// Parse the bytes of stdin.
pub fn parse(bytes: &[u8]) -> Result<Invocation, String> {
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!(
            "stdin is larger than {} MiB; the platform's messages are at most 10 MB",
            MAX_STDIN_BYTES / 1024 / 1024
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("stdin is empty; {EXPECTED}"));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| unreadable(&e))?;
    let Value::Object(mut top) = value else {
        return Err(format!(
            "stdin must be a JSON object, got {}; {EXPECTED}",
            kind(&value)
        ));
    };
    let cfg = object_member(&mut top, "cfg")?;
    let mut msg = object_member(&mut top, "msg")?;
    let snapshot = object_member(&mut top, "snapshot")?;
    if !top.is_empty() {
        return Err(unknown_members(&top));
    }
    Ok(Invocation {
        cfg: Config::new(cfg),
        msg: message(&mut msg)?,
        snapshot: Value::Object(snapshot),
    })
}

const EXPECTED: &str =
    "expected one JSON object {\"cfg\": {...}, \"msg\": {...}, \"snapshot\": {...}}";

/// Why stdin could not be read: valid JSON that is too large or too deep to
/// hold is not called invalid.
fn unreadable(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if text.starts_with("number out of range") {
        format!(
            "stdin holds a number too large to read (beyond ±1.7976931348623157e308, {}); {EXPECTED}",
            position(error)
        )
    } else if text.starts_with("recursion limit exceeded") {
        format!(
            "stdin nests arrays and objects more than 128 levels deep ({}); {EXPECTED}",
            position(error)
        )
    } else {
        format!("stdin is not valid JSON ({text}); {EXPECTED}")
    }
}

fn position(error: &serde_json::Error) -> String {
    format!("at line {} column {}", error.line(), error.column())
}

/// What to say about a member stdin does not have: the one it was meant to
/// be, or where a message's body goes (the usual slip: the raw request's
/// `url` and `method` at the top level).
fn unknown_members(members: &Map<String, Value>) -> String {
    let shown = |name: &str| format!("\"{}\"", component_sdk::config::shortened(name, 40));
    let typo = members.keys().find_map(|name| {
        component_sdk::config::closest(name, ["cfg", "msg", "snapshot"]).map(|meant| (name, meant))
    });
    if let Some((name, meant)) = typo {
        return format!(
            "stdin has an unknown member {} — did you mean \"{meant}\"?",
            shown(name)
        );
    }
    let names: Vec<String> = members.keys().take(5).map(|n| shown(n)).collect();
    let (noun, more) = match members.len() {
        1 => ("an unknown member", String::new()),
        n if n > names.len() => ("unknown members", format!(" and {} more", n - names.len())),
        _ => ("unknown members", String::new()),
    };
    format!(
        "stdin has {noun} {}{more}: only \"cfg\", \"msg\" and \"snapshot\" are read, \
         and an incoming message's body goes in \"msg\": {{\"body\": {{...}}}}",
        names.join(", ")
    )
}

/// A member that must be an object when present; absent and `null` mean `{}`.
fn object_member(top: &mut Map<String, Value>, name: &str) -> Result<Map<String, Value>, String> {
    match top.remove(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(format!(
            "\"{name}\" must be a JSON object, got {}",
            kind(&other)
        )),
    }
}

fn message(msg: &mut Map<String, Value>) -> Result<Message, String> {
    let body = match msg.remove("body") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(body) => body,
    };
    let mut message = Message::with_body(&body).map_err(|e| e.to_string())?;
    match msg.remove("id") {
        // No id stays no id: an invented one would differ on every delivery
        // of the message, and steps use the id to recognise a redelivery.
        None | Some(Value::Null) => message.id = String::new(),
        Some(Value::String(id)) => message.id = id,
        Some(Value::Number(n)) => message.id = n.to_string(),
        Some(other) => {
            return Err(format!("\"msg.id\" must be a string, got {}", kind(&other)));
        }
    }
    message.headers = object_member(msg, "headers").map_err(|e| format!("msg.{e}"))?;
    message.attachments = object_member(msg, "attachments").map_err(|e| format!("msg.{e}"))?;
    Ok(message)
}

/// A value's JSON type, never its content: the envelope is read before the
/// secrets in it are known, so a misplaced API key must not be echoed.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_optional() {
        let envelope = parse(b"{}").expect("parses");
        assert!(envelope.cfg.values().is_empty());
        assert_eq!(envelope.msg.body.get(), "{}");
        assert_eq!(envelope.snapshot, Value::Object(Map::new()));
        assert_eq!(envelope.msg.id, "", "no id is invented");
    }

    #[test]
    fn members_are_read() {
        let envelope = parse(
            br#"{"cfg":{"apiKey":"k"},"msg":{"id":"m1","body":{"url":"/x"},"headers":{"h":1},"attachments":{}},"snapshot":{"s":2}}"#,
        )
        .expect("parses");
        assert_eq!(envelope.cfg.raw("apiKey"), Some(&Value::from("k")));
        assert_eq!(envelope.msg.id, "m1");
        assert_eq!(envelope.msg.body.get(), r#"{"url":"/x"}"#);
        assert_eq!(envelope.msg.headers["h"], 1);
        assert_eq!(envelope.snapshot["s"], 2);
    }

    #[test]
    fn unusable_inputs_get_reasons() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "stdin is empty"),
            (b"  \n ", "stdin is empty"),
            (b"{", "stdin is not valid JSON"),
            (b"{} {}", "stdin is not valid JSON"),
            (b"\xff\xfe", "stdin is not valid JSON"),
            (b"[1,2]", "stdin must be a JSON object, got a list"),
            (b"\"text\"", "stdin must be a JSON object, got a string"),
            (
                b"{\"cfg\": \"pk_live_0123456789\"}",
                "\"cfg\" must be a JSON object, got a string",
            ),
            (
                b"{\"cfg\": []}",
                "\"cfg\" must be a JSON object, got a list",
            ),
            (
                b"{\"msg\": 5}",
                "\"msg\" must be a JSON object, got a number",
            ),
            (
                b"{\"snapshot\": true}",
                "\"snapshot\" must be a JSON object, got a boolean",
            ),
            (
                b"{\"msg\": {\"id\": {}}}",
                "\"msg.id\" must be a string, got an object",
            ),
            (
                b"{\"msg\": {\"headers\": []}}",
                "msg.\"headers\" must be a JSON object, got a list",
            ),
            (
                b"{\"cfg\": {}, \"url\": \"/profiles\", \"method\": \"GET\"}",
                "stdin has unknown members \"method\", \"url\": only \"cfg\", \"msg\" and \"snapshot\" are read, and an incoming message's body goes in \"msg\": {\"body\": {...}}",
            ),
            (
                b"{\"config\": {}}",
                "stdin has an unknown member \"config\": only",
            ),
            (
                b"{\"snapshots\": {}}",
                "stdin has an unknown member \"snapshots\" — did you mean \"snapshot\"?",
            ),
        ];
        for (input, want) in cases {
            let err = parse(input).expect_err("rejected");
            assert!(
                err.starts_with(want),
                "{:?}: {err}",
                String::from_utf8_lossy(input)
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{\"cfg\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse(deep.as_bytes()).expect_err("rejected");
        assert!(
            err.starts_with("stdin nests arrays and objects more than 128 levels deep"),
            "{err}"
        );
        let err = parse(b"{\"cfg\": {\"pageSize\": 1e400}}").expect_err("rejected");
        assert!(
            err.starts_with("stdin holds a number too large to read"),
            "{err}"
        );
    }
}
