//! Klaviyo's checks, in Klaviyo's order: path, credentials, revision,
//! endpoint, scope, rate limit; then the operation (which checks its own
//! parameters and body).

use std::time::Instant;

use hyper::Method;

use crate::auth::{self, Grant};
use crate::errors::ApiError;
use crate::rate_limit::Verdict;
use crate::request::{RequestCtx, Target};
use crate::resources;
use crate::response::Answer;
use crate::revision;
use crate::state::State;
use crate::store::revision_index;

/// Answers one request that no fault intercepted. Every answer after the
/// revision is known names the revision that served it, as Klaviyo's do.
pub(crate) fn respond(st: &mut State, r: &RequestCtx<'_>) -> Result<Answer, ApiError> {
    let rest = api_path(r.path)?;
    let grant = auth::authenticate(r.authorization.as_deref(), &st.api_key, &st.extra_keys)?;
    let requested = revision::requested(r.revision.as_deref(), r.today)?;
    let served = revision::serve(requested, r.today, r.fall_forward_opt_out)?;
    let header = ("x-klaviyo-api-revision", served.revision.clone());
    match respond_as(st, r, rest, grant, &served.revision) {
        Ok(mut answer) => {
            answer.headers.push(header);
            Ok(answer)
        }
        Err(mut e) => {
            e.headers.push(header);
            Err(e)
        }
    }
}

/// The checks after the revision, by the rules of the revision served.
fn respond_as(
    st: &mut State,
    r: &RequestCtx<'_>,
    rest: &str,
    grant: Grant,
    served: &str,
) -> Result<Answer, ApiError> {
    let target = route(rest, served, r.path)?;
    let write = !matches!(*r.method, Method::GET | Method::HEAD);
    auth::require_scopes(&grant, target.coll.scopes, write)?;
    let limit_headers = admit(st, r.method, &target)?;
    let mut answer = resources::operate(st, r, &target)?;
    answer.headers.extend(limit_headers);
    Ok(answer)
}

/// The path below `/api/` (empty for `/api` itself).
fn api_path(path: &str) -> Result<&str, ApiError> {
    match path.strip_prefix("/api/") {
        Some(rest) => Ok(rest),
        None if path == "/api" => Ok(""),
        None => Err(ApiError::path_not_found(path)),
    }
}

/// `collection` or `collection/{id}`, as the revision declares it.
fn route(rest: &str, revision: &str, full_path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (name, id) = match segs.as_slice() {
        [name] => (*name, None),
        [name, id] => (*name, Some(percent_decode(id))),
        _ => return Err(ApiError::path_not_found(full_path)),
    };
    let spec = klaviyo_spec::for_revision(revision);
    let coll = spec
        .collection(&format!("/{name}"))
        .ok_or_else(|| ApiError::path_not_found(full_path))?;
    Ok(Target {
        coll,
        id,
        rev_idx: revision_index(revision),
    })
}

/// Counts the request against its endpoint's limit (method and path
/// template); the headers of an admitted request, or 429.
fn admit(
    st: &mut State,
    method: &Method,
    t: &Target,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let Some(rule) = st.rate_rule else {
        return Ok(Vec::new());
    };
    let template = if t.id.is_some() { "/{id}" } else { "" };
    let endpoint = format!("{method} {}{template}", t.coll.path);
    match st.limiter.check(&endpoint, rule, Instant::now()) {
        Verdict::Allowed(h) => Ok(h),
        Verdict::Throttled { retry_after } => Err(ApiError::throttled(Some(retry_after))),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::cursor::CursorMode;
    use crate::query;
    use crate::rate_limit::Limiter;
    use crate::request_log::RequestLog;
    use crate::store::Store;
    use crate::time;

    fn state() -> State {
        let sizes = std::collections::BTreeMap::new();
        State {
            store: Store::new(crate::store::StoreConfig {
                seed: 3,
                anchor: time::now_micros(),
                sizes: &sizes,
                default_size: Some(15),
                base_url: "http://127.0.0.1:1/api".into(),
                revision: "2024-10-15".into(),
                bulk_clusters: true,
            }),
            api_key: "k".into(),
            extra_keys: Vec::new(),
            faults: Vec::new(),
            hooks: Vec::new(),
            limiter: Limiter::default(),
            rate_rule: None,
            latency: crate::latency::Latency::ZERO,
            page_cap: None,
            cursor_mode: CursorMode::Keyset,
            today: None,
            log: RequestLog::new(10),
            errors: 0,
        }
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z\\[\\]]{1,12}=[ -~]{0,20}",
            "filter=[a-z(),'\"\\\\\\[\\] 0-9.:+TZ_-]{0,60}",
            Just("filter=and(equals(messages.channel,'email'),greater-than(updated_at,2024-01-01T00:00:00Z))".to_owned()),
            Just("filter=any(email,['a','b'])".to_owned()),
            "sort=-?[a-z_.]{0,12}",
            "page%5Bsize%5D=-?[0-9]{0,4}",
            "page%5Bcursor%5D=[A-Za-z0-9_-]{0,40}",
            "include=[a-z,-]{0,20}",
            "fields%5B[a-z-]{1,10}%5D=[a-z,._]{0,20}",
            "[%0-9A-Fa-f&=+]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// No request input makes the stand-in panic.
        #[test]
        fn random_requests_never_panic(
            path in prop_oneof![
                Just("/api/profiles".to_owned()), Just("/api/campaigns/".to_owned()), Just("/api/events".to_owned()),
                Just("/api/lists/x".to_owned()), Just("/api/catalog-items".to_owned()), "/api/[a-z-]{0,15}(/[ -~]{0,10})?",
                "[ -~]{0,20}",
            ],
            parts in proptest::collection::vec(fragment(), 0..4),
            method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::PATCH), Just(Method::DELETE), Just(Method::PUT)],
            rev in prop_oneof![Just("2024-10-15".to_owned()), Just("2026-07-15".to_owned()), Just("2026-10-15".to_owned()), "[0-9.-]{0,14}"],
            body in proptest::option::of("[ -~]{0,40}"),
            opt_out in any::<bool>(),
        ) {
            let mut st = state();
            let query = parts.join("&");
            let params = query::decode_params(&query);
            let ctx = RequestCtx {
                method: &method,
                path: &path,
                params: &params,
                authorization: Some("Klaviyo-API-Key k".into()),
                revision: Some(rev.clone()),
                content_type: Some("application/vnd.api+json".into()),
                body: body.as_deref().map(str::as_bytes),
                body_too_large: false,
                now: time::now_micros(),
                today: chrono::Utc::now().date_naive(),
                fall_forward_opt_out: opt_out,
                base_url: "http://127.0.0.1:1/api",
                secret: 1,
            };
            if let Ok(a) = respond(&mut st, &ctx) {
                prop_assert!((200..300).contains(&a.status));
                if !a.body.is_empty() {
                    prop_assert!(serde_json::from_slice::<Value>(&a.body).is_ok(), "invalid JSON served");
                }
            }
        }
    }
}
