//! The cache's clock: milliseconds that keep counting while the machine or
//! VM is suspended (`CLOCK_BOOTTIME` on Linux), so a process that comes
//! back from a suspension finds its trust expired instead of resuming it.
//! Elsewhere, the monotonic clock (which may stop while suspended).

/// Milliseconds since an arbitrary origin fixed for the machine's uptime.
#[cfg(target_os = "linux")]
pub(super) fn now_ms() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec / 1_000_000).unwrap_or(0);
    seconds.saturating_mul(1_000).saturating_add(millis)
}

/// Milliseconds since this process first asked.
#[cfg(not(target_os = "linux"))]
pub(super) fn now_ms() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}
