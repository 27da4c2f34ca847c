//! Brute-force throttling of password checks, shared by the login form and
//! HTTP Basic.
//!
//! Two limits, both over failed password checks recorded in an
//! [`AttemptLog`] (so several instances on one database share them):
//! - **per address**: more than `address_max_failures` failures from one
//!   client address within `backoff` make that address wait until the
//!   oldest of them is `backoff` old (a short back-off);
//! - **per account**: once an account has `account_max_failures` failures
//!   within `account_window`, addresses that contributed a failure wait for
//!   the window to pass, and any other address gets one checked attempt per
//!   `backoff`. So the owner, logging in from elsewhere, waits at most one
//!   back-off however long the attack goes on, while the attack is held to
//!   the account limit plus one guess per back-off (and only from addresses
//!   it has not used yet).

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use crate::attempt::{AccountKey, FailedAttempt};
use crate::error::Failure;
use crate::ports::AttemptLog;

/// The limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRules {
    /// Failures an account may take within `account_window` before it is
    /// paced.
    pub account_max_failures: u64,
    /// The account limit's window.
    pub account_window: Duration,
    /// Failures an address may make within `backoff` before it waits.
    pub address_max_failures: u64,
    /// The short back-off: the address window, and the pace of a capped
    /// account.
    pub backoff: Duration,
}

/// The limits applied over a log.
#[derive(Clone)]
pub struct Throttle {
    log: Arc<dyn AttemptLog>,
    rules: ThrottleRules,
}

impl Throttle {
    /// Applies `rules` over `log`.
    pub fn new(log: Arc<dyn AttemptLog>, rules: ThrottleRules) -> Self {
        Self { log, rules }
    }

    /// `None` when a password check for `account` from `address` may run at
    /// `now`; otherwise how long to wait (at least one second).
    ///
    /// # Errors
    /// Only storage failures.
    pub async fn wait_before(
        &self,
        account: &AccountKey,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, Failure> {
        let rules = &self.rules;
        let from_address = self
            .log
            .failures(None, Some(address), now - rules.backoff)
            .await?;
        if from_address.count >= rules.address_max_failures {
            return Ok(Some(until(
                from_address.oldest.map(|t| t + rules.backoff),
                now,
            )));
        }
        let on_account = self
            .log
            .failures(Some(account), None, now - rules.account_window)
            .await?;
        if on_account.count < rules.account_max_failures {
            return Ok(None);
        }
        let from_here = self
            .log
            .failures(Some(account), Some(address), now - rules.account_window)
            .await?;
        if from_here.count > 0 {
            return Ok(Some(until(
                from_here.latest.map(|t| t + rules.account_window),
                now,
            )));
        }
        match on_account.latest {
            Some(latest) if latest + rules.backoff > now => {
                Ok(Some(until(Some(latest + rules.backoff), now)))
            }
            _ => Ok(None),
        }
    }

    /// Records a failed check.
    ///
    /// # Errors
    /// Only storage failures.
    pub async fn record_failure(
        &self,
        account: AccountKey,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let attempt = FailedAttempt {
            account,
            address: address.to_owned(),
            at: now,
        };
        Ok(self.log.record_failure(&attempt).await?)
    }

    /// Forgets failures too old to count; how many.
    ///
    /// # Errors
    /// Only storage failures.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, Failure> {
        let horizon = self.rules.account_window.max(self.rules.backoff);
        Ok(self.log.prune(now - horizon).await?)
    }
}

/// Time from `now` to `at`, rounded up to whole seconds, at least one.
fn until(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Duration {
    let wait = at.map_or(Duration::seconds(1), |at| at - now);
    let seconds = (wait.num_milliseconds() + 999) / 1000;
    Duration::seconds(seconds.max(1))
}
