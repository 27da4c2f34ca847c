//! What the server says when it starts listening: where (a URL a reader
//! can click, even when it listens on every address), with which settings
//! (spelt as the settings are written), and what is missing before anyone
//! can sign in (no user yet, or memory storage without a bootstrap user).

use clap::ValueEnum;

use domain::{AuthType, Housekeeping};

use crate::config::{ServeArgs, StorageKind};

/// The URL a browser on this machine reaches the server at: the address
/// it is bound to, or the loopback address when it is bound to every
/// address (`0.0.0.0` or `::`), which no browser can open.
pub fn local_url(bound: &std::net::SocketAddr) -> String {
    let port = bound.port();
    match bound.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{port}"),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[::1]:{port}"),
        std::net::IpAddr::V4(ip) => format!("http://{ip}:{port}"),
        std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
    }
}

/// A setting's value as it is written in the configuration
/// (`compatible`, `file`), not as Rust spells the type (`Compatible`).
pub fn spelt<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

/// The first-run advice: what an operator must do before anyone can sign
/// in, or `None` when someone can. `users` is how many users the store
/// holds (`None` when it could not be counted).
pub fn first_run_advice(args: &ServeArgs, users: Option<u64>) -> Option<String> {
    if args.auth_type == AuthType::None || users != Some(0) {
        return None;
    }
    if args.storage.storage == StorageKind::Memory {
        return Some(
            "STORAGE=memory and no user: nothing outside this process can add one, so no one can sign in. \
             Restart with BOOTSTRAP_EMAIL=you@example.com and BOOTSTRAP_PASSWORD_FILE=/path/to/password-file \
             (or use STORAGE=file, sqlite or postgres)"
                .to_owned(),
        );
    }
    let place = match args.storage.storage {
        StorageKind::File => format!("DATA_DIR={}", args.storage.data_dir.display()),
        _ => format!(
            "STORAGE={} and the same DATABASE_URL",
            spelt(&args.storage.storage)
        ),
    };
    Some(format!(
        "no user yet, so no one can sign in. Create the first one with \
         `session-auth user create --email you@example.com` (with {place}; it asks the password twice), \
         or restart with BOOTSTRAP_EMAIL and BOOTSTRAP_PASSWORD_FILE"
    ))
}

/// Logs the start line and, when no one can sign in yet, a warning saying
/// what to do.
pub async fn announce(
    args: &ServeArgs,
    bound: Option<std::net::SocketAddr>,
    housekeeping: &dyn Housekeeping,
) {
    let settings = args.settings();
    let url = bound.map_or_else(
        || format!("http://{}:{}", args.api_host, args.api_port),
        |bound| local_url(&bound),
    );
    let address = bound.map_or_else(
        || format!("{}:{}", args.api_host, args.api_port),
        |bound| bound.to_string(),
    );
    tracing::info!(
        address = %address,
        auth_type = %args.auth_type,
        security_profile = %spelt(&args.security_profile),
        access_policy = %settings.access.policy,
        registration = %args.registration,
        storage = %spelt(&args.storage.storage),
        data_dir = %args.storage.data_dir.display(),
        session_duration = args.session_duration,
        session_idle_timeout = args.session_idle_timeout,
        "session-auth listening on {url}; API docs at {url}{}",
        adapter_http::DOCS_PATH
    );
    let users = match housekeeping.user_count().await {
        Ok(count) => Some(count),
        Err(error) => {
            tracing::warn!(error = %error, "could not count the users at start");
            None
        }
    };
    if let Some(advice) = first_run_advice(args, users) {
        tracing::warn!("{advice}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_bound_to_every_address_is_announced_at_the_loopback_address() {
        assert_eq!(
            local_url(&"0.0.0.0:5000".parse().unwrap()),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            local_url(&"[::]:8080".parse().unwrap()),
            "http://[::1]:8080"
        );
        assert_eq!(
            local_url(&"192.0.2.7:5000".parse().unwrap()),
            "http://192.0.2.7:5000"
        );
    }

    #[test]
    fn settings_are_spelt_as_they_are_written() {
        assert_eq!(spelt(&StorageKind::File), "file");
        assert_eq!(
            spelt(&crate::config::SecurityProfile::Compatible),
            "compatible"
        );
    }

    #[test]
    fn an_empty_store_gets_the_next_step_and_a_filled_one_nothing() {
        let mut args = ServeArgs::defaults();
        let advice = first_run_advice(&args, Some(0)).unwrap();
        assert!(
            advice.contains("session-auth user create --email"),
            "{advice}"
        );
        assert!(advice.contains("BOOTSTRAP_EMAIL"), "{advice}");
        assert_eq!(first_run_advice(&args, Some(1)), None);
        assert_eq!(first_run_advice(&args, None), None);
        args.storage.storage = StorageKind::Memory;
        let memory = first_run_advice(&args, Some(0)).unwrap();
        assert!(memory.contains("STORAGE=memory"), "{memory}");
        assert!(memory.contains("BOOTSTRAP_EMAIL"), "{memory}");
    }
}
