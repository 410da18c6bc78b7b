//! Just enough BER to read the values of the sync and DirSync controls without panicking.
//!
//! ldap3's own parsers for these controls `panic!` or `expect` on anything unexpected, which
//! would take the daemon's task down on one odd server reply. These helpers take the tree
//! lber's (panic-free) `parse_tag` builds and return [`Malformed`] for every surprise.

use ldap3::asn1::{PL, StructureTag, TagClass, parse_tag};

/// Universal tag numbers used by the controls.
pub(super) const BOOLEAN: u64 = 1;
pub(super) const INTEGER: u64 = 2;
pub(super) const OCTET_STRING: u64 = 4;
pub(super) const ENUMERATED: u64 = 10;
pub(super) const SEQUENCE: u64 = 16;
pub(super) const SET: u64 = 17;

/// A control or message the server sent that does not have the shape its RFC gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Malformed {
    pub(super) fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

/// The one BER element `bytes` holds (nothing may follow it).
pub(super) fn parse_whole(bytes: &[u8], what: &str) -> Result<StructureTag, Malformed> {
    match parse_tag(bytes) {
        Ok(([], tag)) => Ok(tag),
        Ok((rest, _)) => Err(Malformed(format!("{what}: {} bytes after the value", rest.len()))),
        Err(_) => Err(Malformed(format!("{what}: not a BER value ({} bytes)", bytes.len()))),
    }
}

/// Whether `tag` is the universal type `id`.
pub(super) fn is_universal(tag: &StructureTag, id: u64) -> bool {
    tag.class == TagClass::Universal && tag.id == id
}

/// The elements of a constructed value.
pub(super) fn children(tag: StructureTag, what: &str) -> Result<Vec<StructureTag>, Malformed> {
    match tag.payload {
        PL::C(parts) => Ok(parts),
        PL::P(_) => Err(Malformed(format!("{what}: expected a constructed value"))),
    }
}

/// The bytes of a primitive value.
pub(super) fn primitive(tag: StructureTag, what: &str) -> Result<Vec<u8>, Malformed> {
    match tag.payload {
        PL::P(bytes) => Ok(bytes),
        PL::C(_) => Err(Malformed(format!("{what}: expected a primitive value"))),
    }
}

/// A BOOLEAN's content: one byte, zero is false.
pub(super) fn boolean(bytes: &[u8], what: &str) -> Result<bool, Malformed> {
    match bytes {
        [b] => Ok(*b != 0),
        _ => Err(Malformed(format!("{what}: a BOOLEAN of {} bytes", bytes.len()))),
    }
}

/// An INTEGER or ENUMERATED content: 1 to 8 bytes, two's complement.
pub(super) fn integer(bytes: &[u8], what: &str) -> Result<i64, Malformed> {
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(Malformed(format!("{what}: an INTEGER of {} bytes", bytes.len())));
    }
    let negative = bytes[0] & 0x80 != 0;
    let start: i64 = if negative { -1 } else { 0 };
    Ok(bytes.iter().fold(start, |acc, &b| (acc << 8) | i64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_twos_complement() {
        assert_eq!(integer(&[0], "x"), Ok(0));
        assert_eq!(integer(&[3], "x"), Ok(3));
        assert_eq!(integer(&[0x00, 0x80], "x"), Ok(128));
        assert_eq!(integer(&[0xff], "x"), Ok(-1));
        assert_eq!(integer(&[0x80, 0, 0, 0], "x"), Ok(-2_147_483_648));
        assert!(integer(&[], "x").is_err());
        assert!(integer(&[1; 9], "x").is_err());
    }

    #[test]
    fn whole_values_only() {
        assert!(parse_whole(&[0x04, 0x01, 0x41], "x").is_ok());
        assert!(parse_whole(&[0x04, 0x01, 0x41, 0x00], "x").is_err());
        assert!(parse_whole(&[0x04, 0x05, 0x41], "x").is_err());
        assert!(parse_whole(&[], "x").is_err());
        assert!(parse_whole(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], "x").is_err());
    }

    #[test]
    fn booleans_are_one_byte() {
        assert_eq!(boolean(&[0xff], "x"), Ok(true));
        assert_eq!(boolean(&[0], "x"), Ok(false));
        assert!(boolean(&[], "x").is_err());
        assert!(boolean(&[1, 1], "x").is_err());
    }
}
