//! PURE: distinguished names compared the way directories compare them in the common cases.
//!
//! Group members and managers name users by DN, and the same DN comes back from a server in
//! more than one spelling (`CN=A, OU=B` and `cn=a,ou=b`). Used by the group step in
//! `source` and by the manager references in `plan`, which may not import each other, so
//! it lives here, at the bottom.

/// DNs compared the way directories do for the common cases: case-insensitive, no spaces
/// around `,` `=` and `+` (escaped characters are left alone).
pub fn normalize_dn(dn: &str) -> String {
    let dn = dn.trim();
    // Most DNs a server sends are already in this form: copy them as they are.
    if dn.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase() && b != b' ' && b != b'\\') {
        return dn.to_string();
    }
    let mut out = String::with_capacity(dn.len());
    let mut escaped = false;
    // Just after an unescaped separator, where spaces are insignificant.
    let mut after_separator = false;
    for c in dn.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                after_separator = false;
                out.push(c);
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') && !out.ends_with("\\ ") {
                    out.pop();
                }
                out.push(c);
                after_separator = true;
            }
            ' ' if after_separator => {}
            _ => {
                after_separator = false;
                if c.is_ascii() {
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.extend(c.to_lowercase());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_normalization_table() {
        let cases = [
            ("CN=Zoom Users, OU=Groups ,DC=Example,DC=com", "cn=zoom users,ou=groups,dc=example,dc=com"),
            ("uid=a , ou=people", "uid=a,ou=people"),
            ("cn = x+sn = y,o=z", "cn=x+sn=y,o=z"),
            (r"cn=Smith\, John,ou=P", r"cn=smith\, john,ou=p"),
            (r"cn=trailing\ ,ou=p", r"cn=trailing\ ,ou=p"),
            ("  ", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_dn(input), expected, "{input}");
        }
    }
}
