//! The "Make Raw Request" action: any Klaviyo call, with the credential's
//! key and revision, to the Klaviyo API and nowhere else.

mod target;

use std::collections::BTreeMap;

use component_sdk::schema::platform_schema;
use component_sdk::{Event, MAX_MESSAGE_BYTES, Message, MetaModel, Sink};
use reqwest::Method;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

pub use self::target::resolve;
use crate::Error;
use crate::actions::{Action, Body, Member, Run, values};
use crate::fields;

/// The methods the action sends.
pub(crate) const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The incoming message's body.
#[derive(Debug, JsonSchema)]
#[schemars(title = "Make Raw Request input")]
pub(crate) struct Input {
    /// The path of the resource relative to the base URL https://a.klaviyo.com/api, e.g. /profiles?page[size]=20; or a URL under it, such as a links.next that Klaviyo returned.
    #[schemars(title = "Url")]
    pub url: String,
    /// The HTTP method: GET, POST, PUT, PATCH or DELETE.
    #[schemars(title = "Method", extend("enum" = ["GET", "POST", "PUT", "PATCH", "DELETE"]))]
    pub method: String,
    /// The payload, sent as application/vnd.api+json.
    #[schemars(title = "Request Body", schema_with = "any_json")]
    #[serde(default)]
    pub data: Option<Value>,
}

/// The members of [`Input`], with the titles the mapper shows.
const URL: Member<'static> = Member::new("url", "Url");
const METHOD: Member<'static> = Member::new("method", "Method");
const MEMBERS: &[Member<'static>] = &[URL, METHOD, Member::new("data", "Request Body")];

impl Input {
    /// Read the message body, saying where each member belongs when one is
    /// missing or of the wrong type: never Rust's or serde's words.
    fn read(text: &str) -> Result<Input, Error> {
        let mut body = Body::parse(text, "\"url\" and \"method\" (and optionally \"data\")")?;
        body.only_or_alias(MEMBERS, ALIASES, MEMBERS_TAKEN)?;
        let url = body.take_string(URL, "a path under the API such as /profiles?page[size]=20")?;
        let method = body.take_string(METHOD, &format!("one of {}", method_list()))?;
        Ok(Input {
            url,
            method,
            data: request_body(body.take("data"))?,
        })
    }
}

/// Names people give the members, mapped to the member meant: the request
/// body is `body` in most HTTP tools, so `{"body": {...}}` would otherwise
/// reach Klaviyo as a request without one (its answer, `415 Unsupported
/// media type ""`, names neither).
const ALIASES: &[(&str, &str)] = &[
    ("body", "data"),
    ("payload", "data"),
    ("json", "data"),
    ("requestbody", "data"),
    ("path", "url"),
    ("uri", "url"),
    ("endpoint", "url"),
    ("href", "url"),
    ("link", "url"),
    ("verb", "method"),
    ("httpmethod", "method"),
];

/// What [`Input::read`] says of a member it does not know and cannot
/// place: what it takes instead.
const MEMBERS_TAKEN: &str =
    "it takes `url` (Url), `method` (Method) and `data` (Request Body, the JSON sent); remove it";

/// The request body: the JSON:API document mapped to msg.body.data, or
/// the text of one (the mapper writes text when the expression is a
/// string), sent as the JSON it holds; empty text is no body. Anything else
/// would reach Klaviyo as a JSON string ("does not contain primary data").
fn request_body(data: Option<Value>) -> Result<Option<Value>, Error> {
    const EXAMPLE: &str = r#"{"data": {"type": "profile", "attributes": {"email": "…"}}}"#;
    let parsed = match data {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(value @ Value::Object(_)) => value,
            Ok(other) => {
                return Err(Error::input(format!(
                    "\"Request Body\" (msg.body.data) is text holding {}, not a JSON object: map the JSON:API document, such as {EXAMPLE}",
                    values::kind(&other)
                )));
            }
            Err(e) => {
                return Err(Error::input(format!(
                    "\"Request Body\" (msg.body.data) is text that is not JSON ({} at line {} column {}): map the JSON:API document as an object, such as {EXAMPLE}, or text that parses as one",
                    syntax(&e),
                    e.line(),
                    e.column()
                )));
            }
        },
        Some(value @ Value::Object(_)) => value,
        Some(other) => {
            return Err(Error::input(format!(
                "\"Request Body\" (msg.body.data) must be a JSON object, the JSON:API document such as {EXAMPLE}, got {}",
                values::kind(&other)
            )));
        }
    };
    Ok(Some(parsed))
}

/// What is wrong with text that is not JSON, in words (serde's own say
/// "expected value" and more).
fn syntax(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "it ends too soon",
        _ => "unexpected characters",
    }
}

/// `GET, POST, PUT, PATCH or DELETE`.
fn method_list() -> String {
    match METHODS.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The emitted message's body.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "Make Raw Request output")]
pub(crate) struct Output {
    /// The HTTP status code of Klaviyo's answer.
    #[schemars(title = "Status Code", schema_with = "number")]
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The HTTP headers of Klaviyo's answer, names in lower case.
    #[schemars(title = "HTTP Headers")]
    pub headers: BTreeMap<String, String>,
    /// The answer's body: parsed JSON, or the text when it is not JSON, or null when there is none.
    #[schemars(title = "Response Body", schema_with = "any_json")]
    #[serde(rename = "responseBody", default)]
    pub response_body: Value,
}

/// Any JSON, shown to the platform's mapper as an object (what Klaviyo's
/// request and answer bodies are).
fn any_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object"})
}

fn number(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "number"})
}

/// The static metadata of component.json, derived from [`Input`] and
/// [`Output`].
pub(crate) fn metadata() -> MetaModel {
    MetaModel {
        input: platform_schema::<Input>(),
        output: platform_schema::<Output>(),
    }
}

pub(crate) struct RawRequest;

impl Action for RawRequest {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let output = request(run).await?;
        let message = fits(Message::with_body(&output)?, output.status_code)?;
        out.emit(Event::Data(message))?;
        Ok(())
    }
}

/// The message, when the platform can carry it: a larger one would fail
/// in sailor with "Outgoing message size … exceeds limit", naming neither
/// the request nor what to do.
fn fits(message: Message, status: u16) -> Result<Message, Error> {
    let size = message.body.get().len();
    if size <= MAX_MESSAGE_BYTES {
        return Ok(message);
    }
    Err(Error::input(format!(
        "Klaviyo answered {status} with {:.1} MB, more than the platform carries in one message \
         ({:.1} MB), so nothing was emitted (a write was carried out all the same). Ask for less in \
         msg.body.url: a smaller page[size], or only the fields needed (fields[profile]=email,first_name)",
        size as f64 / 1e6,
        MAX_MESSAGE_BYTES as f64 / 1e6
    )))
}

async fn request(run: Run) -> Result<Output, Error> {
    let do_not_throw_404 = run.cfg.checkbox(fields::DO_NOT_THROW_404)?;
    let request = Input::read(run.msg.body.get())?;
    let method = parse_method(&request.method)?;
    let url = resolve(&request.url, run.client.base_url())?;
    let body = match &request.data {
        None => None,
        Some(data) => Some(
            serde_json::to_vec(data)
                .map_err(|e| Error::input(format!("\"Request Body\" cannot be encoded: {e}")))?,
        ),
    };
    tracing::info!(
        "\"Make Raw Request\" action started: {method} {}",
        url.path()
    );
    let response = run
        .client
        .send(method.clone(), &url, body.as_deref())
        .await?;
    tracing::info!("{method} {} answered {}", url.path(), response.status);
    let ok = (200..300).contains(&response.status) || (response.status == 404 && do_not_throw_404);
    if !ok {
        let mut error = run.client.api_error(&response);
        if response.status == 404 {
            error = error.with_hint(format!(
                "Check the url, or check \"{}\" to receive 404 answers as messages",
                fields::DO_NOT_THROW_404.label
            ));
        }
        return Err(error.into());
    }
    let headers = response
        .headers
        .keys()
        .map(|name| {
            let values: Vec<&str> = response
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (name.as_str().to_owned(), values.join(", "))
        })
        .collect();
    Ok(Output {
        status_code: response.status,
        headers,
        response_body: body_value(&response.body),
    })
}

/// `GET`, `post`, ` Patch `… → the method.
fn parse_method(given: &str) -> Result<Method, Error> {
    let upper = given.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Method::from_bytes(upper.as_bytes()).map_err(|e| Error::input(e.to_string()));
    }
    Err(Error::input(format!(
        "\"Method\" must be one of {}, got {}",
        method_list(),
        component_sdk::config::describe(&Value::String(given.to_owned()))
    )))
}

/// JSON when the body is JSON, its text otherwise, null when empty.
fn body_value(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn methods_in_any_case() {
        for (given, want) in [
            ("GET", "GET"),
            ("post", "POST"),
            (" Patch ", "PATCH"),
            ("delete", "DELETE"),
            ("put", "PUT"),
        ] {
            assert_eq!(parse_method(given).expect(given).as_str(), want);
        }
        for bad in ["HEAD", "OPTIONS", "", "G ET", "TRACE"] {
            let err = parse_method(bad).expect_err(bad).to_string();
            assert_eq!(
                err,
                format!("\"Method\" must be one of GET, POST, PUT, PATCH or DELETE, got \"{bad}\"")
            );
        }
    }

    #[test]
    fn message_bodies_say_where_each_member_belongs() {
        let ok = Input::read(r#"{"url":"/lists","method":"get","data":null}"#).expect("valid");
        assert_eq!((ok.url.as_str(), ok.method.as_str()), ("/lists", "get"));
        assert!(ok.data.is_none());
        let cases = [
            (
                r#""/profiles""#,
                "the message body (msg.body) must be an object with \"url\" and \"method\" (and optionally \"data\"), got text",
            ),
            (
                "[1]",
                "the message body (msg.body) must be an object with \"url\" and \"method\" (and optionally \"data\"), got a list",
            ),
            (
                "{}",
                "\"Url\" is required: give msg.body.url, a path under the API such as /profiles?page[size]=20",
            ),
            (
                r#"{"url":"/x"}"#,
                "\"Method\" is required: give msg.body.method, one of GET, POST, PUT, PATCH or DELETE",
            ),
            (
                r#"{"url":5,"method":"GET"}"#,
                "\"Url\" (msg.body.url) must be text, got a number",
            ),
            (
                r#"{"url":"/x","method":{}}"#,
                "\"Method\" (msg.body.method) must be text, got an object",
            ),
            (
                r#"{"URL":"/x","method":"GET"}"#,
                "unknown member `URL` of the message body — did you mean `url` (Url)?",
            ),
            (
                r#"{"url":"/x","methd":"GET"}"#,
                "unknown member `methd` of the message body — did you mean `method` (Method)?",
            ),
        ];
        for (body, want) in cases {
            let err = Input::read(body).expect_err(body).to_string();
            assert_eq!(err, want, "{body}");
            assert!(!err.contains("line 1") && !err.contains("struct"), "{err}");
        }
    }

    #[test]
    fn members_that_are_not_the_inputs_are_refused_with_the_one_meant() {
        let cases = [
            (
                r#"{"method":"POST","url":"/lists","body":{"data":{}}}"#,
                "unknown member `body` of the message body — did you mean `data` (Request Body)?",
            ),
            (
                r#"{"method":"POST","url":"/lists","Payload":{}}"#,
                "unknown member `Payload` of the message body — did you mean `data` (Request Body)?",
            ),
            (
                r#"{"method":"GET","path":"/lists"}"#,
                "unknown member `path` of the message body — did you mean `url` (Url)?",
            ),
            (
                r#"{"url":"/lists","method":"GET","headers":{"x":"y"}}"#,
                "unknown member `headers` of the message body: it takes `url` (Url), `method` (Method) and `data` (Request Body, the JSON sent); remove it",
            ),
        ];
        for (body, want) in cases {
            let err = Input::read(body).expect_err(body).to_string();
            assert_eq!(err, want, "{body}");
        }
    }

    #[test]
    fn a_request_body_given_as_text_is_sent_as_the_json_it_holds() {
        let read = |data: Value| {
            Input::read(&json!({"url": "/lists", "method": "POST", "data": data}).to_string())
                .map(|input| input.data)
                .map_err(|e| e.to_string())
        };
        let document = json!({"data": {"type": "list", "attributes": {"name": "x"}}});
        assert_eq!(read(document.clone()), Ok(Some(document.clone())));
        assert_eq!(
            read(json!(document.to_string())),
            Ok(Some(document.clone()))
        );
        assert_eq!(read(json!(format!("  {document}\n"))), Ok(Some(document)));
        assert_eq!(read(json!("")), Ok(None));
        assert_eq!(read(json!("  ")), Ok(None));
        assert_eq!(
            read(json!("{\"data\": ")),
            Err("\"Request Body\" (msg.body.data) is text that is not JSON (it ends too soon at line 1 column 9): map the JSON:API document as an object, such as {\"data\": {\"type\": \"profile\", \"attributes\": {\"email\": \"…\"}}}, or text that parses as one".to_owned())
        );
        assert_eq!(
            read(json!("name=x")),
            Err("\"Request Body\" (msg.body.data) is text that is not JSON (unexpected characters at line 1 column 2): map the JSON:API document as an object, such as {\"data\": {\"type\": \"profile\", \"attributes\": {\"email\": \"…\"}}}, or text that parses as one".to_owned())
        );
        assert_eq!(
            read(json!("[1, 2]")),
            Err("\"Request Body\" (msg.body.data) is text holding a list, not a JSON object: map the JSON:API document, such as {\"data\": {\"type\": \"profile\", \"attributes\": {\"email\": \"…\"}}}".to_owned())
        );
        assert_eq!(
            read(json!([{"type": "profile"}])),
            Err("\"Request Body\" (msg.body.data) must be a JSON object, the JSON:API document such as {\"data\": {\"type\": \"profile\", \"attributes\": {\"email\": \"…\"}}}, got a list".to_owned())
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(body_value(b"  "), Value::Null);
        assert_eq!(body_value(br#"{"data":[]}"#), json!({"data": []}));
        assert_eq!(body_value(b"<html>oops</html>"), json!("<html>oops</html>"));
        assert_eq!(body_value(b"\xff\xfe"), json!("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn the_schemas_use_the_platform_dialect() {
        let m = metadata();
        assert_eq!(m.input["properties"]["url"]["required"], json!(true));
        assert_eq!(m.input["properties"]["method"]["required"], json!(true));
        assert!(m.input["properties"]["data"].get("required").is_none());
        assert_eq!(
            m.output["properties"]["statusCode"]["required"],
            json!(true)
        );
        assert_eq!(m.output["properties"]["headers"]["required"], json!(true));
    }
}
