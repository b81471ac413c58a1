//! On start, the daemon takes what hooks decided while it was down (the offline spool,
//! [`crate::hook::offline`]) into the audit log, then empties the spool.
//!
//! Each spooled line becomes one `offline_decision` record whose `data` is the hook's entry as
//! written (agent, cwd, command or its hash and cut text, class, rule, decision, reason, the hook's
//! own time and pid: all as the hook reported them, none of it checked); one `offline_ingest`
//! record follows with the counts (entries, unreadable lines, bytes, bytes skipped past the read
//! bound). The spool is emptied only after these records are durable; if any record cannot be
//! written the spool is kept whole for the next start (a partly ingested spool is recorded again
//! then: duplicates rather than losses).

use serde_json::json;

use super::Daemon;
use crate::audit::Durability;
use crate::hook::offline;
use crate::wire::{Peer, WireError};

/// Why ingesting stopped; the spool is left as it was.
#[derive(Debug, thiserror::Error)]
enum IngestError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{}", .0.message)]
    Audit(WireError),
}

impl Daemon {
    /// Records the offline spool's entries and empties it (see the module doc). Never fails the
    /// start: a spool that cannot be taken now is reported and left for the next start.
    pub(super) fn ingest_offline(&mut self) {
        let data_dir = self.paths.data_dir.clone();
        match offline::drain(&data_dir, |drained| self.record_offline(drained)) {
            Ok(Some(d)) => eprintln!(
                "holdfast: recorded {} decision(s) hooks made while the daemon was down ({} unreadable line(s))",
                d.entries.len(),
                d.unreadable
            ),
            Ok(None) => {}
            Err(e) => eprintln!(
                "holdfast: cannot take the offline spool {} into the audit log ({e}); it is kept for the next start",
                offline::path(&data_dir).display()
            ),
        }
    }

    /// Appends one record per entry and the summary, then makes them durable.
    fn record_offline(&mut self, drained: &offline::Drained) -> Result<(), IngestError> {
        let peer = Peer::default();
        for entry in &drained.entries {
            self.append("offline_decision", &peer, entry).map_err(IngestError::Audit)?;
        }
        let summary = json!({
            "spool": offline::path(&self.paths.data_dir),
            "entries": drained.entries.len(),
            "unreadable": drained.unreadable,
            "bytes": drained.bytes,
            "skipped_bytes": drained.skipped,
        });
        self.append("offline_ingest", &peer, &summary).map_err(IngestError::Audit)?;
        // `always` synced each record; `batch` may not have yet, and the spool must not be emptied
        // before the records are on disk.
        if let (Durability::Batch { .. }, Some(log)) = (self.durability, self.audit.as_mut()) {
            log.close().map_err(|e| IngestError::Io(std::io::Error::other(e.to_string())))?;
        }
        Ok(())
    }
}
