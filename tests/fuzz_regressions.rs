//! Every hostile input ever found (tests/fixtures/hostile_lines.txt) and every fuzzer crash, OOM
//! or timeout (tests/fuzz_regressions/TARGET/*) stays a test: `classify` answers at least
//! ambiguous within bounded time and memory, a daemon fed each input answers and keeps serving,
//! and the other parsers return instead of crashing.
#[path = "support/daemon.rs"]
mod daemon;
#[path = "fixtures/hostile.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::time::Duration;

use daemon::Home;
use holdfast::classify::{Class, classify, classify_full_parse};
use holdfast::wire::{Decide, Decision, Proof, Proposal, RequestBody, ResponseBody, Verdict};

/// The inputs a fuzz target found (`tests/fuzz_regressions/TARGET/*`), as bytes.
fn found(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

/// The classify fuzzer's inputs, as text (its target skips what is not UTF-8).
fn classify_found() -> Vec<String> {
    found("classify").into_iter().filter_map(|(_, b)| String::from_utf8(b).ok()).collect()
}

thread_local! {
    /// Set by the panic hook when this thread panics (even inside a `catch_unwind`).
    static PANICKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` and fails if anything panicked inside it, even a panic `classify`'s guard caught: the
/// guard is the last line of defence, a panic behind it is still a bug (the fuzz target aborts on
/// it too).
fn without_panics<T>(f: impl FnOnce() -> T) -> T {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.with(|p| p.set(true));
            previous(info);
        }));
    });
    PANICKED.with(|p| p.set(false));
    let out = f();
    assert!(!PANICKED.with(|p| p.get()), "a panic inside classify (caught by its guard)");
    out
}

/// What the classify fuzz target asserts (fuzz/fuzz_targets/classify.rs), for one input.
fn check_classify_invariants(s: &str) {
    without_panics(|| check_classify_invariants_inner(s));
}

fn check_classify_invariants_inner(s: &str) {
    let c = classify(s);
    assert_eq!(c, classify(s), "deterministic: {s:?}");
    if let Some(span) = &c.span {
        assert!(span.start <= span.end && span.end <= s.len(), "{s:?}: {c:?}");
        assert!(s.is_char_boundary(span.start) && s.is_char_boundary(span.end), "{s:?}: {c:?}");
    }
    assert!(c.parsed || c.class >= Class::Ambiguous, "{s:?}: {c:?}");
    assert!(!c.rule.starts_with("parse.") || !c.parsed, "{s:?}: {c:?}");
    let full = classify_full_parse(s);
    assert!(c.class >= full.class, "{s:?}: fast {c:?} full {full:?}");
    let chained = format!("rm -rf /\n{s}");
    let cc = classify(&chained);
    assert!(cc.rule == "parse.complex" || cc.class == Class::Catastrophic, "{chained:?}: {cc:?}");
}

/// Lines where a catastrophic statement runs before anything bash rejects: they must stay
/// catastrophic, whatever follows them.
const CATASTROPHIC: &[&str] = &[
    "rm -rf ~ && echo ~99999999999999999999/!",
    "rm -rf ~ && echo ~+99999999999999999999",
    "rm -rf ~ && echo ~-99999999999999999999",
    "rm -rf ~ && echo {99999999999999999999..1}",
    "rm -rf / ; 99999999999999999999>x",
    "rm -rf ~ ; cat <<\r<<\t",
    "rm -rf /\n(",
    "rm -rf / ; echo ok\n)",
    "git push --force origin main\nif",
];

/// `holdfast classify --json -- LINE` in a child limited to 1 GiB of address space (Unix), with a
/// deadline that only catches a runaway.
fn classify_in_child(line: &str) -> serde_json::Value {
    let home = Home::new();
    let mut cmd = if cfg!(unix) {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg("ulimit -v 1048576 && exec \"$0\" classify --json -- \"$1\"").arg(daemon::bin()).arg(line);
        c
    } else {
        let mut c = home.cmd();
        c.args(["classify", "--json", "--", line]);
        c
    };
    let mut child = cmd
        .env("HOLDFAST_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = daemon::wait_timeout(&mut child, Duration::from_secs(120));
    if status.is_none() {
        let _ = child.kill();
        panic!("classify ran away on {line:?}");
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "classify failed on {line:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{line:?}: {e}: {:?}", out.stdout))
}

#[test]
fn hostile_lines_classify_at_least_ambiguous_in_bounded_memory() {
    for line in hostile::lines() {
        let c = classify_in_child(&line);
        assert_ne!(c["class"], "safe", "{line:?}: {c}");
        // Bounded in a child: now in process, both paths.
        for c in [classify(&line), classify_full_parse(&line)] {
            assert!(c.class >= Class::Ambiguous, "{line:?}: {c:?}");
        }
        check_classify_invariants(&line);
    }
}

#[test]
fn classify_fuzzer_findings_stay_fixed() {
    for line in classify_found() {
        // A runaway (time or memory) is caught in the child before it can hang this process
        // (argv cannot carry NUL: such inputs are checked in process only).
        if !line.contains('\0') {
            let _ = classify_in_child(&line);
        }
        check_classify_invariants(&line);
    }
}

#[test]
fn a_junk_suffix_never_lowers_a_catastrophic_statement() {
    for line in CATASTROPHIC {
        for c in [classify(line), classify_full_parse(line)] {
            assert_eq!(c.class, Class::Catastrophic, "{line:?}: {c:?}");
        }
    }
    // The unparsable ones say so.
    for line in ["rm -rf /\n(", "rm -rf / ; echo ok\n)", "git push --force origin main\nif"] {
        assert!(!classify(line).parsed, "{line:?}");
    }
    assert!(classify("rm -rf / ; 99999999999999999999>x").parsed, "an overflowing io number is a word, as in bash");
}

#[test]
fn an_operator_followed_only_by_a_comment_is_a_parse_error_on_both_paths() {
    for line in ["ls && # comment", "ls || # c\n", "ls | # c\n\n# d"] {
        for c in [classify(line), classify_full_parse(line)] {
            assert_eq!((c.class, c.rule, c.parsed), (Class::Ambiguous, "parse.error", false), "{line:?}");
        }
    }
    // A command may follow on a later line: that is valid shell.
    assert_eq!(classify("ls && # c\nrm -rf /").class, Class::Catastrophic);
    assert!(classify("ls && # c\npwd").parsed);
}

fn propose(d: &daemon::Daemon, raw: &str) -> Verdict {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict for {raw:?}, got {other:?}"),
    }
}

#[test]
fn a_daemon_fed_each_input_answers_and_keeps_serving() {
    let home = Home::new();
    let d = home.daemon(&[]);
    for line in hostile::lines() {
        let v = propose(&d, &line);
        assert_ne!(v.decision, Decision::Allow, "{line:?}: {v:?}");
        assert!(v.class >= Class::Ambiguous, "{line:?}: {v:?}");
        d.assert_alive();
    }
    for line in classify_found() {
        let _ = propose(&d, &line);
        d.assert_alive();
    }
    // Raw frames the frame fuzzers found (and their seeds), on their own connections.
    for target in ["wire_decode", "daemon_frame"] {
        for (path, bytes) in found_and_seeds(target) {
            let mut frame = bytes.clone();
            frame.push(b'\n');
            let reply = daemon::raw_exchange(&home.socket(), &frame);
            assert!(!reply.is_empty(), "no answer to {}", path.display());
            d.assert_alive();
        }
    }
}

#[test]
fn a_remembered_approval_never_applies_to_a_line_that_did_not_parse() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let approve_and_remember = |raw: &str| {
        let id = propose(&d, raw).pending.unwrap_or_else(|| panic!("{raw:?} is held"));
        let decide = Decide { pending: id, remember: true, proof: Proof::default() };
        let answer = d.request(RequestBody::Approve(decide));
        assert!(!matches!(answer, ResponseBody::Error(_)), "{answer:?}");
    };
    // An approval lets the identical command run once (`approval.once`); memory is what applies
    // after that. Control: a parsed ambiguous line is remembered.
    approve_and_remember("rm -rf src/old");
    assert_eq!(propose(&d, "rm -rf src/old").decision, Decision::Allow);
    assert_eq!(propose(&d, "rm -rf src/old").decision, Decision::Allow);
    // An unparsable one is held again, every time after its one run.
    for raw in ["ls && # comment", "rm -rf src/old\n("] {
        approve_and_remember(raw);
        let once = propose(&d, raw);
        assert_eq!(once.rule, "approval.once", "{raw:?}: {once:?}");
        let v = propose(&d, raw);
        assert_eq!(v.decision, Decision::Hold, "{raw:?}: {v:?}");
        assert!(!v.flags.contains(&"remembered_allow".to_string()), "{v:?}");
    }
}

/// What a target found, then its seeds (so the replay runs even before a target found anything).
fn found_and_seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    found(target).into_iter().chain(seeds(target)).collect()
}

#[test]
fn the_other_parsers_return_on_every_input_found() {
    let dir = tempfile::tempdir().unwrap();
    for (_, bytes) in found_and_seeds("policy_parse") {
        let text = String::from_utf8_lossy(&bytes);
        let _ = holdfast::policy::PolicyFile::parse(Path::new("/x/.holdfast.toml"), &text).map_err(|e| e.to_string());
    }
    for (_, bytes) in found_and_seeds("vault_load") {
        let _ = holdfast::vault::Vault::parse(&bytes).map_err(|e| e.to_string());
    }
    for (_, bytes) in found_and_seeds("audit_verify") {
        let _ = holdfast::audit::verify::verify(std::io::Cursor::new(&bytes), &Default::default());
        let log = dir.path().join("audit.jsonl");
        std::fs::write(&log, &bytes).unwrap();
        let _ = holdfast::audit::read_records(&log).unwrap().count();
    }
    for (_, bytes) in found_and_seeds("hook_payload") {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { continue };
        for agent in holdfast::hook::AGENTS {
            let _ = holdfast::hook::dialect(agent).unwrap().parse(&value);
        }
    }
    for (_, bytes) in found_and_seeds("wire_decode").into_iter().chain(found_and_seeds("daemon_frame")) {
        let _ = holdfast::wire::decode(&bytes);
    }
}

/// The files of `fuzz/seeds/TARGET/`.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).map(|e| e.path()).collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

/// A seed the format no longer accepts only exercises the first error path: the seeds must stay
/// valid inputs of their formats for the fuzzers to start deep.
#[test]
fn fuzz_seeds_are_valid_inputs() {
    for (p, b) in seeds("policy_parse") {
        let text = String::from_utf8(b).unwrap();
        holdfast::policy::PolicyFile::parse(&p, &text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for (p, b) in seeds("vault_load") {
        holdfast::vault::Vault::parse(&b).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let key =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/audit_verify.key")).unwrap();
    let key = holdfast::audit::VerificationKey::from_hex(key.trim()).unwrap();
    for (p, b) in seeds("audit_verify") {
        let options = holdfast::audit::VerifyOptions { key: Some(key.clone()), anchor: None };
        let report = holdfast::audit::verify::verify(std::io::Cursor::new(&b), &options).unwrap();
        assert!(report.ok && report.macs_checked && report.records > 1, "{}: {report:?}", p.display());
    }
    for (p, b) in seeds("hook_payload") {
        let value: serde_json::Value = serde_json::from_slice(&b).unwrap();
        let agent = p.file_name().unwrap().to_str().unwrap().split('_').next().unwrap();
        holdfast::hook::dialect(agent).unwrap().parse(&value).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for target in ["wire_decode", "daemon_frame"] {
        for (p, b) in seeds(target) {
            assert!(holdfast::wire::decode(&b).is_ok(), "{}", p.display());
        }
    }
    for (p, b) in seeds("classify") {
        assert!(std::str::from_utf8(&b).is_ok(), "{}", p.display());
    }
}
