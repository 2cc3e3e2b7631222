//! The "Make Raw Request" action: any Klaviyo call, with the credential's
//! key and revision, to the Klaviyo API and nowhere else.

mod target;

use std::collections::BTreeMap;

use component_sdk::schema::platform_schema;
use component_sdk::{Event, Message, MetaModel, Sink, Step, StepInput};
use reqwest::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::target::resolve;
use crate::Error;
use crate::client::Failure;
use crate::context::Context;
use crate::fields;

/// The methods the action sends.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The incoming message's body.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(title = "Make Raw Request input")]
pub struct Input {
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

/// The emitted message's body.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "Make Raw Request output")]
pub struct Output {
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
pub fn metadata() -> MetaModel {
    MetaModel {
        input: platform_schema::<Input>(),
        output: platform_schema::<Output>(),
    }
}

pub struct RawRequest;

impl Step for RawRequest {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        match run(input).await {
            Ok(output) => out.emit(Event::Data(Message::with_body(&output)?)),
            // Still throttled after the retries: the platform delivers the
            // message again later instead of failing it.
            Err(Error::Api(api)) if api.failure() == Failure::Throttled => {
                tracing::warn!("{api}; asking the platform to deliver the message again later");
                out.emit(Event::Rebound {
                    reason: api.to_string(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

async fn run(input: StepInput) -> Result<Output, Error> {
    let Context { client, .. } = Context::new(&input.cfg, &input.env)?;
    let do_not_throw_404 = input.cfg.checkbox(fields::DO_NOT_THROW_404)?;
    let request: Input = input.msg.body_as().map_err(|e| {
        Error::input(format!(
            "the message body must be an object with \"url\" and \"method\" (and optionally \"data\"): {e}"
        ))
    })?;
    let method = parse_method(&request.method)?;
    let url = resolve(&request.url, client.base_url())?;
    let body = match &request.data {
        None | Some(Value::Null) => None,
        Some(data) => Some(
            serde_json::to_vec(data)
                .map_err(|e| Error::input(format!("\"Request Body\" cannot be encoded: {e}")))?,
        ),
    };
    tracing::info!(
        "\"Make Raw Request\" action started: {method} {}",
        url.path()
    );
    let response = client.send(method.clone(), &url, body.as_deref()).await?;
    tracing::info!("{method} {} answered {}", url.path(), response.status);
    let ok = (200..300).contains(&response.status) || (response.status == 404 && do_not_throw_404);
    if !ok {
        let mut error = client.api_error(&response);
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

/// `GET`, `post`, ` Patch `… → the method, or the platform's error message.
fn parse_method(given: &str) -> Result<Method, Error> {
    let upper = given.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Method::from_bytes(upper.as_bytes()).map_err(|e| Error::input(e.to_string()));
    }
    let shown: String = given.chars().take(40).filter(|c| !c.is_control()).collect();
    Err(Error::input(format!(
        "Method \"{shown}\" is not supported! Supported methods are: {}",
        serde_json::to_string(METHODS).unwrap_or_default()
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
                format!(
                    "Method \"{bad}\" is not supported! Supported methods are: [\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\"]"
                )
            );
        }
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
