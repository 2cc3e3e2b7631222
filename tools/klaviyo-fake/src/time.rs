//! Instants as Klaviyo writes and reads them.
//!
//! Stored as microseconds since the Unix epoch (UTC), so that comparisons and
//! sorted indexes are plain integer work. Klaviyo writes several textual
//! forms (see [`Style`]) and accepts a few more in filters (see
//! [`parse_filter_datetime`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Microseconds since the Unix epoch, UTC.
pub(crate) type Micros = i64;

pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;

/// The current wall-clock time.
pub(crate) fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

/// How a timestamp is written in a response. Klaviyo is not consistent: most
/// attributes read `2024-05-01T12:00:00+00:00`, some carry a fraction, and
/// events' `datetime` sometimes uses a space instead of `T` (Klaviyo's own
/// sorting guide shows `2023-07-24 20:15:57+00:00`). Clients must parse all
/// three, so the stand-in serves all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `2024-05-01T12:00:00+00:00` (sub-second part dropped).
    Plain,
    /// `2024-05-01T12:00:00.123456+00:00`.
    Fraction,
    /// `2024-05-01 12:00:00+00:00`.
    Space,
}

/// Writes `micros` in `style` onto `out` (digits written by hand: chrono's
/// `format` re-parses its pattern on every call, which showed in profiles).
pub(crate) fn write_ts(out: &mut Vec<u8>, micros: Micros, style: Style) {
    use chrono::{Datelike, Timelike};
    let Some(dt) = DateTime::<Utc>::from_timestamp_micros(micros) else {
        out.extend_from_slice(b"1970-01-01T00:00:00+00:00");
        return;
    };
    let mut num = |v: u32, width: usize| {
        let mut buf = [b'0'; 10];
        let mut v = v;
        for i in (0..width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    };
    num(dt.year().clamp(0, 9999) as u32, 4);
    let sep = if style == Style::Space { b' ' } else { b'T' };
    let (mo, d, h, mi, se) = (dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second());
    out.push(b'-');
    let two = |v: u32, out: &mut Vec<u8>| {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8])
    };
    two(mo, out);
    out.push(b'-');
    two(d, out);
    out.push(sep);
    two(h, out);
    out.push(b':');
    two(mi, out);
    out.push(b':');
    two(se, out);
    if style == Style::Fraction {
        out.push(b'.');
        let mut f = micros.rem_euclid(MICROS_PER_SEC) as u32;
        let mut buf = [b'0'; 6];
        for i in (0..6).rev() {
            buf[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&buf);
    }
    out.extend_from_slice(b"+00:00");
}

/// `micros` in `style`, as a new string.
pub(crate) fn format_ts(micros: Micros, style: Style) -> String {
    let mut s = Vec::with_capacity(32);
    write_ts(&mut s, micros, style);
    String::from_utf8(s).unwrap_or_default()
}

/// The RFC 7231 `Date` header value for now.
pub(crate) fn http_date() -> String {
    Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses a datetime literal of Klaviyo's filter syntax: ISO 8601 / RFC 3339
/// with `T` or a space between date and time, optional fraction, and `Z`, an
/// offset or nothing (UTC); or a bare date. Letters must be upper case, as
/// Klaviyo documents. Returns `None` for anything else, e.g.
/// `2024-01-01T00:00:00 00:00`, which is what `+00:00` becomes when a client
/// forgets to percent-encode the `+`.
pub(crate) fn parse_filter_datetime(s: &str) -> Option<Micros> {
    if s.len() == 10 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(
            Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
                .timestamp_micros(),
        );
    }
    // Date and time always take the first 19 bytes; the separator is `T` or a space.
    let bytes = s.as_bytes();
    if bytes.len() < 19 || !(bytes[10] == b'T' || bytes[10] == b' ') || !s.is_char_boundary(19) {
        return None;
    }
    let (head, mut rest) = s.split_at(19);
    let naive =
        NaiveDateTime::parse_from_str(&head.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S").ok()?;
    let mut micros = Utc.from_utc_datetime(&naive).timestamp_micros();
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let mut value: i64 = 0;
        for (i, b) in frac.bytes().take(6).enumerate() {
            if i >= digits {
                break;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        for _ in digits.min(6)..6 {
            value *= 10;
        }
        micros += value;
        rest = &frac[digits..];
    }
    let offset_secs: i64 = match rest {
        "" | "Z" => 0,
        _ => parse_offset(rest)?,
    };
    Some(micros - offset_secs * MICROS_PER_SEC)
}

/// `+HH:MM`, `-HH:MM`, `+HHMM` or `-HHMM`, in seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &s[1..];
    let (h, m) = match body.len() {
        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
        4 => (&body[..2], &body[2..]),
        _ => return None,
    };
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// Parses a timestamp as found in a stored attribute (whatever a test or a
/// client wrote): RFC 3339 and the forms [`parse_filter_datetime`] accepts.
pub(crate) fn parse_stored(s: &str) -> Option<Micros> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_micros())
        .ok()
        .or_else(|| parse_filter_datetime(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Micros {
        DateTime::parse_from_rfc3339(s)
            .expect("valid rfc3339")
            .timestamp_micros()
    }

    #[test]
    fn filter_datetimes() {
        let base = at("2024-05-01T12:00:00Z");
        for (text, want) in [
            ("2024-05-01T12:00:00Z", Some(base)),
            ("2024-05-01T12:00:00", Some(base)),
            ("2024-05-01 12:00:00Z", Some(base)),
            ("2024-05-01T14:00:00+02:00", Some(base)),
            ("2024-05-01T10:00:00-0200", Some(base)),
            ("2024-05-01T12:00:00.5Z", Some(base + 500_000)),
            ("2024-05-01T12:00:00.123456789+00:00", Some(base + 123_456)),
            ("2024-05-01", Some(at("2024-05-01T00:00:00Z"))),
            ("2024-05-01T12:00:00 00:00", None),
            ("2024-05-01t12:00:00Z", None),
            ("2024-05-01T12:00:00z", None),
            ("2024-05-01T12:00", None),
            ("2024-13-01T12:00:00Z", None),
            ("1714564800", None),
            ("2024-05-01T12:00:00.Z", None),
            ("2024-05-01T12:00:00+25:00", None),
            ("", None),
            ("2024-05-01T12:00:00é", None),
        ] {
            assert_eq!(parse_filter_datetime(text), want, "{text}");
        }
    }

    #[test]
    fn styles_round_trip() {
        let t = at("2023-07-24T20:15:57.250000Z");
        assert_eq!(format_ts(t, Style::Plain), "2023-07-24T20:15:57+00:00");
        assert_eq!(
            format_ts(t, Style::Fraction),
            "2023-07-24T20:15:57.250000+00:00"
        );
        assert_eq!(format_ts(t, Style::Space), "2023-07-24 20:15:57+00:00");
        assert_eq!(parse_stored("2023-07-24 20:15:57+00:00"), Some(t - 250_000));
        assert_eq!(parse_stored(&format_ts(t, Style::Fraction)), Some(t));
    }
}
