//! The typed actions: look up one object or many, upsert, delete, create
//! events, subscribe and unsubscribe profiles, and manage list membership,
//! for every object type the configured revision's OpenAPI file describes.
//!
//! Each action reads its fields through [`crate::fields`], builds its
//! request from the revision's facts ([`crate::catalog`], [`jsonapi`]), checks it
//! against the request schema before anything is sent ([`coerce`],
//! [`validate`]), and talks to Klaviyo through the one client, declaring
//! which writes are safe to repeat. docs/actions.md describes each one.

mod coerce;
pub mod delete;
pub mod event;
mod jsonapi;
pub mod lookup;
pub mod lookup_many;
pub mod membership;
mod metadata;
mod schema;
pub mod subscriptions;
pub mod upsert;
mod validate;
mod values;

use component_sdk::{Event, Message, Sink, StepInput};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use self::validate::{Problem, Violation};
use crate::Error;
use crate::client::{ApiError, Client, Failure, Repeatability, Response, TransportKind, minify};

/// The incoming message's body, which must be an object.
pub fn body(input: &StepInput, wanted: &str) -> Result<Map<String, Value>, Error> {
    let value: Value = serde_json::from_str(input.msg.body.get())
        .map_err(|_| Error::input("the message body (msg.body) is not JSON"))?;
    match value {
        Value::Object(members) => Ok(members),
        other => Err(Error::input(format!(
            "the message body (msg.body) must be an object with {wanted}, got {}",
            component_sdk::config::describe(&other)
        ))),
    }
}

/// Emit `body`, a JSON text, as one message, as it is.
pub fn emit_raw(out: &mut dyn Sink, body: Box<RawValue>) -> Result<(), Error> {
    out.emit(Event::Data(Message::new(body)))?;
    Ok(())
}

/// Emit `body` as one message.
pub fn emit_json(out: &mut dyn Sink, body: &Value) -> Result<(), Error> {
    out.emit(Event::Data(Message::with_body(body)?))?;
    Ok(())
}

/// JSON text on one line, as the output needs it: Klaviyo's own bytes when
/// they are, re-spaced only when Klaviyo pretty-printed them.
pub fn one_line(raw: &RawValue) -> Result<Box<RawValue>, Error> {
    let text = raw.get();
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() {
        return Ok(raw.to_owned());
    }
    RawValue::from_string(minify(text))
        .map_err(|e| Error::Response(format!("a record cannot be re-encoded: {e}")))
}

/// A single-resource answer (`GET /x/{id}`, a create or an update): its
/// `data`, as Klaviyo wrote it, and the whole document.
pub struct Single {
    pub data: Option<Box<RawValue>>,
    pub document: Box<RawValue>,
}

impl Single {
    /// An answer without a body (`204 No Content`, as an update of tags
    /// gets) has no data: what was written is what was sent.
    pub fn parse(response: &Response) -> Result<Single, Error> {
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Single {
                data: None,
                document: RawValue::from_string("{}".to_owned())
                    .map_err(|e| Error::internal(format!("an empty document: {e}")))?,
            });
        }
        #[derive(Deserialize)]
        struct Document<'a> {
            #[serde(borrow, default)]
            data: Option<&'a RawValue>,
        }
        let text = std::str::from_utf8(&response.body)
            .map_err(|_| Error::Response("Klaviyo's answer is not UTF-8 text".to_owned()))?;
        let document: Document<'_> = serde_json::from_str(text).map_err(|e| {
            Error::Response(format!(
                "Klaviyo's answer is not the JSON:API document it documents ({e})"
            ))
        })?;
        let data = match document.data {
            Some(raw) if raw.get() != "null" => Some(one_line(raw)?),
            _ => None,
        };
        let whole: &RawValue = serde_json::from_str(text)
            .map_err(|e| Error::Response(format!("Klaviyo's answer is not JSON ({e})")))?;
        Ok(Single {
            data,
            document: one_line(whole)?,
        })
    }
}

/// The path of an operation (`/lists/{id}/relationships/profiles`) with
/// its one path parameter, the `id` given as `label`, filled in as one
/// path segment.
pub fn path_to(template: &str, id: &str, label: &str) -> Result<String, Error> {
    let segment = segment(id, label)?;
    Ok(match (template.find('{'), template.find('}')) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{segment}{}", &template[..start], &template[end + 1..])
        }
        _ => template.to_owned(),
    })
}

/// `id` as one path segment: every byte but unreserved characters
/// percent-encoded, so an id can never name another path (`../lists`).
fn segment(id: &str, label: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::input(format!("\"{label}\" is empty")));
    }
    if id == "." || id == ".." {
        return Err(Error::input(format!("\"{label}\" {id:?} is not an id")));
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

/// The violations of a request body as one error that names each field by
/// its label and says what to do.
pub fn invalid(violations: &[Violation], document: &Value, what: &str) -> Error {
    let mut sentences: Vec<String> = violations
        .iter()
        .take(5)
        .map(|v| explain(v, document))
        .collect();
    if violations.len() > 5 {
        sentences.push(format!("and {} more", violations.len() - 5));
    }
    Error::input(format!("{what}: {}", sentences.join("; ")))
}

fn explain(violation: &Violation, document: &Value) -> String {
    let path = jsonapi::input_path(&violation.pointer, document).unwrap_or_default();
    let name = jsonapi::field_name(&path);
    match &violation.problem {
        Problem::Missing => format!("{name} is required: map a value to it"),
        Problem::WrongType { expected, got } => format!("{name} must be {expected}, got {got}"),
        Problem::NotAllowed { allowed, got } => {
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            format!(
                "{name} must be one of {}, got {got}",
                component_sdk::config::quoted_list(&allowed)
            )
        }
        Problem::Format { expected, got } => format!("{name} must be {expected}, got {got}"),
        Problem::ReadOnly => format!("{name} is set by Klaviyo and cannot be written: remove it"),
        Problem::Unknown { suggestion } => {
            let shown = format!("msg.body.{path}");
            match suggestion {
                Some(meant) => {
                    let parent = path
                        .rsplit_once('.')
                        .map(|(p, _)| format!("{p}."))
                        .unwrap_or_default();
                    format!(
                        "{shown} is not a field here — did you mean {}?",
                        jsonapi::field_name(&format!("{parent}{meant}"))
                    )
                }
                None => format!("{shown} is not a field the revision's schema has: remove it"),
            }
        }
        Problem::TooMany { max } => format!("{name} may have at most {max} members"),
    }
}

/// Klaviyo's error with each `source.pointer` into the body replaced by the
/// field of the input metadata it points at.
pub fn with_labels(mut error: ApiError, document: &Value) -> ApiError {
    for entry in &mut error.errors {
        let Some(source) = &mut entry.source else {
            continue;
        };
        let Some(pointer) = source.pointer.as_deref() else {
            continue;
        };
        if !pointer.starts_with("/data/") || pointer.trim_end_matches('/') == "/data" {
            continue;
        }
        match jsonapi::input_path(pointer, document) {
            // `/data/attributes`: the whole input, which says nothing more.
            Some(path) if path.is_empty() => source.pointer = None,
            Some(path) => source.pointer = Some(jsonapi::field_name(&path)),
            None => {}
        }
    }
    error
}

/// The failure of a write that may have taken effect and is therefore not
/// retried (a POST that creates, a PATCH): said so, so that nobody runs it
/// again blindly.
pub fn not_repeated(error: Error, request: &str) -> Error {
    let hint = format!(
        "{request} was not repeated, since Klaviyo may have carried it out already: check in Klaviyo before sending the message again"
    );
    match error {
        Error::Api(api) if api.failure() == Failure::Server => Error::Api(api.with_hint(hint)),
        Error::Transport(t)
            if matches!(
                t.kind,
                TransportKind::TimedOut | TransportKind::ConnectionLost
            ) =>
        {
            Error::Sdk(component_sdk::Error::new(
                component_sdk::ErrorKind::Transient,
                format!("{t}. {hint}"),
            ))
        }
        other => other,
    }
}

/// The failure of one of several requests (jobs, batches) after the ones
/// before it went through: it says how far the step got, so that the rest
/// is sent again rather than everything. Never a rebound: a redelivery
/// hours later would send again what went through.
pub fn partly_done(error: Error, done: &str) -> Error {
    let said = error.to_string();
    Error::Sdk(component_sdk::Error::new(
        error.kind(),
        format!(
            "{}. {done}; the rest was not sent: send only the rest again",
            said.trim_end_matches('.')
        ),
    ))
}

/// The request document for the flattened `input` by the request schema
/// `schema`: built ([`jsonapi::build`]), made of the types the schema wants
/// ([`coerce::coerce`]) and checked ([`validate::check`]), so that nothing
/// is sent that the revision's schema rejects. `what` starts the error.
pub fn prepare(input: &Value, schema: &Value, what: &str) -> Result<Value, Error> {
    let built = jsonapi::build(input, schema);
    let document = coerce::coerce(built, schema).unwrap_or_else(|| Value::Object(Map::new()));
    let violations = validate::check(&document, schema);
    if violations.is_empty() {
        Ok(document)
    } else {
        Err(invalid(&violations, schema, what))
    }
}

/// Send a write of `document` (by the request schema `schema`) and return
/// Klaviyo's 2xx answer. Retried as `repeatability` allows; Klaviyo's
/// errors name the input's fields, and a write that is not safe to repeat
/// and may have been carried out says so.
pub async fn write(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    document: &Value,
    schema: &Value,
    repeatability: Repeatability,
) -> Result<Response, Error> {
    let url = client.url(path, &[]);
    let body = serde_json::to_vec(document)
        .map_err(|e| Error::internal(format!("a request body cannot be encoded: {e}")))?;
    let request = format!("{method} {path}");
    let unsafe_write = repeatability == Repeatability::Unsafe;
    let response = match client
        .send_as(method, &url, Some(&body), repeatability)
        .await
    {
        Ok(response) => response,
        Err(e) if unsafe_write => return Err(not_repeated(e, &request)),
        Err(e) => return Err(e),
    };
    tracing::info!("{request} answered {}", response.status);
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let error = Error::Api(with_labels(client.api_error(&response), schema));
    Err(if unsafe_write {
        not_repeated(error, &request)
    } else {
        error
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        let cases = [
            ("01GDDKASAP8TKDDA2GRZDSVP4H", "01GDDKASAP8TKDDA2GRZDSVP4H"),
            (
                "$custom:::$default:::SKU-1",
                "%24custom%3A%3A%3A%24default%3A%3A%3ASKU-1",
            ),
            ("../lists", "..%2Flists"),
            ("a b/c?d#e", "a%20b%2Fc%3Fd%23e"),
            ("é", "%C3%A9"),
        ];
        for (id, want) in cases {
            assert_eq!(segment(id, "ID").expect(id), want);
        }
        for bad in ["", "  ", ".", ".."] {
            assert!(segment(bad, "ID").is_err(), "{bad:?}");
        }
        let path = |template: &str, id: &str| path_to(template, id, "ID").expect(id);
        assert_eq!(path("/profiles/{id}", "01AB"), "/profiles/01AB");
        assert_eq!(path("/catalog-items/{id}/", "x/y"), "/catalog-items/x%2Fy/");
        assert_eq!(path("/lists", "x"), "/lists");
    }

    #[test]
    fn klaviyo_s_pointers_name_the_input_field() {
        let schema = klaviyo_spec::for_revision("2026-10-15")
            .request_schema(klaviyo_spec::Method::Post, "/events")
            .expect("schema");
        let body = br#"{"errors":[
            {"code":"invalid","detail":"Invalid email address.","source":{"pointer":"/data/attributes/profile/data/attributes/email"}},
            {"code":"invalid","detail":"Bad.","source":{"pointer":"/data/"}},
            {"code":"invalid","detail":"Bad filter.","source":{"parameter":"filter"}}
        ]}"#;
        let error = ApiError::from_body(400, None, body, "");
        assert_eq!(
            with_labels(error, &schema).to_string(),
            "Klaviyo answered 400 (invalid): Invalid email address. [\"Email\" (msg.body.profile.email)]; (invalid): Bad.; (invalid): Bad filter. [filter]"
        );
    }

    #[test]
    fn a_write_that_may_have_acted_says_it_was_not_repeated() {
        let failed = Error::Api(ApiError::from_body(
            503,
            None,
            br#"{"errors":[{"code":"error","detail":"Unavailable."}]}"#,
            "",
        ));
        let said = not_repeated(failed, "POST /lists");
        assert_eq!(said.kind(), component_sdk::ErrorKind::Transient);
        assert_eq!(
            said.to_string(),
            "Klaviyo answered 503 (error): Unavailable. POST /lists was not repeated, since Klaviyo may have carried it out already: check in Klaviyo before sending the message again"
        );
        // A refusal is a refusal: nothing was carried out.
        let refused = Error::Api(ApiError::from_body(
            400,
            None,
            br#"{"errors":[{"code":"invalid","detail":"No."}]}"#,
            "",
        ));
        assert_eq!(
            not_repeated(refused, "POST /lists").to_string(),
            "Klaviyo answered 400 (invalid): No."
        );
    }

    #[test]
    fn a_failure_after_some_requests_says_how_far_it_got_and_never_rebounds() {
        let throttled = Error::Api(ApiError::from_body(
            429,
            None,
            br#"{"errors":[{"code":"throttled","detail":"Slow down."}]}"#,
            "",
        ));
        let said = partly_done(throttled, "Profiles 1–1000 of 2500 were subscribed");
        assert_eq!(said.kind(), component_sdk::ErrorKind::Transient);
        assert!(
            !matches!(said, Error::Api(_)),
            "finish rebounds only Api errors"
        );
        assert_eq!(
            said.to_string(),
            "Klaviyo answered 429 (throttled): Slow down. Profiles 1–1000 of 2500 were subscribed; the rest was not sent: send only the rest again"
        );
    }
}
