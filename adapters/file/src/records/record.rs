//! One record of a file or the journal, with what is needed to say what is
//! wrong with it: its text fields, its id and its timestamps read as the
//! Flask API accepted them; and timestamps written as it wrote them.

use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::Path;

use domain::{TIMESTAMP_FORMAT, truncate_to_seconds};

use super::fields::{Field, FieldName, Fields, RawRecord};
use crate::error::OpenError;

/// The timestamp format accepted when reading: the Flask format with an
/// optional fractional part (`%.f` also matches nothing).
const TIMESTAMP_READ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The record's `id` when it is text, else nothing (how a journal record,
/// which has no key of its own, is named in errors).
pub(super) fn record_key<'r>(value: &'r RawRecord<'_>) -> &'r str {
    match value.0.as_ref().map(|fields| fields.get(FieldName::Id)) {
        Some(Field::Text(id)) => id,
        _ => "",
    }
}

/// One record of a file, with what is needed to say what is wrong with it.
pub(crate) struct Record<'r> {
    path: &'r Path,
    key: &'r str,
    pub(super) fields: &'r Fields<'r>,
}

impl<'r> Record<'r> {
    pub(super) fn new(
        path: &'r Path,
        key: &'r str,
        value: &'r RawRecord<'_>,
    ) -> Result<Self, OpenError> {
        let Some(fields) = &value.0 else {
            return Err(OpenError::BadRecord {
                path: path.to_path_buf(),
                record: key.to_owned(),
                problem: "is not a JSON object".to_owned(),
            });
        };
        Ok(Self { path, key, fields })
    }

    pub(super) fn bad(&self, problem: impl Into<String>) -> OpenError {
        OpenError::BadRecord {
            path: self.path.to_path_buf(),
            record: self.key.to_owned(),
            problem: problem.into(),
        }
    }

    /// A text field; `None` when absent or `null`.
    pub(super) fn text(&self, name: FieldName) -> Result<Option<&'r str>, OpenError> {
        match self.fields.get(name) {
            Field::Absent | Field::Null => Ok(None),
            Field::Text(s) => Ok(Some(&**s)),
            Field::Bool(_) | Field::Other => Err(self.bad(format!(
                "has a {} that is neither text nor null",
                name.name()
            ))),
        }
    }

    pub(super) fn required_text(&self, name: FieldName) -> Result<&'r str, OpenError> {
        match self.text(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.bad(format!("has an empty {}", name.name()))),
            None => Err(self.bad(format!("has no {}", name.name()))),
        }
    }

    /// The record's id: its `id` field, or its key when the field is absent
    /// (the Flask API looked records up by key).
    pub(super) fn id(&self) -> Result<&'r str, OpenError> {
        match self.text(FieldName::Id)? {
            None => Ok(self.key),
            Some(id) if id == self.key => Ok(id),
            // Which one the Flask API's clients used depended on the code
            // path; guessing could attach sessions to the wrong user.
            Some(id) => Err(self.bad(format!("has id {id:?}, which differs from its key"))),
        }
    }

    pub(super) fn timestamp(&self, name: FieldName) -> Result<DateTime<Utc>, OpenError> {
        let text = self.required_text(name)?;
        if let Some(t) = plain_timestamp(text) {
            return Ok(t.and_utc());
        }
        NaiveDateTime::parse_from_str(text, TIMESTAMP_READ_FORMAT)
            .map(|t| truncate_to_seconds(t.and_utc()))
            .map_err(|_| {
                self.bad(format!(
                    "has {} {text:?}, which is not a timestamp YYYY-MM-DDTHH:MM:SS",
                    name.name()
                ))
            })
    }
}

/// `YYYY-MM-DDTHH:MM:SS` exactly (what this service and the Flask API
/// write), read without chrono's format interpreter, which dominates a
/// large file's parse; `None` for anything else (a fractional part, a leap
/// second, an invalid date...), which the general parse then handles.
fn plain_timestamp(text: &str) -> Option<NaiveDateTime> {
    let b: &[u8; 19] = text.as_bytes().try_into().ok()?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
}
pub(super) fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.format(TIMESTAMP_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_timestamp_reader_agrees_with_chrono_or_leaves_it_to_chrono() {
        for text in [
            "2024-01-01T00:00:00",
            "1999-12-31T23:59:59",
            "2024-02-29T12:34:56",
            "2023-02-29T12:34:56",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "2024-06-30T23:59:60",
            "2024-01-01T00:00:00.5",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:0x",
            "+024-01-01T00:00:00",
            "0000-01-01T00:00:00",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, TIMESTAMP_READ_FORMAT).ok();
            if let Some(plain) = plain_timestamp(text) {
                assert_eq!(Some(plain), chrono, "{text}");
            }
        }
        assert!(plain_timestamp("2024-01-01T00:00:00").is_some());
    }
}
