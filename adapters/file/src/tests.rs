//! The file format, start-up checks, locking, durability and write
//! coalescing of [`FileStore`]. The port semantics themselves are covered
//! by the shared storage contract suite in `tests/`.

use chrono::{DateTime, TimeZone, Utc};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

use domain::{
    Email, Password, PasswordHash, RepositoryError, Session, SessionId, SessionKey,
    SessionRepository, User, UserId, UserRepository,
};

use super::*;

const ALICE_ID: &str = "1f0e9a8e-2c4b-4d6a-9f0e-3b2a1c4d5e6f";
const BOB_ID: &str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const SESSION_RECORD_ID: &str = "0b5e3a1c-9d8f-4e7a-b6c5-d4e3f2a1b0c9";
const RAW_TOKEN: &str = "5d2f8e4a-1b3c-4d5e-8f6a-7b8c9d0e1f2a";
/// sha256("hello"), as the Flask API stored it.
const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn flask_user_file() -> String {
    format!(
        r#"{{"{ALICE_ID}": {{"id": "{ALICE_ID}", "created_at": "2023-04-01T10:20:30", "updated_at": "2023-04-02T11:21:31", "email": "alice@example.com", "_password": "{HELLO_SHA256}", "first_name": null, "last_name": "Liddell"}}, "{BOB_ID}": {{"id": "{BOB_ID}", "created_at": "2023-05-01T00:00:00", "updated_at": "2023-05-01T00:00:00", "email": "bob@example.com", "_password": null, "first_name": "Bob"}}}}"#
    )
}

fn flask_session_file() -> String {
    format!(
        r#"{{"{SESSION_RECORD_ID}": {{"id": "{SESSION_RECORD_ID}", "created_at": "2023-06-01T08:00:00", "updated_at": "2023-06-01T08:00:00", "user_id": "{ALICE_ID}", "session_id": "{RAW_TOKEN}"}}}}"#
    )
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, day, 12, 0, 0).unwrap()
}

fn user(email: &str) -> User {
    User {
        id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::legacy_sha256_of(&Password::parse("pw").unwrap()),
        first_name: Some("First".into()),
        last_name: None,
        created_at: at(1),
        updated_at: at(2),
        is_admin: false,
    }
}

fn session_of(user_id: UserId, token: &str) -> Session {
    Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(token),
        user_id,
        created_at: at(3),
        updated_at: at(3),
        last_used_at: at(4),
        client_address: Some("192.0.2.7".into()),
        user_agent: Some("Mozilla/5.0 (ünïcode)".into()),
    }
}

fn write(dir: &TempDir, name: &str, content: &str) {
    fs::write(dir.path().join(name), content).unwrap();
}

fn read_json(dir: &TempDir, name: &str) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.path().join(name)).unwrap()).unwrap()
}

/// The server's default compaction thresholds, written out: no check
/// here reaches them but those that give their own.
const SETTINGS: JournalSettings = JournalSettings {
    compact_bytes: 16 * 1024 * 1024,
    compact_age: Duration::from_secs(600),
};

async fn open(dir: &Path) -> Result<FileStore, OpenError> {
    FileStore::open_with(dir, SETTINGS).await
}

/// Opens `dir` again after its store was dropped: a dropped store's
/// background work (a compaction it had started) keeps the directory until
/// it ends, so a lock still held is waited for, up to 5 s.
async fn reopen(dir: &Path) -> FileStore {
    for _ in 0..100 {
        match open(dir).await {
            Err(OpenError::Locked { .. }) => tokio::time::sleep(Duration::from_millis(50)).await,
            other => return other.unwrap(),
        }
    }
    panic!(
        "{} stayed locked after its store was dropped",
        dir.display()
    )
}

async fn open_err(dir: &TempDir) -> OpenError {
    match open(dir.path()).await {
        Ok(_) => panic!("opening {} should have failed", dir.path().display()),
        Err(e) => e,
    }
}

#[tokio::test]
async fn flask_user_file_loads_and_its_user_is_found_by_email() {
    let dir = TempDir::new().unwrap();
    write(&dir, USER_FILE, &flask_user_file());
    let store = open(dir.path()).await.unwrap();

    let email = Email::parse("alice@example.com").unwrap();
    let alice = store.find_by_email(&email).await.unwrap().unwrap();
    assert_eq!(alice.id.to_string(), ALICE_ID);
    assert_eq!(alice.first_name, None);
    assert_eq!(alice.last_name.as_deref(), Some("Liddell"));
    assert_eq!(
        alice.created_at,
        Utc.with_ymd_and_hms(2023, 4, 1, 10, 20, 30).unwrap()
    );
    assert_eq!(
        alice
            .password_hash
            .verify_legacy(&Password::parse("hello").unwrap()),
        Some(true)
    );

    let bob = store
        .get(&UserId::parse(BOB_ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.password_hash, PasswordHash::Unusable);
    assert_eq!(bob.last_name, None, "a missing last_name key is null");
    let ids: Vec<String> = store
        .list()
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.to_string())
        .collect();
    assert_eq!(ids, [ALICE_ID, BOB_ID], "file order is kept");
}

#[tokio::test]
async fn record_without_an_id_field_takes_its_key_and_fractional_seconds_are_dropped() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        USER_FILE,
        &format!(
            r#"{{"{ALICE_ID}": {{"created_at": "2023-04-01T10:20:30.123456", "updated_at": "2023-04-01T10:20:30", "email": "a@b.c", "_password": null}}}}"#
        ),
    );
    let store = open(dir.path()).await.unwrap();
    let alice = store
        .get(&UserId::parse(ALICE_ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.created_at, alice.updated_at);
}

#[tokio::test]
async fn legacy_raw_session_token_resolves_by_its_digest_and_is_written_back_as_the_digest() {
    let dir = TempDir::new().unwrap();
    write(&dir, USER_FILE, &flask_user_file());
    write(&dir, SESSION_FILE, &flask_session_file());
    let store = open(dir.path()).await.unwrap();

    let key = SessionKey::digest_of(RAW_TOKEN);
    let session = store.find(&key).await.unwrap().unwrap();
    assert_eq!(session.id.to_string(), SESSION_RECORD_ID);
    assert_eq!(session.user_id.to_string(), ALICE_ID);
    // Flask records carry no activity fields: last use is the login.
    assert_eq!(session.last_used_at, session.created_at);
    assert_eq!(
        (
            session.client_address.as_deref(),
            session.user_agent.as_deref()
        ),
        (None, None)
    );

    // A change to the users alone also rewrites the sessions file, so the
    // live tokens leave the disk at the first compaction (due at once).
    UserRepository::insert(&store, &user("carol@example.com"))
        .await
        .unwrap();
    store.compact().await.unwrap();
    let written = fs::read_to_string(dir.path().join(SESSION_FILE)).unwrap();
    assert!(!written.contains(RAW_TOKEN), "raw token still on disk");
    assert_eq!(
        read_json(&dir, SESSION_FILE)[SESSION_RECORD_ID]["session_id"],
        key.as_str()
    );
    drop(store);

    let reopened = reopen(dir.path()).await;
    assert_eq!(reopened.find(&key).await.unwrap(), Some(session));
}

#[tokio::test]
async fn truncated_user_file_stops_the_start_and_is_left_untouched() {
    let dir = TempDir::new().unwrap();
    let full = flask_user_file();
    let truncated = &full[..full.len() / 2];
    write(&dir, USER_FILE, truncated);

    let err = open_err(&dir).await;
    let message = err.to_string();
    assert!(matches!(err, OpenError::Syntax { line: 1, .. }), "{err:?}");
    assert!(message.contains(".db_User.json"), "{message}");
    assert!(message.contains("line 1, column"), "{message}");
    assert_eq!(
        fs::read(dir.path().join(USER_FILE)).unwrap(),
        truncated.as_bytes()
    );
}

#[tokio::test]
async fn syntax_error_reports_the_line_and_column_where_it_is() {
    let dir = TempDir::new().unwrap();
    write(&dir, SESSION_FILE, "{\n  \"a\": {},\n  oops\n}");
    let err = open_err(&dir).await;
    assert!(
        matches!(
            err,
            OpenError::Syntax {
                line: 3,
                column: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(".db_UserSession.json"));
}

#[tokio::test]
async fn file_that_is_not_an_object_stops_the_start() {
    let dir = TempDir::new().unwrap();
    write(&dir, USER_FILE, "[]");
    assert!(matches!(
        open_err(&dir).await,
        OpenError::NotAnObject { .. }
    ));
}

/// The start-up error for a users file holding `record` under `key`, after
/// checking that it names the file and the record.
async fn bad_user_record_message(key: &str, record: &str) -> String {
    let dir = TempDir::new().unwrap();
    write(&dir, USER_FILE, &format!(r#"{{"{key}": {record}}}"#));
    let err = open_err(&dir).await;
    assert!(matches!(err, OpenError::BadRecord { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(".db_User.json"), "{message}");
    assert!(message.contains(&format!("record \"{key}\"")), "{message}");
    message
}

#[tokio::test]
async fn user_record_with_a_non_uuid_id_stops_the_start_naming_the_record() {
    let message = bad_user_record_message(
        "the-key",
        r#"{"id": "the-key", "created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "email": "a@b.c", "_password": null}"#,
    )
    .await;
    assert!(message.contains("not a UUID"), "{message}");
}

#[tokio::test]
async fn user_record_with_a_bad_timestamp_stops_the_start_naming_the_field() {
    let message = bad_user_record_message(
        ALICE_ID,
        r#"{"created_at": "01/02/2023", "updated_at": "2023-01-01T00:00:00", "email": "a@b.c", "_password": null}"#,
    )
    .await;
    assert!(message.contains("created_at"), "{message}");
}

#[tokio::test]
async fn user_record_without_an_email_stops_the_start() {
    let message = bad_user_record_message(
        ALICE_ID,
        r#"{"created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "email": "", "_password": null}"#,
    )
    .await;
    assert!(message.contains("empty email"), "{message}");
    let message = bad_user_record_message(
        ALICE_ID,
        r#"{"created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "_password": null}"#,
    )
    .await;
    assert!(message.contains("no email"), "{message}");
}

#[tokio::test]
async fn user_record_with_an_unrecognised_password_stops_the_start_without_quoting_it() {
    let message = bad_user_record_message(
        ALICE_ID,
        r#"{"created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "email": "a@b.c", "_password": "plaintext-secret"}"#,
    )
    .await;
    assert!(message.contains("_password"), "{message}");
    assert!(!message.contains("plaintext-secret"), "{message}");
}

#[tokio::test]
async fn record_whose_id_differs_from_its_key_stops_the_start() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        USER_FILE,
        &format!(
            r#"{{"{ALICE_ID}": {{"id": "{BOB_ID}", "created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "email": "a@b.c", "_password": null}}}}"#
        ),
    );
    let message = open_err(&dir).await.to_string();
    assert!(message.contains(ALICE_ID), "{message}");
    assert!(message.contains("differs from its key"), "{message}");
}

#[tokio::test]
async fn session_record_without_a_token_stops_the_start_naming_the_record() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        SESSION_FILE,
        &format!(
            r#"{{"{SESSION_RECORD_ID}": {{"created_at": "2023-01-01T00:00:00", "updated_at": "2023-01-01T00:00:00", "user_id": "{ALICE_ID}", "session_id": null}}}}"#
        ),
    );
    let message = open_err(&dir).await.to_string();
    assert!(message.contains(".db_UserSession.json"), "{message}");
    assert!(message.contains(SESSION_RECORD_ID), "{message}");
    assert!(message.contains("session_id"), "{message}");
}

#[tokio::test]
async fn second_open_fails_while_the_first_store_lives_and_succeeds_after_it_is_dropped() {
    let dir = TempDir::new().unwrap();
    let first = open(dir.path()).await.unwrap();

    let err = open_err(&dir).await;
    assert!(matches!(err, OpenError::Locked { .. }), "{err:?}");
    let expected = format!(
        "another session-auth process is using {} (lock file {} is held); \
         stop it or choose another DATA_DIR",
        dir.path().display(),
        dir.path().join(LOCK_FILE).display()
    );
    assert_eq!(err.to_string(), expected);

    drop(first);
    open(dir.path()).await.unwrap();
}

#[tokio::test]
async fn missing_directory_is_created_and_files_wait_for_the_first_write() {
    let parent = TempDir::new().unwrap();
    let dir = parent.path().join("nested").join("data");
    let store = open(&dir).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(!dir.join(USER_FILE).exists());
    assert!(!dir.join(SESSION_FILE).exists());

    UserRepository::insert(&store, &user("a@example.com"))
        .await
        .unwrap();
    store.compact().await.unwrap();
    assert!(dir.join(USER_FILE).exists());
    assert!(
        !dir.join(SESSION_FILE).exists(),
        "a user change writes only the users file"
    );
    assert_eq!(store.writes_performed(), 1);
}

#[tokio::test]
async fn written_files_have_the_flask_structure() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let alice = user("alice@example.com");
    let session = session_of(alice.id, "token");
    UserRepository::insert(&store, &alice).await.unwrap();
    SessionRepository::insert(&store, &session).await.unwrap();
    store.compact().await.unwrap();

    let users = read_json(&dir, USER_FILE);
    let record = &users[alice.id.to_string()];
    let keys: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "created_at",
            "updated_at",
            "email",
            "_password",
            "first_name",
            "last_name"
        ]
    );
    assert_eq!(record["id"], alice.id.to_string());
    assert_eq!(record["created_at"], "2024-01-01T12:00:00");
    assert_eq!(
        record["_password"],
        alice.password_hash.as_stored().unwrap()
    );
    assert_eq!(record["last_name"], serde_json::Value::Null);

    let sessions = read_json(&dir, SESSION_FILE);
    let record = &sessions[session.id.to_string()];
    assert_eq!(record["user_id"], alice.id.to_string());
    assert_eq!(record["session_id"], session.key.as_str());
    assert_eq!(record["updated_at"], "2024-01-03T12:00:00");
}

#[tokio::test]
async fn written_files_reload_into_equal_data() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let mut users = Vec::new();
    for (i, hash) in [
        PasswordHash::parse("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA").unwrap(),
        PasswordHash::parse(HELLO_SHA256).unwrap(),
        PasswordHash::Unusable,
    ]
    .into_iter()
    .enumerate()
    {
        let mut u = user(&format!("user{i}@example.com"));
        u.password_hash = hash;
        u.last_name = Some(format!("Name \"{i}\" ünïcode"));
        UserRepository::insert(&store, &u).await.unwrap();
        users.push(u);
    }
    let sessions: Vec<Session> = users
        .iter()
        .map(|u| session_of(u.id, &u.email.to_string()))
        .collect();
    for s in &sessions {
        SessionRepository::insert(&store, s).await.unwrap();
    }
    drop(store);

    let reopened = open(dir.path()).await.unwrap();
    assert_eq!(reopened.list().await.unwrap(), users);
    for s in &sessions {
        assert_eq!(reopened.find(&s.key).await.unwrap().as_ref(), Some(s));
    }
}

#[tokio::test]
async fn no_temporary_files_remain_after_writes() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let alice = user("alice@example.com");
    UserRepository::insert(&store, &alice).await.unwrap();
    SessionRepository::insert(&store, &session_of(alice.id, "t"))
        .await
        .unwrap();
    UserRepository::delete(&store, &alice.id).await.unwrap();
    store.close().await.unwrap();

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [USER_FILE, SESSION_FILE, LOCK_FILE]);
}

#[tokio::test]
async fn changes_that_change_nothing_write_nothing() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let alice = user("alice@example.com");
    UserRepository::insert(&store, &alice).await.unwrap();
    assert_eq!(store.journal_flushes(), 1);

    assert!(matches!(
        UserRepository::insert(&store, &user("alice@example.com")).await,
        Err(RepositoryError::DuplicateEmail)
    ));
    assert!(
        !UserRepository::delete(&store, &UserId::generate())
            .await
            .unwrap()
    );
    assert!(
        !UserRepository::update(&store, &user("x@example.com"))
            .await
            .unwrap()
    );
    assert!(UserRepository::update(&store, &alice).await.unwrap());
    assert!(
        !SessionRepository::delete(&store, &SessionKey::digest_of("absent"))
            .await
            .unwrap()
    );
    assert_eq!(store.delete_by_user(&alice.id, None).await.unwrap(), 0);
    assert_eq!(store.delete_expired(Some(at(28)), None).await.unwrap(), 0);

    assert_eq!(store.journal_flushes(), 1);
    assert!(!dir.path().join(SESSION_FILE).exists());
}

#[tokio::test]
async fn deleting_a_user_with_sessions_writes_both_files_and_without_only_one() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    UserRepository::insert(&store, &alice).await.unwrap();
    UserRepository::insert(&store, &bob).await.unwrap();
    SessionRepository::insert(&store, &session_of(alice.id, "t"))
        .await
        .unwrap();
    store.compact().await.unwrap();
    let before = store.writes_performed();

    assert!(UserRepository::delete(&store, &alice.id).await.unwrap());
    store.compact().await.unwrap();
    assert_eq!(store.writes_performed(), before + 2);
    assert_eq!(read_json(&dir, SESSION_FILE), serde_json::json!({}));

    assert!(UserRepository::delete(&store, &bob.id).await.unwrap());
    store.compact().await.unwrap();
    assert_eq!(store.writes_performed(), before + 3);
}

#[tokio::test]
async fn concurrent_session_inserts_share_journal_flushes() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(open(dir.path()).await.unwrap());
    let owner = UserId::generate();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            SessionRepository::insert(&*store, &session_of(owner, &format!("token-{i}"))).await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    let writes = store.journal_flushes();
    assert!(writes < 10, "50 inserts took {writes} journal flushes");
    store.compact().await.unwrap();
    let on_disk = read_json(&dir, SESSION_FILE);
    assert_eq!(on_disk.as_object().unwrap().len(), 50);
    for i in 0..50 {
        let key = SessionKey::digest_of(&format!("token-{i}"));
        assert!(store.find(&key).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn failed_write_reports_unexpected_and_leaves_the_change_undone() {
    let parent = TempDir::new().unwrap();
    let dir = parent.path().join("data");
    let store = open(&dir).await.unwrap();
    // The directory vanishing under the store makes every write fail.
    fs::remove_dir_all(&dir).unwrap();

    let alice = user("alice@example.com");
    let failed = UserRepository::insert(&store, &alice).await;
    assert!(
        matches!(failed, Err(RepositoryError::Unexpected(_))),
        "{failed:?}"
    );
    assert_eq!(store.get(&alice.id).await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 0);

    fs::create_dir(&dir).unwrap();
    let bob = user("bob@example.com");
    UserRepository::insert(&store, &bob).await.unwrap();
    drop(store);

    let reopened = open(&dir).await.unwrap();
    assert_eq!(reopened.list().await.unwrap(), [bob]);
}

// ------------------------------------------------------------- the journal

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn journal_paths(dir: &Path) -> Vec<PathBuf> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(JOURNAL_PREFIX))
        .map(|n| dir.join(n))
        .collect()
}

/// A store with two users and a session of alice's, dropped without
/// closing: what a crash leaves.
async fn crashed_store(dir: &Path) -> (User, User, Session) {
    let store = open(dir).await.unwrap();
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    let session = session_of(alice.id, "t");
    UserRepository::insert(&store, &alice).await.unwrap();
    UserRepository::insert(&store, &bob).await.unwrap();
    SessionRepository::insert(&store, &session).await.unwrap();
    drop(store);
    (alice, bob, session)
}

#[tokio::test]
async fn a_change_is_journaled_not_written_to_the_flask_files_until_compaction() {
    let dir = TempDir::new().unwrap();
    let (alice, bob, session) = crashed_store(dir.path()).await;
    assert!(!dir.path().join(USER_FILE).exists());
    assert_eq!(journal_paths(dir.path()).len(), 1);

    let reopened = open(dir.path()).await.unwrap();
    assert_eq!(reopened.list().await.unwrap(), [alice, bob]);
    assert_eq!(
        reopened.find(&session.key).await.unwrap().as_ref(),
        Some(&session)
    );
}

#[tokio::test]
async fn close_leaves_only_the_flask_files_and_they_hold_everything() {
    let dir = TempDir::new().unwrap();
    let (alice, bob, session) = crashed_store(dir.path()).await;
    let store = open(dir.path()).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    assert_eq!(names_in(dir.path()), [USER_FILE, SESSION_FILE, LOCK_FILE]);

    let users = read_json(&dir, USER_FILE);
    assert_eq!(users.as_object().unwrap().len(), 2);
    assert_eq!(users[alice.id.to_string()]["email"], "alice@example.com");
    assert_eq!(users[bob.id.to_string()]["email"], "bob@example.com");
    let sessions = read_json(&dir, SESSION_FILE);
    assert_eq!(
        sessions[session.id.to_string()]["session_id"],
        session.key.as_str()
    );
}

#[tokio::test]
async fn a_torn_last_entry_is_dropped_and_appending_continues_after_the_last_whole_one() {
    let dir = TempDir::new().unwrap();
    let (alice, bob, session) = crashed_store(dir.path()).await;
    let journal = journal_paths(dir.path()).remove(0);
    let whole = fs::read(&journal).unwrap();
    // The crash came while a fourth entry was being appended.
    let mut torn = whole.clone();
    torn.extend_from_slice(b"0badc0de [{\"delete_user\": \"");
    fs::write(&journal, &torn).unwrap();

    let store = open(dir.path()).await.unwrap();
    assert_eq!(
        fs::read(&journal).unwrap(),
        whole,
        "the torn entry is cut off at open"
    );
    assert_eq!(store.list().await.unwrap(), [alice.clone(), bob.clone()]);
    assert!(store.find(&session.key).await.unwrap().is_some());
    assert!(UserRepository::delete(&store, &bob.id).await.unwrap());
    drop(store);
    assert!(
        fs::read(&journal).unwrap().starts_with(&whole),
        "the torn bytes were cut off, the whole entries kept"
    );

    let reopened = open(dir.path()).await.unwrap();
    assert_eq!(reopened.list().await.unwrap(), [alice]);
}

#[tokio::test]
async fn a_last_entry_failing_its_checksum_is_dropped_too() {
    let dir = TempDir::new().unwrap();
    let (alice, bob, session) = crashed_store(dir.path()).await;
    let journal = journal_paths(dir.path()).remove(0);
    let mut bytes = fs::read(&journal).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    fs::write(&journal, &bytes).unwrap();

    let store = open(dir.path()).await.unwrap();
    assert_eq!(store.list().await.unwrap(), [alice, bob]);
    assert_eq!(store.find(&session.key).await.unwrap(), None);
}

#[tokio::test]
async fn a_damaged_entry_before_the_last_stops_the_start_naming_the_journal_and_line() {
    let dir = TempDir::new().unwrap();
    crashed_store(dir.path()).await;
    let journal = journal_paths(dir.path()).remove(0);
    let mut bytes = fs::read(&journal).unwrap();
    bytes[20] ^= 0x20;
    fs::write(&journal, &bytes).unwrap();

    let message = open_err(&dir).await.to_string();
    assert!(message.contains(JOURNAL_PREFIX), "{message}");
    assert!(message.contains("line 1"), "{message}");
    assert_eq!(fs::read(&journal).unwrap(), bytes, "left untouched");
}

#[tokio::test]
async fn replaying_a_journal_the_files_already_hold_changes_nothing() {
    // A crash after a compaction rewrote the files but before it deleted
    // the journal: the next start replays changes the files hold.
    let dir = TempDir::new().unwrap();
    let store = open(dir.path()).await.unwrap();
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    UserRepository::insert(&store, &alice).await.unwrap();
    UserRepository::insert(&store, &bob).await.unwrap();
    let mut renamed = alice.clone();
    renamed.email = Email::parse("alice@new.example").unwrap();
    UserRepository::update(&store, &renamed).await.unwrap();
    let carol = user("alice@example.com");
    UserRepository::insert(&store, &carol).await.unwrap();
    let session = session_of(carol.id, "c");
    SessionRepository::insert(&store, &session).await.unwrap();
    SessionRepository::touch(&store, &session.key, at(9))
        .await
        .unwrap();
    UserRepository::delete(&store, &bob.id).await.unwrap();
    let journal: Vec<(PathBuf, Vec<u8>)> = journal_paths(dir.path())
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let expected = store.list().await.unwrap();
    store.close().await.unwrap();
    drop(store);
    for (path, bytes) in journal {
        fs::write(path, bytes).unwrap();
    }

    let reopened = open(dir.path()).await.unwrap();
    assert_eq!(reopened.list().await.unwrap(), expected);
    assert_eq!(expected, [renamed.clone(), carol.clone()]);
    let email = Email::parse("alice@example.com").unwrap();
    assert_eq!(
        reopened.find_by_email(&email).await.unwrap().map(|u| u.id),
        Some(carol.id)
    );
    let found = reopened.find(&session.key).await.unwrap().unwrap();
    assert_eq!(found.last_used_at, at(9));
}

#[tokio::test]
async fn temporary_files_of_an_interrupted_compaction_are_removed_at_start_and_no_others() {
    let dir = TempDir::new().unwrap();
    write(&dir, ".db_User.json.a1B2c3.tmp", "{\"half");
    write(&dir, ".db_UserSession.json.Zz9yY8.tmp", "");
    write(&dir, "notes.tmp", "mine");
    write(&dir, ".db_User.json.bak", "mine");
    let _store = open(dir.path()).await.unwrap();
    assert_eq!(
        names_in(dir.path()),
        [".db_User.json.bak", LOCK_FILE, "notes.tmp"]
    );
}

#[tokio::test]
async fn the_journal_is_compacted_in_the_background_once_past_its_size() {
    let dir = TempDir::new().unwrap();
    let settings = JournalSettings {
        compact_bytes: 2_000,
        compact_age: Duration::from_secs(3600),
    };
    let store = FileStore::open_with(dir.path(), settings).await.unwrap();
    let owner = user("owner@example.com");
    UserRepository::insert(&store, &owner).await.unwrap();
    for i in 0..20 {
        SessionRepository::insert(&store, &session_of(owner.id, &format!("t{i}")))
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.writes_performed() < 2 {
        assert!(std::time::Instant::now() < deadline, "no compaction came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sessions = read_json(&dir, SESSION_FILE);
    assert_eq!(sessions.as_object().unwrap().len(), 20);
    let journal_bytes: u64 = journal_paths(dir.path())
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        journal_bytes < 2_000,
        "{journal_bytes} bytes of journal left"
    );
}

#[tokio::test]
async fn the_journal_is_compacted_in_the_background_once_past_its_age() {
    let dir = TempDir::new().unwrap();
    let settings = JournalSettings {
        compact_bytes: u64::MAX,
        compact_age: Duration::from_millis(100),
    };
    let store = FileStore::open_with(dir.path(), settings).await.unwrap();
    UserRepository::insert(&store, &user("a@example.com"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !journal_paths(dir.path()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no compaction came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(read_json(&dir, USER_FILE).as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_repeated_in_a_file_keeps_its_first_place_and_its_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (UserId::generate(), UserId::generate());
    let record = |id: &UserId, email: &str| {
        format!(
            r#""{id}": {{"id": "{id}", "email": "{email}", "_password": null,
               "created_at": "2024-01-01T00:00:00", "updated_at": "2024-01-01T00:00:00"}}"#
        )
    };
    std::fs::write(
        dir.path().join(USER_FILE),
        format!(
            "{{{}, {}, {}}}",
            record(&a, "first@x"),
            record(&b, "b@x"),
            record(&a, "last@x")
        ),
    )
    .unwrap();
    let store = open(dir.path()).await.unwrap();
    let listed: Vec<String> = UserRepository::list(&store)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email.to_string())
        .collect();
    assert_eq!(listed, ["last@x", "b@x"]);
}

/// Only an administrator's record carries `"is_admin": true`, after the
/// Flask keys; the journal carries it too, so a restart before any
/// compaction keeps it; a record without the key (the Flask API's) is no
/// administrator; `is_admin` of another type stops the start.
#[tokio::test]
async fn the_admin_flag_is_an_extra_key_written_only_when_true() {
    let dir = TempDir::new().unwrap();
    write(&dir, USER_FILE, &flask_user_file());
    let alice = UserId::parse(ALICE_ID).unwrap();
    {
        let store = open(dir.path()).await.unwrap();
        assert!(!store.get(&alice).await.unwrap().unwrap().is_admin);
        store.set_admin(&alice, true, at(5)).await.unwrap();
        // Dropped without a clean shutdown: the change is in the journal only.
    }
    let store = open(dir.path()).await.unwrap();
    assert!(store.get(&alice).await.unwrap().unwrap().is_admin);
    store.close().await.unwrap();
    drop(store);
    let text = fs::read_to_string(dir.path().join(USER_FILE)).unwrap();
    let users = read_json(&dir, USER_FILE);
    assert_eq!(users[ALICE_ID]["is_admin"], serde_json::json!(true));
    assert!(
        users[BOB_ID].get("is_admin").is_none(),
        "no key for a user who is not an administrator: {text}"
    );
    let keys: Vec<&String> = users[ALICE_ID].as_object().unwrap().keys().collect();
    assert_eq!(
        keys.last().map(|k| k.as_str()),
        Some("is_admin"),
        "{keys:?}"
    );

    let message = bad_user_record_message(
        ALICE_ID,
        r#"{"email": "a@x.io", "created_at": "2023-04-01T10:20:30", "updated_at": "2023-04-01T10:20:30", "is_admin": "yes"}"#,
    )
    .await;
    assert!(message.contains("is_admin"), "{message}");
}
