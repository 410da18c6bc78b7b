//! Ranged retrieval of multi-valued attributes (Active Directory, MS-ADTS 3.1.1.3.1.3.3).
//!
//! AD hands out at most MaxValRange (1,500 by default) values of an attribute per reply. A
//! large group comes back as `member;range=0-1499`, and the client asks for
//! `member;range=1500-*`, then the next chunk, until one ends in `*`. The LDAP reader does
//! the asking; this module decides what to ask and merges the chunks under the plain name,
//! so nothing downstream ever sees a `;range=` name or a silently short member list.
//!
//! Pure: no I/O, table-tested.

use crate::model::RawEntry;

/// The bounds of one chunk: values `low..=high`, or `low..` to the end when `high` is `None`
/// (the server wrote `*`: this is the last chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub low: u64,
    pub high: Option<u64>,
}

/// An attribute of an entry whose values are not all in yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The plain name (lower case, other options kept: `member`, `usercertificate;binary`).
    pub attribute: String,
    /// The index of the first value still missing.
    pub next: u64,
}

impl Pending {
    /// The attribute description to request for the rest: `member;range=1500-*`.
    pub fn request(&self) -> String {
        format!("{};range={}-*", self.attribute, self.next)
    }
}

/// A cheap test for the common case (no ranged attribute), before any parsing.
pub fn has_ranged(entry: &RawEntry) -> bool {
    entry.attrs.iter().any(|(name, _)| option_at(name).is_some())
}

/// The byte offset of a `;range=` option in an attribute description, if any.
fn option_at(name: &str) -> Option<usize> {
    let bytes = name.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b';' && bytes.get(i + 1..i + 7).is_some_and(|o| o.eq_ignore_ascii_case(b"range=")))
}

/// Splits `name;range=low-high` (or `low-*`) into the plain name, lower-cased, and the
/// range. `Ok(None)` for a name without a range option; `Err` for a range that does not
/// parse (values may be missing, so the caller must not carry on as if complete).
pub fn split(name: &str) -> Result<Option<(String, Range)>, String> {
    let Some(at) = option_at(name) else {
        return Ok(None);
    };
    let plain = &name[..at];
    let rest = &name[at + 7..];
    // Options after the range (none in practice) stay part of the name.
    let (bounds, more) = rest.split_once(';').map_or((rest, ""), |(b, m)| (b, m));
    let bad = || format!("attribute {name:?}: range {bounds:?} does not parse");
    let (low, high) = bounds.split_once('-').ok_or_else(bad)?;
    let low: u64 = low.parse().map_err(|_| bad())?;
    let high = match high {
        "*" => None,
        h => Some(h.parse::<u64>().map_err(|_| bad())?),
    };
    if high.is_some_and(|h| h < low) {
        return Err(format!("attribute {name:?}: range ends before it starts"));
    }
    let mut plain = if more.is_empty() { plain.to_string() } else { format!("{plain};{more}") };
    plain.make_ascii_lowercase();
    Ok(Some((plain, Range { low, high })))
}

/// Renames every ranged attribute of `entry` to its plain name (values appended to a plain
/// attribute of that name if there is one) and returns those whose last chunk is still to
/// come. An entry without ranged attributes is left as it is.
pub fn normalize(entry: &mut RawEntry) -> Result<Vec<Pending>, String> {
    let mut pending = Vec::new();
    let mut i = 0;
    while i < entry.attrs.len() {
        let Some((plain, range)) = split(&entry.attrs[i].0)? else {
            i += 1;
            continue;
        };
        if let Some(high) = range.high {
            pending.push(Pending { attribute: plain.clone(), next: high + 1 });
        }
        match entry.attrs.iter().position(|(n, _)| *n == plain) {
            Some(j) => {
                let (_, values) = entry.attrs.remove(i);
                let j = if j > i { j - 1 } else { j };
                entry.attrs[j].1.extend(values);
            }
            None => {
                entry.attrs[i].0 = plain;
                i += 1;
            }
        }
    }
    Ok(pending)
}

/// Takes the next chunk of `pending` from `reply` (the entry as a follow-up search returned
/// it) into `entry`. Returns what is still missing, `None` once the chunk ending in `*` is in.
/// A reply without the chunk, starting elsewhere, or without a single value before its end
/// is an error: asking again would not get further.
pub fn absorb(entry: &mut RawEntry, pending: &Pending, reply: RawEntry) -> Result<Option<Pending>, String> {
    let mut chunk = None;
    for (name, values) in reply.attrs {
        if let Some((plain, range)) = split(&name)?
            && plain == pending.attribute
        {
            chunk = Some((range, values));
            break;
        }
    }
    let Some((range, values)) = chunk else {
        return Err(format!("the server returned no {} from value {}", pending.attribute, pending.next));
    };
    if range.low != pending.next {
        return Err(format!(
            "asked for {} from value {}, the server answered from value {}",
            pending.attribute, pending.next, range.low
        ));
    }
    let next = match range.high {
        None => None,
        Some(high) if values.is_empty() => {
            return Err(format!("the server returned no values for {};range={}-{high}", pending.attribute, range.low));
        }
        Some(high) => Some(Pending { attribute: pending.attribute.clone(), next: high + 1 }),
    };
    match entry.attrs.iter_mut().find(|(n, _)| *n == pending.attribute) {
        Some((_, existing)) => existing.extend(values),
        None => entry.attrs.push((pending.attribute.clone(), values)),
    }
    Ok(next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn range(low: u64, high: Option<u64>) -> Range {
        Range { low, high }
    }

    fn values(from: usize, to: usize) -> Vec<Vec<u8>> {
        (from..to).map(|i| format!("v{i}").into_bytes()).collect()
    }

    fn entry(attrs: &[(&str, Vec<Vec<u8>>)]) -> RawEntry {
        RawEntry { dn: "cn=g".into(), attrs: attrs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect() }
    }

    fn pending(attribute: &str, next: u64) -> Pending {
        Pending { attribute: attribute.into(), next }
    }

    /// `Ok(None)`: not ranged; `Ok(Some(..))`: plain name and range; `Err`: refused.
    type Split = Result<Option<(&'static str, Range)>, ()>;
    /// Attributes in; attributes out as (name, value count); what is still to fetch.
    type Normalized = (RawEntry, Vec<(&'static str, usize)>, Vec<Pending>);

    #[test]
    fn split_table() {
        let cases: &[(&str, Split)] = &[
            ("member", Ok(None)),
            ("cn", Ok(None)),
            ("usercertificate;binary", Ok(None)),
            ("member;range=0-1499", Ok(Some(("member", range(0, Some(1499)))))),
            ("member;range=1500-*", Ok(Some(("member", range(1500, None))))),
            ("Member;Range=0-*", Ok(Some(("member", range(0, None))))),
            ("member;RANGE=3000-4499", Ok(Some(("member", range(3000, Some(4499)))))),
            ("member;range=7-7", Ok(Some(("member", range(7, Some(7)))))),
            ("usercertificate;binary;range=0-9", Ok(Some(("usercertificate;binary", range(0, Some(9)))))),
            ("member;range=0-9;x-opt", Ok(Some(("member;x-opt", range(0, Some(9)))))),
            ("member;range=", Err(())),
            ("member;range=0", Err(())),
            ("member;range=a-9", Err(())),
            ("member;range=0-b", Err(())),
            ("member;range=-1-5", Err(())),
            ("member;range=10-9", Err(())),
            ("member;range=*-*", Err(())),
        ];
        for (name, want) in cases {
            let got = split(name);
            match (want, got) {
                (Ok(None), Ok(None)) => {}
                (Ok(Some((plain, r))), Ok(Some((p, g)))) => assert_eq!((p.as_str(), g), (*plain, *r), "{name}"),
                (Err(()), Err(e)) => assert!(e.contains(name), "{name}: {e}"),
                (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn request_asks_for_the_rest() {
        assert_eq!(pending("member", 1500).request(), "member;range=1500-*");
        assert_eq!(pending("usercertificate;binary", 10).request(), "usercertificate;binary;range=10-*");
    }

    #[test]
    fn has_ranged_only_for_range_options() {
        assert!(!has_ranged(&entry(&[("member", values(0, 3)), ("cn", values(0, 1))])));
        assert!(!has_ranged(&entry(&[("x;rangefoo", values(0, 1))])));
        assert!(has_ranged(&entry(&[("cn", values(0, 1)), ("member;range=0-1", values(0, 2))])));
        assert!(has_ranged(&entry(&[("member;Range=0-*", values(0, 2))])));
    }

    #[test]
    fn normalize_table() {
        let cases: Vec<Normalized> = vec![
            (entry(&[("cn", values(0, 1))]), vec![("cn", 1)], vec![]),
            (
                entry(&[("cn", values(0, 1)), ("member;range=0-1499", values(0, 1500))]),
                vec![("cn", 1), ("member", 1500)],
                vec![pending("member", 1500)],
            ),
            (entry(&[("member;range=0-*", values(0, 20))]), vec![("member", 20)], vec![]),
            (
                entry(&[("member;range=0-1499", values(0, 1500)), ("memberof;range=0-1499", values(0, 1500))]),
                vec![("member", 1500), ("memberof", 1500)],
                vec![pending("member", 1500), pending("memberof", 1500)],
            ),
            // A plain attribute of the same name (a server mixing both) gets the values.
            (
                entry(&[("member", values(0, 2)), ("cn", values(0, 1)), ("member;range=2-3", values(2, 4))]),
                vec![("member", 4), ("cn", 1)],
                vec![pending("member", 4)],
            ),
            (
                entry(&[("member;range=2-3", values(2, 4)), ("cn", values(0, 1)), ("member", values(0, 2))]),
                vec![("cn", 1), ("member", 4)],
                vec![pending("member", 4)],
            ),
        ];
        for (mut e, want_attrs, want_pending) in cases {
            let before = format!("{:?}", e.attrs.iter().map(|(n, _)| n).collect::<Vec<_>>());
            let got = normalize(&mut e).unwrap();
            let attrs: Vec<(&str, usize)> = e.attrs.iter().map(|(n, v)| (n.as_str(), v.len())).collect();
            assert_eq!(attrs, want_attrs, "{before}");
            assert_eq!(got, want_pending, "{before}");
        }
        let mut bad = entry(&[("member;range=x-1", values(0, 1))]);
        assert!(normalize(&mut bad).unwrap_err().contains("does not parse"));
    }

    #[test]
    fn absorb_follows_chunks_to_the_end() {
        let mut e = entry(&[("cn", values(0, 1)), ("member;range=0-1499", values(0, 1500))]);
        let mut next = normalize(&mut e).unwrap().pop();
        let replies = [
            entry(&[("member;range=1500-2999", values(1500, 3000))]),
            entry(&[("Member;range=3000-4499", values(3000, 4500))]),
            entry(&[("member;range=4500-*", values(4500, 5000))]),
        ];
        let mut asked = Vec::new();
        for reply in replies {
            let p = next.take().unwrap();
            asked.push(p.request());
            next = absorb(&mut e, &p, reply).unwrap();
        }
        assert_eq!(next, None);
        assert_eq!(asked, ["member;range=1500-*", "member;range=3000-*", "member;range=4500-*"]);
        assert_eq!(e.values("member"), values(0, 5000).as_slice(), "every value once, in order");
        assert_eq!(e.attrs.len(), 2);
    }

    #[test]
    fn absorb_refuses_what_makes_no_progress() {
        let p = pending("member", 1500);
        let cases: Vec<(RawEntry, &str)> = vec![
            (entry(&[]), "returned no member from value 1500"),
            (entry(&[("member", values(0, 10))]), "returned no member from value 1500"),
            (entry(&[("memberof;range=1500-*", values(0, 10))]), "returned no member from value 1500"),
            (entry(&[("member;range=0-1499", values(0, 1500))]), "answered from value 0"),
            (entry(&[("member;range=1600-*", values(0, 10))]), "answered from value 1600"),
            (entry(&[("member;range=1500-2999", vec![])]), "no values for member;range=1500-2999"),
            (entry(&[("member;range=1500-1499", vec![])]), "ends before it starts"),
        ];
        for (reply, want) in cases {
            let shown = format!("{:?}", reply.attrs.iter().map(|(n, _)| n).collect::<Vec<_>>());
            let mut e = entry(&[("member", values(0, 1500))]);
            let err = absorb(&mut e, &p, reply).unwrap_err();
            assert!(err.contains(want), "{shown}: {err}");
        }
        // The last chunk may be empty (nothing left after all).
        let mut e = entry(&[("member", values(0, 1500))]);
        assert_eq!(absorb(&mut e, &p, entry(&[("member;range=1500-*", vec![])])).unwrap(), None);
        assert_eq!(e.values("member").len(), 1500);
    }
}
