//! Keeping secrets out of stdout and stderr.
//!
//! The component never prints the API key on purpose; this is the second
//! line of defence for the cases nobody thought of: an upstream error that
//! quotes the key back, a panic message, a raw response that echoes a
//! header. Every line written to stdout or stderr passes through here.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use memchr::memmem;

/// What a secret is replaced with.
pub(crate) const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking "ab" would mangle
/// ordinary text, and such a value is no working API key.
const MIN_SECRET_LEN: usize = 6;

/// Any stretch of a secret from its start at least this long is masked too:
/// error messages quote values shortened (a key pasted into the wrong field
/// shows as its first 40 or 60 characters).
const MIN_PREFIX_LEN: usize = 10;

#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Arc<RwLock<Vec<Secret>>>,
}

/// One form of a secret, with a searcher for its start built once: every
/// line of output is searched.
struct Secret {
    bytes: Vec<u8>,
    start: memmem::Finder<'static>,
}

impl Redactor {
    /// Mask these values from now on, as they are and as they look inside a
    /// JSON string.
    pub(crate) fn set_secrets(&self, secrets: impl IntoIterator<Item = String>) {
        let mut forms = Vec::new();
        for secret in secrets {
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            let escaped = serde_json::to_string(&secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_owned();
            if escaped != secret {
                forms.push(escaped.into_bytes());
            }
            forms.push(secret.into_bytes());
        }
        // Longest first, so a secret that contains another is masked whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        let secrets = forms
            .into_iter()
            .map(|bytes| Secret {
                start: memmem::Finder::new(&bytes[..bytes.len().min(MIN_PREFIX_LEN)]).into_owned(),
                bytes,
            })
            .collect();
        if let Ok(mut guard) = self.secrets.write() {
            *guard = secrets;
        }
    }

    /// Mask every secret in `bytes`, and every start of one that is at
    /// least [`MIN_PREFIX_LEN`] long.
    pub(crate) fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Ok(secrets) = self.secrets.read() else {
            return Cow::Borrowed(bytes);
        };
        let mut current = Cow::Borrowed(bytes);
        for secret in secrets.iter() {
            if secret.start.find(&current).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(current.len());
            let mut rest: &[u8] = &current;
            while let Some(at) = secret.start.find(rest) {
                let matched = masked_len(&rest[at..], &secret.bytes);
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(MASK.as_bytes());
                rest = &rest[at + matched..];
            }
            out.extend_from_slice(rest);
            current = Cow::Owned(out);
        }
        current
    }
}

/// How much of `text` (which starts like `secret`) to mask: the common
/// start, but never ending inside a JSON escape, which would leave the
/// escaped character bare and break the line.
fn masked_len(text: &[u8], secret: &[u8]) -> usize {
    let mut n = text.iter().zip(secret).take_while(|(a, b)| a == b).count();
    let trailing_backslashes = text[..n].iter().rev().take_while(|b| **b == b'\\').count();
    if trailing_backslashes % 2 == 1 {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_escaped_forms() {
        let r = Redactor::default();
        r.set_secrets(["pk_secret\"x".to_owned()]);
        let text = br#"{"a":"pk_secret\"x","b":"key pk_secret"x and pk_secret\"x"}"#;
        let out = r.redact(text);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a":"***","b":"key *** and ***"}"#
        );
    }

    #[test]
    fn shortened_quotes_of_a_secret_are_masked() {
        let r = Redactor::default();
        let key = format!("pk_{}", "0123456789abcdef".repeat(5));
        r.set_secrets([key.clone()]);
        let quoted = format!("got \"{}…\" and {}", &key[..40], &key[..60]);
        let out = String::from_utf8_lossy(&r.redact(quoted.as_bytes())).into_owned();
        assert_eq!(out, "got \"***…\" and ***");
        let short = format!("{} stays", &key[..9]);
        assert_eq!(
            &*r.redact(short.as_bytes()),
            short.as_bytes(),
            "9 characters are not a secret"
        );
    }

    #[test]
    fn a_mask_never_ends_inside_an_escape() {
        let r = Redactor::default();
        r.set_secrets(["abcdefghij\"x".to_owned()]);
        // The escaped form of the secret is `abcdefghij\"x`; this text has
        // `abcdefghij\n`, which shares the backslash but not the escape.
        let text = br#"{"m":"abcdefghij\nrest"}"#;
        let out = r.redact(text);
        assert_eq!(String::from_utf8_lossy(&out), r#"{"m":"***\nrest"}"#);
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }

    #[test]
    fn leaves_text_alone_without_secrets() {
        let r = Redactor::default();
        assert!(matches!(r.redact(b"hello"), Cow::Borrowed(_)));
        r.set_secrets(["abc".to_owned()]);
        assert_eq!(&*r.redact(b"abc abc"), b"abc abc", "too short to be a key");
    }
}
