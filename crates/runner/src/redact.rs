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
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking "ab" would mangle
/// ordinary text, and such a value is no working API key.
const MIN_SECRET_LEN: usize = 6;

#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<Vec<u8>>>>,
}

impl Redactor {
    /// Mask these values from now on, as they are and as they look inside a
    /// JSON string.
    pub fn set_secrets(&self, secrets: impl IntoIterator<Item = String>) {
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
        if let Ok(mut guard) = self.secrets.write() {
            *guard = forms;
        }
    }

    /// Mask every secret in `bytes`.
    pub fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Ok(secrets) = self.secrets.read() else {
            return Cow::Borrowed(bytes);
        };
        let mut current = Cow::Borrowed(bytes);
        for secret in secrets.iter() {
            if memmem::find(&current, secret).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(current.len());
            let mut rest: &[u8] = &current;
            while let Some(at) = memmem::find(rest, secret) {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(MASK.as_bytes());
                rest = &rest[at + secret.len()..];
            }
            out.extend_from_slice(rest);
            current = Cow::Owned(out);
        }
        current
    }
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
    fn leaves_text_alone_without_secrets() {
        let r = Redactor::default();
        assert!(matches!(r.redact(b"hello"), Cow::Borrowed(_)));
        r.set_secrets(["abc".to_owned()]);
        assert_eq!(&*r.redact(b"abc abc"), b"abc abc", "too short to be a key");
    }
}
