//! The daemon's logger: one line per call on stderr, which `holdfast start` points at
//! `data_dir/daemon.log` (see `cli::lifecycle::background`).
//!
//! Logging never stops the daemon: `eprintln!` panics when stderr cannot be written (a full disk
//! under daemon.log, a closed descriptor), and a panic in the daemon used to be an allow for the
//! agent. Here a failed write is counted ([`failures`], shown by `holdfast status`) and dropped.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Writes `holdfast: <args>` and a newline to stderr in one write; never panics.
pub fn line(args: fmt::Arguments<'_>) {
    let mut text = String::with_capacity(128);
    // Formatting into a String fails only if a Display impl reports an error: count it too.
    let formatted = fmt::write(&mut text, format_args!("holdfast: {args}\n")).is_ok();
    if !formatted || std::io::stderr().lock().write_all(text.as_bytes()).is_err() {
        FAILURES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Log lines lost since start (stderr could not be written).
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// `log!("…", args)`: [`line`] with `format!` syntax.
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::daemon::log::line(format_args!($($arg)*))
    };
}
pub(crate) use log;
