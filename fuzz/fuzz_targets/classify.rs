#![no_main]
//! `cargo +nightly fuzz run classify -- -max_total_time=60`
//!
//! libFuzzer's panic hook aborts on every panic, including one `classify`'s own guard would catch:
//! the guard is the last line of defence, so any panic behind it is a bug to find here.

use holdfast::classify::{Class, classify, classify_full_parse};
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
    // What did not parse is never safe.
    assert!(c.parsed || c.class >= Class::Ambiguous, "{s:?}: {c:?}");
    assert!(!c.rule.starts_with("parse.") || !c.parsed, "{s:?}: {c:?}");
    // The fast path never answers milder than the full parse.
    let full = classify_full_parse(s);
    assert!(c.class >= full.class, "{s:?}: fast {c:?} full {full:?}");
    // A complete catastrophic line stays catastrophic whatever follows it on later lines (bash
    // runs it before it reads them), unless the whole input is over a complexity cap.
    let chained = format!("rm -rf /\n{s}");
    let cc = classify(&chained);
    if cc.rule != "parse.complex" {
        assert_eq!(cc.class, Class::Catastrophic, "{chained:?}");
    }
});
