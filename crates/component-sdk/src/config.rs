//! Reading the values the platform puts in `cfg`.
//!
//! The platform sends every field the way its UI stores it: a text field as a
//! string (`"pageSize": "50"`), an empty text field as `""`, a checkbox as
//! `true`, `"true"` or `"on"` when checked and absent or `false` when not, a
//! select as the chosen key. These helpers accept exactly that, and reject
//! anything else with a message that names the field by its label and says
//! what is accepted.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use crate::Error;

/// A field of `component.json` as the readers name it: its id in `cfg` and
/// its label in the UI, which every error about it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
}

impl Field {
    pub const fn new(key: &'static str, label: &'static str) -> Field {
        Field { key, label }
    }
}

/// The configuration of one step: the credential fields and the step's own
/// fields, merged.
#[derive(Debug, Clone, Default)]
pub struct Config {
    values: Map<String, Value>,
}

impl Config {
    pub fn new(values: Map<String, Value>) -> Config {
        Config { values }
    }

    /// The raw value of `key`, as the platform sent it.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// All values, as sent.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// A text field: `None` when absent, `null` or blank; surrounding
    /// whitespace is dropped. Numbers and booleans are accepted as their text,
    /// since some platform APIs send typed values.
    pub fn text(&self, field: Field) -> Result<Option<String>, Error> {
        let label = field.label;
        match self.values.get(field.key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
            }
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(Error::config(format!(
                "\"{label}\" must be text, got {}",
                describe(other)
            ))),
        }
    }

    /// A required text field.
    pub fn required_text(&self, field: Field) -> Result<String, Error> {
        self.text(field)?
            .ok_or_else(|| Error::config(format!("\"{}\" is required", field.label)))
    }

    /// A checkbox: checked is `true`, `"true"` or `"on"`; unchecked is absent,
    /// `null`, `false`, `"false"`, `"off"` or `""` (any letter case).
    pub fn checkbox(&self, field: Field) -> Result<bool, Error> {
        let label = field.label;
        match self.values.get(field.key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "on" => Ok(true),
                "false" | "off" | "" => Ok(false),
                _ => Err(Error::config(format!(
                    "\"{label}\" must be checked or unchecked (true or false), got {}",
                    describe(&Value::String(s.clone()))
                ))),
            },
            Some(other) => Err(Error::config(format!(
                "\"{label}\" must be checked or unchecked (true or false), got {}",
                describe(other)
            ))),
        }
    }

    /// A whole number in `range`, typed in a text field: `None` when the
    /// field is empty.
    pub fn integer(&self, field: Field, range: RangeInclusive<u64>) -> Result<Option<u64>, Error> {
        let label = field.label;
        let bad = |got: &Value| {
            Error::config(format!(
                "\"{label}\" must be a whole number between {} and {}, got {}",
                range.start(),
                range.end(),
                describe(got)
            ))
        };
        let raw = match self.values.get(field.key) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        };
        let parsed = match raw {
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        match parsed {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(bad(raw)),
        }
    }

    /// A text field holding an ISO 8601 duration of whole seconds
    /// (`PT10M`, `P1D`, `P1DT12H`, `P2W`), in seconds: `None` when empty.
    /// It must lie in `range`, or be zero when `zero_is_off` (`PT0S`
    /// turns something off); the error names the field and the range.
    pub fn duration(
        &self,
        field: Field,
        range: RangeInclusive<u64>,
        zero_is_off: bool,
    ) -> Result<Option<u64>, Error> {
        let label = field.label;
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        let off = if zero_is_off { ", or PT0S for off" } else { "" };
        match parse_duration(&text) {
            Some(0) if zero_is_off => Ok(Some(0)),
            Some(secs) if range.contains(&secs) => Ok(Some(secs)),
            parsed => Err(Error::config(format!(
                "\"{label}\" must be an ISO 8601 duration from {} to {}, such as PT10M or P1D{off}, got {}{}",
                iso_duration(*range.start()),
                iso_duration(*range.end()),
                describe(&Value::String(text.clone())),
                parsed
                    .map(|s| format!(" ({})", iso_duration(s)))
                    .unwrap_or_default()
            ))),
        }
    }

    /// A select field whose value must be one of `allowed` (the model's
    /// keys): `None` when nothing is selected.
    pub fn choice(&self, field: Field, allowed: &[&str]) -> Result<Option<String>, Error> {
        let label = field.label;
        let Some(value) = self.text(field)? else {
            return Ok(None);
        };
        if allowed.contains(&value.as_str()) {
            Ok(Some(value))
        } else {
            // A value typed by hand (or an expression) in another letter
            // case or one key off: name the one meant.
            let meant = closest(&value, allowed.iter().copied())
                .map(|m| format!(" — did you mean \"{m}\"?"))
                .unwrap_or_default();
            Err(Error::config(format!(
                "\"{label}\" must be one of {}, got {}{meant}",
                quoted_list(allowed),
                describe(&Value::String(value))
            )))
        }
    }
}

/// The candidate `name` is most likely a typo of: one whose id, ignoring
/// letter case and `_`/`-`/space separators, is at most one edit away from
/// `name`'s (`apikey` → `apiKey`, `object_type` → `objectType`,
/// `pageSise` → `pageSize`). `None` when `name` is itself a candidate or
/// nothing is that close.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = normal(name);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            return None;
        }
        let distance = edit_distance(&wanted, &normal(candidate));
        if distance <= 1 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Seconds of an ISO 8601 duration of whole units: `P[nW][nD][T[nH][nM][nS]]`
/// (no years or months, whose length varies). `None` when it is not one.
pub fn parse_duration(text: &str) -> Option<u64> {
    let upper = text.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    fn units(part: &str, allowed: &[(char, u64)]) -> Option<u64> {
        let mut total = 0u64;
        let mut number = String::new();
        let mut next = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let at = allowed[next..].iter().position(|(u, _)| *u == c)? + next;
            if number.is_empty() {
                return None;
            }
            total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(allowed[at].1)?)?;
            number.clear();
            next = at + 1;
        }
        number.is_empty().then_some(total)
    }
    let days = units(date, &[('W', 604_800), ('D', 86_400)])?;
    let clock = match time {
        Some(t) => units(t, &[('H', 3_600), ('M', 60), ('S', 1)])?,
        None => 0,
    };
    days.checked_add(clock)
}

/// `secs` as the shortest ISO 8601 duration: `PT0S`, `PT90S`, `PT10M`, `P1D`,
/// `P1DT12H`.
pub fn iso_duration(secs: u64) -> String {
    if secs == 0 {
        return "PT0S".to_owned();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if h + m + s > 0 {
        out.push('T');
        for (n, u) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if n > 0 {
                out.push_str(&format!("{n}{u}"));
            }
        }
    }
    out
}

/// `"a", "b" or "c"`.
pub fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `text` cut to `max` characters (with `…`), control characters made
/// spaces: a name or value that fits in a one-line message.
pub fn shortened(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        shown.push('…');
    }
    shown
}

/// How a wrong value is shown in an error: strings quoted and shortened, other
/// JSON by its type, so a message never carries a huge or multi-line value.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{:?}", shortened(s, 60)),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "nothing".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg(value: Value) -> Config {
        let mut map = Map::new();
        map.insert("f".into(), value);
        Config::new(map)
    }

    #[test]
    fn text_fields() {
        let cases: &[(Value, Result<Option<&str>, &str>)] = &[
            (json!("abc"), Ok(Some("abc"))),
            (json!("  abc "), Ok(Some("abc"))),
            (json!(""), Ok(None)),
            (json!("   "), Ok(None)),
            (Value::Null, Ok(None)),
            (json!(50), Ok(Some("50"))),
            (json!(true), Ok(Some("true"))),
            (
                json!({"a": 1}),
                Err("\"Field\" must be text, got an object"),
            ),
            (json!([1]), Err("\"Field\" must be text, got a list")),
        ];
        for (value, want) in cases {
            let got = cfg(value.clone()).text(Field::new("f", "Field"));
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got.as_deref(), *want, "{value}"),
                (Err(got), Err(want)) => assert_eq!(got.to_string(), *want, "{value}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(
            Config::default().text(Field::new("f", "Field")).ok(),
            Some(None)
        );
    }

    #[test]
    fn required_text_names_the_field() {
        let err = Config::default()
            .required_text(Field::new("objectType", "Object Type"))
            .expect_err("missing");
        assert_eq!(err.to_string(), "\"Object Type\" is required");
        assert_eq!(err.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn checkboxes() {
        let cases: &[(Option<Value>, Result<bool, ()>)] = &[
            (None, Ok(false)),
            (Some(Value::Null), Ok(false)),
            (Some(json!(true)), Ok(true)),
            (Some(json!(false)), Ok(false)),
            (Some(json!("true")), Ok(true)),
            (Some(json!("TRUE")), Ok(true)),
            (Some(json!("on")), Ok(true)),
            (Some(json!("false")), Ok(false)),
            (Some(json!("off")), Ok(false)),
            (Some(json!("")), Ok(false)),
            (Some(json!("yes please")), Err(())),
            (Some(json!(1)), Err(())),
            (Some(json!({})), Err(())),
        ];
        for (value, want) in cases {
            let config = match value {
                Some(v) => cfg(v.clone()),
                None => Config::default(),
            };
            let got = config.checkbox(Field::new("f", "Don't throw"));
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{value:?}"),
                (Err(e), Err(())) => {
                    assert!(
                        e.to_string().starts_with("\"Don't throw\" must be checked"),
                        "{e}"
                    )
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn durations() {
        let field = Field::new("f", "Late records lookback");
        let read = |v: Value| cfg(v).duration(field, 60..=604_800, true);
        for (text, secs) in [
            ("PT10M", 600),
            ("P1D", 86_400),
            ("p7d", 604_800),
            ("P1DT12H", 129_600),
            ("PT1M", 60),
            ("PT90S", 90),
            ("P1W", 604_800),
            ("PT0S", 0),
            ("P0D", 0),
        ] {
            assert_eq!(read(json!(text)).ok(), Some(Some(secs)), "{text}");
            assert_eq!(parse_duration(&iso_duration(secs)), Some(secs), "{text}");
        }
        assert_eq!(read(json!("")).ok(), Some(None));
        assert_eq!(iso_duration(129_600), "P1DT12H");
        let bad = [
            (json!("1 day"), "\"1 day\""),
            (json!("P"), "\"P\""),
            (json!("PT"), "\"PT\""),
            (json!("P1M"), "\"P1M\""),
            (json!("PT1.5S"), "\"PT1.5S\""),
            (json!("P1H"), "\"P1H\""),
            (json!("PT30S"), "\"PT30S\" (PT30S)"),
            (json!("P1W1D"), "\"P1W1D\" (P8D)"),
            (
                json!("P99999999999999999999D"),
                "\"P99999999999999999999D\"",
            ),
            (json!(true), "\"true\""),
        ];
        for (value, shown) in bad {
            let err = read(value.clone()).expect_err("rejected").to_string();
            assert_eq!(
                err,
                format!(
                    "\"Late records lookback\" must be an ISO 8601 duration from PT1M to P7D, such as PT10M or P1D, or PT0S for off, got {shown}"
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn integers() {
        let range = 1..=100;
        let ok: &[(Value, Option<u64>)] = &[
            (json!("50"), Some(50)),
            (json!(" 7 "), Some(7)),
            (json!("1"), Some(1)),
            (json!("100"), Some(100)),
            (json!(100), Some(100)),
            (json!(""), None),
            (Value::Null, None),
        ];
        for (value, want) in ok {
            assert_eq!(
                cfg(value.clone())
                    .integer(Field::new("f", "Size of Polling Page"), range.clone())
                    .ok(),
                Some(*want),
                "{value}"
            );
        }
        let bad: &[(Value, &str)] = &[
            (json!("abc"), "\"abc\""),
            (json!("0"), "\"0\""),
            (json!("101"), "\"101\""),
            (json!("-5"), "\"-5\""),
            (json!("2.5"), "\"2.5\""),
            (json!("1e2"), "\"1e2\""),
            (
                json!("99999999999999999999999"),
                "\"99999999999999999999999\"",
            ),
            (json!(0), "0"),
            (json!(-1), "-1"),
            (json!(2.5), "2.5"),
            (json!(true), "true"),
            (json!([1]), "a list"),
        ];
        for (value, shown) in bad {
            let err = cfg(value.clone())
                .integer(Field::new("f", "Size of Polling Page"), range.clone())
                .expect_err("rejected");
            assert_eq!(
                err.to_string(),
                format!(
                    "\"Size of Polling Page\" must be a whole number between 1 and 100, got {shown}"
                ),
            );
        }
    }

    #[test]
    fn choices() {
        let allowed = ["emitIndividually", "emitPage"];
        assert_eq!(
            cfg(json!("emitPage"))
                .choice(Field::new("f", "Emit behavior"), &allowed)
                .ok(),
            Some(Some("emitPage".to_owned()))
        );
        assert_eq!(
            Config::default()
                .choice(Field::new("f", "Emit behavior"), &allowed)
                .ok(),
            Some(None)
        );
        let err = cfg(json!("sideways"))
            .choice(Field::new("f", "Emit behavior"), &allowed)
            .expect_err("rejected");
        assert_eq!(
            err.to_string(),
            "\"Emit behavior\" must be one of \"emitIndividually\" or \"emitPage\", got \"sideways\""
        );
        for near in ["emitpage", "EMIT_PAGE", "emitPages"] {
            let err = cfg(json!(near))
                .choice(Field::new("f", "Emit behavior"), &allowed)
                .expect_err(near);
            assert_eq!(
                err.to_string(),
                format!(
                    "\"Emit behavior\" must be one of \"emitIndividually\" or \"emitPage\", got \"{near}\" — did you mean \"emitPage\"?"
                )
            );
        }
    }

    #[test]
    fn describe_shortens_and_flattens_strings() {
        let long = "x".repeat(100);
        assert_eq!(describe(&json!(long)), format!("\"{}…\"", "x".repeat(60)));
        assert_eq!(describe(&json!("a\nb")), "\"a b\"");
    }

    #[test]
    fn typos_are_told_from_other_names() {
        let known = ["apiKey", "revision", "objectType", "pageSize", "startTime"];
        let cases: &[(&str, Option<&str>)] = &[
            ("apikey", Some("apiKey")),
            ("APIKEY", Some("apiKey")),
            ("api_key", Some("apiKey")),
            ("object_type", Some("objectType")),
            ("object-type", Some("objectType")),
            ("pageSise", Some("pageSize")),
            ("startTme", Some("startTime")),
            ("revisions", Some("revision")),
            ("apiKey", None),
            ("_account", None),
            ("url", None),
            ("objectTypes2", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(closest(name, known), *want, "{name:?}");
        }
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(&[]), "");
        assert_eq!(quoted_list(&["a"]), "\"a\"");
        assert_eq!(quoted_list(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }
}
