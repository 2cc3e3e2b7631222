//! Where a raw request may go: under the configured base URL, or nowhere.
//!
//! The action sends the user's API key. A url that a mapping or an upstream
//! answer controls must not be able to send it to another host, so every
//! trick that changes where a URL points is refused before a connection is
//! opened, and the resolved URL is checked once more against the base.

use url::Url;

use crate::Error;
use crate::client::is_under;

/// Resolve the action's `url` field against `base`.
pub fn resolve(url: &str, base: &Url) -> Result<Url, Error> {
    let refuse = |why: &str| {
        Error::input(format!(
            "\"Url\" {} is refused: {why}. Give a path under {base}, such as /profiles?page[size]=20",
            shown(url)
        ))
    };
    if url.trim().is_empty() {
        return Err(Error::input(format!(
            "\"Url\" is required: give a path under {base}, such as /profiles?page[size]=20"
        )));
    }
    if url.chars().any(|c| c.is_control()) {
        return Err(refuse(
            "it contains control characters (such as CR, LF or NUL)",
        ));
    }
    if url.contains('\\') {
        return Err(refuse(
            "it contains a backslash, which some parsers read as a slash",
        ));
    }
    let trimmed = url.trim();
    if trimmed.starts_with("//") {
        return Err(refuse(
            "a URL starting with // points to whatever host follows",
        ));
    }
    let resolved = if has_scheme(trimmed) {
        let absolute =
            Url::parse(trimmed).map_err(|e| refuse(&format!("it is not a valid URL ({e})")))?;
        if !absolute.username().is_empty() || absolute.password().is_some() {
            return Err(refuse("it carries user information (user@host)"));
        }
        if absolute.scheme() != base.scheme()
            || absolute.host_str() != base.host_str()
            || absolute.port_or_known_default() != base.port_or_known_default()
        {
            return Err(refuse(
                "it points to another host, port or scheme than the configured Klaviyo API",
            ));
        }
        absolute
    } else {
        let joined = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            trimmed.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|e| refuse(&format!("it is not a valid path ({e})")))?
    };
    if !is_under(&resolved, base) {
        return Err(refuse("its path leaves the API (for example with ..)"));
    }
    Ok(resolved)
}

/// `scheme:` at the start, as RFC 3986 defines a scheme.
fn has_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The url as shown in a message: quoted, shortened, without control
/// characters.
fn shown(url: &str) -> String {
    let mut text: String = url
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if url.chars().count() > 100 {
        text.push('…');
    }
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://a.klaviyo.com/api").expect("url")
    }

    #[test]
    fn paths_and_urls_under_the_base() {
        let cases = [
            (
                "/profiles?page[size]=20",
                "https://a.klaviyo.com/api/profiles?page[size]=20",
            ),
            ("profiles", "https://a.klaviyo.com/api/profiles"),
            (
                "/profiles/01ABC/",
                "https://a.klaviyo.com/api/profiles/01ABC/",
            ),
            (
                "/profiles?filter=equals(email,\"a@b.com\")",
                "https://a.klaviyo.com/api/profiles?filter=equals(email,%22a@b.com%22)",
            ),
            (
                "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc",
                "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc",
            ),
            (
                "https://a.klaviyo.com:443/api/lists",
                "https://a.klaviyo.com/api/lists",
            ),
            ("/lists/./x/../y", "https://a.klaviyo.com/api/lists/y"),
            ("  /lists  ", "https://a.klaviyo.com/api/lists"),
        ];
        for (given, want) in cases {
            assert_eq!(
                resolve(given, &base()).expect(given).as_str(),
                want,
                "{given}"
            );
        }
    }

    #[test]
    fn everything_that_could_lead_elsewhere_is_refused() {
        let cases = [
            ("", "is required"),
            ("https://evil.example/api/profiles", "another host"),
            ("https://a.klaviyo.com.evil.example/api", "another host"),
            (
                "http://a.klaviyo.com/api/profiles",
                "another host, port or scheme",
            ),
            (
                "https://a.klaviyo.com:8443/api/profiles",
                "another host, port or scheme",
            ),
            ("ftp://a.klaviyo.com/api", "another host, port or scheme"),
            ("javascript:alert(1)", "another host, port or scheme"),
            ("//evil.example/api/profiles", "starting with //"),
            (
                "https://user:pw@a.klaviyo.com/api/profiles",
                "user information",
            ),
            ("https://a.klaviyo.com@evil.example/api", "user information"),
            ("\\\\evil.example\\api", "backslash"),
            ("/profiles\\..\\..\\x", "backslash"),
            ("/../profiles", "leaves the API"),
            ("/profiles/../../other", "leaves the API"),
            ("/%2e%2e/other", "leaves the API"),
            ("https://a.klaviyo.com/other", "leaves the API"),
            ("https://a.klaviyo.com/apiv2", "leaves the API"),
            ("/profiles\r\nX-Injected: 1", "control characters"),
            ("/profiles\0", "control characters"),
            ("/profiles\n", "control characters"),
        ];
        for (given, why) in cases {
            let err = resolve(given, &base()).expect_err(given).to_string();
            assert!(err.contains(why), "{given:?}: {err}");
            assert!(!err.contains('\n') && !err.contains('\r'), "{err}");
        }
    }

    #[test]
    fn a_base_on_a_port_and_path() {
        let base = Url::parse("http://127.0.0.1:8080/api").expect("url");
        assert_eq!(
            resolve("/profiles", &base).expect("ok").as_str(),
            "http://127.0.0.1:8080/api/profiles"
        );
        assert!(resolve("http://127.0.0.1:8081/api/profiles", &base).is_err());
        assert!(resolve("http://localhost:8080/api/profiles", &base).is_err());
    }
}
