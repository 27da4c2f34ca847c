//! From parsed arguments to the values the service runs with: clap's
//! defaults, the security profile's defaults where no value was given, and
//! the domain's and the server's own types.

use clap::{Args, FromArgMatches};

use domain::AccessPolicy;

use super::settings::{LoginErrorsSetting, PasswordPolicy, SecurityProfile, ServeArgs};

impl SecurityProfile {
    /// A setting's value under this profile: the one given explicitly (a
    /// variable or flag), else the profile's. Each setting the profile
    /// decides is one call in [`ServeArgs::settings`].
    pub fn pick<T>(self, explicit: Option<T>, compatible: T, strict: T) -> T {
        explicit.unwrap_or(match self {
            Self::Compatible => compatible,
            Self::Strict => strict,
        })
    }
}

impl From<LoginErrorsSetting> for domain::LoginErrors {
    fn from(setting: LoginErrorsSetting) -> Self {
        match setting {
            LoginErrorsSetting::Compatible => Self::Compatible,
            LoginErrorsSetting::Generic => Self::Generic,
        }
    }
}

impl ServeArgs {
    /// The server's resource limits these arguments give.
    pub fn server_limits(&self) -> crate::server::ServerLimits {
        crate::server::ServerLimits {
            max_connections: self.max_connections as usize,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout.into()),
            max_header_bytes: self.max_header_bytes as usize,
            max_headers: self.max_headers as usize,
        }
    }

    /// clap's defaults, with no flag and no environment variable read: the
    /// one definition of every default.
    ///
    /// # Panics
    /// Only if the definitions in `settings.rs` are inconsistent (a default
    /// their own parser refuses), which the tests rule out.
    pub fn defaults() -> Self {
        let command = Self::augment_args(clap::Command::new("serve"))
            .mut_args(|arg| arg.env(None::<&'static str>));
        command
            .try_get_matches_from(["serve"])
            .and_then(|matches| Self::from_arg_matches(&matches))
            .expect("every setting of serve has a default its parser accepts")
    }

    /// The service settings these arguments give, the security profile's
    /// defaults filled in where no value was given.
    pub fn settings(&self) -> crate::Settings {
        let profile = self.security_profile;
        crate::Settings {
            auth_type: self.auth_type,
            session_name: self.session_name.clone(),
            session_duration: self.session_duration,
            session_idle_timeout: self.session_idle_timeout,
            // The settings SECURITY_PROFILE decides: (explicit value,
            // compatible default, strict default).
            cookie_secure: profile.pick(self.cookie_secure, false, true),
            login_errors: profile
                .pick(
                    self.login_errors,
                    LoginErrorsSetting::Compatible,
                    LoginErrorsSetting::Generic,
                )
                .into(),
            password_policy: profile.pick(
                self.password_policy,
                PasswordPolicy::Length,
                PasswordPolicy::Strong,
            ),
            throttle: domain::ThrottleRules {
                account_max_failures: self.throttle_account_failures,
                account_window: chrono::Duration::seconds(self.throttle_account_window.into()),
                address_max_failures: self.throttle_address_failures,
                backoff: chrono::Duration::seconds(self.throttle_backoff.into()),
            },
            passwords: domain::PasswordRules {
                min_length: profile.pick(self.password_min_length, 1, 12).into(),
                max_length: domain::PASSWORD_MAX,
            },
            body_limit: self.body_limit as usize,
            request_timeout: std::time::Duration::from_secs(self.request_timeout.into()),
            trust_forwarded_for: self.trust_forwarded_for,
            access: domain::AccessRules {
                policy: profile.pick(self.access_policy, AccessPolicy::Open, AccessPolicy::Owner),
                registration: self.registration,
            },
        }
    }
}
