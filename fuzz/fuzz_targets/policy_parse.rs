#![no_main]
//! The policy file parser: any text parses or gives a typed error.
//! `cargo +nightly fuzz run policy_parse`

use holdfast::policy::PolicyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("/fuzz/.holdfast.toml");
    if let Err(e) = PolicyFile::parse(path, text) {
        // The error renders (it is shown to humans and in `doctor`).
        let _ = e.to_string();
    }
});
