//! A file's top-level JSON object walked record by record: every record
//! made into a value in file order (a repeated key keeps its first place
//! and last value), or handed on as it is read, and counted beforehand.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use super::fields::{RawRecord, Text, drain_seq};
use super::record::Record;
use crate::error::OpenError;

/// How many records a file's top-level object holds, by a quick pass that
/// keeps nothing (0 when it is not an object or does not parse: the real
/// parse says why). Knowing it lets the tables be sized once.
pub(super) fn count_records(bytes: &[u8]) -> usize {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object of records")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut count = 0;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                count += 1;
            }
            Ok(count)
        }
    }
    serde_json::Deserializer::from_slice(bytes)
        .deserialize_map(Count)
        .unwrap_or(0)
}

/// Parses a file that must hold one JSON object of records, turning each
/// record into `make`'s result in file order. A key seen twice keeps its
/// first place and its last value, as a JSON object read into a map does.
/// A syntax error anywhere is reported before any bad record.
pub(super) fn parse_object<T>(
    path: &Path,
    bytes: &[u8],
    make: impl FnMut(&Record<'_>) -> Result<T, OpenError>,
) -> Result<Vec<Result<T, OpenError>>, OpenError> {
    let syntax = |source: serde_json::Error| OpenError::Syntax {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = deserializer
        .deserialize_any(FileVisitor { path, make })
        .map_err(syntax)?;
    deserializer.end().map_err(syntax)?;
    parsed.ok_or_else(|| OpenError::NotAnObject {
        path: path.to_path_buf(),
    })
}

/// Parses a file that must hold one JSON object of records, handing each
/// record made by `make` to `put` in file order, and reports the first bad
/// record once the whole file is known to parse (as [`parse_object`]
/// does). `false` when a key is repeated: [`parse_object`] must then redo
/// it, since the first place and last value of that key count.
pub(super) fn stream_object<T>(
    path: &Path,
    bytes: &[u8],
    make: impl FnMut(&Record<'_>) -> Result<T, OpenError>,
    put: impl FnMut(T),
) -> Result<bool, OpenError> {
    let syntax = |source: serde_json::Error| OpenError::Syntax {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = deserializer
        .deserialize_any(StreamVisitor { path, make, put })
        .map_err(syntax)?;
    deserializer.end().map_err(syntax)?;
    let Some(streamed) = parsed else {
        return Err(OpenError::NotAnObject {
            path: path.to_path_buf(),
        });
    };
    if streamed.repeated_key {
        return Ok(false);
    }
    streamed.first_error.map_or(Ok(true), Err)
}

/// What [`StreamVisitor`] found.
struct Streamed {
    first_error: Option<OpenError>,
    repeated_key: bool,
}

/// The visitor methods of a file visitor for every JSON value that is not
/// an object: the file holds no records (`None`), whatever it holds.
macro_rules! not_an_object {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// Reads a file's top-level object record by record; `None` when the file
/// holds another kind of JSON value.
struct StreamVisitor<'p, M, P> {
    path: &'p Path,
    make: M,
    put: P,
}

impl<'de, T, M, P> Visitor<'de> for StreamVisitor<'_, M, P>
where
    M: FnMut(&Record<'_>) -> Result<T, OpenError>,
    P: FnMut(T),
{
    type Value = Option<Streamed>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of records")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut streamed = Streamed {
            first_error: None,
            repeated_key: false,
        };
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let raw: RawRecord<'de> = map.next_value()?;
            // After a bad record or a repeated key, the rest is only
            // checked for syntax.
            if streamed.repeated_key {
                continue;
            }
            let made = streamed
                .first_error
                .is_none()
                .then(|| Record::new(self.path, &key, &raw).and_then(|r| (self.make)(&r)));
            if !seen.insert(key) {
                streamed.repeated_key = true;
                continue;
            }
            match made {
                Some(Ok(value)) => (self.put)(value),
                Some(Err(e)) => streamed.first_error = Some(e),
                None => {}
            }
        }
        Ok(Some(streamed))
    }

    not_an_object!();
}

/// Reads a file's top-level object; `None` when the file holds another
/// kind of JSON value.
struct FileVisitor<'p, F> {
    path: &'p Path,
    make: F,
}

impl<'de, T, F> Visitor<'de> for FileVisitor<'_, F>
where
    F: FnMut(&Record<'_>) -> Result<T, OpenError>,
{
    type Value = Option<Vec<Result<T, OpenError>>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of records")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records: Vec<Result<T, OpenError>> = Vec::new();
        // Where each key's record is, to honour a repeated key.
        let mut places: HashMap<Cow<'de, str>, usize> = HashMap::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let raw: RawRecord<'de> = map.next_value()?;
            let made = Record::new(self.path, &key, &raw).and_then(|record| (self.make)(&record));
            match places.get(&key) {
                Some(&place) => records[place] = made,
                None => {
                    places.insert(key, records.len());
                    records.push(made);
                }
            }
        }
        Ok(Some(records))
    }

    not_an_object!();
}
