//! Tampering as an attacker without the sealing key would: include with
//! `#[path = "support/tamper.rs"] mod tamper;`.

use sha2::{Digest, Sha256};

/// Recomputes the hashes of `lines[from..]` the way someone without the key would.
pub fn rechain(lines: &mut [String], from: usize) {
    let mut prev: String =
        serde_json::from_str::<serde_json::Value>(&lines[from - 1]).unwrap()["hash"].as_str().unwrap().to_string();
    for line in lines.iter_mut().skip(from) {
        let start = line.find("\"prev\":\"").unwrap() + 8;
        line.replace_range(start..start + 64, &prev);
        let body_end = line.rfind(",\"hash\":\"").unwrap();
        let body = &line[8..body_end];
        let mut h = Sha256::new();
        h.update(hex::decode(&prev).unwrap());
        h.update(body.as_bytes());
        let hash = hex::encode(h.finalize());
        let hs = body_end + 9;
        line.replace_range(hs..hs + 64, &hash);
        prev = hash;
    }
}
