//! The query string of a list request, checked against what the endpoint
//! declares in the request's revision; and the links Klaviyo builds from it.

use klaviyo_spec::{Collection, Operator};

use crate::cursor::{self, Cursor};
use crate::data::template::Template;
use crate::data::{Val, additional_only};
use crate::errors::{ApiError, Source};
use crate::filter::{self, Pred};
use crate::time::Micros;

/// A checked list request.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub preds: Vec<Pred>,
    /// Sort field and whether descending.
    pub sort: Option<(String, bool)>,
    pub size: usize,
    pub cursor: Option<Cursor>,
    /// `fields[<type>]` of the primary resource.
    pub fields: Option<Vec<String>>,
    pub additional: Vec<String>,
    pub include: Vec<String>,
}

/// Decodes a raw query string as a server does: `+` is a space (so an
/// unencoded `+00:00` offset arrives as ` 00:00`).
pub(crate) fn decode_params(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The scope a cursor is bound to.
pub(crate) fn cursor_scope(coll: &Collection, sort: Option<&str>) -> String {
    format!("{}|{}", coll.path, sort.unwrap_or(""))
}

/// A list request's parameters, looked up as Django's `QueryDict` does:
/// later duplicates win.
struct Params<'a>(&'a [(String, String)]);

impl<'a> Params<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks every parameter of a list request.
pub(crate) fn parse_list(
    coll: &Collection,
    tpl: &Template,
    params: &[(String, String)],
    now: Micros,
    secret: u64,
) -> Result<ListQuery, ApiError> {
    refuse_undeclared(coll, params)?;
    let params = Params(params);
    let mut preds = parse_filter(coll, params.get("filter"), now)?;
    require_filter(coll, &preds)?;
    hide_archived(coll, &mut preds);
    Ok(ListQuery {
        preds,
        sort: parse_sort(coll, params.get("sort"))?,
        size: parse_page_size(coll, params.get("page[size]"))?,
        cursor: parse_cursor(coll, &params, secret)?,
        fields: parse_fields(coll, tpl, &params)?,
        additional: parse_additional(coll, &params)?,
        include: parse_include(tpl, params.get("include"))?,
    })
}

/// Any parameter the endpoint does not declare in this revision is a 400.
fn refuse_undeclared(coll: &Collection, params: &[(String, String)]) -> Result<(), ApiError> {
    match params.iter().find(|(k, _)| !coll.declares(k)) {
        Some((k, _)) => Err(ApiError::param(
            k,
            format!("'{k}' is not a valid query parameter for this endpoint."),
        )),
        None => Ok(()),
    }
}

fn parse_filter(
    coll: &Collection,
    filter: Option<&str>,
    now: Micros,
) -> Result<Vec<Pred>, ApiError> {
    let Some(f) = filter else {
        return Ok(Vec::new());
    };
    let conds = filter::parse(f).map_err(|e| {
        ApiError::param(
            "filter",
            format!(
                "Invalid filter provided: {} (at character {}).",
                e.message, e.at
            ),
        )
    })?;
    filter::check(&conds, coll, now)
}

/// Endpoints whose filter is required (campaigns' channel, coupon codes'
/// coupon or profile) refuse a query without one of those fields.
fn require_filter(coll: &Collection, preds: &[Pred]) -> Result<(), ApiError> {
    let required = filter::required_fields(coll);
    if required.is_empty() || preds.iter().any(|p| required.contains(&p.field)) {
        return Ok(());
    }
    let example = coll.filter.as_ref().and_then(|f| f.example).unwrap_or("");
    Err(ApiError::param(
        "filter",
        format!(
            "A filter on {} is required for this endpoint, e.g. filter={example}",
            required.join(" or ")
        ),
    ))
}

/// Klaviyo lists archived campaigns and flows only when asked for them
/// (what connectors observe; reference §8 quirks 1–2).
fn hide_archived(coll: &Collection, preds: &mut Vec<Pred>) {
    if matches!(coll.path, "/campaigns" | "/flows")
        && coll.filter_field("archived").is_some()
        && !preds.iter().any(|p| p.field == "archived")
    {
        preds.push(Pred {
            field: "archived".into(),
            op: Operator::Equals,
            value: Val::Bool(false),
        });
    }
}

/// A declared sort value as (field, descending).
fn parse_sort(coll: &Collection, sort: Option<&str>) -> Result<Option<(String, bool)>, ApiError> {
    let Some(s) = sort else {
        return Ok(None);
    };
    if !coll.can_sort(s) {
        return Err(ApiError::param(
            "sort",
            format!(
                "'{s}' is not a valid sort value for this endpoint. Valid values are: {}.",
                coll.sort.join(", ")
            ),
        ));
    }
    Ok(Some(match s.strip_prefix('-') {
        Some(f) => (f.to_owned(), true),
        None => (s.to_owned(), false),
    }))
}

/// `page[size]` within the declared bounds, the declared default, or the
/// fixed size of an endpoint without the parameter.
fn parse_page_size(coll: &Collection, given: Option<&str>) -> Result<usize, ApiError> {
    let Some(ps) = coll.page_size else {
        return Ok(coll.fixed_page_size.unwrap_or(20) as usize);
    };
    let Some(v) = given else {
        return Ok(ps.default as usize);
    };
    let n: u32 = v
        .parse()
        .ok()
        .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::param(
                "page[size]",
                format!("'{v}' is not a valid integer for page[size]."),
            )
        })?;
    if n < ps.min || n > ps.max {
        return Err(ApiError::param(
            "page[size]",
            format!(
                "page[size] must be between {} and {}; got {n}.",
                ps.min, ps.max
            ),
        ));
    }
    Ok(n as usize)
}

/// A cursor this stand-in issued for this collection and sort.
fn parse_cursor(
    coll: &Collection,
    params: &Params<'_>,
    secret: u64,
) -> Result<Option<Cursor>, ApiError> {
    let Some(c) = params.get("page[cursor]") else {
        return Ok(None);
    };
    let scope = cursor_scope(coll, params.get("sort").map(|s| s.trim_start_matches('-')));
    cursor::decode(c, secret, &scope)
        .map(Some)
        .ok_or_else(invalid_cursor)
}

/// `fields[<type>]`: attributes of the resource (a dotted path names a
/// part of one).
fn parse_fields(
    coll: &Collection,
    tpl: &Template,
    params: &Params<'_>,
) -> Result<Option<Vec<String>>, ApiError> {
    let own_fields = format!("fields[{}]", coll.resource_type);
    let Some(v) = params.get(&own_fields) else {
        return Ok(None);
    };
    let list = comma_list(v);
    for f in &list {
        let top = f.split('.').next().unwrap_or(f);
        if tpl.attr(top).is_none() {
            return Err(ApiError::param(
                &own_fields,
                format!(
                    "'{f}' is not a valid field for the resource '{}'.",
                    coll.resource_type
                ),
            ));
        }
    }
    Ok(Some(list))
}

/// `additional-fields[<type>]`: only the attributes served on request.
fn parse_additional(coll: &Collection, params: &Params<'_>) -> Result<Vec<String>, ApiError> {
    let name = format!("additional-fields[{}]", coll.resource_type);
    let Some(v) = params.get(&name) else {
        return Ok(Vec::new());
    };
    let allowed = additional_only(coll.resource_type);
    let list = comma_list(v);
    match list.iter().find(|f| !allowed.contains(&f.as_str())) {
        Some(f) => Err(ApiError::param(
            &name,
            format!(
                "'{f}' is not a valid additional field for the resource '{}'.",
                coll.resource_type
            ),
        )),
        None => Ok(list),
    }
}

/// `include`: relationships of the resource.
fn parse_include(tpl: &Template, include: Option<&str>) -> Result<Vec<String>, ApiError> {
    let list = include.map(comma_list).unwrap_or_default();
    match list
        .iter()
        .find(|f| !tpl.rels.iter().any(|r| *r.name == ***f))
    {
        // Wording as in Klaviyo's error guide.
        Some(f) => Err(ApiError::param(
            "include",
            format!("'{f}' is not an allowed include parameter for this resource."),
        )),
        None => Ok(list),
    }
}

/// `a, b,,c` → `["a", "b", "c"]`.
fn comma_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Klaviyo's answer to a cursor it did not issue (klaviyo-api-python#9).
pub(crate) fn invalid_cursor() -> ApiError {
    ApiError::invalid("Invalid cursor provided.", Source::Pointer("/data/".into()))
}

/// Percent-encodes like Python's `quote_plus` (Klaviyo's links): space
/// becomes `+`, everything but `A-Za-z0-9_.-~` becomes `%XX`.
pub(crate) fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `{base}{path}/?k=v&...` with `page[cursor]` set to `cursor` (or removed).
pub(crate) fn link(
    base: &str,
    path: &str,
    params: &[(String, String)],
    cursor: Option<&str>,
) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(params.len() + 1);
    let mut placed = false;
    for (k, v) in params {
        if k == "page[cursor]" {
            if let Some(c) = cursor
                && !placed
            {
                parts.push(format!("{}={}", quote_plus(k), quote_plus(c)));
                placed = true;
            }
            continue;
        }
        parts.push(format!("{}={}", quote_plus(k), quote_plus(v)));
    }
    if let (Some(c), false) = (cursor, placed) {
        parts.push(format!("{}={}", quote_plus("page[cursor]"), quote_plus(c)));
    }
    if parts.is_empty() {
        format!("{base}{path}/")
    } else {
        format!("{base}{path}/?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_decodes_to_space() {
        let p = decode_params("filter=greater-than(updated,2024-01-01T00:00:00+00:00)&a=%2B");
        assert_eq!(p[0].1, "greater-than(updated,2024-01-01T00:00:00 00:00)");
        assert_eq!(p[1].1, "+");
    }

    #[test]
    fn links_encode_like_klaviyo() {
        let params = vec![
            (
                "filter".to_owned(),
                "greater-than(updated,2024-01-01T00:00:00+00:00)".to_owned(),
            ),
            ("page[cursor]".to_owned(), "old".to_owned()),
            ("sort".to_owned(), "updated".to_owned()),
        ];
        assert_eq!(
            link("http://h/api", "/profiles", &params, Some("abc")),
            "http://h/api/profiles/?filter=greater-than%28updated%2C2024-01-01T00%3A00%3A00%2B00%3A00%29&page%5Bcursor%5D=abc&sort=updated"
        );
        assert_eq!(
            link("http://h/api", "/profiles", &params, None),
            "http://h/api/profiles/?filter=greater-than%28updated%2C2024-01-01T00%3A00%3A00%2B00%3A00%29&sort=updated"
        );
        assert_eq!(
            link("http://h/api", "/lists", &[], None),
            "http://h/api/lists/"
        );
        // Round trip: decoding the link gives back the parameters.
        let l = link("http://h/api", "/profiles", &params, Some("abc"));
        let q = l.split_once('?').map(|(_, q)| q).unwrap_or("");
        assert_eq!(decode_params(q)[0], params[0]);
    }
}
