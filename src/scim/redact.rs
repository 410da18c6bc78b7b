//! PURE: credentials cut out of text that came from a server (or carries its words) before
//! anything logs, shows or stores it. A careless token endpoint or SCIM server may echo the
//! client secret, the Basic header or the access token in an error body; ScimError details
//! are built from such bodies and end up in reports, failure records, the provisioning log
//! and `status`.
//!
//! Two passes: every known secret value (the caller's list) is replaced wherever it occurs;
//! then any `Bearer <token>` or `Basic <credentials>` that is left (a value we never knew,
//! e.g. another client's token) loses its credential part.

/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";

/// Known values shorter than this are not replaced as values (they would blank out ordinary
/// words); the scheme patterns still catch them in headers.
pub const MIN_SECRET_LEN: usize = 4;

/// A bearer credential is at least this long (RFC 6750 `b64token`); shorter words after
/// "Bearer" are prose ("Bearer token expired").
const MIN_BEARER_LEN: usize = 16;

/// `text` with every value of `secrets` and every Bearer/Basic credential replaced by
/// [`REDACTED`].
pub fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut known: Vec<&str> = secrets.iter().map(AsRef::as_ref).filter(|s| s.len() >= MIN_SECRET_LEN).collect();
    // Longest first: a secret that contains another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
    known.dedup();
    let mut out = text.to_string();
    for secret in known {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    redact_schemes(&out)
}

/// RFC 6750 `b64token` characters (and `=` padding).
fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Whether `credential` is what follows `Basic `: base64 of `user:password`.
fn is_basic_credential(credential: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(credential).is_ok_and(|raw| raw.contains(&b':') && !raw.is_empty())
}

/// Replaces the credential after each `Bearer` / `Basic` scheme word (any case).
fn redact_schemes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let scheme = ["bearer", "basic"].into_iter().find(|s| {
            word_start && bytes.len() >= i + s.len() && bytes[i..i + s.len()].eq_ignore_ascii_case(s.as_bytes())
        });
        let Some(scheme) = scheme else {
            i += 1;
            continue;
        };
        let mut start = i + scheme.len();
        let spaces = bytes[start..].iter().take_while(|b| **b == b' ' || **b == b'\t').count();
        start += spaces;
        let len = bytes[start..].iter().take_while(|b| token_char(**b)).count();
        // All indices sit on ASCII bytes, so the slices are on char boundaries.
        let credential = &text[start..start + len];
        let secret = spaces > 0
            && len > 0
            && match scheme {
                "bearer" => len >= MIN_BEARER_LEN,
                _ => is_basic_credential(credential),
            };
        if secret {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = start + len;
            i = copied;
        } else {
            i += scheme.len();
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: &[&str] = &[];

    #[test]
    fn known_values_are_replaced_wherever_they_occur() {
        let secrets = ["s3cret-value", "abc", "tok.en-123456"];
        assert_eq!(
            redact("client_secret=s3cret-value; token tok.en-123456 (abc)", &secrets),
            "client_secret=[redacted]; token [redacted] (abc)",
            "too-short values are left alone"
        );
        assert_eq!(redact("xs3cret-valuex s3cret-value", &secrets), "x[redacted]x [redacted]");
        // the longer of two overlapping secrets goes whole
        assert_eq!(redact("secret-and-more", &["secret", "secret-and-more"]), "[redacted]");
        assert_eq!(redact("nothing here", &secrets), "nothing here");
        assert_eq!(redact("", &secrets), "");
    }

    #[test]
    fn bearer_and_basic_credentials_are_replaced_without_knowing_them() {
        let table: &[(&str, &str)] = &[
            (
                "received Authorization: Bearer bU21wwSTgyE0Sa0hKUefc0ViPGuhq0nE; token x",
                "received Authorization: Bearer [redacted]; token x",
            ),
            ("bearer   eyJhbGciOiJIUzI1NiJ9.e30.abc123", "bearer   [redacted]"),
            ("Authorization: Basic ZW11bGF0b3ItY2xpZW50OnNlY3JldA==)", "Authorization: Basic [redacted])"),
            ("BASIC ZW11bGF0b3ItY2xpZW50OnNlY3JldA==", "BASIC [redacted]"),
            // prose stays prose
            ("Bearer token expired", "Bearer token expired"),
            ("userType Basic cannot hold a licence", "userType Basic cannot hold a licence"),
            ("Basic users", "Basic users"),
            ("a Basic", "a Basic"),
            ("Bearer", "Bearer"),
            ("NotBearer bU21wwSTgyE0Sa0hKUefc0ViPGuhq0nE", "NotBearer bU21wwSTgyE0Sa0hKUefc0ViPGuhq0nE"),
            ("Ärger: Bearer bU21wwSTgyE0Sa0hKUefc0ViPGuhq0nE ö", "Ärger: Bearer [redacted] ö"),
        ];
        for (text, want) in table {
            assert_eq!(redact(text, NONE), *want, "{text:?}");
        }
    }

    #[test]
    fn both_passes_together() {
        let text = "Invalid client (Authorization: Basic Y2xpZW50OmhpZGRlbi12YWx1ZQ==; client_secret=hidden-value)";
        assert_eq!(
            redact(text, &["hidden-value"]),
            "Invalid client (Authorization: Basic [redacted]; client_secret=[redacted])"
        );
    }
}
