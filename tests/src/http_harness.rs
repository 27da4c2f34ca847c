//! A harness for black-box tests of the HTTP service: the real endpoint
//! (`session_auth::http_endpoint`) over real storage, Argon2id at the least
//! cost ([`QuickHasher`]) and real session tokens, driven in process
//! without a socket.
//!
//! Only time is faked: [`FakeClock`] starts at [`START`] and moves when a
//! test says so, which makes session expiry and timestamps exact.
//!
//! ```ignore
//! let service = Service::builder(Backend::File).auth_type("session_db_auth").start().await;
//! let alice = service.create_user("alice@example.com", "pw").await;
//! let cookie = service.login(&alice).await;
//! service.get("/api/v1/users/me").cookie(&cookie).send().await.assert(200, alice_json);
//! ```
//!
//! [`http_tests!`](crate::http_tests) turns one test body into one
//! `#[tokio::test]` per storage backend.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use poem::http::{HeaderMap, Method, StatusCode};
use poem::{Endpoint, Request};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tempfile::TempDir;

use adapter_audit::TracingAudit;
use adapter_crypto::OsTokenGenerator;
use adapter_file::{FileStore, JournalSettings, OpenError};
use adapter_http::ServiceEndpoint;
use adapter_memory::MemoryStore;
use domain::{Actor, UseCases};
use session_auth::{Infrastructure, Settings, Storage};

use crate::quick_hasher::QuickHasher;
use crate::sql_database::TestDatabase;
use domain::{AuthType, Clock, NewUser};

/// Every `AUTH_TYPE`, `none` included.
pub const AUTH_TYPES: [&str; 6] = AuthType::NAMES;

/// The `AUTH_TYPE`s that guard the API (every one but `none`).
pub const GUARDED: [&str; 5] = [
    "auth",
    "basic_auth",
    "session_auth",
    "session_exp_auth",
    "session_db_auth",
];

/// The `AUTH_TYPE`s under which a request can reach a guarded route:
/// `none` (no gate) and the policies that resolve a user.
pub const REACHABLE: [&str; 5] = [
    "none",
    "basic_auth",
    "session_auth",
    "session_exp_auth",
    "session_db_auth",
];

/// The `AUTH_TYPE`s that identify the user by the session cookie.
pub const SESSION_TYPES: [&str; 3] = ["session_auth", "session_exp_auth", "session_db_auth"];

/// The `AUTH_TYPE`s whose sessions expire after `SESSION_DURATION`.
pub const EXPIRING: [&str; 2] = ["session_exp_auth", "session_db_auth"];

/// The default `SESSION_NAME` of the tests (the Flask project's).
pub const DEFAULT_SESSION_NAME: &str = "_my_session_id";

/// The default `SESSION_DURATION` of the tests, seconds.
pub const DEFAULT_SESSION_DURATION: i64 = 3600;

/// Where every [`FakeClock`] starts: 2024-05-01T12:00:00Z.
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// [`start_instant`] as the API shows timestamps.
pub const START: &str = "2024-05-01T12:00:00";

/// Which storage adapter serves the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `adapter_memory::MemoryStore`.
    Memory,
    /// `adapter_file::FileStore` in a fresh temporary directory.
    File,
    /// `adapter_seaorm::SqlStore` on a fresh SQLite database.
    Sqlite,
    /// `adapter_seaorm::SqlStore` on a fresh PostgreSQL database of the
    /// server named by `TEST_DATABASE_URL`.
    Postgres,
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock forward by `seconds` (backward when negative).
    pub fn advance(&self, seconds: i64) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += Duration::seconds(seconds);
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses an `AUTH_TYPE` name, panicking on a typo in a test.
pub fn auth_type(name: &str) -> AuthType {
    name.parse()
        .unwrap_or_else(|e| panic!("bad AUTH_TYPE in a test: {e}"))
}

/// How a [`Service`] is configured before it starts.
pub struct ServiceBuilder {
    backend: Backend,
    settings: Settings,
    dir: Option<TempDir>,
    mail: Option<session_auth::MailSetup>,
}

impl ServiceBuilder {
    /// `AUTH_TYPE` (default `session_db_auth`, the service's default).
    pub fn auth_type(mut self, name: &str) -> Self {
        self.settings.auth_type = auth_type(name);
        self
    }

    /// `SESSION_NAME` (default [`DEFAULT_SESSION_NAME`]).
    pub fn session_name(mut self, name: &str) -> Self {
        self.settings.session_name = name.to_owned();
        self
    }

    /// `SESSION_DURATION` in seconds (default [`DEFAULT_SESSION_DURATION`]).
    pub fn session_duration(mut self, seconds: i64) -> Self {
        self.settings.session_duration = seconds;
        self
    }

    /// Any other setting (idle timeout, throttle, password rules, body
    /// limit…), changed in place.
    pub fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(&mut self.settings);
        self
    }

    /// Mail and password reset (default: off, as `MAIL_TRANSPORT=off`).
    pub fn mail(mut self, mail: session_auth::MailSetup) -> Self {
        self.mail = Some(mail);
        self
    }

    /// `COOKIE_SECURE` (default false).
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.settings.cookie_secure = secure;
        self
    }

    /// The data directory of the file backend (default: a fresh, empty
    /// temporary directory). Lets a test put Flask files there first.
    pub fn data_dir(mut self, dir: TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Opens the storage and builds the endpoint.
    pub async fn start(self) -> Service {
        let clock = Arc::new(FakeClock::new(start_instant()));
        let infra = Infrastructure {
            hasher: Arc::new(QuickHasher::new()),
            clock: clock.clone(),
            tokens: Arc::new(OsTokenGenerator),
            audit: Arc::new(TracingAudit),
            mail: self.mail,
        };
        let dir = match self.backend {
            Backend::File => Some(match self.dir {
                Some(dir) => dir,
                None => temp_dir(),
            }),
            Backend::Memory | Backend::Sqlite | Backend::Postgres => None,
        };
        let database = match self.backend {
            Backend::Sqlite => Some(TestDatabase::sqlite()),
            Backend::Postgres => Some(TestDatabase::postgres().await),
            Backend::Memory | Backend::File => None,
        };
        let storage = open_storage(
            self.backend,
            dir.as_ref().map(TempDir::path),
            database.as_ref(),
        )
        .await;
        let running = Running::new(&self.settings, storage, &infra);
        Service {
            backend: self.backend,
            settings: self.settings,
            clock,
            infra,
            dir,
            database,
            running: Some(running),
        }
    }
}

/// A fresh temporary directory.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

/// The server's default compaction thresholds, written out.
const SERVER_JOURNAL: JournalSettings = JournalSettings {
    compact_bytes: 16 * 1024 * 1024,
    compact_age: std::time::Duration::from_secs(600),
};

async fn open_storage(
    backend: Backend,
    dir: Option<&Path>,
    database: Option<&TestDatabase>,
) -> Storage {
    match (backend, dir, database) {
        (Backend::File, Some(dir), _) => Storage::file(open_file_store(dir).await),
        (Backend::Sqlite | Backend::Postgres, _, Some(database)) => {
            Storage::sql(database.cached_store(SESSION_CACHE).await)
        }
        _ => Storage::of(MemoryStore::new()),
    }
}

/// Opens the file store of `dir`. A store just dropped by a restart may
/// hold the directory's lock a little longer, until its last background
/// write ends (as a stopping process holds it until it exits): that is
/// waited for, up to 10 s.
async fn open_file_store(dir: &Path) -> FileStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match FileStore::open_with(dir, SERVER_JOURNAL).await {
            Ok(store) => return store,
            Err(OpenError::Locked { .. }) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the file storage did not open: {e}"),
        }
    }
}

/// The session cache of a service on PostgreSQL, as the server keeps one
/// (SQLite keeps none).
const SESSION_CACHE: usize = 10_000;

struct Running {
    endpoint: ServiceEndpoint,
    storage: Storage,
    use_cases: UseCases,
}

impl Running {
    /// What `session_auth::http_endpoint` builds, keeping a handle on the use cases
    /// the endpoint runs.
    fn new(settings: &Settings, storage: Storage, infra: &Infrastructure) -> Self {
        let services = session_auth::services(settings, &storage, infra);
        let use_cases = services.use_cases.clone();
        let endpoint = adapter_http::endpoint(services, session_auth::http_settings(settings));
        Self {
            endpoint,
            storage,
            use_cases,
        }
    }
}

/// The service under test.
pub struct Service {
    /// The storage adapter.
    pub backend: Backend,
    /// Its settings.
    pub settings: Settings,
    /// The clock every part of the service reads.
    pub clock: Arc<FakeClock>,
    infra: Infrastructure,
    dir: Option<TempDir>,
    database: Option<TestDatabase>,
    running: Option<Running>,
}

impl Service {
    /// A service to configure; defaults: `session_db_auth`,
    /// [`DEFAULT_SESSION_NAME`], [`DEFAULT_SESSION_DURATION`], not secure.
    pub fn builder(backend: Backend) -> ServiceBuilder {
        ServiceBuilder {
            backend,
            settings: Settings {
                auth_type: AuthType::SessionDbAuth,
                session_name: DEFAULT_SESSION_NAME.to_owned(),
                session_duration: DEFAULT_SESSION_DURATION,
                ..Settings::default()
            },
            dir: None,
            mail: None,
        }
    }

    /// A service with the defaults and this `AUTH_TYPE`.
    pub async fn start(backend: Backend, auth_type: &str) -> Self {
        Self::builder(backend).auth_type(auth_type).start().await
    }

    fn running(&self) -> &Running {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("the service is not running"))
    }

    /// The storage the endpoint uses.
    pub fn storage(&self) -> &Storage {
        &self.running().storage
    }

    /// The use cases the endpoint runs (the very instances: for
    /// `session_auth` and `session_exp_auth` they hold the in-memory
    /// sessions). `use_cases().housekeeping.prune_expired()` is the
    /// background sweeper's work.
    pub fn use_cases(&self) -> &UseCases {
        &self.running().use_cases
    }

    /// A second instance of the service next to this one: the same clock
    /// and data, these settings changed. On SQL it has its own connection
    /// pool to the same database, as another process would; on memory and
    /// file storage it shares this instance's storage (failed password
    /// checks included). It must not outlive this service, has no data
    /// directory of its own and cannot be restarted.
    pub async fn sibling(&self, change: impl FnOnce(&mut Settings)) -> Service {
        let mut settings = self.settings.clone();
        change(&mut settings);
        let storage = match self.database.as_ref() {
            Some(database) => Storage::sql(database.cached_store(SESSION_CACHE).await),
            None => self.storage().clone(),
        };
        let running = Running::new(&settings, storage, &self.infra);
        Service {
            backend: self.backend,
            settings,
            clock: self.clock.clone(),
            infra: self.infra.clone(),
            dir: None,
            database: None,
            running: Some(running),
        }
    }

    /// The `AUTH_TYPE` name.
    pub fn auth_type(&self) -> &'static str {
        self.settings.auth_type.as_str()
    }

    /// The data directory of the file backend.
    pub fn data_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(TempDir::path)
            .unwrap_or_else(|| panic!("the memory backend has no data directory"))
    }

    /// Stops the service (dropping every handle on the storage, which
    /// releases the data directory's lock) and starts it again with the same
    /// settings, clock and data directory, as a process restart would.
    pub async fn restart(mut self) -> Self {
        drop(self.running.take());
        let storage = open_storage(
            self.backend,
            self.dir.as_ref().map(TempDir::path),
            self.database.as_ref(),
        )
        .await;
        self.running = Some(Running::new(&self.settings, storage, &self.infra));
        self
    }

    /// A request.
    pub fn request(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            service: self,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: &str) -> Call<'_> {
        self.request(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: &str) -> Call<'_> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: &str) -> Call<'_> {
        self.request(Method::PUT, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.request(Method::DELETE, path)
    }

    /// Creates a user directly through the use case (whatever the
    /// `AUTH_TYPE`), with an Argon2id hash of the password.
    pub async fn create_user(&self, email: &str, password: &str) -> Account {
        self.create(email, password, false).await
    }

    /// Creates an administrator as [`Service::create_user`] creates a user
    /// (`user create --admin`).
    pub async fn create_admin(&self, email: &str, password: &str) -> Account {
        self.create(email, password, true).await
    }

    async fn create(&self, email: &str, password: &str, is_admin: bool) -> Account {
        let (use_cases, _) = session_auth::use_cases(&self.settings, self.storage(), &self.infra);
        let mut new = NewUser::parse(
            Some(email.to_owned()),
            Some(password.to_owned()),
            None,
            None,
        )
        .unwrap_or_else(|e| panic!("cannot create {email}: {e}"));
        if is_admin {
            new = new.administrator();
        }
        let user = use_cases
            .users
            .create_user(&Actor::operator(), new)
            .await
            .unwrap_or_else(|e| panic!("cannot create {email}: {e}"));
        Account {
            id: user.id.to_string(),
            email: email.to_owned(),
            password: password.to_owned(),
        }
    }

    /// Logs `account` in through `POST /api/v1/auth_session/login`; the
    /// session token of the cookie that was set.
    pub async fn login(&self, account: &Account) -> String {
        let reply = self
            .post("/api/v1/auth_session/login")
            .form(&[("email", &account.email), ("password", &account.password)])
            .send()
            .await;
        reply.assert_status(200);
        let cookie = reply.set_cookie();
        assert_eq!(cookie.name, self.settings.session_name, "{cookie:?}");
        cookie.value
    }

    /// What lets `account` through the gate under this `AUTH_TYPE`:
    /// nothing under `none`, a Basic header under `basic_auth`, a fresh
    /// session cookie under the session policies. Panics under `auth`,
    /// which lets no one through.
    pub async fn credential_for(&self, account: &Account) -> Credential {
        match self.settings.auth_type {
            AuthType::None => Credential::Nothing,
            AuthType::Auth => panic!("no credential passes AUTH_TYPE=auth"),
            AuthType::BasicAuth => Credential::Basic(basic(&account.email, &account.password)),
            AuthType::SessionAuth | AuthType::SessionExpAuth | AuthType::SessionDbAuth => {
                Credential::Cookie(self.login(account).await)
            }
        }
    }

    /// The file storage's journal compacted into its Flask files, as a
    /// clean shutdown leaves them, so tests can read what is on disk.
    fn compact(&self) {
        if let Some(store) = self.storage().file_store() {
            store
                .compact_blocking()
                .unwrap_or_else(|e| panic!("cannot compact the journal: {e}"));
        }
    }

    /// The text of a file in the data directory, once the journal is
    /// compacted into the Flask files.
    pub fn read_file(&self, name: &str) -> String {
        self.compact();
        let path = self.data_dir().join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Every file of the data directory with its bytes, once the journal
    /// is compacted into the Flask files.
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        self.compact();
        let mut files = Vec::new();
        let entries = std::fs::read_dir(self.data_dir())
            .unwrap_or_else(|e| panic!("cannot list the data directory: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file()
                && let Ok(bytes) = std::fs::read(&path)
            {
                files.push((path, bytes));
            }
        }
        files
    }
}

/// A user the test created, with the password it knows.
#[derive(Clone, Debug)]
pub struct Account {
    /// The user's id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Clear-text password.
    pub password: String,
}

/// What a request presents to the gate.
#[derive(Clone, Debug)]
pub enum Credential {
    /// Nothing at all.
    Nothing,
    /// An `Authorization` header with this value.
    Basic(String),
    /// The session cookie with this token.
    Cookie(String),
}

/// `Basic base64(email:password)`.
pub fn basic(email: &str, password: &str) -> String {
    basic_raw(&format!("{email}:{password}"))
}

/// `Basic base64(text)`.
pub fn basic_raw(text: &str) -> String {
    format!("Basic {}", STANDARD.encode(text))
}

/// One request being built.
pub struct Call<'a> {
    service: &'a Service,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl Call<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the session cookie (named by the service's `SESSION_NAME`).
    pub fn cookie(self, token: &str) -> Self {
        let name = self.service.settings.session_name.clone();
        self.header("Cookie", &format!("{name}={token}"))
    }

    /// Sends `X-Forwarded-For: <address>`: the client's address when the
    /// service trusts the header (`trust_forwarded_for`). Without it a
    /// request of this harness has no address at all.
    pub fn from_address(self, address: &str) -> Self {
        self.header("X-Forwarded-For", address)
    }

    /// Sends an `Authorization` header.
    pub fn authorization(self, value: &str) -> Self {
        self.header("Authorization", value)
    }

    /// Sends `Basic base64(email:password)`.
    pub fn basic(self, email: &str, password: &str) -> Self {
        self.authorization(&basic(email, password))
    }

    /// Presents a credential.
    pub fn with(self, credential: &Credential) -> Self {
        match credential {
            Credential::Nothing => self,
            Credential::Basic(header) => self.authorization(header),
            Credential::Cookie(token) => self.cookie(token),
        }
    }

    /// A JSON body (`application/json`).
    pub fn json(self, value: &Value) -> Self {
        self.body("application/json", value.to_string())
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let encoded = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.body("application/x-www-form-urlencoded", encoded)
    }

    /// A body of this content type (empty: no `Content-Type` header).
    pub fn body(mut self, content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.to_owned(), bytes.into()));
        self
    }

    /// Sends the request through the endpoint.
    pub async fn send(self) -> Reply {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri_str(&self.path);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = match self.body {
            Some((content_type, bytes)) => {
                if !content_type.is_empty() {
                    builder = builder.header("Content-Type", content_type);
                }
                builder.body(bytes)
            }
            None => builder.finish(),
        };
        let response = match self.service.running().endpoint.call(request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .into_bytes()
            .await
            .unwrap_or_else(|e| panic!("cannot read the response body: {e}"))
            .to_vec();
        Reply {
            request: format!("{} {}", self.method, self.path),
            status,
            headers,
            body,
        }
    }
}

/// Percent-encodes everything but the unreserved characters.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// `METHOD path` of the request, for messages.
    pub request: String,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics unless the body is JSON served as
    /// `application/json`.
    #[track_caller]
    pub fn json(&self) -> Value {
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "{}: {} with content type {content_type:?}, not JSON: {}",
            self.request,
            self.status,
            self.text()
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: {} with a body that is not JSON ({e}): {}",
                self.request,
                self.status,
                self.text()
            )
        })
    }

    /// A header's value (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the response has this header.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// `Retry-After` as whole seconds; panics when it is missing or not a
    /// non-negative integer.
    #[track_caller]
    pub fn retry_after(&self) -> u64 {
        let value = self
            .header("retry-after")
            .unwrap_or_else(|| panic!("{}: no Retry-After header", self.request));
        value.parse().unwrap_or_else(|_| {
            panic!(
                "{}: Retry-After is not whole seconds: {value:?}",
                self.request
            )
        })
    }

    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: expected {status}, got {} with body {}",
            self.request,
            self.status,
            self.text()
        );
        self
    }

    /// Asserts the status and the JSON body (compared as parsed values).
    #[track_caller]
    pub fn assert(&self, status: u16, body: Value) -> &Self {
        self.assert_status(status);
        assert_eq!(self.json(), body, "{}: body", self.request);
        self
    }

    /// The one `Set-Cookie` header, parsed; panics when there is none or
    /// more than one.
    #[track_caller]
    pub fn set_cookie(&self) -> SetCookie {
        let all: Vec<&str> = self
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(
            all.len(),
            1,
            "{}: expected one Set-Cookie, got {all:?}",
            self.request
        );
        SetCookie::parse(all[0])
    }
}

/// A `Set-Cookie` header.
#[derive(Clone, Debug)]
pub struct SetCookie {
    /// The header as sent.
    pub raw: String,
    /// The cookie's name.
    pub name: String,
    /// The cookie's value.
    pub value: String,
    /// Every attribute after the first `;`, trimmed, as sent.
    pub attributes: Vec<String>,
}

impl SetCookie {
    /// Parses `name=value; attr; attr=value`.
    pub fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';');
        let first = parts.next().unwrap_or("");
        let (name, value) = first.split_once('=').unwrap_or((first, ""));
        Self {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes: parts.map(|a| a.trim().to_owned()).collect(),
        }
    }

    /// Whether a flag (`HttpOnly`, `Secure`) is present (case-insensitive).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(flag))
    }

    /// The value of `name=value` attribute (name case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let (n, v) = a.split_once('=')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// The keys of a `<user>`.
pub const USER_KEYS: [&str; 6] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "created_at",
    "updated_at",
];

/// Whether `text` is `YYYY-MM-DDTHH:MM:SS`.
pub fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Asserts that `value` is a `<user>`: exactly [`USER_KEYS`], text ids and
/// emails, names text or null, timestamps `YYYY-MM-DDTHH:MM:SS`.
#[track_caller]
pub fn assert_user_shape(value: &Value) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("a user must be an object: {value}"));
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = USER_KEYS.into_iter().collect();
    assert_eq!(keys, expected, "the keys of a user: {value}");
    assert!(value["id"].is_string(), "{value}");
    assert!(value["email"].is_string(), "{value}");
    for name in ["first_name", "last_name"] {
        assert!(
            value[name].is_string() || value[name].is_null(),
            "{name}: {value}"
        );
    }
    for name in ["created_at", "updated_at"] {
        let text = value[name].as_str().unwrap_or("");
        assert!(
            is_timestamp(text),
            "{name} is not YYYY-MM-DDTHH:MM:SS: {value}"
        );
    }
}

/// The `<user>` the API shows for a user created at `at` with no names.
pub fn user_json(account: &Account, at: &str) -> Value {
    serde_json::json!({
        "id": account.id,
        "email": account.email,
        "first_name": null,
        "last_name": null,
        "created_at": at,
        "updated_at": at,
    })
}

/// Generates, for each `async fn name(backend: Backend) { … }`, a module
/// `name` with one `#[tokio::test]` per storage backend (`memory`, `file`,
/// `sqlite`, and `postgres` when `TEST_DATABASE_URL` is set at build time)
/// running the body with that backend.
///
/// ```text
/// integration_tests::http_tests! {
///     async fn login_with_wrong_password_is_401(backend: Backend) { … }
/// }
/// ```
#[macro_export]
macro_rules! http_tests {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($backend:ident : Backend) $body:block
    )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($backend: $crate::http_harness::Backend) $body

                #[tokio::test]
                async fn memory() {
                    run($crate::http_harness::Backend::Memory).await;
                }

                #[tokio::test]
                async fn file() {
                    run($crate::http_harness::Backend::File).await;
                }

                #[tokio::test]
                async fn sqlite() {
                    run($crate::http_harness::Backend::Sqlite).await;
                }

                #[cfg(postgres_tests)]
                #[tokio::test]
                async fn postgres() {
                    run($crate::http_harness::Backend::Postgres).await;
                }
            }
        )*
    };
}
