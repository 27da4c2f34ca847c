//! Who may do what to which user: the `ACCESS_POLICY` and `REGISTRATION`
//! settings, and the decisions the use cases take from them and the
//! [`Actor`] they act for.
//!
//! The gate answers "who is calling"; this module answers "may they".
//! Front doors never ask which policy is active: they hand the actor to a
//! use case, which refuses with a domain error (not found, forbidden, last
//! administrator) that the front door maps to its own answer. An operator
//! at the command line may do everything.

use std::fmt;
use std::str::FromStr;

use crate::actor::{Actor, Principal};
use crate::user::UserId;

/// `ACCESS_POLICY`: what an authenticated user may do to other users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessPolicy {
    /// `open` (the default): the Flask API's behaviour. Anyone who passes
    /// the gate lists, reads, renames, creates and deletes every user.
    #[default]
    Open,
    /// `owner`: a user who is not an administrator sees and changes only
    /// their own user (another user's id is unknown to them: 404), and
    /// cannot create users; administrators may do everything.
    Owner,
}

/// `REGISTRATION`: whether `POST /users` is open to anonymous callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Registration {
    /// `closed` (the default): the Flask API's behaviour; creating a user
    /// needs an authenticated caller.
    #[default]
    Closed,
    /// `open`: an anonymous `POST /users` creates a user who is not an
    /// administrator, throttled per client address like logins.
    Open,
}

/// A setting's text that names no known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {setting} {given:?}; expected one of: {expected}")]
pub struct UnknownSetting {
    /// The setting's name.
    pub setting: &'static str,
    /// The text as given.
    pub given: String,
    /// The accepted values, comma-separated.
    pub expected: &'static str,
}

impl AccessPolicy {
    /// The setting's text.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Owner => "owner",
        }
    }
}

impl FromStr for AccessPolicy {
    type Err = UnknownSetting;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "open" => Ok(Self::Open),
            "owner" => Ok(Self::Owner),
            _ => Err(UnknownSetting {
                setting: "ACCESS_POLICY",
                given: text.to_owned(),
                expected: "open, owner",
            }),
        }
    }
}

impl fmt::Display for AccessPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Registration {
    /// The setting's text.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
        }
    }
}

impl FromStr for Registration {
    type Err = UnknownSetting;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "closed" => Ok(Self::Closed),
            "open" => Ok(Self::Open),
            _ => Err(UnknownSetting {
                setting: "REGISTRATION",
                given: text.to_owned(),
                expected: "closed, open",
            }),
        }
    }
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Both settings together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessRules {
    /// `ACCESS_POLICY`.
    pub policy: AccessPolicy,
    /// `REGISTRATION`.
    pub registration: Registration,
}

/// How a caller may create a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    /// As the Flask API let anyone past the gate (or as an administrator).
    Allowed,
    /// As a self-registration: an anonymous caller under
    /// `REGISTRATION=open`; never an administrator, and throttled.
    Registration,
    /// Not at all.
    Forbidden,
}

impl AccessRules {
    /// Whether `actor` may act on every user: an operator always; anyone
    /// past the gate under `open`, only an administrator under `owner` (an
    /// anonymous actor, which only `AUTH_TYPE=none` lets through, is none).
    pub fn administers(&self, actor: &Actor) -> bool {
        match (&actor.principal, self.policy) {
            (Principal::Operator, _) | (_, AccessPolicy::Open) => true,
            (_, AccessPolicy::Owner) => actor.user().is_some_and(|user| user.is_admin),
        }
    }

    /// Whether `actor` may see the user with this id (and so read,
    /// change or delete it); any other id is unknown to them.
    pub fn sees(&self, actor: &Actor, target: &UserId) -> bool {
        self.administers(actor) || actor.user().is_some_and(|user| user.id == *target)
    }

    /// Whether `actor` may see and end the sessions of the user with this
    /// id: an operator anyone's; a user their own, and only when a session
    /// signed them in (under the other policies there are no sessions to
    /// manage).
    pub fn manages_sessions_of(&self, actor: &Actor, target: &UserId) -> bool {
        actor.is_operator()
            || (actor.session().is_some() && actor.user().is_some_and(|user| user.id == *target))
    }

    /// How `actor` may create a user.
    pub fn creation(&self, actor: &Actor) -> Creation {
        match (&actor.principal, self.registration) {
            (Principal::Anonymous, Registration::Open) => Creation::Registration,
            _ if self.administers(actor) => Creation::Allowed,
            _ => Creation::Forbidden,
        }
    }

    /// Whether users are shown with their administrator flag: only under
    /// `owner`, so that under `open` a user is exactly the Flask API's.
    pub fn shows_admin_flag(&self) -> bool {
        self.policy == AccessPolicy::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordHash;
    use crate::user::{Email, User};

    fn user(is_admin: bool) -> User {
        let at = chrono::DateTime::UNIX_EPOCH;
        User {
            id: UserId::generate(),
            email: Email::parse(format!("{}@x.io", UserId::generate())).unwrap(),
            password_hash: PasswordHash::Unusable,
            first_name: None,
            last_name: None,
            created_at: at,
            updated_at: at,
            is_admin,
        }
    }

    fn caller(user: Option<&User>) -> Actor {
        Actor {
            principal: match user {
                Some(user) => Principal::User {
                    user: user.clone(),
                    session: None,
                },
                None => Principal::Anonymous,
            },
            ..Actor::default()
        }
    }

    fn rules(policy: AccessPolicy, registration: Registration) -> AccessRules {
        AccessRules {
            policy,
            registration,
        }
    }

    #[test]
    fn the_open_policy_lets_everyone_past_the_gate_do_everything() {
        let open = AccessRules::default();
        let (alice, bob) = (user(false), user(false));
        assert!(open.sees(&caller(Some(&alice)), &bob.id));
        assert!(open.sees(&caller(None), &bob.id));
        assert_eq!(open.creation(&caller(Some(&alice))), Creation::Allowed);
        assert_eq!(open.creation(&caller(None)), Creation::Allowed);
        assert!(!open.shows_admin_flag());
    }

    #[test]
    fn under_owner_a_user_sees_only_themselves_and_an_administrator_everyone() {
        let owner = rules(AccessPolicy::Owner, Registration::Closed);
        let (alice, bob, admin) = (user(false), user(false), user(true));
        assert!(owner.sees(&caller(Some(&alice)), &alice.id));
        assert!(!owner.administers(&caller(Some(&alice))));
        assert!(owner.administers(&caller(Some(&admin))));
        assert!(!owner.sees(&caller(None), &alice.id));
        assert!(!owner.sees(&caller(Some(&alice)), &bob.id));
        assert!(owner.sees(&caller(Some(&admin)), &bob.id));
        assert_eq!(owner.creation(&caller(Some(&alice))), Creation::Forbidden);
        assert_eq!(owner.creation(&caller(Some(&admin))), Creation::Allowed);
        assert_eq!(owner.creation(&caller(None)), Creation::Forbidden);
        assert!(owner.shows_admin_flag());
        let operator = Actor::operator();
        assert!(owner.administers(&operator) && owner.sees(&operator, &bob.id));
        assert_eq!(owner.creation(&operator), Creation::Allowed);
    }

    #[test]
    fn sessions_are_managed_by_their_signed_in_owner_or_an_operator() {
        let rules = AccessRules::default();
        let (alice, bob) = (user(false), user(false));
        // Signed in without a session (Basic): no sessions to manage.
        assert!(!rules.manages_sessions_of(&caller(Some(&alice)), &alice.id));
        assert!(rules.manages_sessions_of(&Actor::operator(), &alice.id));
        assert!(!rules.manages_sessions_of(&caller(None), &alice.id));
        assert!(!rules.manages_sessions_of(&caller(Some(&bob)), &alice.id));
    }

    #[test]
    fn open_registration_is_for_anonymous_callers_only() {
        for policy in [AccessPolicy::Open, AccessPolicy::Owner] {
            let rules = rules(policy, Registration::Open);
            assert_eq!(rules.creation(&caller(None)), Creation::Registration);
            assert_eq!(
                rules.creation(&caller(Some(&user(true)))),
                Creation::Allowed
            );
        }
        let owner = rules(AccessPolicy::Owner, Registration::Open);
        assert_eq!(
            owner.creation(&caller(Some(&user(false)))),
            Creation::Forbidden
        );
    }

    #[test]
    fn settings_parse_from_their_names_only() {
        assert_eq!("owner".parse(), Ok(AccessPolicy::Owner));
        assert_eq!("open".parse(), Ok(Registration::Open));
        let error = "Owner".parse::<AccessPolicy>().unwrap_err().to_string();
        assert!(
            error.contains("ACCESS_POLICY") && error.contains("open, owner"),
            "{error}"
        );
    }
}
