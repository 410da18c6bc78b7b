//! The wire form of an entry, parsed by hand.

use ldap3::asn1::{PL, StructureTag, TagClass};

use crate::model::RawEntry;

/// SearchResultEntry (APPLICATION 4) -> RawEntry, moving value bytes without copies.
/// ldap3's `SearchEntry::construct` panics on malformed input; this returns `None`.
pub(crate) fn to_raw_entry(tag: StructureTag) -> Option<RawEntry> {
    if tag.class != TagClass::Application || tag.id != 4 {
        return None;
    }
    let PL::C(parts) = tag.payload else {
        return None;
    };
    let mut parts = parts.into_iter();
    let PL::P(dn) = parts.next()?.payload else {
        return None;
    };
    let mut entry = RawEntry::new(String::from_utf8(dn).ok()?);
    let PL::C(attributes) = parts.next()?.payload else {
        return None;
    };
    for attribute in attributes {
        let PL::C(pair) = attribute.payload else {
            return None;
        };
        let mut pair = pair.into_iter();
        let PL::P(name) = pair.next()?.payload else {
            return None;
        };
        let mut name = String::from_utf8(name).ok()?;
        name.make_ascii_lowercase();
        let PL::C(values) = pair.next()?.payload else {
            return None;
        };
        let mut bytes = Vec::with_capacity(values.len());
        for value in values {
            let PL::P(value) = value.payload else {
                return None;
            };
            bytes.push(value);
        }
        // A server sends each attribute once per entry.
        entry.attrs.push((name, bytes));
    }
    Some(entry)
}
