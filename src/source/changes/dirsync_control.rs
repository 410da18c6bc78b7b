//! PURE: the DirSync control (MS-ADTS 3.1.1.3.4.1.3, `LDAP_SERVER_DIRSYNC_OID`): its request
//! value written, its response value read without panicking. ldap3 has neither.

use super::ber::{self, Malformed};

/// LDAP_SERVER_DIRSYNC_OID.
pub const DIRSYNC_CONTROL: &str = "1.2.840.113556.1.4.841";
/// LDAP_SERVER_SHOW_DELETED_OID: tombstones are returned too (no value).
pub const SHOW_DELETED_CONTROL: &str = "1.2.840.113556.1.4.417";
/// LDAP_DIRSYNC_OBJECT_SECURITY: no replication right needed, but only what the account may
/// read is returned.
pub const FLAG_OBJECT_SECURITY: i32 = 0x1;
/// The largest reply the client asks for (the server may cap it lower).
pub const MAX_BYTES: i32 = i32::MAX;

/// `DirSyncRequestValue ::= SEQUENCE { Flags INTEGER, MaxBytes INTEGER, Cookie OCTET STRING }`
pub fn request_value(flags: i32, max_bytes: i32, cookie: &[u8]) -> Vec<u8> {
    let mut inner = integer(flags);
    inner.extend(integer(max_bytes));
    inner.extend(element(ber::OCTET_STRING as u8, cookie));
    element(0x30, &inner)
}

/// The DirSync response: whether more data waits and the cookie to send next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSyncResponse {
    pub more: bool,
    pub cookie: Vec<u8>,
}

/// `DirSyncResponseValue ::= SEQUENCE { MoreResults INTEGER, unused INTEGER, CookieServer OCTET STRING }`
pub fn response(value: &[u8]) -> Result<DirSyncResponse, Malformed> {
    const WHAT: &str = "DirSync response control";
    let tag = ber::parse_whole(value, WHAT)?;
    if !ber::is_universal(&tag, ber::SEQUENCE) {
        return Err(Malformed::new(format!("{WHAT}: not a SEQUENCE")));
    }
    let parts = ber::children(tag, WHAT)?;
    let [more, unused, cookie] = <[_; 3]>::try_from(parts)
        .map_err(|parts: Vec<_>| Malformed::new(format!("{WHAT}: {} elements, not 3", parts.len())))?;
    if !ber::is_universal(&more, ber::INTEGER)
        || !ber::is_universal(&unused, ber::INTEGER)
        || !ber::is_universal(&cookie, ber::OCTET_STRING)
    {
        return Err(Malformed::new(format!("{WHAT}: not INTEGER, INTEGER, OCTET STRING")));
    }
    let more = ber::integer(&ber::primitive(more, WHAT)?, WHAT)? != 0;
    Ok(DirSyncResponse { more, cookie: ber::primitive(cookie, WHAT)? })
}

/// An INTEGER in its shortest two's-complement form.
fn integer(value: i32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 3 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    element(ber::INTEGER as u8, &bytes[start..])
}

/// Tag, definite length (short or long form), content.
fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding() {
        assert_eq!(request_value(0, 0, b""), vec![0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00]);
        assert_eq!(
            request_value(FLAG_OBJECT_SECURITY, MAX_BYTES, b"ck"),
            vec![0x30, 0x0d, 0x02, 0x01, 0x01, 0x02, 0x04, 0x7f, 0xff, 0xff, 0xff, 0x04, 0x02, b'c', b'k']
        );
        // LDAP_DIRSYNC_INCREMENTAL_VALUES (0x80000000) is a negative 32-bit INTEGER on the wire.
        assert_eq!(integer(i32::MIN), vec![0x02, 0x04, 0x80, 0, 0, 0]);
        assert_eq!(integer(128), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(-1), vec![0x02, 0x01, 0xff]);
        assert_eq!(integer(0x800), vec![0x02, 0x02, 0x08, 0x00]);
        // A cookie longer than 127 bytes takes a long-form length.
        let long = request_value(0, 0, &[7; 300]);
        assert_eq!(&long[..4], &[0x30, 0x82, 0x01, 0x36]);
        assert_eq!(&long[10..14], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 4 + 6 + 4 + 300);
    }

    #[test]
    fn response_reading() {
        let value = [0x30, 0x0a, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x02, b'c', b'k'];
        assert_eq!(response(&value), Ok(DirSyncResponse { more: true, cookie: b"ck".to_vec() }));
        let value = [0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00];
        assert_eq!(response(&value), Ok(DirSyncResponse { more: false, cookie: vec![] }));
        for bad in [
            &[][..],
            &[0x30, 0x03, 0x02, 0x01, 0x00][..],
            &[0x30, 0x08, 0x04, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00][..],
            &[0x31, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00][..],
            &[0x30, 0x08, 0x02, 0x00, 0x02, 0x01, 0x00, 0x04, 0x01, 0x00][..],
        ] {
            assert!(response(bad).is_err(), "{bad:02x?}");
        }
    }
}
