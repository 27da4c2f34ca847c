//! A record's fields as read from JSON: text borrowed from the input where
//! it can be, `null`, or a value only checked for syntax; only the fields
//! some record can have are kept.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

pub(super) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// JSON text, borrowed from the input unless it holds escapes.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// One field's value, as far as reading records cares: text, `null`, or
/// something else (read to check the syntax, not kept).
#[derive(Debug, Default)]
pub(crate) enum Field<'a> {
    /// The record has no such field.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A JSON string.
    Text(Cow<'a, str>),
    /// `true` or `false`.
    Bool(bool),
    /// A number, an array or an object.
    Other,
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s)))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(value))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Field::Other)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// The fields any record of the files or the journal can have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldName {
    Id,
    Email,
    Password,
    FirstName,
    LastName,
    CreatedAt,
    UpdatedAt,
    UserId,
    SessionId,
    LastUsedAt,
    ClientAddress,
    UserAgent,
    /// `touch_session`'s key (journal only).
    Key,
    /// `touch_session`'s timestamp (journal only).
    At,
    /// A user's administrator flag (this service's; written only when
    /// true).
    IsAdmin,
}

impl FieldName {
    const ALL: [(&'static str, FieldName); 15] = [
        ("id", FieldName::Id),
        ("email", FieldName::Email),
        ("_password", FieldName::Password),
        ("first_name", FieldName::FirstName),
        ("last_name", FieldName::LastName),
        ("created_at", FieldName::CreatedAt),
        ("updated_at", FieldName::UpdatedAt),
        ("user_id", FieldName::UserId),
        ("session_id", FieldName::SessionId),
        ("last_used_at", FieldName::LastUsedAt),
        ("client_address", FieldName::ClientAddress),
        ("user_agent", FieldName::UserAgent),
        ("key", FieldName::Key),
        ("at", FieldName::At),
        ("is_admin", FieldName::IsAdmin),
    ];

    fn of(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, field)| *field)
    }

    pub(crate) fn name(self) -> &'static str {
        Self::ALL[self as usize].0
    }
}

/// A record's known fields; the others are checked for syntax and dropped.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>([Field<'a>; 15]);

impl<'a> Fields<'a> {
    pub(crate) fn get(&self, name: FieldName) -> &Field<'a> {
        &self.0[name as usize]
    }
}

/// A record as read: its fields, or `None` when it is not a JSON object.
#[derive(Debug, Default)]
pub(crate) struct RawRecord<'a>(pub Option<Fields<'a>>);

impl<'de> Deserialize<'de> for RawRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = RawRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Fields::default();
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    match FieldName::of(&name) {
                        // A repeated field keeps its last value.
                        Some(field) => fields.0[field as usize] = map.next_value()?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawRecord(Some(fields)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| RawRecord(None))
            }
        }
        deserializer.deserialize_any(RecordVisitor)
    }
}
