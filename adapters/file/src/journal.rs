//! The journal: every change to the data, appended and flushed to disk
//! before it is acknowledged, so a change costs a few hundred bytes of
//! writing instead of a rewrite of the Flask files.
//!
//! # Format
//! Files `.session-auth.journal.<n>` in the data directory, `n` a
//! generation number counting up from 1. Each entry is one line:
//!
//! ```text
//! <crc32 of the JSON, 8 lowercase hex digits> <JSON array of operations>\n
//! ```
//!
//! An operation is one of `{"put_user": <user record>}`,
//! `{"delete_user": "<id>"}` (the user's sessions go with it),
//! `{"put_session": <session record>}`, `{"delete_session": "<key digest>"}`
//! and `{"touch_session": {"key": "<key digest>", "at": "<timestamp>"}}`;
//! records are written exactly as in the Flask files. One entry is one
//! port call: it is replayed whole or not at all.
//!
//! Every operation sets a record to a value or removes it, so replaying an
//! entry whose change the Flask files already hold changes nothing: the
//! files may be rewritten before the journals they cover are deleted.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapter_memory::Tables;
use domain::{Session, SessionKey, TIMESTAMP_FORMAT, User, UserId};

use crate::atomic_file::{WriteError, sync_dir};
use crate::error::OpenError;
use crate::records::{self, Field, FieldName, RawRecord, SessionRecord, Text, UserRecord};

/// The journal files' names: this prefix, then the generation number.
pub const JOURNAL_PREFIX: &str = ".session-auth.journal.";

/// One change to one record.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// The user with this id is now exactly this.
    PutUser(User),
    /// The user and their sessions are gone.
    DeleteUser(UserId),
    /// The session with this key is now exactly this.
    PutSession(Session),
    /// The session with this key is gone.
    DeleteSession(SessionKey),
    /// The session with this key (if any) was last used then.
    TouchSession(SessionKey, DateTime<Utc>),
}

impl Op {
    /// Whether it changes the users file, the sessions file (deleting a
    /// user changes the sessions file only when the user had sessions,
    /// which this does not know).
    pub(crate) fn files(&self) -> (bool, bool) {
        match self {
            Op::PutUser(_) | Op::DeleteUser(_) => (true, false),
            Op::PutSession(_) | Op::DeleteSession(_) | Op::TouchSession(..) => (false, true),
        }
    }

    /// Applies the operation; never refuses (see [`Tables::restore_user`]).
    pub(crate) fn apply(self, tables: &mut Tables) {
        match self {
            Op::PutUser(user) => tables.restore_user(user),
            Op::DeleteUser(id) => {
                tables.delete_user(&id);
            }
            Op::PutSession(session) => tables.load_session(session),
            Op::DeleteSession(key) => {
                tables.delete_session(&key);
            }
            Op::TouchSession(key, at) => {
                tables.touch_session(&key, at);
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum OpRecord<'a> {
    PutUser(UserRecord<'a>),
    DeleteUser(String),
    PutSession(SessionRecord<'a>),
    DeleteSession(&'a str),
    TouchSession { key: &'a str, at: String },
}

impl<'a> From<&'a Op> for OpRecord<'a> {
    fn from(op: &'a Op) -> Self {
        match op {
            Op::PutUser(user) => OpRecord::PutUser(UserRecord::from(user)),
            Op::DeleteUser(id) => OpRecord::DeleteUser(id.to_string()),
            Op::PutSession(session) => OpRecord::PutSession(SessionRecord::from(session)),
            Op::DeleteSession(key) => OpRecord::DeleteSession(key.as_str()),
            Op::TouchSession(key, at) => OpRecord::TouchSession {
                key: key.as_str(),
                at: at.format(TIMESTAMP_FORMAT).to_string(),
            },
        }
    }
}

/// Appends the entry for `ops` to `out`.
pub(crate) fn encode(ops: &[Op], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let records: Vec<OpRecord<'_>> = ops.iter().map(OpRecord::from).collect();
    let json = serde_json::to_vec(&records)?;
    out.extend_from_slice(format!("{:08x} ", crc32(&json)).as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(())
}

/// The journal found at start, replayed.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// Generations present, oldest first.
    pub generations: Vec<u64>,
    /// The length of the newest generation's valid entries.
    pub valid_len: u64,
    /// Total bytes of valid entries over every generation.
    pub bytes: u64,
    /// Entries replayed.
    pub entries: u64,
    /// Whether the newest generation ended in a torn entry (dropped).
    pub torn: bool,
    /// Whether a replayed operation touched the users file, the sessions
    /// file.
    pub users_changed: bool,
    /// See `users_changed`.
    pub sessions_changed: bool,
}

/// The journal generations present in `dir`, oldest first.
pub(crate) fn generations(dir: &Path) -> Result<Vec<u64>, OpenError> {
    let entries = std::fs::read_dir(dir).map_err(|source| OpenError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(JOURNAL_PREFIX))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The path of generation `n`.
pub(crate) fn path_of(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{JOURNAL_PREFIX}{n}"))
}

/// Replays every journal generation in `dir` over `tables`, oldest first.
///
/// A last entry of the newest generation that is incomplete or fails its
/// checksum is the trace of a crash mid-append: that change was never
/// acknowledged, so it is dropped (the caller truncates it). A bad entry
/// anywhere else is damage that cannot be explained by a crash, and stops
/// the start.
pub(crate) fn replay(dir: &Path, tables: &mut Tables) -> Result<Replayed, OpenError> {
    let mut replayed = Replayed {
        generations: generations(dir)?,
        ..Replayed::default()
    };
    let newest = replayed.generations.last().copied();
    for &n in &replayed.generations {
        let path = path_of(dir, n);
        let bytes = std::fs::read(&path).map_err(|source| OpenError::Read {
            path: path.clone(),
            source,
        })?;
        let mut offset = 0usize;
        let mut line_no = 0usize;
        while offset < bytes.len() {
            line_no += 1;
            let rest = &bytes[offset..];
            let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(end) => (&rest[..end], true),
                None => (rest, false),
            };
            let is_last = offset + line.len() + usize::from(complete) >= bytes.len();
            match decode(&path, line_no, line).filter(|_| complete) {
                Some(Ok(ops)) => {
                    for op in ops {
                        let (users, sessions) = op.files();
                        replayed.users_changed |= users;
                        replayed.sessions_changed |= sessions || matches!(op, Op::DeleteUser(_));
                        op.apply(tables);
                    }
                    replayed.entries += 1;
                    offset += line.len() + 1;
                }
                Some(Err(e)) => return Err(e),
                None if is_last && Some(n) == newest => {
                    tracing::warn!(
                        journal = %path.display(),
                        line = line_no,
                        bytes = rest.len(),
                        "the journal ends in a torn entry (the process stopped while \
                         appending it); that change was never acknowledged and is dropped"
                    );
                    replayed.torn = true;
                    break;
                }
                None => {
                    return Err(OpenError::Journal {
                        path,
                        line: line_no,
                        problem: "is damaged (bad checksum or incomplete) but is not the \
                                  last entry: it is not the trace of a crash"
                            .to_owned(),
                    });
                }
            }
        }
        replayed.bytes += offset as u64;
        if Some(n) == newest {
            replayed.valid_len = offset as u64;
        }
    }
    Ok(replayed)
}

/// The operations of one line; `None` when its checksum does not match
/// (or it is not even shaped like an entry), `Some(Err)` when it matches
/// but holds something unusable.
fn decode(path: &Path, line_no: usize, line: &[u8]) -> Option<Result<Vec<Op>, OpenError>> {
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

/// How much journal awaits compaction. The background compactor reads it
/// without the journal's lock and without keeping the store alive.
#[derive(Debug)]
pub(crate) struct Progress {
    epoch: Instant,
    bytes: AtomicU64,
    /// Milliseconds from `epoch` to the first entry since the last
    /// compaction; `u64::MAX` when there is none.
    first_at: AtomicU64,
    /// Compact at the next opportunity, whatever the journal's size.
    pub soon: AtomicBool,
}

impl Progress {
    fn new(bytes: u64) -> Self {
        let progress = Self {
            epoch: Instant::now(),
            bytes: AtomicU64::new(0),
            first_at: AtomicU64::new(u64::MAX),
            soon: AtomicBool::new(false),
        };
        progress.add(bytes);
        progress
    }

    fn add(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let now = self.epoch.elapsed().as_millis() as u64;
        let _ = self
            .first_at
            .compare_exchange(u64::MAX, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.bytes.store(0, Ordering::Relaxed);
        self.first_at.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the journal is past `bytes` or its oldest entry past `age`.
    pub(crate) fn due(&self, bytes: u64, age: Duration) -> bool {
        if self.soon.load(Ordering::Relaxed) || self.bytes.load(Ordering::Relaxed) >= bytes {
            return true;
        }
        let first = self.first_at.load(Ordering::Relaxed);
        first != u64::MAX
            && self.epoch.elapsed().as_millis() as u64
                >= first.saturating_add(age.as_millis() as u64)
    }
}

/// The appending end of the journal, and the group commit's bookkeeping.
/// Held under a mutex by whoever is writing, so writes never interleave.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    /// The generation appended to.
    generation: u64,
    /// Open once the generation's file exists.
    file: Option<File>,
    /// Bytes of acknowledged entries in the generation's file.
    len: u64,
    /// A write failed after `len`: what follows must be cut off first.
    torn: bool,
    /// What awaits compaction.
    pub progress: Arc<Progress>,
    /// Every change with a sequence number up to this one is durable...
    pub durable_through: u64,
    /// ...except these, which were rolled back; each waiter removes its own.
    pub failed: HashSet<u64>,
    /// How many appends (each one flush) were made.
    pub flushes: u64,
}

impl Writer {
    /// A writer continuing what [`replay`] found: appending to the newest
    /// generation after its last valid entry (a torn entry is cut off
    /// first), or starting generation 1.
    pub(crate) fn resume(dir: &Path, replayed: &Replayed) -> Result<Self, OpenError> {
        let mut writer = Self {
            dir: dir.to_path_buf(),
            generation: replayed.generations.last().copied().unwrap_or(1),
            file: None,
            len: replayed.valid_len,
            torn: replayed.torn,
            progress: Arc::new(Progress::new(replayed.bytes)),
            durable_through: 0,
            failed: HashSet::new(),
            flushes: 0,
        };
        if !replayed.generations.is_empty() {
            let path = path_of(dir, writer.generation);
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| OpenError::Read {
                    path: path.clone(),
                    source,
                })?;
            // The torn entry is cut off now, not at the next append: a
            // compaction may start a newer generation first, and a torn
            // entry must only ever be found at the very end of the journal.
            if writer.torn {
                file.set_len(writer.len)
                    .and_then(|()| file.sync_data())
                    .map_err(|source| OpenError::Read { path, source })?;
                writer.torn = false;
            }
            writer.file = Some(file);
        }
        Ok(writer)
    }

    /// Appends `bytes` (whole entries) and flushes them to disk.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let path = path_of(&self.dir, self.generation);
        let failed = |source| WriteError {
            path: path.clone(),
            source,
        };
        let file = match self.file.take() {
            Some(file) => file,
            None => {
                // Entries hold password hashes: readable by the owner only,
                // as the Flask files this store writes.
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(failed)?;
                // The new file's name must survive a power loss too.
                sync_dir(&self.dir)?;
                file
            }
        };
        let file = &*self.file.insert(file);
        if self.torn {
            file.set_len(self.len).map_err(failed)?;
            self.torn = false;
        }
        let written = file
            .write_all_at(bytes, self.len)
            .and_then(|()| file.sync_data());
        if let Err(source) = written {
            self.torn = true;
            return Err(failed(source));
        }
        self.len += bytes.len() as u64;
        self.progress.add(bytes.len() as u64);
        self.flushes += 1;
        Ok(())
    }

    /// Starts a new generation for later appends; the generations up to
    /// the returned one are covered once the state they led to is in the
    /// Flask files. Call only when every applied change is durable.
    pub(crate) fn rotate(&mut self) -> u64 {
        let covered = self.generation;
        if self.file.take().is_some() {
            self.generation += 1;
        }
        self.len = 0;
        self.torn = false;
        self.progress.reset();
        covered
    }

    /// Deletes the generations up to `covered` (the Flask files hold their
    /// changes) and flushes the directory.
    pub(crate) fn remove_through(&self, covered: u64) -> Result<(), WriteError> {
        let generations = generations(&self.dir).map_err(|e| WriteError {
            path: self.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        for n in generations.into_iter().filter(|n| *n <= covered) {
            if n == self.generation && self.file.is_some() {
                continue;
            }
            let path = path_of(&self.dir, n);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(WriteError { path, source }),
            }
        }
        sync_dir(&self.dir)
    }
}

/// CRC-32 (IEEE), enough to tell a torn or damaged entry from a whole one.
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
