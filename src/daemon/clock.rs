//! Wall-clock milliseconds, the time unit of the approval queue (live and at replay).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Milliseconds since the Unix epoch of an audit record's RFC 3339 `ts`.
pub(crate) fn ts_ms(ts: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339(ts).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64)
}
