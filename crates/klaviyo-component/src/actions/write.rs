//! Sending an action's writes: Klaviyo's errors named by the input's
//! fields, a write that may have been carried out said so rather than
//! repeated, and a write in several batches that fails part way said how
//! far it got.

use serde_json::Value;

use super::jsonapi;
use super::request::Mapped;
use crate::Error;
use crate::client::{ApiError, Client, Failure, Repeatability, Response, TransportKind};

/// Send a write of `document` (by the request schema `schema`) and return
/// Klaviyo's 2xx answer. Retried as `repeatability` allows; Klaviyo's
/// errors name the input's fields, and a write that is not safe to repeat
/// and may have been carried out says so.
pub(super) async fn write(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    document: &Value,
    schema: &Value,
    repeatability: Repeatability,
) -> Result<Response, Error> {
    write_at(
        client,
        method,
        path,
        document,
        schema,
        repeatability,
        &|path| path,
    )
    .await
}

/// [`write`], Klaviyo's pointers translated by `at` ([`Mapped`]).
async fn write_at(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    document: &Value,
    schema: &Value,
    repeatability: Repeatability,
    at: Mapped<'_>,
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
    let error = Error::Api(with_labels(client.api_error(&response), schema, at));
    Err(if unsafe_write {
        not_repeated(error, &request)
    } else {
        error
    })
}

/// A write too long for one request, sent in batches: each an idempotent
/// write (a set, a consent: sending it again changes nothing) to the same
/// path.
pub(super) struct Batches<'a> {
    pub client: &'a Client,
    pub method: reqwest::Method,
    pub path: &'a str,
    pub schema: &'a Value,
    /// Whether a batch throttled past the retries rebounds the message even
    /// after others went through: only where sending those again later
    /// changes nothing (list membership; not a subscription, which a
    /// profile may have withdrawn meanwhile).
    pub rebound_after_some: bool,
    /// The field the user mapped that a flattened path into a batch names,
    /// given the index in `items` of the batch's first item: the second
    /// batch's `[1]` is the message's `[size + 1]` ([`Mapped`]).
    pub mapped: &'a dyn Fn(String, usize) -> String,
}

impl Batches<'_> {
    /// Send `items`, at most `size` in each request, in the document
    /// `document` makes of them, in order; Klaviyo's answers, each with
    /// how many items it took. A failure after some went through says how
    /// far it got, in `done(items sent, batches accepted)`.
    pub(super) async fn send(
        &self,
        items: &[Value],
        size: usize,
        document: impl Fn(&[Value]) -> Value,
        done: impl Fn(usize, usize) -> String,
    ) -> Result<Vec<(Response, usize)>, Error> {
        let mut answers: Vec<(Response, usize)> = Vec::new();
        let mut sent = 0;
        for batch in items.chunks(size.max(1)) {
            let start = sent;
            let response = match write_at(
                self.client,
                self.method.clone(),
                self.path,
                &document(batch),
                self.schema,
                Repeatability::Idempotent,
                &|path| (self.mapped)(path, start),
            )
            .await
            {
                Ok(response) => response,
                Err(Error::Api(e))
                    if self.rebound_after_some && e.failure() == Failure::Throttled =>
                {
                    return Err(Error::Api(e));
                }
                Err(e) if sent > 0 => return Err(partly_done(e, &done(sent, answers.len()))),
                Err(e) => return Err(e),
            };
            sent += batch.len();
            answers.push((response, batch.len()));
        }
        Ok(answers)
    }
}

/// Klaviyo's error with each `source.pointer` into the body replaced by the
/// field of the input metadata it points at, each path translated by `at`
/// ([`Mapped`]) into the field the user mapped.
pub(super) fn with_labels(mut error: ApiError, document: &Value, at: Mapped) -> ApiError {
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
        match jsonapi::input_path(pointer, document).map(at) {
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
pub(super) fn not_repeated(error: Error, request: &str) -> Error {
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
pub(super) fn partly_done(error: Error, done: &str) -> Error {
    let said = error.to_string();
    Error::Sdk(component_sdk::Error::new(
        error.kind(),
        format!(
            "{}. {done}; the rest was not sent: send only the rest again",
            said.trim_end_matches('.')
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            with_labels(error, &schema, &|path| path).to_string(),
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
