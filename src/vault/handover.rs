//! Handing the audit log's verification key `k0` over from the daemon's plaintext key file to the vault.
//!
//! The daemon creates the log and `k0`, but never holds the admin password, so it cannot compute
//! `seal_wrap` (that needs `K`). It writes `k0` once to `config_dir/verification.key` (or
//! `verification-<log id>.key` when an older log's key is still there). The CLI, which asks for the
//! password, wraps that file into the vault (`vault init`, `vault wrap-key`) and deletes it.
//!
//! Before wrapping, a key file is matched against the log it is for: `k0` must verify the MAC of the
//! log's genesis record (`mac_1 = HMAC(k0, hash_1)`), so a stale file of another log is never
//! wrapped in place of the current log's key.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::audit::VerificationKey;

/// Longest genesis line read (a real one is about 400 bytes).
const MAX_GENESIS_LINE: u64 = 64 * 1024;

/// What the first record of a log says about the key that seals it.
#[derive(Debug, Clone)]
pub struct Genesis {
    /// The random id the genesis record carries.
    pub log_id: String,
    hash: [u8; 32],
    mac: Vec<u8>,
}

impl Genesis {
    /// Reads the first record of the log at `path`: `Ok(None)` when there is no log (or it is empty),
    /// an error when the first line is not a genesis record.
    pub fn read(path: &Path) -> Result<Option<Genesis>, String> {
        // Record 1 is in the oldest segment (the log itself until its first roll).
        let oldest = crate::audit::segments::all(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .into_iter()
            .next();
        let Some(oldest) = oldest else { return Ok(None) };
        let reader = match oldest.open() {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", oldest.path.display())),
        };
        let path = oldest.path.as_path();
        let mut line = Vec::new();
        reader
            .take(MAX_GENESIS_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.is_empty() {
            return Ok(None);
        }
        let bad = || format!("the first line of {} is not a holdfast genesis record", path.display());
        let v: serde_json::Value = serde_json::from_slice(&line).map_err(|_| bad())?;
        if v["body"]["kind"] != "genesis" {
            return Err(bad());
        }
        let log_id = v["body"]["data"]["log_id"].as_str().ok_or_else(bad)?.to_string();
        let mut hash = [0u8; 32];
        hex::decode_to_slice(v["hash"].as_str().ok_or_else(bad)?, &mut hash).map_err(|_| bad())?;
        let mac = hex::decode(v["mac"].as_str().ok_or_else(bad)?).map_err(|_| bad())?;
        Ok(Some(Genesis { log_id, hash, mac }))
    }

    /// True when `key` is this log's `k0` (constant-time MAC check of the genesis record).
    pub fn sealed_by(&self, key: &VerificationKey) -> bool {
        key.epoch_key().verify(&self.hash, &self.mac)
    }
}

/// The key files the daemon may have written for the log `log_id`, most specific first.
pub fn key_file_candidates(config_dir: &Path, log_id: &str) -> [PathBuf; 2] {
    [config_dir.join(format!("verification-{log_id}.key")), config_dir.join("verification.key")]
}

/// A key file found for a log.
#[derive(Debug)]
pub struct FoundKey {
    /// Where it was read from.
    pub path: PathBuf,
    /// The key.
    pub key: VerificationKey,
}

/// The first of `candidates` that exists and holds the `k0` of `genesis`. Also returns the files that
/// exist but hold another key (stale files of other logs), for the caller to mention.
pub fn find_key_file(genesis: &Genesis, candidates: &[PathBuf]) -> (Option<FoundKey>, Vec<PathBuf>) {
    let mut others = Vec::new();
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        match VerificationKey::read_file(path) {
            Ok(key) if genesis.sealed_by(&key) => return (Some(FoundKey { path: path.clone(), key }), others),
            _ => others.push(path.clone()),
        }
    }
    (None, others)
}

/// Deletes a plaintext key file once it is safely in the vault, and syncs its directory so the
/// deletion survives a crash.
pub fn remove_key_file(path: &Path) -> std::io::Result<()> {
    std::fs::remove_file(path)?;
    crate::paths::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EpochKey;

    fn genesis_line(key: &EpochKey, log_id: &str) -> String {
        let hash = [9u8; 32];
        format!(
            "{{\"body\":{{\"seq\":1,\"kind\":\"genesis\",\"data\":{{\"log_id\":\"{log_id}\"}}}},\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
            hex::encode(hash),
            hex::encode(key.mac(&hash))
        )
    }

    #[test]
    fn finds_the_key_of_this_log_only() {
        let dir = tempfile::tempdir().unwrap();
        let k0 = EpochKey::new(0, [1; 32]);
        let log = dir.path().join("audit.jsonl");
        assert!(Genesis::read(&log).unwrap().is_none());
        std::fs::write(&log, genesis_line(&k0, "abcd")).unwrap();
        let g = Genesis::read(&log).unwrap().unwrap();
        assert_eq!(g.log_id, "abcd");
        assert!(g.sealed_by(&VerificationKey::from_bytes([1; 32])));
        assert!(!g.sealed_by(&VerificationKey::from_bytes([2; 32])));
        let [specific, plain] = key_file_candidates(dir.path(), &g.log_id);
        std::fs::write(&plain, format!("{}\n", hex::encode([2u8; 32]))).unwrap();
        let (found, others) = find_key_file(&g, &[specific.clone(), plain.clone()]);
        assert!(found.is_none());
        assert_eq!(others, vec![plain.clone()]);
        std::fs::write(&specific, hex::encode([1u8; 32])).unwrap();
        let (found, others) = find_key_file(&g, &[specific.clone(), plain.clone()]);
        assert_eq!(found.unwrap().path, specific);
        assert!(others.is_empty());
        remove_key_file(&specific).unwrap();
        assert!(!specific.exists());
    }

    #[test]
    fn a_first_line_that_is_not_genesis_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        for bad in ["garbage\n", "{\"body\":{\"kind\":\"record\"}}\n", "{\"body\":{\"kind\":\"genesis\"}}\n"] {
            std::fs::write(&log, bad).unwrap();
            assert!(Genesis::read(&log).is_err(), "{bad}");
        }
    }
}
