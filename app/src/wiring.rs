//! The wiring: the settings that shape the service, the non-storage
//! adapters, and the use cases built over a storage from them; the HTTP
//! service over those use cases for the server.

use std::sync::Arc;

use adapter_audit::TracingAudit;
use adapter_crypto::{Argon2Hasher, OsTokenGenerator, SystemClock, ZxcvbnStrength};
use adapter_http::{HttpSettings, MetricsExposure, QueueDepth, ServiceEndpoint, Services};
use adapter_memory::MemoryStore;
use domain::{
    AccessRules, AuditLog, AuthService, AuthType, Clock, Gate, Mailer, PasswordHasher,
    PasswordRules, Ports, RecoveryPorts, RecoveryRules, Rules, SessionLifetime, SessionRepository,
    SessionRules, ThrottleRules, TokenGenerator, UseCases,
};

use crate::config;
use crate::storage::{StartError, Storage};

/// The settings that shape the service, independent of where they came
/// from.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `AUTH_TYPE`.
    pub auth_type: AuthType,
    /// `SESSION_NAME`.
    pub session_name: String,
    /// `SESSION_DURATION`, seconds.
    pub session_duration: i64,
    /// `SESSION_IDLE_TIMEOUT`, seconds; 0 or less: no idle timeout.
    pub session_idle_timeout: i64,
    /// `COOKIE_SECURE`.
    pub cookie_secure: bool,
    /// `LOGIN_ERRORS`: what a failed login tells the client.
    pub login_errors: domain::LoginErrors,
    /// `PASSWORD_POLICY`: whether new passwords must also be strong.
    pub password_policy: config::PasswordPolicy,
    /// The brute-force limits.
    pub throttle: ThrottleRules,
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
    /// Largest request body accepted, bytes.
    pub body_limit: usize,
    /// `REQUEST_TIMEOUT`: the longest a request may take before it is
    /// answered 503.
    pub request_timeout: std::time::Duration,
    /// Take the client address from `X-Forwarded-For` (behind a trusted
    /// proxy) instead of the connection.
    pub trust_forwarded_for: bool,
    /// `ACCESS_POLICY` and `REGISTRATION`: who may do what to which user.
    pub access: AccessRules,
}

impl Default for Settings {
    /// The documented defaults: those of `serve`'s flags.
    fn default() -> Self {
        config::ServeArgs::defaults().settings()
    }
}

impl Settings {
    /// The rules the use cases apply under these settings.
    pub fn rules(&self) -> Rules {
        Rules {
            session_logins: self.auth_type.uses_sessions(),
            sessions: self.session_rules(),
            throttle: self.throttle,
            passwords: self.passwords,
            login_errors: self.login_errors,
            access: self.access,
        }
    }

    /// The session rules these settings give.
    pub fn session_rules(&self) -> SessionRules {
        let lifetime = if self.auth_type.sessions_expire() {
            SessionLifetime::from_seconds(self.session_duration)
        } else {
            SessionLifetime::Unlimited
        };
        let idle_timeout = (self.session_idle_timeout > 0)
            .then(|| chrono::Duration::try_seconds(self.session_idle_timeout))
            .flatten();
        SessionRules {
            lifetime,
            idle_timeout,
        }
    }
}

/// The non-storage ports; [`Infrastructure::real`] in production, fakes
/// (a test clock) in tests.
#[derive(Clone)]
pub struct Infrastructure {
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Session tokens.
    pub tokens: Arc<dyn TokenGenerator>,
    /// Where security events go.
    pub audit: Arc<dyn AuditLog>,
    /// Outgoing mail and the rules of password reset; `None`
    /// (`MAIL_TRANSPORT=off`): password reset is off.
    pub mail: Option<MailSetup>,
}

/// What password reset by mail needs besides the storage.
#[derive(Clone)]
pub struct MailSetup {
    /// Where mail goes.
    pub mailer: Arc<dyn Mailer>,
    /// Reset links' lifetime and the request limits.
    pub rules: RecoveryRules,
}

impl MailSetup {
    /// The outbox `MAIL_*` and `SMTP_*` describe (its delivery task
    /// started on the current runtime), with the `PASSWORD_RESET_*`
    /// rules; `None` under `MAIL_TRANSPORT=off`.
    ///
    /// # Errors
    /// [`StartError::Mail`] naming the unusable setting.
    pub fn from_args(args: &config::MailArgs) -> Result<Option<Self>, StartError> {
        let outbox = args.outbox().map_err(StartError::Mail)?;
        Ok(outbox.map(|outbox| Self {
            mailer: Arc::new(outbox),
            rules: args.recovery_rules(),
        }))
    }
}

impl Infrastructure {
    /// Argon2id on every core (at the process's priority: for the CLI,
    /// which hashes alone), the OS CSPRNG, the system clock, and security
    /// events as log lines.
    pub fn real() -> Self {
        Self::real_with_queue_depth(0).0
    }

    /// [`Self::real`] with the hashing threads' nice value raised by
    /// `hash_niceness` (`HASH_NICENESS`), and a probe of the Argon2 queue's
    /// depth for the metrics.
    pub fn real_with_queue_depth(hash_niceness: u8) -> (Self, QueueDepth) {
        let hasher = Arc::new(Argon2Hasher::per_core(hash_niceness));
        let probe = hasher.clone();
        let infra = Self {
            hasher,
            clock: Arc::new(SystemClock),
            tokens: Arc::new(OsTokenGenerator),
            audit: Arc::new(TracingAudit),
            mail: None,
        };
        (infra, Arc::new(move || probe.queue_depth()))
    }
}

/// Turns the metrics on as `METRICS` and `METRICS_ADDR` say: on the API's
/// port, or on a listener of their own (started here, so a bad address
/// stops the start).
///
/// # Errors
/// [`StartError::Listen`] when `METRICS_ADDR` cannot be listened on.
pub async fn with_metrics(
    endpoint: ServiceEndpoint,
    args: &config::ServeArgs,
    queue_depth: QueueDepth,
) -> Result<(ServiceEndpoint, Option<tokio::task::JoinHandle<()>>), StartError> {
    use poem::listener::{Listener, TcpListener};
    let exposure = match (args.metrics_addr, args.metrics) {
        (Some(_), _) => MetricsExposure::Separate,
        (None, true) => MetricsExposure::ApiPort,
        (None, false) => MetricsExposure::Off,
    };
    let endpoint = endpoint.with_metrics(exposure, Some(queue_depth));
    let Some(address) = args.metrics_addr else {
        return Ok((endpoint, None));
    };
    let acceptor = TcpListener::bind(address)
        .into_acceptor()
        .await
        .map_err(|source| StartError::Listen {
            address: address.to_string(),
            source,
        })?;
    tracing::info!(address = %address, "metrics at /metrics");
    let metrics = endpoint.metrics_endpoint();
    let task = tokio::spawn(async move {
        if let Err(error) = poem::Server::new_with_acceptor(acceptor).run(metrics).await {
            tracing::error!(error = %error, "the metrics listener stopped");
        }
    });
    Ok((endpoint, Some(task)))
}

/// The use cases wired over `storage` for these settings, the same for
/// every front door; with the sign-in use case itself, which the
/// authentication policies resolve credentials through.
pub fn use_cases(
    settings: &Settings,
    storage: &Storage,
    infra: &Infrastructure,
) -> (UseCases, Arc<AuthService>) {
    // session_auth and session_exp_auth keep sessions in process memory,
    // whatever the storage; session_db_auth keeps them in the storage.
    let sessions: Arc<dyn SessionRepository> = if settings.auth_type.stores_sessions() {
        storage.sessions.clone()
    } else {
        Arc::new(MemoryStore::new())
    };
    let ports = Ports {
        users: storage.users.clone(),
        sessions,
        attempts: storage.attempts.clone(),
        hasher: infra.hasher.clone(),
        clock: infra.clock.clone(),
        tokens: infra.tokens.clone(),
        strength: match settings.password_policy {
            config::PasswordPolicy::Length => None,
            config::PasswordPolicy::Strong => Some(Arc::new(ZxcvbnStrength::default())),
        },
        audit: infra.audit.clone(),
    };
    let rules = settings.rules();
    let (use_cases, auth) = UseCases::wire(&ports, &rules);
    let use_cases = match &infra.mail {
        Some(mail) => use_cases.with_recovery(
            &ports,
            &rules,
            RecoveryPorts {
                tickets: storage.recovery.clone(),
                mailer: mail.mailer.clone(),
            },
            mail.rules,
        ),
        None => use_cases,
    };
    (use_cases, auth)
}

/// What the HTTP service needs: the gate of the configured policy and the
/// use cases.
pub fn services(settings: &Settings, storage: &Storage, infra: &Infrastructure) -> Services {
    let (use_cases, auth) = use_cases(settings, storage, infra);
    let gate = Gate::new(settings.auth_type.policy(auth));
    Services { gate, use_cases }
}

/// The HTTP-level settings of these settings.
pub fn http_settings(settings: &Settings) -> HttpSettings {
    HttpSettings {
        session_name: settings.session_name.clone(),
        cookie_secure: settings.cookie_secure,
        body_limit: settings.body_limit,
        request_timeout: settings.request_timeout,
        trust_forwarded_for: settings.trust_forwarded_for,
    }
}

/// The complete HTTP service for these settings.
pub fn http_endpoint(
    settings: &Settings,
    storage: &Storage,
    infra: &Infrastructure,
) -> ServiceEndpoint {
    adapter_http::endpoint(services(settings, storage, infra), http_settings(settings))
}
