//! PURE: distinguished names compared the way directories compare them in the common cases.
//!
//! Group members and managers name users by DN, and the same DN comes back from a server in
//! more than one spelling (`CN=A, OU=B` and `cn=a,ou=b`). Used by the group step in
//! `source` and by the manager references in `plan`, which may not import each other, so
//! it lives here, at the bottom.
//!
//! The normal form is defined once, by [`NormalizedChars`], which streams it:
//! [`normalize_dn`] collects it, while [`dn_hash`], [`same_dn`] and [`DnIndex`] compare DNs
//! through it without building a `String` per DN.

use std::str::Chars;

/// DNs compared the way directories do for the common cases: case-insensitive, no spaces
/// around `,` `=` and `+` (escaped characters are left alone).
pub fn normalize_dn(dn: &str) -> String {
    let trimmed = dn.trim();
    // Most DNs a server sends are already in this form: copy them as they are.
    if already_normal(trimmed) {
        return trimmed.to_string();
    }
    NormalizedChars::new(dn).collect()
}

/// True when the (trimmed) DN is its own normal form: ASCII without capitals, spaces or
/// escapes.
fn already_normal(trimmed: &str) -> bool {
    trimmed.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase() && b != b' ' && b != b'\\')
}

/// The characters of [`normalize_dn`]'s result, one at a time, without allocating.
#[derive(Clone, Debug)]
pub struct NormalizedChars<'a> {
    chars: Chars<'a>,
    escaped: bool,
    /// Just after an unescaped separator, where spaces are insignificant.
    after_separator: bool,
    /// Unescaped spaces seen but not yet emitted: dropped if a separator follows.
    spaces: usize,
    /// The last character emitted (or queued), for the `\ ` rule before a separator.
    last: Option<char>,
    /// What is waiting to be emitted after the pending spaces.
    queued: Queued,
}

#[derive(Clone, Debug)]
enum Queued {
    None,
    One(char),
    Lower(std::char::ToLowercase),
}

impl<'a> NormalizedChars<'a> {
    pub fn new(dn: &'a str) -> Self {
        Self {
            chars: dn.trim().chars(),
            escaped: false,
            after_separator: false,
            spaces: 0,
            last: None,
            queued: Queued::None,
        }
    }

    /// Queues `c` behind the pending spaces.
    fn queue(&mut self, c: char) {
        self.queued = Queued::One(c);
    }
}

impl Iterator for NormalizedChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            // Pending spaces go out before whatever was queued behind them.
            if self.spaces > 0 && !matches!(self.queued, Queued::None) {
                self.spaces -= 1;
                self.last = Some(' ');
                return Some(' ');
            }
            match &mut self.queued {
                Queued::None => {}
                Queued::One(c) => {
                    let c = *c;
                    self.queued = Queued::None;
                    self.last = Some(c);
                    return Some(c);
                }
                Queued::Lower(lower) => match lower.next() {
                    Some(c) => {
                        self.last = Some(c);
                        return Some(c);
                    }
                    None => self.queued = Queued::None,
                },
            }
            let Some(c) = self.chars.next() else {
                // The input is trimmed, so no space is pending here; emitted if one were.
                if self.spaces > 0 {
                    self.spaces -= 1;
                    return Some(' ');
                }
                return None;
            };
            if self.escaped {
                self.escaped = false;
                self.queue(c);
                continue;
            }
            match c {
                '\\' => {
                    self.escaped = true;
                    self.after_separator = false;
                    self.queue(c);
                }
                ',' | '=' | '+' => {
                    // Spaces before a separator go, but one right after a backslash stays
                    // (it reads as an escaped space).
                    self.spaces = usize::from(self.spaces > 0 && self.last == Some('\\'));
                    self.after_separator = true;
                    self.queue(c);
                }
                ' ' if self.after_separator => {}
                ' ' => self.spaces += 1,
                _ => {
                    self.after_separator = false;
                    if c.is_ascii() {
                        self.queue(c.to_ascii_lowercase());
                    } else {
                        self.queued = Queued::Lower(c.to_lowercase());
                    }
                }
            }
        }
    }
}

/// A hash of the DN's normal form (equal for DNs [`same_dn`] finds equal). Not stable
/// across versions: for in-memory indexes only.
pub fn dn_hash(dn: &str) -> u64 {
    let trimmed = dn.trim();
    if already_normal(trimmed) {
        return hash_chars(trimmed.bytes().map(char::from));
    }
    hash_chars(NormalizedChars::new(dn))
}

/// [`dn_hash`] of a DN already in normal form (as [`normalize_dn`] returns it).
pub fn normalized_dn_hash(normalized: &str) -> u64 {
    hash_chars(normalized.chars())
}

/// FxHash-style: a rotate, an xor and a multiply per character.
fn hash_chars(chars: impl Iterator<Item = char>) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = 0;
    for c in chars {
        h = (h.rotate_left(5) ^ u64::from(u32::from(c))).wrapping_mul(K);
    }
    // Finish so the high bits (what a sorted index compares first) depend on every character.
    h ^ (h >> 32)
}

/// `normalize_dn(a) == normalize_dn(b)`, without allocating.
pub fn same_dn(a: &str, b: &str) -> bool {
    a == b || NormalizedChars::new(a).eq(NormalizedChars::new(b))
}

/// `dn` is `base` or below it, both normalized; an empty base holds every DN (the whole
/// tree, as a search of the root names it).
pub fn is_under(dn: &str, base: &str) -> bool {
    base.is_empty() || dn == base || dn.strip_suffix(base).is_some_and(|rest| rest.ends_with(','))
}

/// `normalize_dn(dn) == normalized`, without allocating.
pub fn is_dn(dn: &str, normalized: &str) -> bool {
    dn == normalized || NormalizedChars::new(dn).eq(normalized.chars())
}

/// Positions of DNs by the hash of their normal form, sorted: 16 bytes a DN instead of a map
/// of normalised strings (a 1,000,000-user plan must fit in 1 GiB, and a cycle should not
/// allocate a string per user to match member and manager DNs). A hit is confirmed against
/// the DN itself, so a hash collision cannot resolve to the wrong entry.
#[derive(Clone, Debug, Default)]
pub struct DnIndex(Vec<(u64, u32)>);

impl DnIndex {
    /// Indexes `dns` by position.
    pub fn new<'a>(dns: impl Iterator<Item = &'a str>) -> Self {
        let mut entries: Vec<(u64, u32)> = dns.enumerate().map(|(i, dn)| (dn_hash(dn), i as u32)).collect();
        entries.sort_unstable();
        Self(entries)
    }

    /// The first position (in input order) whose DN is the same as `dn` (any spelling);
    /// `dn_at` gives the DN at a position.
    pub fn find<'d>(&self, dn: &str, dn_at: impl Fn(usize) -> &'d str) -> Option<usize> {
        self.candidates(dn_hash(dn)).find(|&i| same_dn(dn_at(i), dn))
    }

    /// [`Self::find`] for a DN already in normal form.
    pub fn find_normalized<'d>(&self, normalized: &str, dn_at: impl Fn(usize) -> &'d str) -> Option<usize> {
        self.candidates(normalized_dn_hash(normalized)).find(|&i| is_dn(dn_at(i), normalized))
    }

    /// The last position (in input order) whose DN is the same as `normalized` (already in
    /// normal form): what a map collected from the DNs in order would hold.
    pub fn find_last_normalized<'d>(&self, normalized: &str, dn_at: impl Fn(usize) -> &'d str) -> Option<usize> {
        self.candidates(normalized_dn_hash(normalized)).filter(|&i| is_dn(dn_at(i), normalized)).last()
    }

    /// Positions with hash `h`, in input order (equal hashes sort by position).
    fn candidates(&self, h: u64) -> impl Iterator<Item = usize> + '_ {
        let start = self.0.partition_point(|(k, _)| *k < h);
        self.0[start..].iter().take_while(move |(k, _)| *k == h).map(|(_, i)| *i as usize)
    }
}

/// Values by DN: a [`DnIndex`] over `(dn, value)` pairs that borrow their DNs.
#[derive(Clone, Debug, Default)]
pub struct DnMap<'a, T> {
    index: DnIndex,
    entries: Vec<(&'a str, T)>,
}

impl<'a, T> DnMap<'a, T> {
    pub fn new(entries: impl Iterator<Item = (&'a str, T)>) -> Self {
        let entries: Vec<(&'a str, T)> = entries.collect();
        Self { index: DnIndex::new(entries.iter().map(|(dn, _)| *dn)), entries }
    }

    /// The value of the first entry whose DN is the same as `dn` (any spelling).
    pub fn get(&self, dn: &str) -> Option<&T> {
        self.index.find(dn, |i| self.entries[i].0).map(|i| &self.entries[i].1)
    }

    /// [`Self::get`] for a DN already in normal form.
    pub fn get_normalized(&self, normalized: &str) -> Option<&T> {
        self.index.find_normalized(normalized, |i| self.entries[i].0).map(|i| &self.entries[i].1)
    }

    /// The value of the last entry whose DN is `normalized` (already in normal form), as a
    /// map collected from the entries in order would hold it.
    pub fn last_normalized(&self, normalized: &str) -> Option<&T> {
        self.index.find_last_normalized(normalized, |i| self.entries[i].0).map(|i| &self.entries[i].1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
