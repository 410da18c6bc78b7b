//! List parameters shared by users and groups: `startIndex`/`count` paging, the only filter
//! form Zoom documents (`attr eq value`, value quoted or bare) and the ListResponse envelope.

use serde_json::{Value, json};

use super::config::Knobs;
use super::wire::{LIST_RESPONSE, Reply, text};

/// Decoded query parameters (`+` and `%XX` decoded).
pub fn params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// 1-based start and page size after Zoom's clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub start: usize,
    pub count: usize,
}

pub fn paging(knobs: &Knobs, params: &[(String, String)]) -> Result<Paging, Reply> {
    let start = match param(params, "startIndex") {
        None if knobs.start_index_required => {
            return Err(Reply::scim_error(400, "The \"startIndex\" parameter is required."));
        }
        None => 1,
        // RFC 7644: a startIndex below 1 is read as 1.
        Some(v) => v.trim().parse::<i64>().map_err(|_| Reply::scim_error(400, "Invalid startIndex"))?.max(1) as usize,
    };
    let count = match param(params, "count") {
        None => knobs.default_count.min(knobs.max_count) as usize,
        Some(v) => {
            let n = v.trim().parse::<i64>().map_err(|_| Reply::scim_error(400, "Invalid count"))?;
            n.clamp(0, i64::from(knobs.max_count)) as usize
        }
    };
    Ok(Paging { start, count })
}

/// Parses `attr eq value` with `attr` matched case-insensitively against `allowed`.
/// Returns the matched allowed name and the value; anything else is `None` (a 400).
pub fn parse_eq<'a>(filter: &str, allowed: &[&'a str]) -> Option<(&'a str, String)> {
    let filter = filter.trim();
    let (attr, rest) = filter.split_once(char::is_whitespace)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let attr = allowed.iter().find(|a| a.eq_ignore_ascii_case(attr))?;
    let value = value.trim();
    let value = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        value[1..value.len() - 1].replace("\\\"", "\"")
    } else if value.is_empty() || value.contains(char::is_whitespace) || value.contains('"') {
        return None;
    } else {
        value.to_string()
    };
    Some((attr, value))
}

pub fn invalid_filter() -> Reply {
    Reply::scim_error(400, text::INVALID_FILTER)
}

/// The ListResponse for one page of `total` matches.
pub fn list_response(total: usize, paging: Paging, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": paging.start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_filter_accepts_quoted_and_bare_values() {
        let allowed = ["userName", "externalId"];
        assert_eq!(parse_eq(r#"userName eq "a@b.co""#, &allowed), Some(("userName", "a@b.co".into())));
        assert_eq!(parse_eq("USERNAME EQ a@b.co", &allowed), Some(("userName", "a@b.co".into())));
        assert_eq!(parse_eq("externalId eq abc&def", &allowed), Some(("externalId", "abc&def".into())));
        for bad in ["userName co \"a\"", "title eq x", "userName eq", "userName eq a b", "active eq true and x"] {
            assert_eq!(parse_eq(bad, &allowed), None, "{bad}");
        }
    }

    #[test]
    fn paging_defaults_and_clamps() {
        let k = Knobs::default();
        let p = |q: &str| paging(&k, &params(Some(q)));
        assert_eq!(p("").unwrap(), Paging { start: 1, count: 10 });
        assert_eq!(p("startIndex=0&count=1000").unwrap(), Paging { start: 1, count: 100 });
        assert_eq!(p("startIndex=5&count=-3").unwrap(), Paging { start: 5, count: 0 });
        assert!(p("count=ten").is_err());
        let strict = Knobs { start_index_required: true, ..Knobs::default() };
        assert!(paging(&strict, &params(Some("count=5"))).is_err());
    }
}
