//! The daemon's side of the TCP listener: opening it from the policy, and recording refusals.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use super::Daemon;
use super::log::log;
use crate::transport::Server;
use crate::transport::tcp::{self, Refusal};
use crate::wire::Peer;

/// Refusals recorded per window; beyond that they are counted, and the count goes into the next
/// record. A flood of bad hellos cannot turn into a flood of synced records.
const RECORDS_PER_WINDOW: u32 = 10;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(1);

/// The rate limit on `tcp_refused` records.
#[derive(Default)]
pub(super) struct Refusals {
    window_start: Option<Instant>,
    in_window: u32,
    /// Refusals not recorded since the last record.
    suppressed: u64,
}

impl Refusals {
    /// True when this refusal gets its own record now.
    fn admit(&mut self, now: Instant) -> bool {
        if self.window_start.is_none_or(|s| now.duration_since(s) >= WINDOW) {
            self.window_start = Some(now);
            self.in_window = 0;
        }
        self.in_window += 1;
        self.in_window <= RECORDS_PER_WINDOW
    }
}

impl Daemon {
    /// Opens the TCP listener when the global policy's `[daemon] tcp` names an address: loads (or
    /// creates) the token, binds, and records `tcp_listen`. An error stops the start: an admin who
    /// asked for TCP learns at once that it is not there.
    pub(super) fn open_tcp(&mut self, server: &mut Server) -> Result<()> {
        let settings = self.policy.daemon;
        let Some(addr) = settings.tcp else { return Ok(()) };
        let token_file = self.paths.tcp_token();
        let token = tcp::load_or_create(&token_file)
            .with_context(|| format!("cannot use the TCP token file {}", token_file.display()))?;
        let bound = server.listen_tcp(addr, settings.tcp_allow_remote, token)?;
        let remote = !bound.ip().is_loopback();
        if remote {
            log!(
                "WARNING: listening on tcp://{bound}, which is NOT loopback (tcp_allow_remote = true): anyone who can \
                 reach this address and holds the token can propose commands and read the queue. Prefer loopback \
                 or the socket mount."
            );
        } else {
            log!("also listening on tcp://{bound} (token in {})", token_file.display());
        }
        let data = json!({ "addr": bound.to_string(), "remote": remote, "token_file": token_file });
        if let Err(e) = self.append("tcp_listen", &Peer::default(), &data) {
            log!("the tcp_listen record could not be written: {}", e.message);
        }
        self.tcp_addr = Some(bound);
        Ok(())
    }

    /// Records a refused TCP connection (`tcp_refused`, the peer's address, the reason), at most
    /// [`RECORDS_PER_WINDOW`] a second; the ones beyond are counted into the next record.
    pub(super) fn tcp_refused(&mut self, peer: &Peer, why: Refusal) {
        if !self.tcp_refusals.admit(Instant::now()) {
            self.tcp_refusals.suppressed += 1;
            return;
        }
        let suppressed = std::mem::take(&mut self.tcp_refusals.suppressed);
        let shown = peer.addr.map_or_else(|| "?".into(), |a| a.to_string());
        log!("refused a TCP connection from {shown}: {} hello", why.as_str());
        let data = json!({ "reason": why.as_str(), "suppressed": suppressed });
        if let Err(e) = self.append("tcp_refused", peer, &data) {
            // Nothing was served to this peer, so nothing ran unrecorded; keep the count for later.
            self.tcp_refusals.suppressed += suppressed + 1;
            log!("a tcp_refused record could not be written: {}", e.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_records_are_rate_limited_per_window() {
        let mut r = Refusals::default();
        let t = Instant::now();
        let admitted = (0..25).filter(|_| r.admit(t)).count();
        assert_eq!(admitted, RECORDS_PER_WINDOW as usize);
        assert!(r.admit(t + WINDOW));
    }
}
