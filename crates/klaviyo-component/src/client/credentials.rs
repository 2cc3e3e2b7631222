//! What the credential holds.

use component_sdk::Config;

use crate::Error;
use crate::fields;
use crate::revision::Revision;

#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    pub revision: Revision,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"***")
            .field("revision", &self.revision)
            .finish()
    }
}

impl Credentials {
    /// Read `apiKey` and `revision` from the step's configuration.
    pub fn from_config(cfg: &Config) -> Result<Credentials, Error> {
        let api_key = cfg.required_text(fields::API_KEY).map_err(|_| {
            Error::config(format!(
                "\"{}\" is required: create a Private API Key in Klaviyo (Settings -> API Keys)",
                fields::API_KEY.label
            ))
        })?;
        Ok(Credentials {
            api_key,
            revision: Revision::from_config(cfg)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg(value: serde_json::Value) -> Config {
        Config::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn credentials_from_config() {
        let c = Credentials::from_config(&cfg(json!({"apiKey": " pk_1 "}))).expect("ok");
        assert_eq!(c.api_key, "pk_1");
        assert_eq!(
            c.revision.as_str(),
            "2026-10-15",
            "the newest file's revision"
        );
        let c = Credentials::from_config(&cfg(json!({"apiKey": "pk_1", "revision": "2026-10-15"})))
            .expect("ok");
        assert_eq!(c.revision.as_str(), "2026-10-15");
        let c =
            Credentials::from_config(&cfg(json!({"apiKey": "pk_1", "revision": ""}))).expect("ok");
        assert_eq!(
            c.revision.as_str(),
            "2026-10-15",
            "the newest file's revision"
        );
    }

    #[test]
    fn missing_key_and_bad_revision() {
        for value in [json!({}), json!({"apiKey": ""}), json!({"apiKey": "   "})] {
            let err = Credentials::from_config(&cfg(value)).expect_err("no key");
            assert!(
                err.to_string().starts_with("\"API key\" is required"),
                "{err}"
            );
        }
        let err = Credentials::from_config(&cfg(json!({"apiKey": "k", "revision": "soon"})))
            .expect_err("bad");
        assert!(
            err.to_string().starts_with("\"Revision\" must be a date"),
            "{err}"
        );
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let c = Credentials::from_config(&cfg(json!({"apiKey": "pk_secret_123"}))).expect("ok");
        assert!(!format!("{c:?}").contains("pk_secret_123"));
    }
}
