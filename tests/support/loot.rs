//! What a thief running as the user lifts from a holdfast home: every key-sized value of every
//! file it can read. Include with `#[path = "support/loot.rs"] mod loot;` next to `support/daemon.rs`.

use super::daemon::Home;

/// Every byte string a thief can lift from the home: each 64-hex run of each regular file (keys,
/// hashes, MACs, public keys), and each file of exactly 32 bytes.
pub fn loot(home: &Home) -> Vec<(String, [u8; 32])> {
    let mut out = Vec::new();
    let mut dirs = vec![home.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let (path, kind) = (e.path(), e.file_type().unwrap());
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let name = path.strip_prefix(home.path()).unwrap().display().to_string();
            if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
                out.push((format!("{name} (raw)"), raw));
            }
            for run in bytes.split(|b| !b.is_ascii_hexdigit()).filter(|r| r.len() == 64) {
                let mut k = [0u8; 32];
                hex::decode_to_slice(run, &mut k).unwrap();
                out.push((name.clone(), k));
            }
        }
    }
    out
}
