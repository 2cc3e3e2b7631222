//! Operator settings: environment variables the platform operator (not the
//! flow's user) sets for every run. Each has a documented default; an
//! unusable value is reported at `warn` and the default is used, as the
//! elastic.io commons library does, except the base URL, which has no safe
//! fallback.

use std::time::Duration;

use component_sdk::Env;
use url::Url;

use crate::Error;

/// Klaviyo's production API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com/api";

#[derive(Debug, Clone)]
pub struct Settings {
    /// `KLAVIYO_BASE_URL`: where the API lives; for tests and demos.
    pub base_url: Url,
    /// `API_RETRIES_COUNT`: retries after a failed attempt.
    pub retries: u32,
    /// `API_REQUEST_TIMEOUT` (ms): limit for one attempt, body included.
    pub request_timeout: Duration,
    /// `API_RETRY_DELAY` (ms): the first backoff delay; each retry doubles it.
    pub retry_delay: Duration,
    /// `API_MAX_RETRY_AFTER` (s): the longest `Retry-After` honoured; a
    /// longer one fails the request instead of stalling the run.
    pub max_retry_after: Duration,
    /// `KLAVIYO_POLL_LAG_SECONDS`: how far behind now the trigger polls, so
    /// records Klaviyo lists a few seconds late are not skipped.
    pub poll_lag: Duration,
    /// `API_MAX_RESPONSE_BYTES`: larger answers are refused.
    pub max_response_bytes: usize,
    /// `KLAVIYO_MAX_IN_FLIGHT`: the most requests the trigger has in flight
    /// at once; `None` lets the endpoint's rate-limit tier decide, 1 reads
    /// one page after the other.
    pub max_in_flight: Option<usize>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            base_url: Url::parse(DEFAULT_BASE_URL).expect("valid URL"),
            retries: 3,
            request_timeout: Duration::from_millis(30_000),
            retry_delay: Duration::from_millis(1_000),
            max_retry_after: Duration::from_secs(120),
            poll_lag: Duration::from_secs(5),
            max_response_bytes: 32 * 1024 * 1024,
            max_in_flight: None,
        }
    }
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Settings, Error> {
        let defaults = Settings::default();
        let base_url = match env.get("KLAVIYO_BASE_URL") {
            None => defaults.base_url,
            Some(raw) => parse_base_url(raw)?,
        };
        Ok(Settings {
            base_url,
            retries: number(env, "API_RETRIES_COUNT", 0, 10, defaults.retries.into()) as u32,
            request_timeout: Duration::from_millis(number(
                env,
                "API_REQUEST_TIMEOUT",
                500,
                300_000,
                defaults.request_timeout.as_millis() as u64,
            )),
            retry_delay: Duration::from_millis(number(
                env,
                "API_RETRY_DELAY",
                0,
                60_000,
                defaults.retry_delay.as_millis() as u64,
            )),
            max_retry_after: Duration::from_secs(number(
                env,
                "API_MAX_RETRY_AFTER",
                0,
                3_600,
                defaults.max_retry_after.as_secs(),
            )),
            poll_lag: Duration::from_secs(number(
                env,
                "KLAVIYO_POLL_LAG_SECONDS",
                0,
                3_600,
                defaults.poll_lag.as_secs(),
            )),
            max_response_bytes: number(
                env,
                "API_MAX_RESPONSE_BYTES",
                1024,
                1 << 30,
                defaults.max_response_bytes as u64,
            ) as usize,
            max_in_flight: in_flight(env),
        })
    }
}

/// An http(s) URL without query, fragment or credentials, path without a
/// trailing slash.
pub fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let bad = |why: &str| {
        Error::config(format!(
            "KLAVIYO_BASE_URL must be an http or https URL such as {DEFAULT_BASE_URL}: {why}"
        ))
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("the scheme is not http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("there is no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it has a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it contains credentials"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    // Every path Klaviyo answers is under /api; without it each request
    // would get a 404 for its own path ("The path /lists was not found"),
    // which sends people looking for the wrong mistake.
    if !path.ends_with("/api") {
        return Err(bad(&format!(
            "its path must end in /api, where Klaviyo's API is, got {:?}",
            if path.is_empty() { "/" } else { path.as_str() }
        )));
    }
    url.set_path(&path);
    Ok(url)
}

/// `KLAVIYO_MAX_IN_FLIGHT`, when set to a usable value; otherwise the
/// endpoint's tier decides.
fn in_flight(env: &Env) -> Option<usize> {
    let raw = env.get("KLAVIYO_MAX_IN_FLIGHT")?;
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Some(n),
        _ => {
            tracing::warn!(
                "KLAVIYO_MAX_IN_FLIGHT={raw:?} is not a whole number from 1 to 64; the object type's rate-limit tier decides"
            );
            None
        }
    }
}

fn number(env: &Env, name: &str, min: u64, max: u64, default: u64) -> u64 {
    let Some(raw) = env.get(name) else {
        return default;
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => {
            tracing::warn!(
                "{name}={raw:?} is not a whole number from {min} to {max}; using the default {default}"
            );
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_environment() {
        let s = Settings::from_env(&Env::default()).expect("defaults");
        assert_eq!(s.base_url.as_str(), "https://a.klaviyo.com/api");
        assert_eq!(s.retries, 3);
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.poll_lag, Duration::from_secs(5));
    }

    #[test]
    fn values_are_read_and_bad_ones_fall_back() {
        let env = Env::default()
            .with("KLAVIYO_BASE_URL", "http://127.0.0.1:8080/api/")
            .with("API_RETRIES_COUNT", "0")
            .with("API_REQUEST_TIMEOUT", "1500")
            .with("API_RETRY_DELAY", "abc")
            .with("KLAVIYO_POLL_LAG_SECONDS", "99999");
        let s = Settings::from_env(&env).expect("reads");
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080/api");
        assert_eq!(s.retries, 0);
        assert_eq!(s.request_timeout, Duration::from_millis(1500));
        assert_eq!(s.retry_delay, Duration::from_secs(1), "bad value → default");
        assert_eq!(s.poll_lag, Duration::from_secs(5), "out of range → default");
        assert_eq!(s.max_in_flight, None, "unset → the endpoint's tier");
        let limited =
            |v: &str| Settings::from_env(&Env::default().with("KLAVIYO_MAX_IN_FLIGHT", v));
        assert_eq!(limited("1").expect("reads").max_in_flight, Some(1));
        assert_eq!(limited("64").expect("reads").max_in_flight, Some(64));
        assert_eq!(limited("0").expect("reads").max_in_flight, None);
        assert_eq!(limited("lots").expect("reads").max_in_flight, None);
    }

    #[test]
    fn a_base_url_without_api_says_so() {
        let err = parse_base_url("http://127.0.0.1:8080").expect_err("no /api");
        assert_eq!(
            err.to_string(),
            "KLAVIYO_BASE_URL must be an http or https URL such as https://a.klaviyo.com/api: its path must end in /api, where Klaviyo's API is, got \"/\""
        );
        for ok in [
            "http://127.0.0.1:8080/api",
            "https://proxy.example/klaviyo/api/",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unusable_base_urls_are_errors() {
        for raw in [
            "a.klaviyo.com/api",
            "ftp://a.klaviyo.com/api",
            "https://a.klaviyo.com/api?x=1",
            "https://user:pw@a.klaviyo.com/api",
            "https://",
            "not a url",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://a.klaviyo.com/api/lists",
            "https://a.klaviyo.com/apis",
        ] {
            let err = parse_base_url(raw).expect_err(raw);
            assert!(
                err.to_string().starts_with("KLAVIYO_BASE_URL must be"),
                "{err}"
            );
        }
    }
}
