//! The standby's lease (`[lease]`), pure: what the lease attribute says, whether this host
//! may take it, and what to write. The LDAP side (one read, one Modify) is
//! `source::ldap::lease`; the daemon runs the two every third of the TTL.
//!
//! The attribute holds one value, `<holder> <expires-unix>`. Taking or renewing it is one
//! LDAP Modify that deletes the exact value read and adds the new one: the server applies
//! both or neither (RFC 4511 §4.6), and the delete fails with noSuchAttribute when another
//! host changed the value first, so the Modify is a compare-and-swap. An attribute with no
//! value can only be taken under an RFC 4528 assertion that it still has none (an Add alone
//! would let two hosts add a value each); without that control the admin bootstraps the
//! entry with `none 0`.

use std::time::Duration;

use crate::model::UnixTime;

/// The holder name of the bootstrap value `none 0`: nobody.
pub const NOBODY: &str = "none";

/// One lease: who holds it, and until when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub expires: UnixTime,
}

impl Lease {
    /// The attribute value: `<holder> <expires>`.
    pub fn value(&self) -> String {
        format!("{} {}", self.holder, self.expires)
    }

    /// `<holder> <expires>` (one space or more between, nothing else); `None` otherwise.
    pub fn parse(value: &str) -> Option<Lease> {
        let mut parts = value.split_whitespace();
        let (holder, expires) = (parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let expires = expires.parse::<UnixTime>().ok().filter(|e| *e >= 0)?;
        Some(Lease { holder: holder.to_string(), expires })
    }

    /// Whether `holder` names this lease's holder. Compared without case, as the server's
    /// matching rule for `description` (caseIgnoreMatch) compares the values.
    pub fn held_by(&self, holder: &str) -> bool {
        self.holder.eq_ignore_ascii_case(holder)
    }
}

/// What to do with the lease as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write `new` in place of `old` (the exact value read; `None`: the attribute has no
    /// value, and only an assertion that it still has none makes the write safe).
    Take { old: Option<String>, new: Lease, kind: TakeKind },
    /// Another host holds it, not expired: stand by.
    Wait { holder: String, expires: UnixTime },
    /// The value is not a lease: nobody may take it until an admin puts it right.
    Broken { why: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeKind {
    /// It is this host's already.
    Renew,
    /// Nobody's (`none 0`, or no value).
    Free,
    /// Another host's, expired.
    Expired,
}

/// PURE: the decision for the attribute's `values` as read at `now`, for holder `me`.
/// A lease of this host's is renewed even when expired (the swap only succeeds when nobody
/// changed it since); another host's is taken only once `now` reaches its expiry.
pub fn decide(values: &[String], me: &str, now: UnixTime, ttl: Duration) -> Decision {
    let new = Lease { holder: me.to_string(), expires: now + ttl.as_secs() as UnixTime };
    let value = match values {
        [] => return Decision::Take { old: None, new, kind: TakeKind::Free },
        [one] => one,
        several => {
            return Decision::Broken {
                why: format!("{} values (one is expected: `<holder> <expires-unix>`)", several.len()),
            };
        }
    };
    let Some(current) = Lease::parse(value) else {
        return Decision::Broken { why: format!("{value:?} is not `<holder> <expires-unix>`") };
    };
    let old = Some(value.clone());
    if current.held_by(me) {
        Decision::Take { old, new, kind: TakeKind::Renew }
    } else if current.held_by(NOBODY) || current.expires <= now {
        let kind = if current.held_by(NOBODY) { TakeKind::Free } else { TakeKind::Expired };
        Decision::Take { old, new, kind }
    } else {
        Decision::Wait { holder: current.holder, expires: current.expires }
    }
}

/// PURE: until when (Unix milliseconds) the holder of a lease expiring at `expires` writes:
/// a third of the TTL before the expiry, so that an operation started just before has that
/// long to finish (and clocks that long to differ) before another host may take over.
pub fn write_until_ms(expires: UnixTime, ttl: Duration) -> i64 {
    expires.saturating_mul(1000) - (ttl.as_millis() / 3) as i64
}

/// How often the lease is read and renewed: a third of the TTL.
pub fn renew_every(ttl: Duration) -> Duration {
    ttl / 3
}

/// The value written on a clean stop: this host's, already expired, so a standby takes
/// it at its next look instead of waiting for the TTL.
pub fn released(me: &str) -> Lease {
    Lease { holder: me.to_string(), expires: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn take(old: Option<&str>, kind: TakeKind) -> Decision {
        Decision::Take { old: old.map(str::to_string), new: Lease { holder: "a".into(), expires: 1060 }, kind }
    }

    #[test]
    fn parse_and_value() {
        let cases: [(&str, Option<(&str, i64)>); 8] = [
            ("none 0", Some(("none", 0))),
            ("host-a 1700000000", Some(("host-a", 1_700_000_000))),
            ("  host-a   5 ", Some(("host-a", 5))),
            ("host-a", None),
            ("host-a -5", None),
            ("host-a 5 6", None),
            ("host-a five", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = Lease::parse(text);
            assert_eq!(got.as_ref().map(|l| (l.holder.as_str(), l.expires)), want, "{text:?}");
            if let Some(lease) = got {
                assert_eq!(Lease::parse(&lease.value()), Some(lease));
            }
        }
    }

    #[test]
    fn decisions() {
        let v = |s: &str| vec![s.to_string()];
        let cases: Vec<(Vec<String>, Decision)> = vec![
            (vec![], take(None, TakeKind::Free)),
            (v("none 0"), take(Some("none 0"), TakeKind::Free)),
            (v("NONE 99999"), take(Some("NONE 99999"), TakeKind::Free)),
            (v("a 1010"), take(Some("a 1010"), TakeKind::Renew)),
            (v("A 900"), take(Some("A 900"), TakeKind::Renew)),
            (v("a 0"), take(Some("a 0"), TakeKind::Renew)),
            (v("b 999"), take(Some("b 999"), TakeKind::Expired)),
            (v("b 1000"), take(Some("b 1000"), TakeKind::Expired)),
            (v("b 1001"), Decision::Wait { holder: "b".into(), expires: 1001 }),
            (v("b 0"), take(Some("b 0"), TakeKind::Expired)),
            (
                vec!["a 1".into(), "b 2".into()],
                Decision::Broken { why: "2 values (one is expected: `<holder> <expires-unix>`)".into() },
            ),
            (v("garbage"), Decision::Broken { why: "\"garbage\" is not `<holder> <expires-unix>`".into() }),
        ];
        for (values, want) in cases {
            assert_eq!(decide(&values, "a", 1000, TTL), want, "{values:?}");
        }
    }

    #[test]
    fn the_holder_stops_writing_a_third_of_the_ttl_before_the_expiry() {
        assert_eq!(write_until_ms(1060, TTL), 1_040_000);
        assert_eq!(write_until_ms(16, Duration::from_secs(6)), 14_000);
        assert_eq!(renew_every(Duration::from_secs(300)), Duration::from_secs(100));
        assert_eq!(released("a").value(), "a 0");
    }
}
