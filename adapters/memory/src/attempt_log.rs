//! Failed password checks in process memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use domain::{AccountKey, AttemptLog, FailedAttempt, FailureWindow, RepositoryError};

/// Failed password checks in process memory, indexed by account, by
/// address and by both, so each count looks at one short list. Used by the
/// memory and file storages: their limits reset when the process restarts.
#[derive(Debug, Default)]
pub struct MemoryAttemptLog {
    lists: Mutex<AttemptLists>,
}

#[derive(Debug, Default)]
struct AttemptLists {
    by_account: HashMap<AccountKey, VecDeque<DateTime<Utc>>>,
    by_address: HashMap<String, VecDeque<DateTime<Utc>>>,
    by_both: HashMap<(AccountKey, String), VecDeque<DateTime<Utc>>>,
}

impl MemoryAttemptLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, AttemptLists> {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn window(times: Option<&VecDeque<DateTime<Utc>>>, since: DateTime<Utc>) -> FailureWindow {
    let mut found = FailureWindow::default();
    for at in times.into_iter().flatten().filter(|at| **at > since) {
        found.count += 1;
        found.oldest = Some(found.oldest.map_or(*at, |o| o.min(*at)));
        found.latest = Some(found.latest.map_or(*at, |l| l.max(*at)));
    }
    found
}

fn prune_lists<K: std::hash::Hash + Eq>(
    lists: &mut HashMap<K, VecDeque<DateTime<Utc>>>,
    before: DateTime<Utc>,
) -> u64 {
    let mut pruned = 0;
    lists.retain(|_, times| {
        let len = times.len();
        times.retain(|at| *at >= before);
        pruned += (len - times.len()) as u64;
        !times.is_empty()
    });
    pruned
}

#[async_trait]
impl AttemptLog for MemoryAttemptLog {
    async fn record_failure(&self, attempt: &FailedAttempt) -> Result<(), RepositoryError> {
        let mut lists = self.lists();
        lists
            .by_account
            .entry(attempt.account.clone())
            .or_default()
            .push_back(attempt.at);
        lists
            .by_address
            .entry(attempt.address.clone())
            .or_default()
            .push_back(attempt.at);
        lists
            .by_both
            .entry((attempt.account.clone(), attempt.address.clone()))
            .or_default()
            .push_back(attempt.at);
        Ok(())
    }

    async fn failures(
        &self,
        account: Option<&AccountKey>,
        address: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<FailureWindow, RepositoryError> {
        let lists = self.lists();
        Ok(match (account, address) {
            (Some(account), Some(address)) => window(
                lists.by_both.get(&(account.clone(), address.to_owned())),
                since,
            ),
            (Some(account), None) => window(lists.by_account.get(account), since),
            (None, Some(address)) => window(lists.by_address.get(address), since),
            (None, None) => {
                let all: VecDeque<DateTime<Utc>> =
                    lists.by_account.values().flatten().copied().collect();
                window(Some(&all), since)
            }
        })
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut lists = self.lists();
        let pruned = prune_lists(&mut lists.by_account, before);
        prune_lists(&mut lists.by_address, before);
        prune_lists(&mut lists.by_both, before);
        Ok(pruned)
    }
}
