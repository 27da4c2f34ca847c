//! The ports: what the domain needs from the world outside it.
//!
//! Every port is object-safe so the composition root can choose adapters at
//! run time as `Arc<dyn Port>`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::attempt::{AccountKey, FailedAttempt, FailureWindow};
use crate::error::{HashError, RepositoryError};
/// The strength judgement of new passwords is a port too; it is defined
/// beside the rules it serves ([`crate::password`]), which need it.
pub use crate::password::PasswordStrength;
use crate::password::{Password, PasswordHash};
use crate::session::{Session, SessionKey, SessionToken};
use crate::user::{Email, NameChange, User, UserId};

/// What a batched insert of users did with one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserBatchOutcome {
    /// Stored.
    Inserted,
    /// A user with this id was already stored; nothing was changed.
    AlreadyPresent,
    /// Another user (stored, or earlier in the batch) has exactly this
    /// email; nothing was stored.
    DuplicateEmail,
}

/// What a batched insert of sessions did with one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionBatchOutcome {
    /// Stored.
    Inserted,
    /// A session with this key was already stored (or came earlier in the
    /// batch); nothing was changed.
    AlreadyPresent,
    /// The session's user does not exist; nothing was stored.
    UserMissing,
}

/// Where users live.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new account.
    ///
    /// # Errors
    /// MUST return [`RepositoryError::DuplicateId`] when a stored user has
    /// the same id, else [`RepositoryError::DuplicateEmail`] when a stored
    /// user's email equals this one ignoring ASCII case
    /// ([`Email::matches`]), storing nothing; also against a concurrent
    /// insert (two creations of `Ann@x.io` and `ann@x.io` racing store one).
    async fn insert(&self, user: &User) -> Result<(), RepositoryError>;

    /// Stores a user from existing data (the import of the Flask API's
    /// files), which may hold emails that differ only in case: refuses
    /// only an email equal exactly to a stored one.
    ///
    /// # Errors
    /// MUST return [`RepositoryError::DuplicateId`] when a stored user has
    /// the same id, else [`RepositoryError::DuplicateEmail`] when a stored
    /// user has exactly this email, storing nothing.
    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError>;

    /// The user with this id, `None` when there is none.
    ///
    /// # Errors
    /// Only storage failures.
    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError>;

    /// The user a login with this email names, `None` when there is none:
    /// among the users whose email equals it ignoring ASCII case, the one
    /// [`Email::pick`] picks (an exact match; else the only one; else
    /// none). Must be an indexed look-up on the folded email, not a scan.
    ///
    /// # Errors
    /// Only storage failures.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    /// Every user, in creation (or file) order.
    ///
    /// # Errors
    /// Only storage failures.
    async fn list(&self) -> Result<Vec<User>, RepositoryError>;

    /// How many users there are.
    ///
    /// # Errors
    /// Only storage failures.
    async fn count(&self) -> Result<u64, RepositoryError>;

    /// Whether the storage answers, as cheaply as it can; the readiness
    /// probe. The provided implementation counts users; SQL adapters may
    /// override it with a trivial query.
    ///
    /// # Errors
    /// The storage failure that makes it not ready.
    async fn ping(&self) -> Result<(), RepositoryError> {
        self.count().await.map(|_| ())
    }

    /// Replaces the stored user with the same id; `false` when there is none
    /// (nothing is stored then).
    ///
    /// # Errors
    /// MUST return [`RepositoryError::DuplicateEmail`] when the email
    /// changes and another user's equals the new one ignoring ASCII case.
    async fn update(&self, user: &User) -> Result<bool, RepositoryError>;

    /// Sets the names that `names` gives (a `None` leaves that name as it
    /// is) and `updated_at`, changing nothing else, atomically: a concurrent
    /// change of another field (the password) is never undone. Returns the
    /// user as stored afterwards, `None` when there is none.
    ///
    /// # Errors
    /// Only storage failures; on error nothing changes.
    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError>;

    /// Replaces the password hash with `new`, only if it is still
    /// `expected` (the hash the caller verified against), and sets
    /// `updated_at` to `at` when given; nothing else changes. `false` when
    /// there is no such user or the hash has changed meanwhile (nothing is
    /// stored then).
    ///
    /// # Errors
    /// Only storage failures; on error nothing changes.
    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError>;

    /// Sets the administrator flag to `is_admin` and `updated_at` to `at`,
    /// changing nothing else, atomically. Returns the user as stored
    /// afterwards, `None` when there is none. When the flag already has
    /// that value nothing is stored (and `updated_at` stays).
    ///
    /// # Errors
    /// MUST return [`RepositoryError::LastAdmin`], storing nothing, when
    /// clearing the flag of the only administrator; two concurrent calls
    /// clearing the flags of the last two administrators must not both
    /// succeed. Otherwise only storage failures; on error nothing changes.
    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError>;

    /// Removes the user and every session this storage holds for them;
    /// `false` when there was no such user.
    ///
    /// # Errors
    /// Only storage failures; on error nothing is removed.
    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError>;

    /// Stores each user of `users` whose id is not stored yet, as if
    /// [`get`](Self::get) then [`insert_imported`](Self::insert_imported)
    /// were called for each in order (so emails differing only in case are
    /// all stored); one outcome per user, in the same order. Never changes a
    /// stored user. For bulk loads (the import): an adapter should store a
    /// batch in a few statements and one transaction, with no per-record
    /// scan; the provided implementation is the per-record loop.
    ///
    /// # Errors
    /// Only storage failures. The users stored before the failure may stay
    /// stored; calling again with the same users completes the batch.
    async fn insert_new_batch(
        &self,
        users: &[User],
    ) -> Result<Vec<UserBatchOutcome>, RepositoryError> {
        let mut outcomes = Vec::with_capacity(users.len());
        for user in users {
            if self.get(&user.id).await?.is_some() {
                outcomes.push(UserBatchOutcome::AlreadyPresent);
                continue;
            }
            outcomes.push(match self.insert_imported(user).await {
                Ok(()) => UserBatchOutcome::Inserted,
                Err(RepositoryError::DuplicateEmail) => UserBatchOutcome::DuplicateEmail,
                Err(other) => return Err(other),
            });
        }
        Ok(outcomes)
    }
}

/// Where sessions live.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`RepositoryError::NoSuchUser`] when the storage also holds users
    /// and the session's user is not (any more) among them; otherwise only
    /// storage failures.
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError>;

    /// The session stored under this key, `None` when there is none. Expiry
    /// is not this port's business: the caller decides with the clock.
    ///
    /// # Errors
    /// Only storage failures.
    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError>;

    /// The session under `key` with its user, `None` when there is no such
    /// session; the user is `None` when they no longer exist.
    ///
    /// This is the look-up of every session-authenticated request. The
    /// provided implementation asks `users` after finding the session; an
    /// adapter that keeps users and sessions in one store (and is only ever
    /// paired with its own users, as under `session_db_auth`) should answer
    /// in one round trip instead, e.g. with a join.
    ///
    /// # Errors
    /// Only storage failures.
    async fn find_with_user(
        &self,
        key: &SessionKey,
        users: &dyn UserRepository,
    ) -> Result<Option<(Session, Option<User>)>, RepositoryError> {
        let Some(session) = self.find(key).await? else {
            return Ok(None);
        };
        let user = users.get(&session.user_id).await?;
        Ok(Some((session, user)))
    }

    /// Removes the session; `false` when there was none.
    ///
    /// # Errors
    /// Only storage failures.
    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError>;

    /// Records that the session authenticated a request at `at` (sets
    /// `last_used_at`); `false` when there is no such session.
    ///
    /// # Errors
    /// Only storage failures.
    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError>;

    /// Every session of a user, oldest first.
    ///
    /// # Errors
    /// Only storage failures.
    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError>;

    /// Removes every session of a user but `except` (when given); how many
    /// were removed.
    ///
    /// # Errors
    /// Only storage failures.
    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError>;

    /// Removes every session created before `created_before` or last used
    /// before `last_used_before` (each only when given); how many.
    ///
    /// # Errors
    /// Only storage failures.
    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError>;

    /// How many sessions [`Self::delete_expired`] with the same cutoffs
    /// would keep (the live ones), for the metrics; `None` when the store
    /// cannot count them cheaply (the provided implementation).
    ///
    /// # Errors
    /// Only storage failures.
    async fn count_live(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, RepositoryError> {
        let _ = (created_before, last_used_before);
        Ok(None)
    }

    /// Stores each session of `sessions` whose key is not stored yet and
    /// whose user exists in `users`, as if [`find`](Self::find),
    /// `users.get` and [`insert`](Self::insert) were called for each in
    /// order; one outcome per session, in the same order. Never changes a
    /// stored session. For bulk loads (the import): an adapter whose users
    /// are `users` should store a batch in a few statements and one
    /// transaction, with no per-record scan; the provided implementation is
    /// the per-record loop.
    ///
    /// # Errors
    /// Only storage failures. The sessions stored before the failure may
    /// stay stored; calling again with the same sessions completes the
    /// batch.
    async fn insert_new_batch(
        &self,
        sessions: &[Session],
        users: &dyn UserRepository,
    ) -> Result<Vec<SessionBatchOutcome>, RepositoryError> {
        let mut outcomes = Vec::with_capacity(sessions.len());
        for session in sessions {
            if self.find(&session.key).await?.is_some() {
                outcomes.push(SessionBatchOutcome::AlreadyPresent);
            } else if users.get(&session.user_id).await?.is_none() {
                outcomes.push(SessionBatchOutcome::UserMissing);
            } else {
                self.insert(session).await?;
                outcomes.push(SessionBatchOutcome::Inserted);
            }
        }
        Ok(outcomes)
    }
}

/// Where failed password checks are counted (see [`crate::throttle`]).
/// Storage shared by several instances makes their limits shared.
#[async_trait]
pub trait AttemptLog: Send + Sync {
    /// Records one failure.
    ///
    /// # Errors
    /// Only storage failures.
    async fn record_failure(&self, attempt: &FailedAttempt) -> Result<(), RepositoryError>;

    /// The failures after `since` (exclusive) of `account` (when given) from
    /// `address` (when given). Must be an indexed look-up.
    ///
    /// # Errors
    /// Only storage failures.
    async fn failures(
        &self,
        account: Option<&AccountKey>,
        address: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<FailureWindow, RepositoryError>;

    /// Forgets failures before `before`; how many.
    ///
    /// # Errors
    /// Only storage failures.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// Hashes and verifies passwords. Implementations must keep CPU-heavy work
/// off the async workers.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new Argon2id hash of `password`.
    ///
    /// # Errors
    /// [`HashError`] when hashing could not run.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`, of whichever kind it is.
    /// [`PasswordHash::Unusable`] never matches.
    ///
    /// # Errors
    /// [`HashError`] when the stored hash is corrupt or hashing could not run.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;

    /// A fixed hash made with the same parameters as [`Self::hash`]'s,
    /// that no known password matches: a login with an unknown email is
    /// verified against it, so that it costs the same work as a wrong
    /// password.
    fn decoy(&self) -> PasswordHash;
}

/// The only source of time for the domain.
pub trait Clock: Send + Sync {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The source of new session tokens.
pub trait TokenGenerator: Send + Sync {
    /// A new token with at least 128 bits from a CSPRNG.
    fn generate(&self) -> SessionToken;
}
