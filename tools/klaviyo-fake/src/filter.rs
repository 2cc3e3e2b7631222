//! Klaviyo's `filter` query parameter: the parser, the per-endpoint checks
//! (fields, operators, value types, enums, future dates, required fields) and
//! the predicate that evaluates a checked condition.
//!
//! Grammar (Klaviyo's "Filtering" guide): `op(field,value)` conditions,
//! combined by `and(...)` or by commas at the top level; values are quoted
//! strings (`'...'` or `"..."`, backslash escapes), `true`/`false`, `null`,
//! numbers, unquoted datetimes, or `[...]` lists (for `any`). `has(field)`
//! takes no value.

use klaviyo_spec::{Collection, Operator, ValueType};

use crate::data::Val;
use crate::errors::{ApiError, Source};
use crate::time::{self, MICROS_PER_SEC, Micros};

/// A literal as written in the filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
    DateTime(Micros),
    List(Vec<Literal>),
    /// An unquoted token that is none of the above (e.g. an unquoted word,
    /// or `2024-01-01T00:00:00 00:00`, which is what an unencoded `+00:00`
    /// becomes). Kept so that the check can say what is wrong with it.
    Bare(String),
}

/// One parsed condition, before checking.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub op: String,
    pub field: String,
    pub value: Option<Literal>,
    /// The value's text as written, for error messages.
    pub raw_value: String,
}

/// A syntax error, with the byte offset where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub at: usize,
    pub message: String,
}

/// Parses a whole `filter` value into a flat conjunction.
pub(crate) fn parse(input: &str) -> Result<Vec<Condition>, SyntaxError> {
    let mut p = Parser { s: input, pos: 0 };
    let mut out = Vec::new();
    p.ws();
    if p.eof() {
        return Err(p.err("empty filter"));
    }
    loop {
        p.expr(&mut out, 0)?;
        p.ws();
        if p.eof() {
            return Ok(out);
        }
        p.expect(',')?;
        p.ws();
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

/// Nesting depth beyond which `and(and(and(...)))` is refused rather than
/// recursed into.
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn err(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            at: self.pos,
            message: message.into(),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), SyntaxError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.err(match self.peek() {
                Some(found) => format!("expected '{c}' but found '{found}'"),
                None => format!("expected '{c}' but the filter ended"),
            }))
        }
    }

    /// An identifier: operator or field name (`a-z`, digits, `_`, `-`, `.`,
    /// `$`, `:`). Field names may be quoted in no documented form.
    fn ident(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | ':') {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }

    fn expr(&mut self, out: &mut Vec<Condition>, depth: usize) -> Result<(), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("filter nested too deeply"));
        }
        self.ws();
        let op = self.ident().to_owned();
        if op.is_empty() {
            return Err(self.err(match self.peek() {
                Some(c) => format!("expected an operator but found '{c}'"),
                None => "expected an operator but the filter ended".to_owned(),
            }));
        }
        self.ws();
        self.expect('(')?;
        if op == "and" {
            loop {
                self.expr(out, depth + 1)?;
                self.ws();
                if self.peek() == Some(')') {
                    self.pos += 1;
                    return Ok(());
                }
                self.expect(',')?;
            }
        }
        self.ws();
        let field = self.ident().to_owned();
        if field.is_empty() {
            return Err(self.err("expected a field name"));
        }
        self.ws();
        if self.peek() == Some('(') {
            // `or(...)`, `not(...)`: Klaviyo documents no such operators.
            return Err(self.err(format!(
                "'{op}' operator is not supported; only and(...) combines conditions"
            )));
        }
        if self.peek() == Some(')') {
            self.pos += 1;
            out.push(Condition {
                op,
                field,
                value: None,
                raw_value: String::new(),
            });
            return Ok(());
        }
        self.expect(',')?;
        self.ws();
        let start = self.pos;
        let value = self.value(0)?;
        let raw_value = self.s[start..self.pos].trim().to_owned();
        self.ws();
        self.expect(')')?;
        out.push(Condition {
            op,
            field,
            value: Some(value),
            raw_value,
        });
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Literal, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("filter nested too deeply"));
        }
        self.ws();
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    let Some(c) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += c.len_utf8();
                    if c == '\\' {
                        let Some(e) = self.peek() else {
                            return Err(self.err("unterminated string"));
                        };
                        self.pos += e.len_utf8();
                        s.push(e);
                    } else if c == q {
                        return Ok(Literal::Str(s));
                    } else {
                        s.push(c);
                    }
                }
            }
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(']') {
                    self.pos += 1;
                    return Ok(Literal::List(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(']') => {
                            self.pos += 1;
                            return Ok(Literal::List(items));
                        }
                        Some(',') => self.pos += 1,
                        _ => return Err(self.err("expected ',' or ']' in list")),
                    }
                }
            }
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if matches!(c, ',' | ')' | ']' | '(' | '[') {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
                let tok = self.s[start..self.pos].trim();
                if tok.is_empty() {
                    return Err(self.err("expected a value"));
                }
                Ok(classify(tok))
            }
        }
    }
}

fn classify(tok: &str) -> Literal {
    match tok {
        "true" => return Literal::Bool(true),
        "false" => return Literal::Bool(false),
        "null" => return Literal::Null,
        _ => {}
    }
    let numeric = tok
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if numeric
        && tok.bytes().any(|b| b.is_ascii_digit())
        && !looks_like_date(tok)
        && let Ok(n) = tok.parse::<f64>()
        && n.is_finite()
    {
        return Literal::Num(n);
    }
    match time::parse_filter_datetime(tok) {
        Some(t) => Literal::DateTime(t),
        None => Literal::Bare(tok.to_owned()),
    }
}

fn looks_like_date(tok: &str) -> bool {
    tok.len() >= 10 && tok.as_bytes()[4] == b'-' && tok.as_bytes()[7] == b'-'
}

/// A checked condition, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pred {
    pub field: String,
    pub op: Operator,
    pub value: Val,
}

/// Values a field accepts that the table does not list (Klaviyo rejects
/// e.g. `equals(messages.channel,'push')` with a 400).
fn known_choices(coll: &Collection, field: &str) -> &'static [&'static str] {
    match (coll.path, field) {
        ("/campaigns", "messages.channel") => &["email", "sms", "mobile_push"],
        _ => &[],
    }
}

/// What a field's values are, for checking literals.
fn effective_type(coll: &Collection, field: &str, declared: ValueType) -> ValueType {
    if declared != ValueType::Unknown {
        return declared;
    }
    if coll
        .attribute(field)
        .is_some_and(|a| a.kind == klaviyo_spec::AttributeKind::DateTime)
        || field.ends_with(".timestamp")
        || field.ends_with("_at")
    {
        return ValueType::DateTime;
    }
    ValueType::Unknown
}

fn filter_error(detail: impl Into<String>) -> ApiError {
    ApiError::param("filter", detail)
}

fn unsupported(op: &str, field: &str) -> ApiError {
    filter_error(format!(
        "'{op}' operator for filter field '{field}' not supported"
    ))
}

/// Checks parsed conditions against the endpoint's declared filter and
/// returns predicates; `now` bounds datetimes ("End date may not be in the
/// future").
pub(crate) fn check(
    conds: &[Condition],
    coll: &Collection,
    now: Micros,
) -> Result<Vec<Pred>, ApiError> {
    let mut preds = Vec::with_capacity(conds.len());
    for c in conds {
        let Some(op) = Operator::from_name(&c.op) else {
            return Err(unsupported(&c.op, &c.field));
        };
        let Some(field) = coll.filter_field(&c.field) else {
            return Err(unsupported(&c.op, &c.field));
        };
        if !field.operators.contains(&op) {
            return Err(unsupported(&c.op, &c.field));
        }
        let ty = effective_type(coll, &c.field, field.value_type);
        let value = match (&c.value, op) {
            (None, Operator::Has) => Val::Bool(true),
            (None, _) => {
                return Err(filter_error(format!(
                    "'{}' operator for filter field '{}' requires a value",
                    c.op, c.field
                )));
            }
            (Some(_), Operator::Has) => {
                return Err(filter_error(format!(
                    "'has' takes no value: has({})",
                    c.field
                )));
            }
            (
                Some(Literal::List(items)),
                Operator::Any | Operator::ContainsAny | Operator::ContainsAll,
            ) => {
                let mut vals = Vec::with_capacity(items.len());
                for item in items {
                    vals.push(check_scalar(item, ty, &c.field, &c.raw_value, now)?);
                }
                Val::List(vals)
            }
            (Some(_), Operator::Any | Operator::ContainsAny | Operator::ContainsAll) => {
                return Err(filter_error(format!(
                    "'{}' operator for filter field '{}' requires a list value, e.g. {}({},[\"a\",\"b\"])",
                    c.op, c.field, c.op, c.field
                )));
            }
            (Some(Literal::List(_)), _) => {
                return Err(filter_error(format!(
                    "'{}' operator for filter field '{}' does not take a list",
                    c.op, c.field
                )));
            }
            (Some(lit), _) => check_scalar(lit, ty, &c.field, &c.raw_value, now)?,
        };
        let choices: Vec<&str> = if field.values.is_empty() {
            known_choices(coll, &c.field).to_vec()
        } else {
            field.values.to_vec()
        };
        if !choices.is_empty() {
            let all = match &value {
                Val::List(v) => v.clone(),
                v => vec![v.clone()],
            };
            for v in all {
                if let Val::Str(s) = &v
                    && !choices.contains(&s.as_str())
                {
                    return Err(filter_error(format!(
                        "'{s}' is not a valid choice for filter field '{}'. Valid choices are: {}.",
                        c.field,
                        choices.join(", ")
                    )));
                }
            }
        }
        preds.push(Pred {
            field: c.field.clone(),
            op,
            value,
        });
    }
    Ok(preds)
}

fn check_scalar(
    lit: &Literal,
    ty: ValueType,
    field: &str,
    raw: &str,
    now: Micros,
) -> Result<Val, ApiError> {
    match (ty, lit) {
        (ValueType::DateTime, Literal::DateTime(t)) => {
            if *t > now {
                // Observed body (airbyte#34996): pointer names the field.
                return Err(ApiError::invalid(
                    format!("End date may not be in the future: {}", raw),
                    Source::Pointer(field.to_owned()),
                ));
            }
            Ok(Val::Time(*t))
        }
        (ValueType::DateTime, Literal::Str(s)) if time::parse_filter_datetime(s).is_some() => {
            // Observed body: "Verify your datetimes are not in quotes."
            Err(ApiError::invalid(
                "Invalid filter supplied. Verify your datetimes are not in quotes.",
                Source::Pointer("filters".into()),
            ))
        }
        (ValueType::DateTime, _) => Err(filter_error(format!(
            "Invalid datetime value for filter field '{field}': {raw}. Datetimes must be unquoted ISO 8601, e.g. 2024-01-01T00:00:00Z; encode '+' as %2B."
        ))),
        (ValueType::Number, Literal::Num(n)) => {
            // Events' `timestamp` is Unix seconds and obeys the same rule.
            if field == "timestamp" && *n > (now / MICROS_PER_SEC) as f64 {
                return Err(ApiError::invalid(
                    format!("End date may not be in the future: {raw}"),
                    Source::Pointer(field.to_owned()),
                ));
            }
            Ok(Val::Num(*n))
        }
        (ValueType::Number, _) => Err(filter_error(format!(
            "Invalid number value for filter field '{field}': {raw}"
        ))),
        (ValueType::Boolean, Literal::Bool(b)) => Ok(Val::Bool(*b)),
        (ValueType::Boolean, _) => Err(filter_error(format!(
            "Invalid boolean value for filter field '{field}': {raw}. Use true or false, unquoted."
        ))),
        (ValueType::String, Literal::Str(s)) => Ok(Val::Str(s.clone())),
        (ValueType::String, _) => Err(filter_error(format!(
            "Invalid string value for filter field '{field}': {raw}. Strings must be quoted."
        ))),
        (_, Literal::Str(s)) => Ok(Val::Str(s.clone())),
        (_, Literal::Bool(b)) => Ok(Val::Bool(*b)),
        (_, Literal::Num(n)) => Ok(Val::Num(*n)),
        (_, Literal::DateTime(t)) => {
            if *t > now {
                return Err(ApiError::invalid(
                    format!("End date may not be in the future: {raw}"),
                    Source::Pointer(field.to_owned()),
                ));
            }
            Ok(Val::Time(*t))
        }
        (_, Literal::Null) => Ok(Val::Null),
        (_, Literal::Bare(b)) => Err(filter_error(format!(
            "Invalid value for filter field '{field}': {b}. Strings must be quoted."
        ))),
        (_, Literal::List(_)) => Err(filter_error(format!(
            "Nested lists are not allowed in filter field '{field}'"
        ))),
    }
}

/// The fields a required filter must name: those in the table's example
/// (e.g. campaigns' `equals(messages.channel,'sms')`). Klaviyo accepts
/// either `coupon.id` or `profile.id` for coupon codes.
pub(crate) fn required_fields(coll: &Collection) -> Vec<String> {
    let Some(f) = coll.filter.as_ref().filter(|f| f.required) else {
        return Vec::new();
    };
    let mut fields: Vec<String> = f
        .example
        .and_then(|e| parse(e).ok())
        .map(|conds| conds.into_iter().map(|c| c.field).collect())
        .unwrap_or_default();
    if fields.iter().any(|f| f == "coupon.id") && coll.filter_field("profile.id").is_some() {
        fields.push("profile.id".into());
    }
    fields
}

/// Whether `value` (a record's field) satisfies `pred`.
pub(crate) fn matches(pred: &Pred, value: &Val) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |a: &Val, b: &Val| -> Option<std::cmp::Ordering> {
        match (a, b) {
            (Val::Time(x), Val::Time(y)) => Some(x.cmp(y)),
            (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
            (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
            (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
            (Val::Null, Val::Null) => Some(Equal),
            _ => None,
        }
    };
    let eq = |a: &Val, b: &Val| match a {
        Val::List(items) => items.iter().any(|i| cmp(i, b) == Some(Equal)),
        _ => cmp(a, b) == Some(Equal),
    };
    match pred.op {
        Operator::Equals => eq(value, &pred.value),
        Operator::LessThan => cmp(value, &pred.value) == Some(Less),
        Operator::LessOrEqual => matches!(cmp(value, &pred.value), Some(Less | Equal)),
        Operator::GreaterThan => cmp(value, &pred.value) == Some(Greater),
        Operator::GreaterOrEqual => matches!(cmp(value, &pred.value), Some(Greater | Equal)),
        Operator::Any => match &pred.value {
            Val::List(opts) => opts.iter().any(|o| eq(value, o)),
            v => eq(value, v),
        },
        Operator::Contains => match (value, &pred.value) {
            (Val::Str(s), Val::Str(needle)) => s.contains(needle.as_str()),
            (Val::List(items), v) => items.iter().any(|i| cmp(i, v) == Some(Equal)),
            _ => false,
        },
        Operator::ContainsAny | Operator::ContainsAll => {
            let wanted: Vec<&Val> = match &pred.value {
                Val::List(v) => v.iter().collect(),
                v => vec![v],
            };
            let has = |w: &Val| match (value, w) {
                (Val::List(items), w) => items.iter().any(|i| cmp(i, w) == Some(Equal)),
                (Val::Str(s), Val::Str(n)) => s.contains(n.as_str()),
                _ => false,
            };
            if pred.op == Operator::ContainsAny {
                wanted.into_iter().any(has)
            } else {
                wanted.into_iter().all(has)
            }
        }
        Operator::StartsWith => {
            matches!((value, &pred.value), (Val::Str(s), Val::Str(p)) if s.starts_with(p.as_str()))
        }
        Operator::EndsWith => {
            matches!((value, &pred.value), (Val::Str(s), Val::Str(p)) if s.ends_with(p.as_str()))
        }
        Operator::Has => !matches!(value, Val::Null | Val::Bool(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> Literal {
        Literal::DateTime(time::parse_filter_datetime(s).expect("valid datetime"))
    }

    fn cond(op: &str, field: &str, value: Option<Literal>) -> (String, String, Option<Literal>) {
        (op.to_owned(), field.to_owned(), value)
    }

    #[test]
    fn parses_good_filters() {
        type Case = (&'static str, Vec<(String, String, Option<Literal>)>);
        let cases: Vec<Case> = vec![
            (
                "equals(email,'a@b.com')",
                vec![cond(
                    "equals",
                    "email",
                    Some(Literal::Str("a@b.com".into())),
                )],
            ),
            (
                "greater-than(updated,2024-05-01T12:00:00Z)",
                vec![cond(
                    "greater-than",
                    "updated",
                    Some(dt("2024-05-01T12:00:00Z")),
                )],
            ),
            (
                "and(equals(messages.channel,\"sms\"),greater-or-equal(updated_at,2024-05-01T12:00:00.123+02:00))",
                vec![
                    cond(
                        "equals",
                        "messages.channel",
                        Some(Literal::Str("sms".into())),
                    ),
                    cond(
                        "greater-or-equal",
                        "updated_at",
                        Some(dt("2024-05-01T12:00:00.123+02:00")),
                    ),
                ],
            ),
            (
                "equals(archived,true),less-than(timestamp,1714564800)",
                vec![
                    cond("equals", "archived", Some(Literal::Bool(true))),
                    cond(
                        "less-than",
                        "timestamp",
                        Some(Literal::Num(1_714_564_800.0)),
                    ),
                ],
            ),
            (
                "any(email,['a@x.com',\"b@x.com\"])",
                vec![cond(
                    "any",
                    "email",
                    Some(Literal::List(vec![
                        Literal::Str("a@x.com".into()),
                        Literal::Str("b@x.com".into()),
                    ])),
                )],
            ),
            ("has(profile)", vec![cond("has", "profile", None)]),
            (
                r#"equals(name,'O\'Brien \\ co')"#,
                vec![cond(
                    "equals",
                    "name",
                    Some(Literal::Str(r"O'Brien \ co".into())),
                )],
            ),
            (
                " and( equals(a, 'x') , and(equals(b,1)) ) ",
                vec![
                    cond("equals", "a", Some(Literal::Str("x".into()))),
                    cond("equals", "b", Some(Literal::Num(1.0))),
                ],
            ),
            (
                "greater-than(updated,2024-01-01T00:00:00 00:00)",
                vec![cond(
                    "greater-than",
                    "updated",
                    Some(Literal::Bare("2024-01-01T00:00:00 00:00".into())),
                )],
            ),
            (
                "equals(x,null)",
                vec![cond("equals", "x", Some(Literal::Null))],
            ),
            (
                "any(x,[])",
                vec![cond("any", "x", Some(Literal::List(vec![])))],
            ),
            (
                "equals(d,2023-02-07)",
                vec![cond("equals", "d", Some(dt("2023-02-07")))],
            ),
        ];
        for (input, want) in cases {
            let got: Vec<_> = parse(input)
                .unwrap_or_else(|e| panic!("{input}: {e:?}"))
                .into_iter()
                .map(|c| (c.op, c.field, c.value))
                .collect();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn rejects_bad_syntax() {
        for input in [
            "",
            "   ",
            "equals(email,'a@b.com'",
            "equals(email 'a')",
            "equals(email,'unterminated)",
            "equals(,'a')",
            "equals(email,)",
            "(email,'a')",
            "equals(email,'a'))",
            "equals(email,'a')x",
            "any(email,['a' 'b'])",
            "and()",
            "and(equals(a,'b'),)",
            "equals(email,'a\\",
            "equals(a,[)",
        ] {
            assert!(parse(input).is_err(), "{input:?} parsed");
        }
        let deep = "and(".repeat(100) + "equals(a,'b')" + &")".repeat(100);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn matches_operators() {
        let p = |op, v: Val| Pred {
            field: "f".into(),
            op,
            value: v,
        };
        let s = |x: &str| Val::Str(x.into());
        assert!(matches(&p(Operator::Equals, s("a")), &s("a")));
        assert!(!matches(&p(Operator::Equals, s("a")), &Val::Null));
        assert!(matches(
            &p(Operator::GreaterThan, Val::Time(5)),
            &Val::Time(6)
        ));
        assert!(!matches(
            &p(Operator::GreaterThan, Val::Time(5)),
            &Val::Time(5)
        ));
        assert!(matches(
            &p(Operator::GreaterOrEqual, Val::Time(5)),
            &Val::Time(5)
        ));
        assert!(!matches(&p(Operator::LessThan, Val::Time(5)), &Val::Null));
        assert!(matches(
            &p(Operator::Any, Val::List(vec![s("a"), s("b")])),
            &s("b")
        ));
        assert!(matches(&p(Operator::Contains, s("ell")), &s("hello")));
        assert!(matches(&p(Operator::StartsWith, s("he")), &s("hello")));
        assert!(matches(&p(Operator::EndsWith, s("lo")), &s("hello")));
        assert!(matches(&p(Operator::Has, Val::Bool(true)), &s("x")));
        assert!(!matches(&p(Operator::Has, Val::Bool(true)), &Val::Null));
        assert!(matches(
            &p(Operator::ContainsAll, Val::List(vec![s("a"), s("b")])),
            &Val::List(vec![s("b"), s("a")])
        ));
    }

    /// (revision, collection, filter, Ok(number of predicates) or Err(detail fragment))
    #[test]
    fn checks_against_the_table() {
        let now = time::parse_filter_datetime("2026-01-01T00:00:00Z").expect("now");
        let cases: &[(&str, &str, &str, Result<usize, &str>)] = &[
            (
                "2024-10-15",
                "/profiles",
                "greater-than(updated,2025-01-01T00:00:00Z)",
                Ok(1),
            ),
            (
                "2024-10-15",
                "/profiles",
                "and(greater-than(updated,2025-01-01T00:00:00Z),less-than(updated,2025-06-01T00:00:00+02:00))",
                Ok(2),
            ),
            (
                "2024-10-15",
                "/profiles",
                "greater-or-equal(updated,2025-01-01T00:00:00Z)",
                Err("'greater-or-equal' operator for filter field 'updated' not supported"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "equals(nickname,'x')",
                Err("'equals' operator for filter field 'nickname' not supported"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "or(equals(email,'x'))",
                Err("'or' operator"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "greater-than(updated,'2025-01-01T00:00:00Z')",
                Err("Verify your datetimes are not in quotes"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "greater-than(updated,2027-01-01T00:00:00Z)",
                Err("End date may not be in the future: 2027-01-01T00:00:00Z"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "greater-than(updated,2025-01-01T00:00:00 00:00)",
                Err("Invalid datetime value"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "greater-than(updated,1714564800)",
                Err("Invalid datetime value"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "equals(email,a@b.com)",
                Err("Strings must be quoted"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "any(email,'a@b.com')",
                Err("requires a list"),
            ),
            (
                "2024-10-15",
                "/profiles",
                "any(email,['a@b.com','c@d.com'])",
                Ok(1),
            ),
            (
                "2024-10-15",
                "/campaigns",
                "equals(messages.channel,'email')",
                Ok(1),
            ),
            (
                "2024-10-15",
                "/campaigns",
                "equals(messages.channel,'push')",
                Err("not a valid choice"),
            ),
            (
                "2024-10-15",
                "/campaigns",
                "and(equals(messages.channel,'sms'),equals(archived,true))",
                Ok(2),
            ),
            (
                "2024-10-15",
                "/campaigns",
                "equals(archived,'true')",
                Err("Invalid boolean"),
            ),
            (
                "2024-10-15",
                "/events",
                "greater-or-equal(timestamp,1700000000)",
                Ok(1),
            ),
            (
                "2024-10-15",
                "/events",
                "greater-or-equal(timestamp,1900000000)",
                Err("End date may not be in the future"),
            ),
            ("2024-10-15", "/events", "has(profile)", Ok(1)),
            (
                "2024-10-15",
                "/events",
                "has(profile,true)",
                Err("takes no value"),
            ),
            (
                "2024-10-15",
                "/lists",
                "greater-than(updated,2025-01-01T00:00:00Z)",
                Ok(1),
            ),
            (
                "2024-10-15",
                "/lists",
                "less-than(updated,2025-01-01T00:00:00Z)",
                Err("'less-than' operator for filter field 'updated' not supported"),
            ),
            (
                "2026-10-15",
                "/campaigns",
                "equals(messages.channel,'email')",
                Err("'equals' operator for filter field 'messages.channel' not supported"),
            ),
            (
                "2026-10-15",
                "/campaigns",
                "greater-or-equal(updated_at,2025-01-01T00:00:00Z)",
                Ok(1),
            ),
        ];
        for (rev, path, input, want) in cases {
            let coll = klaviyo_spec::for_revision(rev)
                .collection(path)
                .unwrap_or_else(|| panic!("{rev} {path} missing from the table"));
            let got = parse(input)
                .map_err(|e| ApiError::param("filter", e.message))
                .and_then(|c| check(&c, coll, now));
            match (got, want) {
                (Ok(preds), Ok(n)) => assert_eq!(preds.len(), *n, "{rev} {path} {input}"),
                (Err(e), Err(fragment)) => assert!(
                    e.detail.contains(fragment),
                    "{rev} {path} {input}: {}",
                    e.detail
                ),
                (got, want) => panic!("{rev} {path} {input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn required_fields_come_from_the_example() {
        let coll = klaviyo_spec::for_revision("2024-10-15")
            .collection("/campaigns")
            .expect("campaigns");
        assert_eq!(required_fields(coll), vec!["messages.channel".to_owned()]);
        let coll = klaviyo_spec::for_revision("2026-10-15")
            .collection("/campaigns")
            .expect("campaigns");
        assert!(required_fields(coll).is_empty());
        let coll = klaviyo_spec::for_revision("2024-10-15")
            .collection("/profiles")
            .expect("profiles");
        assert!(required_fields(coll).is_empty());
    }
}
