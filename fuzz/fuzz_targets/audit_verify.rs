#![no_main]
//! The audit log reader and verifier: any bytes as a log file are read record by record and
//! verified (with and without a key) into a report or a typed error.
//! `cargo +nightly fuzz run audit_verify`

use std::io::Write;

use holdfast::audit::verify::verify;
use holdfast::audit::{VerificationKey, VerifyOptions, read_records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify(std::io::Cursor::new(data), &VerifyOptions::default());
    // The key of the seed log (fuzz/seeds/audit_verify/audit.jsonl), so MACs and seals are checked.
    let key = VerificationKey::from_hex(include_str!("../seeds/audit_verify.key").trim()).unwrap();
    let keyed = VerifyOptions { key: Some(key), anchor: None };
    let _ = verify(std::io::Cursor::new(data), &keyed);
    let path = std::env::temp_dir().join(format!("hf-fuzz-audit-{}.log", std::process::id()));
    std::fs::File::create(&path).unwrap().write_all(data).unwrap();
    for record in read_records(&path).unwrap() {
        let _ = record.map_err(|e| e.to_string());
    }
});
