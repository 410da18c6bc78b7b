//! The text form of a 16-byte UUID as OpenLDAP (and 389-ds) return the `entryUUID`
//! attribute: RFC 4122 order, lower-case hex, 8-4-4-4-12.
//!
//! Sync controls carry entryUUIDs as the raw 16 bytes (RFC 4533 `syncUUID`), while a full
//! read gives the attribute's text; the two must compare equal, so both become this text.
//! (AD's objectGUID is mixed-endian and has its own formatter, `decode::guid_to_text`.)

/// PURE: `bytes` as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; `None` unless exactly 16 bytes.
pub fn uuid_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() != 16 {
        return None;
    }
    let mut text = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bytes_in_order_lower_case() {
        let bytes = [0x8b, 0xf2, 0x6a, 0x7e, 0x4a, 0x1c, 0x10, 0x3d, 0x9b, 0x0e, 0x5f, 0x3f, 0xa1, 0xb2, 0xc3, 0xd4];
        assert_eq!(uuid_text(&bytes).as_deref(), Some("8bf26a7e-4a1c-103d-9b0e-5f3fa1b2c3d4"));
        assert_eq!(uuid_text(&[0; 16]).as_deref(), Some("00000000-0000-0000-0000-000000000000"));
        assert_eq!(uuid_text(&[0xff; 16]).as_deref(), Some("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    }

    #[test]
    fn any_other_length_is_none() {
        assert_eq!(uuid_text(&[]), None);
        assert_eq!(uuid_text(&[1; 15]), None);
        assert_eq!(uuid_text(&[1; 17]), None);
        assert_eq!(uuid_text(b"8bf26a7e-4a1c-103d-9b0e-5f3fa1b2c3d4"), None);
    }
}
