//! The one way to talk to Klaviyo.
//!
//! Every request carries the API key, the revision, the JSON:API media type
//! and a User-Agent; is paced by Klaviyo's rate-limit headers; is retried by
//! [`retry::decide`]; and is bounded in time and size. Only URLs under the
//! configured base URL are ever requested, so the key goes nowhere else.

mod credentials;
mod cursor;
mod error;
mod pacing;
mod page;
mod retry;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use url::Url;

pub use self::credentials::Credentials;
pub(crate) use self::cursor::Cursor;
pub(crate) use self::error::{ApiError, CHECK_THE_KEY, Failure, TransportError, TransportKind};
pub(crate) use self::pacing::ONE_KEEPS_UP;
use self::pacing::Pacer;
pub use self::page::is_under;
pub(crate) use self::page::{Page, minify};
pub(crate) use self::retry::Repeatability;
use self::retry::{AttemptEnd, Decision, Policy};
use crate::Error;
use crate::revision::Revision;
use crate::settings::Settings;

/// The media type of every JSON:API request and answer.
pub(crate) const JSON_API: &str = "application/vnd.api+json";

/// `klaviyo-component/<version> reqwest/0.12`: who is calling, as
/// elastic.io components identify themselves.
pub(crate) const USER_AGENT: &str = concat!(
    "klaviyo-component/",
    env!("CARGO_PKG_VERSION"),
    " reqwest/0.12"
);

/// A Klaviyo API client for one set of credentials.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: String,
    authorization: HeaderValue,
    revision: Revision,
    policy: Policy,
    timeout: Duration,
    max_body: usize,
    pacer: Mutex<Pacer>,
    requests: AtomicU64,
}

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Whether an earlier attempt of this request was sent and got no
    /// answer from Klaviyo (`retry::AttemptEnd::unanswered`): this answer then
    /// describes what that attempt may already have done, e.g. a 404 to a
    /// retried DELETE whose first attempt deleted the record.
    pub unanswered_before: bool,
}

impl Client {
    pub fn new(credentials: Credentials, settings: &Settings) -> Result<Client, Error> {
        let mut authorization =
            HeaderValue::from_str(&format!("Klaviyo-API-Key {}", credentials.api_key)).map_err(
                |_| {
                    Error::config("\"API key\" contains characters that cannot be sent in a header")
                },
            )?;
        authorization.set_sensitive(true);
        #[allow(clippy::disallowed_methods)] // this is the one place that builds it
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(10)))
            // A redirect could lead the key elsewhere; Klaviyo's API does not
            // redirect.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::config(format!("the HTTP client cannot be set up: {e}")))?;
        Ok(Client {
            http,
            base: settings.base_url.clone(),
            api_key: credentials.api_key,
            authorization,
            revision: credentials.revision,
            policy: Policy {
                retries: settings.retries,
                base_delay: settings.retry_delay,
                max_delay: Duration::from_secs(30),
                max_retry_after: settings.max_retry_after,
            },
            timeout: settings.request_timeout,
            max_body: settings.max_response_bytes,
            pacer: Mutex::new(Pacer::default()),
            requests: AtomicU64::new(0),
        })
    }

    pub fn revision(&self) -> &Revision {
        &self.revision
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// How many HTTP requests were sent, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The URL of `path` (e.g. `/profiles`) under the base URL, with `query`.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            self.base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Send a request and return the answer, whatever its status, after the
    /// retries the policy allows for its method. Refuses URLs outside the
    /// base URL.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Response, Error> {
        let repeatability = Repeatability::of(&method);
        self.send_as(method, url, body, repeatability).await
    }

    /// [`Client::send`], with the caller declaring whether repeating the
    /// request can do harm, where the method alone does not tell:
    /// `Repeatability::Idempotent` for a POST that Klaviyo applies once
    /// however often it arrives (a create-or-update through
    /// `/profile-import`, an event with a `unique_id`, list membership,
    /// subscription jobs), so it is retried after a 5xx or a timeout like a
    /// PUT; `Repeatability::Unsafe` for a write that may act twice (a POST
    /// that creates, a PATCH), retried only when Klaviyo cannot have acted
    /// (a 429, a connection that was never made). See `retry::decide`.
    pub async fn send_as(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        repeatability: Repeatability,
    ) -> Result<Response, Error> {
        if !is_under(url, &self.base) {
            return Err(Error::input(format!(
                "refusing to send the API key to {}: it is outside {}",
                url.origin().ascii_serialization(),
                self.base
            )));
        }
        let label = format!("{method} {}", url.path());
        let mut attempt = 0;
        let mut unanswered_before = false;
        loop {
            attempt += 1;
            self.pace().await;
            let started = Instant::now();
            let result = self.attempt(&method, url, body).await;
            self.answered(&result, started.elapsed());
            let outcome = match &result {
                Ok(response) => AttemptEnd::Status {
                    code: response.status,
                    retry_after: retry_after(&response.headers),
                },
                Err((kind, _)) => match kind {
                    TransportKind::NotConnected => AttemptEnd::NotConnected,
                    TransportKind::TimedOut => AttemptEnd::TimedOut,
                    TransportKind::ConnectionLost => AttemptEnd::ConnectionLost,
                    // Asking again brings the same oversized answer.
                    TransportKind::TooLarge => AttemptEnd::Status {
                        code: 200,
                        retry_after: None,
                    },
                },
            };
            tracing::debug!(
                "{method} {} → {} in {} ms",
                loggable(url),
                describe(&outcome),
                started.elapsed().as_millis()
            );
            match retry::decide(
                &self.policy,
                attempt,
                repeatability,
                outcome,
                rand::random::<f64>(),
            ) {
                Decision::Retry(wait) => {
                    tracing::warn!(
                        "{label}: {}; retrying in {:.1} s (retry {attempt} of {})",
                        describe(&outcome),
                        wait.as_secs_f64(),
                        self.policy.retries
                    );
                    tokio::time::sleep(wait).await;
                    unanswered_before |= outcome.unanswered();
                }
                Decision::Stop => {
                    let result = result.map(|response| Response {
                        unanswered_before,
                        ..response
                    });
                    return result.map_err(|(kind, cause)| {
                        Error::Transport(TransportError {
                            kind,
                            host: format!(
                                "{}:{}",
                                url.host_str().unwrap_or_default(),
                                url.port_or_known_default().unwrap_or_default()
                            ),
                            request: label,
                            attempts: attempt,
                            cause,
                        })
                    });
                }
            }
        }
    }

    /// GET one page of a collection.
    pub async fn get_page(&self, url: &Url) -> Result<Page, Error> {
        let response = self.send(Method::GET, url, None).await?;
        if !(200..300).contains(&response.status) {
            return Err(self.api_error(&response).into());
        }
        Page::parse(&response.body, &self.base)
    }

    /// The error an unsuccessful answer stands for, with Klaviyo's details
    /// and the API key masked, and what to fix when Klaviyo refused the key.
    pub fn api_error(&self, response: &Response) -> ApiError {
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let error =
            ApiError::from_body(response.status, content_type, &response.body, &self.api_key);
        match error.failure() {
            Failure::BadKey => error.with_hint(CHECK_THE_KEY),
            _ => error,
        }
    }

    /// How many requests in flight Klaviyo's steady limit (as announced,
    /// or else the one `documented` per second) can use at the latency
    /// seen so far; `None` until an answer came.
    pub fn useful_in_flight(&self, documented: Option<f64>) -> Option<usize> {
        self.pacer.lock().ok()?.useful_in_flight(documented)
    }

    async fn pace(&self) {
        let wait = match self.pacer.lock() {
            Ok(mut pacer) => pacer.reserve(Instant::now()),
            Err(_) => Duration::ZERO,
        };
        if !wait.is_zero() {
            tracing::debug!(
                "pacing: waiting {} ms to stay under Klaviyo's rate limit",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Tell the pacer how an attempt ended: what the answer said about the
    /// window, and a `Retry-After` that every request must wait for.
    fn answered(&self, result: &Result<Response, (TransportKind, String)>, took: Duration) {
        let Ok(mut pacer) = self.pacer.lock() else {
            return;
        };
        let now = Instant::now();
        match result {
            Ok(response) => {
                let succeeded = (200..300).contains(&response.status);
                pacer.observe(&response.headers, now, succeeded.then_some(took));
                if response.status == 429
                    && let Some(wait) = retry_after(&response.headers)
                    && wait <= self.policy.max_retry_after
                {
                    pacer.hold(now + wait);
                }
            }
            Err(_) => pacer.release(),
        }
    }

    /// One attempt: the answer, or how the transport failed and why.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Response, (TransportKind, String)> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .timeout(self.timeout)
            .header(AUTHORIZATION, self.authorization.clone())
            .header("revision", self.revision.as_str())
            .header(ACCEPT, JSON_API);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, JSON_API).body(body.to_vec());
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut collected = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if collected.len() + chunk.len() > self.max_body {
                return Err((
                    TransportKind::TooLarge,
                    format!("more than {} bytes (API_MAX_RESPONSE_BYTES)", self.max_body),
                ));
            }
            collected.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: collected,
            unanswered_before: false,
        })
    }
}

/// `Retry-After` in seconds (Klaviyo's form) or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn classify(error: reqwest::Error) -> (TransportKind, String) {
    let kind = if error.is_timeout() {
        TransportKind::TimedOut
    } else if error.is_connect() {
        TransportKind::NotConnected
    } else {
        TransportKind::ConnectionLost
    };
    (kind, root_cause(&error))
}

/// The innermost cause, which says what happened ("Connection refused")
/// where the outer layers only say where.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

fn describe(outcome: &AttemptEnd) -> String {
    match outcome {
        AttemptEnd::Status {
            code,
            retry_after: Some(wait),
        } => {
            format!("status {code} (Retry-After {} s)", wait.as_secs())
        }
        AttemptEnd::Status { code, .. } => format!("status {code}"),
        AttemptEnd::NotConnected => "no connection".to_owned(),
        AttemptEnd::TimedOut => "timed out".to_owned(),
        AttemptEnd::ConnectionLost => "connection lost".to_owned(),
    }
}

/// The URL as logged: path and query (they hold filters, never secrets).
fn loggable(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

#[cfg(test)]
mod tests;
