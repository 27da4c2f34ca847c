//! What the service does for itself: the readiness probe, the metrics'
//! counts, and the sweep of expired sessions and stale failures.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Failure;
use crate::inbound::Housekeeping;
use crate::ports::{Clock, SessionRepository, UserRepository};
use crate::service::context::{Ports, Rules};
use crate::session::SessionRules;
use crate::throttle::Throttle;

/// The housekeeping use case.
pub struct Maintenance {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    rules: SessionRules,
}

impl Maintenance {
    pub(crate) fn new(ports: &Ports, rules: &Rules) -> Self {
        Self {
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            clock: ports.clock.clone(),
            throttle: Throttle::new(ports.attempts.clone(), rules.throttle),
            rules: rules.sessions,
        }
    }
}

#[async_trait]
impl Housekeeping for Maintenance {
    async fn ping(&self) -> Result<(), Failure> {
        Ok(self.users.ping().await?)
    }

    async fn user_count(&self) -> Result<u64, Failure> {
        Ok(self.users.count().await?)
    }

    async fn live_sessions(&self) -> Result<Option<u64>, Failure> {
        let (created_before, last_used_before) = self.rules.expiry_cutoffs(self.clock.now());
        Ok(self
            .sessions
            .count_live(created_before, last_used_before)
            .await?)
    }

    async fn prune_expired(&self) -> Result<u64, Failure> {
        let now = self.clock.now();
        self.throttle.prune(now).await?;
        let (created_before, last_used_before) = self.rules.expiry_cutoffs(now);
        if created_before.is_none() && last_used_before.is_none() {
            return Ok(0);
        }
        Ok(self
            .sessions
            .delete_expired(created_before, last_used_before)
            .await?)
    }
}
