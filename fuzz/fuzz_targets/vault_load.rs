#![no_main]
//! The vault file loader: any bytes load as a vault or give a typed error.
//! `cargo +nightly fuzz run vault_load`

use holdfast::vault::Vault;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = Vault::parse(data) {
        let _ = e.to_string();
    }
});
