//! The administrator right: granting and revoking it, and whether anyone
//! holds it.

use async_trait::async_trait;

use crate::actor::Actor;
use crate::error::{Failure, SetAdminError};
use crate::inbound::Administration;
use crate::service::users::{UserService, admin_event};
use crate::user::{User, UserId};

#[async_trait]
impl Administration for UserService {
    async fn set_admin(
        &self,
        actor: &Actor,
        id: &UserId,
        is_admin: bool,
    ) -> Result<User, SetAdminError> {
        if !self.access.administers(actor) {
            return Err(self.refuse(actor, "set_admin", SetAdminError::Forbidden));
        }
        let current = self.users.get(id).await?.ok_or(SetAdminError::NoSuchUser)?;
        if current.is_admin == is_admin {
            return Ok(current);
        }
        let user = self
            .users
            .set_admin(id, is_admin, self.now())
            .await?
            .ok_or(SetAdminError::NoSuchUser)?;
        self.audit.record(actor, admin_event(*id, is_admin));
        Ok(user)
    }

    async fn has_admin(&self, _: &Actor) -> Result<bool, Failure> {
        Ok(self.users.list().await?.iter().any(|user| user.is_admin))
    }
}
