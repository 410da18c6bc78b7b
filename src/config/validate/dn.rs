//! PURE: RFC 4514 distinguished-name syntax, checked when the config loads, so a mistyped
//! `base_dn` is a config error naming its key (exit 2) rather than a search the server
//! refuses mid-cycle ("read INCOMPLETE", exit 3).
//!
//! The check is the grammar only: RDNs separated by unescaped commas, each one or more
//! `type=value` pairs joined by `+`; a type is a name (`ALPHA *(ALPHA / DIGIT / "-")`) or a
//! numeric OID; a value is `#` and an even number of hex digits, or a string whose `\`
//! escapes are a special character or two hex digits and whose `"`, `+`, `,`, `;`, `<`,
//! `>` are escaped. Spaces around separators are tolerated, as every server does.

/// `Ok(())` or what is wrong with `dn` (empty is not accepted: callers check for it).
pub(super) fn check(dn: &str) -> Result<(), String> {
    if dn.trim().is_empty() {
        return Err("is empty".into());
    }
    if dn.contains('\0') {
        return Err("contains a NUL character".into());
    }
    for (n, rdn) in split_unescaped(dn, ',')?.into_iter().enumerate() {
        let position = n + 1;
        if rdn.trim().is_empty() {
            return Err(format!("RDN {position} is empty (two commas in a row, or a comma at an end)"));
        }
        for ava in split_unescaped(rdn, '+')? {
            attribute_value(ava).map_err(|e| format!("RDN {position} ({:?}): {e}", rdn.trim()))?;
        }
    }
    Ok(())
}

/// Splits on `sep` outside `\` escapes (the escapes are checked later).
fn split_unescaped(text: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    if escaped {
        return Err("ends with a lone backslash".into());
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn attribute_value(ava: &str) -> Result<(), String> {
    let Some((kind, value)) = ava.split_once('=') else {
        return Err(format!("{:?} is not attribute=value", ava.trim()));
    };
    let kind = kind.trim();
    if kind.is_empty() {
        return Err("an attribute type is missing before '='".into());
    }
    if !is_descr(kind) && !is_numeric_oid(kind) {
        return Err(format!("{kind:?} is not an attribute type (a name or a numeric OID)"));
    }
    // Unescaped spaces at either end are tolerated; an escaped trailing one ("\\ ") stays.
    let value = value.trim_start();
    if let Some(hex) = value.trim_end().strip_prefix('#') {
        return if !hex.is_empty() && hex.len() % 2 == 0 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(())
        } else {
            Err(format!("{value:?}: a '#' value must be hex digits in pairs"))
        };
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if " \"#+,;<=>\\".contains(e) => {}
                Some(h) if h.is_ascii_hexdigit() && chars.next().is_some_and(|l| l.is_ascii_hexdigit()) => {}
                _ => return Err(format!("{value:?}: a '\\' must escape a special character or two hex digits")),
            },
            '"' | '+' | ',' | ';' | '<' | '>' => {
                return Err(format!("{value:?}: {c:?} must be escaped as \\{c}"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_descr(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_numeric_oid(s: &str) -> bool {
    s.split('.').count() >= 2
        && s.split('.')
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && (n == "0" || !n.starts_with('0')))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn rfc4514_syntax() {
        for good in [
            "dc=example,dc=com",
            "ou=staff, dc=acme, dc=com",
            "OU=Staff,DC=corp,DC=example,DC=com",
            "cn=Doe\\, John+uid=jdoe,ou=people,dc=example,dc=org",
            "cn=a\\2Cb,o=x",
            "cn=\\#hash\\ ,o=x",
            "1.3.6.1.4.1.1466.0=#04024869,o=Test",
            "cn=Zoë,o=東京",
            "cn=,o=x",
            "cn=a=b,o=x",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "ou=staff,,dc=acme=x",
            "",
            ",dc=com",
            "dc=com,",
            "example.com",
            "=x,dc=com",
            "1dc=x",
            "cn=a,b,dc=com",
            "cn=a;b,o=x",
            "cn=a\\zz,o=x",
            "cn=a\\",
            "cn=#abc,o=x",
            "cn=x+,o=y",
            "cn=<x>,o=y",
            "01.2=x",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }
}
