//! Datetimes as Klaviyo writes them and as users type them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Parse a datetime in any form Klaviyo emits or documents: `T` or space
/// between date and time, `Z` or a numeric offset or none (UTC), with or
/// without fractional seconds; also a bare date (midnight UTC).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
    }
    if text.len() < 19 || !text.is_char_boundary(10) || !text.is_char_boundary(11) {
        return None;
    }
    let separator = &text[10..11];
    if !matches!(separator, "T" | "t" | " ") {
        return None;
    }
    let mut normal = String::with_capacity(text.len());
    normal.push_str(&text[..10]);
    normal.push('T');
    normal.push_str(&text[11..]);
    if normal.ends_with('z') {
        normal.pop();
        normal.push('Z');
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normal) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|d| d.and_utc())
}

/// The form Klaviyo's filters take: UTC, whole seconds, `Z` (never a `+`,
/// which a query string would turn into a space).
pub(crate) fn filter_literal(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The form kept in snapshots and logs: RFC 3339 in UTC, with as many
/// fractional digits as the value has.
pub fn to_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `at` without its fractional seconds.
pub(crate) fn floor_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn every_form_klaviyo_emits() {
        let cases = [
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
            ("2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05Z"),
            ("2024-01-02 03:04:05+00:00", "2024-01-02T03:04:05Z"),
            ("2024-01-02 03:04:05Z", "2024-01-02T03:04:05Z"),
            ("2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"),
            (
                "2024-01-02T03:04:05.123456+00:00",
                "2024-01-02T03:04:05.123456Z",
            ),
            ("2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.5Z"),
            ("2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05Z"),
            ("2024-01-01T22:04:05-05:00", "2024-01-02T03:04:05Z"),
            ("2024-01-02T03:04:05+0000", "2024-01-02T03:04:05Z"),
            ("2024-01-02T03:04:05", "2024-01-02T03:04:05Z"),
            ("2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),
            ("2024-01-02T03:04:05.250", "2024-01-02T03:04:05.25Z"),
            ("2024-01-02", "2024-01-02T00:00:00Z"),
            (" 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05Z"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Some(utc(want)), "{text}");
        }
    }

    #[test]
    fn everything_else_is_rejected() {
        for text in [
            "",
            "abc",
            "2024",
            "2024-13-01",
            "2024-02-30",
            "2024-01-02X03:04:05Z",
            "2024-01-02T25:00:00Z",
            "1700000000",
            "02/01/2024",
            "2024-01-02T03:04Z",
            "2024-01-02T03:04:05+25:00",
            "2024-01-02Té3:04:05Z",
            "2024-01-0é",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn filter_literals_are_whole_utc_seconds_without_plus() {
        let at = utc("2024-01-02T05:04:05.999+02:00");
        assert_eq!(filter_literal(at), "2024-01-02T03:04:05Z");
        assert_eq!(to_text(at), "2024-01-02T03:04:05.999Z");
        assert_eq!(to_text(floor_seconds(at)), "2024-01-02T03:04:05Z");
    }
}
