#![no_main]
//! `cargo +nightly fuzz run classify -- -max_total_time=60`

use holdfast::classify::{Class, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let c = classify(s);
    // Deterministic.
    assert_eq!(c, classify(s));
    match &c.span {
        Some(span) => {
            assert!(span.start <= span.end && span.end <= s.len());
            assert!(s.is_char_boundary(span.start) && s.is_char_boundary(span.end));
        }
        None => assert_eq!(c.class, Class::Safe),
    }
    assert!(holdfast::classify::rule_ids().any(|(id, class, _)| id == c.rule && class == c.class));
    // A complete catastrophic line stays catastrophic whatever follows it
    // (unless what follows makes the whole input unparsable or over-cap).
    let chained = format!("rm -rf /\n{s}");
    let cc = classify(&chained);
    if !matches!(cc.rule, "parse.error" | "parse.complex") {
        assert_eq!(cc.class, Class::Catastrophic, "{chained:?}");
    }
});
