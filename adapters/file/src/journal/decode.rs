//! One journal line read back: its checksum checked, then its JSON parsed
//! straight into operations (no `serde_json::Value` tree), records read as
//! in the Flask files.

use chrono::NaiveDateTime;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use domain::{SessionKey, TIMESTAMP_FORMAT, UserId};

use super::ops::{Op, crc32};
use crate::error::OpenError;
use crate::records::{self, Field, FieldName, RawRecord, Text};

/// The operations of one line; `None` when its checksum does not match
/// (or it is not even shaped like an entry), `Some(Err)` when it matches
/// but holds something unusable.
pub(super) fn decode(
    path: &Path,
    line_no: usize,
    line: &[u8],
) -> Option<Result<Vec<Op>, OpenError>> {
    let (crc, json) = (line.get(..8)?, line.get(9..)?);
    if line.get(8) != Some(&b' ') {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc != crc32(json) {
        return None;
    }
    let bad = |problem: String| OpenError::Journal {
        path: path.to_path_buf(),
        line: line_no,
        problem,
    };
    let Ok(RawEntry(Some(ops))) = serde_json::from_slice::<RawEntry<'_>>(json) else {
        return Some(Err(bad(
            "passes its checksum but is not a JSON array".into()
        )));
    };
    Some(
        ops.iter()
            .map(|op| decode_op(path, op).map_err(bad))
            .collect(),
    )
}

fn decode_op(path: &Path, op: &RawOp<'_>) -> Result<Op, String> {
    let RawOp(Some((kind, value))) = op else {
        return Err("holds an operation that is not an object".into());
    };
    let text = || match value {
        OpValue::Text(Field::Text(text)) => Ok(&**text),
        _ => Err(format!("{kind}: not text")),
    };
    let key = |text: &str| SessionKey::parse(text).ok_or(format!("{kind}: not a key digest"));
    Ok(match &**kind {
        "put_user" | "put_session" | "touch_session" => {
            let OpValue::Record(record) = value else {
                return Err(format!("holds an unknown operation {kind:?}"));
            };
            match &**kind {
                "put_user" => {
                    Op::PutUser(records::user_of(path, record).map_err(|e| e.to_string())?)
                }
                "put_session" => {
                    Op::PutSession(records::session_of(path, record).map_err(|e| e.to_string())?)
                }
                _ => {
                    let field = |name: FieldName| match record.0.as_ref().map(|f| f.get(name)) {
                        Some(Field::Text(text)) => Ok(&**text),
                        _ => Err(format!("touch_session: no {}", name.name())),
                    };
                    let at = NaiveDateTime::parse_from_str(field(FieldName::At)?, TIMESTAMP_FORMAT)
                        .map_err(|_| "touch_session: bad timestamp".to_owned())?
                        .and_utc();
                    Op::TouchSession(key(field(FieldName::Key)?)?, at)
                }
            }
        }
        "delete_user" => Op::DeleteUser(UserId::parse(text()?).ok_or("delete_user: not a UUID")?),
        "delete_session" => Op::DeleteSession(key(text()?)?),
        other => return Err(format!("holds an unknown operation {other:?}")),
    })
}

/// A journal line's JSON: its operations, or `None` when it is not an
/// array.
struct RawEntry<'a>(Option<Vec<RawOp<'a>>>);

impl<'de> Deserialize<'de> for RawEntry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON array of operations")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut ops = Vec::new();
                while let Some(op) = seq.next_element::<RawOp<'de>>()? {
                    ops.push(op);
                }
                Ok(RawEntry(Some(ops)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawEntry(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawEntry(None))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// An operation as read: its kind (the object's first key) and value, or
/// `None` when it is not an object with at least one key.
struct RawOp<'a>(Option<(Cow<'a, str>, OpValue<'a>)>);

/// An operation's value: a record (or `touch_session`'s object) for the
/// kinds that take one, any other value as a [`Field`].
enum OpValue<'a> {
    Record(Box<RawRecord<'a>>),
    Text(Field<'a>),
}

impl<'de> Deserialize<'de> for RawOp<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OpVisitor;
        impl<'de> Visitor<'de> for OpVisitor {
            type Value = RawOp<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an operation")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(Text(kind)) = map.next_key::<Text<'de>>()? else {
                    return Ok(RawOp(None));
                };
                let read = |map: &mut A, kind: &str| -> Result<OpValue<'de>, A::Error> {
                    Ok(match kind {
                        "put_user" | "put_session" | "touch_session" => {
                            OpValue::Record(map.next_value()?)
                        }
                        _ => OpValue::Text(map.next_value()?),
                    })
                };
                let mut value = read(&mut map, &kind)?;
                // Only the first key counts; a repeat of it keeps its last
                // value, as a JSON object read into a map does.
                while let Some(Text(other)) = map.next_key::<Text<'de>>()? {
                    if other == kind {
                        value = read(&mut map, &kind)?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(RawOp(Some((kind, value))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawOp(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawOp(None))
            }
        }
        deserializer.deserialize_any(OpVisitor)
    }
}
