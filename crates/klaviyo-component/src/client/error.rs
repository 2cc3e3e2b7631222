//! How Klaviyo's failures are told to the user.

use std::fmt;

use serde::Deserialize;

/// Klaviyo answered with an error status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The entries of Klaviyo's JSON:API error document, when it sent one.
    pub errors: Vec<ErrorEntry>,
    /// What the body was instead, when it was not an error document.
    pub other_body: Option<OtherBody>,
    /// A sentence that tells the user what to do, added by the caller that
    /// knows the context (e.g. which scope a 403 means).
    pub hint: Option<String>,
}

/// What a failed answer means, the one classification that the error kinds,
/// the hints and credential verification all match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Klaviyo refused the key (its own 401).
    BadKey,
    /// Klaviyo knows the key, which lacks the scope this request needs (its
    /// own 403).
    MissingScope,
    /// Too many requests (429), still after the retries.
    Throttled,
    /// Klaviyo, or something in front of it, failed: a 5xx, or a 401/403
    /// page that is not Klaviyo's. A later attempt may succeed.
    Server,
    /// Klaviyo refused the request itself (another 4xx): it refuses it
    /// again until the request changes.
    Other,
}

/// One entry of `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ErrorEntry {
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub detail: Option<String>,
    #[serde(default)]
    pub source: Option<ErrorSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ErrorSource {
    #[serde(default, deserialize_with = "lenient_string")]
    pub parameter: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub pointer: Option<String>,
}

/// A body that is not Klaviyo's error document: Cloudflare's HTML pages,
/// proxies' plain text, an RFC 9457 problem document, nothing at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherBody {
    pub content_type: Option<String>,
    /// A short, single-line excerpt (an HTML page's title when it has one;
    /// a problem document's title and detail).
    pub excerpt: String,
    /// The body is a problem document (`application/problem+json`), whose
    /// `excerpt` says what happened in words meant for people.
    pub problem: bool,
}

/// What to do when Klaviyo refuses the key.
pub(crate) const CHECK_THE_KEY: &str = "Check the credential's API key: it must be a Private API Key \
     (it starts with pk_) that has not been revoked";

/// Longest excerpt of a foreign body shown in a message.
const EXCERPT_CHARS: usize = 200;

impl ApiError {
    /// Read an error answer. `secret` is masked wherever it appears.
    pub fn from_body(
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        secret: &str,
    ) -> ApiError {
        #[derive(Deserialize)]
        struct Document {
            errors: Vec<ErrorEntry>,
        }
        let mask = |s: String| {
            if secret.len() >= 6 {
                s.replace(secret, "***")
            } else {
                s
            }
        };
        if let Ok(doc) = serde_json::from_slice::<Document>(body)
            && !doc.errors.is_empty()
        {
            let errors = doc
                .errors
                .into_iter()
                .map(|e| ErrorEntry {
                    code: e.code.map(mask),
                    title: e.title.map(mask),
                    detail: e.detail.map(mask),
                    source: e.source.map(|s| ErrorSource {
                        parameter: s.parameter.map(mask),
                        pointer: s.pointer.map(mask),
                    }),
                })
                .collect();
            return ApiError {
                status,
                errors,
                other_body: None,
                hint: None,
            };
        }
        let content_type = content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_owned());
        let problem = content_type
            .as_deref()
            .is_some_and(|c| c.ends_with("problem+json"))
            .then(|| problem_text(body))
            .flatten();
        let text = String::from_utf8_lossy(body);
        ApiError {
            status,
            errors: Vec::new(),
            other_body: Some(OtherBody {
                content_type,
                problem: problem.is_some(),
                excerpt: mask(excerpt(problem.as_deref().unwrap_or(&text))),
            }),
            hint: None,
        }
    }

    /// What the failure means for the user. Only Klaviyo's own 401 and 403
    /// (its JSON:API error document) say something about the key: a
    /// Cloudflare challenge page with the same status says nothing about
    /// it, and may pass.
    pub fn failure(&self) -> Failure {
        match self.status {
            401 if self.is_from_klaviyo() => Failure::BadKey,
            403 if self.is_from_klaviyo() => Failure::MissingScope,
            401 | 403 => Failure::Server,
            429 => Failure::Throttled,
            500..=599 => Failure::Server,
            _ => Failure::Other,
        }
    }

    /// Whether Klaviyo itself answered, with its JSON:API error document,
    /// rather than something in front of it (Cloudflare's HTML pages, a
    /// proxy).
    pub fn is_from_klaviyo(&self) -> bool {
        self.other_body.is_none() && !self.errors.is_empty()
    }

    /// "Invalid cursor provided.": the cursor expired or was refused; a
    /// query can start again without it.
    pub fn is_cursor_error(&self) -> bool {
        self.status == 400 && (self.mentions("cursor") || self.mentions("Cursor"))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    /// Whether any entry's detail or title contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        self.errors.iter().any(|e| {
            e.detail.as_deref().is_some_and(|d| d.contains(text))
                || e.title.as_deref().is_some_and(|t| t.contains(text))
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Klaviyo answered {}", self.status)?;
        if let Some(other) = &self.other_body {
            match (&other.content_type, other.excerpt.is_empty()) {
                (_, false) if other.problem => write!(f, ": {}", other.excerpt)?,
                (_, true) => write!(f, " with an empty body")?,
                (Some(ct), false) => {
                    write!(f, " with a {ct} body instead of JSON: {}", other.excerpt)?
                }
                (None, false) => write!(f, " with a body that is not JSON: {}", other.excerpt)?,
            }
        }
        for (i, entry) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { "; " })?;
            if let Some(code) = &entry.code {
                write!(f, "({code}): ")?;
            }
            let text = entry
                .detail
                .as_deref()
                .or(entry.title.as_deref())
                .unwrap_or("no detail given");
            let located = entry.source.as_ref().and_then(ErrorSource::location);
            match (&self.hint, located) {
                (_, Some(at)) => write!(f, "{text} [{at}]")?,
                // The hint adds its own period.
                (Some(_), None) if i + 1 == self.errors.len() => {
                    f.write_str(text.trim_end_matches('.'))?
                }
                _ => f.write_str(text)?,
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, ". {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ErrorSource {
    /// The query parameter or the part of the request body Klaviyo blames,
    /// when it blames a part: `/data` and `/data/` (its pointer at the
    /// whole document, as on a 401) say nothing.
    fn location(&self) -> Option<&str> {
        self.parameter
            .as_deref()
            .or(self.pointer.as_deref())
            .filter(|at| !matches!(at.trim_end_matches('/'), "" | "/data"))
    }
}

/// A problem document's `title` and `detail`, as one sentence.
fn problem_text(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(default, deserialize_with = "lenient_string")]
        title: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        detail: Option<String>,
    }
    let problem: Problem = serde_json::from_slice(body).ok()?;
    match (problem.title, problem.detail) {
        (Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
        (one, other) => one.or(other),
    }
}

/// No usable answer arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    pub kind: TransportKind,
    /// `a.klaviyo.com:443`: where the request went.
    pub host: String,
    /// `GET /profiles`: method and path, without the query.
    pub request: String,
    pub attempts: u32,
    /// The underlying cause, in a few words.
    pub cause: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    NotConnected,
    TimedOut,
    ConnectionLost,
    /// The answer was larger than the configured limit.
    TooLarge,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tries = if self.attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{} attempts", self.attempts)
        };
        match self.kind {
            TransportKind::NotConnected => {
                write!(
                    f,
                    "Klaviyo could not be reached at {} for {} ({}; {tries})",
                    self.host, self.request, self.cause
                )
            }
            TransportKind::TimedOut => {
                write!(
                    f,
                    "Klaviyo did not answer {} in time ({}; {tries})",
                    self.request, self.cause
                )
            }
            TransportKind::ConnectionLost => write!(
                f,
                "the connection to Klaviyo broke during {} ({}; {tries})",
                self.request, self.cause
            ),
            TransportKind::TooLarge => write!(
                f,
                "Klaviyo's answer to {} is too large: {}",
                self.request, self.cause
            ),
        }
    }
}

impl std::error::Error for TransportError {}

/// A single line of at most [`EXCERPT_CHARS`] characters: an HTML page's
/// `<title>` when there is one, else the text with whitespace collapsed.
pub(super) fn excerpt(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let source = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(start), Some(end)) if start + 7 <= end => &text[start + 7..end],
        _ => text,
    };
    let mut out = String::new();
    for word in source.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > EXCERPT_CHARS {
            break;
        }
    }
    let mut shortened: String = out
        .chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT_CHARS)
        .collect();
    if out.chars().count() > EXCERPT_CHARS {
        shortened.push('…');
    }
    shortened
}

/// Strings where Klaviyo sends strings, and anything else made into one, so
/// a new shape of error document never hides the error itself.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn klaviyo_error_documents() {
        let cases: &[(u16, &str, &str)] = &[
            (
                400,
                r#"{"errors":[{"id":"1","status":400,"code":"invalid","title":"Invalid input.","detail":"'greater-or-equal' operator for filter field 'updated' not supported","source":{"parameter":"filter"},"meta":{}}]}"#,
                "Klaviyo answered 400 (invalid): 'greater-or-equal' operator for filter field 'updated' not supported [filter]",
            ),
            (
                401,
                r#"{"errors":[{"id":"f2b6","status":401,"code":"not_authenticated","title":"Authentication credentials were not provided.","detail":"Missing or invalid authorization scheme. Please use Klaviyo-API-Key.","source":{"pointer":"/data/"}}]}"#,
                "Klaviyo answered 401 (not_authenticated): Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
            ),
            (
                429,
                r#"{"errors":[{"status":429,"code":"throttled","title":"Request was throttled."}]}"#,
                "Klaviyo answered 429 (throttled): Request was throttled.",
            ),
            (
                400,
                r#"{"errors":[{"code":"invalid","detail":"a"},{"code":"invalid","detail":"b","source":{"parameter":"sort"}}]}"#,
                "Klaviyo answered 400 (invalid): a; (invalid): b [sort]",
            ),
            (
                400,
                r#"{"errors":[{"code":7,"detail":{"nested":true},"future_field":1}]}"#,
                "Klaviyo answered 400 (7): {\"nested\":true}",
            ),
        ];
        for (status, body, want) in cases {
            let err = ApiError::from_body(
                *status,
                Some("application/vnd.api+json"),
                body.as_bytes(),
                "",
            );
            assert_eq!(err.to_string(), *want);
        }
    }

    #[test]
    fn hints_follow_the_detail_with_one_period() {
        let body = br#"{"errors":[{"code":"not_found","detail":"A profile with id 01XYZ does not exist.","source":{"pointer":"/data/"}}]}"#;
        let err = ApiError::from_body(404, None, body, "").with_hint("Check the url");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 404 (not_found): A profile with id 01XYZ does not exist. Check the url"
        );
        let body = br#"{"errors":[{"code":"invalid","detail":"Bad.","source":{"pointer":"/data/attributes/email"}}]}"#;
        let err = ApiError::from_body(400, None, body, "").with_hint("Fix it");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 400 (invalid): Bad. [/data/attributes/email]. Fix it"
        );
    }

    #[test]
    fn problem_documents_say_what_happened() {
        let body = br#"{"type":"about:blank","title":"Not Found","status":404,"detail":"The requested resource was not found"}"#;
        let err = ApiError::from_body(404, Some("application/problem+json"), body, "");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 404: Not Found: The requested resource was not found"
        );
        assert_eq!(err.failure(), Failure::Other);
        let err = ApiError::from_body(
            401,
            Some("application/problem+json"),
            br#"{"title":"Unauthorized"}"#,
            "",
        );
        assert_eq!(err.to_string(), "Klaviyo answered 401: Unauthorized");
        assert_eq!(err.failure(), Failure::Server, "not Klaviyo's own document");
        // A problem document that is not JSON is shown as text.
        let err = ApiError::from_body(404, Some("application/problem+json"), b"oops", "");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 404 with a application/problem+json body instead of JSON: oops"
        );
    }

    #[test]
    fn bodies_that_are_not_error_documents() {
        let html = "<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n<body>cloudflare</body></html>";
        let err = ApiError::from_body(503, Some("text/html; charset=UTF-8"), html.as_bytes(), "");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 503 with a text/html body instead of JSON: 503 Service Temporarily Unavailable"
        );
        let err = ApiError::from_body(502, None, b"", "");
        assert_eq!(err.to_string(), "Klaviyo answered 502 with an empty body");
        let err = ApiError::from_body(500, Some("application/json"), br#"{"errors":[]}"#, "");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 500 with a application/json body instead of JSON: {\"errors\":[]}"
        );
        let long = "x ".repeat(500);
        let err = ApiError::from_body(500, None, long.as_bytes(), "");
        let shown = err.to_string();
        assert!(shown.ends_with('…') && shown.len() < 300, "{shown}");
        let truncated =
            ApiError::from_body(500, Some("application/json"), br#"{"errors":[{"det"#, "");
        assert!(
            truncated.to_string().contains("{\"errors\":[{\"det"),
            "{truncated}"
        );
    }

    #[test]
    fn the_key_is_masked_in_what_klaviyo_says() {
        let body =
            r#"{"errors":[{"code":"not_authenticated","detail":"Key pk_abcdef123 is not valid"}]}"#;
        let err = ApiError::from_body(401, None, body.as_bytes(), "pk_abcdef123");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 401 (not_authenticated): Key *** is not valid"
        );
        let err = ApiError::from_body(
            400,
            Some("text/plain"),
            b"bad key pk_abcdef123",
            "pk_abcdef123",
        );
        assert!(!err.to_string().contains("pk_abcdef123"));
    }

    #[test]
    fn hints() {
        let err = ApiError::from_body(
            403,
            None,
            br#"{"errors":[{"code":"permission_denied","detail":"no"}]}"#,
            "",
        )
        .with_hint("The API key needs the scope campaigns:read");
        assert_eq!(
            err.to_string(),
            "Klaviyo answered 403 (permission_denied): no. The API key needs the scope campaigns:read"
        );
        assert_eq!(err.failure(), Failure::MissingScope);
    }

    #[test]
    fn failures() {
        let klaviyo = br#"{"errors":[{"code":"x","detail":"y"}]}"#;
        let html = b"<html><title>Just a moment...</title></html>";
        let cases: &[(u16, &[u8], Failure)] = &[
            (401, klaviyo, Failure::BadKey),
            (403, klaviyo, Failure::MissingScope),
            (401, html, Failure::Server),
            (403, html, Failure::Server),
            (403, b"", Failure::Server),
            (429, klaviyo, Failure::Throttled),
            (429, b"", Failure::Throttled),
            (500, klaviyo, Failure::Server),
            (503, html, Failure::Server),
            (400, klaviyo, Failure::Other),
            (404, klaviyo, Failure::Other),
            (409, b"", Failure::Other),
        ];
        for (status, body, want) in cases {
            assert_eq!(
                ApiError::from_body(*status, None, body, "").failure(),
                *want,
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
