#![no_main]
//! The hook payload reader and every dialect's payload parser: any stdin bytes become a payload or
//! a typed error, and every parse result renders.
//! `cargo +nightly fuzz run hook_payload`

use std::io::Write;
use std::time::Duration;

use holdfast::hook::{AGENTS, Answer, dialect, read_payload_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fuzz inputs are far below the pipe buffer: write all, close, then read.
    let (reader, mut writer) = std::io::pipe().unwrap();
    writer.write_all(data).unwrap();
    drop(writer);
    let payload = read_payload_from(&reader, Duration::from_secs(5));
    let Ok(value) = payload else { return };
    for agent in AGENTS {
        let d = dialect(agent).unwrap();
        let _ = d.parse(&value);
        let _ = d.render(&Answer::Deny { reason: "fuzz".into() });
    }
});
