//! PURE: one directory entry -> [`DirectoryUser`] or [`Rejected`] with the DN and a reason.
//!
//! No I/O, no async: the same decode serves LDAP, LDIF, `check`, `dump` and the tests.

use std::sync::Arc;

use crate::config::{
    ACCOUNT_LOCK_ATTRIBUTE, AnchorFormat, DISABLED_ROLE_RDN, DecodeRules, DisabledRule, ROLE_ATTRIBUTE,
};
use crate::model::{Anchor, Attributes, DirectoryUser, QuickMap, RawEntry, Rejected};

/// AD's ACCOUNTDISABLE bit in `userAccountControl`.
const UAC_ACCOUNTDISABLE: u32 = 0x2;

/// What decode noticed in one entry without rejecting it (reported by `check`, never logged
/// here): several values of the user-name attribute (the first is used), and attribute values
/// that are not UTF-8 (ignored). No effect on the decoded user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryNotes {
    /// How many values the user-name attribute has, when more than one.
    pub several_user_names: Option<usize>,
    /// Kept attributes (lower-cased names) with a value that is not UTF-8, once each.
    pub non_utf8: Vec<String>,
}

impl EntryNotes {
    pub fn is_empty(&self) -> bool {
        self.several_user_names.is_none() && self.non_utf8.is_empty()
    }
}

/// Decode rules with attribute names lower-cased once, not per entry.
#[derive(Debug, Clone)]
pub struct Decoder {
    rules: DecodeRules,
    anchor_attr: String,
    fallback_attr: Option<String>,
    user_name_attr: String,
    /// Lower-cased names of the attributes kept on users, one shared `Arc` each (hashed:
    /// looked up for every attribute of every entry).
    kept: QuickMap<String, Arc<str>>,
}

impl Decoder {
    pub fn new(rules: DecodeRules) -> Self {
        let anchor_attr = rules.anchor_attribute.to_ascii_lowercase();
        let fallback_attr = rules.anchor_fallback.as_ref().map(|a| a.to_ascii_lowercase());
        let kept = rules
            .requested_attributes()
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .filter(|a| *a != anchor_attr && Some(a) != fallback_attr.as_ref())
            .map(|a| (a.clone(), Arc::from(a.as_str())))
            .collect();
        Self { user_name_attr: rules.user_name_attribute.to_ascii_lowercase(), anchor_attr, fallback_attr, kept, rules }
    }

    /// Decides one entry. Rejections keep the anchor when it could be read.
    pub fn decode(&self, entry: &RawEntry) -> Result<DirectoryUser, Rejected> {
        self.decode_noted(entry).0
    }

    /// [`Decoder::decode`], with what it noticed on the way (see [`EntryNotes`]).
    pub fn decode_noted(&self, entry: &RawEntry) -> (Result<DirectoryUser, Rejected>, EntryNotes) {
        let mut notes = EntryNotes::default();
        let user_names = entry.values(&self.user_name_attr).len();
        if user_names > 1 {
            notes.several_user_names = Some(user_names);
        }
        let decoded = self.decode_into(entry, &mut notes);
        (decoded, notes)
    }

    fn decode_into(&self, entry: &RawEntry, notes: &mut EntryNotes) -> Result<DirectoryUser, Rejected> {
        let reject = |anchor: Option<Anchor>, reason: String| Rejected { dn: entry.dn.clone(), anchor, reason };
        let anchor = self.anchor(entry).map_err(|reason| reject(None, reason))?;
        let user_name = match entry.first_text(&self.user_name_attr) {
            Some(v) => v.to_lowercase(),
            None => {
                return Err(reject(
                    Some(anchor),
                    format!("no value for {} (it becomes the Zoom userName)", self.rules.user_name_attribute),
                ));
            }
        };
        if !is_valid_email(&user_name) {
            return Err(reject(
                Some(anchor),
                format!("{} {user_name:?} is not a valid e-mail address", self.rules.user_name_attribute),
            ));
        }
        let disabled = self.disabled(entry).map_err(|reason| reject(Some(anchor.clone()), reason))?;
        let (values, bytes) = entry.attrs.iter().flat_map(|(_, v)| v).fold((0, 0), |(n, b), v| (n + 1, b + v.len()));
        let mut attrs = Attributes::with_capacity(values, bytes);
        for (name, values) in &entry.attrs {
            let Some(shared) = self.kept.get(name) else {
                continue;
            };
            for value in values {
                match std::str::from_utf8(value) {
                    Ok(text) => {
                        let text = text.trim();
                        if !text.is_empty() {
                            attrs.push(shared.clone(), text);
                        }
                    }
                    Err(_) => {
                        if !notes.non_utf8.iter().any(|n| n == name) {
                            notes.non_utf8.push(name.clone());
                        }
                    }
                }
            }
        }
        Ok(DirectoryUser { anchor, dn: entry.dn.clone(), user_name, disabled, attrs })
    }

    /// The attributes anchors are read from, the fallback last (requested with every search
    /// that needs them).
    pub fn anchor_attributes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.rules.anchor_attribute.as_str()).chain(self.rules.anchor_fallback.as_deref())
    }

    /// The anchor attribute(s) as a reason names them: `entryUUID` or `entryUUID or nsUniqueId`.
    pub fn anchor_description(&self) -> String {
        self.anchor_attributes().collect::<Vec<_>>().join(" or ")
    }

    /// Whether this entry's anchor comes from the fallback attribute (it has no readable
    /// value of the first, and one of the fallback).
    pub fn uses_fallback(&self, entry: &RawEntry) -> bool {
        self.fallback_attr
            .as_ref()
            .is_some_and(|fallback| entry.values(&self.anchor_attr).is_empty() && !entry.values(fallback).is_empty())
    }

    /// The entry's anchor, or why it has none usable: the anchor attribute, or when it has
    /// no value and there is a fallback, the fallback (same format).
    pub fn anchor(&self, entry: &RawEntry) -> Result<Anchor, String> {
        let (name, values) = match (&self.fallback_attr, &self.rules.anchor_fallback) {
            (Some(lower), Some(fallback)) if entry.values(&self.anchor_attr).is_empty() => {
                (fallback, entry.values(lower))
            }
            _ => (&self.rules.anchor_attribute, entry.values(&self.anchor_attr)),
        };
        let first = match values {
            [] => return Err(format!("no {} (the anchor that identifies the user)", self.anchor_description())),
            [one] => one,
            _ => {
                return Err(format!("{name} has {} values; an anchor must have one", values.len()));
            }
        };
        match self.rules.anchor_format {
            AnchorFormat::Text => std::str::from_utf8(first)
                .ok()
                .and_then(Anchor::new)
                .ok_or_else(|| format!("{name} is empty or not text")),
            AnchorFormat::Guid => {
                if let Ok(bytes) = <[u8; 16]>::try_from(first.as_slice()) {
                    Anchor::new(&guid_to_text(&bytes)).ok_or_else(|| format!("{name} is empty"))
                } else if let Some(text) = std::str::from_utf8(first).ok().filter(|t| is_guid_text(t)) {
                    Anchor::new(text).ok_or_else(|| format!("{name} is empty"))
                } else {
                    Err(format!("{name} is {} bytes; a GUID has 16", first.len()))
                }
            }
        }
    }

    fn disabled(&self, entry: &RawEntry) -> Result<bool, String> {
        Ok(match &self.rules.disabled {
            DisabledRule::Never => false,
            DisabledRule::Present { attribute } => !entry.values(attribute).is_empty(),
            DisabledRule::Equals { attribute, value } => entry
                .values(attribute)
                .iter()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .any(|v| v.trim().eq_ignore_ascii_case(value)),
            DisabledRule::AccountControl => match entry.first_text("userAccountControl") {
                None => false,
                Some(text) => {
                    // AD writes it as a signed 32-bit integer in some tools.
                    let flags = text
                        .parse::<u32>()
                        .or_else(|_| text.parse::<i32>().map(|v| v as u32))
                        .map_err(|_| format!("userAccountControl {text:?} is not a number"))?;
                    flags & UAC_ACCOUNTDISABLE != 0
                }
            },
            DisabledRule::AccountLock => {
                let texts = |name: &str| -> Vec<&str> {
                    entry.values(name).iter().filter_map(|v| std::str::from_utf8(v).ok()).map(str::trim).collect()
                };
                texts(ACCOUNT_LOCK_ATTRIBUTE).iter().any(|v| v.eq_ignore_ascii_case("true"))
                    || texts(ROLE_ATTRIBUTE).iter().any(|role| is_disabled_role(role))
            }
        })
    }
}

/// Whether a role DN is a suffix's `cn=nsDisabledRole` (any case, blanks around `=`).
fn is_disabled_role(dn: &str) -> bool {
    let rdn = dn.split(',').next().unwrap_or("");
    let (attr, value) = rdn.split_once('=').unwrap_or(("", ""));
    let (want_attr, want_value) = DISABLED_ROLE_RDN.split_once('=').unwrap_or(("", ""));
    attr.trim().eq_ignore_ascii_case(want_attr) && value.trim().eq_ignore_ascii_case(want_value)
}

/// AD's text form of an objectGUID: the first three groups are little-endian on the wire.
/// `{bytes 3 2 1 0}-{5 4}-{7 6}-{8 9}-{10..16}`, lower-case hex, as PowerShell prints it.
pub fn guid_to_text(b: &[u8; 16]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// The inverse of [`guid_to_text`]: wire bytes from the text form.
pub fn guid_from_text(text: &str) -> Option<[u8; 16]> {
    if !is_guid_text(text) {
        return None;
    }
    let hex: Vec<u8> = text.bytes().filter(|c| *c != b'-').collect();
    let mut straight = [0u8; 16];
    for (slot, pair) in straight.iter_mut().zip(hex.chunks(2)) {
        *slot = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    let s = straight;
    Some([s[3], s[2], s[1], s[0], s[5], s[4], s[7], s[6], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15]])
}

fn is_guid_text(t: &str) -> bool {
    t.len() == 36
        && t.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Zoom rejects worse; this catches what directories typically get wrong.
pub fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\\\"@".contains(c));
    local_ok && domain_ok && value.len() <= 254
}

#[cfg(test)]
mod tests;
