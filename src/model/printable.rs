//! PURE: text from the directory or the target made safe to print on a terminal.
//!
//! A DN, a name or an error text read from LDAP or Zoom may carry control characters: an
//! ESC sequence would recolour, move the cursor or retitle the operator's terminal, a
//! newline or carriage return would forge a line of output. [`printable`] replaces every
//! C0 control (U+0000–U+001F, ESC included), DEL and every C1 control (U+0080–U+009F) with a
//! visible `\xNN` escape; everything else, backslashes included, is left as it is.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is replaced by [`printable`].
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `text` with every C0/C1 control character (ESC, CR, LF, TAB, DEL…) written as `\xNN`.
/// Borrows when there is nothing to replace.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn controls_become_visible_escapes() {
        let table = [
            ("uid=jdoe,ou=people,dc=example,dc=org", "uid=jdoe,ou=people,dc=example,dc=org"),
            ("cn=\u{1b}[31mred\u{1b}[0m", "cn=\\x1b[31mred\\x1b[0m"),
            ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
            ("nul\u{0}", "nul\\x00"),
            ("del\u{7f}", "del\\x7f"),
            ("csi\u{9b}31m", "csi\\x9b31m"),
            ("c1 \u{80} \u{9f}", "c1 \\x80 \\x9f"),
            ("cn=Doe\\, John", "cn=Doe\\, John"),
            ("Zoë Ünal — 東京 \u{a0}", "Zoë Ünal — 東京 \u{a0}"),
            ("", ""),
        ];
        for (input, expected) in table {
            assert_eq!(printable(input), expected, "{input:?}");
        }
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
