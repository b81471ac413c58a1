//! Argon2id key derivation at the vault's parameters, reported against SHA-256 of 1 KiB (no budget).

use holdfast::vault::{MasterKey, kdf};
use sha2::{Digest, Sha256};

use crate::report::{Row, reported_row, sample};

const DERIVES: usize = 30;
const HASHES: usize = 10_000;

pub fn rows() -> Vec<Row> {
    let params = kdf::default_params();
    let salt = [7u8; 16];
    let derive = || {
        std::hint::black_box(MasterKey::derive(b"correct horse battery staple", &salt, &params).unwrap());
    };
    derive();
    let samples = sample(DERIVES, derive);
    let block = [0x5au8; 1024];
    let base = sample(HASHES, || {
        std::hint::black_box(Sha256::digest(std::hint::black_box(&block)));
    });
    vec![reported_row("argon2id_derive", &samples, "sha256_1kib", &base)]
}
