//! `holdfast hook --agent claude-code` as a process, end to end (spawn, stdin JSON, round trip to the
//! daemon, stdout), against spawning `/bin/true` in the same run.

use std::io::Write;
use std::process::{Command, Stdio};

use holdfast::wire::{RequestBody, ResponseBody};

use crate::report::{Row, latency_row, reported_row, sample_interleaved};
use crate::rig::Rig;

const ROUNDS: usize = 400;

const PAYLOAD: &str = r#"{"session_id":"bench","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la"},"tool_use_id":"toolu_bench"}"#;

fn hook_once(rig: &Rig) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["hook", "--agent", "claude-code"])
        .env("HOLDFAST_HOME", rig.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(PAYLOAD.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the hook failed: {}", String::from_utf8_lossy(&out.stdout));
    // `ls -la` is allowed, which Claude Code's dialect says with no output at all (hooks only
    // tighten). The daemon-less path answers the same: `rows` checks that each call was recorded.
    assert!(
        out.stdout.iter().all(u8::is_ascii_whitespace),
        "the hook spoke for a safe command: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The daemon's last record number: each hook call must have added one.
fn log_seq(rig: &Rig) -> u64 {
    match rig.client().request(RequestBody::Status).expect("the bench daemon answers").body {
        ResponseBody::Status(s) => s.log_seq,
        other => panic!("expected status, got {other:?}"),
    }
}

fn true_once() {
    let status = Command::new("/bin/true").stdin(Stdio::null()).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());
}

/// `hook_process` against a `durability = "batch"` daemon: the hook process's own cost (DESIGN §9
/// budget); `hook_process_always` against the default daemon, whose every answer waits for one
/// fdatasync of the audit log (reported: that cost is the disk's, see `propose_always`).
pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, extra, budget) in
        [("hook_process", &["--durability", "batch"][..], true), ("hook_process_always", &[][..], false)]
    {
        let rig = Rig::start(extra);
        let before = log_seq(&rig);
        for _ in 0..20 {
            hook_once(&rig);
            true_once();
        }
        let (samples, base) = sample_interleaved(ROUNDS, || hook_once(&rig), true_once);
        let recorded = log_seq(&rig) - before;
        assert!(
            recorded >= (20 + samples.len()) as u64,
            "{name}: {recorded} records for {} hook calls",
            20 + samples.len()
        );
        rows.push(if budget {
            latency_row(name, &samples, "spawn_bin_true", &base, "p50 <= 2 ms, p99 <= 4 ms", |p50, p99, _| {
                p50 <= 2_000_000 && p99 <= 4_000_000
            })
        } else {
            reported_row(name, &samples, "spawn_bin_true", &base)
        });
    }
    rows
}
