//! sd_notify, best effort: readiness, status lines, watchdog pings and
//! stopping. Without `$NOTIFY_SOCKET` (not under systemd) every call is a
//! no-op. The `sd-notify` crate sends to socket paths; it does not speak
//! the abstract (`@name`) sockets that sd_notify(3) also allows, so those
//! are sent here with the same message text.

use std::time::Duration;

pub use sd_notify::NotifyState as State;

/// Sends one notification; a failure is logged at debug and ignored, since
/// a service must never die because its supervisor is not listening.
pub fn notify(states: &[State]) {
    let result = match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) if path.as_encoded_bytes().starts_with(b"@") => {
            let text: String = states.iter().map(|s| format!("{s}\n")).collect();
            abstract_send(&path.as_encoded_bytes()[1..], &text)
        }
        _ => sd_notify::notify(states),
    };
    if let Err(e) = result {
        tracing::debug!("sd_notify failed: {e}");
    }
}

/// A status line (`STATUS=`).
pub fn status(text: &str) {
    notify(&[State::Status(text)]);
}

/// A watchdog ping (`WATCHDOG=1`).
pub fn ping() {
    notify(&[State::Watchdog]);
}

/// The watchdog period systemd expects pings within, if it is for us.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

#[cfg(target_os = "linux")]
fn abstract_send(name: &[u8], text: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    std::os::unix::net::UnixDatagram::unbound()?
        .send_to_addr(text.as_bytes(), &addr)
        .map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn abstract_send(_: &[u8], _: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract sockets are Linux-only",
    ))
}
