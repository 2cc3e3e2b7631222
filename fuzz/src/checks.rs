//! The properties the fuzz targets check, one function per target. Each
//! panics when a property does not hold.
//!
//! This file is shared: the cargo-fuzz targets in `fuzz/fuzz_targets/` call
//! it through the `klaviyo_fuzz` crate, and the property tests in
//! `tests/e2e/properties.rs` include it with `#[path]`, so `cargo test` on
//! stable runs the same properties on generated inputs.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use component_sdk::{Config, Env, Field};
use klaviyo_component::testing::{
    Client, Credentials, EmitBehavior, Filter, Literal, Plan, PollConfig, Revision, Settings,
    Strategy, is_under, object_types, parse_base_url, timestamp_fields,
};
use klaviyo_spec::Operator;
use serde_json::{Map, Value};
use url::Url;

/// Longest error message a bad value may produce: values are shown
/// shortened, never whole.
const MAX_MESSAGE: usize = 2_000;

#[track_caller]
fn assert_one_line(message: &str, context: &str) {
    assert!(!message.is_empty(), "{context}: an empty message");
    assert!(
        !message.contains('\n') && !message.contains('\r'),
        "{context}: not one line: {message:?}"
    );
    assert!(
        message.chars().count() <= MAX_MESSAGE,
        "{context}: a message of {} characters: {message:?}",
        message.chars().count()
    );
}

// ---------------------------------------------------------------------------
// The stdin envelope.

/// `runner`'s stdin parser accepts exactly the envelopes the contract
/// describes (docs/protocol.md), keeps every member as sent, and refuses
/// everything else with a one-line reason.
pub fn envelope(bytes: &[u8]) {
    let parsed = runner::testing::parse(bytes);
    let model = envelope_model(bytes);
    match (parsed, model) {
        (Ok(envelope), Ok(want)) => {
            assert_eq!(envelope.cfg.values(), &want.cfg, "cfg is kept as sent");
            assert_eq!(envelope.snapshot, Value::Object(want.snapshot), "snapshot");
            // As text: parsing a float twice need not give the same float.
            let body = serde_json::to_string(&want.body).expect("json");
            assert_eq!(envelope.msg.body.get(), body, "msg.body");
            // A missing id stays missing: a made-up one would differ on
            // each delivery of the same message.
            let id = want.id.unwrap_or_default();
            assert_eq!(envelope.msg.id, id, "msg.id");
            assert_eq!(envelope.msg.headers, want.headers, "msg.headers");
            assert_eq!(
                envelope.msg.attachments, want.attachments,
                "msg.attachments"
            );
        }
        (Err(reason), Err(why)) => assert_one_line(&reason, why),
        (Ok(_), Err(why)) => panic!("an unusable envelope was accepted: {why}"),
        (Err(reason), Ok(_)) => panic!("a usable envelope was refused: {reason}"),
    }
}

struct EnvelopeModel {
    cfg: Map<String, Value>,
    snapshot: Map<String, Value>,
    body: Value,
    id: Option<String>,
    headers: Map<String, Value>,
    attachments: Map<String, Value>,
}

/// What the contract says about `bytes`, written independently of the
/// parser.
fn envelope_model(bytes: &[u8]) -> Result<EnvelopeModel, &'static str> {
    if bytes.len() as u64 > runner::testing::MAX_STDIN_BYTES {
        return Err("too large");
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err("not UTF-8");
    };
    if text
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .is_empty()
    {
        return Err("empty");
    }
    let Ok(Value::Object(mut top)) = serde_json::from_str::<Value>(text) else {
        return Err("not a JSON object");
    };
    let object = |v: Option<Value>| match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err("a member that must be an object is not"),
    };
    let cfg = object(top.remove("cfg"))?;
    let snapshot = object(top.remove("snapshot"))?;
    let mut msg = object(top.remove("msg"))?;
    if !top.is_empty() {
        return Err("a member other than cfg, msg and snapshot");
    }
    let body = match msg.remove("body") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(b) => b,
    };
    let id = match msg.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("msg.id is neither text nor a number"),
    };
    let headers = object(msg.remove("headers"))?;
    let attachments = object(msg.remove("attachments"))?;
    Ok(EnvelopeModel {
        cfg,
        snapshot,
        body,
        id,
        headers,
        attachments,
    })
}

// ---------------------------------------------------------------------------
// The config readers.

/// The `Config` helpers accept exactly the forms component-sdk documents
/// for every value, and name the field in one line when they refuse one;
/// the trigger's and the credential's readers never panic, and what they
/// accept is usable. `cfg` is any JSON: an object is the step's
/// configuration, anything else becomes the value of every field.
pub fn config(cfg: &Value, revision: &str) {
    let values = match cfg {
        Value::Object(map) => map.clone(),
        other => [
            "objectType",
            "pollConfig",
            "emitBehavior",
            "pageSize",
            "startTime",
            "apiKey",
            "revision",
            "doNotThrow404",
        ]
        .iter()
        .map(|k| ((*k).to_owned(), other.clone()))
        .collect(),
    };
    let config = Config::new(values.clone());
    for raw in values.values().map(Some).chain([None]) {
        helpers(raw);
    }

    let revision = Revision::parse(revision).unwrap_or_else(|e| {
        assert_one_line(&e.to_string(), "Revision::parse");
        Revision::default_revision()
    });
    match PollConfig::from_config(&config, &revision, Utc::now()) {
        Ok(c) => {
            assert!(
                timestamp_fields(c.object_type.collection).contains(&c.field),
                "{} is polled on {}, which it does not offer",
                c.object_type.key,
                c.field
            );
            let chosen = config
                .raw("objectType")
                .and_then(Value::as_str)
                .map(str::trim);
            assert_eq!(chosen, Some(c.object_type.key), "the chosen type");
            if let EmitBehavior::Page(n) = c.emit {
                assert!((1..=100).contains(&n), "a page of {n}");
            }
            if let Some(text) = config
                .raw("startTime")
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty())
            {
                assert_eq!(
                    klaviyo_component::testing::parse_time(text),
                    Some(c.start_time),
                    "Start Time"
                );
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message, "PollConfig");
            assert!(message.starts_with('"'), "names the field first: {message}");
        }
    }
    match Credentials::from_config(&config) {
        Ok(c) => {
            assert!(
                !c.api_key.is_empty() && c.api_key.trim() == c.api_key,
                "the key"
            );
            // Debug shows the key masked.
            let shown = format!("{c:?}").replace(&format!("{:?}", c.revision), "");
            if c.api_key.len() >= 6
                && !"Credentials { api_key: \"***\", revision:  }".contains(&c.api_key)
            {
                assert!(!shown.contains(&c.api_key), "Debug shows the key: {shown}");
            }
        }
        Err(e) => assert_one_line(&e.to_string(), "Credentials"),
    }
}

/// The field every helper reads.
const SOME_FIELD: Field = Field::new("f", "Some Field");

/// Every `Config` helper on one field whose value is `raw` (`None`: absent).
fn helpers(raw: Option<&Value>) {
    let config = &Config::new(
        raw.map(|v| Map::from_iter([(SOME_FIELD.key.to_owned(), v.clone())]))
            .unwrap_or_default(),
    );
    let named = |e: component_sdk::Error, what: &str| {
        let message = e.to_string();
        assert_one_line(&message, what);
        assert!(
            message.starts_with("\"Some Field\""),
            "{what} names the field: {message}"
        );
    };
    let blank = match raw {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    };
    match config.text(SOME_FIELD) {
        Ok(None) => assert!(blank, "text: {raw:?} read as empty"),
        Ok(Some(text)) => {
            let want = match raw {
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                other => panic!("text: {other:?} read as {text:?}"),
            };
            assert_eq!(text, want, "text");
        }
        Err(e) => {
            assert!(
                matches!(raw, Some(Value::Array(_) | Value::Object(_))),
                "text: {raw:?} refused"
            );
            named(e, "text");
        }
    }
    match config.required_text(SOME_FIELD) {
        Ok(text) => assert!(!text.is_empty() && !blank, "required_text"),
        Err(e) => named(e, "required_text"),
    }
    let checkbox = match raw {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "on" => Some(true),
            "false" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    };
    match (config.checkbox(SOME_FIELD), checkbox) {
        (Ok(got), Some(want)) => assert_eq!(got, want, "checkbox {raw:?}"),
        (Err(e), None) => named(e, "checkbox"),
        (got, want) => panic!("checkbox {raw:?}: got {got:?}, want {want:?}"),
    }
    for range in [1..=100, 0..=u64::MAX, 500..=300_000] {
        integer(config, raw, range, blank);
    }
    let allowed = ["emitIndividually", "emitPage", "fetchPage"];
    match config.choice(SOME_FIELD, &allowed) {
        Ok(Some(v)) => assert!(allowed.contains(&v.as_str()), "choice {v:?}"),
        Ok(None) => assert!(blank, "choice: {raw:?} read as nothing"),
        Err(e) => named(e, "choice"),
    }
}

fn integer(config: &Config, raw: Option<&Value>, range: RangeInclusive<u64>, blank: bool) {
    match config.integer(SOME_FIELD, range.clone()) {
        Ok(None) => assert!(blank, "integer: {raw:?} read as empty"),
        Ok(Some(n)) => {
            assert!(range.contains(&n), "integer {n} outside {range:?}");
            let from = match raw {
                Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
                Some(Value::Number(v)) => v.as_u64(),
                _ => None,
            };
            assert_eq!(from, Some(n), "integer {raw:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message, "integer");
            assert!(
                message.starts_with("\"Some Field\" must be a whole number"),
                "{message}"
            );
        }
    }
}

/// The operator settings: every variable, whatever its value, gives a
/// setting within its documented range (or the default), and only an
/// unusable `KLAVIYO_BASE_URL` is an error.
pub fn settings(values: &[String]) {
    let names = [
        "API_RETRIES_COUNT",
        "API_REQUEST_TIMEOUT",
        "API_RETRY_DELAY",
        "API_MAX_RETRY_AFTER",
        "API_MAX_RESPONSE_BYTES",
        "KLAVIYO_POLL_LAG_SECONDS",
        "KLAVIYO_BASE_URL",
    ];
    let env = Env::new(names.iter().zip(values).map(|(k, v)| (*k, v.clone())));
    match Settings::from_env(&env) {
        Ok(s) => {
            assert!(s.retries <= 10, "retries {}", s.retries);
            let timeout = s.request_timeout.as_millis();
            assert!((500..=300_000).contains(&timeout), "timeout {timeout}");
            assert!(s.retry_delay.as_millis() <= 60_000, "delay");
            assert!(s.max_retry_after.as_secs() <= 3_600, "max Retry-After");
            assert!(s.poll_lag.as_secs() <= 3_600, "lag");
            assert!(
                (1024..=1 << 30).contains(&s.max_response_bytes),
                "max bytes"
            );
            base_url_is_usable(&s.base_url);
        }
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message, "Settings");
            assert!(message.starts_with("KLAVIYO_BASE_URL must be"), "{message}");
        }
    }
}

fn base_url_is_usable(base: &Url) {
    assert!(matches!(base.scheme(), "http" | "https"), "{base}");
    assert!(base.host_str().is_some_and(|h| !h.is_empty()), "{base}");
    assert!(
        base.username().is_empty() && base.password().is_none(),
        "{base}"
    );
    assert!(
        base.query().is_none() && base.fragment().is_none(),
        "{base}"
    );
}

// ---------------------------------------------------------------------------
// The filter builder.

/// One condition as generated: an operator (by index into
/// `Operator::ALL`), a field, and a literal chosen by `kind` from `text`,
/// `number` and `flag`.
pub type ConditionInput = (u8, String, u8, String, i64, bool);

/// `Filter` renders Klaviyo's syntax that reads back as exactly the
/// conditions given (text literals escaped, datetimes unquoted in UTC whole
/// seconds without a `+`), and `unsupported_by` names exactly the
/// conditions a collection does not accept.
pub fn filter(conditions: &[ConditionInput], collection_choice: u16) {
    let mut built = Filter::new();
    let mut want = Vec::new();
    for (op, field, kind, text, number, flag) in conditions {
        let operator = Operator::ALL[usize::from(*op) % Operator::ALL.len()];
        let field = field_name(field);
        let (literal, shown) = match kind % 4 {
            0 => (Literal::Text(text.clone()), Parsed::Text(text.clone())),
            1 => (Literal::Bool(*flag), Parsed::Bare(flag.to_string())),
            2 => (Literal::Integer(*number), Parsed::Bare(number.to_string())),
            _ => {
                let at = datetime(*number);
                let whole = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                (Literal::DateTime(at), Parsed::Bare(whole))
            }
        };
        if let Literal::DateTime(_) = literal
            && let Parsed::Bare(text) = &shown
        {
            assert_datetime_literal(text);
        }
        built = built.and(operator, &field, literal);
        want.push((operator.as_str().to_owned(), field, shown));
    }
    let text = built.to_string();
    assert_eq!(built.is_empty(), conditions.is_empty());
    if conditions.is_empty() {
        assert_eq!(text, "");
    } else {
        let read = parse_filter(&text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
        assert_eq!(read, want, "{text:?} reads back as the conditions given");
    }
    let revisions = klaviyo_spec::revisions();
    let spec = &revisions[usize::from(collection_choice) % revisions.len()];
    let collection = &spec.collections[usize::from(collection_choice / 7) % spec.collections.len()];
    let unsupported: Vec<String> = built
        .conditions()
        .iter()
        .filter(|c| !collection.allows(&c.field, c.operator))
        .map(|c| format!("'{}' on '{}'", c.operator.as_str(), c.field))
        .collect();
    assert_eq!(built.unsupported_by(collection), unsupported);
}

/// A field name as the spec has them: lower-case letters, digits, `_`, `.`.
fn field_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.'))
        .take(30)
        .collect();
    if name.is_empty() {
        "f".to_owned()
    } else {
        name
    }
}

/// An instant between the years 1 and 9999, with sub-second parts.
fn datetime(seed: i64) -> DateTime<Utc> {
    const FIRST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let secs = FIRST + seed.rem_euclid(LAST - FIRST + 1);
    let nanos = (seed.unsigned_abs() % 1_000_000_000) as u32;
    DateTime::from_timestamp(secs, nanos).expect("in range")
}

#[track_caller]
fn assert_datetime_literal(text: &str) {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    assert!(
        b.len() == 20
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && b[19] == b'Z',
        "a datetime Klaviyo reads: YYYY-MM-DDTHH:MM:SSZ, got {text:?}"
    );
}

/// A value as read back from a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A quoted text, unescaped.
    Text(String),
    /// Anything unquoted: a datetime, a number, `true`, `false`.
    Bare(String),
}

/// Read Klaviyo's filter syntax: `op(field,value)` or `and(c1,c2,...)`.
pub fn parse_filter(text: &str) -> Result<Vec<(String, String, Parsed)>, String> {
    let mut chars = text.chars().peekable();
    let name = token(&mut chars);
    let args = arguments(&mut chars)?;
    if chars.next().is_some() {
        return Err("text after the filter".into());
    }
    if name == "and" && args.len() > 1 && args.iter().all(|a| matches!(a, Arg::Call(..))) {
        args.into_iter()
            .map(|a| match a {
                Arg::Call(op, inner) => condition(op, inner),
                _ => Err("not a condition".into()),
            })
            .collect()
    } else {
        Ok(vec![condition(name, args)?])
    }
}

enum Arg {
    Call(String, Vec<Arg>),
    Text(String),
    Bare(String),
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn condition(op: String, args: Vec<Arg>) -> Result<(String, String, Parsed), String> {
    match <[Arg; 2]>::try_from(args) {
        Ok([Arg::Bare(field), Arg::Text(t)]) => Ok((op, field, Parsed::Text(t))),
        Ok([Arg::Bare(field), Arg::Bare(v)]) => Ok((op, field, Parsed::Bare(v))),
        _ => Err(format!("{op}: not (field,value)")),
    }
}

/// Characters up to the next `,`, `(` or `)`.
fn token(chars: &mut Chars<'_>) -> String {
    let mut token = String::new();
    while let Some(&c) = chars.peek() {
        if matches!(c, ',' | '(' | ')') {
            break;
        }
        token.push(c);
        chars.next();
    }
    token
}

/// `(arg,arg,...)`, each a quoted text, a call or a bare token.
fn arguments(chars: &mut Chars<'_>) -> Result<Vec<Arg>, String> {
    if chars.next() != Some('(') {
        return Err("no '('".into());
    }
    let mut args = Vec::new();
    loop {
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('\\') => text.push(chars.next().ok_or("a dangling escape")?),
                    Some('\'') => break,
                    Some(c) => text.push(c),
                    None => return Err("an unterminated text".into()),
                }
            }
            args.push(Arg::Text(text));
        } else {
            let name = token(chars);
            if chars.peek() == Some(&'(') {
                let inner = arguments(chars)?;
                args.push(Arg::Call(name, inner));
            } else {
                args.push(Arg::Bare(name));
            }
        }
        match chars.next() {
            Some(',') => {}
            Some(')') => return Ok(args),
            other => return Err(format!("{other:?} where ',' or ')' belongs")),
        }
    }
}

/// The trigger's query for any pollable type, timestamp field, partition
/// and window of any revision: only parameters, filter fields, operators
/// and sort values the revision declares, datetimes Klaviyo reads, a page
/// size within the declared bound, and a URL under the base.
pub fn plan_query(revision: u8, object_type: u16, field: u8, partition: u8, from: i64, to: i64) {
    let revisions = klaviyo_spec::revisions();
    let spec = &revisions[usize::from(revision) % revisions.len()];
    let types = object_types(spec);
    let ty = types[usize::from(object_type) % types.len()];
    let fields = timestamp_fields(ty.collection);
    let field = fields[usize::from(field) % fields.len()];
    let plan = Plan::new(ty.collection, field);
    let partition = &plan.partitions[usize::from(partition) % plan.partitions.len()];
    let settings = Settings::default();
    let client = Client::new(
        Credentials {
            api_key: "pk_property".to_owned(),
            revision: Revision::parse(spec.revision).expect("a generated revision parses"),
        },
        &settings,
    )
    .expect("a client");
    let (from, to) = (datetime(from), datetime(to));
    let context = format!("{} on {field} ({})", ty.key, spec.revision);
    let query = plan
        .query(partition, from, to)
        .unwrap_or_else(|e| panic!("{context}: no query: {e}"));
    let url = client.url(query.path, &query.pairs());
    if plan.strategy == Strategy::Keyset {
        assert!(
            url.query_pairs().any(|(k, v)| k == "sort" && v == field),
            "{context}: a keyset query sorts ascending by its field"
        );
    }
    assert!(is_under(&url, &settings.base_url), "{context}: {url}");
    let collection = ty.collection;
    for (name, value) in url.query_pairs() {
        assert!(
            collection.declares(&name),
            "{context}: undeclared parameter {name}"
        );
        match name.as_ref() {
            "filter" => {
                let conditions = parse_filter(&value)
                    .unwrap_or_else(|e| panic!("{context}: {value:?} does not parse: {e}"));
                for (op, field, value) in conditions {
                    let operator = Operator::from_name(&op)
                        .unwrap_or_else(|| panic!("{context}: unknown operator {op}"));
                    assert!(
                        collection.allows(&field, operator),
                        "{context}: {op} on {field} is not declared"
                    );
                    if let Parsed::Bare(v) = &value
                        && v.contains(':')
                    {
                        assert_datetime_literal(v);
                    }
                }
            }
            "sort" => assert!(collection.can_sort(&value), "{context}: sort {value}"),
            "page[size]" => {
                let size: u32 = value.parse().expect("a number");
                let bound = collection.page_size.as_ref().expect("declared").max;
                assert!(size >= 1 && size <= bound, "{context}: page[size]={size}");
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The raw request url.

/// Base URLs an operator may configure (each path ends in `/api`, as
/// `parse_base_url` requires).
pub const BASES: &[&str] = &[
    "https://a.klaviyo.com/api",
    "http://127.0.0.1:8080/api",
    "http://localhost:3000/v1/api/",
    "https://a.klaviyo.com/api/",
    "http://[::1]:9000/klaviyo/api",
];

/// Whatever `url` is, a url `resolve` accepts has the base's scheme, host
/// and port, no user information, and a path at or under the base's path
/// with no `.` or `..` segment (also percent-encoded); the client's own
/// check agrees; a refusal is one line.
pub fn raw_url(url: &str, base_choice: u8) {
    let base = parse_base_url(BASES[usize::from(base_choice) % BASES.len()]).expect("a base");
    match klaviyo_component::testing::resolve(url, &base) {
        Ok(resolved) => {
            let context = format!("{url:?} under {base}: {resolved}");
            assert_eq!(resolved.scheme(), base.scheme(), "{context}: scheme");
            assert_eq!(resolved.host(), base.host(), "{context}: host");
            assert_eq!(
                resolved.port_or_known_default(),
                base.port_or_known_default(),
                "{context}: port"
            );
            assert!(
                resolved.username().is_empty() && resolved.password().is_none(),
                "{context}: user information"
            );
            let base_path = base.path().trim_end_matches('/');
            let path = resolved.path();
            assert!(
                path == base_path
                    || path
                        .strip_prefix(base_path)
                        .is_some_and(|rest| rest.starts_with('/')),
                "{context}: the path leaves {base_path}"
            );
            for segment in path.split('/') {
                let decoded = percent_decode(segment).to_ascii_lowercase();
                assert!(
                    decoded != "." && decoded != "..",
                    "{context}: a dot segment {segment:?}"
                );
            }
            assert!(
                is_under(&resolved, &base),
                "{context}: the client disagrees"
            );
        }
        Err(e) => assert_one_line(&e.to_string(), "resolve"),
    }
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
