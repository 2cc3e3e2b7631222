//! Klaviyo's answers to the actions' requests, as the actions emit them.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Error;
use crate::client::{Response, minify};

/// JSON text on one line, as the output needs it: Klaviyo's own bytes when
/// they are, re-spaced only when Klaviyo pretty-printed them.
pub(super) fn one_line(raw: &RawValue) -> Result<Box<RawValue>, Error> {
    let text = raw.get();
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() {
        return Ok(raw.to_owned());
    }
    RawValue::from_string(minify(text))
        .map_err(|e| Error::Response(format!("a record cannot be re-encoded: {e}")))
}

/// A single-resource answer (`GET /x/{id}`, a create or an update): its
/// `data`, as Klaviyo wrote it, and the whole document.
pub(super) struct Single {
    pub data: Option<Box<RawValue>>,
    pub document: Box<RawValue>,
}

impl Single {
    /// An answer without a body (`204 No Content`, as an update of tags
    /// gets) has no data: what was written is what was sent.
    pub(super) fn parse(response: &Response) -> Result<Single, Error> {
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
