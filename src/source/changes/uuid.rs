//! The text form of a 16-byte UUID as OpenLDAP (and 389-ds) return the `entryUUID`
//! attribute: RFC 4122 order, lower-case hex, 8-4-4-4-12; and 389-ds's `nsUniqueId` form of
//! the same 16 bytes (8-8-8-8), which its sync controls carry instead (`ds389.rs`).
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

/// PURE: the 16 bytes of a UUID in our text form (any 32 hex digits, dashes ignored);
/// `None` for anything else. Undoes [`uuid_text`].
pub(super) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}

/// PURE: 16 bytes as 389-ds writes `nsUniqueId`: four groups of 8 lower-case hex digits,
/// `8b78b7a3-ee4e11f1-b3069d60-c7dae29b`.
///
/// 389-ds's Content Synchronization plugin puts an entry's nsUniqueId, not its entryUUID,
/// in the Sync State control (`sync_nsuniqueid2uuid`: the 32 hex digits as 16 bytes), so
/// this is the text that a 389-ds syncUUID stands for: what the entry's `nsUniqueId`
/// attribute reads, and the 389ds flavour's fallback anchor.
pub(super) fn nsuniqueid_text(bytes: &[u8; 16]) -> String {
    let mut text = String::with_capacity(35);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_bytes_undoes_uuid_text_and_reads_nsuniqueid_text() {
        let bytes = [0x8b, 0x78, 0xb7, 0xa3, 0xee, 0x4e, 0x11, 0xf1, 0xb3, 0x06, 0x9d, 0x60, 0xc7, 0xda, 0xe2, 0x9b];
        let text = uuid_text(&bytes).unwrap();
        assert_eq!(uuid_bytes(&text), Some(bytes));
        assert_eq!(nsuniqueid_text(&bytes), "8b78b7a3-ee4e11f1-b3069d60-c7dae29b");
        assert_eq!(uuid_bytes("8b78b7a3-ee4e11f1-b3069d60-c7dae29b"), Some(bytes));
        assert_eq!(uuid_bytes("8B78B7A3-EE4E11F1-B3069D60-C7DAE29B"), Some(bytes));
        for bad in ["", "8b78b7a3", "8b78b7a3-ee4e11f1-b3069d60-c7dae29", "zz78b7a3-ee4e11f1-b3069d60-c7dae29b"] {
            assert_eq!(uuid_bytes(bad), None, "{bad:?}");
        }
    }

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
