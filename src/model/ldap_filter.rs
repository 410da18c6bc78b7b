//! PURE: RFC 4515 LDAP search filters, parsed and evaluated against a [`RawEntry`].
//!
//! The LDAP source sends the filter text to the server; this parser validates it at config
//! load (so a typo fails before anything runs) and evaluates it for the LDIF source, so the
//! same `user_filter` scopes users in both. Matching is case-insensitive, as for the common
//! directory-string attributes; AD's bitwise matching rules (…803 AND, …804 OR) are supported.

use super::RawEntry;

const RULE_BIT_AND: &str = "1.2.840.113556.1.4.803";
const RULE_BIT_OR: &str = "1.2.840.113556.1.4.804";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Equal(String, String),
    Present(String),
    /// `attr=initial*any*final`: parts between the stars, `None` where a side is open.
    Substring {
        attr: String,
        initial: Option<String>,
        any: Vec<String>,
        last: Option<String>,
    },
    GreaterOrEqual(String, String),
    LessOrEqual(String, String),
    /// `attr:rule:=value`; only the AD bitwise rules evaluate, others never match locally.
    Extensible {
        attr: String,
        rule: String,
        value: String,
    },
}

impl Filter {
    /// Parses filter text, e.g. `(&(objectClass=person)(!(employeeType=former)))`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser { s: text.trim().as_bytes(), pos: 0 };
        let f = p.filter()?;
        if p.pos != p.s.len() {
            return Err(format!("unexpected text after position {}", p.pos));
        }
        Ok(f)
    }

    /// The attribute names the filter tests, each once (first spelling kept), in order: what
    /// an entry must carry for the filter to see it as the server did.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut stack = vec![self];
        while let Some(f) = stack.pop() {
            let attr = match f {
                Self::And(fs) | Self::Or(fs) => {
                    stack.extend(fs.iter().rev());
                    continue;
                }
                Self::Not(inner) => {
                    stack.push(inner);
                    continue;
                }
                Self::Equal(a, _) | Self::Present(a) | Self::GreaterOrEqual(a, _) | Self::LessOrEqual(a, _) => a,
                Self::Substring { attr, .. } | Self::Extensible { attr, .. } => attr,
            };
            if !attr.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(attr)) {
                out.push(attr);
            }
        }
        out
    }

    pub fn matches(&self, entry: &RawEntry) -> bool {
        match self {
            Self::And(fs) => fs.iter().all(|f| f.matches(entry)),
            Self::Or(fs) => fs.iter().any(|f| f.matches(entry)),
            Self::Not(f) => !f.matches(entry),
            Self::Present(a) => a.eq_ignore_ascii_case("objectClass") || !entry.values(a).is_empty(),
            Self::Equal(a, v) => texts(entry, a).any(|t| t.eq_ignore_ascii_case(v)),
            Self::GreaterOrEqual(a, v) => texts(entry, a).any(|t| compare(&t, v) != std::cmp::Ordering::Less),
            Self::LessOrEqual(a, v) => texts(entry, a).any(|t| compare(&t, v) != std::cmp::Ordering::Greater),
            Self::Substring { attr, initial, any, last } => {
                texts(entry, attr).any(|t| substring_match(&t.to_lowercase(), initial, any, last))
            }
            Self::Extensible { attr, rule, value } => {
                let Ok(mask) = value.parse::<u64>() else {
                    return false;
                };
                texts(entry, attr).filter_map(|t| parse_flags(&t)).any(|flags| match rule.as_str() {
                    RULE_BIT_AND => flags & mask == mask,
                    RULE_BIT_OR => flags & mask != 0,
                    _ => false,
                })
            }
        }
    }
}

fn texts<'a>(entry: &'a RawEntry, attr: &str) -> impl Iterator<Item = String> + 'a {
    entry.values(attr).iter().filter_map(|v| std::str::from_utf8(v).ok()).map(|s| s.trim().to_string())
}

fn parse_flags(t: &str) -> Option<u64> {
    t.parse::<u64>().ok().or_else(|| t.parse::<i32>().ok().map(|v| u64::from(v as u32)))
}

/// Integers compare as numbers, everything else as case-insensitive text.
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn substring_match(value: &str, initial: &Option<String>, any: &[String], last: &Option<String>) -> bool {
    let mut rest = value;
    if let Some(i) = initial {
        match rest.strip_prefix(i.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for part in any {
        match rest.find(part.as_str()) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    last.as_ref().is_none_or(|l| rest.ends_with(l.as_str()))
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at position {}", c as char, self.pos))
        }
    }

    fn filter(&mut self) -> Result<Filter, String> {
        self.expect(b'(')?;
        let f = match self.s.get(self.pos) {
            Some(b'&') => {
                self.pos += 1;
                Filter::And(self.list()?)
            }
            Some(b'|') => {
                self.pos += 1;
                Filter::Or(self.list()?)
            }
            Some(b'!') => {
                self.pos += 1;
                Filter::Not(Box::new(self.filter()?))
            }
            Some(_) => self.item()?,
            None => return Err("filter ends after '('".into()),
        };
        self.expect(b')')?;
        Ok(f)
    }

    fn list(&mut self) -> Result<Vec<Filter>, String> {
        let mut out = Vec::new();
        while self.s.get(self.pos) == Some(&b'(') {
            out.push(self.filter()?);
        }
        if out.is_empty() {
            return Err(format!("empty filter list at position {}", self.pos));
        }
        Ok(out)
    }

    fn item(&mut self) -> Result<Filter, String> {
        let start = self.pos;
        while let Some(&c) = self.s.get(self.pos) {
            if c == b')' {
                break;
            }
            if c == b'(' {
                return Err(format!("unescaped '(' at position {}", self.pos));
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| "filter is not UTF-8".to_string())?;
        let (lhs, op, rhs) = ["~=", ">=", "<=", ":=", "="]
            .iter()
            .find_map(|op| text.find(op).map(|i| (&text[..i], *op, &text[i + op.len()..])))
            .ok_or_else(|| format!("{text:?} has no operator"))?;
        if lhs.is_empty() {
            return Err(format!("{text:?} has no attribute"));
        }
        let attr = lhs.to_string();
        Ok(match op {
            ">=" => Filter::GreaterOrEqual(attr, unescape(rhs)?),
            "<=" => Filter::LessOrEqual(attr, unescape(rhs)?),
            "~=" => Filter::Equal(attr, unescape(rhs)?),
            ":=" => {
                let mut parts = lhs.split(':');
                let attr = parts.next().unwrap_or("").to_string();
                let rule = parts.rfind(|p| !p.eq_ignore_ascii_case("dn")).unwrap_or("").to_string();
                Filter::Extensible { attr, rule, value: unescape(rhs)? }
            }
            _ if rhs == "*" => Filter::Present(attr),
            _ if rhs.contains('*') => {
                let pieces: Vec<&str> = rhs.split('*').collect();
                let lower = |s: &str| unescape(s).map(|u| u.to_lowercase());
                let initial = pieces.first().filter(|p| !p.is_empty()).map(|p| lower(p)).transpose()?;
                let last = pieces.last().filter(|p| !p.is_empty()).map(|p| lower(p)).transpose()?;
                let any = pieces[1..pieces.len() - 1]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| lower(p))
                    .collect::<Result<_, _>>()?;
                Filter::Substring { attr, initial, any, last }
            }
            _ => Filter::Equal(attr, unescape(rhs)?),
        })
    }
}

/// `\XX` hex escapes (RFC 4515) to the text they stand for.
fn unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte =
                hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(|| format!("bad escape in {s:?}"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("escape in {s:?} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> RawEntry {
        let mut e = RawEntry::new("uid=a,ou=people,dc=example,dc=com");
        for (k, v) in [
            ("objectClass", "inetOrgPerson"),
            ("objectClass", "person"),
            ("uid", "alice"),
            ("mail", "Alice@Example.com"),
            ("employeeType", "staff"),
            ("userAccountControl", "514"),
            ("cn", "Alice (Ops)"),
        ] {
            e.push(k, v.as_bytes().to_vec());
        }
        e
    }

    #[test]
    fn table() {
        let cases = [
            ("(objectClass=inetOrgPerson)", true),
            ("(objectclass=INETORGPERSON)", true),
            ("(objectClass=groupOfNames)", false),
            ("(&(objectClass=person)(!(employeeType=former)))", true),
            ("(|(uid=bob)(uid=alice))", true),
            ("(mail=*@example.com)", true),
            ("(mail=alice*)", true),
            ("(mail=*lic*ample*)", true),
            ("(mail=*@other.com)", false),
            ("(telephoneNumber=*)", false),
            ("(uid=*)", true),
            ("(userAccountControl:1.2.840.113556.1.4.803:=2)", true),
            ("(userAccountControl:1.2.840.113556.1.4.803:=3)", false),
            ("(userAccountControl:1.2.840.113556.1.4.804:=3)", true),
            ("(userAccountControl>=500)", true),
            ("(userAccountControl<=500)", false),
            ("(cn=Alice \\28Ops\\29)", true),
        ];
        for (text, want) in cases {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(f.matches(&person()), want, "{text}");
        }
    }

    #[test]
    fn attributes_tested() {
        let cases: [(&str, &[&str]); 4] = [
            ("(objectClass=inetOrgPerson)", &["objectClass"]),
            (
                "(&(objectClass=user)(!(objectclass=computer))(|(mail=*@x.org)(uid>=a))(uac:1.2.840.113556.1.4.803:=2))",
                &["objectClass", "mail", "uid", "uac"],
            ),
            ("(&(objectCategory=person)(objectClass=user))", &["objectCategory", "objectClass"]),
            ("(memberOf=cn=zoom,ou=groups)", &["memberOf"]),
        ];
        for (text, want) in cases {
            assert_eq!(Filter::parse(text).unwrap().attributes(), want, "{text}");
        }
    }

    #[test]
    fn bad_filters_are_refused() {
        for text in ["", "objectClass=x", "(objectClass=x", "(&)", "(=x)", "(uid)", "(a=b))", "(cn=\\zz)"] {
            assert!(Filter::parse(text).is_err(), "{text:?} should be refused");
        }
    }
}
