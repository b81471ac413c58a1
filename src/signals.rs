//! Process signals: stop (SIGTERM/SIGINT, Ctrl-C on Windows) and reload (SIGHUP).

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Flags raised by signals; the serve loop polls them.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Set by SIGTERM, SIGINT or Ctrl-C: finish the frame in hand and exit.
    pub stop: Arc<AtomicBool>,
    /// Set by SIGHUP: re-read the global policy.
    pub reload: Arc<AtomicBool>,
}

/// Installs the handlers and returns their flags.
#[cfg(unix)]
pub fn install() -> io::Result<Signals> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
    let signals = Signals::default();
    signal_hook::flag::register(SIGTERM, Arc::clone(&signals.stop))?;
    signal_hook::flag::register(SIGINT, Arc::clone(&signals.stop))?;
    signal_hook::flag::register(SIGHUP, Arc::clone(&signals.reload))?;
    // A file-size limit must fail the write (EFBIG, so we fail closed), not kill the daemon.
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))?;
    Ok(signals)
}

/// Installs the handlers and returns their flags.
#[cfg(windows)]
pub fn install() -> io::Result<Signals> {
    use std::sync::atomic::Ordering;
    let signals = Signals::default();
    let stop = Arc::clone(&signals.stop);
    ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).map_err(io::Error::other)?;
    Ok(signals)
}
