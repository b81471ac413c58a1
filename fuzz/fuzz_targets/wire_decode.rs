#![no_main]
//! The frame decoder: any bytes decode to a request, a text line or a typed error.
//! `cargo +nightly fuzz run wire_decode`

use holdfast::wire::{Incoming, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Incoming::Json(req)) = decode(data) {
        // What the decoder accepted re-encodes to a frame it accepts again.
        let again = holdfast::wire::Request { id: req.id.clone(), body: req.body.clone() }.to_frame();
        let frame = again.strip_suffix(b"\n").unwrap_or(&again);
        assert!(matches!(decode(frame), Ok(Incoming::Json(_))), "{:?}", String::from_utf8_lossy(frame));
    }
});
