//! Repository lookups for the propose path, remembered for a moment.
//!
//! Every proposal needs two things about its `cwd`: the nearest `.holdfast.toml`, parsed, and the
//! decision-memory scope. Finding them costs an ancestor walk (two `stat`s per directory up to `/`)
//! and, with a policy file, a read and a parse. Agents propose from the same few directories again
//! and again, so each answer is kept per `cwd` for `TTL`.
//!
//! The price: a repository policy file created, edited or deleted (or a new `.git`) applies up to
//! `TTL` later. A repository file can only tighten, so the window can only delay a tightening a
//! human just wrote, or keep one a moment after its file is gone. `reload` clears the cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{PolicyError, RepoPolicy, discover};

/// How long one directory's answer is reused.
pub(crate) const TTL: Duration = Duration::from_secs(1);
/// Most directories remembered (client-supplied keys: the map must stay bounded).
const CAPACITY: usize = 256;

/// What the propose path needs to know about a working directory.
#[derive(Debug)]
pub struct RepoLookup {
    /// The decision-memory scope ([`super::Discovery::scope`]).
    pub scope: String,
    /// The nearest repository policy; `Err` (why) when that file cannot be used.
    pub policy: Result<Option<RepoPolicy>, String>,
    /// The nearest `.holdfast.toml` the walk saw, usable or not.
    pub found: Option<PathBuf>,
    /// True when `found` exists but the daemon could not read it (permissions, a vanished file):
    /// the case where a policy carried by the client applies ([`super::carry`]).
    pub unreadable: bool,
}

impl RepoLookup {
    /// Walks the filesystem from `cwd` now.
    pub fn find(cwd: &Path) -> RepoLookup {
        let found = discover(cwd);
        let loaded = found.repo_policy.as_deref().map(RepoPolicy::load).transpose();
        let unreadable = matches!(loaded, Err(PolicyError::Io { .. }));
        RepoLookup {
            scope: found.scope.to_string_lossy().into_owned(),
            policy: loaded.map_err(|e| e.to_string()),
            found: found.repo_policy,
            unreadable,
        }
    }
}

/// Recent [`RepoLookup`]s by `cwd`.
#[derive(Debug, Default)]
pub struct RepoCache {
    entries: HashMap<String, (Instant, Arc<RepoLookup>)>,
}

impl RepoCache {
    /// The lookup for `cwd`: remembered if it is younger than `TTL` at `now`, else walked afresh.
    pub fn lookup(&mut self, cwd: &str, now: Instant) -> Arc<RepoLookup> {
        if let Some((at, found)) = self.entries.get(cwd)
            && now.saturating_duration_since(*at) < TTL
        {
            return Arc::clone(found);
        }
        let found = Arc::new(RepoLookup::find(Path::new(cwd)));
        if self.entries.len() >= CAPACITY {
            self.entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
            if self.entries.len() >= CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(cwd.to_owned(), (now, Arc::clone(&found)));
        found
    }

    /// Forgets everything: the next lookups read the filesystem.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_reused_within_the_ttl_and_refreshed_after() {
        let t = tempfile::tempdir().unwrap();
        let cwd = t.path().to_str().unwrap();
        let mut cache = RepoCache::default();
        let t0 = Instant::now();
        assert!(matches!(cache.lookup(cwd, t0).policy, Ok(None)));
        std::fs::write(t.path().join(super::super::REPO_FILE_NAME), "mode = \"unattended\"\n").unwrap();
        assert!(matches!(cache.lookup(cwd, t0 + TTL / 2).policy, Ok(None)), "still the remembered answer");
        assert!(matches!(cache.lookup(cwd, t0 + TTL).policy, Ok(Some(_))), "walked again after the TTL");
        std::fs::write(t.path().join(super::super::REPO_FILE_NAME), "mode = [").unwrap();
        cache.clear();
        assert!(cache.lookup(cwd, t0 + TTL).policy.is_err(), "a cleared cache reads the file at once");
    }

    #[test]
    fn stays_bounded() {
        let mut cache = RepoCache::default();
        let now = Instant::now();
        for i in 0..CAPACITY * 3 {
            cache.lookup(&format!("/nonexistent-holdfast-test/{i}"), now);
        }
        assert!(cache.entries.len() <= CAPACITY);
    }
}
