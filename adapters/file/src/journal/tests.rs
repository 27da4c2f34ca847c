//! The entry format: the checksum is CRC-32/IEEE as it always was, so
//! journals already on disk replay.

use chrono::NaiveDateTime;
use std::path::Path;

use domain::{SessionKey, TIMESTAMP_FORMAT, UserId};

use super::decode::decode;
use super::ops::{Op, crc32, encode};

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

/// Entries as journals already on disk hold them: the checksum is
/// CRC-32/IEEE of the JSON, as 8 lowercase hex digits.
const DELETE_ENTRY: &str =
    "3f855049 [{\"delete_user\":\"1f0e9a8e-2c4b-4d6a-9f0e-3b2a1c4d5e6f\"}]\n";
const TOUCH_ENTRY: &str = "71611df1 [{\"touch_session\":{\"key\":\"abababababababababababababababababababababababababababababababab\",\"at\":\"2024-01-02T03:04:05\"}}]\n";

#[test]
fn entries_are_encoded_with_their_pinned_checksums() {
    let id = UserId::parse("1f0e9a8e-2c4b-4d6a-9f0e-3b2a1c4d5e6f").unwrap();
    let mut out = Vec::new();
    encode(&[Op::DeleteUser(id)], &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), DELETE_ENTRY);

    let key = SessionKey::parse(&"ab".repeat(32)).unwrap();
    let at = NaiveDateTime::parse_from_str("2024-01-02T03:04:05", TIMESTAMP_FORMAT)
        .unwrap()
        .and_utc();
    let mut out = Vec::new();
    encode(&[Op::TouchSession(key, at)], &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), TOUCH_ENTRY);
}

#[test]
fn entries_with_pinned_checksums_decode_and_a_wrong_checksum_does_not() {
    let path = Path::new("journal");
    for entry in [DELETE_ENTRY, TOUCH_ENTRY] {
        let line = entry.trim_end().as_bytes();
        let ops = decode(path, 1, line).unwrap().unwrap();
        assert_eq!(ops.len(), 1, "{entry}");
    }
    let wrong = DELETE_ENTRY.replacen("3f855049", "3f855048", 1);
    assert!(decode(path, 1, wrong.trim_end().as_bytes()).is_none());
}
