//! Who may call: the `Authorization` header against the stand-in's keys,
//! and the scopes an endpoint needs.

use crate::errors::ApiError;

/// A key with limited scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub key: String,
    /// Scopes such as `profiles:read`; a `:write` scope implies `:read`.
    pub scopes: Vec<String>,
}

/// What the request's key may do.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    /// The stand-in's main key: every scope.
    Everything,
    /// One of the extra keys.
    Scopes(Vec<String>),
}

/// The key in `authorization` (`Klaviyo-API-Key <key>`), or Klaviyo's 401s:
/// one for a missing header or another scheme, one for an unknown key.
pub(crate) fn authenticate(
    authorization: Option<&str>,
    main_key: &str,
    extra_keys: &[ApiKey],
) -> Result<Grant, ApiError> {
    let Some(key) = authorization.and_then(|h| h.strip_prefix("Klaviyo-API-Key ")) else {
        return Err(ApiError::missing_credentials());
    };
    let key = key.trim();
    if key == main_key {
        return Ok(Grant::Everything);
    }
    match extra_keys.iter().find(|k| k.key == key) {
        Some(k) => Ok(Grant::Scopes(k.scopes.clone())),
        None => Err(ApiError::incorrect_credentials()),
    }
}

/// 403 naming the scopes `grant` lacks of those an endpoint declares
/// (`x-klaviyo-scopes`); a `:write` scope also grants reading.
pub(crate) fn require_scopes(grant: &Grant, scopes: &[&str]) -> Result<(), ApiError> {
    let Grant::Scopes(granted) = grant else {
        return Ok(());
    };
    let has = |s: &str| {
        granted.iter().any(|g| {
            g == s
                || s.strip_suffix(":read")
                    .is_some_and(|base| *g == format!("{base}:write"))
        })
    };
    let missing: Vec<&str> = scopes.iter().copied().filter(|s| !has(s)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(&missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_scopes() {
        let extra = vec![ApiKey {
            key: "pk_lists".into(),
            scopes: vec!["lists:write".into()],
        }];
        assert!(matches!(
            authenticate(Some("Klaviyo-API-Key pk_main"), "pk_main", &extra),
            Ok(Grant::Everything)
        ));
        assert_eq!(
            authenticate(Some("Bearer pk_main"), "pk_main", &extra)
                .map(|_| ())
                .expect_err("401")
                .detail,
            ApiError::missing_credentials().detail
        );
        assert_eq!(
            authenticate(Some("Klaviyo-API-Key nope"), "pk_main", &extra)
                .map(|_| ())
                .expect_err("401")
                .title,
            "Incorrect authentication credentials."
        );
        let g = authenticate(Some("Klaviyo-API-Key pk_lists"), "pk_main", &extra)
            .unwrap_or(Grant::Everything);
        assert!(
            require_scopes(&g, &["lists:read"]).is_ok(),
            "write implies read"
        );
        assert!(require_scopes(&g, &["lists:write"]).is_ok());
        let e = require_scopes(&g, &["lists:write", "profiles:write"]).expect_err("403");
        assert_eq!(
            e.detail,
            ApiError::permission_denied(&["profiles:write"]).detail
        );
        let e = require_scopes(&g, &["profiles:read"]).expect_err("403");
        assert_eq!(e.status, 403);
        assert!(e.detail.contains("profiles:read"), "{}", e.detail);
    }
}
