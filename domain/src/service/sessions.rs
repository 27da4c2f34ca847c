//! A user's sessions: logging out, listing them, ending them (all, all but
//! the actor's own, or one by its handle).

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::AccessRules;
use crate::actor::Actor;
use crate::audit::{AuditEvent, AuditLog};
use crate::error::SessionError;
use crate::inbound::SessionManagement;
use crate::ports::{Clock, SessionRepository};
use crate::service::context::{Ports, Rules};
use crate::session::{Session, SessionId, SessionRules};
use crate::user::UserId;

/// The session use cases.
pub struct SessionService {
    sessions: Arc<dyn SessionRepository>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditLog>,
    rules: SessionRules,
    access: AccessRules,
}

impl SessionService {
    pub(crate) fn new(ports: &Ports, rules: &Rules) -> Self {
        Self {
            sessions: ports.sessions.clone(),
            clock: ports.clock.clone(),
            audit: ports.audit.clone(),
            rules: rules.sessions,
            access: rules.access,
        }
    }

    fn may_manage(&self, actor: &Actor, user: &UserId) -> Result<(), SessionError> {
        if self.access.manages_sessions_of(actor, user) {
            Ok(())
        } else {
            Err(SessionError::NotFound)
        }
    }
}

#[async_trait]
impl SessionManagement for SessionService {
    async fn logout(&self, actor: &Actor) -> Result<(), SessionError> {
        let (Some(user), Some(session)) = (actor.user(), actor.session()) else {
            return Err(SessionError::NotFound);
        };
        if !self.sessions.delete(&session.key).await? {
            return Err(SessionError::NotFound);
        }
        self.audit
            .record(actor, AuditEvent::Logout { user: user.id });
        Ok(())
    }

    async fn sessions(&self, actor: &Actor, user: &UserId) -> Result<Vec<Session>, SessionError> {
        self.may_manage(actor, user)?;
        let now = self.clock.now();
        let mut sessions = self.sessions.list_by_user(user).await?;
        sessions.retain(|s| self.rules.is_live(s, now));
        Ok(sessions)
    }

    async fn end_sessions(
        &self,
        actor: &Actor,
        user: &UserId,
        keep_own: bool,
    ) -> Result<u64, SessionError> {
        self.may_manage(actor, user)?;
        let keep = actor
            .session()
            .filter(|_| keep_own)
            .map(|session| &session.key);
        let ended = self.sessions.delete_by_user(user, keep).await?;
        self.audit
            .record(actor, AuditEvent::SessionsRevoked { user: *user, ended });
        Ok(ended)
    }

    async fn end_session(
        &self,
        actor: &Actor,
        user: &UserId,
        handle: SessionId,
    ) -> Result<Session, SessionError> {
        self.may_manage(actor, user)?;
        let sessions = self.sessions.list_by_user(user).await?;
        let Some(session) = sessions.into_iter().find(|s| s.id == handle) else {
            return Err(SessionError::NotFound);
        };
        if !self.sessions.delete(&session.key).await? {
            return Err(SessionError::NotFound);
        }
        self.audit.record(
            actor,
            AuditEvent::SessionsRevoked {
                user: *user,
                ended: 1,
            },
        );
        Ok(session)
    }
}
