//! Klaviyo's filter syntax: `and(greater-or-equal(updated,2024-01-01T00:00:00Z),equals(archived,true))`.

use std::fmt::{self, Write};

use chrono::{DateTime, Utc};
use klaviyo_spec::{Collection, Operator};

/// A value on the right of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Written unquoted in UTC with whole seconds: Klaviyo rejects quoted
    /// datetimes, and a `+` offset would become a space in a query string.
    DateTime(DateTime<Utc>),
    /// Written in single quotes with `\` and `'` escaped.
    Text(String),
    Bool(bool),
    Integer(i64),
    /// A number with a fraction (`4.5`); whole numbers are [`Literal::Integer`].
    Number(f64),
    /// `["a","b"]`, for `any`, `contains-any` and `contains-all`.
    List(Vec<Literal>),
}

/// One `operator(field,value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    pub field: String,
    pub value: Literal,
}

/// The conditions of one `filter` parameter, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    conditions: Vec<Condition>,
}

impl Filter {
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Add `operator(field,value)`.
    pub fn and(mut self, operator: Operator, field: &str, value: Literal) -> Filter {
        self.conditions.push(Condition {
            operator,
            field: field.to_owned(),
            value,
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Every field and operator that `collection` does not accept, as
    /// `'operator' on 'field'` descriptions; empty when all are allowed.
    pub fn unsupported_by(&self, collection: &Collection) -> Vec<String> {
        self.conditions
            .iter()
            .filter(|c| !collection.allows(&c.field, c.operator))
            .map(|c| format!("'{}' on '{}'", c.operator.as_str(), c.field))
            .collect()
    }
}

impl fmt::Display for Filter {
    /// The parameter's value: one condition alone, several inside `and(...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.conditions.as_slice() {
            [] => Ok(()),
            [only] => write!(f, "{only}"),
            many => {
                f.write_str("and(")?;
                for (i, c) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_char(')')
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({},{})",
            self.operator.as_str(),
            self.field,
            self.value
        )
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::DateTime(at) => f.write_str(&crate::time::filter_literal(*at)),
            Literal::Text(text) => {
                f.write_char('\'')?;
                for c in text.chars() {
                    if c == '\'' || c == '\\' {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_char('\'')
            }
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Integer(n) => write!(f, "{n}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, nanos).single().expect("valid")
    }

    #[test]
    fn syntax() {
        let cases: Vec<(Filter, &str)> = vec![
            (Filter::new(), ""),
            (
                Filter::new().and(
                    Operator::GreaterThan,
                    "updated",
                    Literal::DateTime(at(1_704_067_200, 0)),
                ),
                "greater-than(updated,2024-01-01T00:00:00Z)",
            ),
            (
                Filter::new()
                    .and(
                        Operator::Equals,
                        "messages.channel",
                        Literal::Text("email".into()),
                    )
                    .and(
                        Operator::GreaterOrEqual,
                        "updated_at",
                        Literal::DateTime(at(1_704_067_200, 999_000_000)),
                    )
                    .and(
                        Operator::LessThan,
                        "updated_at",
                        Literal::DateTime(at(1_704_153_600, 0)),
                    ),
                "and(equals(messages.channel,'email'),greater-or-equal(updated_at,2024-01-01T00:00:00Z),less-than(updated_at,2024-01-02T00:00:00Z))",
            ),
            (
                Filter::new().and(Operator::Equals, "archived", Literal::Bool(true)),
                "equals(archived,true)",
            ),
            (
                Filter::new().and(
                    Operator::Equals,
                    "name",
                    Literal::Text(r"it's a \ test".into()),
                ),
                r"equals(name,'it\'s a \\ test')",
            ),
            (
                Filter::new().and(
                    Operator::Any,
                    "email",
                    Literal::List(vec![
                        Literal::Text("a@example.com".into()),
                        Literal::Text("b'c@example.com".into()),
                    ]),
                ),
                r"any(email,['a@example.com','b\'c@example.com'])",
            ),
            (
                Filter::new().and(Operator::GreaterOrEqual, "rating", Literal::Number(4.5)),
                "greater-or-equal(rating,4.5)",
            ),
            (
                Filter::new().and(
                    Operator::GreaterOrEqual,
                    "timestamp",
                    Literal::Integer(978_354_000),
                ),
                "greater-or-equal(timestamp,978354000)",
            ),
        ];
        for (filter, want) in cases {
            assert_eq!(filter.to_string(), want);
            assert!(!filter.to_string().contains('+'));
        }
    }

    #[test]
    fn support_is_checked_against_the_revision() {
        let spec = klaviyo_spec::for_revision("2024-10-15");
        let profiles = spec.collection("/profiles").expect("profiles");
        let t = Literal::DateTime(at(0, 0));
        let ok = Filter::new()
            .and(Operator::GreaterThan, "updated", t.clone())
            .and(Operator::LessThan, "updated", t.clone());
        assert!(ok.unsupported_by(profiles).is_empty());
        let bad = Filter::new()
            .and(Operator::GreaterOrEqual, "updated", t.clone())
            .and(Operator::GreaterThan, "nope", t);
        assert_eq!(
            bad.unsupported_by(profiles),
            vec![
                "'greater-or-equal' on 'updated'".to_owned(),
                "'greater-than' on 'nope'".to_owned()
            ]
        );
    }
}
