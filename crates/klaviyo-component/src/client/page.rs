//! One page of a JSON:API collection, and the lazy sequence of pages.

use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use crate::Error;

/// One page of a collection: its resources, untouched, and where the next
/// page is.
#[derive(Debug)]
pub struct Page {
    /// The `data` entries exactly as Klaviyo sent them (re-encoded only when
    /// Klaviyo pretty-printed them, so each fits on one output line).
    pub records: Vec<Box<RawValue>>,
    /// `links.next`, verbatim, when there is a next page.
    pub next: Option<Url>,
}

/// The parts of a JSON:API document a collection page needs. `included`,
/// `meta` and anything Klaviyo adds later are skipped, never an error.
#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

impl Page {
    /// Read a 2xx answer to a collection request under `base`.
    pub fn parse(body: &[u8], base: &Url) -> Result<Page, Error> {
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::Response("Klaviyo's answer is not UTF-8 text".to_owned()))?;
        let document: Document<'_> = serde_json::from_str(text).map_err(|e| {
            Error::Response(format!(
                "Klaviyo's answer is not the JSON:API document it documents ({e})"
            ))
        })?;
        let data = document.data.ok_or_else(|| {
            Error::Response(
                "Klaviyo's answer has no `data` list; is the URL a collection?".to_owned(),
            )
        })?;
        let pretty = memchr_newline(body);
        let records = data
            .into_iter()
            .map(|raw| {
                if pretty {
                    RawValue::from_string(minify(raw.get()))
                        .map_err(|e| Error::Response(format!("a record cannot be re-encoded: {e}")))
                } else {
                    Ok(raw.to_owned())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = match document.links.and_then(|l| l.next) {
            Some(next) if !next.is_empty() => Some(next_link(&next, base)?),
            _ => None,
        };
        Ok(Page { records, next })
    }
}

fn memchr_newline(body: &[u8]) -> bool {
    memchr::memchr2(b'\n', b'\r', body).is_some()
}

/// `links.next`, refused when it leaves the API: the client would send the
/// API key wherever it points.
pub(super) fn next_link(next: &str, base: &Url) -> Result<Url, Error> {
    let url = Url::parse(next)
        .map_err(|e| Error::Response(format!("Klaviyo's links.next is not a URL ({e})")))?;
    if !is_under(&url, base) {
        return Err(Error::Response(format!(
            "Klaviyo's links.next points to {} which is outside {}; it is not followed",
            url.origin().ascii_serialization(),
            base
        )));
    }
    Ok(url)
}

/// Whether `url` has `base`'s scheme, host and port and a path at or under
/// `base`'s path.
pub fn is_under(url: &Url, base: &Url) -> bool {
    let base_path = base.path().trim_end_matches('/');
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && (url.path() == base_path
            || url
                .path()
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// JSON without the whitespace between tokens.
pub(crate) fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://a.klaviyo.com/api").expect("url")
    }

    #[test]
    fn records_pass_through_byte_for_byte() {
        let body = br#"{"data":[{"type":"profile","id":"1","attributes":{"b":1,"a":"x y"},"future":[]},{"type":"profile","id":"2"}],"links":{"self":"https://a.klaviyo.com/api/profiles","next":"https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc"},"included":[{"x":1}],"meta":{"agent_hints":{}}}"#;
        let page = Page::parse(body, &base()).expect("parses");
        assert_eq!(page.records.len(), 2);
        assert_eq!(
            page.records[0].get(),
            r#"{"type":"profile","id":"1","attributes":{"b":1,"a":"x y"},"future":[]}"#
        );
        assert_eq!(
            page.next.map(String::from).as_deref(),
            Some("https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=abc")
        );
    }

    #[test]
    fn the_last_page_has_no_next() {
        for body in [
            r#"{"data":[],"links":{"self":"x","next":null}}"#,
            r#"{"data":[],"links":{"self":"x"}}"#,
            r#"{"data":[]}"#,
            r#"{"data":[],"links":{"next":""}}"#,
        ] {
            assert!(
                Page::parse(body.as_bytes(), &base())
                    .expect(body)
                    .next
                    .is_none(),
                "{body}"
            );
        }
    }

    #[test]
    fn pretty_printed_records_are_put_on_one_line() {
        let body = "{\n  \"data\": [\n    {\"id\": \"1\",\n     \"attributes\": {\"note\": \"a  b\\n c\"}}\n  ]\n}";
        let page = Page::parse(body.as_bytes(), &base()).expect("parses");
        assert_eq!(
            page.records[0].get(),
            r#"{"id":"1","attributes":{"note":"a  b\n c"}}"#
        );
    }

    #[test]
    fn documents_that_are_not_pages_are_errors() {
        for body in [
            &b"<html>"[..],
            b"{\"data\":{\"id\":\"1\"}}",
            b"{}",
            b"{\"data\":[{\"id\":",
            b"\xff",
        ] {
            let err = Page::parse(body, &base()).expect_err("rejected");
            assert!(matches!(err, Error::Response(_)), "{err}");
        }
    }

    #[test]
    fn next_links_outside_the_api_are_refused() {
        let ok = [
            "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=x",
            "https://a.klaviyo.com:443/api/profiles/",
        ];
        for link in ok {
            assert!(next_link(link, &base()).is_ok(), "{link}");
        }
        let refused = [
            "https://evil.example/api/profiles",
            "http://a.klaviyo.com/api/profiles",
            "https://a.klaviyo.com:8443/api/profiles",
            "https://a.klaviyo.com/apiv2/profiles",
            "https://a.klaviyo.com/other",
            "https://user@a.klaviyo.com/api/profiles",
            "https://a.klaviyo.com.evil.example/api/profiles",
            "/api/profiles",
        ];
        for link in refused {
            assert!(next_link(link, &base()).is_err(), "{link}");
        }
    }
}
