//! Klaviyo's checks, in Klaviyo's order: path, credentials, revision,
//! endpoint, scope, rate limit; then the operation (which checks its own
//! parameters and body).

use std::time::Instant;

use hyper::Method;

use crate::auth::{self, Grant};
use crate::errors::ApiError;
use crate::rate_limit::Verdict;
use crate::request::{Endpoint, RequestCtx, Target};
use crate::response::Answer;
use crate::revision;
use crate::router;
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
    let target = route(r.method, rest, served, r.path)?;
    auth::require_scopes(&grant, target.scopes())?;
    let limit_headers = admit(st, r.method, &target)?;
    let mut answer = router::operate(st, r, &target)?;
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

/// The endpoint the revision declares for `method` at this path: a list
/// endpoint, an operation (the most specific path wins: literal segments
/// before parameters), or a list's members. 405 when the path exists with
/// other methods only, 404 when it does not exist.
///
/// `PUT` is answered as the path's `PATCH` (no file declares a `PUT`): a
/// leniency the stand-in has always had and the raw-request tests rely on.
fn route(method: &Method, rest: &str, revision: &str, full_path: &str) -> Result<Target, ApiError> {
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let spec = klaviyo_spec::for_revision(revision);
    let rev_idx = revision_index(revision);
    let target = |endpoint, params| Target {
        endpoint,
        params,
        rev_idx,
        revision: revision.to_owned(),
    };
    let mut exists = false;
    if let [name] = segs.as_slice()
        && let Some(coll) = spec.collection(&format!("/{name}"))
    {
        if *method == Method::GET {
            return Ok(target(Endpoint::List(coll), Vec::new()));
        }
        exists = true;
    }
    let wanted = match klaviyo_spec::Method::from_name(method.as_str()) {
        Some(klaviyo_spec::Method::Put) => klaviyo_spec::Method::Patch,
        Some(m) => m,
        None => klaviyo_spec::Method::Get,
    };
    let known_method = klaviyo_spec::Method::from_name(method.as_str()).is_some();
    let mut best: Option<(&'static klaviyo_spec::Operation, usize)> = None;
    for op in spec.operations {
        let Some(literals) = matches(op.path, &segs) else {
            continue;
        };
        exists = true;
        if known_method && op.method == wanted && best.is_none_or(|(_, l)| literals > l) {
            best = Some((op, literals));
        }
    }
    if let Some((op, _)) = best {
        let params = op
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .zip(&segs)
            .filter(|(t, _)| t.starts_with('{'))
            .map(|(_, s)| s.clone())
            .collect();
        return Ok(target(Endpoint::Op(op), params));
    }
    if let [lists, id, tail @ ..] = segs.as_slice()
        && lists == "lists"
        && (matches!(tail, [p] if p == "profiles")
            || matches!(tail, [r, p] if r == "relationships" && p == "profiles"))
    {
        if *method == Method::GET {
            let ids_only = tail.len() == 2;
            return Ok(target(Endpoint::Members { ids_only }, vec![id.clone()]));
        }
        exists = true;
    }
    if exists {
        Err(ApiError::method_not_allowed(method.as_str()))
    } else {
        Err(ApiError::path_not_found(full_path))
    }
}

/// The number of literal segments of the operation path `template` when
/// `segs` fits it (a `{param}` takes any one segment).
fn matches(template: &str, segs: &[String]) -> Option<usize> {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut literals = 0;
    for (t, s) in parts.iter().zip(segs) {
        if t.starts_with('{') {
            continue;
        }
        if t != s {
            return None;
        }
        literals += 1;
    }
    Some(literals)
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
    let endpoint = format!("{method} {}", t.template());
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
            jobs: Vec::new(),
            event_keys: Default::default(),
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
